//! docker.service itself: reloaded when a unit changed, enabled offline (kickstart %post) when the
//! profile wants a running docker, restarted only when its configuration changed and it runs
//! (with the step's changes put back if it does not come up with them), started when asked.
//!
//! A restart (and reload) this step still owes docker is noted (the state's `engine.pending`)
//! before the first change that needs one, and the note removed after it: a run killed in
//! between finds it and does what is owed, so a crash never leaves docker running on its old
//! configuration.

use crate::error::Result;
use crate::host::state::{self, Owed};
use crate::host::systemd::{self, Service};
use crate::host::{Action, Host};
use crate::profile::Engine;
use crate::steps::plan::StepPlan;

/// Plans reload, enable, restart or start, after the file changes already in `p`.
pub fn add(
    host: &Host,
    e: &Engine,
    svc: &Service,
    config_changed: bool,
    units_changed: bool,
    p: &mut StepPlan,
) -> Result<()> {
    if host.offline().is_some() {
        // Nothing runs yet in a kickstart %post: enabled, docker starts at boot.
        p.facts.push(
            "offline: docker is not reloaded, started or restarted now; it starts at boot".into(),
        );
        if svc.unit.is_some() && e.start && !systemd::is_enabled(host, "docker.service")? {
            p.actions.push(Action::run(
                "engine.enable",
                "offline: docker starts at boot (the profile asks for a running docker)",
                systemd::offline(host, &["enable", "docker.service"]),
            ));
        }
        return Ok(());
    }
    let owed = Owed::read(host)?;
    let reload = units_changed || owed.reload;
    if reload {
        p.actions.push(Action::run(
            "engine.daemon-reload",
            "docker.service changed",
            systemd::daemon_reload(),
        ));
    }
    if svc.unit.is_some() {
        add_running(
            host,
            e,
            config_changed || units_changed,
            owed.restart,
            reload,
            p,
        )?;
    }
    Ok(())
}

/// Restart only what changed (or what an interrupted run still owes), only when running; start
/// when asked.
fn add_running(
    host: &Host,
    e: &Engine,
    changed: bool,
    owed: bool,
    reload: bool,
    p: &mut StepPlan,
) -> Result<()> {
    let active = systemd::is_active(host, "docker")?;
    if active && (changed || owed) {
        if changed && !owed {
            p.actions.insert(
                0,
                pending_note(Owed {
                    reload,
                    restart: true,
                }),
            );
        }
        let undo = undo_of(&p.actions, reload);
        p.actions.push(
            systemd::docker(
                "engine.restart",
                if changed {
                    "docker's configuration changed"
                } else {
                    "an interrupted run changed docker's configuration and did not restart it"
                },
                &["restart", "docker"],
            )
            .or_else_undo(undo),
        );
    } else if !active && e.start {
        p.actions.push(systemd::docker(
            "engine.start",
            "the profile asks for a running docker",
            &["start", "docker"],
        ));
    } else if active {
        p.facts
            .push("docker is running and its configuration is unchanged: not restarted".into());
    }
    if owed || (active && changed) {
        p.actions.push(state::ENGINE_PENDING.remove(
            "engine.pending-done",
            "docker runs on its configuration now",
        ));
    }
    Ok(())
}

fn pending_note(owed: Owed) -> Action {
    state::ENGINE_PENDING.write(
        "engine.pending",
        "note the restart owed, before the first change (a crash in between does not lose it)",
        owed.text(),
        None,
    )
}

/// What puts back the files this step changes, last change first (then a daemon-reload when
/// units changed): the running docker must never be left unable to start.
fn undo_of(actions: &[Action], reload: bool) -> Vec<Action> {
    use crate::host::Effect;
    let mut undo: Vec<Action> = actions
        .iter()
        .rev()
        .filter_map(|a| match &a.effect {
            Effect::Write {
                path,
                mode,
                previous: Some(old),
                ..
            } => Some(Action::write(
                "engine.undo",
                "put back",
                path,
                *mode,
                old.clone(),
                None,
            )),
            Effect::Write { path, .. } => Some(Action::remove("engine.undo", "put back", path)),
            Effect::Rename { from, to } => {
                Some(Action::rename("engine.undo", "put back", to, from))
            }
            _ => None,
        })
        .collect();
    if reload {
        undo.push(Action::run(
            "engine.undo",
            "put back",
            systemd::daemon_reload(),
        ));
    }
    // docker.service restarts itself after a failure (Restart=always) and soon hits its start
    // limit ("start of the service was attempted too often"): clear it before the next restart.
    undo.push(Action::run(
        "engine.undo",
        "clear the start limit",
        systemd::online(&["reset-failed", "docker.service"]),
    ));
    undo
}
