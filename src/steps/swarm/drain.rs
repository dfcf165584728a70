//! `drain` and `activate`: this node's availability set, and a drain waited for until the
//! replicas that ran here run elsewhere ([`crate::host::swarm::tasks`]).
//!
//! A manager sets its own availability through its own engine. Any other node asks the
//! managers through the profile's channel (docker's `node update --availability`, or the
//! broker's `availability`), and asks the same way, while it waits, where its slots' tasks run
//! now. `reset` drains first with [`add_for_reset`].

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
    let via = via(run, &info).ok_or_else(|| no_channel("activate", &info))?;
    let (first, now) = availability(h, &info, &via)?;
    p.facts.push(format!(
        "{} (node {}): availability {now}",
        info.name, info.swarm.node_id
    ));
    if now != "active" {
        p.actions.push(set(h, &info, &via, first, "active")?);
    }
    Ok(p)
}

/// What `reset` does first: the drain, when the node has a way to the managers; else a
/// warning (it leaves undrained).
pub fn add_for_reset(h: &Host, run: &Run, info: &Info, p: &mut StepPlan) -> Result<()> {
    if run.opts.no_drain {
        p.facts
            .push("--no-drain: the node leaves without draining first".into());
        return Ok(());
    }
    match via(run, info) {
        Some(v) => add_drain(h, run, info, &v, p),
        None => {
            p.warnings.push(
                "the profile has no channel to a manager (swarm.token ssh or tls): the node \
                 leaves without draining first"
                    .into(),
            );
            Ok(())
        }
    }
}

/// The node set to drain (unless it is), then, when replicas run here, the wait until they run
/// elsewhere.
fn add_drain(h: &Host, run: &Run, info: &Info, via: &Via, p: &mut StepPlan) -> Result<()> {
    let id = &info.swarm.node_id;
    let here = tasks::here(h.swarm_host()?.api())?;
    let (first, now) = availability(h, info, via)?;
    p.facts
        .push(format!("{} (node {id}): availability {now}", info.name));
    facts_of(&here, p);
    if now != "drain" {
        p.actions.push(set(h, info, via, first, "drain")?);
    }
    if here.replicated.is_empty() {
        return Ok(());
    }
    let from = match via {
        Via::Local => TasksFrom::Local,
        Via::Managers(_, chans) => {
            let services: Vec<String> = here
                .replicated
                .iter()
                .map(|t| t.service.clone())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            TasksFrom::Managers {
                calls: channel::calls(h, chans, &Ask::Tasks(id, &services), first)?,
                budget_seconds: POLL_BUDGET_SECONDS,
            }
        }
    };
    p.actions.push(Action::swarm(
        "drain.wait",
        "a drain stops the tasks here at once; the node is drained once they run elsewhere",
        SwarmOp::Drained(DrainWait {
            node_id: id.clone(),
            watch: here.replicated,
            from,
            seconds: run.opts.drain_seconds,
        }),
    ));
    Ok(())
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
