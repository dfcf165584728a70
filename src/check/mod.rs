//! `swarmnode check`: the node's health, read-only (no lock, no change, every wait bounded), for
//! Xymon, Prometheus and people. Each part of the node gives items with a status; the worst
//! decides the exit code. One module per part, one for the outputs:
//!
//! - [`storage`]: the thin pool (use, active, monitored, room to autoextend) or the XFS volume;
//! - [`engine`]: docker running on the recorded storage, its configuration as apply writes it,
//!   the running daemon on the file's settings;
//! - [`swarm`]: the node in the swarm, a manager reachable, Ready and labelled as the profile says;
//! - mounts (the mounts step's own observation) and the first boot, here;
//! - [`output`]: text, JSON, Xymon, Prometheus; [`send`]: to xymond over TCP, to a textfile.

pub mod cert;
pub mod engine;
pub mod future;
pub mod managers;
pub mod output;
pub mod send;
pub mod storage;
pub mod swarm;

use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::error::Result;
use crate::host::Host;
use crate::host::{fstab, systemd};
use crate::profile::{Check, Profile, ServerAddr};
use crate::steps::{firstboot, mounts};

/// How long the local engine may take to answer a request (other than `/info`) before it counts
/// as not answering.
pub const ENGINE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long docker may take to answer `GET /info`. On a manager whose swarm has just lost its
/// leader, docker answers only after its own 20 s bound on requests to the swarm (seen in tier 3).
pub const INFO_TIMEOUT: Duration = Duration::from_secs(25);
/// How long a local tool (lvm, systemctl) may take.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(10);

/// An item's status, as Xymon colors it; ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not applicable on this node (no such section in the profile, another driver).
    Clear,
    Green,
    Yellow,
    Red,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Clear => "clear",
            Status::Green => "green",
            Status::Yellow => "yellow",
            Status::Red => "red",
        }
    }
    /// The exit code of `check` (the Nagios plugin convention): 0 green or clear, 1 yellow, 2 red.
    pub fn exit_code(self) -> i32 {
        match self {
            Status::Clear | Status::Green => 0,
            Status::Yellow => 1,
            Status::Red => 2,
        }
    }
}

/// Used `pct` percent against the thresholds: red at crit, yellow at warn.
pub fn by_use(pct: f64, c: &Check) -> Status {
    if pct >= f64::from(c.crit_percent) {
        Status::Red
    } else if pct >= f64::from(c.warn_percent) {
        Status::Yellow
    } else {
        Status::Green
    }
}

/// One thing checked.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// `storage.thinpool`, `engine.config`, `mounts:/home`, ...
    pub check: String,
    pub status: Status,
    /// One line with the figures.
    pub summary: String,
    /// What to do, what was seen, one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
}

impl Item {
    pub fn new(check: impl Into<String>, status: Status, summary: impl Into<String>) -> Item {
        Item {
            check: check.into(),
            status,
            summary: summary.into(),
            details: Vec::new(),
            metrics: Vec::new(),
        }
    }
    /// The `clear` item of a part whose profile section is absent.
    pub fn absent(check: &str, sections: &str) -> Item {
        Item::new(
            check,
            Status::Clear,
            format!("no {sections} section in the profile"),
        )
    }
    pub fn detail(mut self, d: impl Into<String>) -> Item {
        self.details.push(d.into());
        self
    }
    pub fn metric(mut self, m: Metric) -> Item {
        self.metrics.push(m);
        self
    }
}

/// A Prometheus gauge an item carries.
#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    pub name: &'static str,
    #[serde(skip)]
    pub help: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

impl Metric {
    pub fn new(name: &'static str, help: &'static str, value: f64) -> Metric {
        Metric {
            name,
            help,
            labels: Vec::new(),
            value,
        }
    }
    /// A yes/no gauge: 1 or 0.
    pub fn flag(name: &'static str, help: &'static str, yes: bool) -> Metric {
        Metric::new(name, help, f64::from(u8::from(yes)))
    }
    pub fn label(mut self, k: &'static str, v: impl Into<String>) -> Metric {
        self.labels.push((k, v.into()));
        self
    }
}

