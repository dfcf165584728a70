//! The storage step: the Docker data disk on LVM.
//!
//! devicemapper: PV → VG → thin pool `VG/thinpool` (data, metadata as %VG, chunk, zeroing off) →
//! LVM profile `docker-thinpool` (autoextend) attached → pool active and monitored.
//! overlay2: PV → VG → `VG/dockerdata` → XFS (ftype=1) → fstab entry with pquota → mounted at
//! /var/lib/docker.
//!
//! Safety: the device is checked before anything is planned and refused (exit 65, nothing touched)
//! when it is doubtful. A device that already carries this VG is not refused: it is completed.
//! An existing thin pool is never converted, recreated or given new metadata.

use std::os::unix::fs::{FileTypeExt, MetadataExt};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::host::block::{self, BlockDev, DevNum, Signature};
use crate::host::cmd::Cmd;
use crate::host::docker::EngineVersion;
use crate::host::lvm::{self, Lvm, Pv};
use crate::host::{Action, Host};
use crate::profile::{Driver, Storage};

use super::StepPlan;

pub const LVM_PROFILE: &str = "docker-thinpool";
pub const LVM_PROFILE_PATH: &str = "/etc/lvm/profile/docker-thinpool.profile";
/// Where the chosen driver is recorded for the engine step.
pub const STATE_PATH: &str = "/var/lib/swarmnode/storage.json";
pub const DOCKER_ROOT: &str = "/var/lib/docker";
/// Tag on every LV swarmnode creates: a half-made LV with this tag is ours to finish.
pub const TAG: &str = "swarmnode";
pub const POOL_LV: &str = "thinpool";
pub const META_LV: &str = "thinpoolmeta";
pub const DATA_LV: &str = "dockerdata";
const MIN_BYTES: u64 = 1 << 30;
/// devicemapper was removed in Docker Engine 25.0.
const DEVICEMAPPER_REMOVED_IN: u32 = 25;

/// Picks the concrete driver; refuses devicemapper on an engine that no longer has it.
pub fn choose_driver(wanted: Driver, engine: Option<&EngineVersion>) -> Result<(Driver, String)> {
    match (wanted, engine) {
        (Driver::Auto, None) => Err(Error::Refused(
            "storage: --driver auto reads the installed engine's version, but no docker engine is installed \
             (dockerd not found on PATH); install docker first, or choose with --driver devicemapper|overlay2"
                .into(),
        )),
        (Driver::Auto, Some(e)) if e.major < DEVICEMAPPER_REMOVED_IN => Ok((
            Driver::Devicemapper,
            format!("driver devicemapper (auto): dockerd {} < {DEVICEMAPPER_REMOVED_IN} still has devicemapper", e.version),
        )),
        (Driver::Auto, Some(e)) => Ok((
            Driver::Overlay2,
            format!(
                "driver overlay2 (auto): dockerd {} >= {DEVICEMAPPER_REMOVED_IN}, where devicemapper was removed",
                e.version
            ),
        )),
        (Driver::Devicemapper, Some(e)) if e.major >= DEVICEMAPPER_REMOVED_IN => Err(Error::Refused(format!(
            "storage: --driver devicemapper: the installed engine is Docker {}, and the devicemapper storage \
             driver was removed in Docker Engine {DEVICEMAPPER_REMOVED_IN}.0 (docker would not start); \
             use --driver overlay2 (or auto)",
            e.version
        ))),
        (d, Some(e)) => Ok((d, format!("driver {d} (asked for; dockerd {})", e.version))),
        (d, None) => Ok((d, format!("driver {d} (asked for; no engine installed yet)"))),
    }
}

/// What the storage step records for the engine step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Recorded {
    pub driver: Driver,
    pub device: String,
    pub volume_group: String,
    /// devicemapper: the pool's device (`/dev/mapper/docker-thinpool`); overlay2: the mounted LV.
    pub volume: String,
}

