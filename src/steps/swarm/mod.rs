//! The swarm step: join the cluster and have a manager label the node.
//!
//! observe: the local engine's swarm state (`GET /info` on its socket) and, once the node is in a
//! swarm, the node as a manager sees it (`docker node inspect ID` over the token's channel).
//! plan: wait for a member that lost its managers (never leave it), leave a join that never got
//! an identity, join (token fetched at apply time, checked and pinned, sent in the API request
//! body), labels that are missing or different, `Down` nodes of the same hostname.
//!
//! - [`channel`]: the managers, reached the token's way, and what their answers mean;
//! - [`nodes`]: nodes as a manager shows them, labels, stale entries;
//! - [`enrol`]: with a bootstrap key, the node's own key made and enrolled.

pub mod channel;
pub mod drain;
pub mod enrol;
pub mod nodes;

use crate::error::{Error, Refusal, Result};
use crate::host::swarm::{self, Info, JoinError, JoinSpec, JoinVia, SwarmOp, TokenFrom};
use crate::host::{Action, Host};
use crate::profile::{Role, Swarm, TokenSource};
use crate::steps::plan::StepPlan;

use std::time::Duration;

use crate::host::managers;
use crate::host::state::{self, Labelled};
use crate::vocab::NodeId;
use channel::{Ask, Channel};
pub use nodes::{Node, NodeLine, labels_to_set, parse_node_ls};

/// How long a pending node without a NodeID may finish its earlier join on its own before it is
/// taken out.
const PENDING_WAIT_SECONDS: u64 = 15;

/// How long `plan` (a preview) asks the managers again when they drop connections; `apply`
/// asks for up to `join_timeout_seconds`.
pub const PLAN_BUDGET: Duration = Duration::from_secs(15);

/// The step's plan; `budget` is how long a manager may be asked again for what the plan reads
/// (the node, the node list).
pub fn plan(h: &Host, sw: &Swarm, budget: Duration) -> Result<StepPlan> {
    let mut p = StepPlan::new("swarm");
    match &sw.token {
        TokenSource::Tcp { port, .. } => p.warnings.push(format!(
            "the join token comes from the managers' plaintext Engine API (port {port}): anyone \
             on the network can take it, and root on the managers with it (allow_insecure_tcp)"
        )),
        TokenSource::File { path } => drop(swarm::open_token_file(&h.swarm_host()?, path)?),
        _ => {}
    }
    let info = swarm::info(&h.swarm_host()?)?;
    let st = &info.swarm;
    let member = !st.node_id.is_empty() || st.control_available;
    match st.local_node_state.as_str() {
        "inactive" => add_inactive(h, sw, &info, &mut p)?,
        "pending" | "error" if member => add_member_away(sw, &info, &mut p),
        "pending" | "error" => add_unfinished(h, sw, &info, &mut p)?,
        "locked" => {
            return Err(Refusal::new(
                "swarm",
                format!("the swarm on {}", info.name),
                "it is locked (autolock)",
            )
            .remedy(
                "unlock it with `docker swarm unlock` and the cluster's unlock key, then run again",
            )
            .into());
        }
        "active" => add_active(h, sw, &info, budget, &mut p)?,
        other => {
            return Err(Error::Failed(format!(
                "swarm: the engine reports an unknown swarm state {other:?}"
            )));
        }
    }
    Ok(p)
}

/// Not in a swarm: join; the labels follow once joined.
fn add_inactive(h: &Host, sw: &Swarm, info: &Info, p: &mut StepPlan) -> Result<()> {
    p.facts
        .push(format!("{} is not in a swarm: joining", info.name));
    enrol::need_bootstrap_key(h, sw, "the join token")?;
    enrol::add_own_key(h, sw, info, p)?;
    p.actions.push(join_action(h, sw, &mut p.facts)?);
    if !sw.labels.is_empty() {
        let want: Vec<String> = sw.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        p.facts.push(format!(
            "once joined, a manager labels the node: {}",
            want.join(" ")
        ));
    }
    Ok(())
}

