//! `drain` and `activate`: this node's availability set, and a drain waited for until the
//! replicas that ran here run elsewhere ([`crate::host::swarm::tasks`]).
//!
//! A manager sets its own availability through its own engine. Any other node asks the
//! managers through the profile's channel (docker's `node update --availability`, or the
//! broker's `availability`), and asks the same way, while it waits, where its slots' tasks run
//! now. `reset` and `migrate-storage` drain first with [`add_first`].

use std::time::Duration;

use crate::error::{Refusal, Result};
use crate::host::swarm::node::Node;
use crate::host::swarm::tasks::{self, DrainWait, Here, TasksFrom};
use crate::host::swarm::{self, Info, SwarmOp};
use crate::host::{Action, Host};
use crate::profile::Swarm;
use crate::steps::Run;
use crate::steps::plan::StepPlan;

use super::channel::{self, Ask, Channel};

/// The bound of one call to the managers while a drain waits.
const POLL_BUDGET_SECONDS: u64 = 30;

/// How this node reaches the swarm's view of itself.
enum Via<'a> {
    /// It is a manager: its own engine.
    Local,
    /// The profile's channel to the managers.
    Managers(&'a Swarm, Vec<Channel<'a>>),
}

/// The `drain` command's step.
pub fn plan_drain(h: &Host, run: &Run) -> Result<StepPlan> {
    let mut p = StepPlan::new("drain");
    let info = member(h, "drain")?;
    let via = via(run, &info).ok_or_else(|| no_channel("drain", &info))?;
    add_drain(h, run, &info, &via, &mut p)?;
    Ok(p)
}

/// The `activate` command's step.
pub fn plan_activate(h: &Host, run: &Run) -> Result<StepPlan> {
    let mut p = StepPlan::new("activate");
    let info = member(h, "activate")?;
    if via(run, &info).is_none() {
        return Err(no_channel("activate", &info));
    }
    add_active(h, run, &info, &mut p)?;
    if p.actions.is_empty() {
        p.facts.push(format!(
            "{} (node {}): availability active",
            info.name, info.swarm.node_id
        ));
    }
    Ok(p)
}

/// What `reset` and `migrate-storage` do first: the drain, when the node has a way to the
/// managers; else a warning (it goes on undrained).
pub fn add_first(h: &Host, run: &Run, info: &Info, p: &mut StepPlan) -> Result<()> {
    if run.opts.no_drain {
        p.facts
            .push("--no-drain: the node is not drained first".into());
        return Ok(());
    }
    match via(run, info) {
        // With --force a node whose managers do not answer goes on undrained (reset, a last
        // manager's migration): the rest of the run says what it could not do.
        Some(v) if run.opts.force => {
            let mut tried = StepPlan::new("drain");
            match add_drain(h, run, info, &v, &mut tried) {
                Ok(()) => {
                    p.facts.append(&mut tried.facts);
                    p.actions.append(&mut tried.actions);
                    Ok(())
                }
                Err(e) => {
                    p.warnings.push(format!(
                        "--force: not drained first: {}",
                        crate::error::chain(&e)
                    ));
                    Ok(())
                }
            }
        }
        Some(v) => add_drain(h, run, info, &v, p),
        None => {
            p.warnings.push(
                "the profile has no channel to a manager (swarm.token ssh or tls): the node is \
                 not drained first"
                    .into(),
            );
            Ok(())
        }
    }
}

/// This node's availability as the swarm has it; none when the node has no way to ask.
pub fn current(h: &Host, run: &Run, info: &Info) -> Result<Option<String>> {
    match via(run, info) {
        Some(v) => Ok(Some(availability(h, info, &v)?.1)),
        None => Ok(None),
    }
}

/// The node made active again (unless it is), when it has a way to the managers.
pub fn add_active(h: &Host, run: &Run, info: &Info, p: &mut StepPlan) -> Result<()> {
    let Some(v) = via(run, info) else {
        p.warnings.push(format!(
            "the profile has no channel to a manager: make the node active there (`docker node \
             update --availability active {}`)",
            info.swarm.node_id
        ));
        return Ok(());
    };
    let (first, now) = availability(h, info, &v)?;
    if now != "active" {
        p.actions.push(set(h, info, &v, first, "active")?);
    }
    Ok(())
}

