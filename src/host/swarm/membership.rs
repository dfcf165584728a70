//! Out of the swarm and back: leaving, a manager demoted, a member waited for while it reaches
//! its managers again, and what a manager says of a node it does not know.

use std::time::{Duration, Instant};

use crate::error::{Error, JoinError, Result};
use crate::host::signals::pause;

use super::node::Node;
use super::{POLL, SwarmHost, info};

/// A manager becomes a worker, and is waited for until it no longer manages.
pub(super) fn demote(host: &SwarmHost, node_id: &str, seconds: u64) -> Result<()> {
    let until = Instant::now() + Duration::from_secs(seconds);
    if info(host)?.swarm.control_available {
        update_spec(host, node_id, |spec| spec.role = "worker".into())?;
    }
    while info(host)?.swarm.control_available {
        if Instant::now() >= until {
            return Err(Error::Unavailable(format!(
                "swarm: node {node_id} was demoted but still manages after {seconds} s; run reset \
                 again once `docker node ls` on another manager shows it as a worker"
            )));
        }
        pause(POLL)?;
    }
    Ok(())
}

/// A node's spec changed through this manager's engine (`POST /nodes/ID/update` with the
/// version read just before).
pub(super) fn update_spec(
    host: &SwarmHost,
    node_id: &str,
    change: impl FnOnce(&mut super::node::Spec),
) -> Result<()> {
    let n: Node = host.api().get_json(&format!("/nodes/{node_id}"))?;
    let mut spec = n.spec;
    change(&mut spec);
    let body = serde_json::to_vec(&spec).expect("a node's spec serializes");
    let path = format!("/nodes/{node_id}/update?version={}", n.version.index);
    let r = host
        .api()
        .request("POST", &path, Some(&body), Duration::from_secs(60))?;
    if r.status != 200 {
        return Err(Error::Failed(format!(
            "docker engine: POST {path}: HTTP {}: {}",
            r.status,
            r.message()
        )));
    }
    Ok(())
}

/// Polls the local state of an established member until it is active again, or 69 with what
/// the node reports. Never leaves.
pub(super) fn wait_for_member(host: &SwarmHost, node_id: &str, seconds: u64) -> Result<()> {
    let until = Instant::now() + Duration::from_secs(seconds);
    loop {
        let i = info(host)?;
        let st = &i.swarm;
        if st.local_node_state == "active" {
            tracing::info!("swarm: node {node_id} is active again");
            return Ok(());
        }
        if Instant::now() >= until {
            let managers = st.remote_addrs();
            return Err(JoinError::MemberAway {
                name: i.name.clone(),
                node_id: node_id.to_string(),
                state: st.local_node_state.clone(),
                seconds,
                error: st.error.clone(),
                managers: if managers.is_empty() {
                    "none known".to_string()
                } else {
                    managers.join(", ")
                },
            }
            .into());
        }
        pause(POLL)?;
    }
}

/// Why a manager's engine cannot say whether it manages.
pub enum Unjudged {
    /// Its swarm is locked (autolock): it stays so until a person unlocks it.
    Locked,
    /// Anything else, in words.
    Other(String),
}

/// What a manager's engine says of its swarm's managers: (this node's own entry is reachable, a
/// leader is known), or why it cannot tell.
pub fn managed(host: &SwarmHost, node_id: &str) -> std::result::Result<(bool, bool), Unjudged> {
    let i = info(host).map_err(|e| Unjudged::Other(crate::error::chain(&e)))?;
    if i.swarm.local_node_state == "locked" {
        return Err(Unjudged::Locked);
    }
    if i.swarm.local_node_state != "active" || !i.swarm.control_available {
        return Err(Unjudged::Other(format!(
            "its swarm state is {} (manages: {})",
            i.swarm.local_node_state, i.swarm.control_available
        )));
    }
    let nodes: Vec<Node> = host
        .api()
        .get_json_within("/nodes", Duration::from_secs(10))
        .map_err(|e| Unjudged::Other(e.to_string()))?;
    let me = nodes.iter().find(|n| n.id == node_id).and_then(|n| {
        n.manager_status
            .as_ref()
            .map(|m| m.reachability == "reachable")
    });
    let leader = nodes
        .iter()
        .any(|n| n.manager_status.as_ref().is_some_and(|m| m.leader));
    Ok((me == Some(true), leader))
}

/// Polls until this manager manages again, reachable, and the swarm has a leader; 69 past
/// `seconds`, with what was seen last.
pub(super) fn wait_manages(host: &SwarmHost, node_id: &str, seconds: u64) -> Result<()> {
    let until = Instant::now() + Duration::from_secs(seconds);
    loop {
        let seen = match managed(host, node_id) {
            Ok((true, true)) => {
                tracing::info!("swarm: manager {node_id} is reachable, and the swarm has a leader");
                return Ok(());
            }
            Ok((me, _)) if !me => "it is not reachable among the managers yet".to_string(),
            Ok(_) => "the swarm has no leader yet".to_string(),
            // Locked stays locked until a person unlocks it: no use waiting.
            Err(Unjudged::Locked) => {
                return Err(Error::Failed(format!(
                    "swarm: manager {node_id} came back locked (the swarm is autolocked): it is \
                     away until `docker swarm unlock` with the unlock key; then run the same \
                     command again to finish"
                )));
            }
            Err(Unjudged::Other(why)) => why,
        };
        if Instant::now() >= until {
            return Err(Error::Unavailable(format!(
                "swarm: manager {node_id} did not manage again within {seconds} s: {seen}; see \
                 `docker node ls` and `journalctl -u docker`"
            )));
        }
        pause(POLL)?;
    }
}

