//! The reset's swarm phase: the node leaves its swarm and its entry is removed on a manager.
//!
//! It is drained first (unless `--no-drain`): its replicas run elsewhere before it goes.
//!
//! A worker leaves, then a manager of the profile's list removes its entry (through the token's
//! channel). A manager is demoted first, and only when the managers left keep quorum; the last
//! manager, or one whose going loses quorum, is refused (65) unless `--force` (then it leaves
//! with force: the last manager takes the swarm with it). The NodeID is recorded before the node
//! leaves, so a reset killed in between still removes the entry when run again.

use crate::error::{Error, Refusal, Result};
use crate::host::engine_api::ApiError;
use crate::host::state;
use crate::host::swarm::node::Node;
use crate::host::swarm::{self, Info, SwarmOp};
use crate::host::{Action, Host};
use crate::steps::Run;
use crate::steps::plan::StepPlan;
use crate::steps::swarm::channel::{self, Ask, Channel};

const LEFT_ALREADY: &str = "out of its swarm (an earlier reset): nothing to do";

/// How long a demoted manager may take to stop managing.
const DEMOTE_SECONDS: u64 = 60;

/// Whether the managers other than `me` keep quorum without it: a majority of the managers
/// that remain must be reachable. Returns (managers, reachable others, quorum kept).
pub fn quorum_without(nodes: &[Node], me: &str) -> (usize, usize, bool) {
    let managers: Vec<&Node> = nodes
        .iter()
        .filter(|n| n.manager_status.is_some())
        .collect();
    let others = managers.iter().filter(|n| n.id != me).count();
    let reachable = managers
        .iter()
        .filter(|n| n.id != me)
        .filter(|n| {
            n.manager_status
                .as_ref()
                .is_some_and(|s| s.reachability == "reachable")
        })
        .count();
    (
        managers.len(),
        reachable,
        others > 0 && reachable > others / 2,
    )
}

pub fn plan(h: &Host, run: &Run) -> Result<StepPlan> {
    // Every record is checked, and what the storage phase would refuse is refused, before
    // anything changes (this is the first phase).
    super::check_records(h, run)?;
    if !run.opts.keep_storage {
        super::storage::plan(h, run)?;
    }
    let mut p = StepPlan::new("swarm");
    let left = state::RESET_LEFT.exists(h)?;
    let recorded = state::node_id(h, &state::RESET_NODE, "reset")?.map(|id| id.to_string());
    // The engine's own view first: the records of an earlier reset are only trusted when the
    // engine does not contradict them (the node may have joined again since).
    let info = match swarm::info(&h.swarm_host()?) {
        Ok(i) => i,
        Err(Error::Engine(e @ ApiError::Connect { .. })) => {
            return engine_away(h, run, left, recorded, &e, p);
        }
        Err(e) => return Err(e),
    };
    let st = &info.swarm;
    match st.local_node_state.as_str() {
        "inactive" if left => p.facts.push(LEFT_ALREADY.into()),
        "inactive" => match recorded {
            Some(id) => add_forget(h, run, &id, &mut p)?,
            None => p.facts.push(format!("{} is not in a swarm", info.name)),
        },
        "locked" => {
            return Err(Refusal::new(
                "reset",
                format!("the swarm on {}", info.name),
                "it is locked (autolock)",
            )
            .remedy("unlock it with `docker swarm unlock`, then run reset again")
            .into());
        }
        "active" if st.control_available => {
            super::broker::add_host_keys_gone(h, &st.node_id, &mut p)?;
            add_manager(h, run, &info, &mut p)?
        }
        "active" => {
            p.facts.push(format!(
                "{} is a worker of its swarm (node {}): it leaves, and a manager removes its entry",
                info.name, st.node_id
            ));
            crate::steps::swarm::drain::add_first(h, run, &info, &mut p)?;
            add_leave(h, run, Leave::plain(Some(&st.node_id)), &mut p)?;
        }
        other => add_away(h, run, &info, other, &mut p)?,
    }
    Ok(p)
}

/// A member that does not reach its managers now (pending, error): it cannot leave properly and
/// may be a manager; refused unless --force (then it leaves with force).
fn add_away(h: &Host, run: &Run, info: &Info, state: &str, p: &mut StepPlan) -> Result<()> {
    let id = &info.swarm.node_id;
    let why = format!(
        "it is {state} (its managers are out of reach{}): it cannot leave properly, and whether it \
         is a manager cannot be read",
        if info.swarm.error.is_empty() {
            String::new()
        } else {
            format!(": {}", info.swarm.error)
        }
    );
    if !run.opts.force {
        return Err(
            Refusal::new("reset", format!("node {} ({id})", info.name), why)
                .remedy(
                    "bring its managers back and run reset again; or --force to leave with force",
                )
                .into(),
        );
    }
    p.warnings
        .push(format!("--force: {why}; it leaves with force"));
    add_leave(h, run, Leave::forced((!id.is_empty()).then_some(id)), p)
}

