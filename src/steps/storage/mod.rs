//! The storage step: the Docker data disk on LVM.
//!
//! devicemapper: VG (with its PV, tagged) → thin pool `VG/thinpool` (data, metadata as %VG, chunk,
//! zeroing off) → LVM profile `docker-thinpool` (autoextend) attached → pool active and monitored.
//! overlay2: VG → `VG/dockerdata` → XFS (ftype=1) → fstab entry with pquota → mounted at
//! /var/lib/docker.
//!
//! - [`disk`]: the device and its surroundings read once, then judged (refused with every reason
//!   when doubtful; nothing touched);
//! - [`thinpool`] and [`overlay2`]: the two layouts on a disk that passed.
//!
//! A device that already carries this VG, tagged, is not refused: it is completed.

pub mod disk;
pub mod installation;
pub mod overlay2;
pub mod thinpool;
pub mod volumes;

use crate::error::{Refusal, Result};
use crate::host::cmd::Cmd;
use crate::host::docker::EngineVersion;
use crate::host::lvm::Lvm;
use crate::host::{Action, Host};
use crate::profile::{Driver, Storage};

use crate::steps::plan::StepPlan;

pub use thinpool::lvm_profile_text;
pub use volumes::{
    DATA_LV, DOCKER_ROOT, LVM_PROFILE, LVM_PROFILE_PATH, MACHINE_TAG, META_LV, POOL_LV, TAG, Tags,
    human,
};

/// devicemapper was removed in Docker Engine 25.0.
const DEVICEMAPPER_REMOVED_IN: u32 = 25;

/// The two layouts; `auto` is decided before anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    ThinPool,
    Xfs,
}

impl From<Layout> for Driver {
    fn from(l: Layout) -> Driver {
        match l {
            Layout::ThinPool => Driver::Devicemapper,
            Layout::Xfs => Driver::Overlay2,
        }
    }
}

/// Picks the layout; refuses devicemapper on an engine that no longer has it.
pub fn choose_driver(wanted: Driver, engine: Option<&EngineVersion>) -> Result<(Layout, String)> {
    match (wanted, engine) {
        (Driver::Auto, None) => Err(Refusal::new(
            "storage",
            "--driver auto",
            "it reads the installed engine's version, but no docker engine is installed (dockerd not found on PATH)",
        )
        .remedy("install docker first, or choose with --driver devicemapper|overlay2")
        .into()),
        (Driver::Auto, Some(e)) if e.major < DEVICEMAPPER_REMOVED_IN => Ok((
            Layout::ThinPool,
            format!("driver devicemapper (auto): dockerd {} < {DEVICEMAPPER_REMOVED_IN} still has devicemapper", e.version),
        )),
        (Driver::Auto, Some(e)) => Ok((
            Layout::Xfs,
            format!(
                "driver overlay2 (auto): dockerd {} >= {DEVICEMAPPER_REMOVED_IN}, where devicemapper was removed",
                e.version
            ),
        )),
        (Driver::Devicemapper, Some(e)) if e.major >= DEVICEMAPPER_REMOVED_IN => Err(Refusal::new(
            "storage",
            "--driver devicemapper",
            format!(
                "the installed engine is Docker {}, and the devicemapper storage driver was removed in \
                 Docker Engine {DEVICEMAPPER_REMOVED_IN}.0 (docker would not start)",
                e.version
            ),
        )
        .remedy("use --driver overlay2 (or auto)")
        .into()),
        (d, Some(e)) => Ok((layout(d), format!("driver {d} (asked for; dockerd {})", e.version))),
        (Driver::Overlay2, None) => Ok((Layout::Xfs, "driver overlay2 (asked for)".into())),
        (d, None) => Ok((layout(d), format!("driver {d} (asked for; no engine installed yet)"))),
    }
}

fn layout(d: Driver) -> Layout {
    match d {
        Driver::Overlay2 => Layout::Xfs,
        _ => Layout::ThinPool,
    }
}

/// What the storage step records (the record's format is the state's).
pub use crate::host::state::StorageRecord;

/// What the storage step is asked to do, with the installed engine's version (read once per run
/// by the caller: `dockerd --version` is slow on small machines).
pub struct Request<'a> {
    pub storage: &'a Storage,
    pub wipe: bool,
    /// overlay2: copy what /var/lib/docker holds into the new volume instead of refusing.
    pub move_data: bool,
    /// A previous installation's own volumes may be removed and made again.
    pub reprovision: bool,
    /// The installed engine, read only when the driver depends on it.
    pub engine: crate::steps::EngineLookup<'a>,
}

