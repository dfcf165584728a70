//! The broker's user: a system user with no password and a plain shell (sshd runs the forced
//! command through it), in the docker group for the local socket and nothing else. Made when
//! missing (and recorded, so reset removes it); one that is there is only added to the group.

use crate::error::{Refusal, Result};
use crate::host::cmd::Cmd;
use crate::host::state;
use crate::host::users::Users;
use crate::host::{Action, Host};
use crate::steps::plan::StepPlan;

/// The group that may use docker's socket (docker-ce makes it).
const DOCKER_GROUP: &str = "docker";

/// `--prefix ROOT` when the run has a root: useradd and usermod write that root's files.
fn prefix(h: &Host) -> Vec<String> {
    if h.root() == std::path::Path::new("/") {
        Vec::new()
    } else {
        vec!["--prefix".into(), h.root().display().to_string()]
    }
}

/// The user made, recorded first (a stop in between: reset still knows it is swarmnode's).
fn add_new_user(h: &Host, user: &str, p: &mut StepPlan) -> Result<()> {
    if state::broker_user(h)?.as_deref() != Some(user) {
        p.actions.push(state::BROKER_USER.write(
            "broker.user-record",
            "swarmnode makes the broker's user (reset removes it)",
            format!("{user}\n"),
            None,
        ));
    }
    p.actions.push(Action::run(
        "broker.useradd",
        "sshd runs the broker as this user",
        Cmd::new("useradd").args(prefix(h)).args([
            "--system",
            "--shell",
            "/bin/sh",
            "--home-dir",
            "/",
            "--no-create-home",
            "--password",
            "*",
            "--groups",
            DOCKER_GROUP,
            "--comment",
            "swarmnode broker",
            user,
        ]),
    ));
    Ok(())
}

pub fn add_user(h: &Host, user: &str, p: &mut StepPlan) -> Result<()> {
    let u = Users::read(h)?;
    if !u.groups.contains_key(DOCKER_GROUP) {
        return Err(Refusal::new(
            "broker",
            "/etc/group",
            "there is no docker group: the broker's user reaches docker's socket through it",
        )
        .remedy("install docker (docker-ce makes the group) before the broker step")
        .into());
    }
    match u.user(user) {
        None => add_new_user(h, user, p)?,
        Some(found) if found.shell.ends_with("nologin") || found.shell.ends_with("/false") => {
            return Err(Refusal::new(
                "broker",
                format!("the user {user}"),
                format!(
                    "its shell is {}: sshd runs the broker's forced command through it",
                    found.shell
                ),
            )
            .remedy(format!(
                "`usermod --shell /bin/sh {user}`, or name another broker.user"
            ))
            .into());
        }
        Some(_) if !u.in_group(user, DOCKER_GROUP) => p.actions.push(Action::run(
            "broker.usermod",
            "the broker reaches docker's socket through its group",
            Cmd::new("usermod")
                .args(prefix(h))
                .args(["--append", "--groups", DOCKER_GROUP, user]),
        )),
        Some(_) => p.facts.push(format!(
            "the broker's user {user} is there, in the docker group"
        )),
    }
    Ok(())
}
