//! Calls to the swarm's managers: what a failure means (try again later, try the next manager,
//! or stop), how long to keep trying (jittered exponential backoff within a budget), and what to
//! tell the person once the budget is used up.
//!
//! Every call to a manager goes through one retry engine, [`rounds`]: [`call`] for every
//! command swarmnode runs there (the node as a manager sees it, its labels, stale entries, a
//! reset's removal), and the join (whose tries fetch the token and ask dockerd to join).
//!
//! A fleet booting at once is what makes these failures common: sshd drops connections beyond
//! `MaxStartups` (default 10:30:100) before authentication ("kex_exchange_identification:
//! Connection closed by remote host", ssh exit 255), and a manager electing a leader answers
//! "rpc error: code = Unavailable". Those are retried; a key, host key or certificate that is
//! not accepted is not.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, JoinError, Result};
use crate::host::cmd::{Cmd, CommandError, Output, Runner};
use crate::host::signals::pause;
use crate::vocab::BROKER_REFUSED;

/// One command on one manager, as planned: its swarm address, the argv that reaches it (ssh, or
/// the docker CLI against its API), and how long one try may take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagerCmd {
    pub manager: String,
    pub argv: Vec<String>,
    pub timeout_seconds: u64,
}

impl ManagerCmd {
    pub fn cmd(&self) -> Cmd {
        Cmd {
            argv: self.argv.clone(),
        }
    }
}

/// What a failed command on a manager means, read from its exit status and the exact words of
/// ssh and docker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The manager could not be authenticated, or did not accept us (host key, key,
    /// certificate): retrying does not help.
    NotAuthenticated,
    /// Worth another try, on this manager later or on the next one now.
    Transient(Trouble),
    /// Anything else the command said (docker not installed there, an error of docker's): the
    /// next manager is asked, this one not again.
    Other,
}

/// What a transient failure looked like, for the final message: it says what to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// It is there but dropped or reset the connection before serving it (sshd's MaxStartups),
    /// or its swarm could not serve (no leader yet, a TLS handshake that timed out).
    Busy,
    /// Nothing listens: the connection was refused.
    Refused,
    /// No answer in time, no route, or no such name.
    Unreachable,
}

impl Trouble {
    fn says(self) -> &'static str {
        match self {
            Trouble::Busy => "busy: it dropped connections or could not serve yet",
            Trouble::Refused => "refused connections: nothing listens on its ssh or API port",
            Trouble::Unreachable => "unreachable: no answer in time, no route, or no such name",
        }
    }
}

/// ssh's own failures (exit 255): its exact words for a key or host key it will not accept.
const SSH_AUTH: [&str; 4] = [
    "Host key verification failed",
    "REMOTE HOST IDENTIFICATION HAS CHANGED",
    "Permission denied (",
    "Too many authentication failures",
];

/// A manager that is there but did not serve this connection now: sshd over MaxStartups,
/// a reset, a swarm without a leader, a handshake or a raft write that took too long.
const BUSY: [&str; 17] = [
    "kex_exchange_identification",
    "ssh_exchange_identification",
    "Connection closed by",
    "Connection reset",
    "connection reset",
    "Broken pipe",
    "broken pipe",
    "rpc error: code = Unavailable",
    "rpc error: code = DeadlineExceeded",
    "TLS handshake timeout",
    "does not have a leader",
    "no elected cluster leader",
    "context deadline exceeded",
    "update out of sequence",
    "attempted registration too recently",
    // swarmkit's dispatcher pacing re-registrations (codes.Unavailable; also said alone).
    "exceeded rate limit count of registrations",
    "Connection to ",
];

/// Nothing listens on the manager's port.
const REFUSED: [&str; 3] = [
    "Connection refused",
    "connection refused",
    "Cannot connect to the Docker daemon",
];

/// No answer in time, no route, or no such name.
const UNREACHABLE: [&str; 9] = [
    "No route to host",
    "no route to host",
    "Network is unreachable",
    "network is unreachable",
    "timed out",
    "i/o timeout",
    "Could not resolve hostname",
    "no such host",
    "Name or service not known",
];

