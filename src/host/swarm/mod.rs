//! Swarm membership of the local engine: its state (`GET /info`), join tokens (checked, pinned,
//! never shown), and the effects that change membership (join, leave, demote, wait, a command
//! on a manager), carried out through the local Engine API so the token travels in a request
//! body and never in any process's argv.
//!
//! - [`token`]: the token, where it comes from, the root-only token file;
//! - [`ops`]: the membership changes as a plan holds them, and how each shows;
//! - [`join`]: the join, its tries on the managers through the one retry engine
//!   ([`crate::host::managers::rounds`]);
//! - [`membership`]: leave, demote, wait for a member; what "no such node" looks like;
//! - [`node`]: docker's node JSON, one model for every reader;
//! - [`tasks`]: what runs here, what the managers say of it, a drain's wait;
//! - [`keys`]: the keys the broker's user logs in with, kept in the swarm as configs.

pub mod backup;
pub mod join;
pub mod keys;
pub mod membership;
pub mod node;
pub mod ops;
pub mod tasks;
pub mod token;

pub use crate::error::JoinError;
pub use membership::no_such_node;
pub use ops::{JoinSpec, JoinVia, SwarmOp};
pub use token::{Token, TokenFrom, open_token_file};

use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::error::Result;
use crate::host::cmd::{Output, Runner};
use crate::host::engine_api::DockerApi;
use crate::host::managers;
use crate::host::signals::pause;

