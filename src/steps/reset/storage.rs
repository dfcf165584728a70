//! The reset's storage phase (not with `--keep-storage`): the XFS volume unmounted and its fstab
//! entry removed, swarmnode's tagged volumes removed, the VG and its PVs removed only when
//! swarmnode made the VG and nothing foreign is left in it, the disk out of LVM's devices file,
//! the LVM profile and the storage record removed. A VG with a missing PV is refused with what
//! to do.

use crate::error::{Refusal, Result};
use crate::host::cmd::Cmd;
use crate::host::fs::{BAK, ORIG, resolve};
use crate::host::fstab;
use crate::host::lvm::{self, Lvm, Vg};
use crate::host::state;
use crate::host::state::StorageRecord;
use crate::host::{Action, Host, block};
use crate::steps::Run;
use crate::steps::plan::StepPlan;
use crate::steps::storage::disk::pv_of;
use crate::steps::storage::overlay2::fstab_without_entry;
use crate::steps::storage::volumes::{
    DOCKER_ROOT, DataVolume, LVM_PROFILE_PATH, MACHINE_TAG, TAG, Tags,
};

use super::{Records, add_restore};

/// The files that belong to the storage phase (kept with `--keep-storage`): the LVM profile,
/// fstab, and the records reset removes with the volumes.
pub fn files() -> Vec<&'static str> {
    let records = state::ALL
        .iter()
        .filter(|r| r.reset == state::Reset::Storage);
    [LVM_PROFILE_PATH, fstab::PATH]
        .into_iter()
        .chain(records.map(|r| r.path))
        .collect()
}

/// LVM's devices file (EL9: Anaconda writes it).
const DEVICES_FILE: &str = "/etc/lvm/devices/system.devices";

pub fn kept_files(run: &Run) -> Vec<&'static str> {
    if run.opts.keep_storage {
        files()
    } else {
        Vec::new()
    }
}

pub fn plan(h: &Host, _run: &Run) -> Result<StepPlan> {
    let mut p = StepPlan::new("storage");
    let rec_files = Records::read(h)?;
    let Some(rec) = StorageRecord::read(h)? else {
        add_restore(h, &rec_files, LVM_PROFILE_PATH, &mut p)?;
        p.facts.push(format!(
            "no storage recorded ({}): no volumes to remove",
            state::STORAGE.path
        ));
        return Ok(p);
    };
    let vg = rec.volume_group.as_str();
    let listed = listed_devices(h)?;
    // LVM's view of every device: the recorded disk may be out of the devices file already (a
    // reset stopped after taking it out), and another disk's VG of the same name must be seen
    // to be kept.
    let lvm = if listed.is_empty() {
        Lvm::read(&h.runner)?
    } else {
        Lvm::read_all_devices(&h.runner)?
    };
    let device = resolve(h.root(), &rec.device).ok().flatten();
    let owner = owner(h, &lvm, &rec, device.as_deref(), &Tags::read(h)?)?;
    for (other, why) in &owner.others {
        p.warnings.push(format!(
            "volume group {vg} on {}: not this node's ({why}): kept",
            pv_names(&lvm, other)
        ));
    }
    match owner.ours {
        Some(g) => {
            lvm_has_devices(h)?;
            add_unmount(h, vg, &mut p)?;
            add_fstab(h, vg, &rec_files, &mut p)?;
            add_volumes(h, &lvm, g, &listed, &mut p)?;
        }
        None => {
            add_fstab(h, vg, &rec_files, &mut p)?;
            if owner.others.is_empty() {
                p.facts.push(format!(
                    "volume group {vg} is not on the recorded device {}",
                    rec.device
                ));
            }
            if let Some(d) = device.as_deref() {
                add_leftover_pv(h, &lvm, d, &listed, &mut p)?;
            }
        }
    }
    add_restore(h, &rec_files, LVM_PROFILE_PATH, &mut p)?;
    add_records_removed(&mut p);
    Ok(p)
}

/// The records of the storage: removed last, once the volumes are gone (or were never this
/// node's).
fn add_records_removed(p: &mut StepPlan) {
    let records = state::ALL
        .iter()
        .filter(|r| r.reset == state::Reset::Storage);
    for r in records {
        p.actions.push(r.remove(
            "reset.storage-record",
            "the volumes are gone, or were never this node's",
        ));
    }
}

/// A reset stopped between vgremove and pvremove: the recorded disk's PV is left, in no VG (or
/// the disk is still in the devices file).
fn add_leftover_pv(
    h: &Host,
    lvm: &Lvm,
    d: &str,
    listed: &[String],
    p: &mut StepPlan,
) -> Result<()> {
    match pv_of(h, lvm, d) {
        Some(pv) if pv.vg_name.is_empty() => {
            lvm_has_devices(h)?;
            add_pvremove(&pv.pv_name, d, listed, p)
        }
        None if listed.iter().any(|l| l == d) => p.actions.push(deldev(d)),
        _ => {}
    }
    Ok(())
}

