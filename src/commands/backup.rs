//! `backup` and `restore` on a manager: three phases each (steps/backup/), under the lock,
//! with report.json; `--plan` shows them and changes nothing.

use crate::cli::{BackupArgs, Cli, RestoreArgs};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::runner::Step;
use crate::steps::{self, Options};

use super::{Spec, Steps};

pub fn run_backup(cli: &Cli, a: &BackupArgs) -> Result<i32> {
    let spec = Spec {
        name: "backup",
        steps: Steps::Table(BACKUP_PHASES),
        plans_only: a.plan,
        doer: "backup",
    };
    let opts = Options {
        force: a.force,
        scheduled: a.scheduled,
        ..Options::default()
    };
    let result = super::run_steps(cli, &spec, opts);
    // A backup that failed after docker stopped (tar, a full disk) never leaves it stopped.
    if !a.plan
        && let Err(e) = &result
        && !matches!(e, Error::Refused(_) | Error::Locked { .. })
    {
        steps::backup::recover(&Host::new(&cli.root));
    }
    result
}

pub fn run_restore(cli: &Cli, a: &RestoreArgs) -> Result<i32> {
    let spec = Spec {
        name: "restore",
        steps: Steps::Table(RESTORE_PHASES),
        plans_only: a.plan,
        doer: "restore ARCHIVE",
    };
    let archive = std::path::absolute(&a.archive).unwrap_or_else(|_| a.archive.clone());
    let opts = Options {
        archive: Some(archive.display().to_string()),
        advertise_addr: a.advertise_addr.clone(),
        force: a.force,
        ..Options::default()
    };
    super::run_steps(cli, &spec, opts)
}

const fn phase(
    name: &'static str,
    plan: fn(&crate::host::Host, &steps::Run) -> Result<steps::StepPlan>,
) -> Step {
    Step {
        name,
        section: "",
        wanted: |_| true,
        plan,
        explain: |e| e,
    }
}

/// The phases of `backup`, in the order they run.
pub const BACKUP_PHASES: &[Step] = &[
    phase("backup", steps::backup::plan_start),
    phase("archive", steps::backup::plan_archive),
    phase("finish", steps::backup::plan_finish),
];

/// The phases of `restore`, in the order they run.
pub const RESTORE_PHASES: &[Step] = &[
    phase("restore", steps::backup::restore::plan_start),
    phase("state", steps::backup::restore::plan_place),
    phase("swarm", steps::backup::restore::plan_reform),
];