/// `GET /info`, the parts swarmnode reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Info {
    /// The engine's hostname: the node's name in the swarm.
    pub name: String,
    pub swarm: LocalSwarm,
    /// docker's data root (the swarm's state and certificates are under it).
    #[serde(default)]
    pub docker_root_dir: String,
    /// The storage driver docker runs on (`devicemapper`, `overlay2`).
    #[serde(default)]
    pub driver: String,
    /// The engine's version (`26.1.5`).
    #[serde(default)]
    pub server_version: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LocalSwarm {
    #[serde(rename = "NodeID")]
    pub node_id: String,
    pub node_addr: String,
    /// inactive | pending | active | error | locked
    pub local_node_state: String,
    pub control_available: bool,
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub remote_managers: Option<Vec<Peer>>,
    /// Only on managers.
    #[serde(default)]
    pub managers: Option<u32>,
    /// Only on managers: the swarm's ID.
    #[serde(default)]
    pub cluster: Option<Cluster>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Cluster {
    #[serde(rename = "ID", default)]
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Peer {
    #[serde(rename = "NodeID")]
    pub node_id: String,
    pub addr: String,
}

impl LocalSwarm {
    /// The managers this node's engine knows, `HOST:PORT` each.
    pub fn remote_addrs(&self) -> Vec<String> {
        self.remote_managers
            .iter()
            .flatten()
            .map(|m| m.addr.clone())
            .collect()
    }
}

pub fn info(host: &SwarmHost) -> Result<Info> {
    Ok(host.api().get_json("/info")?)
}

/// `GET /info`, or none when docker does not answer (stopped, by swarmnode or an upgrade).
pub fn info_if_up(host: &SwarmHost) -> Result<Option<Info>> {
    match info(host) {
        Ok(i) => Ok(Some(i)),
        Err(crate::error::Error::Engine(crate::host::engine_api::ApiError::Connect { .. })) => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// One request on this manager's API for a config.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the local state is read while waiting.
const POLL: Duration = Duration::from_millis(500);

/// What swarm membership needs of the host: the local engine, the command runner (the token
/// commands), and the root the token file is under. Made by `Host::swarm_host`.
pub struct SwarmHost<'a> {
    pub api: DockerApi,
    pub runner: &'a Runner,
    pub root: &'a std::path::Path,
}

impl SwarmHost<'_> {
    pub fn api(&self) -> &DockerApi {
        &self.api
    }
}

/// Carries out a membership change (called by `Host::execute` only).
pub fn execute(host: &SwarmHost, op: &SwarmOp) -> Result<()> {
    match op {
        SwarmOp::Leave { wait_seconds } => leave_unfinished(host, *wait_seconds),
        SwarmOp::Wait { node_id, seconds } => membership::wait_for_member(host, node_id, *seconds),
        SwarmOp::Join(spec) => join::join(host, spec),
        SwarmOp::Demote { node_id, seconds } => membership::demote(host, node_id, *seconds),
        SwarmOp::Quit { force } => membership::leave(host, *force),
        SwarmOp::Availability { node_id, to } => membership::update_spec(host, node_id, |spec| {
            spec.rest
                .insert("Availability".into(), serde_json::Value::String(to.clone()));
        }),
        SwarmOp::Drained(w) => tasks::wait(host, w),
        SwarmOp::Publish {
            name, labels, data, ..
        } => {
            let k = keys::NewKey {
                name: name.clone(),
                labels: labels.clone(),
                data: data.clone(),
            };
            keys::create(host.api(), &k, PUBLISH_TIMEOUT).map(|_| ())
        }
        SwarmOp::Unpublish { id, .. } => keys::remove(host.api(), id, PUBLISH_TIMEOUT),
        SwarmOp::Manages { node_id, seconds } => membership::wait_manages(host, node_id, *seconds),
        SwarmOp::Claim {
            node_id,
            at,
            claim_seconds,
        } => membership::claim(host, node_id, *at, *claim_seconds),
        SwarmOp::NewCluster {
            listen_addr,
            advertise_addr,
            seconds,
        } => membership::new_cluster(host, listen_addr, advertise_addr.as_deref(), *seconds),
        SwarmOp::OnManager {
            what,
            calls,
            budget_seconds,
            done_if_unknown_node,
            best_effort,
        } => on_manager(
            host,
            what,
            calls,
            *budget_seconds,
            done_if_unknown_node.as_deref(),
            *best_effort,
        ),
    }
}

/// Out of an unfinished join (see [`SwarmOp::Leave`]).
fn leave_unfinished(host: &SwarmHost, wait_seconds: u64) -> Result<()> {
    let until = Instant::now() + Duration::from_secs(wait_seconds);
    loop {
        let st = info(host)?.swarm;
        match st.local_node_state.as_str() {
            "active" => {
                tracing::info!("swarm: the unfinished join finished on its own");
                return Ok(());
            }
            "inactive" => return Ok(()),
            // It got an identity meanwhile: a member now, never left (the next
            // observation waits for it).
            _ if !st.node_id.is_empty() || st.control_available => return Ok(()),
            "pending" if Instant::now() < until => pause(POLL)?,
            _ => return membership::leave(host, false),
        }
    }
}

/// `docker ...` on the managers until one does it (see [`SwarmOp::OnManager`]).
fn on_manager(
    host: &SwarmHost,
    what: &str,
    calls: &[managers::ManagerCmd],
    budget_seconds: u64,
    done_if_unknown_node: Option<&str>,
    best_effort: bool,
) -> Result<()> {
    let gone =
        |o: &Output| done_if_unknown_node.is_some_and(|id| no_such_node(o.code, &o.stderr, id));
    let budget = Duration::from_secs(budget_seconds);
    match managers::call(host.runner, what, calls, budget, &gone) {
        Ok(_) => Ok(()),
        Err(e) if best_effort => {
            tracing::warn!("--force: {}", crate::error::chain(&e));
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Info {
        let p = format!(
            "{}/tests/fixtures/docker/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    #[test]
    fn info_of_real_engines() {
        let i = fixture("info-inactive.json");
        assert_eq!(i.swarm.local_node_state, "inactive");
        assert!(i.swarm.remote_managers.is_none());
        let w = fixture("info-worker.json");
        assert_eq!(w.name, "psw-n2");
        assert_eq!(
            (w.swarm.local_node_state.as_str(), w.swarm.node_id.as_str()),
            ("active", "l8s526d06sna2jckb05a27o7r")
        );
        assert_eq!(w.swarm.managers, None);
        assert_eq!(w.swarm.remote_managers.unwrap()[0].addr, "10.77.0.1:2377");
        let m = fixture("info-manager.json");
        assert!(m.swarm.control_available);
        assert_eq!(m.swarm.managers, Some(1));
        let p = fixture("info-pending.json");
        assert_eq!(p.swarm.local_node_state, "pending");
        assert_eq!(p.swarm.node_id, "");
    }
}