/// Whose the recorded volume group is, judged as `apply` judges an installation: this node's
/// only when LVM shows it on the recorded device and its tags prove it (this machine's tag; on a
/// system without a machine-id, swarmnode's tag, no machine's tag, and no other disk than the
/// recorded one). Every other VG of that name is kept, with why; but one that carries this
/// machine's tag on another disk (the disks' names moved) is refused: reset cannot tell.
pub struct Owner<'a> {
    pub ours: Option<&'a Vg>,
    pub others: Vec<(&'a Vg, String)>,
}

pub fn owner<'a>(
    h: &Host,
    lvm: &'a Lvm,
    rec: &StorageRecord,
    device: Option<&str>,
    tags: &Tags,
) -> Result<Owner<'a>> {
    let on_device = device.and_then(|d| pv_of(h, lvm, d));
    let mut out = Owner {
        ours: None,
        others: Vec::new(),
    };
    for g in lvm.vgs_named(&rec.volume_group) {
        let pvs = lvm.pvs_in(g);
        let here = on_device.as_ref().is_some_and(|p| p.vg_uuid == g.vg_uuid);
        let made_by = g
            .vg_tags
            .split(',')
            .find_map(|t| t.strip_prefix(MACHINE_TAG))
            .map(str::to_string);
        let mine = tags.machine.as_deref().is_some_and(|m| g.has_tag(m));
        if mine && !here {
            return Err(misplaced(lvm, g, rec));
        }
        let why = if !here {
            Some(format!("it is not on the recorded device {}", rec.device))
        } else if !g.has_tag(TAG) {
            Some(format!("it has no '{TAG}' tag: swarmnode did not make it"))
        } else if mine {
            None
        } else {
            match (tags.machine.as_deref(), made_by) {
                (_, Some(other)) => Some(format!(
                    "it was made by the installation with machine-id {other}"
                )),
                (Some(_), None) => Some("it does not carry this machine's tag".to_string()),
                (None, None) if pvs.len() == 1 => None,
                (None, None) => Some(
                    "this system has no machine-id, and the group is on other disks than the \
                     recorded one too"
                        .to_string(),
                ),
            }
        };
        match why {
            None => out.ours = Some(g),
            Some(w) => out.others.push((g, w)),
        }
    }
    Ok(out)
}

/// A VG with this machine's tag that is not on the recorded device: the disks' names may have
/// moved (the record names /dev/sdb, the disk is sdc now), or a clone shares the machine-id.
fn misplaced(lvm: &Lvm, g: &Vg, rec: &StorageRecord) -> crate::error::Error {
    let on = pv_names(lvm, g);
    Refusal::new(
        "reset",
        format!("volume group {}", g.vg_name),
        format!(
            "it carries this machine's tag but is on {on}, not on the recorded device {} \
             (the disks' names moved?): reset cannot tell which disk is this node's",
            rec.device
        ),
    )
    .remedy(format!(
        "if {on} is this node's data disk, run `swarmnode apply --device DISK` with its \
         /dev/disk/by-id name (that records it), then reset again; or reset --keep-storage"
    ))
    .into()
}

/// The disks a VG is on, as LVM names them.
fn pv_names(lvm: &Lvm, vg: &Vg) -> String {
    let names: Vec<&str> = lvm.pvs_in(vg).iter().map(|p| p.pv_name.as_str()).collect();
    if names.is_empty() {
        "no disk LVM sees".to_string()
    } else {
        names.join(", ")
    }
}

/// Will the storage phase remove this node's volumes? (Its record names a VG that is this
/// node's.) The engine phase moves docker's data root of a pool that goes.
pub fn ours_to_remove(h: &Host) -> Result<bool> {
    let Some(rec) = StorageRecord::read(h)? else {
        return Ok(false);
    };
    let lvm = if listed_devices(h)?.is_empty() {
        Lvm::read(&h.runner)?
    } else {
        Lvm::read_all_devices(&h.runner)?
    };
    let device = resolve(h.root(), &rec.device).ok().flatten();
    Ok(owner(h, &lvm, &rec, device.as_deref(), &Tags::read(h)?)?
        .ours
        .is_some())
}

/// The devices LVM's devices file lists (`DEVNAME=`), when it has one.
fn listed_devices(h: &Host) -> Result<Vec<String>> {
    Ok(h.read_text(DEVICES_FILE)?
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.split_whitespace())
        .filter_map(|w| w.strip_prefix("DEVNAME=").map(str::to_string))
        .collect())
}

fn deldev(dev: &str) -> Action {
    Action::run(
        "reset.devicesfile-del",
        "out of LVM's devices file, as before",
        Cmd::new("lvm").args(["lvmdevices", "--deldev", dev]),
    )
}

