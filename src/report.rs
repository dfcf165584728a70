//! What a run did: printed as it happens (text), printed whole with `--json`, and saved after
//! `apply`/`storage` as /var/lib/swarmnode/report.json.

use serde::Serialize;

use crate::host::Action;
use crate::steps::StepPlan;

pub const REPORT_PATH: &str = "/var/lib/swarmnode/report.json";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub swarmnode: &'static str,
    pub command: String,
    /// Seconds since the epoch.
    pub started: u64,
    pub duration_ms: u64,
    /// planned | converged | changed | refused | temporary | unavailable | failed
    pub result: String,
    pub exit_code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why running services were out of reach (kickstart %post), when they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offline: Option<String>,
    pub steps: Vec<StepReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub step: &'static str,
    /// planned | converged | changed | skipped | deferred | failed
    pub status: &'static str,
    pub facts: Vec<String>,
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub actions: Vec<ActionReport>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionReport {
    #[serde(flatten)]
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

impl StepReport {
    pub fn from_plan(p: &StepPlan, status: &'static str) -> StepReport {
        StepReport {
            step: p.step,
            status,
            facts: p.facts.clone(),
            warnings: p.warnings.clone(),
            skipped: p.skipped.clone(),
            actions: p
                .actions
                .iter()
                .map(|a| ActionReport {
                    action: a.clone(),
                    duration_ms: None,
                })
                .collect(),
            duration_ms: 0,
        }
    }
}

impl Report {
    pub fn new(command: &str) -> Report {
        Report {
            swarmnode: env!("CARGO_PKG_VERSION"),
            command: command.to_string(),
            started: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            duration_ms: 0,
            result: String::new(),
            exit_code: 0,
            error: None,
            offline: None,
            steps: Vec::new(),
        }
    }
}
