//! The system log (`/dev/log` under the root: the journal on a systemd host), one datagram a
//! line, each send bounded: a journald that does not read makes the send give up instead of
//! hanging the caller.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Duration;

/// A connected log socket.
pub struct Syslog(UnixDatagram);

impl Syslog {
    /// Connects to ROOT/dev/log; each send waits at most `send_limit`.
    pub fn open(root: &Path, send_limit: Duration) -> std::io::Result<Syslog> {
        let sock = crate::host::fs::under(root, "/dev/log");
        let s = UnixDatagram::unbound()?;
        s.connect(&sock)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", sock.display())))?;
        s.set_write_timeout(Some(send_limit))?;
        Ok(Syslog(s))
    }

    /// One line, as given (its `<PRI>` in front).
    pub fn send(&self, line: &str) -> std::io::Result<()> {
        self.0.send(line.as_bytes()).map(|_| ())
    }
}
