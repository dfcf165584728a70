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
//! address and never with a token; nothing is served when the log cannot be reached. A refusal
//! is one line on stderr and exit 65.

pub mod config;
pub mod grammar;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::error::exit;
use crate::host::Host;
use crate::host::engine_api::Engine;
use config::Config;
use grammar::{NodeId, Request, Role};

/// One engine request's bound.
const ENGINE_TIMEOUT: Duration = Duration::from_secs(20);

/// What became of a request: the exit status, the line for the log, and the one for the caller.
struct Outcome {
    code: i32,
    log: String,
    /// stderr for the caller (refusals, errors); stdout is written by the request itself.
    say: Option<String>,
}

fn refused(why: impl Into<String>) -> Outcome {
    let why = why.into();
    Outcome {
        code: exit::REFUSED,
        log: format!("refused: {why}"),
        say: Some(format!("swarmnode broker: refused: {why}")),
    }
}

fn failed(code: i32, why: impl Into<String>) -> Outcome {
    let why = why.into();
    Outcome {
        code,
        log: format!("failed: {why}"),
        say: Some(format!("swarmnode broker: {why}")),
    }
}

/// The broker's whole run: `env` gives `SSH_ORIGINAL_COMMAND` and `SSH_CONNECTION`. Returns the
/// exit status.
pub fn run(h: &Host, env: &dyn Fn(&str) -> Option<String>, out: &mut dyn Write) -> i32 {
    let client = env("SSH_CONNECTION")
        .and_then(|c| c.split(' ').next().and_then(|a| a.parse::<IpAddr>().ok()));
    let line = env("SSH_ORIGINAL_COMMAND");
    let shown = line.as_deref().map(grammar::shown).unwrap_or_default();
    // Nothing is served that cannot be logged.
    let logger = open_log(h);
    let o = match (client, line, &logger) {
        (_, _, Err(e)) => failed(
            exit::UNAVAILABLE,
            format!("the log is not reachable, so nothing is served: {e}"),
        ),
        (None, ..) => {
            refused("not run by sshd (no SSH_CONNECTION): the broker is a forced command")
        }
        (_, None, _) => refused("no request (ssh gave no command)"),
        (Some(ip), Some(line), Ok(_)) => serve(h, ip, &line, out),
    };
    let who = client.map_or("unknown".to_string(), |c| c.to_string());
    if let Ok(l) = &logger {
        log(
            l,
            o.code,
            &format!("client={who} request=\"{shown}\" {}", o.log),
        );
    }
    if let Some(s) = &o.say {
        eprintln!("{}", crate::host::secret::scrub(s));
    }
    o.code
}

fn serve(h: &Host, client: IpAddr, line: &str, out: &mut dyn Write) -> Outcome {
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
    let engine = match h.engine() {
        Ok(e) => e,
        Err(e) => return failed(exit::UNAVAILABLE, crate::error::chain(&e)),
    };
    let b = Broker {
        engine,
        cfg,
        client,
    };
    let r = match &req {
        Request::JoinToken(role) => b.join_token(*role, out),
        Request::Self_(id) => b.own(id).and_then(|n| {
            let text = serde_json::to_string(&[&n.raw]).expect("JSON serializes");
            writeln!(out, "{text}").map_err(|e| failed(exit::FAILURE, e.to_string()))?;
            Ok(Outcome {
                code: 0,
                log: "allowed".into(),
                say: None,
            })
        }),
        Request::Label(id, labels) => b.label(id, labels),
        Request::RemoveStale(id) => b.remove_stale(id, out),
    };
    r.unwrap_or_else(|o| o)
}

struct Broker {
    engine: Engine,
    cfg: Config,
    client: IpAddr,
}

/// A node entry as the engine gives it: the parts the broker reads, and the whole of it.
struct Entry {
    id: String,
    version: u64,
    addr: String,
    hostname: String,
    role: String,
    state: String,
    spec: serde_json::Map<String, Value>,
    raw: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EntryParts {
    #[serde(rename = "ID")]
    id: String,
    version: Version,
    spec: serde_json::Map<String, Value>,
    #[serde(default)]
    description: Description,
    #[serde(default)]
    status: Status,
}
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Version {
    index: u64,
}
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Description {
    #[serde(default)]
    hostname: String,
}
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Status {
    #[serde(default)]
    state: String,
    #[serde(default)]
    addr: String,
}

fn entry(raw: Value) -> Result<Entry, Outcome> {
    let p: EntryParts = serde_json::from_value(raw.clone())
        .map_err(|e| failed(exit::FAILURE, format!("the engine's node entry: {e}")))?;
    Ok(Entry {
        role: p
            .spec
            .get("Role")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        id: p.id,
        version: p.version.index,
        addr: p.status.addr,
        hostname: p.description.hostname,
        state: p.status.state,
        spec: p.spec,
        raw,
    })
}

fn same_host(a: &str, b: IpAddr) -> bool {
    let norm = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    a.parse::<IpAddr>().is_ok_and(|a| norm(a) == norm(b))
}

impl Broker {
    /// `GET path` on the local engine, as JSON; `None` when the engine does not know it (404).
    fn get(&self, path: &str) -> Result<Option<Value>, Outcome> {
        let r = self
            .engine
            .request("GET", path, None, ENGINE_TIMEOUT)
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
            .engine
            .request("GET", "/swarm", None, ENGINE_TIMEOUT)
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
        let written = writeln!(out, "{t}").and_then(|_| out.flush());
        // SAFETY: zeroing the bytes of a String keeps it valid UTF-8.
        unsafe {
            t.as_bytes_mut().fill(0);
            other.as_bytes_mut().fill(0);
        }
        written.map_err(|e| failed(exit::FAILURE, e.to_string()))?;
        Ok(Outcome {
            code: 0,
            log: format!("allowed: a {} token", role.as_str()),
            say: None,
        })
    }

