//! Words every part of swarmnode shares, each checked in one place: what a swarm node ID is, and
//! what an LVM volume group name is.

use std::fmt;

/// A swarm node ID: 25 characters of `[a-z0-9]` (swarmkit's base-36 identity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeId(String);

impl NodeId {
    pub fn parse(s: &str) -> Result<NodeId, String> {
        if s.len() == 25
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            Ok(NodeId(s.to_string()))
        } else {
            let shown: String = s.chars().take(60).flat_map(char::escape_debug).collect();
            Err(format!("\"{shown}\" is not a node ID (25 of a-z 0-9)"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An LVM volume group name as LVM takes it: letters, digits and `+ _ . -`, not starting with
/// `-`, not `.` or `..`.
pub fn vg_name_ok(vg: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || "+_.-".contains(c);
    !vg.is_empty() && !vg.starts_with('-') && vg != "." && vg != ".." && vg.chars().all(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids() {
        assert!(NodeId::parse("l8s526d06sna2jckb05a27o7r").is_ok());
        for bad in [
            "",
            "psw-n2",
            "L8S526D06SNA2JCKB05A27O7R",
            "l8s526d06sna2jckb05a27o7",
            "../../swarm/leave?force=1",
            "l8s526d06sna2jckb05a27o7r\n",
        ] {
            let e = NodeId::parse(bad).unwrap_err();
            assert!(
                e.contains("is not a node ID") && !e.contains('\n'),
                "{bad:?}: {e}"
            );
        }
    }
}
