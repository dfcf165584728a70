//! Swarm health: the local engine active in a swarm with a NodeID, a manager reachable from the
//! node, and (when the profile has a channel to the managers) the node Ready there with the
//! labels the profile wants.

use std::time::Duration;

use crate::check::cert::{Cert, judge, parse_der, pem_der};
use crate::check::{INFO_TIMEOUT, Item, Metric, Status, unobservable};
use crate::host::Host;
use crate::host::net::Reached;
use crate::host::swarm::Info;
use crate::profile::{Profile, Swarm};
use crate::steps::swarm::channel::Channel;
use crate::steps::swarm::nodes::labels_to_set;

/// How long the managers' swarm ports may take to accept a connection, all of them together.
const MANAGER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the managers may be asked again for the node when they drop connections (a fleet's
/// timers firing together): a check answers in seconds, not the join's minutes.
const NODE_BUDGET: Duration = Duration::from_secs(10);

pub fn check(h: &Host, profile: &Profile) -> Vec<Item> {
    let Some(sw) = &profile.swarm else {
        return without_section(h, profile);
    };
    let info: Info = match h
        .docker_api()
        .and_then(|e| Ok(e.get_json_within("/info", INFO_TIMEOUT)?))
    {
        Ok(i) => i,
        Err(e) => return engine_away(h, &e),
    };
    let st = &info.swarm;
    let active = st.local_node_state == "active";
    let member = Metric::flag(
        "swarmnode_swarm_active",
        "1 when the local engine is active in a swarm",
        active,
    );
    if !active {
        let why = match st.local_node_state.as_str() {
            "inactive" => "it is not in a swarm".to_string(),
            "locked" => "the swarm is locked (autolock): `docker swarm unlock`".to_string(),
            other => format!("its swarm state is {other}: {}", st.error),
        };
        return vec![
            Item::new("swarm.local", Status::Red, format!("{}: {why}", info.name))
                .detail("`swarmnode join` joins it as the profile says")
                .metric(member),
        ];
    }
    let role = if st.control_available {
        "manager"
    } else {
        "worker"
    };
    let mut items = vec![
        Item::new(
            "swarm.local",
            Status::Green,
            format!(
                "{} is a {role} in a swarm: node {} at {}",
                info.name, st.node_id, st.node_addr
            ),
        )
        .metric(member),
    ];
    items.push(certificate(h, &info));
    if st.control_available {
        items.push(crate::check::managers::item(h, profile, &info));
    }
    let reachable = managers(sw, &info);
    let any = reachable.status == Status::Green;
    items.push(reachable);
    // Asking the managers for the node only when one can be reached.
    if !Channel::all(sw).is_empty() && any {
        items.push(node(h, sw, &info));
    }
    items
}

/// The engine does not answer: why, and a backup that stopped it, if one did.
fn engine_away(h: &Host, e: &crate::error::Error) -> Vec<Item> {
    let mut items = vec![unobservable("swarm.local", e)];
    items.extend(crate::check::managers::unfinished(h));
    items
}

/// No swarm section: a manager set up by hand may have a backup section alone, and its
/// managers still count.
fn without_section(h: &Host, profile: &Profile) -> Vec<Item> {
    if profile.backup.is_some() {
        // A backup section says this is a manager: docker not answering is red, not absent.
        match h
            .docker_api()
            .and_then(|e| Ok(e.get_json_within::<Info>("/info", INFO_TIMEOUT)?))
        {
            Ok(i) if i.swarm.control_available => {
                return vec![crate::check::managers::item(h, profile, &i)];
            }
            Ok(_) => {}
            Err(e) => return engine_away(h, &e),
        }
    }
    let mut items = vec![Item::absent("swarm", "swarm")];
    items.extend(crate::check::managers::unfinished(h));
    items
}

/// The node's swarm certificate and the swarm's root CA, from docker's data root.
fn certificate(h: &Host, info: &Info) -> Item {
    use crate::check::cert::CHECK;
    let root = match info.docker_root_dir.as_str() {
        "" => "/var/lib/docker",
        r => r,
    };
    let dir = format!("{}/swarm/certificates", root.trim_end_matches('/'));
    let read = |name: &str| -> crate::error::Result<Option<Cert>> {
        let path = format!("{dir}/{name}");
        h.read_text(&path)?
            .map(|t| {
                pem_der(&t)
                    .and_then(|d| parse_der(&d))
                    .ok_or_else(|| format!("{path} is not a certificate swarmnode can read"))
            })
            .transpose()
            .map_err(crate::error::Error::Failed)
    };
    match (read("swarm-node.crt"), read("swarm-root-ca.crt")) {
        (Ok(Some(node)), Ok(root)) => judge(&node, root.as_ref(), crate::host::clock::now() as i64),
        (Ok(None), _) => Item::new(
            CHECK,
            Status::Clear,
            format!("no certificate at {dir}/swarm-node.crt to read"),
        ),
        (Err(e), _) | (_, Err(e)) => unobservable(CHECK, &e),
    }
}

/// Can the node reach a manager's swarm port (the ones its engine knows first, then the profile's)?
fn managers(sw: &Swarm, info: &Info) -> Item {
    const CHECK: &str = "swarm.manager";
    let mut addrs = info.swarm.remote_addrs();
    for m in &sw.managers {
        if !addrs.contains(&m.swarm_addr()) {
            addrs.push(m.swarm_addr());
        }
    }
    // All at once: the first that accepts wins.
    let reached = crate::host::net::first_accepting(&addrs, MANAGER_TIMEOUT);
    match reached {
        Reached::One(a) => Item::new(
            CHECK,
            Status::Green,
            format!("manager {a} accepts connections"),
        ),
        Reached::None => Item::new(
            CHECK,
            Status::Red,
            format!(
                "no manager accepts connections on its swarm port: {}",
                addrs.join(", ")
            ),
        )
        .detail("check the managers and the network (port 2377/tcp) between them and this node"),
        Reached::NotInTime => Item::new(
            CHECK,
            Status::Red,
            format!(
                "no manager accepted a connection within {} s: {}",
                MANAGER_TIMEOUT.as_secs(),
                addrs.join(", ")
            ),
        ),
    }
}

/// With a bootstrap key, the node asks with its own key, once it is enrolled: before, the
/// managers are not asked (yellow).
fn not_enrolled(h: &Host, sw: &Swarm, info: &Info) -> Option<Item> {
    const CHECK: &str = "swarm.node";
    crate::steps::swarm::channel::own_key(sw)?;
    match crate::host::state::Enrolled::read(h) {
        Ok(Some(e)) if e.node.as_str() == info.swarm.node_id => None,
        Ok(_) => Some(
            Item::new(
                CHECK,
                Status::Yellow,
                format!(
                    "the node's own key is not enrolled for node {}: the managers are not asked",
                    info.swarm.node_id
                ),
            )
            .detail("`swarmnode join` enrols it (with the bootstrap key)"),
        ),
        Err(e) => Some(unobservable(CHECK, &e)),
    }
}

/// How to have the labels set again: `swarmnode join`, after removing the record that says a
/// manager had them set (someone changed them on a manager since) when it names this node.
fn labels_remedy(h: &Host, id: &str) -> String {
    use crate::host::state::{LABELLED, Labelled};
    match Labelled::read(h) {
        Ok(Some(l)) if l.node.as_str() == id => format!(
            "{} says a manager had them set, and they changed since: `rm {}`, then `swarmnode \
             join` has a manager set them again",
            LABELLED.path, LABELLED.path
        ),
        _ => "`swarmnode join` has a manager set them".into(),
    }
}

/// The manager's view of this node: Ready, and labelled as the profile wants.
fn node(h: &Host, sw: &Swarm, info: &Info) -> Item {
    const CHECK: &str = "swarm.node";
    if let Some(item) = not_enrolled(h, sw, info) {
        return item;
    }
    let node = match crate::steps::swarm::inspect_self(h, sw, info, NODE_BUDGET) {
        Ok((_, n)) => n,
        Err(e) => return unobservable(CHECK, &e),
    };
    let state = node.status.state.as_str();
    if state != "ready" {
        return Item::new(
            CHECK,
            Status::Red,
            format!("the managers see node {} as {state:?}, not ready", node.id),
        )
        .detail("`docker node inspect` on a manager; `journalctl -u docker` here");
    }
    let have = node.spec.labels.clone().unwrap_or_default();
    let missing = labels_to_set(&sw.labels, &have);
    if !missing.is_empty() {
        return Item::new(
            CHECK,
            Status::Yellow,
            format!(
                "node {} is ready, but labels are missing or different: {}",
                node.id,
                missing.join(" ")
            ),
        )
        .detail(labels_remedy(h, &node.id));
    }
    let labels: Vec<String> = sw.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Item::new(
        CHECK,
        Status::Green,
        format!(
            "node {} is ready, a {}{}",
            node.id,
            node.spec.role,
            if labels.is_empty() {
                String::new()
            } else {
                format!(", labels {}", labels.join(" "))
            }
        ),
    )
}
