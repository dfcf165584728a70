//! The check timer, when the profile's `check.timer` asks for it (and, turned off, taken away): `swarmnode-check.service` runs
//! `swarmnode check` (sending to the profile's Xymon server and textfile) every
//! `check.interval_minutes`, from `swarmnode-check.timer`. Offline (kickstart %post) the timer is
//! enabled and starts at boot; booted, it is enabled and started now.

use crate::error::{Refusal, Result};
use crate::host::systemd;
use crate::host::{Action, Host};
use crate::profile::Check;
use crate::steps::firstboot::add_binary;
use crate::steps::plan::{StepPlan, add_write};

pub const SERVICE_NAME: &str = "swarmnode-check.service";
pub const TIMER_NAME: &str = "swarmnode-check.timer";
pub const SERVICE_PATH: &str = "/etc/systemd/system/swarmnode-check.service";
pub const TIMER_PATH: &str = "/etc/systemd/system/swarmnode-check.timer";
pub const WANTS_PATH: &str = "/etc/systemd/system/timers.target.wants/swarmnode-check.timer";

/// The service: one check, its result sent where the profile says. Yellow (1) and red (2) are
/// the check's answer, not the unit's failure; a result that could not be delivered (69) is.
pub fn service_text(c: &Check, profile: &str, bin: &str) -> String {
    let mut cmd = format!("{bin} --profile {profile} check --quiet");
    if let Some(x) = &c.xymon {
        cmd.push_str(&format!(" --xymon {x}"));
    }
    if let Some(t) = &c.textfile {
        cmd.push_str(&format!(" --textfile {t}"));
    }
    format!(
        "# written by swarmnode (the profile's check section)\n\
         [Unit]\n\
         Description=swarmnode check: the node's health for Xymon and Prometheus\n\
         After=docker.service remote-fs.target network-online.target\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart={cmd}\n\
         SuccessExitStatus=1 2\n\
         Nice=10\n\
         TimeoutStartSec=5min\n"
    )
}

pub fn timer_text(c: &Check) -> String {
    format!(
        "# written by swarmnode (the profile's check section)\n\
         [Unit]\n\
         Description=swarmnode check every {n} minutes\n\
         \n\
         [Timer]\n\
         OnBootSec=2min\n\
         OnUnitActiveSec={n}min\n\
         RandomizedDelaySec=30s\n\
         AccuracySec=10s\n\
         \n\
         [Install]\n\
         WantedBy=timers.target\n",
        n = c.interval_minutes
    )
}

/// `profile`: the profile the timer's check reads (the one of this run; offline the first boot's
/// copy), a plain absolute path since it goes on the unit's command line.
pub fn plan(h: &Host, c: &Check, profile: &str) -> Result<StepPlan> {
    if !c.timer {
        return plan_off(h);
    }
    let mut p = StepPlan::new("check");
    plain_path(profile)?;
    let bin = add_binary(
        h,
        &mut p,
        "check.binary",
        "the check timer runs this binary",
    )?;
    if let Some(t) = &c.textfile
        && let Ok(Some((dir, why))) = crate::host::fs::untrusted_dir(h.root(), t)
    {
        p.warnings.push(format!(
            "check.textfile {t}: {dir} is on its way, and {why}; the timer's check refuses to \
             write there until every directory on the way is root's and writable by root only"
        ));
    }
    let mut changed = add_write(
        h,
        &mut p,
        "check.service",
        "runs swarmnode check",
        SERVICE_PATH,
        0o644,
        service_text(c, profile, bin),
    )?;
    changed |= add_write(
        h,
        &mut p,
        "check.timer",
        &format!("every {} minutes", c.interval_minutes),
        TIMER_PATH,
        0o644,
        timer_text(c),
    )?;
    let units = Units {
        step: "check",
        timer: TIMER_NAME,
        wants: WANTS_PATH,
        every: format!("every {} minutes", c.interval_minutes),
    };
    add_enable(h, &units, changed, &mut p)?;
    Ok(p)
}

/// The profile's path goes on the unit's command line: plain absolute paths only.
pub fn plain_path(profile: &str) -> Result<()> {
    let plain = |ch: char| ch.is_ascii_alphanumeric() || "/._-".contains(ch);
    if profile.starts_with('/') && profile.chars().all(plain) {
        return Ok(());
    }
    Err(Refusal::new(
        "check",
        format!("the profile path {profile:?}"),
        "the check timer's command line names it, and it is not an absolute path of \
         letters, digits, / . _ -",
    )
    .remedy("give --profile a plain absolute path")
    .into())
}

/// A timer of swarmnode's: the step that writes it, its unit, its link in timers.target.wants,
/// and how often it runs (in words).
pub struct Units {
    pub step: &'static str,
    pub timer: &'static str,
    pub wants: &'static str,
    pub every: String,
}

/// The timer enabled (offline: at boot) and running; systemd told first when the units changed.
pub fn add_enable(h: &Host, u: &Units, changed: bool, p: &mut StepPlan) -> Result<()> {
    let enabled = h.exists(u.wants)?;
    let id = |what: &str| format!("{}.{what}", u.step);
    if h.offline().is_some() {
        if !enabled {
            p.actions.push(Action::run(
                &id("enable"),
                "offline: the timer starts at boot",
                systemd::offline(h, &["enable", u.timer]),
            ));
        }
        return Ok(());
    }
    if changed {
        p.actions.push(Action::run(
            &id("daemon-reload"),
            format!("the {} units changed", u.step),
            systemd::daemon_reload(),
        ));
    }
    if !enabled || changed || !systemd::is_active(h, u.timer)? {
        p.actions.push(Action::run(
            &id("start"),
            "the timer runs from now on and at every boot",
            systemd::online(&["enable", "--now", u.timer]),
        ));
    } else {
        p.facts.push(format!("{} runs {}", u.timer, u.every));
    }
    Ok(())
}

/// `check.timer` off: a timer an earlier run installed is stopped, disabled and removed.
fn plan_off(h: &Host) -> Result<StepPlan> {
    let mut p = StepPlan::new("check");
    p.actions.extend(disable(h, "check.disable")?);
    let mut removed = false;
    for path in [SERVICE_PATH, TIMER_PATH] {
        if h.exists(path)? {
            p.actions
                .push(Action::remove("check.remove", "check.timer is off", path));
            removed = true;
        }
    }
    if removed && h.systemd_running() {
        p.actions.push(Action::run(
            "check.daemon-reload",
            "the check units are gone",
            systemd::daemon_reload(),
        ));
    }
    if p.actions.is_empty() {
        p.facts.push("check.timer is off: no check timer".into());
    }
    Ok(p)
}

/// Stops (when systemd runs) and disables the timer, when it is enabled: for `check.timer`
/// turned off, and for reset.
pub fn disable(h: &Host, id: &str) -> Result<Option<Action>> {
    disable_timer(h, id, TIMER_NAME, WANTS_PATH)
}

/// Stops (when systemd runs) and disables a timer of swarmnode's, when it is enabled.
pub fn disable_timer(h: &Host, id: &str, timer: &str, wants: &str) -> Result<Option<Action>> {
    if !h.exists(wants)? {
        return Ok(None);
    }
    Ok(Some(Action::run(
        id,
        format!("{timer} must not run again"),
        if h.systemd_running() {
            systemd::online(&["disable", "--now", timer])
        } else {
            systemd::offline(h, &["disable", timer])
        },
    )))
}