/// A member of its swarm that does not reach its managers right now (a reboot while they are
/// away, a manager whose raft part is restarting): waited for, never left.
fn add_member_away(sw: &Swarm, info: &Info, p: &mut StepPlan) {
    let st = &info.swarm;
    p.facts.push(format!(
        "{} is {} but is a member of its swarm (node {}{}): waiting for it, never taking it out",
        info.name,
        st.local_node_state,
        st.node_id,
        if st.error.is_empty() {
            String::new()
        } else {
            format!(", {}", st.error)
        }
    ));
    p.actions.push(Action::swarm(
        "swarm.wait",
        "an established node reaches its managers again on its own",
        SwarmOp::Wait {
            node_id: st.node_id.clone(),
            seconds: sw.join_timeout_seconds.get(),
        },
    ));
}

/// A join that never got an identity: out of it (after a while for it to finish), then join.
fn add_unfinished(h: &Host, sw: &Swarm, info: &Info, p: &mut StepPlan) -> Result<()> {
    let st = &info.swarm;
    p.facts.push(format!(
        "{} is {} without a NodeID (an earlier join did not finish{}): out of it, then joining again",
        info.name,
        st.local_node_state,
        if st.error.is_empty() {
            String::new()
        } else {
            format!(": {}", st.error)
        }
    ));
    let wait_seconds = if st.local_node_state == "pending" {
        PENDING_WAIT_SECONDS.min(sw.join_timeout_seconds.get())
    } else {
        0
    };
    enrol::need_bootstrap_key(h, sw, "the join token")?;
    p.actions.push(Action::swarm(
        "swarm.leave",
        "out of the unfinished join",
        SwarmOp::Leave { wait_seconds },
    ));
    enrol::add_own_key(h, sw, info, p)?;
    p.actions.push(join_action(h, sw, &mut p.facts)?);
    Ok(())
}

fn join_action(h: &Host, sw: &Swarm, facts: &mut Vec<String>) -> Result<Action> {
    let channels = Channel::for_token(sw);
    let role = sw.role.as_str();
    let via = match &sw.token {
        TokenSource::File { path } => sw
            .managers
            .iter()
            .map(|m| JoinVia {
                manager: m.swarm_addr(),
                token_from: TokenFrom::File { path: path.clone() },
            })
            .collect(),
        _ => channels
            .iter()
            .map(|c| {
                Ok(JoinVia {
                    manager: c.manager.clone(),
                    token_from: TokenFrom::Command {
                        argv: c.cmd(h, &Ask::JoinToken(role))?.argv,
                        timeout_seconds: c.timeout_seconds(),
                    },
                })
            })
            .collect::<Result<_>>()?,
    };
    let advertise_addr = sw.advertise_addr.clone().or_else(|| {
        let host = sw.managers.first()?.host();
        match crate::host::net::local_addr_toward(host, 2377) {
            Ok(a) => {
                facts.push(format!(
                    "advertise address {a}: this host's address toward {host}"
                ));
                Some(a)
            }
            Err(e) => {
                facts.push(format!(
                    "advertise address left to docker: no local address toward {host}: {e}"
                ));
                None
            }
        }
    });
    Ok(Action::swarm(
        "swarm.join",
        format!("join the swarm as {role}"),
        SwarmOp::Join(JoinSpec {
            role: role.to_string(),
            listen_addr: sw.listen_addr.clone(),
            advertise_addr,
            via,
            ca_hash: sw.ca_hash.as_ref().map(|c| c.hex().to_string()),
            timeout_seconds: sw.join_timeout_seconds.get(),
            start_jitter_seconds: sw.start_jitter_seconds.get(),
        }),
    ))
}

