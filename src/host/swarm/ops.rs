//! What changes membership, as data: the join's spec, and every membership change a plan holds,
//! with the one line each shows in a plan.

use std::fmt;

use serde::Serialize;

use crate::host::managers::ManagerCmd;

use super::tasks::{DrainWait, TasksFrom};
use super::token::TokenFrom;

/// One manager to try: its swarm address and where its token comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JoinVia {
    pub manager: String,
    pub token_from: TokenFrom,
}

/// Everything a join needs but the token, which is fetched when the join is carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JoinSpec {
    pub role: String,
    pub listen_addr: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advertise_addr: Option<String>,
    /// Tried in order, again and again with backoff, until the deadline.
    pub via: Vec<JoinVia>,
    /// Pinned SHA-256 of the cluster root CA (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_hash: Option<String>,
    pub timeout_seconds: u64,
    /// A random wait of up to this long before the first call to a manager (a fleet booting
    /// at once spreads out); not part of `timeout_seconds`.
    #[serde(skip_serializing_if = "is_zero")]
    pub start_jitter_seconds: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A change of membership, as planned and as applied.
///
/// The rule that keeps a working cluster working: only a join this run started, or a node that
/// has no NodeID (an unfinished join that never got an identity), is ever left, never with
/// `force`, and never a manager. A node with a NodeID is waited for, never taken out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum SwarmOp {
    Join(JoinSpec),
    /// Out of an unfinished join without a NodeID: wait up to `wait_seconds` for it to finish on
    /// its own, else `POST /swarm/leave` (not forced).
    Leave {
        wait_seconds: u64,
    },
    /// A member (it has a NodeID) whose local state is pending or error: wait up to `seconds` for
    /// it to reach its managers again; never leave.
    Wait {
        node_id: String,
        seconds: u64,
    },
    /// `reset` only: this manager becomes a worker (`POST /nodes/ID/update` with Role worker),
    /// then its local state is waited for until it no longer manages (at most `seconds`).
    Demote {
        node_id: String,
        seconds: u64,
    },
    /// `reset` only: `POST /swarm/leave` (forced only for the last manager with `--force`).
    Quit {
        force: bool,
    },
    /// `docker ...` on a manager (labels, a stale entry, `reset`'s removal): the managers in
    /// turn, transient failures tried again with growing waits within `budget_seconds`
    /// ([`crate::host::managers::call`]).
    OnManager {
        /// What it does, in a few words: `remove node ID`.
        what: String,
        calls: Vec<ManagerCmd>,
        budget_seconds: u64,
        /// A manager saying it does not know this node means done (a removal).
        #[serde(skip_serializing_if = "Option::is_none")]
        done_if_unknown_node: Option<String>,
        /// No manager doing it is a warning, not a failure (`reset --force`).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        best_effort: bool,
    },
    /// On this manager: this node's availability set (`POST /nodes/ID/update`); a node reached
    /// only through a manager has it set there (an `OnManager`).
    Availability {
        node_id: String,
        to: String,
    },
    /// A drain's wait: until the replicas that ran here run elsewhere, within `seconds`.
    Drained(DrainWait),
    /// On this manager: a config of swarmnode's kept in the swarm (`POST /configs/create`), for
    /// every manager at once: this manager's ssh host keys. Its data is public keys.
    Publish {
        name: String,
        labels: std::collections::BTreeMap<String, String>,
        #[serde(skip)]
        data: String,
        /// What it is, in a few words: `this manager's 2 ssh host key(s)`.
        what: String,
    },
    /// On this manager: a config of swarmnode's removed (`DELETE /configs/ID`).
    Unpublish {
        id: String,
        name: String,
    },
    /// `backup`: this manager's claim to stop for a backup, a label on its own node kept by the
    /// managers' raft (`swarmnode.backup`: the time), set through its engine; then the other
    /// managers' claims read back: with one younger than `claim_seconds`, this one is taken back
    /// (refused, 65). `at: None` takes the claim away.
    Claim {
        node_id: String,
        at: Option<u64>,
        claim_seconds: u64,
    },
    /// `backup`: this manager waited for, after docker started again, until it manages,
    /// reachable, and the swarm has a leader (at most `seconds`).
    Manages {
        node_id: String,
        seconds: u64,
    },
    /// `restore`: the swarm state put back re-formed as a swarm of this manager alone
    /// (`POST /swarm/init` with `ForceNewCluster`), then waited for until it leads.
    NewCluster {
        listen_addr: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        advertise_addr: Option<String>,
        seconds: u64,
    },
}

