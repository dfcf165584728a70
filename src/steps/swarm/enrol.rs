//! A node with a bootstrap key (the broker's `swarm.token.bootstrap_identity_file`): its own key
//! made at `identity_file` when it is not there (ed25519, 0600; it never leaves the node), the
//! join token fetched with the bootstrap key, then its own key enrolled with it (bound to the
//! node's ID on the managers), and from then on only its own key used. The enrolment is recorded
//! ([`state::ENROLLED`]: the node ID and the key's fingerprint); a node with a new ID (joined
//! again) enrols again.

use crate::error::{Error, Refusal, Result};
use crate::host::cmd::Cmd;
use crate::host::state::{self, Enrolled};
use crate::host::swarm::{Info, SwarmOp};
use crate::host::{Action, Host};
use crate::profile::Swarm;
use crate::steps::plan::StepPlan;
use crate::vocab::{NodeId, PublicKey};

use super::channel::{self, Ask, Channel};

/// The node's own key made, when the profile wants one and it is not there.
pub fn add_own_key(h: &Host, sw: &Swarm, info: &Info, p: &mut StepPlan) -> Result<()> {
    let Some(own) = channel::own_key(sw) else {
        return Ok(());
    };
    if h.exists(own)? {
        return Ok(());
    }
    p.actions.push(Action::run(
        "swarm.own-key",
        "the node's own key (it never leaves the node), enrolled with the bootstrap key",
        Cmd::ssh_keygen(&format!("swarmnode@{}", info.name), &h.tool_path(own)?),
    ));
    Ok(())
}

/// The bootstrap key is there (the token and the enrolment need it).
pub fn need_bootstrap_key(h: &Host, sw: &Swarm, why: &str) -> Result<()> {
    match channel::bootstrap_key(sw) {
        Some(b) if !h.exists(b)? => Err(Refusal::new(
            "swarm",
            b.to_string(),
            format!("it does not exist, and {why} needs it"),
        )
        .remedy(
            "make a bootstrap key on a manager (`swarmnode broker bootstrap --out DIR`) and put \
             DIR/bootstrap_key there (the kickstart lines in DIR/bootstrap.ks do)",
        )
        .into()),
        _ => Ok(()),
    }
}

/// The node's own public key, from `identity_file.pub` (ssh-keygen writes it beside the key).
fn own_public_key(h: &Host, own: &str) -> Result<PublicKey> {
    let path = format!("{own}.pub");
    let text = h.read_text(&path)?.ok_or_else(|| {
        Error::from(
            Refusal::new(
                "swarm",
                path.clone(),
                "it does not exist: the node's public key",
            )
            .remedy(format!("`ssh-keygen -y -f {own} > {own}.pub`")),
        )
    })?;
    PublicKey::ed25519(text.trim()).map_err(|why| {
        Refusal::new("swarm", path, why)
            .remedy("the node's own key is an ed25519 key swarmnode made")
            .into()
    })
}

/// Whether this node must enrol its own key now: with a bootstrap key, when its enrolment is not
/// recorded for this node ID and this key. True when it is planned (the rest of the step waits
/// for the next round, when the node's own key works).
pub fn add_enrolment(h: &Host, sw: &Swarm, info: &Info, p: &mut StepPlan) -> Result<bool> {
    let Some(own) = channel::own_key(sw) else {
        return Ok(false);
    };
    if !h.exists(own)? {
        add_own_key(h, sw, info, p)?;
        p.facts
            .push("once the node's own key is made, it is enrolled with the bootstrap key".into());
        return Ok(true);
    }
    let key = own_public_key(h, own)?;
    let id = NodeId::parse(&info.swarm.node_id).map_err(Error::Failed)?;
    let done = Enrolled::read(h)?;
    if done
        .as_ref()
        .is_some_and(|e| e.node == id && e.key == key.fingerprint())
    {
        p.facts.push(format!(
            "its own key {} is enrolled for node {id}",
            key.fingerprint()
        ));
        return Ok(false);
    }
    need_bootstrap_key(h, sw, "enrolling the node's own key")?;
    let chans = Channel::bootstrap(sw);
    let text = key.text();
    p.actions.push(Action::swarm(
        "swarm.enrol",
        "the node's own key bound to its node ID (the bootstrap key asks)",
        SwarmOp::OnManager {
            what: format!("enrol {} for node {id}", key.fingerprint()),
            calls: channel::calls(h, &chans, &Ask::Enroll(id.as_str(), &text), 0)?,
            budget_seconds: sw.join_timeout_seconds.get(),
            done_if_unknown_node: None,
            best_effort: false,
        },
    ));
    let record = Enrolled {
        node: id,
        key: key.fingerprint(),
    };
    p.actions.push(state::ENROLLED.write(
        "swarm.enrolled",
        "its own key is used from now on",
        record.text(),
        None,
    ));
    if !sw.labels.is_empty() || sw.remove_stale_nodes {
        p.facts
            .push("once enrolled, the node's own key has it labelled (the next round)".into());
    }
    Ok(true)
}
