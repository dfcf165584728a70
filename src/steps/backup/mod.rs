//! `backup` on a manager: the swarm's state copied with docker stopped, while the other
//! managers keep quorum; and `restore` ([`restore`]) of such a copy on a manager with no swarm.
//!
//! The phases of a backup (commands/backup.rs), each planned from what is there, so that a run
//! stopped anywhere goes on from where it stopped:
//!
//! 1. [`plan_start`]: refused (65) unless the others keep a reachable majority without this
//!    manager, on the leader of several, and (without `--force`) on the only manager or an
//!    autolocked swarm; 75 while the swarm has no leader;
//!    the claim (a label on its own node: two managers never stop at once); the manifest
//!    written to `backup.json` before docker stops; docker stopped.
//! 2. [`plan_archive`]: `/var/lib/docker/swarm` and the manifest archived (0600) into the
//!    backup directory, under a name of its own until it is whole.
//! 3. [`plan_finish`]: docker started; waited for until this manager is reachable and the swarm
//!    has a leader; the archives beyond `keep` removed; the claim and `backup.json` removed.
//!
//! A run stopped while docker is stopped leaves `backup.json`: the next run finishes the
//! backup and starts docker (and says so); at boot docker starts on its own, and the next run
//! sees that and starts afresh.

mod archive;
mod managers;
pub mod restore;
pub mod timer;

use archive::partial_of;
pub use archive::plan_archive;
pub use managers::Managers;

use crate::error::{Error, Refusal, Result};
use crate::host::clock;
use crate::host::state::{self, BACKUP};
use crate::host::swarm::backup::{self, Manifest};
use crate::host::swarm::node::Node;
use crate::host::swarm::{self, Info, SwarmOp};
use crate::host::{Action, Host, systemd};
use crate::profile::Backup;
use crate::steps::Run;
use crate::steps::plan::StepPlan;

/// How long docker may take to manage again after a backup or a restore.
pub const BACK_SECONDS: u64 = 180;

/// How long tar may take to write, read back or extract an archive of the swarm's state.
pub const TAR_SECONDS: u64 = 900;

/// How long a manager's claim to stop for a backup holds off the others (a run killed with its
/// claim set holds them off no longer).
pub const CLAIM_SECONDS: u64 = 900;

/// The profile's backup section, or its defaults (a backup by hand without one).
pub fn settings(run: &Run) -> Backup {
    run.profile.backup.clone().unwrap_or_default()
}

/// The local engine's view, or none when docker does not answer.
pub fn engine_info(h: &Host) -> Result<Option<Info>> {
    swarm::info_if_up(&h.swarm_host()?)
}

/// The backup an earlier run (or this one) recorded, proven this node's profile's: its archive
/// is in `backup.directory`, named by its time and node. Anything else is refused, never acted
/// on (a record naming another path would have tar write there, and retention remove there).
pub(super) fn under_way(h: &Host, run: &Run) -> Result<Option<Manifest>> {
    let Some(m) = state::backup_under_way(h)? else {
        return Ok(None);
    };
    let dir = settings(run).directory;
    let want = format!("{dir}/{}", backup::archive_name(m.taken, &m.node_id));
    if m.archive != want {
        return Err(Refusal::record(
            "backup",
            BACKUP.path,
            None,
            &m.archive,
            format!("its archive is not {want} (backup.directory, its time and node)"),
        )
        .remedy(format!(
            "look at it: when no backup of this node is under way, remove {} and run again",
            BACKUP.path
        ))
        .into());
    }
    Ok(Some(m))
}

