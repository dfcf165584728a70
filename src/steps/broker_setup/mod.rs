//! The broker step, on a manager (the profile's `broker` section): everything the broker needs
//! there, so no step is left to a person after the managers' `apply`:
//!
//! - [`user`]: the broker's system user (no password, in the docker group);
//! - the broker's configuration, /etc/swarmnode-broker/broker.json (root's, 0644: the user
//!   reads it), from the section;
//! - [`sshd`]: sshd's configuration for that user alone (its keys asked of swarmnode at each
//!   login), tried with `sshd -T` before it is written, sshd reloaded only when it changed;
//! - [`hostkeys`]: this manager's ssh host keys published in the swarm, for the nodes'
//!   known_hosts.
//!
//! `reset` takes it all away again (steps/reset/broker.rs).

pub mod hostkeys;
pub mod sshd;
pub mod user;

use crate::error::Result;
use crate::host::places::BROKER_CONFIG as CONFIG_PATH;
use crate::host::{Action, Host};
use crate::profile::Broker;
use crate::steps::plan::{StepPlan, add_write};

/// The broker's configuration's folder (the RPM makes it 0755).
const CONFIG_DIR: &str = "/etc/swarmnode-broker";

/// The configuration the broker reads, from the profile's section: pretty JSON, keys sorted.
pub fn config_text(b: &Broker) -> String {
    let v = serde_json::json!({
        "user": b.user,
        "labels": b.labels,
        "manager_tokens": b.manager_tokens,
        "networks": b.networks,
    });
    serde_json::to_string_pretty(&v).expect("JSON serializes") + "\n"
}

pub fn plan(h: &Host, b: &Broker) -> Result<StepPlan> {
    let mut p = StepPlan::new("broker");
    user::add_user(h, &b.user, &mut p)?;
    if !h.exists(CONFIG_DIR)? {
        p.actions.push(Action::mkdir(
            "broker.config-dir",
            "the broker's configuration, readable by its user",
            CONFIG_DIR,
            0o755,
        ));
    }
    add_write(
        h,
        &mut p,
        "broker.config",
        "what nodes may ask of the broker",
        CONFIG_PATH,
        0o644,
        config_text(b),
    )?;
    let bin = crate::steps::firstboot::add_binary(
        h,
        &mut p,
        "broker.binary",
        "sshd runs this binary for the broker's user",
    )?;
    let command = h.command_of(bin)?;
    let eff = sshd::add_config(h, &b.user, &command, &mut p)?;
    hostkeys::add_host_keys(h, &eff, &mut p)?;
    Ok(p)
}
