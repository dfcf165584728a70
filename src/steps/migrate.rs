//! `migrate-storage --to overlay2`: a devicemapper node moved to overlay2 on the same disk,
//! keeping what is not driver data: its swarm identity (`swarm/`), its named volumes
//! (`volumes/`), its networks' local state, plugins and trust. Images and containers are
//! driver data: they are dropped, and swarm starts the node's tasks again from their images.
//!
//! Its phases (commands/migrate.rs), each planned from what is there, so a run killed anywhere
//! goes on from where it stopped:
//!
//! 1. [`plan_start`]: refused (65) when doubtful; `migrate.json` written before anything
//!    changes; the node drained (unless `--no-drain`).
//! 2. [`plan_switch`]: docker stopped; the driver data moved aside in one rename each (the
//!    carried state never moves here); the thin pool removed with this node's disks only.
//! 3. the storage step for overlay2 (`--move-docker-data`): the XFS volume made in the same VG,
//!    the carried state copied into it (it is then in two places), mounted at /var/lib/docker.
//! 4. the engine step: daemon.json switched to overlay2, the `dm.*` options gone.
//! 5. [`plan_finish`]: docker started on overlay2; the same node back in its swarm; made active
//!    again when the migration drained it; the driver data removed; `migrate.json` removed.

use crate::error::{Error, Refusal, Result};
use crate::host::cmd::Cmd;
use crate::host::lvm::Lvm;
use crate::host::state::{self, MigrateRecord, StorageRecord};
use crate::host::swarm::node::Node;
use crate::host::swarm::{self, Info, SwarmOp};
use crate::host::{Action, Host, systemd};
use crate::profile::Driver;
use crate::steps::Run;
use crate::steps::plan::StepPlan;
use crate::steps::storage::{DOCKER_ROOT, LVM_PROFILE_PATH, POOL_LV, human};

/// docker's driver data under /var/lib/docker: moved aside, then removed. Everything else there
/// is carried over, also what a later docker adds.
pub const DROPPED: &[&str] = &[
    "devicemapper",
    "image",
    "containers",
    "tmp",
    "buildkit",
    "runtimes",
];

/// Where the driver data waits, on the same file system, until docker runs on overlay2.
pub const DROPPED_ASIDE: &str = "/var/lib/docker.swarmnode-dropped";

/// How long docker may take to bring the node back to its managers after the switch.
const BACK_SECONDS: u64 = 120;

/// The storage record, which must be there: migrate-storage moves a node swarmnode made.
fn storage_record(h: &Host) -> Result<StorageRecord> {
    StorageRecord::read(h)?.ok_or_else(|| {
        Refusal::new(
            "migrate",
            state::STORAGE.path,
            "there is no storage record: swarmnode did not make this node's storage",
        )
        .remedy(
            "migrate-storage moves a node swarmnode provisioned; re-provision this one on \
             overlay2 instead (docs/storage.md)",
        )
        .into()
    })
}

/// Whether a migration is under way, or (plan) would be.
pub fn under_way(h: &Host, run: &Run) -> Result<bool> {
    if MigrateRecord::read(h)?.is_some() {
        return Ok(true);
    }
    Ok(run.opts.planning && storage_record(h)?.driver == Driver::Devicemapper)
}

/// The local engine's swarm view, or none when docker does not answer (an upgrade broke it).
fn engine_info(h: &Host) -> Result<Option<Info>> {
    swarm::info_if_up(&h.swarm_host()?)
}

