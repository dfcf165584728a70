//! swarmnode: one binary that turns a freshly installed CentOS/RHEL-family host into a Docker Swarm
//! node. See README.md for usage and DESIGN (shared) for the shape:
//!
//! - [`cli`]: the command line; [`profile`]: the profile and its validation;
//! - [`host`]: the system boundary (commands, files, block devices, LVM reports, the lock);
//! - [`steps`]: one module per step, each *observe → plan → apply*;
//! - [`report`]: what a run did.

pub mod cli;
pub mod error;
pub mod host;
pub mod profile;
pub mod report;
pub mod steps;

use std::path::{Path, PathBuf};
use std::time::Instant;

use cli::{Cli, Command};
use error::{Error, Result, exit};
use host::Host;
use host::secret::scrub;
use profile::{Driver, Profile, StorageOverrides};
use report::{ActionReport, REPORT_PATH, Report, StepReport};
use steps::StepPlan;

pub const DEFAULT_PROFILE: &str = "/etc/swarmnode/profile.json";
/// Rounds of apply → observe again before a step is declared not converging.
const MAX_ROUNDS: usize = 3;

/// Where text goes: nowhere with --json or -q.
struct Out {
    on: bool,
}

impl Out {
    fn line(&self, s: impl AsRef<str>) {
        if self.on {
            println!("{}", scrub(s.as_ref()));
        }
    }
}

/// Runs one command; returns the error that decides the exit code.
pub fn run(cli: &Cli) -> Result<()> {
    let started = Instant::now();
    if !matches!(cli.command, Command::Plan(_)) {
        host::signals::catch();
    }
    let mut report = Report::new(cli.command.name());
    let result = dispatch(cli, &mut report);
    report.duration_ms = started.elapsed().as_millis() as u64;
    match &result {
        Ok(()) => {
            report.exit_code = exit::OK;
            report.result = match cli.command {
                Command::Plan(_) => "planned".into(),
                _ if report.steps.iter().any(|s| s.status == "changed") => "changed".into(),
                _ => "converged".into(),
            };
        }
        Err(e) => {
            report.exit_code = e.exit_code();
            report.result = e.kind().into();
            report.error = Some(error::chain(e));
        }
    }
    let mutating = !matches!(cli.command, Command::Plan(_));
    // A run refused at the lock must not overwrite the report of the run that holds it.
    if mutating && !matches!(result, Err(Error::Locked { .. })) {
        let host = Host::new(&cli.root);
        let text = scrub(&serde_json::to_string_pretty(&report).expect("serializable"))
            .into_owned()
            + "\n";
        if let Err(e) = host.write_state(REPORT_PATH, &text) {
            tracing::warn!("{}", error::chain(&e));
        }
    }
    if cli.json {
        println!(
            "{}",
            scrub(&serde_json::to_string_pretty(&report).expect("serializable"))
        );
    }
    result
}

fn load_profile(cli: &Cli) -> Result<Profile> {
    let args = cli.command.storage_args();
    let (path, explicit): (PathBuf, bool) = match &cli.profile {
        Some(p) => (p.clone(), true),
        None => (host::fs::under(&cli.root, DEFAULT_PROFILE), false),
    };
    let profile = if explicit || path.exists() {
        Profile::load(&path)?
    } else {
        tracing::debug!("no profile at {}: built-in defaults", path.display());
        Profile::default()
    };
    let profile = profile.with_storage_overrides(&StorageOverrides {
        device: args.device.clone(),
        driver: args.driver.map(Driver::from),
    });
    profile.validate().map_err(|(key, msg)| Error::Profile {
        path: path.clone(),
        key,
        msg,
    })?;
    Ok(profile)
}