impl fmt::Display for SwarmOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwarmOp::Leave { wait_seconds } => leave_text(f, *wait_seconds),
            SwarmOp::Wait { node_id, seconds } => write!(
                f,
                "wait up to {seconds} s for node {node_id} to reach its managers again (never left)"
            ),
            SwarmOp::Demote { node_id, seconds } => write!(
                f,
                "POST /nodes/{node_id}/update with Role worker, then wait up to {seconds} s for it to stop managing"
            ),
            SwarmOp::Quit { force } => {
                write!(
                    f,
                    "POST /swarm/leave{}",
                    if *force { "?force=1" } else { "" }
                )
            }
            SwarmOp::OnManager {
                what,
                calls,
                budget_seconds,
                ..
            } => {
                write!(
                    f,
                    "on a manager: {what} (each in turn, tried again within {budget_seconds} s)"
                )?;
                for c in calls {
                    write!(f, "\n         manager {}: `{}`", c.manager, c.cmd())?;
                }
                Ok(())
            }
            SwarmOp::Join(j) => write!(f, "{j}"),
            SwarmOp::Availability { node_id, to } => write!(
                f,
                "POST /nodes/{node_id}/update with Availability {to} (on this manager)"
            ),
            SwarmOp::Drained(w) => w.fmt(f),
            SwarmOp::Publish { name, what, .. } => {
                write!(f, "POST /configs/create {name} ({what})")
            }
            SwarmOp::Unpublish { id, name } => write!(f, "DELETE /configs/{id} ({name})"),
            SwarmOp::Claim {
                node_id,
                at,
                claim_seconds,
            } => claim_text(f, node_id, *at, *claim_seconds),
            SwarmOp::Manages { node_id, seconds } => write!(
                f,
                "wait up to {seconds} s for manager {node_id} to be reachable again, with a leader"
            ),
            SwarmOp::NewCluster {
                listen_addr,
                advertise_addr,
                seconds,
            } => new_cluster_text(f, listen_addr, advertise_addr.as_deref(), *seconds),
        }
    }
}

fn claim_text(
    f: &mut fmt::Formatter<'_>,
    node_id: &str,
    at: Option<u64>,
    claim_seconds: u64,
) -> fmt::Result {
    match at {
        None => write!(
            f,
            "label swarmnode.backup removed from node {node_id} (on this manager)"
        ),
        Some(t) => write!(
            f,
            "label swarmnode.backup={t} on node {node_id} (on this manager), then no other \
             manager may have claimed one in the last {claim_seconds} s"
        ),
    }
}

fn new_cluster_text(
    f: &mut fmt::Formatter<'_>,
    listen: &str,
    advertise: Option<&str>,
    seconds: u64,
) -> fmt::Result {
    write!(f, "POST /swarm/init with ForceNewCluster, listen {listen}")?;
    if let Some(a) = advertise {
        write!(f, ", advertise {a}")?;
    }
    write!(f, ", then wait up to {seconds} s for it to lead")
}

fn leave_text(f: &mut fmt::Formatter<'_>, wait_seconds: u64) -> fmt::Result {
    match wait_seconds {
        0 => f.write_str("POST /swarm/leave"),
        s => write!(
            f,
            "wait up to {s} s for the unfinished join, else POST /swarm/leave"
        ),
    }
}

/// The drain's wait as the plan shows it.
impl fmt::Display for DrainWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.watch.iter().map(|t| t.name()).collect();
        write!(
            f,
            "wait up to {} s until the {} replica(s) that ran here run elsewhere: {}",
            self.seconds,
            self.watch.len(),
            names.join(", ")
        )?;
        match &self.from {
            TasksFrom::Local => write!(f, "\n         asked of this manager's engine"),
            TasksFrom::Managers { calls, .. } => {
                for c in calls {
                    write!(f, "\n         manager {}: `{}`", c.manager, c.cmd())?;
                }
                Ok(())
            }
        }
    }
}

/// The join as the plan shows it: never the token, which is fetched when it is carried out.
impl fmt::Display for JoinSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "POST /swarm/join as {} (token in the request body), listen {}",
            self.role, self.listen_addr
        )?;
        if let Some(a) = &self.advertise_addr {
            write!(f, ", advertise {a}")?;
        }
        write!(f, ", within {} s", self.timeout_seconds)?;
        if let Some(h) = &self.ca_hash {
            write!(f, ", root CA pinned to sha256:{h}")?;
        }
        if self.start_jitter_seconds > 0 {
            write!(
                f,
                ", after a random wait of up to {} s",
                self.start_jitter_seconds
            )?;
        }
        for v in &self.via {
            write!(
                f,
                "\n         manager {}: token from {}",
                v.manager, v.token_from
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_plan_text_has_no_token_and_names_the_channel() {
        let op = SwarmOp::Join(JoinSpec {
            role: "worker".into(),
            listen_addr: "0.0.0.0:2377".into(),
            advertise_addr: Some("10.0.0.5".into()),
            via: vec![JoinVia {
                manager: "m1:2377".into(),
                token_from: TokenFrom::Command {
                    argv: vec!["ssh".into(), "m1".into(), "docker".into()],
                    timeout_seconds: 10,
                },
            }],
            ca_hash: None,
            timeout_seconds: 300,
            start_jitter_seconds: 5,
        });
        let s = op.to_string();
        assert!(
            s.contains("advertise 10.0.0.5, within 300 s, after a random wait of up to 5 s"),
            "{s}"
        );
        assert!(
            s.contains("manager m1:2377: token from `ssh m1 docker`"),
            "{s}"
        );
    }
}