/// Observes the host and plans the storage step; also returns what it would record for the
/// engine step.
pub fn plan(host: &Host, req: &Request) -> Result<(StepPlan, StorageRecord)> {
    let s = req.storage;
    let mut p = StepPlan::new("storage");
    let given = s.device.clone().ok_or_else(|| {
        Refusal::new("storage", "the storage step", "no device was given")
            .remedy("pass --device /dev/disk/by-id/... or set storage.device in the profile")
    })?;
    let wanted = kept_driver(host, s.driver, &mut p)?;
    // The engine decides `auto`, and refuses devicemapper from 25; overlay2 needs no version.
    let engine = match wanted {
        Driver::Overlay2 => None,
        _ => (req.engine)()?,
    };
    let (layout, why) = choose_driver(wanted, engine.as_ref())?;
    p.facts.push(why);
    let tags = Tags::read(host)?;
    if tags.machine.is_none() {
        p.warnings.push(
            "this system has no machine-id yet (/etc/machine-id): the volumes are tagged as \
             swarmnode's but not as this installation's; the next run with a machine-id adds it"
                .into(),
        );
    }
    let lvm = Lvm::read(&host.runner)?;
    let around = disk::Surroundings::read(host)?;
    let (disk, lvm) = disk::inspect_beyond_devices_file(host, &given, lvm)?;
    one_of_its_name(&lvm, &s.volume_group)?;
    let (ours, device_bytes) = add_device(host, req, &disk, &lvm, &around, &tags, &mut p)?;
    let mut lvm = if ours { lvm } else { Lvm::default() };
    if ours {
        lvm = add_installation(host, req, layout, &disk, lvm, &around, &tags, &mut p)?;
    }
    match layout {
        Layout::ThinPool => thinpool::add(host, s, &lvm, device_bytes, &tags, &mut p)?,
        Layout::Xfs => overlay2::add(host, s, req.move_data, &lvm, &around, &tags, &mut p)?,
    }
    let vg = s.volume_group.as_str();
    let rec = StorageRecord {
        driver: layout.into(),
        device: given,
        volume_group: vg.to_string(),
        volume: crate::vocab::volume_of(layout.into(), vg).expect("a layout's driver"),
    };
    let text = rec.text();
    crate::steps::plan::add_write(
        host,
        &mut p,
        "storage.record",
        "record the driver for the engine step",
        crate::host::state::STORAGE.path,
        0o644,
        text,
    )?;
    if p.actions.is_empty() {
        p.facts.push("converged: nothing to do".into());
    }
    Ok((p, rec))
}

/// The driver asked for, given what the node runs: a node moved to overlay2 (migrate-storage)
/// stays there: `auto` keeps it, and devicemapper named in the profile is refused with the way
/// out.
fn kept_driver(host: &Host, asked: Driver, p: &mut StepPlan) -> Result<Driver> {
    let recorded = StorageRecord::read(host)?.map(|r| r.driver);
    Ok(match (asked, recorded) {
        (Driver::Auto, Some(Driver::Overlay2)) => {
            p.facts.push(
                "driver overlay2 (auto): the node runs overlay2 (the storage record), and stays on it"
                    .into(),
            );
            Driver::Overlay2
        }
        (Driver::Devicemapper, Some(Driver::Overlay2)) => {
            return Err(Refusal::new(
                "storage",
                "storage.driver devicemapper",
                "the node runs overlay2 (the storage record: it was provisioned or migrated so), \
                 and going back to devicemapper would drop its swarm state and volumes",
            )
            .remedy("set storage.driver to auto or overlay2 in the profile (or drop --driver)")
            .into());
        }
        (d, _) => d,
    })
}

