//! The mounts step: the NFS mounts the node needs are there, are NFS, and answer.
//!
//! It changes nothing (mounting is /etc/fstab's and remote-fs.target's job); it observes and
//! refuses. Each path must be a mount point of type nfs or nfs4 that answers a `stat -f` (a
//! STATFS round trip to the server, never served from a cache) within `timeout_seconds`. The probe
//! runs in a child process that is killed and left behind at the deadline, so a hung server can
//! never hang swarmnode: that path gives exit 75 with the server named.
//! Offline (kickstart %post) the step checks that /etc/fstab or a mount unit provides each path.

use std::time::{Duration, Instant};

use crate::error::{Error, Refusal, Result};
use crate::host::Host;
use crate::host::block::{self, Mount};
use crate::host::cmd::{Cmd, CommandError};
use crate::host::fstab::{self, Entry as FstabEntry};
use crate::profile::Mounts;
use crate::steps::plan::StepPlan;

/// systemd's unit name for a mount point: `/mnt/docker` → `mnt-docker.mount`.
pub fn mount_unit_name(path: &str) -> String {
    let p = path.trim_matches('/');
    if p.is_empty() {
        return "-.mount".into();
    }
    let mut out = String::new();
    for (i, c) in p.chars().enumerate() {
        match c {
            '/' => out.push('-'),
            c if c.is_ascii_alphanumeric() || c == '_' || (c == '.' && i > 0) => out.push(c),
            c => {
                let mut b = [0u8; 4];
                for byte in c.encode_utf8(&mut b).bytes() {
                    out.push_str(&format!("\\x{byte:02x}"));
                }
            }
        }
    }
    out + ".mount"
}

fn is_nfs(fstype: &str) -> bool {
    fstype == "nfs" || fstype == "nfs4"
}

/// The problems found, worst first decides the exit code: refused (65) over temporary (75).
#[derive(Default)]
struct Problems {
    refused: Vec<String>,
    temporary: Vec<String>,
}

impl Problems {
    fn into_result(self) -> Result<()> {
        if !self.refused.is_empty() {
            let mut all = self.refused;
            all.extend(self.temporary);
            return Err(Refusal::all("mounts", "the NFS mounts", all).into());
        }
        if !self.temporary.is_empty() {
            return Err(Error::Temporary(format!(
                "mounts: {}; run again when the server answers",
                self.temporary.join("; ")
            )));
        }
        Ok(())
    }
}

pub fn plan(h: &Host, m: &Mounts, offline: bool) -> Result<StepPlan> {
    let mut p = StepPlan::new("mounts");
    let fstab = fstab::entries(&h.read_text(fstab::PATH)?.unwrap_or_default());
    let mut problems = Problems::default();
    if offline {
        for path in &m.nfs {
            add_provided(h, &fstab, path, &mut p, &mut problems)?;
        }
        if problems.refused.is_empty() {
            p.facts.push(
                "whether the servers answer is checked at first boot (no network here)".into(),
            );
        }
    } else {
        add_online_checks(h, m, &fstab, &mut p, &mut problems)?;
    }
    problems.into_result()?;
    Ok(p)
}

/// What one NFS path was found to be, booted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Mounted, NFS, and answered: what it is and how fast.
    Answered { fact: String, ms: u128 },
    /// Not answering, or not mounted yet where fstab or a unit provides it: retry later.
    Temporary(String),
    /// Not NFS, or nothing provides it.
    Refused(String),
}

/// Booted: each path mounted, NFS, and answering.
fn add_online_checks(
    h: &Host,
    m: &Mounts,
    fstab: &[FstabEntry],
    p: &mut StepPlan,
    problems: &mut Problems,
) -> Result<()> {
    for (_, seen) in observe(h, m, fstab)? {
        match seen {
            Seen::Answered { fact, .. } => p.facts.push(fact),
            Seen::Temporary(e) => problems.temporary.push(e),
            Seen::Refused(e) => problems.refused.push(e),
        }
    }
    Ok(())
}

/// Each path of the profile as it is now, in the profile's order; all probes at once, so the
/// whole is bounded by one timeout however many servers hang. `check` reads the same.
pub fn observe(h: &Host, m: &Mounts, fstab: &[FstabEntry]) -> Result<Vec<(String, Seen)>> {
    let mounts = block::read_mounts(h.root())
        .map_err(|e| Error::io("mounts: cannot read /proc/self/mountinfo", e))?;
    let mut seen: Vec<Option<Seen>> = Vec::new();
    let mut to_probe: Vec<(usize, &String, &Mount)> = Vec::new();
    for (i, path) in m.nfs.iter().enumerate() {
        // The last mount on a path is the one that is seen.
        seen.push(match mounts.iter().rev().find(|x| x.mount_point == *path) {
            None => Some(unmounted(h, fstab, path)?),
            Some(mt) if !is_nfs(&mt.fstype) => Some(Seen::Refused(format!(
                "{path} is {} from {}, not NFS",
                mt.fstype, mt.source
            ))),
            Some(mt) => {
                to_probe.push((i, path, mt));
                None
            }
        });
    }
    let timeout = m.timeout_seconds.secs();
    let results: Vec<_> = std::thread::scope(|sc| {
        let handles: Vec<_> = to_probe
            .iter()
            .map(|(_, path, mt)| sc.spawn(move || probe(h, path, mt, timeout)))
            .collect();
        handles
            .into_iter()
            .map(|t| t.join().expect("a probe thread does not panic"))
            .collect()
    });
    for ((i, path, mt), r) in to_probe.iter().zip(results) {
        seen[*i] = Some(match r? {
            Ok(ms) => Seen::Answered {
                fact: format!(
                    "{path}: {} from {}, answered in {ms} ms",
                    mt.fstype, mt.source
                ),
                ms,
            },
            Err(e) => Seen::Temporary(e),
        });
    }
    Ok(m.nfs
        .iter()
        .cloned()
        .zip(seen.into_iter().map(|s| s.expect("every path is seen")))
        .collect())
}

