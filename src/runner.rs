//! The step runner: a command is a list of steps (src/commands/ says which), each planned the
//! same way (`plan(&Host, &Run)`), then shown (`plan`) or carried out (`apply`): observe → plan →
//! apply, then observe again until nothing is left to do. What happened goes into the report;
//! nothing is printed here.

use std::time::Instant;

use crate::error::{Error, Refusal, Result};
use crate::host::Host;
use crate::report::{ActionReport, Report, StepReport};
use crate::steps::Run;
use crate::steps::plan::StepPlan;

/// Rounds of apply → observe again before a step is declared not converging.
const MAX_ROUNDS: usize = 3;

/// One step: its name, whether the profile asks for it, how it plans, and how its errors read.
pub struct Step {
    pub name: &'static str,
    /// The profile key that asks for the step (`storage`, `engine`, `mounts`, `swarm`), for
    /// messages; empty for a step no profile section asks for (firstboot).
    pub section: &'static str,
    /// Whether this run takes the step (the profile has its section; firstboot: offline).
    pub wanted: fn(&Run) -> bool,
    pub plan: fn(&Host, &Run) -> Result<StepPlan>,
    /// Turns typed host errors into what the person reads (identity for most steps).
    pub explain: fn(Error) -> Error,
}

/// Runs the steps: each one planned, then (unless planning) applied until converged. Stops at the
/// first error; the report holds every step done so far.
pub fn run_steps(host: &Host, run: &Run, steps: &[&Step], report: &mut Report) -> Result<()> {
    for s in steps {
        let started = Instant::now();
        let r = if run.opts.planning {
            plan_step(host, run, s).map(|p| {
                report.steps.push(StepReport::from_plan(&p, status_of(&p)));
            })
        } else {
            apply(host, run, s, report)
        };
        if let Some(last) = report.steps.last_mut().filter(|l| l.step == s.name) {
            last.duration_ms = started.elapsed().as_millis() as u64;
        }
        r.map_err(s.explain)?;
    }
    Ok(())
}

/// The step's plan, under the step's name whatever the plan calls itself.
fn plan_step(host: &Host, run: &Run, s: &Step) -> Result<StepPlan> {
    let mut p = (s.plan)(host, run)?;
    p.step = s.name;
    writes_allowed(host, &p)?;
    crate::steps::plan::add_relabel(host, &mut p)?;
    Ok(p)
}

/// Every file the plan writes or moves aside (swarmnode's own state apart) is one of
/// swarmnode's, reached without a symbolic link: else refused before the step changes anything.
fn writes_allowed(host: &Host, p: &StepPlan) -> Result<()> {
    use crate::host::Effect;
    for a in &p.actions {
        let path = match &a.effect {
            Effect::Write { path, .. } if !path.starts_with(crate::host::state::DIR) => path,
            Effect::Rename { from, to } if *to == format!("{from}{}", crate::host::fs::ASIDE) => {
                from
            }
            _ => continue,
        };
        if let Some(why) = host.not_writable(path)? {
            return Err(Refusal::new(p.step, path.clone(), why).into());
        }
    }
    Ok(())
}

fn status_of(p: &StepPlan) -> &'static str {
    match &p.skipped {
        Some(_) if p.deferred => "deferred",
        Some(_) => "skipped",
        None => "planned",
    }
}

/// observe → plan → apply, then observe again; repeat until nothing is left to do.
fn apply(host: &Host, run: &Run, s: &Step, report: &mut Report) -> Result<()> {
    let mut p = plan_step(host, run, s)?;
    let mut sr = StepReport::from_plan(&p, "converged");
    sr.actions.clear();
    if p.skipped.is_some() {
        sr.status = status_of(&p);
        report.steps.push(sr);
        return Ok(());
    }
    report.steps.push(sr);
    let idx = report.steps.len() - 1;
    let mut rounds = 0;
    while !p.actions.is_empty() {
        rounds += 1;
        if rounds > MAX_ROUNDS {
            report.steps[idx].status = "failed";
            let left: Vec<String> = p.actions.iter().map(|a| a.to_string()).collect();
            return Err(Error::Failed(format!(
                "{}: still not in the wanted state after {MAX_ROUNDS} rounds; left to do:\n  {}",
                p.step,
                left.join("\n  ")
            )));
        }
        if let Err(e) = apply_round(host, &p, &mut report.steps[idx]) {
            report.steps[idx].status = "failed";
            return Err(e);
        }
        p = plan_step(host, run, s)?;
        report.steps[idx].observed_again(&p);
    }
    if !report.steps[idx].actions.is_empty() {
        report.steps[idx].status = "changed";
    }
    Ok(())
}

/// Carries out every action of one round; a signal stops it between two actions.
fn apply_round(host: &Host, p: &StepPlan, sr: &mut StepReport) -> Result<()> {
    for a in &p.actions {
        crate::host::signals::check(|| format!("before `{}`", a.id))?;
        let t = Instant::now();
        host.execute(a).map_err(|e| match e {
            Error::Interrupted { signal, during } => Error::Interrupted {
                signal,
                during: format!("{during} in `{}`", a.id),
            },
            e => e,
        })?;
        sr.actions.push(ActionReport {
            action: a.clone(),
            duration_ms: Some(t.elapsed().as_millis() as u64),
        });
        // The action that was running when the signal came was allowed to finish.
        crate::host::signals::check(|| format!("while `{}` ran (it was allowed to finish)", a.id))?;
    }
    Ok(())
}
