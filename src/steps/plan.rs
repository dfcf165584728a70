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
pub fn add_write(
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

/// Present when selinuxfs is mounted.
pub const SELINUX_ENFORCE: &str = "/sys/fs/selinux/enforce";
/// Present when the system is configured for SELinux (selinux-policy on EL).
pub const SELINUX_CONFIG: &str = "/etc/selinux/config";

/// SELinux is enabled as libselinux's `is_selinux_enabled()` says: selinuxfs mounted and the
/// system configured for it. A kernel that mounts selinuxfs on a host with no SELinux
/// configuration (a Debian guest) has no policy to label by.
pub fn selinux_enabled(h: &Host) -> Result<bool> {
    Ok(h.exists(SELINUX_ENFORCE)? && h.exists(SELINUX_CONFIG)?)
}

/// Where SELinux is enabled ([`selinux_enabled`], under the root): the files a step
/// writes, the directories it makes, the root of a volume it mounts (/var/lib/docker: a fresh
/// XFS volume's root is otherwise unlabeled) and the binary it installs get the labels the policy
/// expects, with one `restorecon` of exactly those paths (not recursive: what is inside a mounted
/// volume keeps its labels), planned right after the last of those actions, so before the step
/// reloads or starts a service. `plan` shows it; a converged node runs none.
pub fn add_relabel(h: &Host, p: &mut StepPlan) -> Result<()> {
    use crate::host::Effect;
    if p.actions.is_empty() || !selinux_enabled(h)? {
        return Ok(());
    }
    let mut paths: Vec<String> = Vec::new();
    let mut last = 0;
    for (i, a) in p.actions.iter().enumerate() {
        let path = match &a.effect {
            Effect::Write { path, .. } | Effect::Mkdir { path, .. } => h.tool_path(path)?,
            Effect::Run { argv, .. }
                if matches!(argv.first().map(String::as_str), Some("mount" | "install")) =>
            {
                argv.last().cloned().unwrap_or_default()
            }
            _ => continue,
        };
        last = i + 1;
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
    if h.root() != std::path::Path::new("/") {
        p.warnings.push(format!(
            "SELinux: restorecon labels the paths under {} by this host's file contexts; for \
             another system's tree run `chroot {} restorecon` on them instead",
            h.root().display(),
            h.root().display()
        ));
    }
    p.actions.insert(
        last,
        Action::run(
            "selinux.restorecon",
            "SELinux is enabled: the policy's labels on what this step wrote",
            crate::host::cmd::Cmd::new("restorecon")
                .arg("--")
                .args(paths),
        ),
    );
    Ok(())
}
