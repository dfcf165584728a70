//! The broker's configuration, `/etc/swarmnode-broker/broker.json` on each manager: which labels a node
//! may set on itself, whether manager tokens are handed out, and from which networks.
//!
//! ```json
//! { "labels": { "function": ["production", "test"] },
//!   "manager_tokens": false,
//!   "networks": ["10.77.0.0/24"] }
//! ```
//!
//! Only root may change it (owned by root, no group or other write bit, not a symbolic link); the
//! broker user reads it. Without the file nothing is served: a broker that lost its
//! configuration does not fall back to serving everyone.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Refusal, Result};
use crate::host::fs::RootFile;
pub use crate::vocab::Network;

/// Where it is (see [`crate::host::places::BROKER_CONFIG`]).
pub use crate::host::places::BROKER_CONFIG as CONFIG_PATH;
/// Where it was before: named when the new place is empty.
const OLD_PATH: &str = "/etc/swarmnode/broker.json";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The broker's user (sshd's `%u`): another user's keys are none of the broker's. Absent:
    /// the user sshd asks for.
    #[serde(default)]
    pub user: Option<String>,
    /// Label keys a node may set on itself, each with the values it may take.
    #[serde(default)]
    pub labels: BTreeMap<String, Vec<String>>,
    /// Whether `join-token manager` is answered.
    #[serde(default)]
    pub manager_tokens: bool,
    /// The networks callers may come from (`ADDR/BITS`); empty: any.
    #[serde(default)]
    pub networks: Vec<Network>,
}

impl Config {
    /// Why this label may not be set, if it may not.
    pub fn refuses_label(&self, key: &str, value: &str) -> Option<String> {
        match self.labels.get(key) {
            None => Some(format!(
                "the label {key} is not one nodes may set (the broker allows: {})",
                if self.labels.is_empty() {
                    "none".to_string()
                } else {
                    self.labels.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            )),
            Some(vals) if !vals.iter().any(|v| v == value) => Some(format!(
                "{key}={value} is not allowed ({key} may be {})",
                vals.join(", ")
            )),
            Some(_) => None,
        }
    }

    pub fn allows_client(&self, ip: IpAddr) -> bool {
        self.networks.is_empty() || self.networks.iter().any(|n| n.contains(ip))
    }
}

/// Reads the configuration under `root`: a regular file only root can change.
pub fn load(root: &Path) -> Result<Config> {
    let path = crate::host::fs::under(root, CONFIG_PATH);
    let refuse = |why: String| -> Error {
        Refusal::new("broker", CONFIG_PATH, why)
            .remedy(format!(
                "make it, and every directory above it, root's and writable by root only: \
                 `chown root: {CONFIG_PATH} && chmod 644 {CONFIG_PATH}`"
            ))
            .into()
    };
    let io = |e| Error::io(format!("broker: cannot read {CONFIG_PATH}"), e);
    // The directories on the way too: one another user can write in lets them replace the file.
    if let Some((dir, why)) = crate::host::fs::untrusted_dir(root, CONFIG_PATH).map_err(io)? {
        return Err(refuse(format!(
            "{dir} is on its way, and {why}: others could replace it"
        )));
    }
    let text = match crate::host::fs::read_root_file(&path, 64 << 10).map_err(io)? {
        RootFile::Text(t) => t,
        RootFile::Untrusted(why) => return Err(refuse(why)),
        RootFile::Missing => {
            return Err(Refusal::new(
                "broker",
                CONFIG_PATH,
                format!(
                    "it does not exist, so nothing is served (an older swarmnode read it from \
                     {OLD_PATH}: move it)"
                ),
            )
            .remedy(
                "run `swarmnode apply` on this manager with a profile that has a broker section \
                 (docs/managers.md, Set up the managers)",
            )
            .into());
        }
    };
    parse(&text).map_err(|why| {
        Refusal::new(
            "broker",
            CONFIG_PATH,
            format!("it is not a broker configuration: {why}"),
        )
        .remedy("see docs/managers.md, Set up the managers")
        .into()
    })
}

/// The configuration's text: a JSON object of the known keys. Anything else (an array, which
/// serde would read as a struct of defaults and so serve everyone; null; a number) is refused.
pub fn parse(text: &str) -> std::result::Result<Config, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if !v.is_object() {
        return Err("it must be a JSON object ({...})".into());
    }
    serde_json::from_value(v).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_outside_the_allowlist_are_named() {
        let c: Config = serde_json::from_str(
            r#"{"labels": {"function": ["production", "test"]}, "networks": ["10.0.0.0/8"]}"#,
        )
        .unwrap();
        assert_eq!(c.refuses_label("function", "test"), None);
        assert!(
            c.refuses_label("function", "gpu")
                .unwrap()
                .contains("may be production, test")
        );
        assert!(
            c.refuses_label("rack", "b2")
                .unwrap()
                .contains("allows: function")
        );
        assert!(!c.manager_tokens);
        assert!(parse(r#"{"label": {}}"#).is_err());
    }

    #[test]
    fn only_an_object_is_a_configuration() {
        // serde alone reads `[]` as a struct of defaults: no networks, so everyone served.
        assert!(serde_json::from_str::<Config>("[]").is_ok());
        for bad in ["[]", "[[], false, []]", "null", "1", "\"x\"", ""] {
            let e = parse(bad).expect_err(bad);
            assert!(!e.is_empty(), "{bad}");
        }
        assert!(parse("[]").unwrap_err().contains("must be a JSON object"));
        assert!(parse("{}").unwrap().networks.is_empty());
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_config_parser_or_a_network_panic(t in "\\PC{0,80}", n in "[0-9a-f:./]{0,45}") {
            let _ = parse(&t);
            let _ = Network::parse(&n);
        }
    }
}
