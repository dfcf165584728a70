//! `migrate-storage --to overlay2`: five phases (steps/migrate.rs), under the lock, with
//! report.json; `--plan` shows them and changes nothing. The storage and engine phases are
//! apply's own steps, asked for overlay2 with the data carried over.

use crate::cli::{Cli, MigrateArgs};
use crate::error::Result;
use crate::host::Host;
use crate::profile::Driver;
use crate::runner::Step;
use crate::steps::{self, Options, Run, StepPlan};

use super::{Spec, Steps};

pub fn run(cli: &Cli, a: &MigrateArgs) -> Result<i32> {
    let spec = Spec {
        name: "migrate-storage",
        steps: Steps::Table(PHASES),
        plans_only: a.plan,
        doer: "migrate-storage --to overlay2",
    };
    // The disk is the one the storage step recorded; the driver is overlay2, whatever the profile.
    let device = crate::host::state::StorageRecord::read(&Host::new(&cli.root))
        .ok()
        .flatten()
        .map(|r| r.device);
    let opts = Options {
        force: a.force,
        no_drain: a.no_drain,
        drain_seconds: a.drain_timeout,
        move_data: true,
        storage_overrides: crate::profile::StorageOverrides {
            device,
            driver: Some(Driver::Overlay2),
        },
        ..Options::default()
    };
    super::run_steps(cli, &spec, opts)
}

/// The phases of `migrate-storage`, in the order they run.
pub const PHASES: &[Step] = &[
    Step {
        name: "migrate",
        section: "",
        wanted: |_| true,
        plan: steps::migrate::plan_start,
        explain: steps::swarm::explain,
    },
    Step {
        name: "switch",
        section: "",
        wanted: |_| true,
        plan: steps::migrate::plan_switch,
        explain: |e| e,
    },
    Step {
        name: "storage",
        section: "",
        wanted: |_| true,
        plan: plan_storage,
        explain: |e| e,
    },
    Step {
        name: "engine",
        section: "",
        wanted: |_| true,
        plan: plan_engine,
        explain: |e| e,
    },
    Step {
        name: "finish",
        section: "",
        wanted: |_| true,
        plan: steps::migrate::plan_finish,
        explain: steps::swarm::explain,
    },
];

/// Whether this phase waits for the thin pool to go (the plan shows it; a run has removed it).
fn waits_for_the_pool(
    h: &Host,
    run: &Run,
    phase: &'static str,
    what: &str,
) -> Result<Option<StepPlan>> {
    if !steps::migrate::under_way(h, run)? {
        return Ok(Some(StepPlan::skipped(phase, "no migration under way")));
    }
    if steps::migrate::pool_there(h)? {
        return Ok(Some(StepPlan::deferred(
            phase,
            format!("once the thin pool is removed: {what}"),
        )));
    }
    Ok(None)
}

/// apply's storage step, for overlay2, the carried state copied into the new volume.
fn plan_storage(h: &Host, run: &Run) -> Result<StepPlan> {
    if let Some(p) = waits_for_the_pool(
        h,
        run,
        "storage",
        "the storage step for overlay2: VG/dockerdata, XFS (ftype=1), its fstab entry with \
         pquota, what /var/lib/docker still holds (the carried state) copied into it, mounted at \
         /var/lib/docker",
    )? {
        return Ok(p);
    }
    (super::apply::step("storage").plan)(h, run)
}

/// apply's engine step on the overlay2 record: daemon.json's storage-driver overlay2, the dm.*
/// options gone (the profile's engine section, or none: only the driver's keys change).
fn plan_engine(h: &Host, run: &Run) -> Result<StepPlan> {
    if let Some(p) = waits_for_the_pool(
        h,
        run,
        "engine",
        "daemon.json's storage-driver set to overlay2, its dm.* storage-opts removed",
    )? {
        return Ok(p);
    }
    let e = run.profile.engine.clone().unwrap_or_default();
    let rec = crate::host::state::StorageRecord::read(h)?;
    let driver = rec.as_ref().map(|r| r.driver);
    let pool = rec.map(|r| r.volume).unwrap_or_default();
    steps::engine::plan(h, &e, driver, &pool, &|| run.engine(h))
}
