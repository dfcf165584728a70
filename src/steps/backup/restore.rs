//! `restore ARCHIVE` on a manager whose docker holds no swarm: the archive judged (its listing
//! and manifest) before anything changes, docker stopped, the state put in place, docker
//! started, the swarm re-formed from it as a swarm of this manager alone (`force-new-cluster`).
//!
//! Phases (commands/backup.rs): [`plan_start`] (checks, `restore.json`, docker stopped),
//! [`plan_place`] (the state extracted beside docker's own, then renamed into place),
//! [`plan_reform`] (docker started, `ForceNewCluster`, what was restored and what to do next).

use crate::error::{Error, Refusal, Result};
use crate::host::cmd::Cmd;
use crate::host::state::{self, RESTORE, RestoreRecord};
use crate::host::swarm::backup::{MANIFEST, Manifest, judge_listing};
use crate::host::swarm::{Info, SwarmOp};
use crate::host::{Action, Host, clock};
use crate::steps::Run;
use crate::steps::plan::StepPlan;

use super::{BACK_SECONDS, docker_root, engine_info};

/// Where the archive's state is extracted first, under docker's data root.
const STAGING: &str = "swarm.swarmnode-restore";

/// The archive the command line names.
fn archive<'a>(run: &'a Run) -> &'a str {
    run.opts.archive.as_deref().unwrap_or_default()
}

fn refuse(subject: impl Into<String>, why: impl Into<String>, remedy: &str) -> Error {
    Refusal::new("restore", subject, why).remedy(remedy).into()
}

/// tar, reading the archive (its output, whatever its exit status).
fn tar(h: &Host, args: &[&str]) -> Result<crate::host::cmd::Output> {
    let limit = std::time::Duration::from_secs(super::TAR_SECONDS);
    h.runner
        .output_timeout(&Cmd::new("tar").args(args.iter().copied()), limit)
        .map_err(|e| Error::Failed(format!("restore: {e}")))
}

/// The archive's manifest, once its file and listing are judged.
pub fn read_archive(h: &Host, path: &str) -> Result<Manifest> {
    let p = std::path::Path::new(path);
    let io = |e| Error::io(format!("restore: cannot examine {path}"), e);
    if let Some(why) = crate::host::fs::not_root_only(p).map_err(io)? {
        return Err(refuse(
            path,
            why,
            "keep archives root's alone (the backup directory is 0700), then run again",
        ));
    }
    let listing = tar(
        h,
        &[
            "--list",
            "--verbose",
            "--numeric-owner",
            "--quoting-style=escape",
            "--gzip",
            "--file",
            path,
        ],
    )?;
    if listing.code != 0 {
        return Err(refuse(
            path,
            format!(
                "tar cannot read it: {}",
                crate::host::text::escape_controls(listing.stderr.trim())
            ),
            "give an archive `swarmnode backup` wrote",
        ));
    }
    judge_listing(&listing.stdout).map_err(|why| {
        refuse(
            path,
            why,
            "give an archive `swarmnode backup` wrote; nothing was changed",
        )
    })?;
    let m = tar(
        h,
        &[
            "--extract",
            "--gzip",
            "--to-stdout",
            "--file",
            path,
            MANIFEST,
        ],
    )?;
    Manifest::parse(&m.stdout).map_err(|why| {
        refuse(
            path,
            format!("its {MANIFEST}: {why}"),
            "give an archive `swarmnode backup` wrote",
        )
    })
}

/// Phase 1: the archive and the engine judged; `restore.json`; docker stopped.
pub fn plan_start(h: &Host, run: &Run) -> Result<StepPlan> {
    let mut p = StepPlan::new("restore");
    let path = archive(run);
    if let Some(r) = RestoreRecord::read(h)? {
        if r.archive != path {
            return Err(refuse(
                state::RESTORE.path,
                format!("a restore of {} is under way", r.archive),
                "finish it: `swarmnode restore` with that archive",
            ));
        }
        p.facts
            .push(format!("a restore of {path} is under way: it goes on"));
        return Ok(p);
    }
    let m = read_archive(h, path)?;
    let Some(info) = engine_info(h)? else {
        return Err(refuse(
            "docker",
            "docker does not answer: restore must see that it holds no swarm",
            "start docker (`systemctl start docker`), then run restore again",
        ));
    };
    holds_no_swarm(&info)?;
    if !run.opts.force {
        not_answering(&m)?;
    }
    describe(&m, &info, &mut p);
    let r = RestoreRecord {
        archive: path.to_string(),
        node_id: m.node_id.clone(),
        docker_root: docker_root(h, &info),
        placed: false,
        reformed: false,
        advertise_addr: run
            .opts
            .advertise_addr
            .clone()
            .or_else(|| crate::host::net::is_local(&m.node_addr).then(|| m.node_addr.clone())),
    };
    if let Some(a) = &r.advertise_addr {
        p.facts
            .push(format!("the re-formed swarm's manager advertises {a}"));
    }
    p.actions.push(RESTORE.write(
        "restore.record",
        "what is restored, before docker stops (a run stopped from here on goes on from it)",
        r.text(),
        None,
    ));
    p.actions.push(super::docker_stop(
        "restore.docker-stop",
        "the swarm state is put in place with docker stopped",
    ));
    Ok(p)
}