/// A manager's own view: its engine's info and the swarm's nodes; refused when it is none.
fn manager(h: &Host, run: &Run, p: &mut StepPlan) -> Result<Option<(Info, Vec<Node>)>> {
    let Some(info) = engine_info(h)? else {
        return Err(Refusal::new(
            "backup",
            "docker",
            "docker does not answer: a backup is taken of a manager that runs",
        )
        .remedy("start docker (`systemctl start docker`), then run backup again")
        .into());
    };
    let st = &info.swarm;
    if st.local_node_state != "active" || !st.control_available {
        let why = format!(
            "{} is not a manager of a swarm (its swarm state is {}, manages: {})",
            info.name, st.local_node_state, st.control_available
        );
        if run.opts.scheduled {
            p.facts.push(format!("{why}: nothing to back up"));
            return Ok(None);
        }
        return Err(Refusal::new("backup", format!("node {}", info.name), why)
            .remedy("run backup on a manager (`docker node ls` there lists them)")
            .into());
    }
    let nodes: Vec<Node> = h.swarm_host()?.api().get_json("/nodes")?;
    Ok(Some((info, nodes)))
}

/// A backup an earlier run left: finished from where it stopped, or (docker runs again without
/// its archive) started afresh.
fn going_on(h: &Host, m: &Manifest, p: &mut StepPlan) -> Result<()> {
    let when = clock::utc(m.taken);
    if engine_info(h)?.is_none() {
        p.warnings.push(format!(
            "a backup started at {when} did not finish, and docker was left stopped: this run \
             finishes it, then starts docker"
        ));
        return Ok(());
    }
    if h.path(&m.archive)?.is_file() {
        p.warnings.push(format!(
            "a backup started at {when} did not finish: its archive is written, and docker \
             runs again; this run finishes it"
        ));
        return Ok(());
    }
    p.warnings.push(format!(
        "a backup started at {when} did not finish; docker runs again (started since, at \
         boot or by hand): a new backup is taken"
    ));
    let partial = partial_of(&m.archive);
    if h.path_nofollow(&partial)?.symlink_metadata().is_ok() {
        p.actions.push(Action::remove(
            "backup.partial-remove",
            "the unfinished backup's archive (it holds the swarm's keys)",
            &partial,
        ));
    }
    p.actions
        .push(BACKUP.remove("backup.stale", "the unfinished backup's manifest"));
    Ok(())
}

/// Phase 1: the checks, the manifest, docker stopped.
pub fn plan_start(h: &Host, run: &Run) -> Result<StepPlan> {
    let mut p = StepPlan::new("backup");
    if let Some(m) = under_way(h, run)? {
        if !run.memo.backup_begun.get() {
            going_on(h, &m, &mut p)?;
        }
        return Ok(p);
    }
    let Some((info, nodes)) = manager(h, run, &mut p)? else {
        return Ok(p);
    };
    let me = info.swarm.node_id.clone();
    let v = Managers::of(&nodes, &me);
    if !judge(run, &info, &v, &mut p)? {
        return Ok(p);
    }
    let dir = settings(run).directory;
    directory(h, &dir, &mut p)?;
    let m = manifest(h, &info, &v, &dir)?;
    if m.autolock && !autolocked(run, &info, &mut p)? {
        return Ok(p);
    }
    p.facts.push(format!(
        "the archive: {} (docker's swarm/ and the manifest, 0600)",
        m.archive
    ));
    let here = crate::host::swarm::tasks::here(h.swarm_host()?.api())
        .map(|t| t.replicated.len() + t.global.len())
        .unwrap_or(0);
    if here > 0 {
        p.warnings.push(format!(
            "the {here} task(s) running here stop with docker; swarm starts them again"
        ));
    }
    run.memo.backup_begun.set(true);
    p.actions.push(Action::swarm(
        "backup.claim",
        "two managers never stop at once for a backup (the timer's and one by hand, say)",
        SwarmOp::Claim {
            node_id: m.node_id.clone(),
            at: Some(m.taken),
            claim_seconds: CLAIM_SECONDS,
        },
    ));
    p.actions.push(BACKUP.write(
        "backup.record",
        "the manifest, before docker stops (a run stopped from here on starts docker again)",
        m.text(),
        None,
    ));
    p.actions.push(docker_stop(
        "backup.docker-stop",
        "the swarm's state is copied with docker stopped (a copy of a running manager's raft \
         log is not consistent)",
    ));
    Ok(p)
}

