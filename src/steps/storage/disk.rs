//! Disk safety: the data disk as the kernel, the mount table and LVM see it, read once, then
//! judged by small pure checks. Hard reasons (in use, too small, read-only, the system disk) can
//! never be overridden; soft ones (signatures, someone else's LVM) only with `--wipe`. What is
//! refused is refused whole, every reason listed, and nothing is touched.

use crate::error::{Error, Refusal, Result};
use crate::host::Host;
use crate::host::block::{self, BlockDev, DevNum, Mount, Signature};
use crate::host::cmd::Cmd;
use crate::host::lvm::{self, Lvm, Pv};

use super::volumes::{TAG, human};

const MIN_BYTES: u64 = 1 << 30;

/// The device as checked: given name, resolved node, kernel view, signatures, LVM view.
#[derive(Debug)]
pub struct Disk {
    pub given: String,
    pub path: String,
    pub blk: BlockDev,
    pub signatures: Vec<Signature>,
    pub pv: Option<Pv>,
    /// The PV was found only beyond LVM's devices file.
    pub outside_devices_file: bool,
}

impl Disk {
    pub fn describe(&self) -> String {
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

fn refuse(shown: &str, reason: String, remedy: &str) -> Error {
    Refusal::new("storage", shown, reason).remedy(remedy).into()
}

/// Resolves and inspects the device; refuses what does not exist or is not a block device.
pub fn inspect(host: &Host, given: &str, lvm: &Lvm) -> Result<Disk> {
    let root = host.root();
    let io = |what: &str, e| Error::io(format!("storage: cannot {what} {given}"), e);
    let path = crate::host::fs::resolve(root, given)
        .map_err(|e| io("resolve", e))?
        .ok_or_else(|| {
            refuse(
                given,
                "it does not exist".into(),
                "Check the name (ls -l /dev/disk/by-id/).",
            )
        })?;
    let shown = if path == given {
        given.to_string()
    } else {
        format!("{given} (= {path})")
    };
    let blk = block_device(host, &path).map_err(|e| match e {
        Probe::Io(what, e) => io(what, e),
        Probe::Refused(r) => refuse(&shown, r, ""),
    })?;
    let pv = pv_of(host, lvm, &path);
    // The PV of a VG swarmnode made (tagged): LVM has read its label and metadata, and LVM takes
    // no device that has a partition table or is a RAID member, so there is nothing for wipefs to
    // add (one command less on every re-run and on the observation that proves an apply).
    let own = pv.as_ref().is_some_and(|p| {
        !p.vg_name.is_empty() && lvm.vg(&p.vg_name).is_some_and(|g| g.has_tag(TAG))
    });
    let signatures = if own {
        Vec::new()
    } else {
        signatures(host, &path)?
    };
    Ok(Disk {
        given: given.to_string(),
        path,
        blk,
        signatures,
        pv,
        outside_devices_file: false,
    })
}

/// The PV LVM reports on the device node `path` (a host path, symlinks resolved).
pub fn pv_of(host: &Host, lvm: &Lvm, path: &str) -> Option<Pv> {
    lvm.pvs
        .iter()
        .find(|p| {
            crate::host::fs::resolve(host.root(), &p.pv_name)
                .ok()
                .flatten()
                .as_deref()
                == Some(path)
        })
        .cloned()
}

/// [`inspect`], and when the device carries an LVM label that LVM does not report (the LVM
/// devices file, as Anaconda writes it on EL9, lists only the disks the installer used), a second
/// look with `--devicesfile ""` (every device). Returns the disk and the view to go on with: the
/// wider one when it shows the device's PV (the disk is then added to the devices file before
/// anything uses it, see [`devices_file_action`]).
pub fn inspect_beyond_devices_file(host: &Host, given: &str, lvm: Lvm) -> Result<(Disk, Lvm)> {
    let mut disk = inspect(host, given, &lvm)?;
    if disk.pv.is_some() || !disk.signatures.iter().any(|s| s.kind == "LVM2_member") {
        return Ok((disk, lvm));
    }
    let wide = Lvm::read_all_devices(&host.runner)?;
    match pv_of(host, &wide, &disk.path) {
        Some(pv) => {
            // A VG of that name that LVM does use (on another disk), or several of that name:
            // taking this one in would give the host two VGs of one name.
            let same: Vec<String> = lvm
                .pvs_of(&pv.vg_name)
                .iter()
                .map(|p| p.pv_name.clone())
                .collect();
            let named = wide.vgs.iter().filter(|g| g.vg_name == pv.vg_name).count();
            if !pv.vg_name.is_empty() && (!same.is_empty() || named > 1) {
                return Err(refuse(
                    &disk.describe(),
                    format!(
                        "it is a physical volume of volume group {}, which LVM's devices file hides, \
                         and a volume group of that name is already {}",
                        pv.vg_name,
                        if same.is_empty() {
                            "on another hidden disk".to_string()
                        } else {
                            format!("in use on {}", same.join(", "))
                        }
                    ),
                    "Check --device: this is another disk than the one LVM uses for that volume group.",
                ));
            }
            disk.pv = Some(pv);
            disk.outside_devices_file = true;
            Ok((disk, wide))
        }
        None => Ok((disk, lvm)),
    }
}

/// `lvm lvmdevices --adddev` for a PV of our VG that the devices file does not list, so that LVM
/// uses it now and activates its VG at boot. (Debian ships no `lvmdevices` link; `lvm
/// lvmdevices` is the same command everywhere.)
pub fn devices_file_action(disk: &Disk, vg: &str) -> Option<crate::host::Action> {
    (disk.outside_devices_file && disk.pv.as_ref().is_some_and(|p| p.vg_name == vg)).then(|| {
        crate::host::Action::run(
            "storage.devicesfile-add",
            "add the disk to LVM's devices file, so LVM sees its volume group and activates it at boot",
            Cmd::new("lvm").args(["lvmdevices", "--adddev", disk.path.as_str()]),
        )
    })
}

enum Probe {
    Io(&'static str, std::io::Error),
    Refused(String),
}

/// The kernel's view of a block device node, checked against its sysfs entry.
fn block_device(host: &Host, path: &str) -> std::result::Result<BlockDev, Probe> {
    let real = host
        .path(path)
        .map_err(|_| Probe::Refused(format!("{path} cannot be resolved inside the root")))?;
    let node: DevNum = match block::node_of(&real).map_err(|e| Probe::Io("stat", e))? {
        block::Node::Block(n) => n,
        block::Node::Not(kind) => {
            return Err(Probe::Refused(format!(
                "it is not a block device (it is {kind})"
            )));
        }
    };
    let name = path.rsplit('/').next().unwrap_or_default().to_string();
    let blk = block::probe(host.root(), &name)
        .map_err(|e| Probe::Io("read sysfs for", e))?
        .ok_or_else(|| {
            Probe::Refused(format!(
                "the kernel lists no block device {name} in /sys/class/block, so its use cannot be checked"
            ))
        })?;
    if blk.dev != node {
        return Err(Probe::Refused(format!(
            "its device node is {}:{} but /sys/class/block/{name} is {}:{}: stale /dev entry?",
            node.0, node.1, blk.dev.0, blk.dev.1
        )));
    }
    Ok(blk)
}

/// Every signature on a device (`wipefs --no-act --json`, which only reads).
pub fn signatures(host: &Host, dev: &str) -> Result<Vec<Signature>> {
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

/// The safety verdict: hard reasons can never be overridden; soft ones (signatures) can with --wipe.
#[derive(Debug, Default)]
pub struct Verdict {
    pub hard: Vec<String>,
    pub soft: Vec<String>,
}

/// What the checks look at besides the disk, read once: the mount table, active swap, and the
/// system mount points (the running system's and, under --root, the target's).
pub struct Surroundings {
    pub mounts: Vec<Mount>,
    pub swaps: Vec<String>,
    pub system: Vec<String>,
}

impl Surroundings {
    pub fn read(host: &Host) -> Result<Surroundings> {
        let mounts = block::read_mounts(host.root())
            .map_err(|e| Error::io("storage: cannot read /proc/self/mountinfo", e))?;
        let swaps = block::read_swaps(host.root())
            .map_err(|e| Error::io("storage: cannot read /proc/swaps", e))?;
        let mut system: Vec<String> = ["/", "/boot", "/boot/efi"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for s in ["/", "/boot", "/boot/efi"] {
            system.push(host.tool_path(s)?.trim_end_matches('/').to_string());
        }
        Ok(Surroundings {
            mounts,
            swaps,
            system,
        })
    }
}

/// Every reason to refuse the disk, hard and soft.
pub fn judge(host: &Host, disk: &Disk, around: &Surroundings, vg: &str, lvm: &Lvm) -> Verdict {
    let own_pv = disk.pv.as_ref().is_some_and(|p| p.vg_name == vg);
    let mut v = Verdict::default();
    v.hard.extend(limits(&disk.blk));
    v.hard.extend(system_disk(&disk.blk, around));
    v.hard.extend(mounted(host, &disk.blk, &around.mounts));
    v.hard.extend(swap(host, &disk.blk, &around.swaps));
    v.hard.extend(held(&disk.blk, vg, own_pv));
    v.hard.extend(vg_elsewhere(disk, vg, lvm));
    v.soft.extend(lvm_owner(disk, vg, lvm));
    v.soft.extend(signature_reasons(disk));
    v
}

fn limits(blk: &BlockDev) -> Vec<String> {
    let mut r = Vec::new();
    if blk.read_only {
        r.push("it is read-only".into());
    }
    if blk.size_bytes < MIN_BYTES {
        r.push(format!(
            "it is smaller than 1 GiB ({})",
            human(blk.size_bytes)
        ));
    }
    r
}

/// It holds / or /boot, directly or through a holder (LVM).
fn system_disk(blk: &BlockDev, around: &Surroundings) -> Vec<String> {
    let all = blk.all_devnums();
    around
        .mounts
        .iter()
        .filter(|m| around.system.contains(&m.mount_point) && all.contains(&m.dev))
        .map(|m| {
            let what = if m.mount_point.ends_with("/boot") || m.mount_point.ends_with("/boot/efi") {
                "boot"
            } else {
                "root"
            };
            format!("it holds the {what} filesystem ({})", m.mount_point)
        })
        .collect()
}

/// The disk or a partition of it is mounted: by device number, and by source name for file
/// systems (btrfs) whose mountinfo number is anonymous.
fn mounted(host: &Host, blk: &BlockDev, mounts: &[Mount]) -> Vec<String> {
    let own: Vec<(DevNum, String)> = own_parts(blk);
    let by_source = |m: &Mount| {
        m.source.strip_prefix("/dev/")?;
        let src = crate::host::fs::resolve(host.root(), &m.source)
            .ok()
            .flatten()?;
        let name = src.rsplit('/').next()?.to_string();
        own.iter().find(|(_, n)| *n == name).cloned()
    };
    mounts
        .iter()
        .filter_map(|m| {
            own.iter()
                .find(|(d, _)| *d == m.dev)
                .cloned()
                .or_else(|| by_source(m))
                .map(|(_, n)| format!("{n} is mounted at {}", m.mount_point))
        })
        .collect()
}

fn own_parts(blk: &BlockDev) -> Vec<(DevNum, String)> {
    std::iter::once((blk.dev, blk.name.clone()))
        .chain(blk.partitions.iter().map(|p| (p.dev, p.name.clone())))
        .collect()
}

fn swap(host: &Host, blk: &BlockDev, swaps: &[String]) -> Vec<String> {
    let mut names: Vec<String> = own_parts(blk).into_iter().map(|(_, n)| n).collect();
    names.extend(blk.all_holders().iter().map(|h| h.name.clone()));
    swaps
        .iter()
        .filter(|s| {
            let resolved = crate::host::fs::resolve(host.root(), s)
                .ok()
                .flatten()
                .unwrap_or_else(|| s.to_string());
            let n = resolved.rsplit('/').next().unwrap_or_default();
            names.iter().any(|x| x == n)
        })
        .map(|s| format!("it is in use as swap ({s})"))
        .collect()
}

/// Holders (device-mapper, md) other than this VG's own volumes.
fn held(blk: &BlockDev, vg: &str, own_pv: bool) -> Vec<String> {
    let prefix = lvm::dm_name(vg, "");
    blk.all_holders()
        .into_iter()
        .filter(|h| !(own_pv && h.dm_name.as_deref().is_some_and(|d| d.starts_with(&prefix))))
        .map(|h| {
            let what = match &h.dm_name {
                Some(d) => format!("device-mapper {d}"),
                None if h.name.starts_with("md") => "a RAID array".to_string(),
                None => "another device".to_string(),
            };
            format!("it is held by {} ({what})", h.name)
        })
        .collect()
}

fn vg_elsewhere(disk: &Disk, vg: &str, lvm: &Lvm) -> Option<String> {
    let g = lvm.vg(vg)?;
    if disk.pv.as_ref().is_some_and(|p| p.vg_name == vg) {
        return None;
    }
    let on: Vec<String> = lvm
        .pvs_of(&g.vg_name)
        .iter()
        .map(|p| p.pv_name.clone())
        .collect();
    Some(format!(
        "volume group '{vg}' already exists on {}; a second one cannot be made (use that disk, or another --profile volume_group)",
        on.join(", ")
    ))
}

/// What swarmnode may finish must carry its tag: it makes the PV and the VG in one command
/// (`vgcreate --addtag`), so a PV without a VG, or an untagged VG with nothing in it, is not a
/// half-made state of its own.
fn lvm_owner(disk: &Disk, vg: &str, lvm: &Lvm) -> Option<String> {
    let p = disk.pv.as_ref()?;
    if p.vg_name == vg {
        let tagged = lvm.vg(vg).is_some_and(|g| g.has_tag(TAG));
        let has_lvs = lvm.lvs.iter().any(|l| l.vg_name == vg);
        return (!tagged && !has_lvs).then(|| {
            format!(
                "it is the PV of an empty volume group '{vg}' that swarmnode did not make (no \
                 '{TAG}' tag)"
            )
        });
    }
    Some(if p.vg_name.is_empty() {
        "it is an LVM physical volume without a volume group, which swarmnode does not make \
         (it creates the PV and its VG in one command)"
            .into()
    } else {
        format!(
            "it is an LVM physical volume of volume group '{}'",
            p.vg_name
        )
    })
}

fn signature_reasons(disk: &Disk) -> Vec<String> {
    disk.signatures
        .iter()
        .filter(|s| !(s.kind == "LVM2_member" && disk.pv.is_some()))
        .map(|s| {
            let what = match s.kind.as_str() {
                "gpt" | "dos" | "PMBR" => "a partition table",
                "LVM2_member" => "an LVM label that LVM does not report (filtered or stale)",
                k if k.ends_with("_raid_member") || k == "linux_raid_member" => {
                    "a RAID member signature"
                }
                "swap" => "a swap signature",
                _ => "a filesystem or other signature",
            };
            format!("it carries {what}: {s}")
        })
        .collect()
}