/// Phase 1: the checks, the record, the drain.
pub fn plan_start(h: &Host, run: &Run) -> Result<StepPlan> {
    let mut p = StepPlan::new("migrate");
    let rec = storage_record(h)?;
    let going = MigrateRecord::read(h)?;
    if going.is_none() && rec.driver == Driver::Overlay2 {
        p.facts
            .push("the storage record says overlay2: nothing to migrate".into());
        return Ok(p);
    }
    let info = engine_info(h)?;
    let member = info
        .as_ref()
        .filter(|i| i.swarm.local_node_state == "active" && !i.swarm.node_id.is_empty());
    match &going {
        Some(_) => p.facts.push(format!(
            "a migration to overlay2 is under way ({}): it goes on",
            state::MIGRATE.path
        )),
        None => {
            checks(h, run, &rec, info.as_ref(), &mut p)?;
            let activate = match member {
                Some(i) if !run.opts.no_drain => {
                    crate::steps::swarm::drain::current(h, run, i)?.as_deref() == Some("active")
                }
                _ => false,
            };
            let m = MigrateRecord {
                to: Driver::Overlay2,
                node_id: member.map(|i| i.swarm.node_id.clone()),
                activate,
            };
            p.actions.push(state::MIGRATE.write(
                "migrate.record",
                "what the migration is to do, before its first change (a run stopped anywhere \
                 goes on from it)",
                m.text(),
                None,
            ));
        }
    }
    match member {
        Some(i) if still_devicemapper(h)? => {
            crate::steps::swarm::drain::add_first(h, run, i, &mut p)?
        }
        Some(_) => {}
        None if info.is_none() => p
            .facts
            .push("docker does not answer: nothing runs here to drain".into()),
        None => p
            .facts
            .push("the node is not an active member of a swarm: nothing to drain".into()),
    }
    Ok(p)
}

/// Docker still runs on the thin pool (its data root still holds devicemapper's metadata).
fn still_devicemapper(h: &Host) -> Result<bool> {
    Ok(h.path(&format!("{DOCKER_ROOT}/devicemapper"))?.exists())
}

/// What is refused before anything changes.
fn checks(
    h: &Host,
    run: &Run,
    rec: &StorageRecord,
    info: Option<&Info>,
    p: &mut StepPlan,
) -> Result<()> {
    let refuse = |subject: String, why: String, remedy: &str| -> Error {
        Refusal::new("migrate", subject, why).remedy(remedy).into()
    };
    if let Some(s) = &run.profile.storage
        && s.volume_group != rec.volume_group
    {
        return Err(refuse(
            format!("volume group {}", s.volume_group),
            format!(
                "the profile's storage.volume_group is {}, and the node's storage is in {} \
                 (storage record)",
                s.volume_group, rec.volume_group
            ),
            "give the profile the node's volume group, then run again",
        ));
    }
    if let Some(i) = info {
        elsewhere_volumes(h)?;
        last_manager(h, run, i)?;
    }
    // What the later phases would refuse is refused now, before docker stops: the engine
    // step's judgement of daemon.json and the drop-ins, and an earlier move's tree in the way.
    let e = run.profile.engine.clone().unwrap_or_default();
    let volume = crate::vocab::volume_of(Driver::Overlay2, &rec.volume_group).unwrap_or_default();
    crate::steps::engine::plan(h, &e, Some(Driver::Overlay2), &volume, &|| run.engine(h))?;
    let old = crate::steps::storage::overlay2::MOVED_ASIDE;
    if h.path(old)?.symlink_metadata().is_ok() {
        return Err(Refusal::new(
            "migrate",
            old,
            "an earlier move's tree is there: the storage step keeps the old /var/lib/docker there",
        )
        .remedy(format!(
            "look at it, then remove it (`rm -rf {old}`) or rename it, and run again"
        ))
        .into());
    }
    fits(h, run, rec, p)
}

/// A named volume whose data is not under /var/lib/docker (a `device` of the local driver:
/// a bind mount or a file system mounted when used) is refused: only its definition would move.
fn elsewhere_volumes(h: &Host) -> Result<()> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Volumes {
        #[serde(default)]
        volumes: Option<Vec<Volume>>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Volume {
        #[serde(default)]
        name: String,
        #[serde(default)]
        driver: String,
        #[serde(default)]
        options: Option<std::collections::BTreeMap<String, String>>,
    }
    let v: Volumes = h.swarm_host()?.api().get_json("/volumes")?;
    let elsewhere: Vec<String> = v
        .volumes
        .unwrap_or_default()
        .into_iter()
        .filter(|v| v.driver == "local")
        .filter_map(|v| {
            let dev = v.options.as_ref()?.get("device")?.clone();
            Some(format!(
                "{} (from {})",
                crate::host::text::escape_controls(&v.name),
                crate::host::text::escape_controls(&dev)
            ))
        })
        .collect();
    if elsewhere.is_empty() {
        return Ok(());
    }
    Err(Refusal::new(
        "migrate",
        "the node's named volumes",
        format!(
            "{} named volume(s) keep their data elsewhere, mounted from another place when used: \
             {}; the migration would carry only their definitions",
            elsewhere.len(),
            elsewhere.join(", ")
        ),
    )
    .remedy(
        "note their options (`docker volume inspect NAME`), remove them (`docker volume rm \
         NAME`), migrate, then create them again",
    )
    .into())
}