fn add_active(h: &Host, sw: &Swarm, info: &Info, budget: Duration, p: &mut StepPlan) -> Result<()> {
    let st = &info.swarm;
    p.facts.push(format!(
        "{} is in a swarm: node {} at {}{}",
        info.name,
        st.node_id,
        st.node_addr,
        if st.control_available {
            " (a manager)"
        } else {
            ""
        }
    ));
    if Channel::all(sw).is_empty() {
        p.facts.push(
            "the file token source has no channel to a manager: which cluster the node is in \
             is not checked"
                .into(),
        );
        return Ok(());
    }
    if enrol::add_enrolment(h, sw, info, p)? {
        return Ok(());
    }
    let seen = Labelled::of(
        NodeId::parse(&st.node_id).map_err(Error::Failed)?,
        &asked_of(sw),
        &sw.labels,
    );
    let recorded = Labelled::read(h)?;
    if known_converged(h, sw, info, &seen, recorded.as_ref(), p)? {
        return Ok(());
    }
    add_asked(h, sw, info, budget, (seen, recorded), p)
}

/// What the managers say of this node: its role, the labels it still needs, stale entries; then
/// what they said recorded.
fn add_asked(
    h: &Host,
    sw: &Swarm,
    info: &Info,
    budget: Duration,
    (seen, recorded): (Labelled, Option<Labelled>),
    p: &mut StepPlan,
) -> Result<()> {
    let chans = Channel::all(sw);
    let (first, node) = inspect_self(h, sw, info, budget)?;
    add_role_checks(sw, &node, info, p);
    let have = node.spec.labels.clone().unwrap_or_default();
    let set = labels_to_set(&sw.labels, &have);
    if !set.is_empty() {
        p.actions.push(Action::swarm(
            "swarm.labels",
            format!("labels missing or different: {}", set.join(" ")),
            SwarmOp::OnManager {
                what: format!("label node {} {}", node.id, set.join(" ")),
                calls: channel::calls(h, &chans, &Ask::Label(&node.id, &set), first)?,
                budget_seconds: sw.join_timeout_seconds.get(),
                done_if_unknown_node: None,
                best_effort: false,
            },
        ));
    }
    nodes::add_stale_once(h, sw, &chans, first, &node, budget, p)?;
    // Last: recorded only once the labels are set.
    if recorded.as_ref() != Some(&seen) {
        p.actions.push(state::LABELLED.write(
            "swarm.labelled",
            "remember that a manager has this node labelled as the profile wants",
            seen.text(),
            recorded.map(|r| r.text()),
        ));
    }
    Ok(())
}

/// What the record's digest covers besides the labels: the role and the managers asked, so that
/// a profile naming another swarm (or role) asks the managers again.
fn asked_of(sw: &Swarm) -> String {
    let mut managers: Vec<String> = sw.managers.iter().map(|m| m.swarm_addr()).collect();
    managers.sort();
    format!("role={} managers={}", sw.role.as_str(), managers.join(","))
}

/// A converged node asks the managers nothing: the record says a manager had this node ID
/// labelled as the profile wants (the same managers and role), the local engine shows the role
/// the profile wants, and stale entries need no looking for.
fn known_converged(
    h: &Host,
    sw: &Swarm,
    info: &Info,
    seen: &Labelled,
    recorded: Option<&Labelled>,
    p: &mut StepPlan,
) -> Result<bool> {
    let role_seen = if info.swarm.control_available {
        Role::Manager
    } else {
        Role::Worker
    };
    if recorded != Some(seen)
        || role_seen != sw.role
        || !nodes::stale_looked_for(h, sw, &seen.node)?
    {
        return Ok(false);
    }
    add_manager_count(info, p);
    p.facts.push(format!(
        "a manager had node {} labelled as the profile wants (recorded in {}): the managers \
         are not asked again; `swarmnode check` compares with their view",
        seen.node,
        state::LABELLED.path
    ));
    Ok(true)
}

