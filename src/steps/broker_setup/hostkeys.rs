//! This manager's ssh host keys, published in the swarm (a config of swarmnode's, named by the
//! manager's node ID and the keys), so `swarmnode broker bootstrap` on any manager writes every
//! manager into the nodes' known_hosts. Read from the host key files sshd names (`HostKey`,
//! their `.pub`); published again when they change, the old config removed.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::host::Host;
use crate::host::swarm::keys::{self, Kind, NewKey, Stored};
use crate::host::swarm::{self, SwarmOp};
use crate::host::{Action, clock};
use crate::steps::plan::StepPlan;
use crate::vocab::sshkey::HOST_KEY_TYPES;
use crate::vocab::{NodeId, PublicKey};

const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The public host keys sshd presents, from its effective `hostkey` paths (as sshd names
/// them); a key outside the root, or unreadable, is named in a warning.
fn host_keys(
    h: &Host,
    eff: &BTreeMap<String, Vec<String>>,
    p: &mut StepPlan,
) -> Result<Vec<PublicKey>> {
    let mut out = Vec::new();
    for path in eff.get("hostkey").into_iter().flatten() {
        let Some(host_path) = h.host_path_of(&format!("{path}.pub")) else {
            p.warnings
                .push(format!("{path}.pub is outside the root: not published"));
            continue;
        };
        match h
            .read_text(&host_path)?
            .map(|t| PublicKey::parse(t.trim(), &HOST_KEY_TYPES))
        {
            Some(Ok(k)) if !out.contains(&k) => out.push(k),
            Some(Ok(_)) => {}
            Some(Err(why)) => p
                .warnings
                .push(format!("{host_path}: {why}: not published")),
            None => p
                .warnings
                .push(format!("{host_path} is missing: not published")),
        }
    }
    Ok(out)
}

/// The new config published unless it is there, then the node's other host-key configs removed.
fn add_publish(stored: &[Stored], node: &NodeId, new: NewKey, n: usize, p: &mut StepPlan) {
    let mine = stored
        .iter()
        .filter(|s| matches!(&s.kind, Kind::HostKeys { node: x, .. } if x == node));
    let mut published = false;
    let mut old = Vec::new();
    for s in mine {
        if s.name == new.name && new.labels.get("swarmnode.addr") == Some(&s.addr) {
            published = true;
        } else {
            old.push(Action::swarm(
                "broker.hostkeys-old",
                "this manager's earlier host keys (the new ones are published first)",
                SwarmOp::Unpublish {
                    id: s.id.clone(),
                    name: s.name.clone(),
                },
            ));
        }
    }
    if published {
        p.facts.push(format!(
            "this manager's {n} ssh host key(s) are published ({})",
            new.name
        ));
    } else {
        let at = new
            .labels
            .get("swarmnode.addr")
            .cloned()
            .unwrap_or_default();
        p.actions.push(Action::swarm(
            "broker.hostkeys",
            "the nodes' known_hosts, from any manager",
            SwarmOp::Publish {
                name: new.name,
                labels: new.labels,
                data: new.data,
                what: format!("this manager's {n} ssh host key(s), at {at}"),
            },
        ));
    }
    p.actions.extend(old);
}

pub fn add_host_keys(
    h: &Host,
    eff: &BTreeMap<String, Vec<String>>,
    p: &mut StepPlan,
) -> Result<()> {
    if h.offline().is_some() {
        p.facts
            .push("the host keys are published at the first boot (no swarm here)".into());
        return Ok(());
    }
    let sh = h.swarm_host()?;
    let info = swarm::info(&sh)?;
    if !info.swarm.control_available {
        p.facts.push(format!(
            "not a manager (swarm state: {}): its host keys are published once it is (apply again)",
            info.swarm.local_node_state
        ));
        return Ok(());
    }
    let node = NodeId::parse(&info.swarm.node_id).map_err(crate::error::Error::Failed)?;
    let keys = host_keys(h, eff, p)?;
    if keys.is_empty() {
        p.warnings
            .push("sshd names no host key swarmnode can read: none published".into());
        return Ok(());
    }
    let port: u16 = eff
        .get("port")
        .and_then(|v| v.first())
        .and_then(|v| v.parse().ok())
        .unwrap_or(22);
    let new = NewKey::host_keys(
        &keys,
        &node,
        &info.name,
        &info.swarm.node_addr,
        port,
        clock::now(),
    );
    let (stored, _) = keys::list(sh.api(), TIMEOUT)?;
    add_publish(&stored, &node, new, keys.len(), p);
    Ok(())
}