/// A docker in a swarm (or locked in one) is never restored over.
fn holds_no_swarm(info: &Info) -> Result<()> {
    let st = &info.swarm;
    if st.local_node_state == "inactive" && st.node_id.is_empty() {
        return Ok(());
    }
    Err(refuse(
        format!("node {}", info.name),
        format!(
            "docker here holds a swarm (node {:?}, state {}): a restore would replace it",
            st.node_id, st.local_node_state
        ),
        "restore on a manager with no swarm (a fresh engine); this one leaves its swarm first \
         only if that swarm is the lost one (`docker swarm leave --force`)",
    ))
}

/// A manager of the archived swarm that still answers on its swarm port: the swarm may not be
/// lost, and a restore would run a second swarm with its identity beside it.
fn not_answering(m: &Manifest) -> Result<()> {
    use crate::host::net::{Reached, first_accepting};
    if let Reached::One(a) = first_accepting(&m.managers, std::time::Duration::from_secs(3)) {
        return Err(refuse(
            format!("manager {a}"),
            format!(
                "a manager of the archived swarm {} still answers on its swarm port: the swarm \
                 may not be lost",
                m.swarm_id
            ),
            "restore only when a majority of its managers are gone for good: while they run, \
             bring the others back or add managers; stop it for good first, or --force",
        ));
    }
    Ok(())
}

/// What the archive is, as facts of the plan.
fn describe(m: &Manifest, info: &Info, p: &mut StepPlan) {
    p.facts.push(format!(
        "the archive: swarm {}, taken {} on manager {} ({}) running docker {}; the managers \
         then: {}",
        m.swarm_id,
        clock::utc(m.taken),
        m.node_name,
        m.node_id,
        m.engine_version,
        m.managers.join(", ")
    ));
    if info.server_version != m.engine_version {
        p.warnings.push(format!(
            "docker here is {}, the archive's is {}: restore on the same version, or a newer \
             one (swarmkit reads older state, not newer)",
            info.server_version, m.engine_version
        ));
    }
    if m.autolock {
        p.warnings.push(
            "the swarm was autolocked: after docker starts, `docker swarm unlock` with the \
             unlock key kept when autolock was turned on, then restore again"
                .into(),
        );
    }
}

/// Phase 2: the state put in place with docker stopped.
pub fn plan_place(h: &Host, run: &Run) -> Result<StepPlan> {
    let mut p = StepPlan::new("state");
    let Some(r) = RestoreRecord::read(h)? else {
        return Ok(deferred(
            run,
            "state",
            "once docker is stopped: the archive's swarm/ extracted beside docker's data root, then renamed into place (a swarm/ there kept aside)",
        ));
    };
    if r.placed {
        p.facts
            .push(format!("the state of {} is in place", r.archive));
        return Ok(p);
    }
    if engine_info(h)?.is_some() {
        return Err(Error::Failed(
            "restore: docker runs again (someone started it) before the state was put in \
             place; stop it (`systemctl stop docker.socket docker.service`), then run restore \
             again"
                .into(),
        ));
    }
    let staging = format!("{}/{STAGING}", r.docker_root);
    let live = format!("{}/swarm", r.docker_root);
    if staging_done(h, &r, &staging, &live, &mut p)? {
        return Ok(p);
    }
    // Judged again right before it is extracted: the file may have changed since the start.
    let m = read_archive(h, &r.archive)?;
    if m.node_id != r.node_id {
        return Err(refuse(
            r.archive.as_str(),
            format!(
                "it is now of node {}, not {} as when the restore started",
                m.node_id, r.node_id
            ),
            "give the archive the restore started with",
        ));
    }
    if h.path_nofollow(&live)?.symlink_metadata().is_ok() {
        let aside = format!(
            "{live}.swarmnode-before-restore-{}",
            clock::stamp(clock::now())
        );
        p.actions.push(Action::rename(
            "restore.aside",
            "docker's own swarm/ (no swarm in it): kept aside",
            &live,
            &aside,
        ));
    }
    add_extract(h, &r, &staging, &mut p)?;
    p.actions.push(placed(&r));
    Ok(p)
}

