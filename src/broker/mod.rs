//! `swarmnode broker`: what a node may ask of a manager, and nothing more.
//!
//! Run by sshd on a manager as the forced command of the key a node logged in with, as the
//! non-root broker user (the local docker socket is all it needs). The key decides who the
//! caller is ([`Caller`]): the broker's own key lines ([`authorized`], which sshd asks at each
//! login) name it in the forced command's arguments, where the caller cannot reach.
//!
//! | caller | may ask |
//! |---|---|
//! | a bootstrap key, until it expires | `join-token worker` (manager: when the config allows), `enroll` a node's own key |
//! | a node's own key | `self`, `label`, `remove-stale`, `leave-entry`, `availability`, `tasks`, for the node it is bound to alone |
//! | a key listed by hand (no identity: the older, weaker setup) | `join-token`, `self`, `label`, `remove-stale`, `availability`, `tasks` for the node at the client's address |
//!
//! It reads the request from `SSH_ORIGINAL_COMMAND` ([`grammar`]), the caller's address from
//! `SSH_CONNECTION`, and what nodes may do from [`config`]; it talks to the local engine's API
//! only (no docker CLI, no shell). "A node's own" means, besides the key: the entry's address
//! (`Status.Addr`) is the ssh client's address.
//!
//! Every request, allowed or refused, is logged (syslog, /dev/log: the journal) with the client
//! address, the key's fingerprint and node, and never with a token; an allowed one is logged
//! *before* it is served: a log that does not take the line within [`LOG_SEND`] (a stuck
//! journald) gets the caller a refusal, never an answer nobody wrote down, and never a hang. The
//! whole run has a deadline ([`DEADLINE`]). A refusal is one line on stderr and exit 65. A node ID
//! that is not the caller's is answered as the docker CLI answers an unknown one (`Error: No such
//! node: ID`, exit 1), whether it is unknown or another node's: the caller learns nothing of
//! other nodes (the log says which). Root's commands on a manager are in [`admin`].

pub mod admin;
pub mod authorized;
pub mod config;
pub mod grammar;
mod requests;

use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::exit;
use crate::host::Host;
use crate::host::secret::scrub;
use crate::host::syslog::Syslog;
use crate::host::text::escape_controls;
use crate::vocab::BROKER_REFUSED;
use crate::vocab::sshkey::fingerprint_ok;
use grammar::{NodeId, Request};
use requests::Broker;

/// Who the caller is, as the key it logged in with says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A key listed by hand (the older setup): the node at the client's address.
    Address,
    /// A bootstrap key (its fingerprint), until `expires` (seconds since 1970).
    Bootstrap { key: String, expires: u64 },
    /// A node's own key (its fingerprint), bound to `node`.
    Node { node: NodeId, key: String },
}

impl Caller {
    /// From the forced command's arguments; Err when they are not what the broker's key lines
    /// write (nothing is served then).
    pub fn from_args(
        bootstrap: Option<&str>,
        expires: Option<u64>,
        node: Option<&str>,
        key: Option<&str>,
    ) -> Result<Caller, String> {
        let fp = |k: &str| {
            if fingerprint_ok(k) {
                Ok(k.to_string())
            } else {
                Err(format!("{:?} is not a key fingerprint", grammar::shown(k)))
            }
        };
        match (bootstrap, expires, node, key) {
            (None, None, None, None) => Ok(Caller::Address),
            (Some(k), Some(expires), None, None) => Ok(Caller::Bootstrap {
                key: fp(k)?,
                expires,
            }),
            (None, None, Some(n), Some(k)) => Ok(Caller::Node {
                node: NodeId::parse(n)?,
                key: fp(k)?,
            }),
            _ => Err("the key's arguments do not go together".into()),
        }
    }

    /// The log's words for it.
    fn shown(&self) -> String {
        match self {
            Caller::Address => "key=listed".into(),
            Caller::Bootstrap { key, .. } => format!("key={key} (bootstrap)"),
            Caller::Node { node, key } => format!("key={key} node={node}"),
        }
    }

    /// Why this caller may not ask this, if it may not. A node's key asking for another node's
    /// ID is answered later as an unknown ID is (not here: the answer must not differ).
    fn refuses(&self, req: &Request, now: u64) -> Option<String> {
        match (self, req) {
            (Caller::Bootstrap { expires, .. }, _) if now >= *expires => Some(format!(
                "the bootstrap key expired at {}: make another (`swarmnode broker bootstrap`)",
                crate::host::clock::utc(*expires)
            )),
            (Caller::Bootstrap { .. }, Request::JoinToken(_) | Request::Enroll(..)) => None,
            (Caller::Bootstrap { .. }, _) => Some(
                "a bootstrap key may ask for a worker token and enrol a node's own key, \
                 nothing else: the node's own key does the rest"
                    .into(),
            ),
            (Caller::Node { .. }, Request::JoinToken(_) | Request::Enroll(..)) => Some(
                "a node's own key acts on its node; a token or an enrolment needs a bootstrap \
                 key"
                .into(),
            ),
            (Caller::Node { .. }, _) => None,
            (Caller::Address, Request::Enroll(..)) => {
                Some("an enrolment needs a bootstrap key (`swarmnode broker bootstrap`)".into())
            }
            (Caller::Address, Request::LeaveEntry(_)) => {
                Some("leave-entry needs the node's own key (enrolled with a bootstrap key)".into())
            }
            (Caller::Address, _) => None,
        }
    }
}

