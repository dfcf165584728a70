//! Reset's broker phase, after the swarm phase (which takes this manager's published host keys
//! out of the swarm before it leaves: [`add_host_keys_gone`]): sshd's configuration for the
//! broker's user taken away (the drop-in removed, or swarmnode's block taken out of sshd_config,
//! every other line kept) and sshd reloaded; the broker's configuration removed when swarmnode
//! made it; the user swarmnode made removed. A node that never ran the broker step plans nothing
//! here.

use crate::error::Result;
use crate::host::cmd::Cmd;
use crate::host::fs::{BAK, ORIG};
use crate::host::places::BROKER_CONFIG;
use crate::host::state;
use crate::host::swarm::SwarmOp;
use crate::host::swarm::keys::{self, Kind};
use crate::host::users::Users;
use crate::host::{Action, Host};
use crate::steps::Run;
use crate::steps::broker_setup::sshd;
use crate::steps::plan::StepPlan;

use super::{Records, add_restore};

/// The broker's files (the state phase leaves them to this one).
pub const FILES: [&str; 3] = [BROKER_CONFIG, sshd::DROPIN, sshd::MAIN];

const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub fn in_broker(path: &str) -> bool {
    FILES.contains(&path)
}

pub fn plan(h: &Host, _run: &Run) -> Result<StepPlan> {
    let mut p = StepPlan::new("broker");
    let rec = Records::read(h)?;
    let before = p.actions.len();
    add_restore(h, &rec, sshd::DROPIN, &mut p)?;
    add_block_gone(h, &mut p)?;
    let sshd_changed = p.actions.len() > before;
    if sshd_changed || state::SSHD_PENDING.exists(h)? {
        sshd::add_reload(h, &mut p)?;
    }
    add_restore(h, &rec, BROKER_CONFIG, &mut p)?;
    add_user_gone(h, &mut p)?;
    for r in state::ALL
        .iter()
        .filter(|r| r.reset == state::Reset::Broker)
    {
        if r.exists(h)? {
            p.actions
                .push(r.remove("reset.broker-record", "the broker's setup is gone"));
        }
    }
    if p.actions.is_empty() {
        p.facts.push("no broker set up here by swarmnode".into());
    }
    Ok(p)
}

/// This manager's (node `me`) host keys in the swarm, removed: the swarm phase plans it, for an
/// active manager, before it leaves. Only a manager the broker step ran on published any (it
/// wrote the broker's config); a list that fails is a warning (reset goes on).
pub fn add_host_keys_gone(h: &Host, me: &str, p: &mut StepPlan) -> Result<()> {
    if !h.exists(BROKER_CONFIG)? {
        return Ok(());
    }
    let sh = h.swarm_host()?;
    let stored = match keys::list(sh.api(), TIMEOUT) {
        Ok((s, _)) => s,
        Err(e) => {
            p.warnings.push(format!(
                "this manager's host keys stay in the swarm (the configs cannot be listed: {}); \
                 `docker config ls` on a manager shows them",
                crate::error::chain(&e)
            ));
            return Ok(());
        }
    };
    for s in stored {
        if matches!(&s.kind, Kind::HostKeys { node, .. } if node.as_str() == me) {
            p.actions.push(Action::swarm(
                "reset.hostkeys",
                "this manager's host keys leave the nodes' known_hosts",
                SwarmOp::Unpublish {
                    id: s.id,
                    name: s.name,
                },
            ));
        }
    }
    Ok(())
}

/// swarmnode's block taken out of sshd_config (every other line as it is now), and its copies.
fn add_block_gone(h: &Host, p: &mut StepPlan) -> Result<()> {
    let Some(main) = h.read_text(sshd::MAIN)? else {
        return Ok(());
    };
    let kept = sshd::main_without_block(&main);
    if kept != main {
        p.actions.push(Action::write(
            "reset.sshd",
            "take out the broker's Match block",
            sshd::MAIN,
            0o600,
            kept,
            Some(main),
        ));
    }
    for copy in [ORIG, BAK] {
        let c = format!("{}{copy}", sshd::MAIN);
        if h.exists(&c)? {
            p.actions
                .push(Action::remove("reset.remove", "swarmnode's copy", &c));
        }
    }
    Ok(())
}

/// The broker's user, when swarmnode made it (its record) and it is still there.
fn add_user_gone(h: &Host, p: &mut StepPlan) -> Result<()> {
    let Some(user) = state::broker_user(h)? else {
        return Ok(());
    };
    if Users::read(h)?.user(&user).is_none() {
        return Ok(());
    }
    let mut cmd = Cmd::new("userdel");
    if h.root() != std::path::Path::new("/") {
        cmd = cmd.args(["--prefix", &h.root().display().to_string()]);
    }
    p.actions.push(Action::run(
        "reset.userdel",
        "swarmnode made the broker's user",
        cmd.arg(&user),
    ));
    Ok(())
}
