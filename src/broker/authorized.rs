//! What sshd asks at each login of the broker user (`AuthorizedKeysCommand`): the keys kept in
//! the swarm ([`crate::host::swarm::keys`]), one authorized_keys line each, with its
//! restrictions:
//!
//! | key | line |
//! |---|---|
//! | a bootstrap key, not expired | `restrict,from="NETWORKS",expiry-time="T",command="... broker --bootstrap FP --expires E" KEY` |
//! | a node's key, its node in the swarm | `restrict,from="ADDR",command="... broker --node ID --key FP" KEY` |
//!
//! The forced command carries the key's identity, so the broker knows who asks without trusting
//! anything the caller sends. `from=` is the broker's networks for a bootstrap key (none: any)
//! and the node's own address (`Status.Addr`, read now) for a node's key. An expired bootstrap
//! key, a node key whose node is gone, a manager's host keys: no line. The whole answer comes
//! within [`LIMIT`], or nothing does (sshd then takes no key).

use std::io::Write;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::host::Host;
use crate::host::swarm::keys::{self, Kind, Stored};
use crate::host::swarm::node::Node;
use crate::vocab::Network;

/// The whole answer's bound.
pub const LIMIT: Duration = Duration::from_secs(2);

/// The lines for the stored keys: `command` is the broker as sshd runs it (`/usr/sbin/swarmnode
/// broker`), `expiry` writes a moment as sshd's `expiry-time=` reads it.
pub fn lines(
    stored: &[Stored],
    nodes: &[Node],
    networks: &[Network],
    now: u64,
    command: &str,
    expiry: &dyn Fn(u64) -> String,
) -> Vec<String> {
    let mut out = Vec::new();
    for s in stored {
        let Some(key) = s.keys.first() else { continue };
        let fp = key.fingerprint();
        match &s.kind {
            Kind::Bootstrap { expires } if *expires > now => {
                let from = if networks.is_empty() {
                    String::new()
                } else {
                    let n: Vec<String> = networks.iter().map(Network::to_string).collect();
                    format!("from=\"{}\",", n.join(","))
                };
                out.push(format!(
                    "restrict,{from}expiry-time=\"{}\",command=\"{command} --bootstrap {fp} \
                     --expires {expires}\" {}",
                    expiry(*expires),
                    key.text()
                ));
            }
            Kind::Node { node } => {
                let Some(addr) = nodes
                    .iter()
                    .find(|n| n.id == node.as_str())
                    .map(|n| n.status.addr.as_str())
                    .filter(|a| a.parse::<std::net::IpAddr>().is_ok())
                else {
                    continue;
                };
                out.push(format!(
                    "restrict,from=\"{addr}\",command=\"{command} --node {node} --key {fp}\" {}",
                    key.text()
                ));
            }
            _ => {}
        }
    }
    out
}

/// The broker as sshd runs it: this binary (as sshd sees it) and its --root. None when either
/// path has a character a forced command in quotes cannot carry as it is.
pub fn broker_command(h: &Host) -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let plain = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    };
    let exe = exe.to_str().filter(|p| plain(p))?.to_string();
    let root = h.root().to_str()?;
    if root == "/" {
        return Some(format!("{exe} broker"));
    }
    plain(root).then(|| format!("{exe} --root {root} broker"))
}

/// sshd's question for `user`: the lines on `out`, all at once, exit 0; nothing and exit 1 on
/// any failure or past [`LIMIT`] (a watchdog ends the process).
pub fn run(h: &Host, user: &str, out: &mut dyn Write) -> i32 {
    let deadline = Instant::now() + LIMIT;
    std::thread::spawn(move || {
        std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
        eprintln!(
            "swarmnode broker authorized-keys: no answer within {} s: no key",
            LIMIT.as_secs()
        );
        std::process::exit(1);
    });
    match answer(h, user, deadline) {
        Ok(lines) => {
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => 0,
                Err(_) => 1,
            }
        }
        Err(e) => {
            eprintln!(
                "swarmnode broker authorized-keys: {}: no key",
                crate::error::chain(&e)
            );
            1
        }
    }
}

