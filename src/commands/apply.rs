//! `apply` (every step the profile asks for) and its subsets `storage`, `engine`, `mounts` and
//! `join` (one step alone, whose profile section must be there): changes the node, under the
//! lock, and writes report.json. Offline (a kickstart %post) `apply` does what needs no running
//! service and leaves the rest to the first boot. Here too: the table of the steps in the order
//! a node is built, and how each is planned from the run.

use crate::cli::{Cli, StorageArgs};
use crate::error::{Error, Refusal, Result};
use crate::host::Host;
use crate::runner::Step;
use crate::steps::{self, Options, Run, StepPlan};

use super::{Spec, Steps};

/// `apply`, or one step of it alone (`storage`, `engine`, `mounts`, `join`: `one` names it).
pub fn run(cli: &Cli, a: &StorageArgs, one: Option<&'static str>) -> Result<i32> {
    let name = match one {
        None => "apply",
        Some("swarm") => "join",
        Some(s) => s,
    };
    let spec = Spec {
        name,
        steps: one.map_or(Steps::Every, Steps::One),
        plans_only: false,
        doer: "apply",
    };
    // Only apply and plan look for a kickstart %post: the one-step commands run on a booted node.
    let offline = match one {
        None => Host::new(&cli.root).offline().map(str::to_string),
        Some(_) => None,
    };
    super::run_steps(cli, &spec, options(a, offline, one.is_some()))
}

/// The options of apply, plan and the one-step commands.
pub fn options(a: &StorageArgs, offline: Option<String>, alone: bool) -> Options {
    Options {
        offline,
        wipe: a.wipe,
        move_data: a.move_docker_data,
        reprovision: a.reprovision,
        alone,
        storage_overrides: super::overrides(a),
        ..Options::default()
    }
}

/// Every step, in the order a node is built: the order they run in.
pub const STEPS: &[Step] = &[
    Step {
        name: "storage",
        section: "storage",
        wanted: |r| r.profile.storage.is_some(),
        plan: plan_storage,
        explain: |e| e,
    },
    Step {
        name: "engine",
        section: "engine",
        wanted: |r| r.profile.engine.is_some(),
        plan: plan_engine,
        explain: |e| e,
    },
    Step {
        name: "mounts",
        section: "mounts",
        wanted: |r| r.profile.mounts.is_some(),
        plan: plan_mounts,
        explain: |e| e,
    },
    Step {
        name: "swarm",
        section: "swarm",
        wanted: |r| r.profile.swarm.is_some(),
        plan: plan_swarm,
        explain: steps::swarm::explain,
    },
    Step {
        name: "broker",
        section: "broker",
        wanted: |r| r.profile.broker.is_some(),
        plan: plan_broker,
        explain: |e| e,
    },
    Step {
        name: "check",
        section: "check",
        // With the section, the timer is installed (check.timer) or taken away (off).
        wanted: |r| r.profile.check.is_some(),
        plan: plan_check_timer,
        explain: |e| e,
    },
    Step {
        name: "backup",
        section: "backup",
        // With the section, the backup timer (the backup itself is `swarmnode backup`).
        wanted: |r| r.profile.backup.is_some(),
        plan: plan_backup_timer,
        explain: |e| e,
    },
    Step {
        name: "firstboot",
        section: "",
        wanted: |r| r.opts.offline.is_some(),
        plan: plan_firstboot,
        explain: |e| e,
    },
];

pub fn step(name: &str) -> &'static Step {
    STEPS.iter().find(|s| s.name == name).expect("a known step")
}

/// A one-step command whose section the profile does not have: nothing to do, say so.
pub fn missing_section(command: &str, s: &Step) -> Error {
    let why = if s.name == "storage" {
        "the profile has no storage section and no --device was given".to_string()
    } else {
        format!("the profile has no {} section", s.section)
    };
    Refusal::new(command, "the profile", why)
        .remedy("nothing to do")
        .into()
}