const ONLY_MANAGER_REMEDY: &str = "add managers (three tolerate one away), or run `swarmnode \
     backup --force` when a few seconds without management are fine";
const ONLY_MANAGER_FORCED: &str = "--force: the swarm's only manager stops for the backup: its \
     containers stop, and nothing is scheduled, updated or joined until docker is back (most \
     often seconds; each command's bound is in the plan)";

/// Whether this manager may stop for a backup now: false (with the reason as a fact) when a
/// scheduled run leaves it to another; refused when it would lose quorum, or on the leader.
fn judge(run: &Run, info: &Info, v: &Managers, p: &mut StepPlan) -> Result<bool> {
    let me = info.swarm.node_id.as_str();
    let need = v.total / 2 + 1;
    p.facts.push(format!(
        "{} managers, {} reachable besides this one; quorum is {need}",
        v.total, v.reachable_others
    ));
    if run.opts.scheduled && !my_turn(v, me, p) {
        return Ok(false);
    }
    let refuse = |why: String, remedy: String| -> Error {
        Refusal::new("backup", format!("manager {} ({me})", info.name), why)
            .remedy(remedy)
            .into()
    };
    if v.total == 1 {
        if !run.opts.force {
            return Err(refuse(
                "it is the swarm's only manager: while docker is stopped the swarm is not \
                 managed (no scheduling, no updates, no joins)"
                    .into(),
                ONLY_MANAGER_REMEDY.into(),
            ));
        }
        p.warnings.push(ONLY_MANAGER_FORCED.into());
        return Ok(true);
    }
    if !v.keep_quorum_without_me() {
        return Err(refuse(
            format!(
                "with docker stopped here, {} of {} managers would be reachable, and the swarm \
                 needs {need}: it would lose quorum",
                v.reachable_others, v.total
            ),
            "bring the unreachable managers back (`docker node ls`), then run backup again".into(),
        ));
    }
    leader_known(info, v)?;
    // Never on the leader of several managers, even with --force: a follower that answers is
    // always there when the others keep quorum, and stopping the leader forces an election.
    if v.leader.as_deref() == Some(me) {
        let other = v.followers.iter().find(|(id, _, _)| id != me);
        return Err(refuse(
            "it is the swarm's leader: stopping it forces an election".into(),
            match other {
                Some((id, name, addr)) => {
                    format!("run backup on manager {name} ({id}, {addr}), a follower")
                }
                None => "run backup on a follower".into(),
            },
        ));
    }
    p.facts.push(format!(
        "the others keep quorum ({} of {need} needed) while docker is stopped here",
        v.reachable_others
    ));
    Ok(true)
}

/// No leader (an election under way): no manager is stopped now, whatever the quorum (75).
fn leader_known(info: &Info, v: &Managers) -> Result<()> {
    if v.leader.is_some() {
        return Ok(());
    }
    Err(Error::Temporary(format!(
        "backup: the swarm has no leader now (an election?), so manager {} was not stopped; run \
         backup again in a minute",
        info.name
    )))
}

/// A scheduled backup: whether it is this manager's turn (the first follower by ID); if not,
/// why, as a fact.
fn my_turn(v: &Managers, me: &str, p: &mut StepPlan) -> bool {
    if v.total == 1 {
        p.facts.push(
            "the swarm's only manager: a scheduled backup would stop it; run `swarmnode backup \
             --force` by hand"
                .into(),
        );
        return false;
    }
    match v.chosen() {
        Some(c) if c != me => {
            p.facts.push(format!(
                "manager {c} takes the scheduled backup (the first follower by ID)"
            ));
            false
        }
        _ => true,
    }
}