impl Recorded {
    /// What an earlier run recorded in /var/lib/swarmnode/storage.json.
    pub fn read(host: &Host) -> Result<Option<Recorded>> {
        Ok(host
            .read_text(STATE_PATH)?
            .and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// What this plan would record (for `plan`, before anything is applied).
    pub fn planned(p: &StepPlan) -> Option<Recorded> {
        p.actions
            .iter()
            .find(|a| a.id == "storage.record")
            .and_then(|a| match &a.effect {
                crate::host::Effect::Write { content, .. } => serde_json::from_str(content).ok(),
                _ => None,
            })
    }
}

/// The device as checked: given name, resolved node, kernel view, signatures, LVM view.
#[derive(Debug)]
struct Disk {
    given: String,
    path: String,
    blk: BlockDev,
    signatures: Vec<Signature>,
    pv: Option<Pv>,
}

impl Disk {
    fn describe(&self) -> String {
        if self.given == self.path {
            format!("{} ({})", self.given, human(self.blk.size_bytes))
        } else {
            format!(
                "{} (= {}, {})",
                self.given,
                self.path,
                human(self.blk.size_bytes)
            )
        }
    }
}

pub fn human(b: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < U.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

fn refuse(shown: &str, reasons: &[String], hint: &str) -> Error {
    let mut m = format!("storage: refusing {shown}:");
    for r in reasons {
        m.push_str("\n  - ");
        m.push_str(r);
    }
    m.push_str("\nnothing was changed.");
    if !hint.is_empty() {
        m.push(' ');
        m.push_str(hint);
    }
    Error::Refused(m)
}

/// Resolves and inspects the device; refuses what does not exist or is not a block device.
fn inspect(host: &Host, given: &str, lvm: &Lvm) -> Result<Disk> {
    let root = host.root();
    let io = |what: &str, e| Error::io(format!("storage: cannot {what} {given}"), e);
    let path = crate::host::fs::resolve(root, given)
        .map_err(|e| io("resolve", e))?
        .ok_or_else(|| {
            refuse(
                given,
                &["it does not exist".into()],
                "Check the name (ls -l /dev/disk/by-id/).",
            )
        })?;
    let shown = if path == given {
        given.to_string()
    } else {
        format!("{given} (= {path})")
    };
    let meta = std::fs::metadata(host.path(&path)).map_err(|e| io("stat", e))?;
    if !meta.file_type().is_block_device() {
        let kind = if meta.is_dir() {
            "a directory"
        } else if meta.is_file() {
            "a regular file"
        } else {
            "not a block device"
        };
        return Err(refuse(
            &shown,
            &[format!("it is not a block device (it is {kind})")],
            "",
        ));
    }
    let rdev = meta.rdev();
    let node: DevNum = (
        nix::sys::stat::major(rdev) as u32,
        nix::sys::stat::minor(rdev) as u32,
    );
    let name = path.rsplit('/').next().unwrap_or_default().to_string();
    let blk = block::probe(root, &name)
        .map_err(|e| io("read sysfs for", e))?
        .ok_or_else(|| {
            refuse(&shown, &[format!("the kernel lists no block device {name} in /sys/class/block, so its use cannot be checked")], "")
        })?;
    if blk.dev != node {
        return Err(refuse(
            &shown,
            &[format!(
                "its device node is {}:{} but /sys/class/block/{name} is {}:{}: stale /dev entry?",
                node.0, node.1, blk.dev.0, blk.dev.1
            )],
            "",
        ));
    }
    let signatures = signatures(host, &path)?;
    let pv = lvm
        .pvs
        .iter()
        .find(|p| {
            crate::host::fs::resolve(root, &p.pv_name)
                .ok()
                .flatten()
                .as_deref()
                == Some(path.as_str())
        })
        .cloned();
    Ok(Disk {
        given: given.to_string(),
        path,
        blk,
        signatures,
        pv,
    })
}

/// Every signature on a device (`wipefs --no-act --json`, which only reads).
fn signatures(host: &Host, dev: &str) -> Result<Vec<Signature>> {
    let cmd = Cmd::new("wipefs").args(["--no-act", "--json", dev]);
    let out = host.runner.run(&cmd)?;
    block::parse_wipefs(&out.stdout).map_err(|source| {
        crate::host::cmd::CommandError::Parse {
            cmd: cmd.to_string(),
            source,
        }
        .into()
    })
}

/// `lvcreate` of a tagged volume of `percent`% of the VG, wiping stale signatures where it lands.
fn lvcreate(id: &str, why: &str, vg: &str, name: &str, percent: u32) -> Action {
    Action::run(
        id,
        why,
        Cmd::new("lvcreate").args([
            "--yes",
            "--wipesignatures",
            "y",
            "--addtag",
            TAG,
            "--name",
            name,
            "--extents",
            &format!("{percent}%VG"),
            vg,
        ]),
    )
}

/// The safety verdict: hard reasons can never be overridden; soft ones (signatures) can with --wipe.
#[derive(Debug, Default)]
struct Verdict {
    hard: Vec<String>,
    soft: Vec<String>,
}

fn judge(host: &Host, disk: &Disk, vg: &str, lvm: &Lvm) -> Result<Verdict> {
    let mut v = Verdict::default();
    let blk = &disk.blk;
    let own_pv = disk.pv.as_ref().is_some_and(|p| p.vg_name == vg);
    if blk.read_only {
        v.hard.push("it is read-only".into());
    }
    if blk.size_bytes < MIN_BYTES {
        v.hard.push(format!(
            "it is smaller than 1 GiB ({})",
            human(blk.size_bytes)
        ));
    }
    let mounts = block::read_mounts(host.root())
        .map_err(|e| Error::io("storage: cannot read /proc/self/mountinfo", e))?;
    let all = blk.all_devnums();
    // The running system's and the target root's (/ and /boot), which differ under --root.
    let mut system: Vec<String> = ["/", "/boot", "/boot/efi"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    system.extend(
        ["/", "/boot", "/boot/efi"]
            .iter()
            .map(|s| host.tool_path(s).trim_end_matches('/').to_string()),
    );
    for m in &mounts {
        if system.contains(&m.mount_point) && all.contains(&m.dev) {
            let what = if m.mount_point.ends_with("/boot") || m.mount_point.ends_with("/boot/efi") {
                "boot"
            } else {
                "root"
            };
            v.hard.push(format!(
                "it holds the {what} filesystem ({})",
                m.mount_point
            ));
        }
    }
    let own_parts: Vec<(DevNum, String)> = std::iter::once((blk.dev, blk.name.clone()))
        .chain(blk.partitions.iter().map(|p| (p.dev, p.name.clone())))
        .collect();
    for m in &mounts {
        // By device number, and by source name for filesystems (btrfs) whose mountinfo number is anonymous.
        let by_source = || {
            m.source.strip_prefix("/dev/")?;
            let src = crate::host::fs::resolve(host.root(), &m.source)
                .ok()
                .flatten()?;
            let name = src.rsplit('/').next()?.to_string();
            own_parts.iter().find(|(_, n)| *n == name)
        };
        if let Some((_, n)) = own_parts
            .iter()
            .find(|(d, _)| *d == m.dev)
            .or_else(by_source)
        {
            v.hard.push(format!("{n} is mounted at {}", m.mount_point));
        }
    }
    let swaps = block::read_swaps(host.root())
        .map_err(|e| Error::io("storage: cannot read /proc/swaps", e))?;
    let mut names: Vec<String> = own_parts.iter().map(|(_, n)| n.clone()).collect();
    names.extend(blk.all_holders().iter().map(|h| h.name.clone()));
    for s in &swaps {
        let resolved = crate::host::fs::resolve(host.root(), s)
            .ok()
            .flatten()
            .unwrap_or_else(|| s.clone());
        let n = resolved.rsplit('/').next().unwrap_or_default();
        if names.iter().any(|x| x == n) {
            v.hard.push(format!("it is in use as swap ({s})"));
        }
    }
    let prefix = lvm::dm_name(vg, "");
    for h in blk.all_holders() {
        let ours = own_pv && h.dm_name.as_deref().is_some_and(|d| d.starts_with(&prefix));
        if !ours {
            let what = match &h.dm_name {
                Some(d) => format!("device-mapper {d}"),
                None if h.name.starts_with("md") => "a RAID array".to_string(),
                None => "another device".to_string(),
            };
            v.hard.push(format!("it is held by {} ({what})", h.name));
        }
    }
    if let Some(g) = lvm.vg(vg)
        && disk.pv.as_ref().is_none_or(|p| p.vg_name != vg)
    {
        let on: Vec<String> = lvm
            .pvs_of(&g.vg_name)
            .iter()
            .map(|p| p.pv_name.clone())
            .collect();
        v.hard.push(format!(
            "volume group '{vg}' already exists on {}; a second one cannot be made (use that disk, or another --profile volume_group)",
            on.join(", ")
        ));
    }
    // What swarmnode may finish must carry its tag: it makes the PV and the VG in one command
    // (`vgcreate --addtag`), so a PV without a VG, or an untagged VG with nothing in it, is not
    // a half-made state of its own.
    match &disk.pv {
        Some(p) if p.vg_name == vg => {
            let tagged = lvm.vg(vg).is_some_and(|g| g.has_tag(TAG));
            let has_lvs = lvm.lvs.iter().any(|l| l.vg_name == vg);
            if !tagged && !has_lvs {
                v.soft.push(format!(
                    "it is the PV of an empty volume group '{vg}' that swarmnode did not make (no \
                     '{TAG}' tag)"
                ));
            }
        }
        Some(p) if p.vg_name.is_empty() => v.soft.push(
            "it is an LVM physical volume without a volume group, which swarmnode does not make \
             (it creates the PV and its VG in one command)"
                .into(),
        ),
        Some(p) => v.soft.push(format!(
            "it is an LVM physical volume of volume group '{}'",
            p.vg_name
        )),
        None => {}
    }
    for s in &disk.signatures {
        if s.kind == "LVM2_member" && disk.pv.is_some() {
            continue;
        }
        let what = match s.kind.as_str() {
            "gpt" | "dos" | "PMBR" => "a partition table",
            "LVM2_member" => "an LVM label that LVM does not report (filtered or stale)",
            k if k.ends_with("_raid_member") || k == "linux_raid_member" => {
                "a RAID member signature"
            }
            "swap" => "a swap signature",
            _ => "a filesystem or other signature",
        };
        v.soft.push(format!("it carries {what}: {s}"));
    }
    Ok(v)
}

/// What the storage step is asked to do, with the installed engine's version (read once per run
/// by the caller: `dockerd --version` is slow on small machines).
pub struct Request<'a> {
    pub storage: &'a Storage,
    pub wipe: bool,
    /// overlay2: copy what /var/lib/docker holds into the new volume instead of refusing.
    pub move_data: bool,
    pub engine: Option<&'a EngineVersion>,
}

/// Observes the host and plans the storage step.
pub fn plan(host: &Host, req: &Request) -> Result<StepPlan> {
    let (s, wipe) = (req.storage, req.wipe);
    let mut p = StepPlan::new("storage");
    let given = s.device.clone().ok_or_else(|| {
        Error::Refused(
            "storage: no device given: pass --device /dev/disk/by-id/... or set storage.device in the profile"
                .into(),
        )
    })?;
    let (driver, why) = choose_driver(s.driver, req.engine)?;
    p.facts.push(why);
    let lvm = Lvm::read(&host.runner)?;
    let disk = inspect(host, &given, &lvm)?;
    p.facts.push(format!("device {}", disk.describe()));
    let verdict = judge(host, &disk, &s.volume_group, &lvm)?;
    let shown = disk.describe();
    if !verdict.hard.is_empty() {
        let mut all = verdict.hard.clone();
        all.extend(verdict.soft.iter().cloned());
        return Err(refuse(
            &shown,
            &all,
            "--wipe cannot override these: free the device first, or pick another one.",
        ));
    }
    let vg = s.volume_group.as_str();
    let dev = disk.path.as_str();
    let mut blank = disk.pv.is_none();
    if !verdict.soft.is_empty() {
        if !wipe {
            return Err(refuse(
                &shown,
                &verdict.soft,
                "If this is the right disk and everything on it may be destroyed, run again with --wipe.",
            ));
        }
        p.warnings.push(format!(
            "--wipe: erasing every signature on {shown}: {}",
            verdict.soft.join("; ")
        ));
        p.actions.push(Action::run(
            "storage.wipefs",
            "--wipe: erase the signatures found above",
            Cmd::new("wipefs").args(["--all", dev]),
        ));
        blank = true;
    }
    let pv_vg = if blank {
        None
    } else {
        disk.pv.as_ref().map(|p| p.vg_name.as_str())
    };
    match pv_vg {
        None => p.actions.push(Action::run(
            "storage.vgcreate",
            format!("volume group {vg} on {dev} (the PV is made with it), tagged '{TAG}'"),
            Cmd::new("vgcreate").args(["--addtag", TAG, vg, dev]),
        )),
        Some(_) => p.facts.push(format!(
            "{dev} is already a physical volume of volume group {vg}"
        )),
    }
    let existing = if pv_vg.is_some_and(|g| g == vg) {
        Some(&lvm)
    } else {
        None
    };
    match driver {
        Driver::Devicemapper => plan_thinpool(host, s, existing, &mut p)?,
        Driver::Overlay2 => plan_xfs(host, s, req.move_data, existing, &mut p)?,
        Driver::Auto => unreachable!("choose_driver returns a concrete driver"),
    }
    let rec = Recorded {
        driver,
        device: given.clone(),
        volume_group: vg.to_string(),
        volume: match driver {
            Driver::Overlay2 => format!("/dev/{vg}/{DATA_LV}"),
            _ => format!("/dev/mapper/{}", lvm::dm_name(vg, POOL_LV)),
        },
    };
    let text = serde_json::to_string_pretty(&rec).expect("serializable") + "\n";
    write_if_changed(
        host,
        &mut p,
        "storage.record",
        "record the driver for the engine step",
        STATE_PATH,
        0o644,
        text,
    )?;
    if p.actions.is_empty() {
        p.facts.push("converged: nothing to do".into());
    }
    Ok(p)
}

fn write_if_changed(
    host: &Host,
    p: &mut StepPlan,
    id: &str,
    why: &str,
    path: &str,
    mode: u32,
    content: String,
) -> Result<()> {
    let previous = host.read_text(path)?;
    if previous.as_deref() != Some(content.as_str()) {
        p.actions
            .push(Action::write(id, why, path, mode, content, previous));
    }
    Ok(())
}

pub fn lvm_profile_text(s: &Storage) -> String {
    format!(
        "# written by swarmnode: autoextend of the docker thin pool\nactivation {{\n    thin_pool_autoextend_threshold={}\n    thin_pool_autoextend_percent={}\n}}\n",
        s.thinpool.autoextend_threshold, s.thinpool.autoextend_percent
    )
}

fn other_layout_refusal(vg: &str, lv: &str, wanted: &str) -> Error {
    Error::Refused(format!(
        "storage: volume group {vg} already holds {vg}/{lv}, the layout of the other driver; refusing to mix it with {wanted}. \
         nothing was changed. Pick the driver this node was provisioned with, or re-provision the disk (vgremove {vg}, then --wipe)"
    ))
}

/// A leftover LV of ours (tagged, not what it should become yet) or a refusal.
fn foreign_lv(vg: &str, lv: &lvm::Lv, wanted: &str) -> Error {
    Error::Refused(format!(
        "storage: {vg}/{} exists as a {} volume that swarmnode did not make (no '{TAG}' tag); refusing to turn it into {wanted}. \
         nothing was changed",
        lv.lv_name, lv.segtype
    ))
}

fn plan_thinpool(host: &Host, s: &Storage, lvm: Option<&Lvm>, p: &mut StepPlan) -> Result<()> {
    let vg = s.volume_group.as_str();
    let t = &s.thinpool;
    let pool_name = format!("{vg}/{POOL_LV}");
    let empty = Lvm::default();
    let lvm = lvm.unwrap_or(&empty);
    if let Some(l) = lvm.lv(vg, DATA_LV) {
        return Err(other_layout_refusal(
            vg,
            &l.lv_name,
            "a devicemapper thin pool",
        ));
    }
    let pool = lvm.lv(vg, POOL_LV);
    let is_pool = pool.is_some_and(|l| l.segtype == "thin-pool");
    if !is_pool {
        // Not a pool yet: fresh, or left half-made by an interrupted run (tagged linear volumes).
        match pool {
            None => p.actions.push(lvcreate(
                "storage.lvcreate-data",
                "thin pool data volume",
                vg,
                POOL_LV,
                t.data_percent,
            )),
            Some(l) if l.has_tag(TAG) && l.segtype == "linear" && !l.is_open() => {
                p.facts.push(format!(
                    "{pool_name} was left as a plain volume by an interrupted run: finishing it"
                ))
            }
            Some(l) => return Err(foreign_lv(vg, l, "a thin pool")),
        }
        match lvm.lv(vg, META_LV) {
            None => p.actions.push(lvcreate(
                "storage.lvcreate-meta",
                "thin pool metadata volume",
                vg,
                META_LV,
                t.metadata_percent,
            )),
            Some(l) if l.has_tag(TAG) && l.segtype == "linear" && !l.is_open() => {}
            Some(l) => return Err(foreign_lv(vg, l, "thin pool metadata")),
        }
        p.actions.push(Action::run(
            "storage.lvconvert",
            "join data and metadata into the thin pool (only ever on volumes made by this step)",
            Cmd::new("lvconvert").args([
                "--yes",
                "--zero",
                "n",
                "--chunksize",
                t.chunk_size.as_str(),
                "--thinpool",
                &pool_name,
                "--poolmetadata",
                &format!("{vg}/{META_LV}"),
            ]),
        ));
    }
    write_if_changed(
        host,
        p,
        "storage.lvm-profile",
        "autoextend settings",
        LVM_PROFILE_PATH,
        0o644,
        lvm_profile_text(s),
    )?;
    let pool = pool.filter(|_| is_pool);
    if pool.is_none_or(|l| l.lv_profile != LVM_PROFILE) {
        p.actions.push(Action::run(
            "storage.lvchange-profile",
            "attach the autoextend profile to the pool",
            Cmd::new("lvchange").args(["--metadataprofile", LVM_PROFILE, &pool_name]),
        ));
    }
    let want_chunk = t.chunk_size.bytes();
    if let Some(l) = pool {
        p.facts.push(format!(
            "thin pool {pool_name} exists ({}): never converted or recreated",
            human(l.lv_size)
        ));
        if l.chunk_size != want_chunk {
            p.warnings.push(format!(
                "{pool_name} has chunk size {} but the profile asks for {}; a pool's chunk size cannot change: left as it is",
                human(l.chunk_size),
                t.chunk_size.as_str()
            ));
        }
        if l.zero == "1" {
            p.actions.push(Action::run(
                "storage.lvchange-zero",
                "turn zeroing of new blocks off",
                Cmd::new("lvchange").args(["--zero", "n", &pool_name]),
            ));
        }
        if !l.is_active() {
            p.actions.push(Action::run(
                "storage.activate",
                "the pool is inactive: activate it (never re-convert)",
                Cmd::new("lvchange").args(["--activate", "y", &pool_name]),
            ));
        } else if l.seg_monitor != "monitored" {
            p.actions.push(Action::run(
                "storage.monitor",
                "autoextend only happens while dmeventd monitors the pool",
                Cmd::new("lvchange").args(["--monitor", "y", &pool_name]),
            ));
        }
    }
    // Will autoextend ever be able to fire? It needs free extents in the VG.
    let (free_pct, pool_pct) = match (lvm.vg(vg), pool) {
        (Some(g), Some(l)) if g.vg_size > 0 => (
            g.vg_free as f64 * 100.0 / g.vg_size as f64,
            l.lv_size as f64 * 100.0 / g.vg_size as f64,
        ),
        _ => (
            (100 - t.data_percent - 2 * t.metadata_percent) as f64,
            t.data_percent as f64,
        ),
    };
    let need = pool_pct * t.autoextend_percent as f64 / 100.0;
    if t.autoextend_threshold < 100 && free_pct < need {
        p.warnings.push(format!(
            "autoextend cannot fire: at {}% full the pool grows by {}% (~{need:.0}% of the VG), but only ~{free_pct:.0}% of \
             volume group {vg} is free (metadata and LVM's hidden spare take the rest); add a disk (vgextend {vg} DEV) \
             or lower storage.thinpool.data_percent",
            t.autoextend_threshold, t.autoextend_percent
        ));
    }
    Ok(())
}

fn plan_xfs(
    host: &Host,
    s: &Storage,
    move_data: bool,
    lvm: Option<&Lvm>,
    p: &mut StepPlan,
) -> Result<()> {
    let vg = s.volume_group.as_str();
    let empty = Lvm::default();
    let lvm = lvm.unwrap_or(&empty);
    if let Some(l) = lvm.lv(vg, POOL_LV) {
        return Err(other_layout_refusal(vg, &l.lv_name, "an overlay2 volume"));
    }
    let lv_path = format!("/dev/{vg}/{DATA_LV}");
    let mapper = format!("/dev/mapper/{}", lvm::dm_name(vg, DATA_LV));
    let mut mkfs = true;
    match lvm.lv(vg, DATA_LV) {
        None => p.actions.push(lvcreate(
            "storage.lvcreate-data",
            "the docker data volume",
            vg,
            DATA_LV,
            s.overlay2.data_percent,
        )),
        Some(l) if l.segtype != "linear" || !l.has_tag(TAG) => {
            return Err(foreign_lv(vg, l, "the docker data volume"));
        }
        Some(l) if !l.is_active() => {
            p.actions.push(Action::run(
                "storage.activate",
                "the data volume is inactive",
                Cmd::new("lvchange").args(["--activate", "y", &format!("{vg}/{DATA_LV}")]),
            ));
            p.facts.push(format!(
                "{lv_path} is inactive: its filesystem is checked after activation"
            ));
            mkfs = false;
        }
        Some(_) => {
            let sigs = signatures(host, &lv_path)?;
            match sigs
                .iter()
                .map(|s| s.kind.as_str())
                .collect::<Vec<_>>()
                .as_slice()
            {
                [] => {}
                ["xfs"] => {
                    mkfs = false;
                    p.facts
                        .push(format!("{lv_path} already has an XFS filesystem"));
                }
                _ => {
                    return Err(Error::Refused(format!(
                        "storage: {lv_path} carries {}; refusing to format over it. nothing was changed",
                        sigs.iter()
                            .map(|s| s.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
        }
    }
    if mkfs {
        p.actions.push(Action::run(
            "storage.mkfs",
            "XFS with d_type (ftype=1), which overlay2 needs",
            Cmd::new("mkfs.xfs").args(["-n", "ftype=1", &lv_path]),
        ));
    }
    // fstab: one entry for /var/lib/docker, ours, with project quotas.
    let fstab = host.read_text("/etc/fstab")?.unwrap_or_default();
    let entry = format!("{lv_path} {DOCKER_ROOT} xfs defaults,pquota 0 0");
    let mut has_entry = false;
    for line in fstab.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.first().is_none_or(|x| x.starts_with('#')) || f.len() < 2 || f[1] != DOCKER_ROOT {
            continue;
        }
        if f[0] == lv_path || f[0] == mapper {
            has_entry = true;
            if !f
                .get(3)
                .is_some_and(|o| o.split(',').any(|o| o == "pquota" || o == "prjquota"))
            {
                p.warnings.push(format!("/etc/fstab mounts {DOCKER_ROOT} without pquota; overlay2 size limits need it: {line}"));
            }
        } else {
            return Err(Error::Refused(format!(
                "storage: /etc/fstab already mounts something else at {DOCKER_ROOT}: `{line}`; refusing to add a second entry. \
                 nothing was changed. Remove that line if it is obsolete"
            )));
        }
    }
    let mut changed_fstab = false;
    if !has_entry {
        let mut text = fstab.clone();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&entry);
        text.push('\n');
        p.actions.push(Action::write(
            "storage.fstab",
            "mount the data volume at every boot",
            "/etc/fstab",
            0o644,
            text,
            Some(fstab),
        ));
        changed_fstab = true;
    }
    if changed_fstab && host.systemd_running() {
        p.actions.push(Action::run(
            "storage.daemon-reload",
            "let systemd see the new fstab entry",
            Cmd::new("systemctl").arg("daemon-reload"),
        ));
    }
    // Mounted now?
    let mounts = block::read_mounts(host.root())
        .map_err(|e| Error::io("storage: cannot read /proc/self/mountinfo", e))?;
    let target = host.tool_path(DOCKER_ROOT);
    match mounts.iter().rev().find(|m| m.mount_point == target) {
        Some(m) if m.source == lv_path || m.source == mapper => {
            if !m
                .options
                .split(',')
                .any(|o| o == "prjquota" || o == "pquota")
            {
                p.warnings.push(format!(
                    "{DOCKER_ROOT} is mounted without project quotas; stop docker and remount it to enable them"
                ));
            }
        }
        Some(m) => {
            return Err(Error::Refused(format!(
                "storage: {DOCKER_ROOT} is already a mount of {} ({}); refusing to mount the data volume over it. nothing was changed",
                m.source, m.fstype
            )));
        }
        None => {
            let dir = host.path(DOCKER_ROOT);
            match std::fs::read_dir(&dir) {
                Ok(mut rd) => {
                    if rd.next().is_some() {
                        if !move_data {
                            return Err(Error::Refused(format!(
                                "storage: {DOCKER_ROOT} already holds data, which mounting the data volume would hide; nothing was changed. \
                                 Stop docker and run again with --move-docker-data to copy it into the new volume, or move it away yourself"
                            )));
                        }
                        plan_move(host, &lv_path, &mounts, p)?;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    p.actions.push(Action::mkdir(
                        "storage.mkdir",
                        "mount point",
                        DOCKER_ROOT,
                        0o711,
                    ));
                }
                Err(e) => {
                    return Err(Error::io(
                        format!("storage: cannot read {}", dir.display()),
                        e,
                    ));
                }
            }
            p.actions.push(Action::run(
                "storage.mount",
                "mount it now",
                mount_xfs(&lv_path, &target),
            ));
        }
    }
    Ok(())
}

/// Mounts the data volume with project quotas (overlay2's size limits need them; only at mount time).
fn mount_xfs(lv_path: &str, target: &str) -> Cmd {
    Cmd::new("mount").args(["-t", "xfs", "-o", "pquota", lv_path, target])
}

/// Where `--move-docker-data` mounts the new volume while it copies, and where the old tree is kept.
pub const MOVE_MOUNT: &str = "/run/swarmnode/dockerdata";
pub const MOVED_ASIDE: &str = "/var/lib/docker.swarmnode-old";

/// `--move-docker-data`: copy /var/lib/docker into the new volume (mounted aside), then keep the old
/// tree as /var/lib/docker.swarmnode-old. A run killed anywhere here copies again next time.
fn plan_move(host: &Host, lv_path: &str, mounts: &[block::Mount], p: &mut StepPlan) -> Result<()> {
    if let Some(pid) = docker_pid(host)? {
        return Err(Error::Refused(format!(
            "storage: docker is running (pid {pid}); stop it (systemctl stop docker docker.socket) before moving \
             {DOCKER_ROOT}. nothing was changed"
        )));
    }
    if host.path(MOVED_ASIDE).exists() {
        return Err(Error::Refused(format!(
            "storage: {MOVED_ASIDE} already exists (an earlier move); remove it or rename it first. nothing was changed"
        )));
    }
    let tmp = host.tool_path(MOVE_MOUNT);
    p.warnings.push(format!(
        "--move-docker-data: copying {DOCKER_ROOT} into {lv_path}; the old tree stays at {MOVED_ASIDE} until you remove it"
    ));
    if !mounts.iter().any(|m| m.mount_point == tmp) {
        p.actions.push(Action::mkdir(
            "storage.move-mkdir",
            "temporary mount point",
            MOVE_MOUNT,
            0o700,
        ));
        p.actions.push(Action::run(
            "storage.move-mount",
            "mount the new volume aside",
            mount_xfs(lv_path, &tmp),
        ));
    }
    p.actions.push(Action::run(
        "storage.move-copy",
        "copy the docker data (owners, modes, links, xattrs)",
        Cmd::new("cp").args([
            "-a",
            "--reflink=auto",
            &format!("{}/.", host.tool_path(DOCKER_ROOT)),
            &format!("{tmp}/"),
        ]),
    ));
    p.actions.push(Action::run(
        "storage.move-umount",
        "done copying",
        Cmd::new("umount").arg(&tmp),
    ));
    p.actions.push(Action::rename(
        "storage.move-aside",
        "keep the old tree",
        DOCKER_ROOT,
        MOVED_ASIDE,
    ));
    p.actions.push(Action::mkdir(
        "storage.mkdir",
        "mount point",
        DOCKER_ROOT,
        0o711,
    ));
    Ok(())
}

/// The pid in /run/docker.pid when that process is alive.
fn docker_pid(host: &Host) -> Result<Option<i32>> {
    let Some(text) = host.read_text("/run/docker.pid")? else {
        return Ok(None);
    };
    let Ok(pid) = text.trim().parse::<i32>() else {
        return Ok(None);
    };
    let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
    Ok(alive.then_some(pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_choice() {
        let old = EngineVersion {
            version: "20.10.24".into(),
            major: 20,
        };
        let new = EngineVersion {
            version: "26.1.5".into(),
            major: 26,
        };
        assert_eq!(
            choose_driver(Driver::Auto, Some(&old)).unwrap().0,
            Driver::Devicemapper
        );
        assert_eq!(
            choose_driver(Driver::Auto, Some(&new)).unwrap().0,
            Driver::Overlay2
        );
        let e = choose_driver(Driver::Auto, None).unwrap_err();
        assert_eq!(e.exit_code(), 65);
        assert!(e.to_string().contains("--driver"), "{e}");
        let e = choose_driver(Driver::Devicemapper, Some(&new)).unwrap_err();
        assert_eq!(e.exit_code(), 65);
        assert!(
            e.to_string().contains("26.1.5") && e.to_string().contains("removed"),
            "{e}"
        );
        assert_eq!(
            choose_driver(Driver::Overlay2, None).unwrap().0,
            Driver::Overlay2
        );
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(4 << 30), "4.0 GiB");
        assert_eq!(human(512), "512 B");
    }
}
