//! The reset's storage phase (not with `--keep-storage`): the XFS volume unmounted and its fstab
//! entry removed, swarmnode's tagged volumes removed, the VG and its PVs removed only when
//! swarmnode made the VG and nothing foreign is left in it, the disk out of LVM's devices file,
//! the LVM profile and the storage record removed. A VG with a missing PV is refused with what
//! to do.

use crate::error::{Refusal, Result};
use crate::host::cmd::Cmd;
use crate::host::fs::{BAK, ORIG, resolve};
use crate::host::lvm::{self, Lvm};
use crate::host::{Action, Host, block};
use crate::steps::Run;
use crate::steps::plan::StepPlan;
use crate::steps::storage::Recorded;
use crate::steps::storage::disk::pv_of;
use crate::steps::storage::overlay2::fstab_without_entry;
use crate::steps::storage::volumes::{DOCKER_ROOT, DataVolume, LVM_PROFILE_PATH, STATE_PATH, TAG};

use super::{Records, plan_restore};

/// The files that belong to the storage phase (kept with `--keep-storage`).
pub const FILES: [&str; 3] = [LVM_PROFILE_PATH, "/etc/fstab", STATE_PATH];

/// LVM's devices file (EL9: Anaconda writes it).
const DEVICES_FILE: &str = "/etc/lvm/devices/system.devices";

pub fn kept_files(run: &Run) -> Vec<&'static str> {
    if run.keep_storage {
        FILES.to_vec()
    } else {
        Vec::new()
    }
}