/// A path that is not mounted: later (fstab or a mount unit has it), or refused (nothing does).
fn unmounted(h: &Host, fstab: &[FstabEntry], path: &str) -> Result<Seen> {
    let unit = mount_unit_name(path);
    let from = fstab.iter().find(|e| e.mount_point == path);
    let has_unit = h.path(&format!("/etc/systemd/system/{unit}"))?.exists();
    Ok(match (from, has_unit) {
        (Some(e), _) => Seen::Temporary(format!(
            "{path} is not mounted (/etc/fstab: {} {}): its server may be down; `mount {path}`",
            e.source, e.fstype
        )),
        (None, true) => Seen::Temporary(format!(
            "{path} is not mounted ({unit} exists): `systemctl start {unit}`"
        )),
        (None, false) => Seen::Refused(format!(
            "{path} is not mounted, and neither /etc/fstab nor a mount unit provides it; add it, \
             e.g. `SERVER:/export {path} nfs4 defaults,_netdev 0 0`"
        )),
    })
}

/// Offline: /etc/fstab (as nfs/nfs4) or a mount unit must provide the path.
fn add_provided(
    h: &Host,
    fstab: &[FstabEntry],
    path: &str,
    p: &mut StepPlan,
    problems: &mut Problems,
) -> Result<()> {
    let unit = mount_unit_name(path);
    match fstab.iter().rev().find(|e| e.mount_point == path) {
        Some(e) if is_nfs(&e.fstype) => p.facts.push(format!(
            "{path}: /etc/fstab mounts {} ({})",
            e.source, e.fstype
        )),
        Some(e) => problems.refused.push(format!(
            "{path}: /etc/fstab mounts {} as {}, not NFS",
            e.source, e.fstype
        )),
        None if h.path(&format!("/etc/systemd/system/{unit}"))?.exists() => p
            .facts
            .push(format!("{path}: provided by /etc/systemd/system/{unit}")),
        None => problems.refused.push(format!(
            "{path}: neither /etc/fstab nor /etc/systemd/system/{unit} provides it; add it, \
             e.g. `SERVER:/export {path} nfs4 defaults,_netdev 0 0`"
        )),
    }
    Ok(())
}

/// `stat -f` in a child process, killed and abandoned at the deadline. Ok(Ok(milliseconds taken)),
/// Ok(Err(why the server did not answer)), or Err when the probe itself could not run.
fn probe(
    h: &Host,
    path: &str,
    mt: &Mount,
    timeout: Duration,
) -> Result<std::result::Result<u128, String>> {
    // The mount point as the mount table names it, under the root, not resolved: resolving it
    // would stat it, which a dead server answers never; the bounded `stat -f` is the only touch.
    let at = h.root().join(path.trim_start_matches('/'));
    let cmd = Cmd::new("stat").args(["-f", "-c", "%T", "--", &at.to_string_lossy()]);
    let t = Instant::now();
    Ok(match h.runner.output_timeout(&cmd, timeout) {
        Ok(o) if o.code == 0 => Ok(t.elapsed().as_millis()),
        Ok(o) => Err(format!(
            "{path} (NFS from {}) fails: {}",
            mt.source,
            o.stderr.trim().replace('\n', " / ")
        )),
        Err(CommandError::Timeout { .. }) => Err(format!(
            "{path} (NFS from {}) did not answer within {} s: the server is down or \
             unreachable (swarmnode stopped waiting; the probe was killed)",
            mt.source,
            timeout.as_secs()
        )),
        Err(e) => return Err(e.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn no_mount_point_makes_the_unit_name_panic(t in "\\PC{0,200}") {
            for e in fstab::entries(&t) {
                let _ = mount_unit_name(&e.mount_point);
            }
            let _ = mount_unit_name(&t);
        }
    }

    #[test]
    fn mount_unit_names_as_systemd_escapes_them() {
        // `systemd-escape --path --suffix=mount` gives the same.
        assert_eq!(mount_unit_name("/home"), "home.mount");
        assert_eq!(mount_unit_name("/mnt/docker"), "mnt-docker.mount");
        assert_eq!(mount_unit_name("/mnt/my-data"), "mnt-my\\x2ddata.mount");
        assert_eq!(mount_unit_name("/"), "-.mount");
    }
}
