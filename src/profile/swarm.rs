//! `swarm`: the managers, the role, where the join token comes from (and so the channel to the
//! managers), the labels, the CA pin, and how long and how gently to join.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::types::{Bounded, CaPin, JoinSecs, ManagerAddr, Port, ShortSecs};
use super::{Checked, Invalid, Role};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Swarm {
    /// The managers' swarm addresses, `HOST[:PORT]` (port 2377 when absent), tried in order.
    pub managers: Vec<ManagerAddr>,
    #[serde(default)]
    pub role: Role,
    /// Where the join token comes from; the same channel is used to label the node.
    pub token: TokenSource,
    /// Node labels, set by a manager on this node's ID when missing or different.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Pin of the cluster's root CA: `sha256:<64 hex>` (`docker swarm ca | sha256sum` on a
    /// manager) or the 50-character digest part of a join token. A token for another cluster is
    /// refused before any join attempt.
    #[serde(default)]
    pub ca_hash: Option<CaPin>,
    /// How long the join may take in all, across managers and retries.
    #[serde(default = "default_join_timeout")]
    pub join_timeout_seconds: JoinSecs,
    /// Before a join's first call to a manager, a random wait of up to this long, so that a
    /// rack booted at once does not reach the managers in the same second (0: none).
    #[serde(default = "default_start_jitter")]
    pub start_jitter_seconds: Bounded<0, 600>,
    /// The address other nodes reach this node on; detected (the local address toward the first
    /// manager) when absent.
    #[serde(default)]
    pub advertise_addr: Option<String>,
    #[serde(default = "default_listen_addr")]
    pub listen_addr: String,
    /// Remove `Down` nodes that carry this node's hostname and another ID (left by re-provisioning).
    #[serde(default)]
    pub remove_stale_nodes: bool,
}

fn default_join_timeout() -> JoinSecs {
    JoinSecs::new(300)
}

fn default_start_jitter() -> Bounded<0, 600> {
    Bounded::new(5)
}

fn default_listen_addr() -> String {
    "0.0.0.0:2377".to_string()
}

/// `swarm.token`: how to get the join token. `ssh` and `tls` are authenticated channels to a
/// manager; `tcp` is the plaintext Engine API and needs `allow_insecure_tcp`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(tag = "source", rename_all = "lowercase", deny_unknown_fields)]
pub enum TokenSource {
    /// `ssh USER@MANAGER docker swarm join-token -q ROLE` (BatchMode, strict host keys).
    Ssh {
        #[serde(default = "default_ssh_user")]
        user: String,
        #[serde(default)]
        identity_file: Option<String>,
        #[serde(default)]
        known_hosts_file: Option<String>,
        #[serde(default = "default_ssh_port")]
        port: Port,
        #[serde(default = "default_connect_timeout")]
        connect_timeout_seconds: ShortSecs,
        /// The manager answers through `swarmnode broker` (a forced command): the node asks for
        /// a token, its own entry and its own labels, and can do nothing else there.
        #[serde(default)]
        broker: bool,
        /// With the broker: a bootstrap key (`swarmnode broker bootstrap` made it; it expires).
        /// The node then makes its own key at `identity_file` (when it is not there), gets the
        /// token and enrols its key with the bootstrap key, and uses only its own key after.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bootstrap_identity_file: Option<String>,
    },
    /// The manager's Engine API with client certificates (`docker -H tcp://MANAGER:2376 --tlsverify`).
    Tls {
        ca_file: String,
        cert_file: String,
        key_file: String,
        #[serde(default = "default_tls_port")]
        port: Port,
    },
    /// The manager's plaintext Engine API: anyone on the network can do the same. Opt-in only.
    Tcp {
        #[serde(default = "default_tcp_port")]
        port: Port,
        #[serde(default)]
        allow_insecure_tcp: bool,
    },
    /// A file holding the token, readable by root only (no manager channel: no labels).
    File { path: String },
}

fn default_ssh_user() -> String {
    "root".to_string()
}
fn default_ssh_port() -> Port {
    Port::new(22)
}
fn default_connect_timeout() -> ShortSecs {
    ShortSecs::new(10)
}
fn default_tls_port() -> Port {
    Port::new(2376)
}
fn default_tcp_port() -> Port {
    Port::new(2375)
}

impl Swarm {
    pub(super) fn validate(&self) -> Checked {
        let err = |k: &str, m: String| Err(Invalid::new(format!("swarm.{k}"), m));
        if self.managers.is_empty() {
            return err("managers", "needs at least one manager (host:port)".into());
        }
        for (k, v) in &self.labels {
            let key_ok = |c: char| c.is_ascii_alphanumeric() || "._-/".contains(c);
            if k.is_empty() || !k.chars().all(key_ok) {
                return err(
                    &format!("labels.{k}"),
                    "a label key is letters, digits and . _ - / only".into(),
                );
            }
            if v.chars().any(|c| c.is_control()) {
                return err(
                    &format!("labels.{k}"),
                    "a label value has no control characters".into(),
                );
            }
        }
        match &self.token {
            TokenSource::Tcp {
                allow_insecure_tcp: false,
                ..
            } => {
                return err(
                    "token.allow_insecure_tcp",
                    "the tcp source fetches the token over the manager's plaintext API, which \
                     gives root to anyone on the network; use ssh or tls, or set \
                     allow_insecure_tcp: true"
                        .into(),
                );
            }
            TokenSource::Ssh {
                bootstrap_identity_file: Some(b),
                identity_file,
                broker,
                ..
            } if !broker || identity_file.is_none() || identity_file.as_ref() == Some(b) => {
                return err(
                    "token.bootstrap_identity_file",
                    format!(
                        "'{b}' is a bootstrap key, which the broker takes (broker: true), and the \
                         node's own key needs a place of its own (identity_file, another path)"
                    ),
                );
            }
            TokenSource::Ssh {
                bootstrap_identity_file: Some(p),
                ..
            }
            | TokenSource::Ssh {
                identity_file: Some(p),
                ..
            } if crate::vocab::not_normalised(p).is_some() => {
                return err(
                    "token",
                    format!("'{p}' is not an absolute, normalised path"),
                );
            }
            TokenSource::Ssh { user, .. } if !crate::vocab::user_name_ok(user) => {
                return err(
                    "token.user",
                    format!("'{user}' is not a user name (letters, digits, _ . -; not first -)"),
                );
            }
            TokenSource::Ssh { broker: true, .. } => {
                use crate::vocab::{label_key_ok, label_value_ok};
                if let Some((k, v)) = self
                    .labels
                    .iter()
                    .find(|(k, v)| !label_key_ok(k) || !label_value_ok(v))
                {
                    return err(
                        &format!("labels.{k}"),
                        format!(
                            "'{k}={v}' cannot go through the broker: keys of letters, digits, \
                             . _ - (at most 64), values of letters, digits, . _ - : / @ + (at \
                             most 128)"
                        ),
                    );
                }
            }
            TokenSource::File { path } if !path.starts_with('/') => {
                return err("token.path", format!("'{path}' is not an absolute path"));
            }
            TokenSource::File { .. } if !self.labels.is_empty() || self.remove_stale_nodes => {
                return err(
                    "token.source",
                    "labels and remove_stale_nodes are done by a manager, and the file source \
                     has no channel to one; use ssh or tls"
                        .into(),
                );
            }
            _ => {}
        }
        Ok(())
    }
}