/// The role is reported, never changed; a manager hears how many managers there are.
fn add_role_checks(sw: &Swarm, node: &Node, info: &Info, p: &mut StepPlan) {
    let role = sw.role.as_str();
    if node.spec.role != role {
        p.warnings.push(format!(
            "the profile says {role}, but this node is a {} in the swarm; swarmnode does not \
             promote or demote: `docker node {} {}` on a manager",
            node.spec.role,
            if sw.role == Role::Manager {
                "promote"
            } else {
                "demote"
            },
            node.id
        ));
    }
    add_manager_count(info, p);
}

/// On a manager: how many managers there are (the local engine knows), and a warning when even.
fn add_manager_count(info: &Info, p: &mut StepPlan) {
    let st = &info.swarm;
    if let Some(n) = st.managers.filter(|_| st.control_available) {
        p.facts.push(format!("{n} manager(s) in the cluster"));
        if n > 0 && n % 2 == 0 {
            p.warnings.push(format!(
                "{n} managers: an even number tolerates no more failures than {} (quorum \
                 needs a majority); add or remove one",
                n.saturating_sub(1)
            ));
        }
    }
}

/// Asks the managers for this node: each in turn, transient failures tried again within
/// `budget` ([`managers::call`]). Returns which manager answered (its index in
/// [`Channel::all`]) and the node.
pub fn inspect_self(h: &Host, sw: &Swarm, info: &Info, budget: Duration) -> Result<(usize, Node)> {
    let id = &info.swarm.node_id;
    let chans = Channel::all(sw);
    let calls = channel::calls(h, &chans, &Ask::Node(id), 0)?;
    let (i, o) = managers::call(
        &h.runner,
        &format!("`docker node inspect {id}`"),
        &calls,
        budget,
        &|o| swarm::no_such_node(o.code, &o.stderr, id),
    )?;
    if o.code != 0 {
        return Err(not_known(info, &chans[i]));
    }
    let cmd = calls[i].cmd();
    let mut nodes: Vec<Node> = crate::host::cmd::parse_json(&cmd, &o.stdout)?;
    if nodes.is_empty() {
        return Err(Error::Failed(format!("`{cmd}` printed no node")));
    }
    Ok((i, nodes.remove(0)))
}

/// A manager that does not know this node: through the broker, nothing proves more than that;
/// asked directly, the node is in another swarm.
fn not_known(info: &Info, chan: &Channel) -> Error {
    let id = &info.swarm.node_id;
    if chan.broker() {
        // The broker answers alike for an entry that is gone and for one it does not find at
        // this node's address (the swarm may know the node by another address: multi-homed,
        // NAT): nothing here proves the node is in another swarm.
        return Refusal::new(
            "swarm",
            info.name.clone(),
            format!(
                "the broker on manager {} does not find node {id} at the address this node's \
                 ssh connection comes from: its entry may be gone, or the swarm may know the \
                 node by another address (its swarm address is {})",
                chan.manager,
                if info.swarm.node_addr.is_empty() {
                    "unknown"
                } else {
                    &info.swarm.node_addr
                }
            ),
        )
        .remedy(
            "on the manager, `journalctl -t swarmnode-broker` says which (the request's line, with \
             this node's address); `docker node inspect` there shows the node's address. A broker \
             knows a node only by the address its ssh comes from",
        )
        .into();
    }
    let theirs = info.swarm.remote_addrs();
    Refusal::new(
        "swarm",
        info.name.clone(),
        format!(
            "it is active in another swarm (its managers: {}): manager {} does not know node \
             {id}",
            if theirs.is_empty() {
                "unknown".into()
            } else {
                theirs.join(", ")
            },
            chan.manager
        ),
    )
    .remedy(
        "to move it, drain it there and run `docker swarm leave` on it (`--force` on a \
         manager), then run swarmnode again",
    )
    .into()
}