/// The lvm2 that has `--devices`: reset's removals need it.
const DEVICES_SINCE: (u32, u32, u32) = (2, 3, 12);

/// Reset removes volumes with `--devices` only: an lvm2 without it is refused before anything
/// changes (never a reset that stops halfway, after the node left its swarm).
fn lvm_has_devices(h: &Host) -> Result<()> {
    let v = lvm::version(&h.runner)?;
    if v.is_some_and(|v| v >= DEVICES_SINCE) {
        return Ok(());
    }
    let (a, b, c) = DEVICES_SINCE;
    Err(Refusal::new(
        "reset",
        "this system's lvm2",
        format!(
            "reset removes this node's volumes with `--devices` (LVM then sees its disks only), \
             which lvm2 has from {a}.{b:02}.{c} (EL 8.5, EL9); this system's is {}",
            v.map_or("unknown (`lvm version` did not say)".to_string(), |(a, b, c)| format!(
                "{a}.{b:02}.{c}"
            ))
        ),
    )
    .remedy("update lvm2 (dnf update lvm2), then run reset again; or run it with --keep-storage and remove the volumes yourself")
    .into())
}

/// `--devices DEV,...`: LVM sees only these disks (and not its devices file) for the command,
/// so a VG of the same name on another disk is never touched. (lvm2 2.03.12 and later: EL 8.5,
/// EL9, Debian bookworm.)
fn only_on(cmd: Cmd, devices: &[&str]) -> Cmd {
    cmd.args(["--devices", &devices.join(",")])
}

/// pvremove of the PV on `dev` (its name `pv`, as LVM shows it), LVM looking at that disk only;
/// one the devices file lists is taken out of it first (pvremove alone leaves its entry, without
/// a PVID).
fn add_pvremove(pv: &str, dev: &str, listed: &[String], p: &mut StepPlan) {
    if listed.iter().any(|l| l == dev) {
        p.actions.push(deldev(dev));
    }
    p.actions.push(Action::run(
        "reset.pvremove",
        "the disk's LVM label, so it is as blank as before",
        only_on(Cmd::new("pvremove").arg("-y"), &[pv]).arg(pv),
    ));
}

/// overlay2: /var/lib/docker unmounted when this node's volume is mounted there.
fn add_unmount(h: &Host, vg: &str, p: &mut StepPlan) -> Result<()> {
    let v = DataVolume::of(vg);
    let target = h.tool_path(DOCKER_ROOT)?;
    let mounts = block::read_mounts(h.root())
        .map_err(|e| crate::error::Error::io("reset: cannot read /proc/self/mountinfo", e))?;
    if mounts
        .iter()
        .any(|m| m.mount_point == target && v.is(&m.source))
    {
        p.actions.push(Action::run(
            "reset.umount",
            "the data volume goes",
            Cmd::new("umount").arg(&target),
        ));
    }
    Ok(())
}

/// overlay2: swarmnode's fstab line for the data volume removed (and its copies of fstab).
fn add_fstab(h: &Host, vg: &str, rec: &Records, p: &mut StepPlan) -> Result<()> {
    let v = DataVolume::of(vg);
    let Some(table) = h.read_text(fstab::PATH)? else {
        return Ok(());
    };
    let kept = fstab_without_entry(&table, &v);
    if kept == table {
        // A reset stopped after the write: only swarmnode's copies are left.
        for copy in [ORIG, BAK] {
            let c = format!("{}{copy}", fstab::PATH);
            if h.exists(&c)? {
                p.actions
                    .push(Action::remove("reset.remove", "swarmnode's copy", &c));
            }
        }
        return Ok(());
    }
    if rec.created(fstab::PATH) && kept.trim().is_empty() {
        p.actions.push(Action::remove(
            "reset.fstab",
            "swarmnode created it for its entry",
            fstab::PATH,
        ));
    } else {
        p.actions.push(Action::write(
            "reset.fstab",
            format!("remove the entry for {DOCKER_ROOT}"),
            fstab::PATH,
            0o644,
            kept,
            Some(table),
        ));
    }
    for copy in [ORIG, BAK] {
        p.actions.push(Action::remove(
            "reset.remove",
            "swarmnode's copy",
            &format!("{}{copy}", fstab::PATH),
        ));
    }
    Ok(())
}

