//! Errors and swarmnode's exit codes ([`exit`]; every man page's EXIT STATUS is made from them):
//! 65 refused, 69 remote unavailable, 75 temporary, 1 anything else. Messages are lowercase, name the thing, and leave the cause to
//! `#[source]` so `main` can print the chain once.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

// ---- what the host boundary reports; defined here, at the bottom floor, so that host/ depends
// on this module and this module on nothing of the crate.

/// A command that could not run or did not succeed (host/cmd.rs runs them).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{tool} was not found on PATH; install the {package} package")]
    Missing { tool: String, package: &'static str },

    #[error("could not start `{cmd}`")]
    Spawn {
        cmd: String,
        #[source]
        source: std::io::Error,
    },

    #[error("`{cmd}` {status}{}", tail(.stderr))]
    Failed {
        cmd: String,
        status: String,
        code: Option<i32>,
        stderr: String,
    },

    #[error("`{cmd}` did not finish within {secs} s and was stopped")]
    Timeout { cmd: String, secs: u64 },

    #[error("could not parse the output of `{cmd}`")]
    Parse {
        cmd: String,
        #[source]
        source: serde_json::Error,
    },
}

fn tail(stderr: &str) -> String {
    let s = stderr.trim();
    if s.is_empty() {
        String::new()
    } else {
        format!(": {}", s.replace('\n', " / "))
    }
}

/// The local Engine API could not be used (host/engine_api.rs).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(
        "cannot reach the docker engine at {}; is docker running? (systemctl start docker)",
        socket.display()
    )]
    Connect {
        socket: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("docker engine at {}: {request}", socket.display())]
    Io {
        socket: PathBuf,
        request: String,
        #[source]
        source: std::io::Error,
    },

    #[error("docker engine: {request}: HTTP {status}: {message}")]
    Status {
        request: String,
        status: u16,
        message: String,
    },

    #[error("docker engine: {request}: {what}")]
    Protocol { request: String, what: String },
}

/// Why a join did not happen, as facts. The swarm step words them for the person reading (what
/// to check, which profile key); host code knows nothing of the profile.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error(
        "the token from manager {manager} is for a cluster whose root CA is sha256:{got}, not the \
         pinned sha256:{pinned}"
    )]
    CaMismatch {
        manager: String,
        got: String,
        pinned: String,
    },
    #[error("manager {manager} refused the join: {message}")]
    TokenRejected { manager: String, message: String },
    #[error("what came from {from} is not a join token: {why}")]
    NotAToken { from: String, why: &'static str },
    #[error(
        "manager {manager} could not be authenticated (or did not accept us): `{cmd}`: {stderr}"
    )]
    NotAuthenticated {
        manager: String,
        cmd: String,
        stderr: String,
    },
    #[error("the token file {path} {why}")]
    TokenFile { path: String, why: String },
    #[error("could not join within {seconds} s: no manager of {managers} took the join: {seen}")]
    NoManager {
        seconds: u64,
        managers: String,
        /// What each manager did ([`crate::host::managers::Tries::summary`]).
        seen: String,
        /// What to look at.
        advice: &'static str,
    },
    #[error(
        "could not join within {seconds} s: dockerd took the join, and it was still pending at \
         the deadline (the managers of {managers} slow to admit this node, or this host's \
         engine slow); before it: {seen}"
    )]
    StillPending {
        seconds: u64,
        managers: String,
        /// What each manager did ([`crate::host::managers::Tries::summary`]).
        seen: String,
        /// What to look at.
        advice: &'static str,
    },
    #[error(
        "{name} (node {node_id}) is still {state} after {seconds} s{}: it is a member of its swarm \
         but does not reach its managers ({managers})",
        if error.is_empty() { String::new() } else { format!(" ({error})") }
    )]
    MemberAway {
        name: String,
        node_id: String,
        state: String,
        seconds: u64,
        error: String,
        managers: String,
    },
}

/// Exit codes of the contract.
pub mod exit {
    pub const OK: i32 = 0;
    pub const FAILURE: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const REFUSED: i32 = 65;
    pub const UNAVAILABLE: i32 = 69;
    pub const TEMPORARY: i32 = 75;
}

/// Why swarmnode will not go on, as data: what it refused, every reason it found, and the way
/// out. Nothing was changed when one is returned. Rendered in one place ([`std::fmt::Display`]):
///
/// ```text
/// STEP: refusing SUBJECT:
///   - REASON
///   - REASON
/// nothing was changed. REMEDY
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    /// The step or command that refused (`storage`, `engine`, `swarm`, `mounts`, `apply`, ...).
    pub step: String,
    /// What was refused: a device, a file, a manager, the profile.
    pub subject: String,
    pub reasons: Vec<String>,
    /// What to do about it; may be empty.
    pub remedy: String,
}