fn dispatch(cli: &Cli, report: &mut Report) -> Result<()> {
    let out = Out {
        on: !cli.json && !cli.quiet,
    };
    let profile = load_profile(cli)?;
    let host = Host::new(&cli.root);
    let args = cli.command.storage_args();
    let _lock = match cli.command {
        Command::Plan(_) => None,
        _ => Some(host::lock::acquire(
            &host.path_nofollow(host::lock::LOCK_PATH),
        )?),
    };
    let only = match cli.command {
        Command::Storage(_) => Some("storage"),
        Command::Engine(_) => Some("engine"),
        Command::Join => Some("swarm"),
        Command::Mounts => Some("mounts"),
        _ => None,
    };
    let wants = |step: &str| only.is_none_or(|o| o == step);
    if only == Some("storage") && profile.storage.is_none() {
        return Err(Error::Refused(
            "storage: the profile has no storage section and no --device was given; nothing to do"
                .into(),
        ));
    }
    if only == Some("engine") && profile.engine.is_none() {
        return Err(Error::Refused(
            "engine: the profile has no engine section; nothing to do".into(),
        ));
    }
    if only == Some("mounts") && profile.mounts.is_none() {
        return Err(Error::Refused(
            "mounts: the profile has no mounts section; nothing to do".into(),
        ));
    }
    if only == Some("swarm") && profile.swarm.is_none() {
        return Err(Error::Refused(
            "join: the profile has no swarm section; nothing to do".into(),
        ));
    }
    if profile.storage.is_none()
        && profile.engine.is_none()
        && profile.mounts.is_none()
        && profile.swarm.is_none()
    {
        return Err(Error::Refused(format!(
            "nothing to do: no profile at {} and no --device; give --profile FILE or --device DEV",
            path_shown(cli)
        )));
    }
    let planning = matches!(cli.command, Command::Plan(_));
    // Offline (kickstart %post): `plan`/`apply` do what needs no running service and defer the rest.
    let offline = match cli.command {
        Command::Plan(_) | Command::Apply(_) => host.offline().map(str::to_string),
        _ => None,
    };
    if let Some(why) = &offline {
        out.line(format!(
            "offline: {why}: doing what needs no running service; the rest is deferred to the first boot"
        ));
        report.offline = Some(why.clone());
    }
    // The installed engine, read once for both steps.
    let version = if (profile.storage.is_some() && wants("storage"))
        || (profile.engine.is_some() && wants("engine"))
    {
        host::docker::engine_version(&host)?
    } else {
        None
    };
    // What the storage step decided (planned now, or recorded by this or an earlier run).
    let mut planned_storage = None;
    if let Some(s) = profile.storage.as_ref().filter(|_| wants("storage")) {
        let req = steps::storage::Request {
            storage: s,
            wipe: args.wipe,
            move_data: args.move_docker_data,
            engine: version.as_ref(),
        };
        let storage_plan = |h: &Host| steps::storage::plan(h, &req);
        if planning {
            let p = storage_plan(&host)?;
            show_plan(&out, &p);
            planned_storage = steps::storage::Recorded::planned(&p);
            report.steps.push(StepReport::from_plan(&p, "planned"));
        } else {
            apply_step(&host, &out, report, storage_plan)?;
        }
    }
    if let Some(e) = profile.engine.as_ref().filter(|_| wants("engine")) {
        let rec = match planned_storage {
            Some(r) => Some(r),
            None => steps::storage::Recorded::read(&host)?,
        };
        let driver = rec.as_ref().map(|r| r.driver);
        let pool = rec.map(|r| r.volume).unwrap_or_default();
        let engine_plan = |h: &Host| steps::engine::plan(h, e, driver, &pool, version.as_ref());
        if planning {
            let p = engine_plan(&host)?;
            show_plan(&out, &p);
            report.steps.push(StepReport::from_plan(&p, "planned"));
        } else {
            apply_step(&host, &out, report, engine_plan)?;
        }
    }
    if let Some(m) = profile.mounts.as_ref().filter(|_| wants("mounts")) {
        // Checks only: nothing to apply.
        let p = steps::mounts::plan(&host, m, offline.is_some())?;
        show_plan(&out, &p);
        let status = if planning { "planned" } else { "converged" };
        report.steps.push(StepReport::from_plan(&p, status));
    }
    if let (Some(why), Some(_)) = (&offline, &profile.swarm) {
        let p = StepPlan::skipped(
            "swarm",
            format!(
                "deferred to the first boot ({why}): joining needs the network and a running docker"
            ),
        );
        show_plan(&out, &p);
        report.steps.push(StepReport::from_plan(&p, "deferred"));
    } else if let Some(sw) = profile.swarm.as_ref().filter(|_| wants("swarm")) {
        let swarm_plan = |h: &Host| steps::swarm::plan(h, sw);
        if planning {
            let p = match swarm_plan(&host) {
                // Before the engine step has started docker, there is nothing to observe yet.
                Err(Error::Engine(e @ host::engine_api::ApiError::Connect { .. }))
                    if only.is_none() =>
                {
                    StepPlan::skipped(
                        "swarm",
                        format!("{}; apply joins once the engine answers", error::chain(&e)),
                    )
                }
                r => r?,
            };
            show_plan(&out, &p);
            report.steps.push(StepReport::from_plan(&p, "planned"));
        } else {
            apply_step(&host, &out, report, swarm_plan)?;
        }
    }
    if offline.is_some() {
        let firstboot_plan = |h: &Host| steps::firstboot::plan(h, &profile);
        if planning {
            let p = firstboot_plan(&host)?;
            show_plan(&out, &p);
            report.steps.push(StepReport::from_plan(&p, "planned"));
        } else {
            apply_step(&host, &out, report, firstboot_plan)?;
        }
    }
    Ok(())
}