/// A certificate either side will not accept (also inside an rpc error: an expired one is
/// not a busy manager), or a user docker will not serve.
const REJECTED: [&str; 5] = [
    "x509:",
    "tls: ",
    "certificate",
    "permission denied while trying to connect to the Docker daemon",
    // The broker (src/broker) will not do it for this node: asking again does not help.
    BROKER_REFUSED,
];

/// What a manager's failed answer means: a key it will not take or a refusal (permanent), a
/// manager in trouble (transient: try it again, or another), or something it will say again.
pub fn classify(code: i32, stderr: &str) -> Fault {
    let has = |words: &[&str]| words.iter().any(|w| stderr.contains(w));
    match code {
        255 if has(&SSH_AUTH) => Fault::NotAuthenticated,
        // The broker's temporary answer (EX_TEMPFAIL; ssh and docker never exit so), and its
        // "unavailable" (its manager's engine did not answer in time: a manager under load).
        75 | 69 if stderr.starts_with("swarmnode broker: ") => Fault::Transient(Trouble::Busy),
        _ if has(&REJECTED) => Fault::NotAuthenticated,
        _ if has(&BUSY) => Fault::Transient(Trouble::Busy),
        _ if has(&REFUSED) => Fault::Transient(Trouble::Refused),
        _ if has(&UNREACHABLE) => Fault::Transient(Trouble::Unreachable),
        // "error during connect" without a known cause.
        _ if stderr.contains("error during connect") => Fault::Transient(Trouble::Unreachable),
        // The rest, ssh's own words included ("Unable to negotiate", "Bad owner or permissions",
        // a host that is not a manager): that manager will say it again.
        _ => Fault::Other,
    }
}

/// What each manager did, for the message that ends the tries.
pub struct Tries {
    seen: Vec<Seen>,
}

struct Seen {
    manager: String,
    tries: u32,
    /// The last failure's kind (None: answered with something else) and words.
    trouble: Option<Trouble>,
    last: String,
}

impl Tries {
    pub fn new<'a>(managers: impl IntoIterator<Item = &'a str>) -> Tries {
        Tries {
            seen: managers
                .into_iter()
                .map(|m| Seen {
                    manager: m.to_string(),
                    tries: 0,
                    trouble: None,
                    last: String::new(),
                })
                .collect(),
        }
    }

    /// Manager `i` failed this way; `words` is what it said (one line is kept).
    pub fn saw(&mut self, i: usize, trouble: Option<Trouble>, words: &str) {
        let s = &mut self.seen[i];
        s.tries += 1;
        s.trouble = trouble;
        s.last = one_line(words);
    }

    pub fn total(&self) -> u32 {
        self.seen.iter().map(|s| s.tries).sum()
    }

    /// Each manager tried: what it was, how often it was tried, and its last words.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .seen
            .iter()
            .filter(|s| s.tries > 0)
            .map(|s| {
                format!(
                    "{} {} ({} {}; last: {})",
                    s.manager,
                    s.trouble.map_or("answered with an error", Trouble::says),
                    s.tries,
                    if s.tries == 1 { "try" } else { "tries" },
                    s.last
                )
            })
            .collect();
        if parts.is_empty() {
            "no manager was tried".into()
        } else {
            parts.join("; ")
        }
    }

    /// What to look at, from what was seen.
    pub fn advice(&self) -> &'static str {
        let saw = |t: Trouble| self.seen.iter().any(|s| s.trouble == Some(t));
        if saw(Trouble::Busy) {
            "the managers are up but too busy for this node now (many nodes at once: sshd's \
             MaxStartups, a leader election); run again, or give the fleet more room with \
             swarm.join_timeout_seconds and swarm.start_jitter_seconds"
        } else if saw(Trouble::Refused) {
            "check that sshd (ssh source) or dockerd's API (tls source) runs on the managers, \
             then run again"
        } else if saw(Trouble::Unreachable) {
            "check that the managers are up and that this node reaches them (address, route, \
             firewall), then run again"
        } else {
            "read what the managers answered, above"
        }
    }
}

/// Several lines (ssh ends its lines with \r\n) as one.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Less time than this left: no new round of tries (it could only be cut off by the deadline);
/// also the least one try is given.
pub const MIN_TRY: Duration = Duration::from_secs(2);
/// The longest wait between two rounds of tries.
const MAX_BACKOFF: Duration = Duration::from_secs(15);
/// The first wait between two rounds.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// The wait after a round that waited `d`: doubled, at most `MAX_BACKOFF`.
pub fn backoff(d: Duration) -> Duration {
    (d * 2).min(MAX_BACKOFF)
}

