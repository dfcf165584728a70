//! What a step found and would do: its plan, the one shape every step returns.

use serde::Serialize;

use crate::error::Result;
use crate::host::{Action, Host};

/// What a step found and what it would do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StepPlan {
    pub step: &'static str,
    /// What was observed and decided (device resolution, driver choice, ...).
    pub facts: Vec<String>,
    pub warnings: Vec<String>,
    pub actions: Vec<Action>,
    /// Set when the step does not run at all, with the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Skipped now and left to the first boot (offline).
    #[serde(skip)]
    pub deferred: bool,
}

impl StepPlan {
    pub fn new(step: &'static str) -> Self {
        StepPlan {
            step,
            ..Default::default()
        }
    }
    pub fn skipped(step: &'static str, why: impl Into<String>) -> Self {
        StepPlan {
            step,
            skipped: Some(why.into()),
            ..Default::default()
        }
    }
    pub fn deferred(step: &'static str, why: impl Into<String>) -> Self {
        StepPlan {
            deferred: true,
            ..Self::skipped(step, why)
        }
    }
}

/// Plans writing `content` to `path` when the file does not already hold it; true when it does
/// not. The one read-compare-write of the steps.
pub fn plan_write(
    host: &Host,
    p: &mut StepPlan,
    id: &str,
    why: &str,
    path: &str,
    mode: u32,
    content: String,
) -> Result<bool> {
    let previous = host.read_text(path)?;
    let changed = previous.as_deref() != Some(content.as_str());
    if changed {
        p.actions
            .push(Action::write(id, why, path, mode, content, previous));
    }
    Ok(changed)
}
