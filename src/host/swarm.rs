//! Swarm membership of the local engine: its state (`GET /info`), join tokens (checked, pinned,
//! never shown), and the two effects that change membership, join and leave, carried out through
//! the local Engine API so the token travels in a request body and never in any process's argv.

pub use crate::error::JoinError;
use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::host::cmd::Runner;
use crate::host::cmd::{Cmd, CommandError, Output};
use crate::host::engine_api::Engine;
use crate::host::fs;
use crate::host::managers::{self, Fault, ManagerCmd, Tries, Trouble, classify};
use crate::host::secret::{NonDumpable, Secret};
use crate::host::signals::pause;

/// `SWMTKN-1-<digest of the cluster root CA, base36, 50>-<secret, base36, 25>`.
use crate::vocab::{DIGEST_LEN, base36_to_hex};
const SECRET_LEN: usize = 25;

/// A join token and the CA digest it carries (as 64 hex digits, converted once, when parsed).
/// Debug and Display never show it; the memory is zeroed when dropped.
pub struct Token(String, String);

impl Token {
    /// Checks the form; the error never repeats the text (it may be a token with a typo).
    pub fn parse(text: &str) -> std::result::Result<Token, &'static str> {
        let t = text.trim();
        let parts: Vec<&str> = t.split('-').collect();
        let b36 = |s: &str| {
            s.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
        };
        match parts.as_slice() {
            ["SWMTKN", "1", digest, secret]
                if digest.len() == DIGEST_LEN
                    && secret.len() == SECRET_LEN
                    && b36(digest)
                    && b36(secret) =>
            {
                // 50 base-36 digits hold more than 256 bits: what does not fit is no SHA-256.
                let hex = base36_to_hex(digest)
                    .ok_or("its CA digest does not fit in 256 bits, so it is no SHA-256")?;
                Ok(Token(t.to_string(), hex))
            }
            ["SWMTKN", ..] => Err("it is not of the form SWMTKN-1-<50 base36>-<25 base36>"),
            _ => Err("it does not start with SWMTKN-"),
        }
    }

    /// The SHA-256 of the cluster's root CA the token was made for, as 64 hex digits.
    pub fn ca_digest(&self) -> String {
        self.1.clone()
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        // SAFETY: zero bytes are valid UTF-8.
        unsafe { self.0.as_bytes_mut().fill(0) };
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// `GET /info`, the parts swarmnode reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Info {
    /// The engine's hostname: the node's name in the swarm.
    pub name: String,
    pub swarm: LocalSwarm,
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

pub fn info(host: &Local) -> Result<Info> {
    Ok(host.engine().get_json("/info")?)
}

/// How the join gets its token from one manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TokenFrom {
    /// A command that prints the token (ssh to a manager, or the docker CLI against its API).
    Command {
        argv: Vec<String>,
        timeout_seconds: u64,
    },
    /// A root-only file (host path).
    File { path: String },
}

impl fmt::Display for TokenFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenFrom::Command { argv, .. } => write!(f, "`{}`", Cmd { argv: argv.clone() }),
            TokenFrom::File { path } => write!(f, "the file {path}"),
        }
    }
}

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
    /// ([`managers::call`]).
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
}

