//! `broker` (on a manager): the broker's user, and what nodes may ask of it (the labels a node
//! may set on itself, whether manager tokens are handed out, the networks callers come from).
//! The broker step writes these into the broker's configuration.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Checked, Invalid};
use crate::vocab::{Network, label_key_ok, label_value_ok, user_name_ok};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Broker {
    /// The system user sshd runs the broker as (made when missing: no password, in the docker
    /// group for the local socket and nothing else).
    #[serde(default = "default_user")]
    pub user: String,
    /// Label keys a node may set on itself, each with the values it may take.
    #[serde(default)]
    pub labels: BTreeMap<String, Vec<String>>,
    /// Whether `join-token manager` is answered (to a bootstrap key, or a key listed by hand).
    #[serde(default)]
    pub manager_tokens: bool,
    /// The networks callers may come from (`ADDR/BITS`); a bootstrap key's `from=`. Empty: any.
    #[serde(default)]
    pub networks: Vec<Network>,
}

fn default_user() -> String {
    "swarmnode-broker".into()
}

impl Broker {
    pub(super) fn validate(&self) -> Checked {
        if !user_name_ok(&self.user) || self.user == "root" {
            return Err(Invalid::new(
                "broker.user",
                format!(
                    "'{}' is not a user name for the broker (letters, digits, _ . -; not root)",
                    self.user
                ),
            ));
        }
        for (k, values) in &self.labels {
            if !label_key_ok(k) {
                return Err(Invalid::new(
                    format!("broker.labels.{k}"),
                    "a label key is letters, digits, . _ - (at most 64)",
                ));
            }
            if let Some(v) = values.iter().find(|v| !label_value_ok(v)) {
                return Err(Invalid::new(
                    format!("broker.labels.{k}"),
                    format!(
                        "'{v}' is not a value the broker carries (letters, digits, . _ - : / @ +)"
                    ),
                ));
            }
        }
        Ok(())
    }
}
