//! The commands, one file each, each saying in one place what it runs: which steps (or none),
//! whether it only plans (no lock, no report.json, nothing changed), and its exit code.
//!
//! | command | file | steps | plans only | lock, report.json |
//! |---|---|---|---|---|
//! | `apply`, `storage`, `engine`, `mounts`, `join` | [`apply`] | every step the profile asks for, or one | no | yes |
//! | `plan` | [`plan`] | apply's | yes | no |
//! | `reset` | [`reset`] | reset's phases | without `--yes` | with `--yes` |
//! | `drain`, `activate` | [`drain`] | one step of its own | no | yes |
//! | `migrate-storage` | [`migrate`] | its five phases | with `--plan` | without `--plan` |
//! | `backup`, `restore` | [`backup`] | three phases each | with `--plan` | without `--plan` |
//! | `check` | [`check`] | none: the checks | (read-only) | no |
//! | `broker` | [`broker`] | none: one request | — | no (the journal) |
//! | `generate` | [`generate`] | none: files from the command line | — | no |
//!
//! A command of steps is a [`Spec`]; [`run_steps`] runs any of them the same way: the profile
//! loaded and checked, the lock taken (unless it plans only), the steps planned and applied by
//! [`crate::runner`], the report written and rendered once.

pub mod apply;
pub mod backup;
pub mod broker;
pub mod check;
pub mod drain;
pub mod generate;
pub mod migrate;
pub mod plan;
pub mod reset;

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cli::{Cli, Command, StorageArgs};
use crate::error::{self, Error, Refusal, Result, exit};
use crate::host::{self, Host};
use crate::profile::{DEFAULT_PATH, Driver, Profile, StorageOverrides};
use crate::report::Report;
use crate::runner::{self, Step};
use crate::steps::{Memo, Options, Run};

/// Runs the command the command line names; its exit code, or the error that decides it.
pub fn run(cli: &Cli) -> Result<i32> {
    match &cli.command {
        Command::Apply(a) => apply::run(cli, a, None),
        Command::Storage(a) => apply::run(cli, a, Some("storage")),
        Command::Engine(a) => apply::run(cli, a, Some("engine")),
        Command::Mounts => apply::run(cli, &StorageArgs::default(), Some("mounts")),
        Command::Join => apply::run(cli, &StorageArgs::default(), Some("swarm")),
        Command::Plan(a) => plan::run(cli, a),
        Command::Reset(r) => reset::run(cli, r),
        Command::Drain(a) => drain::run(cli, "drain", a.timeout),
        Command::Activate => drain::run(cli, "activate", 0),
        Command::MigrateStorage(a) => migrate::run(cli, a),
        Command::Backup(a) => backup::run_backup(cli, a),
        Command::Restore(a) => backup::run_restore(cli, a),
        Command::Check(a) => check::run(cli, a),
        Command::Broker(a) => broker::run(cli, a),
        Command::Generate { out, docs } => generate::run(out, docs.as_deref()),
    }
}

/// A command made of steps: its name (in the report), which steps, whether it only plans, and
/// what carries out its plan (for the text: `apply`, `reset --yes`).
pub struct Spec {
    pub name: &'static str,
    pub steps: Steps,
    pub plans_only: bool,
    pub doer: &'static str,
}