/// The whole check.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    /// The node's name (the kernel's host name, or `check.xymon_host`).
    pub host: String,
    /// The worst status of all items.
    pub status: Status,
    /// When it was checked, seconds since the epoch.
    pub time: u64,
    pub duration_ms: u64,
    pub items: Vec<Item>,
}

impl Checked {
    pub fn count(&self, s: Status) -> usize {
        self.items.iter().filter(|i| i.status == s).count()
    }
}

/// What the command line asks of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Xymon,
    Prometheus,
}

/// A `DriverStatus` value of `/info` (`[["Pool Name", "docker-thinpool"], ...]`).
pub fn driver_status(info: &serde_json::Value, key: &str) -> Option<String> {
    info.get("DriverStatus")?
        .as_array()?
        .iter()
        .filter_map(serde_json::Value::as_array)
        .find(|kv| kv.first().and_then(serde_json::Value::as_str) == Some(key))
        .and_then(|kv| kv.get(1)?.as_str().map(str::to_string))
}

/// Checks everything the profile describes, the parts at the same time: the whole takes as long
/// as the slowest part, each bounded (the NFS probes by `mounts.timeout_seconds`, the engine by
/// [`INFO_TIMEOUT`] and [`ENGINE_TIMEOUT`], the managers by the swarm channel's timeouts).
pub fn check(h: &Host, profile: &Profile) -> Checked {
    let started = Instant::now();
    let c = profile.check.clone().unwrap_or_default();
    let parts: [&(dyn Fn() -> Vec<Item> + Sync); 5] = [
        &|| storage::check(h, profile, &c),
        &|| engine::check(h, profile),
        &|| check_mounts(h, profile),
        &|| swarm::check(h, profile),
        &|| check_firstboot(h),
    ];
    let items: Vec<Item> = std::thread::scope(|sc| {
        let handles: Vec<_> = parts.iter().map(|f| sc.spawn(f)).collect();
        handles
            .into_iter()
            .flat_map(|t| t.join().expect("a check does not panic"))
            .collect()
    });
    Checked {
        host: host_name(h, &c),
        status: items
            .iter()
            .map(|i| i.status)
            .max()
            .unwrap_or(Status::Clear),
        time: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
        duration_ms: started.elapsed().as_millis() as u64,
        items,
    }
}

