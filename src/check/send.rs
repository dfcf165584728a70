//! Where the check goes besides stdout: xymond over TCP, and node_exporter's textfile.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::error::{Error, Result};
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
             there, and is {0} allowed to reach port {1}?",
            addr.host, addr.port
        ))
    };
    let targets: Vec<_> = (addr.host.as_str(), addr.port)
        .to_socket_addrs()
        .map_err(|e| unavailable(format!("cannot resolve {}: {e}", addr.host)))?
        .collect();
    let mut last = String::from("no address");
    for t in targets {
        match TcpStream::connect_timeout(&t, XYMON_TIMEOUT) {
            Ok(mut s) => {
                let sent = s
                    .set_write_timeout(Some(XYMON_TIMEOUT))
                    .and_then(|_| s.set_read_timeout(Some(XYMON_TIMEOUT)))
                    .and_then(|_| s.write_all(msg.as_bytes()))
                    .and_then(|_| s.shutdown(Shutdown::Write))
                    .and_then(|_| {
                        let mut answer = Vec::new();
                        s.take(1 << 20).read_to_end(&mut answer).map(|_| ())
                    });
                return sent.map_err(|e| unavailable(format!("{t}: {e}")));
            }
            Err(e) => last = format!("{t}: {e}"),
        }
    }
    Err(unavailable(last))
}

/// Writes the textfile atomically (a temporary file in the same directory, then a rename), so
/// node_exporter never reads half of it; readable by all (node_exporter runs as its own user).
pub fn textfile(h: &Host, path: &str, content: &str) -> Result<()> {
    let p = h.path(path)?;
    crate::host::fs::replace(&p, content.as_bytes(), 0o644).map_err(|e| {
        Error::io(
            format!("check: cannot write the textfile {}", p.display()),
            e,
        )
    })
}
