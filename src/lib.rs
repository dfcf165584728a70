//! swarmnode: one binary that turns a freshly installed CentOS/RHEL-family host into a Docker Swarm
//! node. See README.md for usage and docs/architecture.md for the shape:
//!
//! - [`cli`]: the command line; [`profile`]: the profile, checked once into typed settings;
//! - [`runner`]: a command is a list of steps, each observe → plan → apply;
//! - [`steps`]: one module per step; [`host`]: the system boundary, the only door to the host;
//! - [`report`]: what a run did, rendered once after the work; [`error`]: errors and exit codes.

pub mod broker;
pub mod check;
pub mod cli;
pub mod docs;
pub mod error;
pub mod host;
pub mod profile;
pub mod report;
pub mod runner;
pub mod steps;
pub mod vocab;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cli::{Cli, Command};
use error::{Error, Refusal, Result, exit};
use host::Host;
use profile::{Driver, Profile, StorageOverrides};
use report::Report;
use runner::{STEPS, Step};
use steps::Run;

pub const DEFAULT_PROFILE: &str = "/etc/swarmnode/profile.json";

/// Runs one command; returns its exit code, or the error that decides it.
pub fn run(cli: &Cli) -> Result<i32> {
    if let Command::Check(a) = &cli.command {
        return run_check(cli, a);
    }
    if let Command::Broker = &cli.command {
        // No profile, no lock, no report: one request, answered or refused, and logged.
        let host = Host::new(&cli.root);
        let env = |k: &str| std::env::var(k).ok();
        return Ok(broker::run(&host, &env, &mut std::io::stdout().lock()));
    }
    if let Command::Generate { out } = &cli.command {
        return docs::write_all(out).map(|()| exit::OK);
    }
    run_steps_command(cli).map(|()| exit::OK)
}

/// `check`: read-only, no lock, no report; the exit code is the worst status's.
fn run_check(cli: &Cli, a: &cli::CheckArgs) -> Result<i32> {
    let (profile, read) = load_profile(cli)?;
    if !read {
        return Err(Refusal::new(
            "check",
            "the node",
            format!("there is no profile at {DEFAULT_PROFILE}"),
        )
        .remedy("check reads what the node should be from its profile: give --profile FILE")
        .into());
    }
    let host = Host::new(&cli.root);
    let format = if cli.json {
        check::Format::Json
    } else {
        a.format
    };
    let outputs = check::Outputs {
        xymon: a.xymon.clone(),
        textfile: a.textfile.clone(),
    };
    check::run(&host, &profile, format, cli.quiet, &outputs)
}

/// A command made of steps (every one but `check`).
fn run_steps_command(cli: &Cli) -> Result<()> {
    let started = Instant::now();
    let planning = cli.command.planning();
    if !planning {
        host::signals::catch();
    }
    let mut report = Report::new(cli.command.name());
    // Held until the report is written, so that no other run's report can come in between.
    let mut lock = None;
    let result = execute(cli, &mut report, &mut lock);
    report.duration_ms = started.elapsed().as_millis() as u64;
    finish(&mut report, planning, &result);
    // A run refused at the lock must not overwrite the report of the run that holds it.
    if !planning && !matches!(result, Err(Error::Locked { .. })) {
        let host = Host::new(&cli.root);
        if let Err(e) = host.write_state(host::state::REPORT.path, &(report.json() + "\n")) {
            tracing::warn!("{}", error::chain(&e));
        }
    }
    drop(lock);
    if cli.json {
        println!("{}", report.json());
    } else if !cli.quiet {
        print!("{}", report.text(planning, &mut |w| tracing::warn!("{w}")));
    }
    result
}

