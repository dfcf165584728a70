//! Nodes as a manager shows them (`docker node inspect`, `docker node ls`), the labels a node
//! still needs, and stale entries of this node left by re-provisioning.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::host::cmd::CommandError;
use crate::host::managers;
use crate::host::state;
use crate::host::swarm::SwarmOp;
use crate::host::{Action, Host};
use crate::profile::Swarm;
use crate::steps::plan::StepPlan;

use super::channel::{self, Ask, Channel};

/// docker's node JSON (one model, the host's).
pub use crate::host::swarm::node::{Node, NodeLine, parse_node_ls};

/// Labels the manager must add or change (others on the node are left alone).
pub fn labels_to_set(
    want: &BTreeMap<String, String>,
    have: &BTreeMap<String, String>,
) -> Vec<String> {
    want.iter()
        .filter(|(k, v)| have.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

/// With `remove_stale_nodes`, once per node ID: stale entries appear when this host joins again
/// under a new ID (re-provisioning), so a converged run does not look again (over ssh or tls the
/// node list, whose size grows with the swarm). Through the broker, the broker looks
/// (`add_stale_broker`); else a manager's node list is read (`add_stale`). The ID is recorded
/// after the removals, so a run stopped in between looks again (which removes nothing twice).
pub fn add_stale_once(
    h: &Host,
    sw: &Swarm,
    chans: &[Channel],
    first: usize,
    me: &Node,
    budget: std::time::Duration,
    p: &mut StepPlan,
) -> Result<()> {
    if !sw.remove_stale_nodes {
        return Ok(());
    }
    let asked = state::node_id(h, &state::STALE_ASKED, "swarm")?;
    if asked.as_ref().is_some_and(|a| a.as_str() == me.id) {
        p.facts.push(format!(
            "stale entries were looked for when node {} was new here",
            me.id
        ));
        return Ok(());
    }
    let record = if chans.iter().any(Channel::broker) {
        add_stale_broker(h, sw, chans, first, me, p)?;
        true
    } else {
        add_stale(h, sw, chans, first, me, budget, p)?
    };
    if record {
        p.actions.push(state::STALE_ASKED.write(
            "swarm.remove-stale-asked",
            "remember that stale entries were looked for for this node ID",
            format!("{}\n", me.id),
            asked.map(|a| format!("{a}\n")),
        ));
    }
    Ok(())
}

/// Over ssh or tls: `Down` workers with this node's hostname and another ID are removed; a
/// `Down` manager is left alone with a warning. Manager `first` (the one that answered for this
/// node) is asked first. Whether the ID may be recorded: not when an entry was left alone (a
/// Down manager, or one not Down yet), so that the next run looks again.
fn add_stale(
    h: &Host,
    sw: &Swarm,
    chans: &[Channel],
    first: usize,
    me: &Node,
    budget: std::time::Duration,
    p: &mut StepPlan,
) -> Result<bool> {
    let calls = channel::calls(h, chans, &Ask::Nodes, first)?;
    let (i, o) = managers::call(&h.runner, "`docker node ls`", &calls, budget, &|_| false)?;
    let nodes = parse_node_ls(&o.stdout).map_err(|source| CommandError::Parse {
        cmd: calls[i].cmd().to_string(),
        source,
    })?;
    let hostname = &me.description.hostname;
    // Something left alone is looked at again on the next run.
    let mut look_again = false;
    for n in nodes
        .iter()
        .filter(|n| &n.hostname == hostname && n.id != me.id)
    {
        if n.status != "Down" {
            look_again = true;
            p.facts.push(format!(
                "another node named {hostname} ({}) is {}: left alone",
                n.id, n.status
            ));
        } else if !n.manager_status.is_empty() {
            look_again = true;
            p.warnings.push(format!(
                "a Down manager named {hostname} ({}) is left alone: demote it first \
                 (`docker node demote {}`)",
                n.id, n.id
            ));
        } else {
            p.actions
                .push(remove_stale(h, sw, chans, first, hostname, &n.id)?);
        }
    }
    Ok(!look_again)
}

/// A manager removes the Down entry `id` named `hostname` (`docker node rm`, not forced).
fn remove_stale(
    h: &Host,
    sw: &Swarm,
    chans: &[Channel],
    first: usize,
    hostname: &str,
    id: &str,
) -> Result<Action> {
    let remove = Ask::Remove { id, force: false };
    Ok(Action::swarm(
        "swarm.remove-stale",
        format!("a Down node with this hostname ({hostname}) and another ID"),
        SwarmOp::OnManager {
            what: format!("remove node {id}"),
            calls: channel::calls(h, chans, &remove, first)?,
            budget_seconds: sw.join_timeout_seconds.get(),
            done_if_unknown_node: Some(id.to_string()),
            best_effort: false,
        },
    ))
}

/// Whether stale entries need no looking for: `remove_stale_nodes` is off, or they were looked
/// for when node `id` was new here.
pub fn stale_looked_for(h: &Host, sw: &Swarm, id: &crate::vocab::NodeId) -> Result<bool> {
    if !sw.remove_stale_nodes {
        return Ok(true);
    }
    let asked = state::node_id(h, &state::STALE_ASKED, "swarm")?;
    Ok(asked.as_ref() == Some(id))
}

/// Through the broker: the broker does the looking (its grammar has no listing).
fn add_stale_broker(
    h: &Host,
    sw: &Swarm,
    chans: &[Channel],
    first: usize,
    me: &Node,
    p: &mut StepPlan,
) -> Result<()> {
    let hostname = &me.description.hostname;
    p.actions.push(Action::swarm(
        "swarm.remove-stale",
        format!(
            "node {} is new here: Down workers named {hostname} at this address with another ID \
             (left by re-provisioning) are removed by the broker",
            me.id
        ),
        SwarmOp::OnManager {
            what: format!("remove-stale {}", me.id),
            calls: channel::calls(h, chans, &Ask::RemoveStale(&me.id), first)?,
            budget_seconds: sw.join_timeout_seconds.get(),
            done_if_unknown_node: None,
            best_effort: false,
        },
    ));
    Ok(())
}