/// `d` spread over ±50%, so that nodes that failed together do not come back together.
pub fn jitter(d: Duration) -> Duration {
    d.mul_f64(0.5 + random_fraction())
}

/// A number in [0, 1) from the kernel's random source (the clock when it cannot be read): no
/// two nodes of a fleet booted at the same moment draw the same.
pub fn random_fraction() -> f64 {
    use std::io::Read;
    let mut b = [0u8; 8];
    let n = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map(|_| u64::from_le_bytes(b))
        .unwrap_or_else(|_| {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            u64::from(t.subsec_nanos()) ^ (u64::from(std::process::id()) << 32)
        });
    (n >> 11) as f64 / (1u64 << 53) as f64
}

/// What one try on one manager came to.
pub enum Try<T> {
    /// It did it: the rounds end with this.
    Done(T),
    /// A transient failure (what it looked like, None: an answer of its own; and its words):
    /// this manager is tried again in a later round, the next one now.
    Again(Option<Trouble>, String),
    /// It answered with an error it will give again: the other managers are asked, this one
    /// not again.
    Drop(String),
    /// Less time is left than a try needs: no more tries.
    OutOfTime,
}

/// The rounds ended without a manager doing it: what each did, and whether any was left to ask.
pub struct Exhausted {
    pub tries: Tries,
    pub all_dropped: bool,
}

/// The one retry engine for every call to the managers: each manager in turn (`one(i, left)`
/// makes one try on manager `i` with `left` of the budget), then again after a jittered,
/// growing wait ([`backoff`], [`jitter`]) while failures are transient, within `budget`. Every
/// manager is tried at least once; later tries only when at least [`MIN_TRY`] is left. An error
/// from a try stops everything; otherwise `Ok(Err(...))` says what each manager did.
pub fn rounds<T>(
    what: &str,
    managers: &[&str],
    budget: Duration,
    one: &mut dyn FnMut(usize, Duration) -> Result<Try<T>>,
) -> Result<std::result::Result<T, Exhausted>> {
    let deadline = Instant::now() + budget;
    let mut tries = Tries::new(managers.iter().copied());
    // Managers still asked (one that answered with an error is not asked again).
    let mut still_asked = vec![true; managers.len()];
    let mut delay = FIRST_BACKOFF;
    let mut round = 0;
    'rounds: loop {
        for (i, m) in managers.iter().enumerate() {
            let left = deadline.saturating_duration_since(Instant::now());
            if !still_asked[i] || (round > 0 && left < MIN_TRY) {
                continue;
            }
            match one(i, left)? {
                Try::Done(v) => return Ok(Ok(v)),
                Try::Again(trouble, words) => {
                    tracing::info!(
                        "swarm: manager {m}: {what}: {}; trying on",
                        one_line(&words)
                    );
                    tries.saw(i, trouble, &words);
                }
                Try::Drop(words) => {
                    tracing::info!(
                        "swarm: manager {m}: {what}: {}; not asked again",
                        one_line(&words)
                    );
                    tries.saw(i, None, &words);
                    still_asked[i] = false;
                }
                Try::OutOfTime => break 'rounds,
            }
        }
        round += 1;
        let left = deadline.saturating_duration_since(Instant::now());
        if !still_asked.contains(&true) || left < MIN_TRY {
            break;
        }
        let wait = jitter(delay).min(left);
        tracing::info!("swarm: {what}: no manager did it yet; next round in {wait:.1?}");
        pause(wait)?;
        delay = backoff(delay);
    }
    Ok(Err(Exhausted {
        tries,
        all_dropped: !still_asked.contains(&true),
    }))
}

