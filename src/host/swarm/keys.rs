//! The keys the broker's user logs in with, kept in the swarm itself as configs (so a key added
//! through one manager holds on every manager at once, and nothing is copied between them):
//!
//! | kind | config name | labels | data |
//! |---|---|---|---|
//! | a bootstrap key | `swarmnode-bootstrap-HEX` | expiry | its public key |
//! | a node's key | `swarmnode-node-NODEID` | node, hostname, address | its public key |
//! | a manager's host keys | `swarmnode-hostkeys-NODEID-HEX` | node, hostname, address, ssh port | its host keys |
//!
//! A node's key is named by its node ID, so the swarm itself refuses a second binding for one
//! node (the create answers 409). Every label starts with `swarmnode.`; a config that says it is
//! one of these and is not read whole is skipped, never trusted in part.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::host::engine_api::DockerApi;
use crate::vocab::sshkey::{HOST_KEY_TYPES, base64, unbase64};
use crate::vocab::{NodeId, PublicKey};

/// The label that says what a config is; every other label of swarmnode's starts the same.
pub const KIND: &str = "swarmnode.kind";
const NODE: &str = "swarmnode.node";
const HOSTNAME: &str = "swarmnode.hostname";
const ADDR: &str = "swarmnode.addr";
const PORT: &str = "swarmnode.port";
const CREATED: &str = "swarmnode.created";
const EXPIRES: &str = "swarmnode.expires";

/// The most host keys one manager publishes.
const MAX_HOST_KEYS: usize = 8;

/// What a stored key is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// May ask for a worker token and enrol a node's key, until `expires` (seconds since 1970).
    Bootstrap { expires: u64 },
    /// Bound to one node: acts for that node alone.
    Node { node: NodeId },
    /// A manager's ssh host keys, for the nodes' known_hosts.
    HostKeys { node: NodeId, port: u16 },
}

impl Kind {
    pub fn word(&self) -> &'static str {
        match self {
            Kind::Bootstrap { .. } => "bootstrap",
            Kind::Node { .. } => "node",
            Kind::HostKeys { .. } => "hostkeys",
        }
    }
}

/// One key (or a manager's host keys) as the swarm keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The config's ID, which removing it takes.
    pub id: String,
    pub name: String,
    pub kind: Kind,
    /// One key; a manager's host keys are several.
    pub keys: Vec<PublicKey>,
    /// The node's (or manager's) hostname and address when it was stored.
    pub hostname: String,
    pub addr: String,
    /// Seconds since 1970.
    pub created: u64,
}

/// What to store: the config's name and labels, and its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub data: String,
}