/// A manager whose stop loses the swarm's quorum (the last one) is refused unless --force.
fn last_manager(h: &Host, run: &Run, i: &Info) -> Result<()> {
    if !i.swarm.control_available || run.opts.force {
        return Ok(());
    }
    let nodes: Vec<Node> = h.swarm_host()?.api().get_json("/nodes")?;
    let (managers, reachable, _) =
        crate::steps::reset::swarm::quorum_without(&nodes, &i.swarm.node_id);
    // Unlike reset, nothing is demoted: this manager stays one of `managers` while docker is
    // stopped, so the others that answer must be a majority of them all (two of two is not).
    if reachable * 2 > managers {
        return Ok(());
    }
    Err(Refusal::new(
        "migrate",
        format!("manager {} ({})", i.name, i.swarm.node_id),
        format!(
            "docker stops for the migration, and without this manager the other {} have {reachable} \
             reachable: the swarm would have no quorum while it is stopped",
            managers - 1
        ),
    )
    .remedy(
        "add managers first (`docker node promote`), or migrate another manager; or --force \
         (the swarm stops managing until docker is back)",
    )
    .into())
}

/// The carried state must fit the new volume (its share of the VG, the pool gone), with room.
fn fits(h: &Host, run: &Run, rec: &StorageRecord, p: &mut StepPlan) -> Result<()> {
    let root = h.path(DOCKER_ROOT)?;
    let mut carried = 0u64;
    for (name, _) in crate::host::fs::entries(&root) {
        if !DROPPED.contains(&name.as_str()) {
            carried += crate::host::fs::tree_bytes(&root.join(&name)).map_err(|e| {
                Error::io(format!("migrate: cannot measure {DOCKER_ROOT}/{name}"), e)
            })?;
        }
    }
    let lvm = Lvm::read(&h.runner)?;
    let Some(vg) = lvm.vg(&rec.volume_group) else {
        return Err(Refusal::new(
            "migrate",
            format!("volume group {}", rec.volume_group),
            "LVM does not show it (storage record)",
        )
        .remedy("find the node's data disk (`pvs`), then run again")
        .into());
    };
    let percent = run
        .profile
        .storage
        .as_ref()
        .map_or(95, |s| s.overlay2.data_percent);
    let room = vg.vg_size / 100 * u64::from(percent);
    p.facts.push(format!(
        "carried over: {} (swarm state, named volumes, networks, plugins, trust) into a volume of \
         {} ({percent}% of {})",
        human(carried),
        human(room),
        rec.volume_group
    ));
    if carried > room / 10 * 9 {
        return Err(Refusal::new(
            "migrate",
            DOCKER_ROOT,
            format!(
                "what is carried over takes {}, and the new volume would have {}: it does not fit \
                 with room to spare",
                human(carried),
                human(room)
            ),
        )
        .remedy("remove named volumes no one needs (`docker volume prune`), or give the VG a larger disk, then run again")
        .into());
    }
    Ok(())
}