/// An autolocked swarm: docker comes back locked after the backup, and this manager is away
/// until someone unlocks it. Refused by hand without --force; the timer says so and does not
/// back up (check shows the backup's age).
fn autolocked(run: &Run, info: &Info, p: &mut StepPlan) -> Result<bool> {
    const WHY: &str = "the swarm is autolocked: after the backup docker comes back locked, and \
                       this manager is away until `docker swarm unlock`";
    if run.opts.scheduled {
        p.facts.push(format!(
            "{WHY}: scheduled backups are not taken; run `swarmnode backup --force` by hand"
        ));
        return Ok(false);
    }
    if !run.opts.force {
        return Err(Refusal::new("backup", format!("manager {}", info.name), WHY)
            .remedy("run `swarmnode backup --force` when you can unlock it right after (the unlock key at hand)")
            .into());
    }
    p.warnings
        .push(format!("--force: {WHY}; unlock it when the backup says so"));
    Ok(true)
}

/// The backup directory: root's and writable by root only on its way; made 0700 when missing.
fn directory(h: &Host, dir: &str, p: &mut StepPlan) -> Result<()> {
    let io = |e| Error::io(format!("backup: cannot examine {dir}"), e);
    if let Some((d, why)) =
        crate::host::fs::untrusted_dir(h.root(), &format!("{dir}/archive")).map_err(io)?
    {
        return Err(Refusal::new(
            "backup",
            dir.to_string(),
            format!("{d} is on its way, and {why}"),
        )
        .remedy(format!(
            "the archives hold the swarm's keys: make {d} root's and writable by root only \
                 (`chown root: {d}; chmod go-w {d}`), or choose another backup.directory"
        ))
        .into());
    }
    if !h.path(dir)?.is_dir() {
        p.actions.push(Action::mkdir(
            "backup.mkdir",
            "where the archives go (root's alone: they hold the swarm's keys)",
            dir,
            0o700,
        ));
    }
    Ok(())
}

/// Whether the swarm is autolocked (`GET /swarm`'s encryption configuration).
pub(super) fn autolock_on(h: &Host) -> Result<bool> {
    #[derive(serde::Deserialize, Default)]
    #[serde(rename_all = "PascalCase", default)]
    struct Sw {
        spec: SwSpec,
    }
    #[derive(serde::Deserialize, Default)]
    #[serde(rename_all = "PascalCase", default)]
    struct SwSpec {
        encryption_config: Enc,
    }
    #[derive(serde::Deserialize, Default)]
    #[serde(rename_all = "PascalCase", default)]
    struct Enc {
        auto_lock_managers: bool,
    }
    let sw: Sw = h.swarm_host()?.api().get_json("/swarm")?;
    Ok(sw.spec.encryption_config.auto_lock_managers)
}

/// The manifest of this backup: what the archive is of, never the unlock key.
fn manifest(h: &Host, info: &Info, v: &Managers, dir: &str) -> Result<Manifest> {
    let autolock = autolock_on(h)?;
    let taken = clock::now();
    let root = docker_root(h, info);
    let m = Manifest {
        taken,
        swarm_id: info
            .swarm
            .cluster
            .as_ref()
            .map(|c| c.id.clone())
            .unwrap_or_default(),
        node_id: info.swarm.node_id.clone(),
        node_name: info.name.clone(),
        node_addr: info.swarm.node_addr.clone(),
        managers: v.addrs.clone(),
        engine_version: info.server_version.clone(),
        autolock,
        docker_root: root,
        archive: format!("{dir}/{}", backup::archive_name(taken, &info.swarm.node_id)),
    };
    // What docker said is checked as any record is, before it is written and acted on.
    Manifest::parse(&m.text()).map_err(|why| {
        Error::Failed(format!(
            "backup: the engine's answers do not make a manifest: {why}"
        ))
    })
}

/// docker's data root as a host path (the engine gives its own view; under --root the root
/// is taken off); /var/lib/docker when it says nothing.
pub fn docker_root(h: &Host, info: &Info) -> String {
    match info.docker_root_dir.trim_end_matches('/') {
        "" => crate::steps::storage::DOCKER_ROOT.to_string(),
        r => h.host_path_of(r).unwrap_or_else(|| r.to_string()),
    }
}

