//! Where the check goes besides stdout: xymond over TCP, and node_exporter's textfile.

use std::time::Duration;

use crate::error::{Error, Refusal, Result};
use crate::host::Host;
use crate::profile::ServerAddr;

/// How long xymond may take to accept and read the message.
const XYMON_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends one message to xymond as the `xymon` client does: connect, write, shut down the write
/// side (xymond reads to the end), read what it answers (nothing for a status) until it closes.
pub fn xymon(addr: &ServerAddr, msg: &str) -> Result<()> {
    let unavailable = |why: String| {
        Error::Unavailable(format!(
            "check: the status was not delivered to Xymon at {}:{}: {why}; is xymond running \
             there, and is this node allowed to reach that port?",
            addr.host, addr.port
        ))
    };
    crate::host::net::send_and_drain(&addr.host, addr.port, msg.as_bytes(), XYMON_TIMEOUT)
        .map_err(unavailable)
}

/// The textfile's path is one root can trust: every directory on the way is root's and no one
/// else can write in it (OpenSSH's StrictModes rule), so a symlink placed by another user can
/// never send root's write elsewhere. Refused (65) with the directory named, before anything.
pub fn trust_textfile(h: &Host, path: &str) -> Result<()> {
    let bad = crate::host::fs::untrusted_dir(h.root(), path).map_err(|e| {
        Error::io(
            format!("check: cannot examine the way to the textfile {path}"),
            e,
        )
    })?;
    let Some((dir, why)) = bad else {
        return Ok(());
    };
    Err(Refusal::new(
        "check",
        format!("the textfile {path}"),
        format!(
            "{dir} is on its way, and {why}: another user could make root's write go elsewhere"
        ),
    )
    .remedy(
        "keep the textfile in a directory that root owns and only root can write, on a path of \
         such directories (e.g. `install -d -m 0755 /var/lib/node_exporter/textfile` and \
         node_exporter's --collector.textfile.directory there)",
    )
    .into())
}

/// Writes the textfile atomically (a temporary file in the same directory, then a rename), so
/// node_exporter never reads half of it; readable by all (node_exporter runs as its own user).
pub fn textfile(h: &Host, path: &str, content: &str) -> Result<()> {
    // A symlink planted at PATH is replaced, never followed (the timer runs as root).
    let p = h.path_nofollow(path)?;
    // Undelivered, as an unreachable Xymon is: 69, which the check unit counts as its failure
    // (1 and 2 are yellow and red, the check's answers, not the unit's).
    crate::host::fs::replace(&p, content.as_bytes(), 0o644).map_err(|e| {
        Error::Unavailable(format!(
            "check: cannot write the textfile {}: {e}",
            p.display()
        ))
    })
}