/// A short hex name part from the keys' blobs.
fn short_hex(keys: &[PublicKey]) -> String {
    let mut h = Sha256::new();
    for k in keys {
        h.update(k.text().as_bytes());
        h.update(b"\n");
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn labels(kind: &str, more: &[(&str, String)], created: u64) -> BTreeMap<String, String> {
    let mut l: BTreeMap<String, String> = more
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    l.insert(KIND.into(), kind.into());
    l.insert(CREATED.into(), created.to_string());
    l
}

impl NewKey {
    pub fn bootstrap(key: &PublicKey, created: u64, expires: u64) -> NewKey {
        NewKey {
            name: format!(
                "swarmnode-bootstrap-{}",
                short_hex(std::slice::from_ref(key))
            ),
            labels: labels("bootstrap", &[(EXPIRES, expires.to_string())], created),
            data: key.text() + "\n",
        }
    }

    pub fn node(
        key: &PublicKey,
        node: &NodeId,
        hostname: &str,
        addr: &str,
        created: u64,
    ) -> NewKey {
        NewKey {
            name: node_key_name(node),
            labels: labels(
                "node",
                &[
                    (NODE, node.to_string()),
                    (HOSTNAME, hostname.to_string()),
                    (ADDR, addr.to_string()),
                ],
                created,
            ),
            data: key.text() + "\n",
        }
    }

    pub fn host_keys(
        keys: &[PublicKey],
        node: &NodeId,
        hostname: &str,
        addr: &str,
        port: u16,
        created: u64,
    ) -> NewKey {
        NewKey {
            name: format!("swarmnode-hostkeys-{node}-{}", short_hex(keys)),
            labels: labels(
                "hostkeys",
                &[
                    (NODE, node.to_string()),
                    (HOSTNAME, hostname.to_string()),
                    (ADDR, addr.to_string()),
                    (PORT, port.to_string()),
                ],
                created,
            ),
            data: keys.iter().map(|k| k.text() + "\n").collect(),
        }
    }
}

/// The config name of a node's key: one per node.
pub fn node_key_name(node: &NodeId) -> String {
    format!("swarmnode-node-{node}")
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Config {
    #[serde(rename = "ID")]
    id: String,
    spec: Spec,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Spec {
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    data: String,
}

/// One config as a stored key; None when it is not whole (a label missing or malformed, data
/// that is not the keys it says).
fn read(c: Config) -> Option<Stored> {
    let l = &c.spec.labels;
    let get = |k: &str| l.get(k).map(String::as_str);
    let number = |k: &str| get(k)?.parse::<u64>().ok();
    let node = || NodeId::parse(get(NODE)?).ok();
    let kind = match get(KIND)? {
        "bootstrap" => Kind::Bootstrap {
            expires: number(EXPIRES)?,
        },
        "node" => Kind::Node { node: node()? },
        "hostkeys" => Kind::HostKeys {
            node: node()?,
            port: get(PORT)?.parse().ok()?,
        },
        _ => return None,
    };
    let data = String::from_utf8(unbase64(&c.spec.data)?).ok()?;
    let types: &[&str] = match kind {
        Kind::HostKeys { .. } => &HOST_KEY_TYPES,
        _ => &["ssh-ed25519"],
    };
    let keys: Vec<PublicKey> = data
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| PublicKey::parse(l, types).ok())
        .collect::<Option<_>>()?;
    let one = !matches!(kind, Kind::HostKeys { .. });
    if keys.is_empty() || (one && keys.len() != 1) || keys.len() > MAX_HOST_KEYS {
        return None;
    }
    if let Kind::Node { node } = &kind
        && c.spec.name != node_key_name(node)
    {
        return None;
    }
    Some(Stored {
        id: c.id,
        name: c.spec.name,
        keys,
        hostname: get(HOSTNAME).unwrap_or_default().to_string(),
        addr: get(ADDR).unwrap_or_default().to_string(),
        created: number(CREATED)?,
        kind,
    })
}

/// The stored keys as `GET /configs` gives them: (what was read whole, how many of swarmnode's
/// configs were skipped as not whole).
pub fn parse_list(body: &[u8]) -> std::result::Result<(Vec<Stored>, usize), String> {
    let all: Vec<Config> = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut skipped = 0;
    for c in all.into_iter().filter(|c| c.spec.labels.contains_key(KIND)) {
        match read(c) {
            Some(s) => out.push(s),
            None => skipped += 1,
        }
    }
    Ok((out, skipped))
}

/// `GET /configs` with swarmnode's label: every stored key (a manager's engine only).
pub fn list(api: &DockerApi, timeout: Duration) -> Result<(Vec<Stored>, usize)> {
    // filters={"label":["swarmnode.kind"]}, encoded for the query.
    let path = "/configs?filters=%7B%22label%22%3A%5B%22swarmnode.kind%22%5D%7D";
    let r = api.request("GET", path, None, timeout)?;
    if r.status != 200 {
        return Err(Error::Failed(format!(
            "GET /configs: HTTP {}: {}",
            r.status,
            r.message()
        )));
    }
    parse_list(&r.body).map_err(|e| Error::Failed(format!("GET /configs: {e}")))
}

/// What became of a create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Made,
    /// A config of that name is there already (for a node's key: the node is bound).
    Exists,
}

/// `POST /configs/create`.
pub fn create(api: &DockerApi, k: &NewKey, timeout: Duration) -> Result<Created> {
    let body = serde_json::json!({
        "Name": k.name,
        "Labels": k.labels,
        "Data": base64(k.data.as_bytes()),
    });
    let body = serde_json::to_vec(&body).expect("JSON serializes");
    let r = api.request("POST", "/configs/create", Some(&body), timeout)?;
    match r.status {
        201 | 200 => Ok(Created::Made),
        409 => Ok(Created::Exists),
        s => Err(Error::Failed(format!(
            "POST /configs/create {}: HTTP {s}: {}",
            k.name,
            r.message()
        ))),
    }
}

/// `DELETE /configs/ID`; one already gone is no error. `id` must be a config ID (letters and
/// digits), never text from elsewhere.
pub fn remove(api: &DockerApi, id: &str, timeout: Duration) -> Result<()> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::Failed(format!("{id:?} is not a config ID")));
    }
    let r = api.request("DELETE", &format!("/configs/{id}"), None, timeout)?;
    match r.status {
        200 | 204 | 404 => Ok(()),
        s => Err(Error::Failed(format!(
            "DELETE /configs/{id}: HTTP {s}: {}",
            r.message()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHP4NVXQOzetSTmtlHWvak0XNxsW7bROPPkR4m3kISSq";
    const ID: &str = "l8s526d06sna2jckb05a27o7r";

    fn as_config(id: &str, k: &NewKey) -> serde_json::Value {
        serde_json::json!({"ID": id, "Version": {"Index": 11},
            "Spec": {"Name": k.name, "Labels": k.labels, "Data": base64(k.data.as_bytes())}})
    }

    #[test]
    fn each_kind_goes_in_and_comes_back_whole() {
        let key = PublicKey::ed25519(KEY).unwrap();
        let node = NodeId::parse(ID).unwrap();
        let made = [
            NewKey::bootstrap(&key, 100, 200),
            NewKey::node(&key, &node, "psw-n2", "10.77.0.2", 100),
            NewKey::host_keys(
                std::slice::from_ref(&key),
                &node,
                "psw-n1",
                "10.77.0.1",
                22,
                100,
            ),
        ];
        let list: Vec<_> = made
            .iter()
            .enumerate()
            .map(|(i, k)| as_config(&format!("c{i}"), k))
            .chain([serde_json::json!({"ID": "other", "Spec": {"Name": "app", "Data": ""}})])
            .collect();
        let (got, skipped) = parse_list(&serde_json::to_vec(&list).unwrap()).unwrap();
        assert_eq!(skipped, 0);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].kind, Kind::Bootstrap { expires: 200 });
        assert_eq!(got[1].kind, Kind::Node { node: node.clone() });
        assert_eq!(got[1].name, format!("swarmnode-node-{ID}"));
        assert_eq!(
            (got[1].hostname.as_str(), got[1].addr.as_str()),
            ("psw-n2", "10.77.0.2")
        );
        assert_eq!(got[2].kind, Kind::HostKeys { node, port: 22 });
        assert!(
            got.iter()
                .all(|s| s.keys == [key.clone()] && s.created == 100)
        );
        assert!(made.iter().all(|k| k.name.len() <= 64), "docker's limit");
    }

    #[test]
    fn a_config_not_read_whole_is_skipped_never_trusted_in_part() {
        let key = PublicKey::ed25519(KEY).unwrap();
        let node = NodeId::parse(ID).unwrap();
        let good = NewKey::node(&key, &node, "h", "10.77.0.2", 1);
        let mut bad = Vec::new();
        // Another node's ID in the label than in the name: no binding at all.
        let mut k = good.clone();
        k.labels
            .insert(NODE.into(), "zzzzzzzzzzzzzzzzzzzzzzzzz".into());
        bad.push(k);
        // Two keys in a node's config; a key of another type; no expiry on a bootstrap key.
        let mut k = good.clone();
        k.data = format!("{KEY}\n{KEY}\n");
        bad.push(k);
        let mut k = good.clone();
        k.data = KEY.replace("ssh-ed25519", "ssh-rsa");
        bad.push(k);
        let mut k = NewKey::bootstrap(&key, 1, 2);
        k.labels.remove(EXPIRES);
        bad.push(k);
        let list: Vec<_> = bad.iter().map(|k| as_config("c", k)).collect();
        let (got, skipped) = parse_list(&serde_json::to_vec(&list).unwrap()).unwrap();
        assert!(got.is_empty(), "{got:?}");
        assert_eq!(skipped, 4);
    }

    proptest::proptest! {
        #[test]
        fn no_answer_makes_the_reader_panic(t in "\\PC{0,200}", data in "[A-Za-z0-9+/=]{0,60}", kind in "(bootstrap|node|hostkeys|x)") {
            let _ = parse_list(t.as_bytes());
            let c = serde_json::json!([{"ID": "a", "Spec": {"Name": "n", "Data": data,
                "Labels": {"swarmnode.kind": kind, "swarmnode.node": t, "swarmnode.created": "1",
                           "swarmnode.expires": "2", "swarmnode.port": "22"}}}]);
            let _ = parse_list(&serde_json::to_vec(&c).unwrap());
        }
    }
}