/// This node's VG: swarmnode's tagged volumes removed; the VG and its PVs too when nothing
/// foreign is in it. Every LVM command sees only the VG's own disks.
fn add_volumes(h: &Host, lvm: &Lvm, vg: &Vg, listed: &[String], p: &mut StepPlan) -> Result<()> {
    let vg_name = vg.vg_name.as_str();
    let pvs = lvm.pvs_in(vg);
    all_disks_seen(vg, &pvs)?;
    let disks: Vec<&str> = pvs.iter().map(|pv| pv.pv_name.as_str()).collect();
    let lvs = lvm.visible_lvs_in(vg);
    let (ours, foreign): (Vec<&lvm::Lv>, Vec<&lvm::Lv>) =
        lvs.into_iter().partition(|l| l.has_tag(TAG));
    nothing_hangs_on(vg_name, &ours, &foreign)?;
    for lv in &ours {
        p.actions.push(Action::run(
            "reset.lvremove",
            "swarmnode made it (tagged swarmnode); its data is lost",
            only_on(Cmd::new("lvremove").arg("-y"), &disks)
                .arg(format!("{vg_name}/{}", lv.lv_name)),
        ));
    }
    if !foreign.is_empty() {
        let names: Vec<&str> = foreign.iter().map(|l| l.lv_name.as_str()).collect();
        p.warnings.push(format!(
            "volume group {vg_name} keeps {}: not swarmnode's (no swarmnode tag); the group and \
             its disk stay",
            names.join(", ")
        ));
        return Ok(());
    }
    p.actions.push(Action::run(
        "reset.vgremove",
        "swarmnode made it for this node and nothing else is in it",
        only_on(Cmd::new("vgremove").arg("-y"), &disks).arg(vg_name),
    ));
    for pv in pvs {
        let dev = resolve(h.root(), &pv.pv_name)
            .ok()
            .flatten()
            .unwrap_or_else(|| pv.pv_name.clone());
        add_pvremove(&pv.pv_name, &dev, listed, p);
    }
    Ok(())
}

/// Every disk of the VG seen: a VG with a disk missing cannot be removed whole.
fn all_disks_seen(vg: &Vg, pvs: &[&lvm::Pv]) -> Result<()> {
    let vg_name = vg.vg_name.as_str();
    let missing =
        pvs.iter().any(|pv| pv.pv_name.contains("unknown")) || (pvs.len() as u64) < vg.pv_count;
    if !missing {
        return Ok(());
    }
    Err(Refusal::new(
        "reset",
        format!("volume group {vg_name}"),
        format!(
            "it has {} physical volume(s) but LVM sees {} (a disk died or is hidden): its \
             volumes cannot be removed whole",
            vg.pv_count,
            pvs.iter()
                .filter(|pv| !pv.pv_name.contains("unknown"))
                .count()
        ),
    )
    .remedy(format!(
        "if the missing disk is gone for good: `vgreduce --removemissing --force {vg_name}` \
         (it removes the volumes that were on it), then run reset again; or --keep-storage"
    ))
    .into())
}

/// No volume swarmnode did not make may depend on one it did (lvremove would take it along).
fn nothing_hangs_on(vg_name: &str, ours: &[&lvm::Lv], foreign: &[&lvm::Lv]) -> Result<()> {
    // A snapshot or thin volume may hang on one of ours: lvremove would take it along.
    let dependent: Vec<&str> = foreign
        .iter()
        .filter(|l| {
            matches!(l.lv_attr.chars().next(), Some('s' | 'S' | 'V'))
                || matches!(l.segtype.as_str(), "thin" | "snapshot")
        })
        .map(|l| l.lv_name.as_str())
        .collect();
    if ours.is_empty() || dependent.is_empty() {
        return Ok(());
    }
    Err(Refusal::new(
        "reset",
        format!("volume group {vg_name}"),
        format!(
            "it holds {} (a snapshot or thin volume swarmnode did not make), which may depend \
             on swarmnode's volumes: removing them would take it along",
            dependent.join(", ")
        ),
    )
    .remedy("move or remove it first; or --keep-storage")
    .into())
}

/// Where docker's data root goes when its pool goes (`/var/lib/docker.swarmnode-reset`, then `.1`,
/// `.2`, ... when that is taken).
pub const RESET_ASIDE: &str = ".swarmnode-reset";

/// devicemapper: docker's data root on the system disk describes the pool being removed (its
/// metadata, the images and containers whose layers were in it); docker refuses a new pool with
/// it. It is moved aside whole (its named volumes with it), never deleted: the administrator
/// deletes it, or takes what they need from it.
pub fn add_data_root_aside(h: &Host, p: &mut StepPlan) -> Result<()> {
    let root = crate::host::docker::data_root(h)?;
    if !h.path(&format!("{root}/devicemapper"))?.is_dir() {
        return Ok(());
    }
    let mut aside = format!("{root}{RESET_ASIDE}");
    let mut n = 0;
    while h.exists(&aside)? {
        n += 1;
        aside = format!("{root}{RESET_ASIDE}.{n}");
    }
    p.actions.push(Action::rename(
        "reset.data-root-aside",
        "docker's data of the pool being removed (a new pool needs a fresh one); delete it when \
         nothing in it is wanted",
        &root,
        &aside,
    ));
    Ok(())
}
