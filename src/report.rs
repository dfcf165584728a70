//! What a run did: the one record of it, printed whole with `--json`, rendered as text for a
//! person (once, after the work), and saved after a changing command as
//! /var/lib/swarmnode/report.json.

use serde::Serialize;

use crate::error::Refusal;
use crate::host::Action;
use crate::host::secret::scrub;
use crate::host::text::escape_controls;
use crate::steps::plan::StepPlan;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub swarmnode: &'static str,
    pub command: String,
    /// Seconds since the epoch.
    pub started: u64,
    pub duration_ms: u64,
    /// planned | converged | changed | refused | temporary | unavailable | interrupted | failed
    pub result: String,
    pub exit_code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A refusal as data: what was refused, every reason, the way out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
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
    /// How many facts the first observation found (the rest came after the actions).
    #[serde(skip)]
    pub facts_before: usize,
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
            facts_before: p.facts.len(),
        }
    }

    /// The observation after a round of actions: what it found that the first could not (the
    /// swarm after a join), and every warning once.
    pub fn observed_again(&mut self, p: &StepPlan) {
        for f in &p.facts {
            if !self.facts.contains(f) {
                self.facts.push(f.clone());
            }
        }
        for w in &p.warnings {
            if !self.warnings.contains(w) {
                self.warnings.push(w.clone());
            }
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
            refusal: None,
            offline: None,
            steps: Vec::new(),
        }
    }

    /// The report as JSON, any token-shaped text scrubbed.
    pub fn json(&self) -> String {
        scrub(&serde_json::to_string_pretty(self).expect("serializable")).into_owned()
    }

    /// The text a person reads on stdout: per step its facts, then what it would do (planning:
    /// `doer` names what would, `apply` or `reset --yes`) or did. Warnings go to the log
    /// (stderr) instead, through `warn`.
    pub fn text(&self, doer: Option<&str>, warn: &mut dyn FnMut(&str)) -> String {
        let mut out = Vec::new();
        if let Some(why) = &self.offline {
            out.push(format!(
                "offline: {why}: doing what needs no running service; the rest is deferred to the first boot"
            ));
        }
        for s in &self.steps {
            for w in &s.warnings {
                warn(&format!("{}: {}", s.step, escape_controls(w)));
            }
            s.render(doer, &mut out);
        }
        out.iter().map(|l| scrub(l).into_owned() + "\n").collect()
    }
}

impl StepReport {
    fn render(&self, planning: Option<&str>, out: &mut Vec<String>) {
        if let Some(why) = &self.skipped {
            out.push(format!("{}: skipped: {why}", self.step));
            return;
        }
        let shown = |f: &&String| !f.starts_with("converged");
        let (before, after) = self.facts.split_at(self.facts_before.min(self.facts.len()));
        out.extend(
            before
                .iter()
                .filter(shown)
                .map(|f| format!("{}: {}", self.step, escape_controls(f))),
        );
        if let Some(doer) = planning.filter(|_| !self.actions.is_empty()) {
            out.push(format!(
                "{}: {doer} would do {} action(s):",
                self.step,
                self.actions.len()
            ));
        }
        out.extend(self.actions.iter().map(|a| format!("  {}", a.action)));
        out.extend(
            after
                .iter()
                .filter(shown)
                .map(|f| format!("{}: {}", self.step, escape_controls(f))),
        );
        match self.status {
            _ if self.actions.is_empty() && self.status != "failed" => {
                out.push(format!("{}: converged: nothing to do", self.step))
            }
            "changed" => out.push(format!(
                "{}: done: {} action(s) in {:.1} s; now converged",
                self.step,
                self.actions.len(),
                self.duration_ms as f64 / 1000.0
            )),
            _ => {}
        }
    }
}
