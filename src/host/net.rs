//! The network, as swarmnode touches it (loopback or the managers and monitors it is given):
//! which local address the kernel picks toward a manager, whether any of some addresses accepts
//! a connection, and one message to a TCP service with a reply read to its end. Every wait has a
//! deadline; name resolution, which has none of its own, runs in a thread left behind at it.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

/// The source address the kernel picks toward `host:port` (a UDP connect sends nothing).
pub fn local_addr_toward(host: &str, port: u16) -> std::io::Result<String> {
    let s = UdpSocket::bind(if host.contains(':') {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    })?;
    s.connect((host, port))?;
    Ok(s.local_addr()?.ip().to_string())
}

/// Whether an IP address is one of this host's own (a socket can be bound to it; nothing is sent).
pub fn is_local(ip: &str) -> bool {
    ip.parse::<std::net::IpAddr>()
        .is_ok_and(|a| UdpSocket::bind(SocketAddr::new(a, 0)).is_ok())
}

/// What became of asking several addresses at once.
#[derive(Debug, PartialEq, Eq)]
pub enum Reached {
    /// This one accepted a connection first.
    One(String),
    /// Every one refused or could not be reached.
    None,
    /// None answered within the time.
    NotInTime,
}

/// Tries every `HOST:PORT` at once, each in a thread of its own (name resolution has no
/// timeout): the first that accepts a TCP connection wins; the threads still waiting are left
/// behind at `limit`.
pub fn first_accepting(addrs: &[String], limit: Duration) -> Reached {
    let (tx, rx) = std::sync::mpsc::channel();
    for a in addrs {
        let (tx, a) = (tx.clone(), a.clone());
        std::thread::spawn(move || {
            let ok = a
                .to_socket_addrs()
                .ok()
                .into_iter()
                .flatten()
                .any(|sa| TcpStream::connect_timeout(&sa, limit).is_ok());
            let _ = tx.send(ok.then_some(a));
        });
    }
    drop(tx);
    let deadline = Instant::now() + limit;
    let mut failed = 0;
    while failed < addrs.len() {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Some(a)) => return Reached::One(a),
            Ok(None) => failed += 1,
            Err(_) => return Reached::NotInTime,
        }
    }
    Reached::None
}

/// The addresses of `host:port`, resolved within what is left before `deadline`.
fn resolve(host: &str, port: u16, deadline: Instant) -> Result<Vec<SocketAddr>, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let target = (host.to_string(), port);
    std::thread::spawn(move || {
        let _ = tx.send(target.to_socket_addrs().map(|a| a.collect::<Vec<_>>()));
    });
    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => Err(format!("cannot resolve {host}: {e}")),
        Err(_) => Err(format!("{host} did not resolve in time")),
    }
}

/// Sends `msg` to `host:port` as the `xymon` client does: connect, write, shut down the write
/// side (the server reads to the end), read what it answers (at most 64 KiB) until it closes; all
/// within `limit`, name resolution included. Err: what went wrong, in a few words.
pub fn send_and_drain(host: &str, port: u16, msg: &[u8], limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("no answer within {} s", limit.as_secs()))
    };
    let mut last = String::from("no address");
    for t in resolve(host, port, deadline)? {
        match TcpStream::connect_timeout(&t, left()?) {
            Ok(mut s) => {
                let sent = (|| -> std::io::Result<()> {
                    s.set_write_timeout(Some(left().map_err(std::io::Error::other)?))?;
                    s.write_all(msg)?;
                    s.shutdown(Shutdown::Write)?;
                    let mut buf = [0u8; 4096];
                    let mut got = 0;
                    loop {
                        s.set_read_timeout(Some(left().map_err(std::io::Error::other)?))?;
                        match s.read(&mut buf)? {
                            0 => return Ok(()),
                            n if got + n > 64 << 10 => return Ok(()),
                            n => got += n,
                        }
                    }
                })();
                return sent.map_err(|e| format!("{t}: {e}"));
            }
            Err(e) => last = format!("{t}: {e}"),
        }
    }
    Err(last)
}