/// Which steps a command runs.
pub enum Steps {
    /// Every step of [`apply::STEPS`] the profile asks for (at least one).
    Every,
    /// This one step of [`apply::STEPS`] alone; its profile section must be there.
    One(&'static str),
    /// A table of the command's own, each taken when its `wanted` says so (reset's
    /// [`reset::PHASES`]).
    Table(&'static [Step]),
}

/// Runs a command of steps: the report written (unless it plans only, or another run holds the
/// lock) and rendered once, whatever happened.
pub fn run_steps(cli: &Cli, spec: &Spec, opts: Options) -> Result<i32> {
    let started = Instant::now();
    if !spec.plans_only {
        host::signals::catch();
    }
    let mut report = Report::new(spec.name);
    // Held until the report is written, so that no other run's report can come in between.
    let mut lock = None;
    let result = execute(cli, spec, opts, &mut report, &mut lock);
    report.duration_ms = started.elapsed().as_millis() as u64;
    finish(&mut report, spec.plans_only, &result);
    // A run refused at the lock must not overwrite the report of the run that holds it.
    if !spec.plans_only && !matches!(result, Err(Error::Locked { .. })) {
        let host = Host::new(&cli.root);
        if let Err(e) = host.write_state(host::state::REPORT.path, &(report.json() + "\n")) {
            tracing::warn!("{}", error::chain(&e));
        }
    }
    drop(lock);
    if cli.json {
        println!("{}", report.json());
    } else if !cli.quiet {
        let doer = spec.plans_only.then_some(spec.doer);
        print!("{}", report.text(doer, &mut |w| tracing::warn!("{w}")));
    }
    result.map(|()| exit::OK)
}

/// The result, exit code and error of the run, in the report.
fn finish(report: &mut Report, plans_only: bool, result: &Result<()>) {
    match result {
        Ok(()) => {
            report.exit_code = exit::OK;
            report.result = if plans_only {
                "planned".into()
            } else if report.steps.iter().any(|s| s.status == "changed") {
                "changed".into()
            } else {
                "converged".into()
            };
        }
        Err(e) => {
            report.exit_code = e.exit_code();
            report.result = e.kind().into();
            report.error = Some(error::chain(e));
            if let Error::Refused(r) = e {
                report.refusal = Some((**r).clone());
            }
        }
    }
}

/// The command's steps, run under the lock (unless it plans only).
fn execute(
    cli: &Cli,
    spec: &Spec,
    mut opts: Options,
    report: &mut Report,
    lock: &mut Option<host::lock::Lock>,
) -> Result<()> {
    let (profile, _) = load_profile(cli, &opts.storage_overrides)?;
    let host = Host::new(&cli.root);
    if !spec.plans_only {
        *lock = Some(host::lock::acquire(
            &host.path_nofollow(host::state::LOCK.path)?,
        )?);
    }
    opts.planning = spec.plans_only;
    opts.profile_path = cli.profile.as_ref().map_or(DEFAULT_PATH.to_string(), |p| {
        std::path::absolute(p)
            .unwrap_or_else(|_| p.clone())
            .display()
            .to_string()
    });
    let run = Run {
        profile: &profile,
        opts,
        memo: Memo::default(),
    };
    let steps = chosen_steps(spec, &run, cli)?;
    report.offline = run.opts.offline.clone();
    runner::run_steps(&host, &run, &steps, report)
}

/// The steps this command runs: the one it names (its profile section must be there), reset's
/// phases, or every step the profile asks for.
fn chosen_steps(spec: &Spec, run: &Run, cli: &Cli) -> Result<Vec<&'static Step>> {
    match spec.steps {
        Steps::One(name) => {
            let s = apply::step(name);
            if !(s.wanted)(run) {
                return Err(apply::missing_section(spec.name, s));
            }
            Ok(vec![s])
        }
        Steps::Table(table) => Ok(table.iter().filter(|s| (s.wanted)(run)).collect()),
        Steps::Every => {
            let asked = apply::STEPS
                .iter()
                .any(|s| !s.section.is_empty() && (s.wanted)(run));
            if !asked {
                return Err(Refusal::new(
                    spec.name,
                    "the profile",
                    format!(
                        "there is no profile at {} and no --device was given",
                        path_shown(cli)
                    ),
                )
                .remedy("nothing to do: give --profile FILE or --device DEV")
                .into());
            }
            Ok(apply::STEPS.iter().filter(|s| (s.wanted)(run)).collect())
        }
    }
}

/// The storage options of the command line, as overrides of the profile.
pub fn overrides(a: &StorageArgs) -> StorageOverrides {
    StorageOverrides {
        device: a.device.clone(),
        driver: a.driver.map(Driver::from),
    }
}

/// The profile, with the command line's overrides; and whether a file was read (false: no
/// `--profile` and nothing at the default path, so the built-in defaults).
pub fn load_profile(cli: &Cli, overrides: &StorageOverrides) -> Result<(Profile, bool)> {
    let (path, explicit): (PathBuf, bool) = match &cli.profile {
        Some(p) => (p.clone(), true),
        None => (
            host::fs::in_root(&cli.root, DEFAULT_PATH, true).map_err(|e| {
                Error::io(format!("cannot resolve {DEFAULT_PATH} inside the root"), e)
            })?,
            false,
        ),
    };
    let read = explicit || path.exists();
    let profile = if read {
        Profile::load(&path)?
    } else {
        tracing::debug!("no profile at {}: built-in defaults", path.display());
        Profile::default()
    };
    let profile = profile.with_storage_overrides(overrides);
    profile.validate().map_err(|i| i.in_file(&path))?;
    Ok((profile, read))
}

fn path_shown(cli: &Cli) -> String {
    cli.profile
        .clone()
        .unwrap_or_else(|| Path::new(DEFAULT_PATH).to_path_buf())
        .display()
        .to_string()
}
