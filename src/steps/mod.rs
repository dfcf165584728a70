//! The steps. Each one observes the host, plans the actions that would bring it to the wanted
//! state, and `apply` carries them out through [`Host::execute`]. `plan` is the same code path
//! minus the effects.

pub mod checktimer;
pub mod engine;
pub mod firstboot;
pub mod mounts;
pub mod plan;
pub mod reset;
pub mod storage;
pub mod swarm;

pub use plan::{StepPlan, plan_write};

use crate::error::{Error, Result};
use crate::host::Host;
use crate::host::docker::EngineVersion;
use crate::profile::Profile;

/// What one run knows before any step plans, read once and shared by every step.
pub struct Run<'a> {
    pub profile: &'a Profile,
    /// Where the profile was read from (`--profile`, or the default path).
    pub profile_path: String,
    /// `plan`: nothing is applied.
    pub planning: bool,
    /// Why running services are out of reach (kickstart %post), when they are.
    pub offline: Option<String>,
    /// The installed engine, read at most once, when a step first needs it (see [`Run::engine`]).
    pub engine: std::cell::OnceCell<Option<EngineVersion>>,
    pub wipe: bool,
    pub move_data: bool,
    /// `--reprovision`: a previous installation's own volumes may be made again.
    pub reprovision: bool,
    /// `reset --force`: the last manager (or one whose going loses quorum) is taken out anyway.
    pub force: bool,
    /// `reset --keep-storage`: the volumes, the fstab entry and the storage record stay.
    pub keep_storage: bool,
    /// The run's command is this one step alone (`storage`, `engine`, `mounts`, `join`).
    pub alone: bool,
    /// What the storage step decided in this run (planned or applied), for the engine step.
    pub storage: std::cell::RefCell<Option<crate::host::state::StorageRecord>>,
}

impl Run<'_> {
    /// The installed engine's version (`None`: no engine installed), read on first use only.
    pub fn engine(&self, host: &Host) -> Result<Option<EngineVersion>> {
        if let Some(v) = self.engine.get() {
            return Ok(v.clone());
        }
        let v = crate::host::docker::engine_version(host)?;
        let _ = self.engine.set(v.clone());
        Ok(v)
    }
}

/// How a step reads the engine version when it needs it.
pub type EngineLookup<'a> = &'a dyn Fn() -> Result<Option<EngineVersion>>;

// ---- each step as the runner calls it: `plan(&Host, &Run)`

/// The storage step; what it decides is kept in the run for the engine step.
pub fn plan_storage(h: &Host, run: &Run) -> Result<StepPlan> {
    let s = run.profile.storage.as_ref().expect("wanted");
    let (p, rec) = storage::plan(
        h,
        &storage::Request {
            storage: s,
            wipe: run.wipe,
            move_data: run.move_data,
            reprovision: run.reprovision
                || s.previous_installation == crate::profile::PreviousInstallation::Recreate,
            engine: &|| run.engine(h),
        },
    )?;
    run.storage.replace(Some(rec));
    Ok(p)
}

/// The engine step, on what the storage step decided in this run, or recorded in an earlier one.
pub fn plan_engine(h: &Host, run: &Run) -> Result<StepPlan> {
    let e = run.profile.engine.as_ref().expect("wanted");
    let rec = match run.storage.borrow().clone() {
        Some(r) => Some(r),
        None => crate::host::state::StorageRecord::read(h)?,
    };
    let driver = rec.as_ref().map(|r| r.driver);
    let pool = rec.map(|r| r.volume).unwrap_or_default();
    engine::plan(h, e, driver, &pool, &|| run.engine(h))
}

/// The mounts step: checks only, so it has no actions.
pub fn plan_mounts(h: &Host, run: &Run) -> Result<StepPlan> {
    let m = run.profile.mounts.as_ref().expect("wanted");
    mounts::plan(h, m, run.offline.is_some())
}

/// The swarm step; offline it is left to the first boot.
pub fn plan_swarm(h: &Host, run: &Run) -> Result<StepPlan> {
    let sw = run.profile.swarm.as_ref().expect("wanted");
    if let Some(why) = &run.offline {
        return Ok(StepPlan::deferred(
            "swarm",
            format!(
                "deferred to the first boot ({why}): joining needs the network and a running docker"
            ),
        ));
    }
    let budget = if run.planning {
        swarm::PLAN_BUDGET.min(sw.join_timeout_seconds.secs())
    } else {
        sw.join_timeout_seconds.secs()
    };
    match swarm::plan(h, sw, budget) {
        // `plan` of every step: before the engine step has started docker there is nothing to
        // observe yet.
        Err(Error::Engine(e @ crate::host::engine_api::ApiError::Connect { .. }))
            if run.planning && !run.alone =>
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

/// The check timer, when the profile asks for it.
pub fn plan_check(h: &Host, run: &Run) -> Result<StepPlan> {
    // Offline, the first boot's copy is the profile that stays (the %post's may be in /tmp).
    let profile = match &run.offline {
        Some(_) => firstboot::PROFILE_PATH,
        None => run.profile_path.as_str(),
    };
    checktimer::plan(h, run.profile.check.as_ref().expect("wanted"), profile)
}

/// Offline only: what the first boot needs.
pub fn plan_firstboot(h: &Host, run: &Run) -> Result<StepPlan> {
    firstboot::plan(h, run.profile)
}