/// docker does not answer: its swarm state on disk says whether the node is in a swarm.
fn engine_away(
    h: &Host,
    run: &Run,
    left: bool,
    recorded: Option<String>,
    e: &ApiError,
    mut p: StepPlan,
) -> Result<StepPlan> {
    if left {
        p.facts.push(LEFT_ALREADY.into());
        return Ok(p);
    }
    let root = crate::host::docker::data_root(h)?;
    let state = format!("{root}/swarm/state.json");
    if h.path(&state)?.exists() {
        if run.opts.force {
            p.warnings.push(format!(
                "docker does not answer and {state} says the node is in a swarm: --force, so it is \
                 not taken out; its entry stays on the managers (`docker node rm` there)"
            ));
            add_left_record(&mut p);
            return Ok(p);
        }
        return Err(Refusal::new(
            "reset",
            "this node's swarm membership",
            format!(
                "docker does not answer ({}) and {state} says the node is in a swarm",
                crate::error::chain(e)
            ),
        )
        .remedy(
            "start docker (`systemctl start docker`) and run reset again, so that the node leaves \
             its swarm properly; or --force to leave its entry on the managers",
        )
        .into());
    }
    match recorded {
        Some(id) => add_forget(h, run, &id, &mut p)?,
        None => p
            .facts
            .push("docker does not answer and holds no swarm state: not in a swarm".into()),
    }
    Ok(p)
}

/// A manager: demoted (the others keep quorum), then out; the last one only with --force.
fn add_manager(h: &Host, run: &Run, info: &Info, p: &mut StepPlan) -> Result<()> {
    let me = &info.swarm.node_id;
    let nodes = match h.swarm_host()?.api().get_json::<Vec<Node>>("/nodes") {
        Ok(nodes) => nodes,
        // Without quorum a manager cannot list the nodes: it cannot be demoted either.
        Err(e) => {
            let why = format!(
                "its swarm cannot list its nodes ({}): it has no quorum, so it cannot be demoted",
                crate::error::chain(&e)
            );
            return add_forced_or_refuse(h, run, info, why, Some(me), p);
        }
    };
    let (managers, reachable, kept) = quorum_without(&nodes, me);
    p.facts.push(format!(
        "{} is a manager (node {me}), one of {managers}; {reachable} other manager(s) reachable",
        info.name
    ));
    if kept {
        crate::steps::swarm::drain::add_first(h, run, info, p)?;
        return add_leave(
            h,
            run,
            Leave {
                demote: true,
                ..Leave::plain(Some(me))
            },
            p,
        );
    }
    if managers <= 1 {
        let why = "it is the swarm's last manager: its going ends the swarm (every service, secret \
                   and node entry)";
        // Its entry goes with the swarm: nothing to remove on a manager.
        add_forced_or_refuse(h, run, info, why.into(), None, p)
    } else {
        let why = format!(
            "without it the {} other manager(s) have {reachable} reachable, not a majority: the \
             swarm would lose quorum",
            managers - 1
        );
        add_forced_or_refuse(h, run, info, why, Some(me), p)
    }
}

/// A manager whose going loses quorum: refused, or with --force out with force (its entry then
/// removed on a manager when `entry` names it and one remains).
fn add_forced_or_refuse(
    h: &Host,
    run: &Run,
    info: &Info,
    why: String,
    entry: Option<&str>,
    p: &mut StepPlan,
) -> Result<()> {
    let me = &info.swarm.node_id;
    if !run.opts.force {
        return Err(
            Refusal::new("reset", format!("manager {} ({me})", info.name), why)
                .remedy(
                    "promote other managers first (`docker node promote`) or bring the unreachable \
                     ones back; or run reset --yes --force to take it out anyway",
                )
                .into(),
        );
    }
    p.warnings
        .push(format!("--force: {why}; it leaves with force"));
    add_leave(h, run, Leave::forced(entry), p)
}

/// How the node leaves: its entry to remove after (`None`: nothing to remove), demoted first, forced.
struct Leave<'a> {
    entry: Option<&'a str>,
    demote: bool,
    force: bool,
}