pub fn plan(h: &Host, _run: &Run) -> Result<StepPlan> {
    let mut p = StepPlan::new("storage");
    let rec_files = Records::read(h)?;
    let Some(rec) = Recorded::read(h)? else {
        plan_restore(h, &rec_files, LVM_PROFILE_PATH, &mut p)?;
        p.facts.push(format!(
            "no storage recorded ({STATE_PATH}): no volumes to remove"
        ));
        return Ok(p);
    };
    let vg = rec.volume_group.as_str();
    plan_unmount(h, vg, &rec_files, &mut p)?;
    let lvm = Lvm::read(&h.runner)?;
    let device = resolve(h.root(), &rec.device).ok().flatten();
    let listed = listed_devices(h)?;
    match lvm.vg(vg) {
        Some(_) => plan_volumes(h, &lvm, vg, &listed, &mut p)?,
        None => {
            p.facts.push(format!("volume group {vg} is not there"));
            // A reset stopped between vgremove and pvremove: the PV is left, in no VG (and maybe
            // already out of the devices file, so LVM's view of every device is needed).
            let wide = if listed.is_empty() {
                lvm.clone()
            } else {
                Lvm::read_all_devices(&h.runner)?
            };
            if let Some(pv) = device.as_deref().and_then(|d| pv_of(h, &wide, d))
                && pv.vg_name.is_empty()
            {
                plan_pvremove(h, &pv.pv_name, &listed, &mut p);
            }
            if let Some(d) = device.as_deref()
                && pv_of(h, &wide, d).is_none()
                && listed.iter().any(|l| l == d)
            {
                p.actions.push(deldev(d));
            }
        }
    }
    plan_restore(h, &rec_files, LVM_PROFILE_PATH, &mut p)?;
    p.actions.push(Action::remove(
        "reset.storage-record",
        "the volumes are gone",
        STATE_PATH,
    ));
    Ok(p)
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

/// pvremove of a PV; one the devices file lists is taken out of it first (pvremove alone leaves
/// its entry, without a PVID) and then removed with LVM looking at every device.
fn plan_pvremove(h: &Host, pv: &str, listed: &[String], p: &mut StepPlan) {
    let dev = resolve(h.root(), pv)
        .ok()
        .flatten()
        .unwrap_or_else(|| pv.to_string());
    let mut cmd = Cmd::new("pvremove");
    if listed.contains(&dev) {
        p.actions.push(deldev(&dev));
        cmd = cmd.args(["--devicesfile", ""]);
    }
    p.actions.push(Action::run(
        "reset.pvremove",
        "the disk's LVM label, so it is as blank as before",
        cmd.args(["-y", pv]),
    ));
}

/// overlay2: /var/lib/docker unmounted when our volume is mounted there; its fstab line removed.
fn plan_unmount(h: &Host, vg: &str, rec: &Records, p: &mut StepPlan) -> Result<()> {
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
    let Some(fstab) = h.read_text("/etc/fstab")? else {
        return Ok(());
    };
    let kept = fstab_without_entry(&fstab, &v);
    if kept == fstab {
        // A reset stopped after the write: only swarmnode's copies are left.
        for copy in [ORIG, BAK] {
            let c = format!("/etc/fstab{copy}");
            if h.exists(&c)? {
                p.actions
                    .push(Action::remove("reset.remove", "swarmnode's copy", &c));
            }
        }
        return Ok(());
    }
    if rec.created("/etc/fstab") && kept.trim().is_empty() {
        p.actions.push(Action::remove(
            "reset.fstab",
            "swarmnode created it for its entry",
            "/etc/fstab",
        ));
    } else {
        p.actions.push(Action::write(
            "reset.fstab",
            format!("remove the entry for {DOCKER_ROOT}"),
            "/etc/fstab",
            0o644,
            kept,
            Some(fstab),
        ));
    }
    for copy in [ORIG, BAK] {
        p.actions.push(Action::remove(
            "reset.remove",
            "swarmnode's copy",
            &format!("/etc/fstab{copy}"),
        ));
    }
    Ok(())
}

/// swarmnode's tagged volumes removed; the VG and PVs too when swarmnode made the VG and
/// nothing foreign is in it.
fn plan_volumes(
    h: &Host,
    lvm: &Lvm,
    vg_name: &str,
    listed: &[String],
    p: &mut StepPlan,
) -> Result<()> {
    let vg = lvm.vg(vg_name).expect("checked");
    let pvs = lvm.pvs_of(vg_name);
    let missing =
        pvs.iter().any(|pv| pv.pv_name.contains("unknown")) || (pvs.len() as u64) < vg.pv_count;
    if missing {
        return Err(Refusal::new(
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
        .into());
    }
    let lvs = lvm.visible_lvs(vg_name);
    let (ours, foreign): (Vec<&lvm::Lv>, Vec<&lvm::Lv>) =
        lvs.into_iter().partition(|l| l.has_tag(TAG));
    // A snapshot or thin volume may hang on one of ours: lvremove would take it along.
    let dependent: Vec<&str> = foreign
        .iter()
        .filter(|l| {
            matches!(l.lv_attr.chars().next(), Some('s' | 'S' | 'V'))
                || matches!(l.segtype.as_str(), "thin" | "snapshot")
        })
        .map(|l| l.lv_name.as_str())
        .collect();
    if !ours.is_empty() && !dependent.is_empty() {
        return Err(Refusal::new(
            "reset",
            format!("volume group {vg_name}"),
            format!(
                "it holds {} (a snapshot or thin volume swarmnode did not make), which may depend \
                 on swarmnode's volumes: removing them would take it along",
                dependent.join(", ")
            ),
        )
        .remedy("move or remove it first; or --keep-storage")
        .into());
    }
    for lv in &ours {
        p.actions.push(Action::run(
            "reset.lvremove",
            "swarmnode made it (tagged swarmnode); its data is lost",
            Cmd::new("lvremove").args(["-y", &format!("{vg_name}/{}", lv.lv_name)]),
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
    if !vg.has_tag(TAG) {
        p.facts.push(format!(
            "volume group {vg_name} was not made by swarmnode (no swarmnode tag): it stays"
        ));
        return Ok(());
    }
    p.actions.push(Action::run(
        "reset.vgremove",
        "swarmnode made it and nothing else is in it",
        Cmd::new("vgremove").args(["-y", vg_name]),
    ));
    for pv in pvs {
        plan_pvremove(h, &pv.pv_name, listed, p);
    }
    Ok(())
}

/// Where docker's data root goes when its pool goes (`/var/lib/docker.swarmnode-reset`, then `.1`,
/// `.2`, ... when that is taken).
pub const RESET_ASIDE: &str = ".swarmnode-reset";

/// devicemapper: docker's data root on the system disk describes the pool being removed (its
/// metadata, the images and containers whose layers were in it); docker refuses a new pool with
/// it. It is moved aside whole (its named volumes with it), never deleted: the administrator
/// deletes it, or takes what they need from it.
pub fn plan_data_root_aside(h: &Host, p: &mut StepPlan) -> Result<()> {
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