/// Runs `docker ...` on the managers until one does it, through [`rounds`]: each try gets its
/// command's timeout, cut to what is left of the budget but never below [`MIN_TRY`], so the
/// call ends within `budget` plus one [`MIN_TRY`] per manager. An answer is exit 0, or a
/// failure `answers` accepts (docker saying it does not know a node). Returns which manager did
/// it and its output.
///
/// A manager that cannot be authenticated stops everything (65); one that answers with an
/// error is not asked again; when time runs out or no manager is left to ask, 69 with what each
/// manager did.
pub fn call(
    runner: &Runner,
    what: &str,
    calls: &[ManagerCmd],
    budget: Duration,
    answers: &dyn Fn(&Output) -> bool,
) -> Result<(usize, Output)> {
    let managers: Vec<&str> = calls.iter().map(|c| c.manager.as_str()).collect();
    let ended = rounds(what, &managers, budget, &mut |i, left| {
        let c = &calls[i];
        let limit = Duration::from_secs(c.timeout_seconds).min(left.max(MIN_TRY));
        let cmd = c.cmd();
        Ok(match runner.output_timeout(&cmd, limit) {
            Ok(o) if o.code == 0 || answers(&o) => Try::Done((i, o)),
            Ok(o) => {
                let words = format!("exit {}: {}", o.code, o.stderr);
                match classify(o.code, &o.stderr) {
                    Fault::NotAuthenticated => {
                        return Err(JoinError::NotAuthenticated {
                            manager: c.manager.clone(),
                            cmd: cmd.to_string(),
                            stderr: one_line(&o.stderr),
                        }
                        .into());
                    }
                    Fault::Transient(t) => Try::Again(Some(t), words),
                    Fault::Other => Try::Drop(words),
                }
            }
            Err(e @ CommandError::Timeout { .. }) => {
                Try::Again(Some(Trouble::Unreachable), e.to_string())
            }
            Err(e) => return Err(e.into()),
        })
    })?;
    ended.map_err(|ex| {
        let outcome = if ex.all_dropped {
            "every manager answered with an error".to_string()
        } else {
            format!("no manager did it within {} s", budget.as_secs())
        };
        Error::Unavailable(format!(
            "swarm: {what}: {outcome} ({} tries): {}; {}",
            ex.tries.total(),
            ex.tries.summary(),
            ex.tries.advice()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_failures_are_read_by_exit_status_and_their_words() {
        use Fault::*;
        use Trouble::*;
        // Each stderr as ssh 9.2 and the docker CLI print it (captured in swarm-tests).
        let cases = [
            (
                255,
                "ssh: connect to host 10.77.0.1 port 22: Connection refused\n",
                Transient(Refused),
            ),
            (
                255,
                "kex_exchange_identification: Connection closed by remote host\r\nConnection closed by 10.77.0.1 port 22\r\n",
                Transient(Busy),
            ),
            (
                255,
                "kex_exchange_identification: read: Connection reset by peer\r\nConnection reset by 10.77.0.1 port 22\r\n",
                Transient(Busy),
            ),
            (
                255,
                "ssh: connect to host 10.77.0.99 port 22: Connection timed out\n",
                Transient(Unreachable),
            ),
            (
                255,
                "ssh: Could not resolve hostname manager1: Name or service not known\n",
                Transient(Unreachable),
            ),
            (
                255,
                "client_loop: send disconnect: Broken pipe\r\n",
                Transient(Busy),
            ),
            (
                255,
                "Unable to negotiate with 10.77.0.1 port 22: no matching host key type found. Their offer: ssh-rsa\r\n",
                Other,
            ),
            (255, "", Other),
            // Captured at 100 workers joining at once through the broker (swarm-tests/cost.sh).
            (
                69,
                "swarmnode broker: the local engine: docker engine: GET /nodes/nodhv0ixaxl8l27ibeyu3uz4v: no whole answer within 10 s\n",
                Transient(Busy),
            ),
            // The broker's answer for a node whose entry has no address yet (seen at 100).
            (
                75,
                "swarmnode broker: node vzo04846i9brbvotgwutsier5 has no address yet (it has just joined?): try again later\n",
                Transient(Busy),
            ),
            (
                1,
                "node l8s526d06sna2jckb05a27o7r exceeded rate limit count of registrations",
                Transient(Busy),
            ),
            (127, "bash: line 1: docker: command not found\n", Other),
            (
                1,
                "Cannot connect to the Docker daemon at tcp://10.77.0.1:2376. Is the docker daemon running?\n",
                Transient(Refused),
            ),
            (
                1,
                "error during connect: Get \"https://10.77.0.1:2376/v1.47/info\": dial tcp 10.77.0.1:2376: connect: connection refused\n",
                Transient(Refused),
            ),
            (
                1,
                "error during connect: Get \"https://10.77.0.1:2376/v1.47/swarm\": net/http: TLS handshake timeout\n",
                Transient(Busy),
            ),
            (
                1,
                "Error response from daemon: This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.\n",
                Other,
            ),
            (
                1,
                "Error response from daemon: rpc error: code = DeadlineExceeded desc = context deadline exceeded\n",
                Transient(Busy),
            ),
            (
                1,
                "Error response from daemon: rpc error: code = Unavailable desc = connection error: desc = \"transport: authentication handshake failed: x509: certificate has expired or is not yet valid\"\n",
                NotAuthenticated,
            ),
            (
                1,
                "Error response from daemon: rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.\n",
                Transient(Busy),
            ),
            (255, "Host key verification failed.\n", NotAuthenticated),
            (
                255,
                "root@10.77.0.1: Permission denied (publickey).\n",
                NotAuthenticated,
            ),
            (
                1,
                "error during connect: Get \"https://10.77.0.1:2376/v1.41/info\": tls: failed to verify certificate: x509: certificate signed by unknown authority\n",
                NotAuthenticated,
            ),
            (1, "Error: No such node: xyz\n", Other),
            (
                65,
                "swarmnode broker: refused: the label rack is not one nodes may set (the broker allows: function)\n",
                NotAuthenticated,
            ),
            (
                1,
                "Error response from daemon: rpc error: code = Unavailable desc = connection error: desc = \"transport: authentication handshake failed: tls: first record does not look like a TLS handshake\"\n",
                NotAuthenticated,
            ),
            (126, "bash: /usr/bin/docker: Permission denied\n", Other),
            // The broker's "not yet" (75, EX_TEMPFAIL): a node that has just left, not Down yet.
            (
                75,
                "swarmnode broker: node x is ready, not down yet: it has just left? asked again\n",
                Transient(Trouble::Busy),
            ),
            (
                1,
                "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock\n",
                NotAuthenticated,
            ),
        ];
        for (code, err, want) in cases {
            assert_eq!(classify(code, err), want, "{code} {err}");
        }
    }

    #[test]
    fn the_final_message_says_what_each_manager_did_and_what_to_look_at() {
        let mut t = Tries::new(["10.77.0.1:2377", "10.77.0.2:2377", "10.77.0.3:2377"]);
        for _ in 0..3 {
            t.saw(
                0,
                Some(Trouble::Busy),
                "exit 255: kex_exchange_identification: Connection closed by remote host\r\n",
            );
        }
        t.saw(
            1,
            Some(Trouble::Refused),
            "exit 255: ssh: connect to host 10.77.0.2 port 22: Connection refused",
        );
        assert_eq!(t.total(), 4);
        let s = t.summary();
        assert!(
            s.starts_with(
                "10.77.0.1:2377 busy: it dropped connections or could not serve yet (3 tries; \
                 last: exit 255: kex_exchange_identification: Connection closed by remote host); \
                 10.77.0.2:2377 refused connections"
            ),
            "{s}"
        );
        assert!(!s.contains("10.77.0.3"), "{s}");
        assert!(t.advice().contains("too busy"), "{}", t.advice());
        let mut u = Tries::new(["m:2377"]);
        u.saw(0, Some(Trouble::Refused), "refused");
        assert!(u.advice().starts_with("check that sshd"), "{}", u.advice());
    }

    #[test]
    fn waits_grow_to_a_bound_and_are_spread() {
        let mut d = FIRST_BACKOFF;
        let mut seen = Vec::new();
        for _ in 0..8 {
            seen.push(d.as_secs());
            d = backoff(d);
        }
        assert_eq!(seen, [1, 2, 4, 8, 15, 15, 15, 15]);
        let draws: Vec<Duration> = (0..64).map(|_| jitter(Duration::from_secs(2))).collect();
        assert!(
            draws
                .iter()
                .all(|w| *w >= Duration::from_secs(1) && *w < Duration::from_secs(3))
        );
        let mut distinct = draws.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() > 32, "{draws:?}");
    }

    proptest::proptest! {
        #[test]
        fn no_answer_makes_the_classifier_panic(code in -1i32..300, err in "\\PC{0,200}") {
            let _ = classify(code, &err);
        }
    }
}
