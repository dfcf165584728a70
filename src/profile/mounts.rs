//! `mounts`: the NFS paths the node needs, and how long they may take to answer.

use serde::{Deserialize, Serialize};

use super::types::ShortSecs;
use super::{Checked, Invalid};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Mounts {
    #[serde(default)]
    pub nfs: Vec<String>,
    /// For all answers together.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: ShortSecs,
}

fn default_timeout() -> ShortSecs {
    ShortSecs::new(5)
}

impl Mounts {
    pub(super) fn validate(&self) -> Checked {
        for (i, p) in self.nfs.iter().enumerate() {
            if self.nfs[..i].contains(p) {
                return Err(Invalid::new(
                    format!("mounts.nfs[{i}]"),
                    format!("'{p}' is listed twice"),
                ));
            }
            if !p.starts_with('/') {
                return Err(Invalid::new(
                    format!("mounts.nfs[{i}]"),
                    format!("'{p}' is not an absolute path"),
                ));
            }
        }
        Ok(())
    }
}
