//! The steps. Each one observes the host, plans the actions that would bring it to the wanted
//! state, and `apply` carries them out through [`Host::execute`]. `plan` is the same code path
//! minus the effects.

pub mod engine;
pub mod firstboot;
pub mod mounts;
pub mod storage;
pub mod swarm;

use serde::Serialize;

use crate::host::Action;

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
}