// ---- each step as the runner calls it: `plan(&Host, &Run)`

/// The storage step; what it decides is kept in the run for the engine step.
fn plan_storage(h: &Host, run: &Run) -> Result<StepPlan> {
    let s = run.profile.storage.as_ref().expect("wanted");
    let (p, rec) = steps::storage::plan(
        h,
        &steps::storage::Request {
            storage: s,
            wipe: run.opts.wipe,
            move_data: run.opts.move_data,
            reprovision: run.opts.reprovision
                || s.previous_installation == crate::profile::PreviousInstallation::Recreate,
            engine: &|| run.engine(h),
        },
    )?;
    run.memo.storage.replace(Some(rec));
    Ok(p)
}

/// The engine step, on what the storage step decided in this run, or recorded in an earlier one.
fn plan_engine(h: &Host, run: &Run) -> Result<StepPlan> {
    let e = run.profile.engine.as_ref().expect("wanted");
    let rec = match run.memo.storage.borrow().clone() {
        Some(r) => Some(r),
        None => crate::host::state::StorageRecord::read(h)?,
    };
    let driver = rec.as_ref().map(|r| r.driver);
    let pool = rec.map(|r| r.volume).unwrap_or_default();
    steps::engine::plan(h, e, driver, &pool, &|| run.engine(h))
}

/// The mounts step: checks only, so it has no actions.
fn plan_mounts(h: &Host, run: &Run) -> Result<StepPlan> {
    let m = run.profile.mounts.as_ref().expect("wanted");
    steps::mounts::plan(h, m, run.opts.offline.is_some())
}

/// The swarm step; offline it is left to the first boot.
fn plan_swarm(h: &Host, run: &Run) -> Result<StepPlan> {
    let sw = run.profile.swarm.as_ref().expect("wanted");
    if let Some(why) = &run.opts.offline {
        return Ok(StepPlan::deferred(
            "swarm",
            format!(
                "deferred to the first boot ({why}): joining needs the network and a running docker"
            ),
        ));
    }
    let budget = if run.opts.planning {
        steps::swarm::PLAN_BUDGET.min(sw.join_timeout_seconds.secs())
    } else {
        sw.join_timeout_seconds.secs()
    };
    match steps::swarm::plan(h, sw, budget) {
        // `plan` of every step: before the engine step has started docker there is nothing to
        // observe yet.
        Err(Error::Engine(e @ crate::host::engine_api::ApiError::Connect { .. }))
            if run.opts.planning && !run.opts.alone =>
        {
            Ok(StepPlan::skipped(
                "swarm",
                format!(
                    "{}; apply joins once the engine answers",
                    crate::error::chain(&e)
                ),
            ))
        }
        r => r,
    }
}

/// The check timer, when the profile has a check section.
fn plan_broker(h: &Host, run: &Run) -> Result<StepPlan> {
    steps::broker_setup::plan(h, run.profile.broker.as_ref().expect("wanted"))
}

fn plan_check_timer(h: &Host, run: &Run) -> Result<StepPlan> {
    let profile = lasting_profile(run);
    steps::check_timer::plan(h, run.profile.check.as_ref().expect("wanted"), profile)
}

/// The backup timer, when the profile has a backup section.
fn plan_backup_timer(h: &Host, run: &Run) -> Result<StepPlan> {
    let profile = lasting_profile(run);
    steps::backup::timer::plan(h, run.profile.backup.as_ref().expect("wanted"), profile)
}

/// The profile a timer reads: offline, the first boot's copy is the one that stays (the
/// %post's may be in /tmp).
fn lasting_profile<'a>(run: &'a Run) -> &'a str {
    match &run.opts.offline {
        Some(_) => crate::profile::DEFAULT_PATH,
        None => run.opts.profile_path.as_str(),
    }
}

/// Offline only: what the first boot needs.
fn plan_firstboot(h: &Host, run: &Run) -> Result<StepPlan> {
    steps::firstboot::plan(h, run.profile)
}