/// docker stopped, its socket too (nothing starts it again meanwhile).
pub fn docker_stop(id: &str, why: &str) -> Action {
    systemd::docker(id, why, &["stop", "docker.socket", "docker.service"])
}

/// docker started (its socket with it), within [`systemd::DOCKER_SECONDS`].
pub fn docker_start(id: &str, why: &str) -> Action {
    systemd::docker(id, why, &["start", "docker"])
}

/// After a backup failed with docker stopped by it (a record there, docker not answering):
/// docker started again, so that a failure never leaves a manager down until the next run. The
/// record stays: the next run sees docker running and takes a new backup.
pub fn recover(h: &Host) {
    let left = matches!(state::backup_under_way(h), Ok(Some(_)));
    if !left || !matches!(engine_info(h), Ok(None)) {
        return;
    }
    let start = docker_start("backup.recover", "the backup failed with docker stopped");
    match h.execute(&start) {
        Ok(()) => tracing::warn!(
            "backup: it failed after docker stopped; docker was started again (the next run \
             takes a new backup)"
        ),
        Err(e) => tracing::error!(
            "backup: it failed after docker stopped, and docker did not start: {}; start it \
             (`systemctl start docker`)",
            crate::error::chain(&e)
        ),
    }
}

const FINISH_TEXT: &str = "docker started; this manager waited for until it is reachable with a \
     leader; the archives beyond backup.keep removed";

/// A later phase without a backup under way: what it would do (a plan), or nothing.
pub(super) fn not_under_way(run: &Run, phase: &'static str, what: &str) -> StepPlan {
    if run.opts.planning {
        StepPlan::deferred(phase, format!("when the backup is taken: {what}"))
    } else {
        StepPlan::skipped(phase, "no backup under way")
    }
}

/// Phase 3: docker started, this manager managing again, the old archives removed.
pub fn plan_finish(h: &Host, run: &Run) -> Result<StepPlan> {
    let mut p = StepPlan::new("finish");
    let Some(m) = under_way(h, run)? else {
        return Ok(not_under_way(run, "finish", FINISH_TEXT));
    };
    let wait = Action::swarm(
        "backup.back",
        "this manager manages again before the backup counts as done",
        SwarmOp::Manages {
            node_id: m.node_id.clone(),
            seconds: BACK_SECONDS,
        },
    );
    let Some(info) = engine_info(h)? else {
        p.actions
            .push(docker_start("backup.docker-start", "docker, again"));
        p.actions.push(wait);
        return Ok(p);
    };
    if info.swarm.local_node_state == "locked" {
        return Err(Refusal::new(
            "backup",
            format!("manager {}", info.name),
            "docker came back locked (the swarm is autolocked): the archive is written, and this \
             manager is away until it is unlocked",
        )
        .remedy("`docker swarm unlock` with the unlock key, then run backup again to finish")
        .into());
    }
    if run.opts.planning && !h.path(&m.archive)?.is_file() {
        // Docker runs without the archive: the first phase's plan starts afresh.
        return Ok(not_under_way(run, "finish", FINISH_TEXT));
    }
    // Docker may run again without this manager managing yet (a run stopped right after docker
    // started): reachable, with a leader, before the backup counts as done.
    let manages = crate::host::swarm::membership::managed(&h.swarm_host()?, &m.node_id);
    if !matches!(manages, Ok((true, true))) {
        p.actions.push(wait);
        return Ok(p);
    }
    p.facts
        .push(format!("docker runs, and {} manages again", info.name));
    let size = crate::host::fs::file_size(&h.path(&m.archive)?);
    if let Some(n) = size {
        p.facts.push(format!(
            "backup written: {} ({})",
            m.archive,
            crate::steps::storage::human(n)
        ));
    }
    retention(h, run, &m, &mut p)?;
    add_unclaim(h, &m.node_id, &mut p)?;
    p.actions
        .push(BACKUP.remove("backup.done", "the backup has finished"));
    Ok(p)
}