impl fmt::Display for SwarmOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwarmOp::Leave { wait_seconds: 0 } => f.write_str("POST /swarm/leave"),
            SwarmOp::Leave { wait_seconds } => write!(
                f,
                "wait up to {wait_seconds} s for the unfinished join, else POST /swarm/leave"
            ),
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
            SwarmOp::Join(j) => {
                write!(
                    f,
                    "POST /swarm/join as {} (token in the request body), listen {}",
                    j.role, j.listen_addr
                )?;
                if let Some(a) = &j.advertise_addr {
                    write!(f, ", advertise {a}")?;
                }
                write!(f, ", within {} s", j.timeout_seconds)?;
                if let Some(h) = &j.ca_hash {
                    write!(f, ", root CA pinned to sha256:{h}")?;
                }
                if j.start_jitter_seconds > 0 {
                    write!(
                        f,
                        ", after a random wait of up to {} s",
                        j.start_jitter_seconds
                    )?;
                }
                for v in &j.via {
                    write!(
                        f,
                        "\n         manager {}: token from {}",
                        v.manager, v.token_from
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// How often the local state is read while waiting.
const POLL: Duration = Duration::from_millis(500);

/// What swarm membership needs of the host: the local engine, the command runner (the token
/// commands), and the root the token file is under. Made by `Host::local`.
pub struct Local<'a> {
    pub engine: Engine,
    pub runner: &'a Runner,
    pub root: &'a std::path::Path,
}

impl Local<'_> {
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// Carries out a membership change (called by `Host::execute` only).
pub fn execute(host: &Local, op: &SwarmOp) -> Result<()> {
    match op {
        SwarmOp::Leave { wait_seconds } => {
            let until = Instant::now() + Duration::from_secs(*wait_seconds);
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
                    _ => return leave(host, false),
                }
            }
        }
        SwarmOp::Wait { node_id, seconds } => wait_for_member(host, node_id, *seconds),
        SwarmOp::Join(spec) => join(host, spec),
        SwarmOp::Demote { node_id, seconds } => demote(host, node_id, *seconds),
        SwarmOp::Quit { force } => leave(host, *force),
        SwarmOp::OnManager {
            what,
            calls,
            budget_seconds,
            done_if_unknown_node,
            best_effort,
        } => {
            let gone = |o: &Output| {
                done_if_unknown_node
                    .as_deref()
                    .is_some_and(|id| no_such_node(o.code, &o.stderr, id))
            };
            let budget = Duration::from_secs(*budget_seconds);
            match managers::call(host.runner, what, calls, budget, &gone) {
                Ok(_) => Ok(()),
                Err(e) if *best_effort => {
                    tracing::warn!("--force: {}", crate::error::chain(&e));
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// The parts of `GET /nodes/ID` a demotion needs: its version and its whole spec, sent back with
/// the role changed (an update replaces the whole spec).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NodeVersioned {
    version: NodeVersion,
    spec: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NodeVersion {
    index: u64,
}

/// A manager becomes a worker, and is waited for until it no longer manages.
fn demote(host: &Local, node_id: &str, seconds: u64) -> Result<()> {
    let until = Instant::now() + Duration::from_secs(seconds);
    if info(host)?.swarm.control_available {
        let n: NodeVersioned = host.engine().get_json(&format!("/nodes/{node_id}"))?;
        let mut spec = n.spec;
        spec.insert("Role".into(), "worker".into());
        let body = serde_json::to_vec(&spec).expect("a JSON map serializes");
        let path = format!("/nodes/{node_id}/update?version={}", n.version.index);
        let r = host
            .engine()
            .request("POST", &path, Some(&body), Duration::from_secs(60))?;
        if r.status != 200 {
            return Err(Error::Failed(format!(
                "docker engine: POST {path}: HTTP {}: {}",
                r.status,
                r.message()
            )));
        }
    }
    while info(host)?.swarm.control_available {
        if Instant::now() >= until {
            return Err(Error::Unavailable(format!(
                "swarm: node {node_id} was demoted but still manages after {seconds} s; run reset \
                 again once `docker node ls` on another manager shows it as a worker"
            )));
        }
        pause(POLL)?;
    }
    Ok(())
}

/// Polls the local state of an established member until it is active again, or 69 with what
/// the node reports. Never leaves.
fn wait_for_member(host: &Local, node_id: &str, seconds: u64) -> Result<()> {
    let until = Instant::now() + Duration::from_secs(seconds);
    loop {
        let i = info(host)?;
        let st = &i.swarm;
        if st.local_node_state == "active" {
            tracing::info!("swarm: node {node_id} is active again");
            return Ok(());
        }
        if Instant::now() >= until {
            let managers = st.remote_addrs();
            return Err(JoinError::MemberAway {
                name: i.name.clone(),
                node_id: node_id.to_string(),
                state: st.local_node_state.clone(),
                seconds,
                error: st.error.clone(),
                managers: if managers.is_empty() {
                    "none known".to_string()
                } else {
                    managers.join(", ")
                },
            }
            .into());
        }
        pause(POLL)?;
    }
}

/// `POST /swarm/leave` (with force only for `reset --force`: dockerd refuses to let a manager
/// go without it). A node already out is done; dockerd's 503 also means "a manager, use force"
/// and "locked", so a refusal counts as out only when the engine then says it is inactive.
fn leave(host: &Local, force: bool) -> Result<()> {
    let path = if force {
        "/swarm/leave?force=1"
    } else {
        "/swarm/leave"
    };
    let r = host
        .engine()
        .request("POST", path, None, Duration::from_secs(60))?;
    if r.status != 200 && info(host)?.swarm.local_node_state != "inactive" {
        return Err(Error::Failed(format!(
            "docker engine: POST {path}: HTTP {}: {}",
            r.status,
            r.message()
        )));
    }
    Ok(())
}

/// Why one attempt did not join.
enum Attempt {
    /// Worth another try (this manager later, or another one): what it looked like (None: an
    /// answer of the manager's or of dockerd's) and what was said.
    Retry(Option<Trouble>, String),
    /// This manager's token command answered with an error it will give again (no docker
    /// there, not a manager): the other managers are asked, this one not again.
    Skip(String),
    /// Will not get better by retrying: refuse now.
    Stop(Error),
    /// Less time is left than a join request may take: stop before the deadline, not after.
    OutOfTime,
    /// The node is not inactive (any more): not this attempt's to join.
    NotInactive(String),
}

/// dockerd waits this long for a manager before it answers "Timeout was reached" (and leaves
/// the node pending).
const DOCKERD_JOIN_WAIT: Duration = Duration::from_secs(20);

fn join(host: &Local, spec: &JoinSpec) -> Result<()> {
    // No core dump or ptrace of this process while a token may be in its memory.
    let _guard = NonDumpable::new();
    if spec.start_jitter_seconds > 0 {
        // A rack booted at once does not reach the managers all in the same second.
        let wait =
            Duration::from_secs(spec.start_jitter_seconds).mul_f64(managers::random_fraction());
        tracing::info!(
            "swarm: waiting {wait:.1?} before the first call to a manager \
             (swarm.start_jitter_seconds: {})",
            spec.start_jitter_seconds
        );
        pause(wait)?;
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(spec.timeout_seconds);
    let mut delay = managers::FIRST_BACKOFF;
    let mut tries = Tries::new(spec.via.iter().map(|v| v.manager.as_str()));
    let mut posted = false;
    let mut tried = false;
    // Managers still asked: one whose token command answered with an error is not asked again.
    let mut still_asked = vec![true; spec.via.len()];
    'rounds: loop {
        for (i, via) in spec.via.iter().enumerate() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || (tried && left < managers::MIN_TRY) {
                break 'rounds;
            }
            if !still_asked[i] {
                continue;
            }
            tried = true;
            match attempt(host, spec, via, deadline, &mut posted) {
                Ok(()) => return Ok(()),
                Err(Attempt::Stop(e)) => {
                    not_pending(host, posted)?;
                    return Err(e);
                }
                Err(Attempt::OutOfTime) => break 'rounds,
                Err(Attempt::NotInactive(state)) => {
                    tracing::info!(
                        "swarm: the node is {state} now, not inactive: no join; the next \
                         observation decides"
                    );
                    return Ok(());
                }
                Err(Attempt::Retry(trouble, why)) => {
                    tracing::info!("swarm: manager {}: {why}; trying on", via.manager);
                    tries.saw(i, trouble, &why);
                    not_pending(host, posted)?;
                }
                Err(Attempt::Skip(why)) => {
                    tracing::info!("swarm: manager {}: {why}; not asked again", via.manager);
                    tries.saw(i, None, &why);
                    still_asked[i] = false;
                }
            }
        }
        if !still_asked.contains(&true) {
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left < managers::MIN_TRY {
            break;
        }
        let wait = managers::jitter(delay).min(left);
        tracing::info!("swarm: no manager took the join yet; next round in {wait:.1?}");
        pause(wait)?;
        delay = managers::backoff(delay);
    }
    not_pending(host, posted)?;
    let managers: Vec<&str> = spec.via.iter().map(|v| v.manager.as_str()).collect();
    Err(JoinError::NoManager {
        seconds: spec.timeout_seconds,
        managers: managers.join(", "),
        seen: tries.summary(),
        advice: tries.advice(),
    }
    .into())
}

/// Leaves an unfinished join behind, so that the next attempt (or the next run) starts clean;
/// but only a join this run started (`posted`) or one that never got a NodeID, and never on a
/// manager.
fn not_pending(host: &Local, posted: bool) -> Result<()> {
    let st = info(host)?.swarm;
    let unfinished = st.local_node_state == "pending" || st.local_node_state == "error";
    if unfinished && (posted || st.node_id.is_empty()) && !st.control_available {
        tracing::info!(
            "swarm: the node is {} after this run's join attempt; leaving it",
            st.local_node_state
        );
        leave(host, false)?;
    }
    Ok(())
}

/// dockerd answered that its join "will continue in the background" (it waited 20 s for a
/// manager): not a failure. Polls the local state until active, or until the join gave up
/// (retry), or the deadline.
fn follow_background_join(host: &Local, deadline: Instant) -> Result<(), Attempt> {
    tracing::info!("swarm: the join continues in the background; waiting for it");
    loop {
        let st = info(host).map_err(Attempt::Stop)?.swarm;
        match st.local_node_state.as_str() {
            "active" => return Ok(()),
            "pending" if Instant::now() < deadline => pause(POLL).map_err(Attempt::Stop)?,
            "pending" => return Err(Attempt::OutOfTime),
            other => {
                return Err(Attempt::Retry(
                    None,
                    format!(
                        "the join that continued in the background ended {other}{}",
                        if st.error.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", st.error)
                        }
                    ),
                ));
            }
        }
    }
}

fn attempt(
    host: &Local,
    spec: &JoinSpec,
    via: &JoinVia,
    deadline: Instant,
    posted: &mut bool,
) -> Result<(), Attempt> {
    let left = deadline.saturating_duration_since(Instant::now());
    // The first request is always made; later ones only when they can finish in time.
    if *posted && left < DOCKERD_JOIN_WAIT {
        return Err(Attempt::OutOfTime);
    }
    // Only an inactive node is joined: one that is anything else now (a member that got its
    // identity meanwhile, a join still going on) is left to the next observation, never touched.
    let st = info(host).map_err(Attempt::Stop)?.swarm;
    if st.local_node_state != "inactive" {
        return Err(Attempt::NotInactive(st.local_node_state));
    }
    let token = fetch_token(host, via, left)?;
    let digest = token.ca_digest();
    if let Some(pin) = spec.ca_hash.as_ref().filter(|pin| **pin != digest) {
        return Err(Attempt::Stop(
            JoinError::CaMismatch {
                manager: via.manager.clone(),
                got: digest,
                pinned: pin.clone(),
            }
            .into(),
        ));
    }
    let mut body = join_body(spec, via, token);
    // dockerd gives up on its own after ~20 s; allow for that plus slack.
    let timeout = left.max(Duration::from_secs(5)) + Duration::from_secs(30);
    let sent = host
        .engine()
        .request("POST", "/swarm/join", Some(&body), timeout);
    body.fill(0);
    let r = sent.map_err(|e| Attempt::Stop(e.into()))?;
    if r.status == 200 {
        return Ok(());
    }
    read_refusal(host, via, r.status, r.message(), deadline, posted)
}

/// The join request's body. Sized once: a buffer that grows leaves copies of the token behind
/// in freed memory. The token is dropped (zeroed) here; the caller zeroes the body after sending.
fn join_body(spec: &JoinSpec, via: &JoinVia, token: Token) -> Vec<u8> {
    let json = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let head = format!(
        "{{\"ListenAddr\":{},\"RemoteAddrs\":[{}],{}\"JoinToken\":\"",
        json(&spec.listen_addr),
        json(&via.manager),
        spec.advertise_addr
            .as_deref()
            .map(|a| format!("\"AdvertiseAddr\":{},", json(a)))
            .unwrap_or_default(),
    );
    let mut body = Vec::with_capacity(head.len() + token.expose().len() + 2);
    body.extend_from_slice(head.as_bytes());
    body.extend_from_slice(token.expose().as_bytes());
    body.extend_from_slice(b"\"}");
    body
}

/// What dockerd's answer other than 200 means: a token that is wrong stops; a join that goes on in
/// the background is followed; "already part of a swarm" is success when the node is active; the
/// rest is tried again.
fn read_refusal(
    host: &Local,
    via: &JoinVia,
    status: u16,
    msg: String,
    deadline: Instant,
    posted: &mut bool,
) -> Result<(), Attempt> {
    let low = msg.to_ascii_lowercase();
    let definitive = [
        "invalid join token",
        "valid join token is necessary",
        "does not match fingerprint",
    ];
    if definitive.iter().any(|d| low.contains(d)) {
        return Err(Attempt::Stop(
            JoinError::TokenRejected {
                manager: via.manager.clone(),
                message: msg,
            }
            .into(),
        ));
    }
    if low.contains("timeout was reached before node") || low.contains("continue in the background")
    {
        // dockerd took the join and goes on with it: from here on it is this run's join.
        *posted = true;
        return follow_background_join(host, deadline);
    }
    if low.contains("already part of a swarm") {
        let state = info(host).map_err(Attempt::Stop)?.swarm.local_node_state;
        return if state == "active" {
            Ok(())
        } else {
            Err(Attempt::Retry(trouble_in(&msg), msg))
        };
    }
    Err(Attempt::Retry(
        trouble_in(&msg),
        format!("HTTP {status}: {msg}"),
    ))
}

/// What dockerd's own words about a join it could not make say of the manager (busy: rpc
/// Unavailable, no leader; unreachable: a timeout), read the way the manager channel is read.
fn trouble_in(msg: &str) -> Option<Trouble> {
    match classify(1, msg) {
        Fault::Transient(t) => Some(t),
        _ => None,
    }
}

fn fetch_token(host: &Local, via: &JoinVia, left: Duration) -> Result<Token, Attempt> {
    let secret = match &via.token_from {
        TokenFrom::File { path } => {
            let f = open_token_file(host, path).map_err(Attempt::Stop)?;
            Secret::read_from(f, TOKEN_FILE_MAX).map_err(|e| {
                Attempt::Stop(
                    JoinError::TokenFile {
                        path: path.clone(),
                        why: format!("cannot be read: {e}"),
                    }
                    .into(),
                )
            })?
        }
        TokenFrom::Command {
            argv,
            timeout_seconds,
        } => {
            let cmd = Cmd { argv: argv.clone() };
            let limit = Duration::from_secs(*timeout_seconds).min(left);
            match host.runner.output_secret(&cmd, limit) {
                Ok((out, secret)) if out.code == 0 => secret,
                Ok((out, _)) => {
                    return Err(token_failure(&via.manager, &cmd, out.code, &out.stderr));
                }
                Err(CommandError::Timeout { .. }) => {
                    return Err(Attempt::Retry(
                        Some(Trouble::Unreachable),
                        format!("`{cmd}` did not answer within {:.1} s", limit.as_secs_f64()),
                    ));
                }
                Err(e) => return Err(Attempt::Stop(e.into())),
            }
        }
    };
    let text = std::str::from_utf8(secret.expose()).unwrap_or_default();
    Token::parse(text).map_err(|why| {
        Attempt::Stop(
            JoinError::NotAToken {
                from: via.token_from.to_string(),
                why,
            }
            .into(),
        )
    })
}

/// Did docker on the manager say, in its own words, that it does not know this node? (`Error:
/// No such node: ID` from the CLI, `node ID not found` from older daemons.) Nothing else counts:
/// "docker: command not found" is not an answer about the node.
pub fn no_such_node(code: i32, stderr: &str, id: &str) -> bool {
    code == 1
        && !id.is_empty()
        && (stderr.contains(&format!("No such node: {id}"))
            || stderr.contains(&format!("node {id} not found")))
}

/// A failed token command: authentication and certificate failures stop; the rest is retried.
fn token_failure(manager: &str, cmd: &Cmd, code: i32, stderr: &str) -> Attempt {
    let tail = stderr.trim().replace('\n', " / ");
    match classify(code, stderr) {
        Fault::NotAuthenticated => Attempt::Stop(
            JoinError::NotAuthenticated {
                manager: manager.to_string(),
                cmd: cmd.to_string(),
                stderr: tail,
            }
            .into(),
        ),
        Fault::Transient(t) => {
            Attempt::Retry(Some(t), format!("`{cmd}` failed (exit {code}): {tail}"))
        }
        Fault::Other => Attempt::Skip(format!("`{cmd}` failed (exit {code}): {tail}")),
    }
}

/// A token file is small; anything bigger is not one.
const TOKEN_FILE_MAX: usize = 4096;

/// Opens the token file once, without following a symlink, and checks what was opened (on the
/// descriptor, so nothing can be swapped in between): a regular file owned by root (or by the
/// user running swarmnode), with no group or other bits, in a directory that neither group nor
/// others can write to (they could replace the file).
pub fn open_token_file(host: &Local, path: &str) -> Result<std::fs::File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let p = fs::in_root(host.root, path, false)
        .map_err(|e| Error::io(format!("swarm: cannot resolve {path}"), e))?;
    let refuse = |why: String| {
        Error::from(JoinError::TokenFile {
            path: path.to_string(),
            why,
        })
    };
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NOCTTY | nix::libc::O_NONBLOCK)
        .open(&p)
        .map_err(|e| match e.raw_os_error() {
            Some(nix::libc::ELOOP) => refuse("is a symbolic link".into()),
            _ => refuse(format!("cannot be opened ({}): {e}", p.display())),
        })?;
    let m = f
        .metadata()
        .map_err(|e| refuse(format!("cannot be examined: {e}")))?;
    let euid = nix::unistd::geteuid().as_raw();
    if !m.is_file() {
        return Err(refuse("is not a regular file".into()));
    }
    if m.mode() & 0o077 != 0 || (m.uid() != 0 && m.uid() != euid) {
        return Err(refuse(format!(
            "is mode {:04o}, owner uid {}",
            m.mode() & 0o7777,
            m.uid()
        )));
    }
    let dir = p.parent().unwrap_or(std::path::Path::new("/"));
    let d = std::fs::metadata(dir).map_err(|e| {
        refuse(format!(
            "is in {}, which cannot be examined: {e}",
            dir.display()
        ))
    })?;
    if d.mode() & 0o022 != 0 || (d.uid() != 0 && d.uid() != euid) {
        return Err(refuse(format!(
            "is in a directory of mode {:04o}, owner uid {}, that others can write to",
            d.mode() & 0o7777,
            d.uid()
        )));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real token's shape (digest from the fixture cluster, secret made up).
    const DIGEST: &str = "0ntb7o7jfldybt5d7v2mgz72ey7iuk4u66b360u4icoonygl53";
    const HEX: &str = "1a8a7ed77f4bdab0f7b86582233d699759f5701b4ece3099f5f7420ac06b6d07";

    fn token() -> String {
        format!("SWMTKN-1-{DIGEST}-0123456789abcdefghijklmno")
    }

    #[test]
    fn token_form_is_checked() {
        let t = Token::parse(&format!("{}\n", token())).unwrap();
        assert_eq!(t.ca_digest(), HEX);
        for bad in [
            "",
            "SWMTKN-1-bad",
            &token().replace("SWMTKN-1", "SWMTKN-2"),
            &token().to_uppercase(),
            &format!("{}x", token()),
            &token().replacen('-', " ", 3),
        ] {
            assert!(Token::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn token_never_shows() {
        let t = Token::parse(&token()).unwrap();
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        let e = Token::parse(&token().replace('o', "O")).unwrap_err();
        assert!(!e.contains("0ntb7"), "{e}");
    }

    fn fixture(name: &str) -> Info {
        let p = format!(
            "{}/tests/fixtures/docker/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_token_parser_panic(
            t in "\\PC{0,120}",
            digest in "[0-9a-zA-Z]{45,55}",
            // The token's own alphabet and lengths: about half of these overflow 256 bits.
            full in "[0-9a-z]{50}",
            secret in "[0-9a-z]{20,30}",
        ) {
            let _ = Token::parse(&t);
            let _ = crate::vocab::ca_pin_hex(&t);
            let _ = crate::vocab::ca_pin_hex(&digest);
            for d in [&digest, &full] {
                if let Ok(tok) = Token::parse(&format!("SWMTKN-1-{d}-{secret}")) {
                    assert_eq!(tok.ca_digest().len(), 64);
                    assert_eq!(Some(tok.ca_digest()), crate::vocab::ca_pin_hex(d));
                }
            }
        }
    }

    #[test]
    fn only_docker_s_own_words_say_a_node_is_unknown() {
        let id = "l8s526d06sna2jckb05a27o7r";
        assert!(no_such_node(1, &format!("Error: No such node: {id}\n"), id));
        assert!(no_such_node(
            1,
            &format!("Error response from daemon: node {id} not found\n"),
            id
        ));
        assert!(!no_such_node(127, "bash: docker: command not found\n", id));
        assert!(!no_such_node(1, "bash: docker: command not found\n", id));
        assert!(!no_such_node(1, "Error: No such node: another\n", id));
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
