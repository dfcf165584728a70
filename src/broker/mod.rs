//! `swarmnode broker`: what a node may ask of a manager, and nothing more.
//!
//! Run by sshd on a manager as the forced command of the nodes' key
//! (`restrict,command="/usr/sbin/swarmnode broker" ssh-ed25519 ...` in the broker user's
//! authorized_keys; the user needs the local docker socket only). It reads the request from
//! `SSH_ORIGINAL_COMMAND` ([`grammar`]), the caller's address from `SSH_CONNECTION`, and what
//! nodes may do from [`config`]; it talks to the local engine's API only (no docker CLI, no
//! shell). A node may get a worker token (a manager token only when the config says so), read its
//! own entry, label itself within the allowlist, and remove `Down` workers of its own hostname.
//! "Its own" means: the entry's address (`Status.Addr`) is the ssh client's address.
//!
//! Every request, allowed or refused, is logged (syslog, /dev/log: the journal) with the client
//! address and never with a token, and an allowed one is logged *before* it is served: a log that
//! does not take the line within [`LOG_SEND`] (a stuck journald) gets the caller a refusal, never
//! an answer nobody wrote down, and never a hang. The whole run has a deadline ([`DEADLINE`]).
//! A refusal is one line on stderr and exit 65. A node ID that is not the caller's is answered
//! as the docker CLI answers an unknown one (`Error: No such node: ID`, exit 1), whether it is
//! unknown or another node's: the caller learns nothing of other nodes (the log says which).

pub mod config;
pub mod grammar;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use crate::error::exit;
use crate::host::Host;
use crate::host::engine_api::DockerApi;
use crate::host::secret::scrub;
use crate::host::swarm::node::Node;
use crate::host::syslog::Syslog;
use crate::host::text::escape_controls;
use crate::vocab::BROKER_REFUSED;
use config::Config;
use grammar::{NodeId, Request, Role};

/// One engine request's bound (cut to what is left of [`DEADLINE`]).
const ENGINE_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole run's bound: past it the broker says so, logs it, and exits 75.
pub const DEADLINE: Duration = Duration::from_secs(30);
/// How long the log may take to take one line.
pub const LOG_SEND: Duration = Duration::from_secs(2);

/// What became of a request: the exit status, the line for the log (None when it was logged
/// already, before the request was served), and the one for the caller.
struct Outcome {
    code: i32,
    log: Option<String>,
    /// stderr for the caller (refusals, errors); stdout is written by the request itself.
    say: Option<String>,
}

fn refused(why: impl Into<String>) -> Outcome {
    let why = why.into();
    Outcome {
        code: exit::REFUSED,
        log: Some(format!("refused: {why}")),
        say: Some(format!("{BROKER_REFUSED}{why}")),
    }
}

fn failed(code: i32, why: impl Into<String>) -> Outcome {
    let why = why.into();
    Outcome {
        code,
        log: Some(format!("failed: {why}")),
        say: Some(format!("swarmnode broker: {why}")),
    }
}

/// Served, and logged before it was.
fn served() -> Outcome {
    Outcome {
        code: exit::OK,
        log: None,
        say: None,
    }
}

/// A node ID that is not the caller's: answered as docker answers an unknown ID, whatever the
/// truth, which only the log gets.
fn not_yours(id: &NodeId, truth: String) -> Outcome {
    Outcome {
        code: exit::FAILURE,
        log: Some(format!("refused: {truth}")),
        say: Some(format!("Error: No such node: {id}")),
    }
}

/// The log of one run: the syslog socket (/dev/log under the root: the journal on a systemd
/// host) and what each line starts with (the client, the request as shown).
struct Journal {
    sock: std::io::Result<Syslog>,
    head: String,
}

impl Journal {
    fn open(h: &Host, who: &str, shown: &str) -> Journal {
        Journal {
            sock: Syslog::open(h.root(), LOG_SEND),
            head: format!("client={who} request=\"{shown}\""),
        }
    }

    /// One line, facility auth: info when allowed, notice when refused or failed; token-shaped
    /// text scrubbed, control characters escaped. Err when the log did not take it within
    /// [`LOG_SEND`].
    fn note(&self, code: i32, text: &str) -> std::io::Result<()> {
        let s = self
            .sock
            .as_ref()
            .map_err(|e| std::io::Error::new(e.kind(), e.to_string()))?;
        let pri = 4 * 8 + if code == exit::OK { 6 } else { 5 };
        let msg = format!("{} {text}", self.head);
        let line = format!(
            "<{pri}>swarmnode-broker[{}]: {}",
            std::process::id(),
            escape_controls(&scrub(&msg))
        );
        s.send(&line)
    }