/// What a stopped run left in the staging directory: cleared; or, stopped right after the
/// rename into place, the state there is the archive's (true: nothing more to put in place).
fn staging_done(
    h: &Host,
    r: &RestoreRecord,
    staging: &str,
    live: &str,
    p: &mut StepPlan,
) -> Result<bool> {
    let kind = crate::host::fs::kind_of(&h.path_nofollow(staging)?);
    if matches!(kind, Some(k) if k != crate::host::fs::Kind::Dir) {
        return Err(refuse(
            staging,
            "it is there and is not a directory (a link is never followed)",
            "look at it, remove it, then run restore again",
        ));
    }
    if kind.is_some() {
        if !h.path_nofollow(&format!("{staging}/swarm"))?.exists() && h.path(live)?.is_dir() {
            // Stopped right after the rename into place: the state there is the archive's.
            p.actions.push(Action::remove(
                "restore.staging-remove",
                "empty now",
                &format!("{staging}/"),
            ));
            p.actions.push(placed(r));
            return Ok(true);
        }
        p.actions.push(
            Action::run(
                "restore.staging-clear",
                "what a stopped run extracted",
                Cmd::new("rm").args([
                    "-rf",
                    "--one-file-system",
                    &h.path_nofollow(staging)?.to_string_lossy(),
                ]),
            )
            .within(super::TAR_SECONDS),
        );
    }
    Ok(false)
}

fn placed(r: &RestoreRecord) -> Action {
    RESTORE.write(
        "restore.placed",
        "the state is in place",
        RestoreRecord {
            placed: true,
            ..r.clone()
        }
        .text(),
        None,
    )
}

/// The archive's swarm/ extracted into `staging`, then renamed into place.
fn add_extract(h: &Host, r: &RestoreRecord, staging: &str, p: &mut StepPlan) -> Result<()> {
    let live = format!("{}/swarm", r.docker_root);
    p.actions.push(Action::mkdir(
        "restore.staging",
        "where the archive is extracted",
        staging,
        0o700,
    ));
    p.actions.push(
        Action::run(
            "restore.extract",
            "the archive's swarm/ (files and directories only, owned by root)",
            Cmd::new("tar").args([
                "--extract",
                "--gzip",
                "--no-same-owner",
                "--file",
                &r.archive,
                "--directory",
                &h.tool_path(staging)?,
                "swarm",
            ]),
        )
        .within(super::TAR_SECONDS),
    );
    p.actions.push(Action::rename(
        "restore.place",
        "the state in place",
        &format!("{staging}/swarm"),
        &live,
    ));
    p.actions.push(Action::remove(
        "restore.staging-remove",
        "empty now",
        &format!("{staging}/"),
    ));
    Ok(())
}

fn deferred(run: &Run, phase: &'static str, what: &str) -> StepPlan {
    if run.opts.planning {
        StepPlan::deferred(phase, what.to_string())
    } else {
        StepPlan::skipped(phase, "no restore under way")
    }
}

/// Phase 3: docker started on the state, the swarm re-formed, what was restored.
pub fn plan_reform(h: &Host, run: &Run) -> Result<StepPlan> {
    let mut p = StepPlan::new("swarm");
    let Some(r) = RestoreRecord::read(h)?.filter(|r| r.placed) else {
        return Ok(deferred(
            run,
            "swarm",
            "docker started; the swarm re-formed as a swarm of this manager alone (POST /swarm/init with ForceNewCluster); what was restored, and what to do next",
        ));
    };
    let Some(info) = engine_info(h)? else {
        p.actions.push(super::docker_start(
            "restore.docker-start",
            "docker, on the restored state",
        ));
        run.memo.restore_started.set(true);
        return Ok(p);
    };
    unlocked(run, &info, &r)?;
    loaded(&info, &r)?;
    if !r.reformed {
        p.actions.push(Action::swarm(
            "restore.new-cluster",
            "the swarm re-formed from the restored state, this manager alone",
            SwarmOp::NewCluster {
                listen_addr: "0.0.0.0:2377".into(),
                // Given on this run (the one that goes on after docker said it cannot choose),
                // else the one recorded at the start.
                advertise_addr: run.opts.advertise_addr.clone().or(r.advertise_addr.clone()),
                seconds: BACK_SECONDS,
            },
        ));
        p.actions.push(
            RESTORE.write(
                "restore.reformed",
                "the swarm is re-formed",
                RestoreRecord {
                    reformed: true,
                    ..r
                }
                .text(),
                None,
            ),
        );
        return Ok(p);
    }
    summary(h, &info, &mut p)?;
    forget_before(h, &mut p)?;
    p.actions
        .push(RESTORE.remove("restore.done", "the restore has finished"));
    Ok(p)
}

