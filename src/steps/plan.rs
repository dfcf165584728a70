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

/// Where SELinux is enabled (selinuxfs at /sys/fs/selinux under the root): after a step has
/// written files, made directories, mounted /var/lib/docker or installed the binary, one
/// `restorecon -R` of those paths gives them the labels the policy expects (a fresh XFS volume's
/// root is otherwise unlabeled, and a file made by rename keeps its temporary file's label).
/// Planned with the step's actions, so `plan` shows it and a converged node runs none.
pub fn relabel(h: &Host, p: &mut StepPlan) -> Result<()> {
    use crate::host::Effect;
    if p.actions.is_empty() || !h.exists(SELINUX_ENFORCE)? {
        return Ok(());
    }
    let mut paths: Vec<String> = Vec::new();
    for a in &p.actions {
        let path = match &a.effect {
            Effect::Write { path, .. } | Effect::Mkdir { path, .. } => h.tool_path(path)?,
            Effect::Run { argv } if matches!(argv[0].as_str(), "mount" | "install") => {
                argv.last().cloned().unwrap_or_default()
            }
            _ => continue,
        };
        if !path.is_empty() && !paths.contains(&path) {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return Ok(());
    }
    if which::which("restorecon").is_err() {
        p.warnings.push(
            "SELinux is enabled but restorecon is not installed (policycoreutils): what this \
             step writes keeps the labels it gets when made"
                .into(),
        );
        return Ok(());
    }
    p.actions.push(Action::run(
        "selinux.restorecon",
        "SELinux is enabled: the policy's labels on what this step wrote",
        crate::host::cmd::Cmd::new("restorecon")
            .args(["-R", "--"])
            .args(paths),
    ));
    Ok(())
}

/// Present when SELinux is enabled (selinuxfs mounted).
pub const SELINUX_ENFORCE: &str = "/sys/fs/selinux/enforce";