/// This manager's claim taken away, when its node still carries it.
fn add_unclaim(h: &Host, node_id: &str, p: &mut StepPlan) -> Result<()> {
    let me: Node = h
        .swarm_host()?
        .api()
        .get_json(&format!("/nodes/{node_id}"))?;
    if me
        .labels()
        .contains_key(crate::host::swarm::membership::CLAIM_LABEL)
    {
        p.actions.push(Action::swarm(
            "backup.unclaim",
            "the backup has finished: other managers may stop for theirs",
            SwarmOp::Claim {
                node_id: node_id.to_string(),
                at: None,
                claim_seconds: CLAIM_SECONDS,
            },
        ));
    }
    Ok(())
}

/// This node's archives beyond the newest `keep` removed (other nodes' never).
fn retention(h: &Host, run: &Run, m: &Manifest, p: &mut StepPlan) -> Result<()> {
    let keep = settings(run).keep.get() as usize;
    let dir = m.archive.rsplit_once('/').map_or("/", |(d, _)| d);
    let names: Vec<String> = crate::host::fs::entries(&h.path(dir)?)
        .into_iter()
        .filter(|(_, k)| *k == crate::host::fs::Kind::File)
        .map(|(n, _)| n)
        .collect();
    for old in backup::beyond(&names, &m.node_id, keep) {
        p.actions.push(Action::remove(
            "backup.expire",
            format!("backup.keep is {keep}: older than the newest {keep}"),
            &format!("{dir}/{old}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::swarm::node::ManagerStatus;
    use proptest::prelude::*;

    fn node(i: usize, manager: bool, reachable: bool, leader: bool) -> Node {
        Node {
            id: format!("{i:0>25}"),
            manager_status: manager.then(|| ManagerStatus {
                reachability: if reachable {
                    "reachable"
                } else {
                    "unreachable"
                }
                .into(),
                leader,
                addr: format!("10.0.0.{i}:2377"),
            }),
            ..Node::default()
        }
    }

    proptest! {
        /// Raft's rule: a swarm of N managers needs floor(N/2)+1 of them up. This manager stops,
        /// so the others that are reachable must be that many.
        #[test]
        fn quorum_is_the_majority_rule(
            nodes in prop::collection::vec((any::<bool>(), any::<bool>()), 1..12),
            me in 0usize..12,
        ) {
            let all: Vec<Node> = nodes
                .iter()
                .enumerate()
                .map(|(i, (m, r))| node(i, *m, *r, false))
                .collect();
            let me = format!("{:0>25}", me % nodes.len());
            let v = Managers::of(&all, &me);
            let managers = all.iter().filter(|n| n.manager_status.is_some()).count();
            let up_without_me = all
                .iter()
                .filter(|n| n.id != me)
                .filter(|n| n.manager_status.as_ref().is_some_and(|s| s.reachability == "reachable"))
                .count();
            prop_assert_eq!(v.total, managers);
            let quorum = managers / 2 + 1;
            prop_assert_eq!(v.keep_quorum_without_me(), up_without_me >= quorum);
        }
    }

    #[test]
    fn the_scheduled_turn_is_the_first_reachable_follower() {
        let nodes = vec![
            node(3, true, true, true),
            node(5, true, false, false),
            node(7, true, true, false),
            node(9, true, true, false),
            node(1, false, false, false),
        ];
        let v = Managers::of(&nodes, &format!("{:0>25}", 9));
        assert_eq!(v.chosen(), Some(format!("{:0>25}", 7).as_str()));
        assert_eq!(v.leader, Some(format!("{:0>25}", 3)));
        assert_eq!((v.total, v.reachable_others), (4, 2));
        // Four managers need three: two others up are not enough.
        assert!(!v.keep_quorum_without_me());
    }
}