    /// The caller's own entry: one whose address is the ssh client's. A node the engine does
    /// not know is answered the way the docker CLI does (`Error: No such node: ID`, exit 1).
    fn own(&self, id: &NodeId) -> Result<Entry, Outcome> {
        let raw = self.get(&format!("/nodes/{id}"))?.ok_or_else(|| Outcome {
            code: 1,
            log: format!("failed: no node {id}"),
            say: Some(format!("Error: No such node: {id}")),
        })?;
        let n = entry(raw)?;
        if n.id != id.as_str() {
            return Err(refused(format!("{id} is not a node's ID")));
        }
        if !same_host(&n.addr, self.client) {
            return Err(refused(format!(
                "node {id} is at {}, not at {}: a node may ask only about itself",
                if n.addr.is_empty() {
                    "no address"
                } else {
                    &n.addr
                },
                self.client
            )));
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
        let mut spec = n.spec;
        let mut have = spec
            .get("Labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (k, v) in labels {
            have.insert(k.clone(), Value::String(v.clone()));
        }
        spec.insert("Labels".into(), Value::Object(have));
        let body = serde_json::to_vec(&spec).expect("JSON serializes");
        let path = format!("/nodes/{}/update?version={}", n.id, n.version);
        let r = self
            .engine
            .request("POST", &path, Some(&body), ENGINE_TIMEOUT)
            .map_err(|e| failed(exit::UNAVAILABLE, format!("the local engine: {e}")))?;
        if r.status != 200 {
            return Err(failed(
                exit::UNAVAILABLE,
                format!("POST {path}: HTTP {}: {}", r.status, r.message()),
            ));
        }
        Ok(Outcome {
            code: 0,
            log: "allowed".into(),
            say: None,
        })
    }

    /// `Down` workers with the caller's hostname and another ID, removed; their IDs printed.
    fn remove_stale(&self, id: &NodeId, out: &mut dyn Write) -> Result<Outcome, Outcome> {
        let me = self.own(id)?;
        let all = self
            .get("/nodes")?
            .ok_or_else(|| failed(exit::UNAVAILABLE, "GET /nodes: not found (not a manager?)"))?;
        let list = all.as_array().cloned().unwrap_or_default();
        let mut removed = Vec::new();
        for raw in list {
            let n = entry(raw)?;
            // A hostname is whatever a node says it is: the caller's address must match too.
            if n.hostname != me.hostname
                || !same_host(&n.addr, self.client)
                || n.id == me.id
                || n.state != "down"
                || n.role != "worker"
            {
                continue;
            }
            let path = format!("/nodes/{}", n.id);
            let r = self
                .engine
                .request("DELETE", &path, None, ENGINE_TIMEOUT)
                .map_err(|e| failed(exit::UNAVAILABLE, format!("the local engine: {e}")))?;
            if r.status != 200 && r.status != 404 {
                return Err(failed(
                    exit::UNAVAILABLE,
                    format!("DELETE {path}: HTTP {}: {}", r.status, r.message()),
                ));
            }
            writeln!(out, "{}", n.id).map_err(|e| failed(exit::FAILURE, e.to_string()))?;
            removed.push(n.id);
        }
        Ok(Outcome {
            code: 0,
            log: format!(
                "allowed: removed {}",
                if removed.is_empty() {
                    "nothing".to_string()
                } else {
                    removed.join(" ")
                }
            ),
            say: None,
        })
    }
}

/// The syslog socket (/dev/log under the root: the journal on a systemd host), connected.
fn open_log(h: &Host) -> std::io::Result<std::os::unix::net::UnixDatagram> {
    let sock = crate::host::fs::under(h.root(), "/dev/log");
    let s = std::os::unix::net::UnixDatagram::unbound()?;
    s.connect(&sock)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", sock.display())))?;
    Ok(s)
}

/// One line to syslog, facility auth: info when allowed, notice when refused or failed. A line
/// that cannot be sent is said on stderr.
fn log(s: &std::os::unix::net::UnixDatagram, code: i32, msg: &str) {
    let pri = 4 * 8 + if code == 0 { 6 } else { 5 };
    let line = format!(
        "<{pri}>swarmnode-broker[{}]: {}",
        std::process::id(),
        crate::host::secret::scrub(msg)
    );
    if let Err(e) = s.send(line.as_bytes()) {
        eprintln!("swarmnode broker: not logged ({e}): {msg}");
    }
}