fn path_shown(cli: &Cli) -> String {
    cli.profile
        .clone()
        .unwrap_or_else(|| Path::new(DEFAULT_PROFILE).to_path_buf())
        .display()
        .to_string()
}

fn show_plan(out: &Out, p: &StepPlan) {
    if let Some(why) = &p.skipped {
        out.line(format!("{}: skipped: {why}", p.step));
        return;
    }
    show_facts(out, p);
    if p.actions.is_empty() {
        out.line(format!("{}: converged: nothing to do", p.step));
    } else {
        out.line(format!(
            "{}: apply would do {} action(s):",
            p.step,
            p.actions.len()
        ));
        for a in &p.actions {
            out.line(format!("  {a}"));
        }
    }
}

fn show_facts(out: &Out, p: &StepPlan) {
    for f in p.facts.iter().filter(|f| !f.starts_with("converged")) {
        out.line(format!("{}: {f}", p.step));
    }
    for w in &p.warnings {
        tracing::warn!("{}: {}", p.step, scrub(w));
    }
}

/// observe → plan → apply, then observe again; repeat until nothing is left to do.
fn apply_step(
    host: &Host,
    out: &Out,
    report: &mut Report,
    plan: impl Fn(&Host) -> Result<StepPlan>,
) -> Result<()> {
    let started = Instant::now();
    let mut p = plan(host)?;
    show_facts(out, &p);
    let mut sr = StepReport::from_plan(&p, "converged");
    sr.actions.clear();
    report.steps.push(sr);
    let idx = report.steps.len() - 1;
    let mut rounds = 0;
    let result = (|| {
        while !p.actions.is_empty() {
            rounds += 1;
            if rounds > MAX_ROUNDS {
                let left: Vec<String> = p.actions.iter().map(|a| a.to_string()).collect();
                return Err(Error::Failed(format!(
                    "{}: still not in the wanted state after {MAX_ROUNDS} rounds; left to do:\n  {}",
                    p.step,
                    left.join("\n  ")
                )));
            }
            for a in &p.actions {
                host::signals::check(|| format!("before `{}`", a.id))?;
                out.line(format!("  {a}"));
                let t = Instant::now();
                host.execute(a).map_err(|e| match e {
                    Error::Interrupted { signal, during } => Error::Interrupted {
                        signal,
                        during: format!("{during} in `{}`", a.id),
                    },
                    e => e,
                })?;
                report.steps[idx].actions.push(ActionReport {
                    action: a.clone(),
                    duration_ms: Some(t.elapsed().as_millis() as u64),
                });
                // The action that was running when the signal came was allowed to finish.
                host::signals::check(|| {
                    format!("while `{}` ran (it was allowed to finish)", a.id)
                })?;
            }
            p = plan(host)?;
        }
        Ok(())
    })();
    let step = &mut report.steps[idx];
    step.duration_ms = started.elapsed().as_millis() as u64;
    if rounds > 0 && result.is_ok() {
        // What the last observation found that the first could not (e.g. the swarm after a join).
        let mut last = StepPlan::new(p.step);
        last.facts = p
            .facts
            .iter()
            .filter(|f| !step.facts.contains(f))
            .cloned()
            .collect();
        last.warnings = p
            .warnings
            .iter()
            .filter(|w| !step.warnings.contains(w))
            .cloned()
            .collect();
        show_facts(out, &last);
        step.facts.extend(last.facts);
    }
    step.warnings = p.warnings.clone();
    match &result {
        Ok(()) if step.actions.is_empty() => {
            out.line(format!("{}: converged: nothing to do", step.step));
        }
        Ok(()) => {
            step.status = "changed";
            out.line(format!(
                "{}: done: {} action(s) in {:.1} s; now converged",
                step.step,
                step.actions.len(),
                step.duration_ms as f64 / 1000.0
            ));
        }
        Err(_) => step.status = "failed",
    }
    result
}
