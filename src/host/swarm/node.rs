//! docker's view of a swarm node, one model for every reader: the Engine API's `GET /nodes/ID`
//! and `GET /nodes` (what `docker node inspect` prints too), and the lines of `docker node ls
//! --format '{{json .}}'`. The spec is kept whole (an update sends it all back).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A node as the API gives it: the parts swarmnode reads, the spec whole.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Node {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(default)]
    pub version: Version,
    #[serde(default)]
    pub spec: Spec,
    #[serde(default)]
    pub description: Description,
    #[serde(default)]
    pub status: Status,
    /// Only on managers.
    #[serde(default)]
    pub manager_status: Option<ManagerStatus>,
}

/// The object version an update must name (`POST /nodes/ID/update?version=N`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Version {
    #[serde(default)]
    pub index: u64,
}

/// What the node should be: its labels and role typed, the rest (availability, name) as it is.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Spec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub role: String,
    #[serde(flatten)]
    pub rest: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Description {
    /// What the node says its name is (any node may say any name).
    #[serde(default)]
    pub hostname: String,
}

/// The manager's view of a node: `ready`, `down`, `unknown`, `disconnected`, and the address it
/// comes from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Status {
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub addr: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagerStatus {
    /// `reachable` or `unreachable`.
    #[serde(default)]
    pub reachability: String,
    #[serde(default)]
    pub leader: bool,
    /// Its address among the managers (`HOST:2377`).
    #[serde(default)]
    pub addr: String,
}

impl Node {
    /// The labels set on it (none: empty).
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.spec.labels.clone().unwrap_or_default()
    }

    /// `active`, `pause` or `drain` (what the spec says; empty when it says nothing).
    pub fn availability(&self) -> &str {
        self.spec
            .rest
            .get("Availability")
            .and_then(|v| v.as_str())
            .unwrap_or("")
    }
}

/// One line of `docker node ls --format '{{json .}}'`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodeLine {
    #[serde(rename = "ID")]
    pub id: String,
    pub hostname: String,
    /// Ready | Down | Unknown | Disconnected
    pub status: String,
    /// "" for workers; Leader | Reachable | Unreachable for managers.
    #[serde(default)]
    pub manager_status: String,
}

/// The lines of `docker node ls --format '{{json .}}'`.
pub fn parse_node_ls(text: &str) -> serde_json::Result<Vec<NodeLine>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/docker/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn a_real_node_and_its_spec_sent_back_whole() {
        let nodes: Vec<Node> = serde_json::from_str(&fixture("node-inspect.json")).unwrap();
        let n = &nodes[0];
        assert_eq!(n.id, "l8s526d06sna2jckb05a27o7r");
        assert_eq!(
            (n.spec.role.as_str(), n.description.hostname.as_str()),
            ("worker", "psw-n2")
        );
        assert_eq!(n.status.state, "ready");
        assert!(n.version.index > 0);
        assert!(n.manager_status.is_none());
        let raw: Value = serde_json::from_str(&fixture("node-inspect.json")).unwrap();
        assert_eq!(
            serde_json::to_value(&n.spec).unwrap(),
            raw[0]["Spec"],
            "the spec round-trips"
        );
        let m = r#"[{"ID":"x1","Spec":{"Role":"manager"},"ManagerStatus":{"Leader":true,"Reachability":"reachable","Addr":"10.0.0.1:2377"}},{"ID":"w1","Spec":{"Role":"worker"}}]"#;
        let ms: Vec<Node> = serde_json::from_str(m).unwrap();
        assert!(
            ms[0]
                .manager_status
                .as_ref()
                .is_some_and(|s| s.leader && s.reachability == "reachable")
        );
        assert!(ms[1].manager_status.is_none());
    }

    #[test]
    fn node_ls_lines_of_a_real_manager() {
        let ls = parse_node_ls(&fixture("node-ls.jsonl")).unwrap();
        assert_eq!(ls.len(), 2);
        assert_eq!(
            (ls[0].hostname.as_str(), ls[0].manager_status.as_str()),
            ("psw-n1", "Leader")
        );
        assert_eq!(
            (ls[1].status.as_str(), ls[1].manager_status.as_str()),
            ("Ready", "")
        );
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_node_parsers_panic(t in "\\PC{0,200}") {
            let _ = serde_json::from_str::<Vec<Node>>(&t);
            let _ = serde_json::from_str::<Node>(&t);
            let _ = parse_node_ls(&t);
        }
    }
}