/// The label a manager's backup claim is kept in.
pub const CLAIM_LABEL: &str = "swarmnode.backup";

/// A backup's claim set (or, `at` none, taken away) on this manager's own node; then, when set,
/// the other managers' claims read back: with any younger than `claim_seconds`, this claim is
/// taken back and refused. Two claims at once may both back off (refused, nothing stopped);
/// never both go on, as the raft orders the writes and each reads after its own.
pub(super) fn claim(
    host: &SwarmHost,
    node_id: &str,
    at: Option<u64>,
    claim_seconds: u64,
) -> Result<()> {
    update_spec(host, node_id, |spec| {
        let labels = spec.labels.get_or_insert_with(Default::default);
        match at {
            Some(t) => labels.insert(CLAIM_LABEL.into(), t.to_string()),
            None => labels.remove(CLAIM_LABEL),
        };
    })?;
    if at.is_none() {
        return Ok(());
    }
    let nodes: Vec<Node> = host
        .api()
        .get_json_within("/nodes", Duration::from_secs(10))?;
    let now = crate::host::clock::now();
    let first = nodes
        .iter()
        .filter(|n| n.id != node_id && n.manager_status.is_some())
        .filter_map(|n| {
            let t: u64 = n.labels().get(CLAIM_LABEL)?.parse().ok()?;
            (now.saturating_sub(t) < claim_seconds).then_some((t, n.id.clone()))
        })
        .min();
    let Some((t, other)) = first else {
        return Ok(());
    };
    update_spec(host, node_id, |spec| {
        if let Some(l) = spec.labels.as_mut() {
            l.remove(CLAIM_LABEL);
        }
    })?;
    Err(crate::error::Refusal::new(
        "backup",
        format!("manager {node_id}"),
        format!(
            "manager {other} claimed a backup at {} (label {CLAIM_LABEL}): two managers never \
             stop at once",
            crate::host::clock::utc(t)
        ),
    )
    .remedy("run backup again once that one has finished (`docker node ls`: it is reachable again)")
    .into())
}

/// `POST /swarm/init` with `ForceNewCluster`: the swarm state on disk re-formed as a swarm of
/// this manager alone; then waited for until it leads.
pub(super) fn new_cluster(
    host: &SwarmHost,
    listen: &str,
    advertise: Option<&str>,
    seconds: u64,
) -> Result<()> {
    let i = info(host)?;
    let leads = |host: &SwarmHost| managed(host, &i.swarm.node_id).is_ok_and(|(me, l)| me && l);
    if !leads(host) {
        let mut body = serde_json::json!({"ListenAddr": listen, "ForceNewCluster": true});
        if let Some(a) = advertise {
            body["AdvertiseAddr"] = a.into();
        }
        let body = serde_json::to_vec(&body).expect("a JSON value serializes");
        let r = host
            .api()
            .request("POST", "/swarm/init", Some(&body), Duration::from_secs(60))?;
        if r.status != 200 {
            return Err(Error::Failed(format!(
                "docker engine: POST /swarm/init (ForceNewCluster): HTTP {}: {}{}",
                r.status,
                r.message(),
                if advertise.is_none() {
                    "; give the address to advertise: `swarmnode restore --advertise-addr ADDR \
                     ARCHIVE` (it goes on)"
                } else {
                    ""
                }
            )));
        }
    }
    wait_manages(host, &info(host)?.swarm.node_id, seconds)
}

/// `POST /swarm/leave` (with force only for `reset --force`: dockerd refuses to let a manager
/// go without it). A node already out is done; dockerd's 503 also means "a manager, use force"
/// and "locked", so a refusal counts as out only when the engine then says it is inactive.
pub(super) fn leave(host: &SwarmHost, force: bool) -> Result<()> {
    let path = if force {
        "/swarm/leave?force=1"
    } else {
        "/swarm/leave"
    };
    let r = host
        .api()
        .request("POST", path, None, Duration::from_secs(60))?;
    if r.status != 200 && info(host)?.swarm.local_node_state != "inactive" {
        return Err(Error::Failed(format!(
            "docker engine: POST {path}: HTTP {}: {}",
            r.status,
            r.message()
        )));
    }
    Ok(())
}

/// Did docker on the manager say, in its own words, that it does not know this node? (`Error:
/// No such node: ID` from the CLI, `node ID not found` from older daemons.) Nothing else counts:
/// "docker: command not found" is not an answer about the node.
pub fn no_such_node(code: i32, stderr: &str, id: &str) -> bool {
    code == 1
        && !id.is_empty()
        && (stderr.contains(&format!("No such node: {id}"))
            || stderr.contains(&format!("node {id} not found")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_docker_s_own_words_say_a_node_is_unknown() {
        let id = "l8s526d06sna2jckb05a27o7r";
        assert!(no_such_node(1, &format!("Error: No such node: {id}\n"), id));
        assert!(no_such_node(
            1,
            &format!("Error response from daemon: node {id} not found\n"),
            id
        ));
        assert!(!no_such_node(127, "bash: docker: command not found\n", id));
        assert!(!no_such_node(1, "bash: docker: command not found\n", id));
        assert!(!no_such_node(1, "Error: No such node: another\n", id));
    }
}