/// Phase 2: docker stopped, the driver data aside, the thin pool gone.
pub fn plan_switch(h: &Host, run: &Run) -> Result<StepPlan> {
    let mut p = StepPlan::new("switch");
    if !under_way(h, run)? {
        p.facts.push("no migration under way".into());
        return Ok(p);
    }
    // The storage step has recorded overlay2: the switch is behind. Docker may run on the new
    // volume by now; it is never stopped again, nor its new data moved.
    if storage_record(h)?.driver == Driver::Overlay2 {
        p.facts
            .push("the switch is done: the storage record says overlay2".into());
        return Ok(p);
    }
    let active: Vec<&str> = ["docker.socket", "docker.service"]
        .into_iter()
        .filter(|u| h.systemd_running() && systemd::is_active(h, u).unwrap_or(false))
        .collect();
    if !active.is_empty() {
        let mut args = vec!["stop"];
        args.extend(&active);
        p.actions.push(systemd::docker(
            "migrate.docker-stop",
            "docker's data moves from under it",
            &args,
        ));
        p.facts.push(format!(
            "once docker is stopped: {} moved aside to {DROPPED_ASIDE}, the thin pool removed",
            DROPPED.join(", ")
        ));
        return Ok(p);
    }
    mounted_under(h)?;
    add_aside(h, &mut p)?;
    add_pool_gone(h, &mut p)?;
    Ok(p)
}

/// Nothing may be mounted under /var/lib/docker once docker is stopped (a volume's data mounted
/// from elsewhere, a leftover of docker's): copying would take another file system's content.
fn mounted_under(h: &Host) -> Result<()> {
    let root = h.tool_path(DOCKER_ROOT)?;
    let mounts = crate::host::block::read_mounts(h.root())
        .map_err(|e| Error::io("migrate: cannot read /proc/self/mountinfo", e))?;
    let below: Vec<String> = mounts
        .iter()
        .filter(|m| m.mount_point.starts_with(&format!("{root}/")))
        .map(|m| format!("{} ({} from {})", m.mount_point, m.fstype, m.source))
        .collect();
    if below.is_empty() {
        return Ok(());
    }
    Err(Refusal::new(
        "migrate",
        DOCKER_ROOT,
        format!(
            "with docker stopped, {} file system(s) are still mounted under it: {}",
            below.len(),
            crate::host::text::escape_controls(&below.join(", "))
        ),
    )
    .remedy("unmount them (`umount PATH`), then run again")
    .into())
}

/// Each piece of driver data under /var/lib/docker moved aside, one rename each.
fn add_aside(h: &Host, p: &mut StepPlan) -> Result<()> {
    let root = h.path(DOCKER_ROOT)?;
    let aside = h.path(DROPPED_ASIDE)?;
    let present: Vec<&str> = DROPPED
        .iter()
        .copied()
        .filter(|d| root.join(d).symlink_metadata().is_ok())
        .collect();
    if present.is_empty() {
        return Ok(());
    }
    if let Some(d) = present
        .iter()
        .find(|d| aside.join(d).symlink_metadata().is_ok())
    {
        return Err(Refusal::new(
            "migrate",
            format!("{DOCKER_ROOT}/{d}"),
            format!(
                "{DROPPED_ASIDE}/{d} is there already: docker ran again on the thin pool after \
                 an earlier migration run moved its data aside"
            ),
        )
        .remedy(format!(
            "stop docker; look at both, keep one at {DROPPED_ASIDE}/{d} and remove the other, \
             then run again"
        ))
        .into());
    }
    if aside.symlink_metadata().is_err() {
        p.actions.push(Action::mkdir(
            "migrate.aside-mkdir",
            "where docker's driver data waits until docker runs on overlay2",
            DROPPED_ASIDE,
            0o700,
        ));
    }
    for d in present {
        p.actions.push(Action::rename(
            "migrate.aside",
            "driver data (images and containers of devicemapper): dropped",
            &format!("{DOCKER_ROOT}/{d}"),
            &format!("{DROPPED_ASIDE}/{d}"),
        ));
    }
    Ok(())
}