fn answer(h: &Host, user: &str, deadline: Instant) -> Result<Vec<String>> {
    let cfg = super::config::load(h.root())?;
    if cfg.user.as_deref().is_some_and(|u| u != user) {
        return Ok(Vec::new());
    }
    let command = broker_command(h).ok_or_else(|| {
        Error::Failed(
            "this binary's path or the root has characters a forced command cannot carry".into(),
        )
    })?;
    let left = || deadline.saturating_duration_since(Instant::now());
    let api = h.docker_api()?;
    let (stored, _) = keys::list(&api, left())?;
    let nodes: Vec<Node> = if stored.iter().any(|s| matches!(s.kind, Kind::Node { .. })) {
        api.get_json_within("/nodes", left())?
    } else {
        Vec::new()
    };
    Ok(lines(
        &stored,
        &nodes,
        &cfg.networks,
        crate::host::clock::now(),
        &command,
        &crate::host::clock::sshd_expiry,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::swarm::keys::NewKey;
    use crate::vocab::{NodeId, PublicKey};

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHP4NVXQOzetSTmtlHWvak0XNxsW7bROPPkR4m3kISSq";
    const ID: &str = "l8s526d06sna2jckb05a27o7r";

    fn stored(k: NewKey) -> Stored {
        let c = serde_json::json!([{"ID": "c1", "Spec": {"Name": k.name, "Labels": k.labels,
            "Data": crate::vocab::sshkey::base64(k.data.as_bytes())}}]);
        let (mut s, _) = keys::parse_list(&serde_json::to_vec(&c).unwrap()).unwrap();
        s.remove(0)
    }

    fn node(id: &str, addr: &str) -> Node {
        serde_json::from_value(serde_json::json!({"ID": id, "Version": {"Index": 1},
            "Spec": {"Role": "worker"}, "Description": {"Hostname": "psw-n2"},
            "Status": {"State": "ready", "Addr": addr}}))
        .unwrap()
    }

    #[test]
    fn each_kind_of_key_gets_its_restrictions() {
        let key = PublicKey::ed25519(KEY).unwrap();
        let fp = key.fingerprint();
        let id = NodeId::parse(ID).unwrap();
        let nets = [Network::parse("10.77.0.0/24").unwrap()];
        let keys = [
            stored(NewKey::bootstrap(&key, 100, 2000)),
            stored(NewKey::bootstrap(&key, 100, 1000)),
            stored(NewKey::node(&key, &id, "psw-n2", "10.77.0.2", 100)),
            stored(NewKey::host_keys(
                std::slice::from_ref(&key),
                &id,
                "psw-n1",
                "10.77.0.1",
                22,
                100,
            )),
        ];
        let cmd = "/usr/sbin/swarmnode broker";
        let at = |e: u64| format!("T{e}");
        let got = lines(&keys, &[node(ID, "10.77.0.2")], &nets, 1500, cmd, &at);
        assert_eq!(
            got,
            [
                format!(
                    "restrict,from=\"10.77.0.0/24\",expiry-time=\"T2000\",command=\"{cmd} \
                     --bootstrap {fp} --expires 2000\" {KEY}"
                ),
                format!(
                    "restrict,from=\"10.77.0.2\",command=\"{cmd} --node {ID} --key {fp}\" {KEY}"
                ),
            ]
        );
        // No networks: a bootstrap key from anywhere; a node that is gone, or has no address
        // docker gives: no line for its key.
        let got = lines(&keys[..1], &[], &[], 1500, cmd, &at);
        assert!(got[0].starts_with("restrict,expiry-time="), "{got:?}");
        assert!(lines(&keys[2..3], &[], &nets, 0, cmd, &at).is_empty());
        let odd = node(ID, "10.77.0.2\" ,command=\"sh");
        assert!(lines(&keys[2..3], &[odd], &nets, 0, cmd, &at).is_empty());
    }
}