/// What a join that did not happen means to the person reading: the host's facts, with what to
/// check and which profile key is involved.
pub fn explain(e: Error) -> Error {
    let Error::Join(j) = e else { return e };
    let fact = j.to_string();
    match *j {
        JoinError::CaMismatch { manager, .. } => Refusal::new("swarm", format!("manager {manager}"), fact)
            .remedy("no join was attempted; check that the profile names the right managers (swarm.managers), or update the pin (swarm.ca_hash)")
            .into(),
        JoinError::TokenRejected { manager, .. } => Refusal::new("swarm", format!("manager {manager}"), fact)
            .remedy("the token is wrong for this cluster (rotated, or from another swarm); nothing was joined")
            .into(),
        JoinError::NotAToken { from, .. } => Refusal::new("swarm", from, fact)
            .remedy("nothing was joined")
            .into(),
        JoinError::NotAuthenticated { manager, .. } => Refusal::new("swarm", format!("manager {manager}"), fact)
            .remedy("check the keys, known hosts or certificates of swarm.token")
            .into(),
        JoinError::TokenFile { path, why } => Refusal::new("swarm", format!("the token file {path}"), format!("it {why}"))
            .remedy(format!(
                "a join token must be readable by root only: `chown root: {path} && chmod 600 {path}` \
                 in a directory only root can write to (and rotate the token if others could read \
                 it); it is made with `docker swarm join-token -q ROLE` on a manager"
            ))
            .into(),
        JoinError::NoManager { advice, .. } | JoinError::StillPending { advice, .. } => Error::Unavailable(format!(
            "swarm: {fact}; the node is not in a swarm; {advice}"
        )),
        JoinError::MemberAway { .. } => Error::Unavailable(format!(
            "swarm: {fact}; check that they are up and that this node reaches them on port 2377, \
             then run again; swarmnode never takes an established node out of its swarm"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::channel::{Ask, Channel};
    use super::nodes::*;
    use crate::host::Host;
    use crate::profile::Swarm;
    use std::collections::BTreeMap;

    #[test]
    fn only_missing_or_different_labels_are_set() {
        let want: BTreeMap<_, _> = [("function", "production"), ("rack", "b 2")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        let have: BTreeMap<_, _> = [("function", "production"), ("other", "x")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        assert_eq!(labels_to_set(&want, &have), vec!["rack=b 2"]);
        assert!(labels_to_set(&want, &want).is_empty());
    }

    #[test]
    fn ssh_channel_quotes_for_the_remote_shell_and_keeps_options() {
        let sw: Swarm = serde_json::from_str(
            r#"{"managers": ["m1", "[fd00::1]:2377"], "token": {"source": "ssh",
                "identity_file": "/root/.ssh/id", "known_hosts_file": "/etc/kh"}}"#,
        )
        .unwrap();
        let h = Host::new(std::path::Path::new("/"));
        let ch = Channel::all(&sw);
        assert_eq!(ch[0].manager, "m1:2377");
        assert_eq!(ch[1].manager, "[fd00::1]:2377");
        let c = ch[0]
            .cmd(&h, &Ask::Label("ID", &["rack=b 2".to_string()]))
            .unwrap();
        assert_eq!(
            c.to_string(),
            "ssh -o BatchMode=yes -o ConnectTimeout=10 -o StrictHostKeyChecking=yes \
             -o UserKnownHostsFile=/etc/kh -o IdentitiesOnly=yes -i /root/.ssh/id -p 22 -l root \
             -- m1 docker node update --label-add ''\\''rack=b 2'\\''' -- ID"
        );
        let tls: Swarm = serde_json::from_str(
            r#"{"managers": ["m1:2377"], "token": {"source": "tls", "ca_file": "/c/ca.pem",
                "cert_file": "/c/cert.pem", "key_file": "/c/key.pem"}}"#,
        )
        .unwrap();
        let c = Channel::all(&tls)[0]
            .cmd(&h, &Ask::JoinToken("worker"))
            .unwrap();
        assert_eq!(
            c.to_string(),
            "docker -H tcp://m1:2376 --tlsverify --tlscacert /c/ca.pem --tlscert /c/cert.pem \
             --tlskey /c/key.pem swarm join-token -q worker"
        );
    }
}