impl Refusal {
    pub fn new(step: &str, subject: impl Into<String>, reason: impl Into<String>) -> Refusal {
        Refusal {
            step: step.to_string(),
            subject: subject.into(),
            reasons: vec![reason.into()],
            remedy: String::new(),
        }
    }

    /// Every reason at once.
    pub fn all(step: &str, subject: impl Into<String>, reasons: Vec<String>) -> Refusal {
        Refusal {
            step: step.to_string(),
            subject: subject.into(),
            reasons,
            remedy: String::new(),
        }
    }

    pub fn remedy(mut self, remedy: impl Into<String>) -> Refusal {
        self.remedy = remedy.into();
        self
    }

    /// One of swarmnode's own records (data it wrote under /var/lib/swarmnode, read back from
    /// disk) holds what swarmnode never writes: the record, the line (counted from 1) and what
    /// it says, why it is refused, and what to do.
    pub fn record(
        step: &str,
        record: &str,
        line: Option<usize>,
        text: &str,
        why: impl Into<String>,
    ) -> Refusal {
        let shown: String = text
            .chars()
            .take(120)
            .flat_map(char::escape_debug)
            .collect();
        Refusal::new(
            step,
            match line {
                Some(n) => format!("{record}, line {n} (\"{shown}\")"),
                None => format!("{record} (\"{shown}\")"),
            },
            why,
        )
        .remedy(format!(
            "swarmnode reads its records as data, and this is not what it writes there. Look at \
             {record} and at who changed it; if nothing of swarmnode's is at what it names, remove \
             that line (or the file), then run again"
        ))
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: refusing {}:", self.step, self.subject)?;
        for r in &self.reasons {
            write!(f, "\n  - {r}")?;
        }
        f.write_str("\nnothing was changed.")?;
        if !self.remedy.is_empty() {
            write!(f, " {}", self.remedy)?;
        }
        Ok(())
    }
}

impl From<JoinError> for Error {
    fn from(j: JoinError) -> Error {
        Error::Join(Box::new(j))
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Error {
        Error::Refused(Box::new(r))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Unsafe or invalid input (device, profile, token); nothing was changed.
    #[error("{0}")]
    Refused(Box<Refusal>),

    /// The profile could not be read or is invalid; `key` is a JSON path such as `storage.thinpool.chunk_size`.
    #[error("profile {}: {key}: {msg}", path.display())]
    Profile {
        path: PathBuf,
        key: String,
        msg: String,
    },

    /// Another run holds the single-instance lock.
    #[error("another swarmnode run (pid {pid}) holds {}; retry when it has finished", path.display())]
    Locked { path: PathBuf, pid: String },

    /// Try again later: a remote that should answer does not (an NFS server).
    #[error("{0}")]
    Temporary(String),

    /// A required remote (a swarm manager) did not answer in time.
    #[error("{0}")]
    Unavailable(String),

    #[error(transparent)]
    Command(#[from] CommandError),

    #[error(transparent)]
    Engine(#[from] ApiError),

    /// A join that did not happen, as facts (the swarm step words it for the user).
    #[error(transparent)]
    Join(Box<JoinError>),

    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// A step ran all its actions but the host is still not in the wanted state.
    #[error("{0}")]
    Failed(String),

    /// SIGTERM or SIGINT: the running command was allowed to finish, nothing after it was done.
    #[error(
        "interrupted by {signal} {during}; nothing after that was done; run swarmnode again to finish (every step picks up where this run stopped)"
    )]
    Interrupted { signal: String, during: String },
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Refused(_) | Error::Profile { .. } => exit::REFUSED,
            Error::Locked { .. } | Error::Temporary(_) => exit::TEMPORARY,
            Error::Unavailable(_) => exit::UNAVAILABLE,
            Error::Join(j) => match **j {
                JoinError::NoManager { .. }
                | JoinError::StillPending { .. }
                | JoinError::MemberAway { .. } => exit::UNAVAILABLE,
                _ => exit::REFUSED,
            },
            Error::Command(_)
            | Error::Engine(_)
            | Error::Io { .. }
            | Error::Failed(_)
            | Error::Interrupted { .. } => exit::FAILURE,
        }
    }

    /// Short word for reports: refused, temporary, failed.
    pub fn kind(&self) -> &'static str {
        match self.exit_code() {
            exit::REFUSED => "refused",
            exit::TEMPORARY => "temporary",
            exit::UNAVAILABLE => "unavailable",
            _ if matches!(self, Error::Interrupted { .. }) => "interrupted",
            _ => "failed",
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// The error with its causes, one line: `a: b: c`.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        out.push_str(": ");
        out.push_str(&e.to_string());
        cur = e.source();
    }
    out
}