/// docker locked on the restored state: this run started it (a failure, 1: the state is in
/// place), or a later run finds it so (a refusal: nothing changed).
fn unlocked(run: &Run, info: &Info, r: &RestoreRecord) -> Result<()> {
    if info.swarm.local_node_state != "locked" {
        return Ok(());
    }
    if run.memo.restore_started.get() {
        return Err(Error::Failed(format!(
            "restore: docker started locked on the restored state of {} (the swarm is \
             autolocked): it needs its unlock key; `docker swarm unlock` (the key kept when \
             autolock was turned on), then run restore again to finish",
            r.archive
        )));
    }
    Err(refuse(
        format!("node {}", info.name),
        "the restored swarm is autolocked: docker needs its unlock key",
        "`docker swarm unlock` (the key kept when autolock was turned on), then run restore again",
    ))
}

/// What this node recorded of the swarm it was in says nothing of the restored one: removed.
fn forget_before(h: &Host, p: &mut StepPlan) -> Result<()> {
    for rec in [state::LABELLED, state::STALE_ASKED] {
        if h.read_record(rec.path)?.is_some() {
            p.actions.push(rec.remove(
                "restore.forget",
                "what was recorded of the swarm before the restore",
            ));
        }
    }
    Ok(())
}

/// docker came up on the state put in place (the archive's node), never an empty swarm.
fn loaded(info: &Info, r: &RestoreRecord) -> Result<()> {
    if info.swarm.node_id == r.node_id && info.swarm.local_node_state != "inactive" {
        return Ok(());
    }
    Err(Error::Failed(format!(
        "restore: docker started as node {:?} ({}), not {} from the archive: the state put in \
         place was not loaded; see `journalctl -u docker` and {}/swarm",
        info.swarm.node_id, info.swarm.local_node_state, r.node_id, r.docker_root
    )))
}

/// What to do after a restore (docs/backup.md, "Then").
const NEXT: &str = "next: rotate the join tokens (`docker swarm join-token --rotate worker`, and \
     `manager`); add managers until there are three (on each: `docker swarm leave --force`, then \
     `swarmnode join` with a manager profile); workers rejoin with the new token (on each: \
     `docker swarm leave --force`, then `swarmnode join`); remove the old entries that stay down \
     (`docker node rm`)";

/// What the re-formed swarm holds, and what to do next.
fn summary(h: &Host, info: &Info, p: &mut StepPlan) -> Result<()> {
    // Services, secrets and configs name themselves in their spec; networks at the top.
    #[derive(serde::Deserialize)]
    struct Named {
        #[serde(rename = "Spec", default)]
        spec: Option<NamedSpec>,
        #[serde(rename = "Name", default)]
        name: String,
    }
    #[derive(serde::Deserialize)]
    struct NamedSpec {
        #[serde(rename = "Name", default)]
        name: String,
    }
    let api = h.swarm_host()?;
    let names = |path: &str| -> Result<Vec<String>> {
        let v: Vec<Named> = api.api().get_json(path)?;
        let mut n: Vec<String> = v
            .into_iter()
            .map(|x| {
                let name = x.spec.map_or(x.name, |s| s.name);
                crate::host::text::escape_controls(&name).into_owned()
            })
            .collect();
        n.sort();
        Ok(n)
    };
    let show = |n: &[String]| format!("{} ({})", n.len(), n.join(", "));
    let nodes: Vec<crate::host::swarm::node::Node> = api.api().get_json("/nodes")?;
    let mut hosts: Vec<String> = nodes
        .iter()
        .map(|n| crate::host::text::escape_controls(&n.description.hostname).into_owned())
        .collect();
    hosts.sort();
    p.facts.push(format!(
        "restored into a swarm of one manager, {} ({}): services {}; secrets {}; configs {}; \
         swarm networks {}; nodes {}",
        info.name,
        info.swarm.node_id,
        show(&names("/services")?),
        show(&names("/secrets")?),
        show(&names("/configs")?),
        show(&names(
            "/networks?filters=%7B%22scope%22%3A%5B%22swarm%22%5D%7D"
        )?),
        show(&hosts)
    ));
    p.facts.push(NEXT.into());
    autolock_advice(h, p);
    Ok(())
}

/// With autolock on, that every manager restart needs the key (a warning when it cannot tell).
fn autolock_advice(h: &Host, p: &mut StepPlan) {
    match super::autolock_on(h) {
        Ok(false) => {}
        Ok(true) => p.facts.push(
            "autolock is on: every manager that restarts needs the unlock key (`docker swarm \
             unlock-key` shows it; keep it off-site, apart from the archives)"
                .into(),
        ),
        Err(e) => p.warnings.push(format!(
            "whether autolock is on could not be read ({}): `docker info` says it",
            crate::error::chain(&e)
        )),
    }
}