    /// The line that says a request is allowed, written before it is served: when the log does
    /// not take it, nothing is served.
    fn allowed(&self, text: &str) -> Result<(), Outcome> {
        self.note(exit::OK, text).map_err(|e| Outcome {
            code: exit::UNAVAILABLE,
            log: None,
            say: Some(format!(
                "swarmnode broker: the log did not take the request's line ({e}), so nothing is \
                 served; is journald running on the manager?"
            )),
        })
    }
}

/// sshd's `SSH_CONNECTION`, `CLIENT_ADDR CLIENT_PORT SERVER_ADDR SERVER_PORT`: the client's
/// address, or None when it is not of that form.
fn client_of(conn: &str) -> Option<IpAddr> {
    match conn.split(' ').collect::<Vec<_>>().as_slice() {
        [ip, cport, sip, sport]
            if cport.parse::<u16>().is_ok()
                && sport.parse::<u16>().is_ok()
                && sip.parse::<IpAddr>().is_ok() =>
        {
            ip.parse().ok()
        }
        _ => None,
    }
}

/// Past the deadline, from another thread: logged, said, exit 75 (temporary), whatever the run
/// was waiting for.
fn watchdog(journal: Arc<Journal>, deadline: Instant) {
    std::thread::spawn(move || {
        std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
        let why = format!(
            "the request did not finish within {} s: given up",
            DEADLINE.as_secs()
        );
        let _ = journal.note(exit::TEMPORARY, &format!("failed: {why}"));
        eprintln!("swarmnode broker: {why}");
        std::process::exit(exit::TEMPORARY);
    });
}

/// The broker's whole run: `env` gives `SSH_ORIGINAL_COMMAND` and `SSH_CONNECTION`. Returns the
/// exit status.
pub fn run(h: &Host, env: &dyn Fn(&str) -> Option<String>, out: &mut dyn Write) -> i32 {
    let deadline = Instant::now() + DEADLINE;
    let conn = env("SSH_CONNECTION");
    let client = conn.as_deref().map(client_of);
    let line = env("SSH_ORIGINAL_COMMAND");
    let shown = line.as_deref().map(grammar::shown).unwrap_or_default();
    let who = match client {
        Some(Some(c)) => c.to_string(),
        _ => "unknown".to_string(),
    };
    let journal = Arc::new(Journal::open(h, &who, &shown));
    watchdog(journal.clone(), deadline);
    // Nothing is served that cannot be logged.
    let o = match (&journal.sock, client, line) {
        (Err(e), ..) => failed(
            exit::UNAVAILABLE,
            format!("the log is not reachable, so nothing is served: {e}"),
        ),
        (_, None, _) => {
            refused("not run by sshd (no SSH_CONNECTION): the broker is a forced command")
        }
        (_, Some(None), _) => refused(format!(
            "SSH_CONNECTION {:?} is malformed (not CLIENT_ADDR PORT SERVER_ADDR PORT)",
            grammar::shown(conn.as_deref().unwrap_or_default())
        )),
        (_, _, None) => refused("no request (ssh gave no command)"),
        (Ok(_), Some(Some(ip)), Some(line)) => serve(h, &journal, ip, &line, out, deadline),
    };
    if let Some(l) = &o.log
        && journal.sock.is_ok()
        && let Err(e) = journal.note(o.code, l)
    {
        eprintln!("swarmnode broker: not logged ({e})");
    }
    if let Some(s) = &o.say {
        eprintln!("{}", escape_controls(&scrub(s)));
    }
    o.code
}