/// The result, exit code and error of the run, in the report.
fn finish(report: &mut Report, planning: bool, result: &Result<()>) {
    match result {
        Ok(()) => {
            report.exit_code = exit::OK;
            report.result = if planning {
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

/// The command's steps, run under the lock (except `plan`).
fn execute(cli: &Cli, report: &mut Report, lock: &mut Option<host::lock::Lock>) -> Result<()> {
    let (profile, _) = load_profile(cli)?;
    let host = Host::new(&cli.root);
    let planning = cli.command.planning();
    if !planning {
        *lock = Some(host::lock::acquire(
            &host.path_nofollow(host::state::LOCK.path)?,
        )?);
    }
    let alone = alone_step(&cli.command);
    let args = cli.command.storage_args();
    let reset = cli.command.reset_args();
    let run = Run {
        profile: &profile,
        profile_path: cli
            .profile
            .as_ref()
            .map_or(DEFAULT_PROFILE.to_string(), |p| {
                std::path::absolute(p)
                    .unwrap_or_else(|_| p.clone())
                    .display()
                    .to_string()
            }),
        planning,
        // Offline (kickstart %post): `plan`/`apply` do what needs no running service, defer the rest.
        offline: match cli.command {
            Command::Plan(_) | Command::Apply(_) => host.offline().map(str::to_string),
            _ => None,
        },
        engine: std::cell::OnceCell::new(),
        wipe: args.wipe,
        move_data: args.move_docker_data,
        reprovision: args.reprovision,
        force: reset.force,
        keep_storage: reset.keep_storage,
        alone: alone.is_some(),
        storage: RefCell::new(None),
    };
    let steps = chosen_steps(cli, &run, alone)?;
    report.offline = run.offline.clone();
    runner::run_steps(&host, &run, &steps, report)
}

/// The one step of `storage`, `engine`, `mounts` and `join`.
fn alone_step(c: &Command) -> Option<&'static Step> {
    match c {
        Command::Storage(_) => Some(runner::step("storage")),
        Command::Engine(_) => Some(runner::step("engine")),
        Command::Mounts => Some(runner::step("mounts")),
        Command::Join => Some(runner::step("swarm")),
        Command::Plan(_)
        | Command::Apply(_)
        | Command::Reset(_)
        | Command::Check(_)
        | Command::Broker
        | Command::Generate { .. } => None,
    }
}

/// The steps this command runs: the one it names (its profile section must be there), or every
/// step the profile asks for.
fn chosen_steps(cli: &Cli, run: &Run, alone: Option<&'static Step>) -> Result<Vec<&'static Step>> {
    if let Some(s) = alone {
        if !(s.wanted)(run) {
            return Err(runner::missing_section(cli.command.name(), s));
        }
        return Ok(vec![s]);
    }
    if matches!(cli.command, Command::Reset(_)) {
        return Ok(runner::RESET_STEPS
            .iter()
            .filter(|s| (s.wanted)(run))
            .collect());
    }
    let asked = STEPS
        .iter()
        .any(|s| !s.section.is_empty() && (s.wanted)(run));
    if !asked {
        return Err(Refusal::new(
            cli.command.name(),
            "the profile",
            format!(
                "there is no profile at {} and no --device was given",
                path_shown(cli)
            ),
        )
        .remedy("nothing to do: give --profile FILE or --device DEV")
        .into());
    }
    Ok(STEPS.iter().filter(|s| (s.wanted)(run)).collect())
}

/// The profile, with the command line's overrides; and whether a file was read (false: no
/// `--profile` and nothing at the default path, so the built-in defaults).
fn load_profile(cli: &Cli) -> Result<(Profile, bool)> {
    let args = cli.command.storage_args();
    let (path, explicit): (PathBuf, bool) = match &cli.profile {
        Some(p) => (p.clone(), true),
        None => (
            host::fs::in_root(&cli.root, DEFAULT_PROFILE, true).map_err(|e| {
                Error::io(
                    format!("cannot resolve {DEFAULT_PROFILE} inside the root"),
                    e,
                )
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
    let profile = profile.with_storage_overrides(&StorageOverrides {
        device: args.device.clone(),
        driver: args.driver.map(Driver::from),
    });
    profile.validate().map_err(|i| i.in_file(&path))?;
    Ok((profile, read))
}

fn path_shown(cli: &Cli) -> String {
    cli.profile
        .clone()
        .unwrap_or_else(|| Path::new(DEFAULT_PROFILE).to_path_buf())
        .display()
        .to_string()
}