/// The thin pool removed (this node's alone, LVM seeing its disks only), and its LVM profile.
fn add_pool_gone(h: &Host, p: &mut StepPlan) -> Result<()> {
    let rec = storage_record(h)?;
    let lvm = Lvm::read(&h.runner)?;
    let vg_name = rec.volume_group.as_str();
    if lvm.lv(vg_name, POOL_LV).is_some() {
        if !crate::steps::reset::storage::ours_to_remove(h)? {
            return Err(Refusal::new(
                "migrate",
                format!("{vg_name}/{POOL_LV}"),
                "its volume group is not proven this node's (on the recorded disk, with this \
                 machine's tag)",
            )
            .remedy("`swarmnode plan` says what the storage step sees; run migrate-storage on the node that made it")
            .into());
        }
        let disks: Vec<&str> = lvm
            .pvs_of(vg_name)
            .iter()
            .map(|pv| pv.pv_name.as_str())
            .collect();
        p.actions.push(Action::run(
            "migrate.lvremove",
            "the thin pool: its images and containers are dropped",
            Cmd::new("lvremove")
                .args(["-y", "--devices", &disks.join(",")])
                .arg(format!("{vg_name}/{POOL_LV}")),
        ));
    }
    if h.path(LVM_PROFILE_PATH)?.exists() {
        p.actions.push(Action::remove(
            "migrate.lvm-profile",
            "the thin pool's autoextend profile, unused now",
            LVM_PROFILE_PATH,
        ));
    }
    Ok(())
}

/// Whether the thin pool is still there (phases 3 and 4 wait for it to go).
pub fn pool_there(h: &Host) -> Result<bool> {
    let rec = storage_record(h)?;
    Ok(Lvm::read(&h.runner)?
        .lv(&rec.volume_group, POOL_LV)
        .is_some())
}

/// Phase 5: docker on overlay2, the same node back, active again, the driver data removed.
pub fn plan_finish(h: &Host, run: &Run) -> Result<StepPlan> {
    let mut p = StepPlan::new("finish");
    let Some(m) = MigrateRecord::read(h)? else {
        if under_way(h, run)? {
            return Ok(StepPlan::deferred(
                "finish",
                "then: docker started on overlay2, the node back in its swarm with the same ID, \
                 made active again when the migration drained it, the driver data removed",
            ));
        }
        p.facts.push("no migration under way".into());
        return Ok(p);
    };
    let Some(info) = engine_info(h)? else {
        p.actions.push(systemd::docker(
            "migrate.docker-start",
            "docker, on overlay2 now",
            &["start", "docker"],
        ));
        if let Some(id) = &m.node_id {
            p.actions.push(back(id));
        }
        return Ok(p);
    };
    let driver = &info.driver;
    if driver != "overlay2" {
        return Err(Error::Failed(format!(
            "migrate: docker runs on {driver:?}, not overlay2: see `journalctl -u docker`; run \
             migrate-storage again once it is fixed"
        )));
    }
    p.facts.push("docker runs on overlay2".into());
    if let Some(id) = &m.node_id {
        if info.swarm.node_id != *id {
            return Err(Error::Failed(format!(
                "migrate: docker came back as node {:?}, not {id}: its swarm state did not carry \
                 over; see {DOCKER_ROOT}/swarm and {DROPPED_ASIDE}",
                info.swarm.node_id
            )));
        }
        if info.swarm.local_node_state != "active" {
            p.actions.push(back(id));
            return Ok(p);
        }
        p.facts.push(format!("node {id} is back in its swarm"));
    }
    if m.activate {
        crate::steps::swarm::drain::add_active(h, run, &info, &mut p)?;
    }
    if h.path(DROPPED_ASIDE)?.symlink_metadata().is_ok() {
        p.actions.push(Action::run(
            "migrate.dropped-remove",
            "devicemapper's images and containers, dropped",
            Cmd::new("rm").args(["-rf", "--one-file-system", &h.tool_path(DROPPED_ASIDE)?]),
        ));
    }
    p.actions
        .push(state::MIGRATE.remove("migrate.done", "the migration has finished"));
    Ok(p)
}

/// The node waited for until it is back with its managers.
fn back(id: &str) -> Action {
    Action::swarm(
        "migrate.back",
        "the same node, back with its managers",
        SwarmOp::Wait {
            node_id: id.to_string(),
            seconds: BACK_SECONDS,
        },
    )
}