fn serve(
    h: &Host,
    journal: &Journal,
    client: IpAddr,
    line: &str,
    out: &mut dyn Write,
    deadline: Instant,
) -> Outcome {
    let cfg = match config::load(h.root()) {
        Ok(c) => c,
        Err(e) => return failed(exit::REFUSED, crate::error::chain(&e)),
    };
    if !cfg.allows_client(client) {
        return refused(format!("{client} is not in the networks the broker serves"));
    }
    let req = match grammar::parse(line) {
        Ok(r) => r,
        Err(why) => return refused(why),
    };
    let api = match h.docker_api() {
        Ok(e) => e,
        Err(e) => return failed(exit::UNAVAILABLE, crate::error::chain(&e)),
    };
    let b = Broker {
        api,
        cfg,
        client,
        journal,
        deadline,
    };
    let r = match &req {
        Request::JoinToken(role) => b.join_token(*role, out),
        Request::Self_(id) => b.own(id).and_then(|n| {
            b.journal.allowed("allowed")?;
            let text = serde_json::to_string(&[&n.raw]).expect("JSON serializes");
            writeln!(out, "{text}").map_err(|e| failed(exit::FAILURE, e.to_string()))?;
            Ok(served())
        }),
        Request::Label(id, labels) => b.label(id, labels),
        Request::RemoveStale(id) => b.remove_stale(id, out),
    };
    r.unwrap_or_else(|o| o)
}

struct Broker<'a> {
    api: DockerApi,
    cfg: Config,
    client: IpAddr,
    journal: &'a Journal,
    deadline: Instant,
}

/// A node entry as the engine gives it (docker's node JSON, the host's one model), and the whole
/// of it, printed for `self`.
struct Entry {
    node: Node,
    raw: Value,
}

fn entry(raw: Value) -> Result<Entry, Outcome> {
    let node: Node = serde_json::from_value(raw.clone())
        .map_err(|e| failed(exit::FAILURE, format!("the engine's node entry: {e}")))?;
    Ok(Entry { node, raw })
}

fn same_host(a: &str, b: IpAddr) -> bool {
    let norm = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    a.parse::<IpAddr>().is_ok_and(|a| norm(a) == norm(b))
}