impl<'a> Leave<'a> {
    fn plain(entry: Option<&'a str>) -> Leave<'a> {
        Leave {
            entry,
            demote: false,
            force: false,
        }
    }
    fn forced(entry: Option<&'a str>) -> Leave<'a> {
        Leave {
            force: true,
            ..Leave::plain(entry)
        }
    }
}

/// Out of the swarm, in this order: the NodeID recorded (when its entry is to be removed after),
/// the demotion, the leave, then the entry removed on a manager (or the phase marked done).
fn add_leave(h: &Host, run: &Run, l: Leave, p: &mut StepPlan) -> Result<()> {
    if let Some(id) = l.entry {
        add_node_record(id, p);
        if l.demote {
            p.actions.push(Action::swarm(
                "reset.swarm-demote",
                "the other managers keep quorum without it",
                SwarmOp::Demote {
                    node_id: id.to_string(),
                    seconds: DEMOTE_SECONDS,
                },
            ));
        }
    }
    p.actions.push(Action::swarm(
        "reset.swarm-leave",
        if l.force {
            "--force: out of the swarm"
        } else {
            "out of the swarm"
        },
        SwarmOp::Quit { force: l.force },
    ));
    match l.entry {
        Some(id) => add_forget(h, run, id, p),
        None => {
            add_left_record(p);
            Ok(())
        }
    }
}

/// The NodeID recorded before the node leaves.
fn add_node_record(id: &str, p: &mut StepPlan) {
    p.actions.push(state::RESET_NODE.write(
        "reset.swarm-record",
        "remember the node's ID, to remove its entry even if this run is stopped after leaving",
        format!("{id}\n"),
        None,
    ));
}

/// The node's entry removed on a manager, through the token's channel.
fn add_forget(h: &Host, run: &Run, id: &str, p: &mut StepPlan) -> Result<()> {
    let sw = run.profile.swarm.as_ref();
    let chans = sw.map(Channel::all).unwrap_or_default();
    match sw.filter(|_| !chans.is_empty()) {
        None => p.warnings.push(format!(
            "the profile has no channel to a manager (swarm.token ssh or tls): remove the node's \
             entry there with `docker node rm {id}`"
        )),
        Some(sw) if chans.iter().any(Channel::broker) && enrolled_as(h, sw, id)? => {
            p.actions.push(Action::swarm(
                "reset.swarm-forget",
                "its entry on the managers (the node's own key asks the broker, once it is Down)",
                SwarmOp::OnManager {
                    what: format!("remove node {id}"),
                    calls: channel::calls(h, &chans, &Ask::LeaveEntry(id), 0)?,
                    budget_seconds: sw.join_timeout_seconds.get(),
                    done_if_unknown_node: Some(id.to_string()),
                    best_effort: run.opts.force,
                },
            ))
        }
        Some(_) if chans.iter().any(Channel::broker) => p.warnings.push(format!(
            "the broker removes a node's entry only for the node's own key (enrolled with a \
             bootstrap key), and this one has none: it goes when this host joins again with \
             remove_stale_nodes (the broker's remove-stale), or remove it on a manager with \
             `docker node rm {id}`"
        )),
        Some(sw) => p.actions.push(Action::swarm(
            "reset.swarm-forget",
            "its entry on the managers",
            SwarmOp::OnManager {
                what: format!("remove node {id}"),
                calls: channel::calls(h, &chans, &Ask::Remove { id, force: true }, 0)?,
                budget_seconds: sw.join_timeout_seconds.get(),
                done_if_unknown_node: Some(id.to_string()),
                best_effort: run.opts.force,
            },
        )),
    }
    add_left_record(p);
    Ok(())
}

/// Whether this node's own key is enrolled for node `id` (the broker then removes its entry).
fn enrolled_as(h: &Host, sw: &crate::profile::Swarm, id: &str) -> Result<bool> {
    Ok(channel::own_key(sw).is_some()
        && state::Enrolled::read(h)?.is_some_and(|e| e.node.as_str() == id))
}

/// reset's swarm phase is done: noted, so a reset stopped after it does not do it again.
fn add_left_record(p: &mut StepPlan) {
    p.actions.push(state::RESET_LEFT.write(
        "reset.swarm-done",
        "out of the swarm",
        "left\n".into(),
        None,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::host::swarm::node::ManagerStatus;

    fn nodes(v: &[(&str, Option<&str>)]) -> Vec<Node> {
        v.iter()
            .map(|(id, r)| Node {
                id: id.to_string(),
                manager_status: r.map(|r| ManagerStatus {
                    reachability: r.into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn quorum_is_kept_by_a_majority_of_the_managers_that_remain() {
        let three = nodes(&[
            ("a", Some("reachable")),
            ("b", Some("reachable")),
            ("c", Some("reachable")),
            ("w", None),
        ]);
        assert_eq!(quorum_without(&three, "a"), (3, 2, true));
        let one_down = nodes(&[
            ("a", Some("reachable")),
            ("b", Some("reachable")),
            ("c", Some("unreachable")),
        ]);
        assert_eq!(quorum_without(&one_down, "a"), (3, 1, false));
        let last = nodes(&[("a", Some("reachable")), ("w", None)]);
        assert_eq!(quorum_without(&last, "a"), (1, 0, false));
        let two = nodes(&[("a", Some("reachable")), ("b", Some("reachable"))]);
        assert_eq!(quorum_without(&two, "a"), (2, 1, true));
    }

    #[test]
    fn the_nodes_of_a_real_manager_parse() {
        let t = r#"[{"ID":"x1","Spec":{"Role":"manager"},"ManagerStatus":{"Leader":true,"Reachability":"reachable","Addr":"10.0.0.1:2377"}},{"ID":"w1","Spec":{"Role":"worker"}}]"#;
        let n: Vec<Node> = serde_json::from_str(t).unwrap();
        assert_eq!(quorum_without(&n, "w1"), (1, 1, true));
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_nodes_parser_panic(t in "\\PC{0,200}") {
            let _ = serde_json::from_str::<Vec<Node>>(&t);
        }
    }
}
