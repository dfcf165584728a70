//! `backup`: on a manager, where `swarmnode backup` keeps its archives, how many, and how often
//! the timer apply installs takes one.

use serde::{Deserialize, Serialize};

use super::types::{Bounded, Interval};
use super::{Checked, Invalid};

/// `backup`: where the archives go, how many stay, how often the timer takes one. Every key
/// optional; with the section, apply installs `swarmnode-backup.timer`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Backup {
    /// The directory the archives are written to (made 0700 when it is not there).
    pub directory: String,
    /// How many of this node's archives stay; older ones are removed after a backup.
    pub keep: Bounded<1, 1000>,
    /// How often the timer takes a backup (`1d`, `12h`); check turns yellow past twice this.
    pub interval: Interval,
}

impl Default for Backup {
    fn default() -> Self {
        Backup {
            directory: "/var/backups/swarmnode".into(),
            keep: Bounded::new(7),
            interval: Interval::try_from("1d".to_string()).expect("a valid default"),
        }
    }
}

impl Backup {
    pub(super) fn validate(&self) -> Checked {
        let d = &self.directory;
        // It goes on tar's command line and in the plan: a plain absolute path only.
        let ok = |c: char| c.is_ascii_alphanumeric() || "/._-".contains(c);
        if !d.starts_with('/')
            || d == "/"
            || !d.chars().all(ok)
            || crate::vocab::not_normalised(d).is_some()
        {
            return Err(Invalid::new(
                "backup.directory",
                format!("'{d}' is not a normalised absolute path of letters, digits, / . _ -"),
            ));
        }
        Ok(())
    }
}