impl Broker<'_> {
    /// An engine request's bound: [`ENGINE_TIMEOUT`], cut to what is left of the run.
    fn timeout(&self) -> Duration {
        ENGINE_TIMEOUT.min(self.deadline.saturating_duration_since(Instant::now()))
    }

    /// `GET path` on the local engine, as JSON; `None` when the engine does not know it (404).
    fn get(&self, path: &str) -> Result<Option<Value>, Outcome> {
        let r = self
            .api
            .request("GET", path, None, self.timeout())
            .map_err(|e| failed(exit::UNAVAILABLE, format!("the local engine: {e}")))?;
        match r.status {
            200 => serde_json::from_slice(&r.body)
                .map(Some)
                .map_err(|e| failed(exit::FAILURE, format!("GET {path}: {e}"))),
            404 => Ok(None),
            s => Err(failed(
                if s == 503 {
                    exit::UNAVAILABLE
                } else {
                    exit::FAILURE
                },
                format!("GET {path}: HTTP {s}: {}", r.message()),
            )),
        }
    }

    fn join_token(&self, role: Role, out: &mut dyn Write) -> Result<Outcome, Outcome> {
        if role == Role::Manager && !self.cfg.manager_tokens {
            return Err(refused(
                "manager tokens are not handed out (manager_tokens in the broker's config)",
            ));
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Tokens {
            worker: String,
            manager: String,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct SwarmInfo {
            join_tokens: Tokens,
        }
        // No core dump or ptrace of this process while a token is in its memory.
        let _guard = crate::host::secret::NonDumpable::new();
        let mut r = self
            .api
            .request("GET", "/swarm", None, self.timeout())
            .map_err(|e| failed(exit::UNAVAILABLE, format!("the local engine: {e}")))?;
        let parsed = if r.status == 200 {
            serde_json::from_slice::<SwarmInfo>(&r.body).map_err(|e| e.to_string())
        } else {
            Err(format!("HTTP {}: {}", r.status, r.message()))
        };
        r.body.fill(0);
        let s = parsed.map_err(|e| failed(exit::UNAVAILABLE, format!("GET /swarm: {e}")))?;
        let (mut t, mut other) = match role {
            Role::Worker => (s.join_tokens.worker, s.join_tokens.manager),
            Role::Manager => (s.join_tokens.manager, s.join_tokens.worker),
        };
        let written = self
            .journal
            .allowed(&format!("allowed: a {} token", role.as_str()))
            .and_then(|()| {
                writeln!(out, "{t}")
                    .and_then(|_| out.flush())
                    .map_err(|e| failed(exit::FAILURE, e.to_string()))
            });
        // SAFETY: zeroing the bytes of a String keeps it valid UTF-8.
        unsafe {
            t.as_bytes_mut().fill(0);
            other.as_bytes_mut().fill(0);
        }
        written.map(|()| served())
    }

    /// The caller's own entry: one whose address is the ssh client's. Any other ID (unknown, or
    /// another node's) is answered alike, as `docker node inspect` answers an unknown one.
    fn own(&self, id: &NodeId) -> Result<Entry, Outcome> {
        let raw = self
            .get(&format!("/nodes/{id}"))?
            .ok_or_else(|| not_yours(id, format!("no node {id}")))?;
        let n = entry(raw)?;
        if n.node.id != id.as_str() {
            return Err(not_yours(
                id,
                format!(
                    "{id} is not a node's ID (the engine answered for {:?})",
                    grammar::shown(&n.node.id)
                ),
            ));
        }
        if !same_host(&n.node.status.addr, self.client) {
            return Err(not_yours(
                id,
                format!(
                    "node {id} is at {}, not at {}: a node may ask only about itself",
                    if n.node.status.addr.is_empty() {
                        "no address"
                    } else {
                        &n.node.status.addr
                    },
                    self.client
                ),
            ));
        }
        Ok(n)
    }

    fn label(&self, id: &NodeId, labels: &BTreeMap<String, String>) -> Result<Outcome, Outcome> {
        for (k, v) in labels {
            if let Some(why) = self.cfg.refuses_label(k, v) {
                return Err(refused(why));
            }
        }
        let n = self.own(id)?;
        let mut spec = n.node.spec;
        let mut have = spec.labels.take().unwrap_or_default();
        for (k, v) in labels {
            have.insert(k.clone(), v.clone());
        }
        spec.labels = Some(have);
        let body = serde_json::to_vec(&spec).expect("JSON serializes");
        // The ID asked for (own() checked that the entry is its), never the engine's text.
        let path = format!("/nodes/{id}/update?version={}", n.node.version.index);
        self.journal.allowed("allowed")?;
        let r = self
            .api
            .request("POST", &path, Some(&body), self.timeout())
            .map_err(|e| failed(exit::UNAVAILABLE, format!("the local engine: {e}")))?;
        if r.status != 200 {
            return Err(failed(
                exit::UNAVAILABLE,
                format!("POST {path}: HTTP {}: {}", r.status, r.message()),
            ));
        }
        Ok(served())
    }

    /// `Down` workers with the caller's hostname and address and another ID, removed; their IDs
    /// printed. An entry whose ID is not a node ID is never put in a URL: it is left alone.
    fn remove_stale(&self, id: &NodeId, out: &mut dyn Write) -> Result<Outcome, Outcome> {
        let me = self.own(id)?;
        let all = self
            .get("/nodes")?
            .ok_or_else(|| failed(exit::UNAVAILABLE, "GET /nodes: not found (not a manager?)"))?;
        let list = all.as_array().cloned().unwrap_or_default();
        let mut stale = Vec::new();
        let mut odd = 0;
        for raw in list {
            let n = entry(raw)?;
            // A hostname is whatever a node says it is: the caller's address must match too.
            let (n, me) = (&n.node, &me.node);
            if n.description.hostname != me.description.hostname
                || !same_host(&n.status.addr, self.client)
                || n.id == me.id
                || n.status.state != "down"
                || n.spec.role != "worker"
            {
                continue;
            }
            match NodeId::parse(&n.id) {
                Ok(stale_id) => stale.push(stale_id),
                Err(_) => odd += 1,
            }
        }
        let names: Vec<String> = stale.iter().map(NodeId::to_string).collect();
        self.journal.allowed(&format!(
            "allowed: removing {}{}",
            if names.is_empty() {
                "nothing".to_string()
            } else {
                names.join(" ")
            },
            if odd > 0 {
                format!(" ({odd} entry(s) whose ID is not a node ID left alone)")
            } else {
                String::new()
            }
        ))?;
        for n in &stale {
            let path = format!("/nodes/{n}");
            let r = self
                .api
                .request("DELETE", &path, None, self.timeout())
                .map_err(|e| failed(exit::UNAVAILABLE, format!("the local engine: {e}")))?;
            if r.status != 200 && r.status != 404 {
                return Err(failed(
                    exit::UNAVAILABLE,
                    format!("DELETE {path}: HTTP {}: {}", r.status, r.message()),
                ));
            }
            writeln!(out, "{n}").map_err(|e| failed(exit::FAILURE, e.to_string()))?;
        }
        Ok(served())
    }
}