/// The node set to drain (unless it is), then the wait until the replicas that ran here run
/// elsewhere: those running here now, and the slots the managers say ran here (a drain run
/// again after a timeout, or after someone drained the node by hand, still waits for them).
fn add_drain(h: &Host, run: &Run, info: &Info, via: &Via, p: &mut StepPlan) -> Result<()> {
    let id = &info.swarm.node_id;
    let sh = h.swarm_host()?;
    let here = tasks::here(sh.api())?;
    let (first, now) = availability(h, info, via)?;
    p.facts
        .push(format!("{} (node {id}): availability {now}", info.name));
    facts_of(&here, p);
    if now != "drain" {
        p.actions.push(set(h, info, via, first, "drain")?);
    }
    let watch = tasks::watch(&here, ran_here(h, info, via, first)?);
    if watch.is_empty() {
        return Ok(());
    }
    let services: Vec<String> = watch
        .iter()
        .map(|t| t.service.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let from = match via {
        Via::Local => TasksFrom::Local,
        Via::Managers(_, chans) => TasksFrom::Managers {
            calls: channel::calls(h, chans, &Ask::Tasks(id, &services), first)?,
            budget_seconds: POLL_BUDGET_SECONDS,
        },
    };
    if now == "drain" {
        let budget = Duration::from_secs(POLL_BUDGET_SECONDS);
        let lines = tasks::lines_from(&sh, &from, id, &info.name, budget)?;
        if tasks::left(&watch, &here, &lines, &info.name).is_empty() {
            p.facts.push(format!(
                "the {} replica slot(s) that ran here run elsewhere",
                watch.len()
            ));
            return Ok(());
        }
    }
    p.actions.push(Action::swarm(
        "drain.wait",
        "a drain stops the tasks here at once; the node is drained once they run elsewhere",
        SwarmOp::Drained(DrainWait {
            node_id: id.clone(),
            me: info.name.clone(),
            watch,
            from,
            seconds: run.opts.drain_seconds,
        }),
    ));
    Ok(())
}

/// The replica slots whose tasks ran on this node, as the managers say: its tasks' history.
fn ran_here(h: &Host, info: &Info, via: &Via, first: usize) -> Result<Vec<tasks::Task>> {
    let id = &info.swarm.node_id;
    let lines = match via {
        Via::Local => tasks::slots_on_manager(
            h.swarm_host()?.api(),
            id,
            &info.name,
            Duration::from_secs(10),
        )?,
        Via::Managers(_, chans) => {
            let calls = channel::calls(h, chans, &Ask::NodeTasks(id), first)?;
            let budget = Duration::from_secs(POLL_BUDGET_SECONDS);
            let what = format!("the tasks of node {id}");
            let (_, o) = crate::host::managers::call(&h.runner, &what, &calls, budget, &|_| false)?;
            tasks::parse_lines(&o.stdout)
        }
    };
    Ok(tasks::slots_of(&lines, &info.name))
}

/// What runs here, as facts: the replicas a drain moves, and apart what it does not move.
fn facts_of(here: &Here, p: &mut StepPlan) {
    let names = |ts: &[tasks::Task]| ts.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ");
    if !here.replicated.is_empty() {
        p.facts.push(format!(
            "{} replica(s) here, to run elsewhere: {}",
            here.replicated.len(),
            names(&here.replicated)
        ));
    }
    if !here.global.is_empty() {
        p.facts.push(format!(
            "{} task(s) of global services here: a drain stops them, they move nowhere: {}",
            here.global.len(),
            names(&here.global)
        ));
    }
    if !here.standalone.is_empty() {
        p.facts.push(format!(
            "{} container(s) no service started: a drain never moves them: {}",
            here.standalone.len(),
            here.standalone.join(", ")
        ));
    }
}

/// The availability change, on this manager or asked of the managers.
fn set(h: &Host, info: &Info, via: &Via, first: usize, to: &str) -> Result<Action> {
    let id = &info.swarm.node_id;
    let op = match via {
        Via::Local => SwarmOp::Availability {
            node_id: id.clone(),
            to: to.into(),
        },
        Via::Managers(sw, chans) => SwarmOp::OnManager {
            what: format!("set node {id}'s availability to {to}"),
            calls: channel::calls(h, chans, &Ask::Availability(id, to), first)?,
            budget_seconds: sw.join_timeout_seconds.get(),
            done_if_unknown_node: None,
            best_effort: false,
        },
    };
    Ok(Action::swarm(
        &format!("{to}.availability"),
        format!("the node's availability is to be {to}"),
        op,
    ))
}

/// This node's availability as the swarm has it, and which manager said so (its index).
fn availability(h: &Host, info: &Info, via: &Via) -> Result<(usize, String)> {
    let (i, n): (usize, Node) = match via {
        Via::Local => (
            0,
            h.swarm_host()?
                .api()
                .get_json(&format!("/nodes/{}", info.swarm.node_id))?,
        ),
        Via::Managers(sw, _) => super::inspect_self(
            h,
            sw,
            info,
            Duration::from_secs(sw.join_timeout_seconds.get()),
        )?,
    };
    Ok((i, n.availability().to_string()))
}

/// The local engine's swarm state, refused unless the node is an active member.
fn member(h: &Host, command: &str) -> Result<Info> {
    let info = swarm::info(&h.swarm_host()?)?;
    let st = &info.swarm.local_node_state;
    if st != "active" || info.swarm.node_id.is_empty() {
        return Err(Refusal::new(
            command,
            info.name.clone(),
            format!("it is not an active member of a swarm (docker says its swarm state is {st})"),
        )
        .remedy(if st == "inactive" {
            "nothing to do: a node out of a swarm runs no tasks (`swarmnode join` to join)"
        } else {
            "bring it back to its managers first (`swarmnode check` says why it is not active)"
        })
        .into());
    }
    Ok(info)
}

fn via<'a>(run: &'a Run, info: &Info) -> Option<Via<'a>> {
    if info.swarm.control_available {
        return Some(Via::Local);
    }
    let sw = run.profile.swarm.as_ref()?;
    let chans = Channel::all(sw);
    (!chans.is_empty()).then_some(Via::Managers(sw, chans))
}

fn no_channel(command: &str, info: &Info) -> crate::error::Error {
    Refusal::new(
        command,
        info.name.clone(),
        "it is a worker, and the profile has no channel to a manager (swarm.token ssh or tls) \
         to set its availability",
    )
    .remedy(format!(
        "on a manager: `docker node update --availability {} {}`",
        if command == "drain" {
            "drain"
        } else {
            "active"
        },
        info.swarm.node_id
    ))
    .into()
}