/// Two VGs of one name (a disk moved in from another node): LVM takes no command by that name,
/// and which is this node's is not for swarmnode to guess. Refused before anything.
fn one_of_its_name(lvm: &Lvm, vg: &str) -> Result<()> {
    let named = lvm.vgs_named(vg);
    if named.len() < 2 {
        return Ok(());
    }
    let each: Vec<String> = named
        .iter()
        .map(|g| {
            let pvs: Vec<&str> = lvm.pvs_in(g).iter().map(|p| p.pv_name.as_str()).collect();
            format!("{} on {} (tags: {})", g.vg_uuid, pvs.join(", "), g.vg_tags)
        })
        .collect();
    Err(Refusal::new(
        "storage",
        format!("volume group {vg}"),
        format!(
            "{} volume groups are named {vg}: {}; LVM takes no command by that name",
            named.len(),
            each.join("; ")
        ),
    )
    .remedy(format!(
        "rename the one that is not this node's by its UUID (`vgrename UUID NEWNAME`; `vgs -o \
         vg_name,vg_uuid,pv_name,vg_tags` shows which is which), or detach its disk, then run \
         again; or give this node another storage.volume_group than {vg}"
    ))
    .into())
}

/// Our VG judged: this installation's (tagged as such when it is not yet), or a previous one's
/// (refused, or its volumes made again with the opt-in). Returns LVM's view for the layout.
#[allow(clippy::too_many_arguments)]
fn add_installation(
    host: &Host,
    req: &Request,
    layout: Layout,
    disk: &disk::Disk,
    lvm: Lvm,
    around: &disk::Surroundings,
    tags: &Tags,
    p: &mut StepPlan,
) -> Result<Lvm> {
    let name = req.storage.volume_group.as_str();
    let Some(vg) = lvm.vg(name) else {
        return Ok(lvm);
    };
    installation::whole(vg, &lvm)?;
    let traces = installation::Traces::read(host, name, &disk.given, layout, &around.mounts)?;
    match installation::judge(vg, &lvm, layout, tags, &traces) {
        installation::Judged::This => Ok(lvm),
        installation::Judged::Retag(old) => {
            if let Some(a) = installation::retag(name, &old, tags) {
                p.actions.push(a);
            }
            Ok(lvm)
        }
        installation::Judged::Previous(why) if req.reprovision => {
            installation::add_recreate(vg, &lvm, tags, &why, p)
        }
        installation::Judged::Previous(why) => {
            Err(installation::refuse(vg, &lvm, &disk.describe(), &why))
        }
    }
}

/// The device judged, wiped when asked and allowed, and given its VG; true when it already
/// carries ours (its volumes are then what the layout builds on); and its size.
fn add_device(
    host: &Host,
    req: &Request,
    disk: &disk::Disk,
    lvm: &Lvm,
    around: &disk::Surroundings,
    tags: &Tags,
    p: &mut StepPlan,
) -> Result<(bool, u64)> {
    let vg = req.storage.volume_group.as_str();
    let shown = disk.describe();
    p.facts.push(format!("device {shown}"));
    if let Some(a) = disk::devices_file_action(disk, vg) {
        p.facts.push(format!("{} is a physical volume of {vg} that LVM's devices file does not list: LVM ignores it until it is added", disk.path));
        p.actions.push(a);
    }
    let verdict = disk::judge(host, disk, around, vg, lvm);
    if !verdict.hard.is_empty() {
        let mut all = verdict.hard;
        all.extend(verdict.soft);
        return Err(Refusal::all("storage", &shown, all)
            .remedy("--wipe cannot override these: free the device first, or pick another one.")
            .into());
    }
    let dev = disk.path.as_str();
    let mut blank = disk.pv.is_none();
    if !verdict.soft.is_empty() {
        if !req.wipe {
            return Err(Refusal::all("storage", &shown, verdict.soft)
                .remedy("If this is the right disk and everything on it may be destroyed, run again with --wipe.")
                .into());
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
    if blank {
        p.actions.push(Action::run(
            "storage.vgcreate",
            format!("volume group {vg} on {dev} (the PV is made with it), tagged '{TAG}'"),
            Cmd::new("vgcreate").args(tags.args()).args([vg, dev]),
        ));
        return Ok((false, disk.blk.size_bytes));
    }
    p.facts.push(format!(
        "{dev} is already a physical volume of volume group {vg}"
    ));
    Ok((
        disk.pv.as_ref().is_some_and(|pv| pv.vg_name == vg),
        disk.blk.size_bytes,
    ))
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
            Layout::ThinPool
        );
        assert_eq!(
            choose_driver(Driver::Auto, Some(&new)).unwrap().0,
            Layout::Xfs
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
            Layout::Xfs
        );
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(4 << 30), "4.0 GiB");
        assert_eq!(human(512), "512 B");
    }
}
