//! The join: the token fetched from a manager when the join is carried out (never before: it
//! is never shown, logged or kept), checked against the pinned CA, sent to the local dockerd in
//! the request body; dockerd's answer read (a wrong token stops, a join going on in the
//! background is followed, the rest tried again on the next manager); an unfinished join this
//! run started left behind clean.

use std::time::{Duration, Instant};

use crate::error::{Error, JoinError, Result};
use crate::host::cmd::{Cmd, CommandError};
use crate::host::managers::{self, Fault, Trouble, Try, classify};
use crate::host::secret::{NonDumpable, Secret};
use crate::host::signals::pause;

use super::membership::leave;
use super::ops::{JoinSpec, JoinVia};
use super::token::{TOKEN_FILE_MAX, Token, TokenFrom, open_token_file};
use super::{POLL, SwarmHost, info};

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

/// The join: after the start jitter, the managers in turn through the one retry engine, each try
/// fetching the token and asking dockerd to join, within the spec's timeout.
pub(super) fn join(host: &SwarmHost, spec: &JoinSpec) -> Result<()> {
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
    let budget = Duration::from_secs(spec.timeout_seconds);
    let deadline = Instant::now() + budget;
    let mut posted = false;
    let names: Vec<&str> = spec.via.iter().map(|v| v.manager.as_str()).collect();
    let ended = managers::rounds("the join", &names, budget, &mut |i, left| {
        if left.is_zero() {
            return Ok(Try::OutOfTime);
        }
        Ok(
            match attempt(host, spec, &spec.via[i], deadline, &mut posted) {
                Ok(()) => Try::Done(()),
                Err(Attempt::Stop(e)) => {
                    not_pending(host, posted)?;
                    return Err(e);
                }
                Err(Attempt::OutOfTime) => Try::OutOfTime,
                Err(Attempt::NotInactive(state)) => {
                    tracing::info!(
                        "swarm: the node is {state} now, not inactive: no join; the next \
                     observation decides"
                    );
                    Try::Done(())
                }
                Err(Attempt::Retry(trouble, why)) => {
                    not_pending(host, posted)?;
                    Try::Again(trouble, why)
                }
                Err(Attempt::Skip(why)) => Try::Drop(why),
            },
        )
    })?;
    let Err(ex) = ended else {
        return Ok(());
    };
    not_pending(host, posted)?;
    let (seconds, managers) = (spec.timeout_seconds, names.join(", "));
    let (seen, advice) = (ex.tries.summary(), ex.tries.advice());
    Err(if posted {
        JoinError::StillPending {
            seconds,
            managers,
            seen,
            advice: "run again; with many nodes at once, give the fleet more room with \
                     swarm.join_timeout_seconds and swarm.start_jitter_seconds",
        }
    } else {
        JoinError::NoManager {
            seconds,
            managers,
            seen,
            advice,
        }
    }
    .into())
}

/// Leaves an unfinished join behind, so that the next attempt (or the next run) starts clean;
/// but only a join this run started (`posted`) or one that never got a NodeID, and never on a
/// manager.
fn not_pending(host: &SwarmHost, posted: bool) -> Result<()> {
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
fn follow_background_join(host: &SwarmHost, deadline: Instant) -> Result<(), Attempt> {
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
    host: &SwarmHost,
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
        .api()
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
    host: &SwarmHost,
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

fn fetch_token(host: &SwarmHost, via: &JoinVia, left: Duration) -> Result<Token, Attempt> {
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
