//! `check`: how full is too full, and where the timer sends its result.

use serde::{Deserialize, Serialize};

use super::types::{Bounded, ServerAddr};
use super::{Checked, Invalid, percent};

/// `check`: how full is too full, and where the timer sends its result. Every key optional; the
/// check runs with these defaults without the section.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Check {
    /// Yellow at this much use (thin pool data and metadata, the overlay2 volume's space and inodes).
    pub warn_percent: u32,
    /// Red at this much use.
    pub crit_percent: u32,
    /// apply installs and enables `swarmnode-check.timer`.
    pub timer: bool,
    /// How often the timer runs the check.
    pub interval_minutes: Bounded<1, 1440>,
    /// Where the timer sends the Xymon status (`HOST[:PORT]`, port 1984 when absent).
    pub xymon: Option<ServerAddr>,
    /// The Xymon column (test name).
    pub xymon_column: String,
    /// The host name Xymon knows the node by (hosts.cfg); the kernel's host name when absent.
    pub xymon_host: Option<String>,
    /// Where the timer writes the node_exporter textfile (`.../swarmnode.prom`).
    pub textfile: Option<String>,
}

impl Default for Check {
    fn default() -> Self {
        Check {
            warn_percent: 80,
            crit_percent: 90,
            timer: false,
            interval_minutes: Bounded::new(5),
            xymon: None,
            xymon_column: "swarmnode".into(),
            xymon_host: None,
            textfile: None,
        }
    }
}

impl Check {
    pub(super) fn validate(&self) -> Checked {
        percent("check.warn_percent", self.warn_percent, 1, 99, "")?;
        percent(
            "check.crit_percent",
            self.crit_percent,
            self.warn_percent + 1,
            100,
            " (above warn_percent)",
        )?;
        let word = |c: char| c.is_ascii_alphanumeric() || "_-".contains(c);
        if self.xymon_column.is_empty() || !self.xymon_column.chars().all(word) {
            return Err(Invalid::new(
                "check.xymon_column",
                format!(
                    "'{}' is not a Xymon column name (letters, digits, _ and -)",
                    self.xymon_column
                ),
            ));
        }
        if let Some(h) = &self.xymon_host {
            let ok = |c: char| c.is_ascii_alphanumeric() || ".-_".contains(c);
            if h.is_empty() || !h.chars().all(ok) || h.starts_with(['-', '.']) {
                return Err(Invalid::new(
                    "check.xymon_host",
                    format!("'{h}' is not a host name"),
                ));
            }
        }
        if let Some(t) = &self.textfile {
            // It goes on the timer's command line: a plain absolute path only.
            let ok = |c: char| c.is_ascii_alphanumeric() || "/._-".contains(c);
            if !t.starts_with('/')
                || !t.ends_with(".prom")
                || !t.chars().all(ok)
                || t.contains("/../")
            {
                return Err(Invalid::new(
                    "check.textfile",
                    format!(
                        "'{t}' is not an absolute path ending in .prom (node_exporter reads only \
                         *.prom) of letters, digits, / . _ -"
                    ),
                ));
            }
        }
        Ok(())
    }
}