/// One engine request's bound (cut to what is left of [`DEADLINE`]).
pub(crate) const ENGINE_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole run's bound: past it the broker says so, logs it, and exits 75.
pub const DEADLINE: Duration = Duration::from_secs(30);
/// How long the log may take to take one line.
pub const LOG_SEND: Duration = Duration::from_secs(2);

/// What became of a request: the exit status, the line for the log (None when it was logged
/// already, before the request was served), and the one for the caller.
pub(crate) struct Outcome {
    code: i32,
    log: Option<String>,
    /// stderr for the caller (refusals, errors); stdout is written by the request itself.
    say: Option<String>,
}

pub(crate) fn refused(why: impl Into<String>) -> Outcome {
    let why = why.into();
    Outcome {
        code: exit::REFUSED,
        log: Some(format!("refused: {why}")),
        say: Some(format!("{BROKER_REFUSED}{why}")),
    }
}

pub(crate) fn failed(code: i32, why: impl Into<String>) -> Outcome {
    let why = why.into();
    Outcome {
        code,
        log: Some(format!("failed: {why}")),
        say: Some(format!("swarmnode broker: {why}")),
    }
}

impl Outcome {
    /// Does what the caller is told contain `words`?
    pub(crate) fn says(&self, words: &str) -> bool {
        self.say.as_deref().is_some_and(|s| s.contains(words))
    }
}

/// Served, and logged before it was.
pub(crate) fn served() -> Outcome {
    Outcome {
        code: exit::OK,
        log: None,
        say: None,
    }
}

/// A node ID that is not the caller's: answered as docker answers an unknown ID, whatever the
/// truth, which only the log gets.
pub(crate) fn not_yours(id: &NodeId, truth: String) -> Outcome {
    Outcome {
        code: exit::FAILURE,
        log: Some(format!("refused: {truth}")),
        say: Some(format!("Error: No such node: {id}")),
    }
}

/// The log of one run: the syslog socket (/dev/log under the root: the journal on a systemd
/// host) and what each line starts with (the client, the request as shown).
pub(crate) struct Journal {
    sock: std::io::Result<Syslog>,
    head: String,
}

impl Journal {
    fn open(h: &Host, who: &str, caller: &Caller, shown: &str) -> Journal {
        Journal {
            sock: Syslog::open(h.root(), LOG_SEND),
            head: format!("client={who} {} request=\"{shown}\"", caller.shown()),
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
    pub(crate) fn allowed(&self, text: &str) -> Result<(), Outcome> {
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

/// The broker's whole run for the caller its key says (`Err`: the forced command's arguments are
/// not the broker's, and nothing is served): `env` gives `SSH_ORIGINAL_COMMAND` and
/// `SSH_CONNECTION`. Returns the exit status.
pub fn run(
    h: &Host,
    caller: Result<Caller, String>,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut dyn Write,
) -> i32 {
    let deadline = Instant::now() + DEADLINE;
    let conn = env("SSH_CONNECTION");
    let client = conn.as_deref().map(client_of);
    let line = env("SSH_ORIGINAL_COMMAND");
    let shown = line.as_deref().map(grammar::shown).unwrap_or_default();
    let who = match client {
        Some(Some(c)) => c.to_string(),
        _ => "unknown".to_string(),
    };
    let shown_caller = caller.clone().unwrap_or(Caller::Address);
    let journal = Arc::new(Journal::open(h, &who, &shown_caller, &shown));
    watchdog(journal.clone(), deadline);
    // Nothing is served that cannot be logged.
    let o = match (&journal.sock, client, line) {
        (Err(e), ..) => failed(
            exit::UNAVAILABLE,
            format!("the log is not reachable, so nothing is served: {e}"),
        ),
        (_, _, _) if caller.is_err() => refused(format!(
            "the forced command's arguments are not the broker's: {}",
            caller.as_ref().err().cloned().unwrap_or_default()
        )),
        (_, None, _) => {
            refused("not run by sshd (no SSH_CONNECTION): the broker is a forced command")
        }
        (_, Some(None), _) => refused(format!(
            "SSH_CONNECTION {:?} is malformed (not CLIENT_ADDR PORT SERVER_ADDR PORT)",
            grammar::shown(conn.as_deref().unwrap_or_default())
        )),
        (_, _, None) => refused("no request (ssh gave no command)"),
        (Ok(_), Some(Some(ip)), Some(line)) => {
            let caller = caller.expect("checked above");
            serve(h, &journal, &caller, ip, &line, out, deadline)
        }
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
    caller: &Caller,
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
    if let Some(why) = caller.refuses(&req, crate::host::clock::now()) {
        return refused(why);
    }
    let api = match h.docker_api() {
        Ok(e) => e,
        Err(e) => return failed(exit::UNAVAILABLE, crate::error::chain(&e)),
    };
    let b = Broker {
        api,
        cfg,
        client,
        caller: caller.clone(),
        journal,
        deadline,
    };
    if let Err(o) = b.still_kept() {
        return o;
    }
    let r = match &req {
        Request::JoinToken(role) => b.join_token(*role, out),
        Request::Self_(id) => b.self_entry(id, out),
        Request::Label(id, labels) => b.label(id, labels),
        Request::RemoveStale(id) => b.remove_stale(id, out),
        Request::Enroll(id, key) => b.enroll(id, key),
        Request::LeaveEntry(id) => b.leave_entry(id, out),
        Request::Availability(id, to) => b.availability(id, *to),
        Request::Tasks(id) => b.tasks(id, out),
    };
    r.unwrap_or_else(|o| o)
}