/// The name the node reports under: `check.xymon_host`, else the kernel's host name.
fn host_name(h: &Host, c: &Check) -> String {
    if let Some(n) = &c.xymon_host {
        return n.clone();
    }
    h.read_text("/proc/sys/kernel/hostname")
        .ok()
        .flatten()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// A red item for a part that could not be observed at all.
pub fn unobservable(check: &str, e: &crate::error::Error) -> Item {
    Item::new(
        check,
        Status::Red,
        format!("cannot check: {}", crate::error::chain(e)),
    )
}

/// Each NFS path of the profile: mounted, NFS, answering within `mounts.timeout_seconds`.
fn check_mounts(h: &Host, profile: &Profile) -> Vec<Item> {
    let Some(m) = &profile.mounts else {
        return vec![Item::absent("mounts", "mounts")];
    };
    let fstab = match h.read_text(fstab::PATH) {
        Ok(t) => fstab::entries(&t.unwrap_or_default()),
        Err(e) => return vec![unobservable("mounts", &e)],
    };
    let seen = match mounts::observe(h, m, &fstab) {
        Ok(s) => s,
        Err(e) => return vec![unobservable("mounts", &e)],
    };
    let up = |path: &str, v: bool| {
        Metric::flag(
            "swarmnode_nfs_up",
            "1 when the NFS path is mounted and answers",
            v,
        )
        .label("path", path)
    };
    seen.into_iter()
        .map(|(path, s)| match s {
            mounts::Seen::Answered { fact, ms } => {
                Item::new(format!("mounts:{path}"), Status::Green, fact)
                    .metric(up(&path, true))
                    .metric(
                        Metric::new(
                            "swarmnode_nfs_probe_seconds",
                            "how long the NFS path took to answer a statfs",
                            ms as f64 / 1000.0,
                        )
                        .label("path", path.clone()),
                    )
            }
            mounts::Seen::Temporary(why) | mounts::Seen::Refused(why) => {
                Item::new(format!("mounts:{path}"), Status::Red, why).metric(up(&path, false))
            }
        })
        .collect()
}

/// The first boot: finished (its stamp), running, or failed (the unit's last result).
fn check_firstboot(h: &Host) -> Vec<Item> {
    const CHECK: &str = "firstboot";
    let exists = |p: &str| h.exists(p).unwrap_or(false);
    if exists(crate::host::state::FIRSTBOOT_DONE.path) {
        return vec![Item::new(
            CHECK,
            Status::Green,
            format!(
                "finished ({} exists)",
                crate::host::state::FIRSTBOOT_DONE.path
            ),
        )];
    }
    if !exists(firstboot::UNIT_PATH) && !exists(firstboot::WANTS_PATH) {
        return vec![Item::new(
            CHECK,
            Status::Clear,
            "not installed by kickstart (no first-boot unit)",
        )];
    }
    match systemd::unit_state(h, firstboot::UNIT_NAME, TOOL_TIMEOUT) {
        Ok((state, result)) => vec![firstboot_item(&state, &result)],
        Err(e) => vec![unobservable(CHECK, &e)],
    }
}

/// An unfinished first boot by its unit's state: still running, failed, or stopped short.
fn firstboot_item(state: &str, result: &str) -> Item {
    const CHECK: &str = "firstboot";
    let journal = format!("`journalctl -u {}`", firstboot::UNIT_NAME);
    match (state, result) {
        ("activating" | "active" | "reloading", _) => Item::new(
            CHECK,
            Status::Yellow,
            format!("{} is still running ({state})", firstboot::UNIT_NAME),
        ),
        ("failed", r) | (_, r) if r != "success" && !r.is_empty() => Item::new(
            CHECK,
            Status::Red,
            format!(
                "{} failed (Result={r}) and the node is not finished",
                firstboot::UNIT_NAME
            ),
        )
        .detail(format!(
            "see {journal}; run `swarmnode apply` once the cause is fixed"
        )),
        _ => Item::new(
            CHECK,
            Status::Yellow,
            format!(
                "{} has not finished: no {} ({state})",
                firstboot::UNIT_NAME,
                crate::host::state::FIRSTBOOT_DONE.path
            ),
        )
        .detail(format!("see {journal}")),
    }
}

/// Where the check goes besides stdout.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    pub xymon: Option<ServerAddr>,
    pub textfile: Option<String>,
}

/// `swarmnode check`: checks, prints, sends; the exit code is the worst status's, or the error
/// of a destination that could not be reached.
pub fn run(h: &Host, profile: &Profile, format: Format, quiet: bool, out: &Outputs) -> Result<i32> {
    if let Some(path) = &out.textfile {
        send::trust_textfile(h, path)?;
    }
    let checked = check(h, profile);
    let c = profile.check.clone().unwrap_or_default();
    if !quiet {
        print!(
            "{}",
            match format {
                Format::Text => output::text(&checked),
                Format::Json => output::json(&checked) + "\n",
                Format::Xymon => output::xymon(&checked, &c),
                Format::Prometheus => output::prometheus(&checked),
            }
        );
    }
    let mut delivered = Ok(());
    if let Some(path) = &out.textfile {
        delivered = delivered.and(send::textfile(h, path, &output::prometheus(&checked)));
    }
    if let Some(addr) = &out.xymon {
        delivered = delivered.and(send::xymon(addr, &output::xymon(&checked, &c)));
    }
    delivered.map(|()| checked.status.exit_code())
}
