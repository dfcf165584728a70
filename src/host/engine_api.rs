//! The local Docker DockerApi API on its unix socket: a small HTTP/1.1 client, one request per
//! connection. Request bodies can carry a join token: they are never logged, only method and path.

pub use crate::error::ApiError;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The largest answer read from the engine (`GET /info` is a few KiB).
pub const MAX_ANSWER: usize = 16 << 20;

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The engine's answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    /// The engine's error message (`{"message": "..."}`), or the body as text.
    pub fn message(&self) -> String {
        #[derive(Deserialize)]
        struct Msg {
            message: String,
        }
        let text = match serde_json::from_slice::<Msg>(&self.body) {
            Ok(m) => m.message,
            Err(_) => String::from_utf8_lossy(&self.body).trim().to_string(),
        };
        crate::host::secret::scrub(&text).into_owned()
    }
}

/// A client for the engine at `socket`.
#[derive(Debug, Clone)]
pub struct DockerApi {
    socket: PathBuf,
}

impl DockerApi {
    pub fn at(socket: &Path) -> DockerApi {
        DockerApi {
            socket: socket.to_path_buf(),
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Sends one request and reads the whole answer. `timeout` bounds the whole exchange, however
    /// slowly the engine answers, and the answer may be at most [`MAX_ANSWER`] bytes.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Response, ApiError> {
        let request = format!("{method} {path}");
        tracing::debug!(%request, socket = %self.socket.display(), "engine api");
        let deadline = Instant::now() + timeout;
        let mut s = connect(&self.socket, deadline).map_err(|source| ApiError::Connect {
            socket: self.socket.clone(),
            source,
        })?;
        let io = |source| ApiError::Io {
            socket: self.socket.clone(),
            request: request.clone(),
            source,
        };
        let left = || {
            deadline
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
                .ok_or_else(|| ApiError::Protocol {
                    request: request.clone(),
                    what: format!("no whole answer within {} s", timeout.as_secs()),
                })
        };
        s.set_write_timeout(Some(left()?)).map_err(io)?;
        let body = body.unwrap_or_default();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: swarmnode/{}\r\nConnection: close\r\n",
            env!("CARGO_PKG_VERSION")
        );
        if method != "GET" {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        // The body (it may hold a token) is written from the caller's buffer, never copied.
        s.write_all(head.as_bytes())
            .and_then(|_| s.write_all(body))
            .map_err(io)?;
        let raw = read_capped(&mut s, &left).map_err(|e| match e {
            ReadError::Io(e) => io(e),
            ReadError::Late(e) => e,
            ReadError::TooLarge => ApiError::Protocol {
                request: request.clone(),
                what: format!("the answer is larger than {} MiB", MAX_ANSWER >> 20),
            },
        })?;
        parse_response(&raw).map_err(|what| ApiError::Protocol {
            request: request.clone(),
            what,
        })
    }

    /// GET and parse JSON; a status other than 200 is an error with the engine's message.
    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        self.get_json_within(path, Duration::from_secs(30))
    }

    /// [`DockerApi::get_json`] with the whole exchange bounded by `timeout`.
    pub fn get_json_within<T: DeserializeOwned>(
        &self,
        path: &str,
        timeout: Duration,
    ) -> Result<T, ApiError> {
        let r = self.request("GET", path, None, timeout)?;
        let request = format!("GET {path}");
        if r.status != 200 {
            return Err(ApiError::Status {
                request,
                status: r.status,
                message: r.message(),
            });
        }
        serde_json::from_slice(&r.body).map_err(|e| ApiError::Protocol {
            request,
            what: format!("unexpected JSON: {e}"),
        })
    }
}

/// Connects without blocking past `deadline` (a unix socket whose listen backlog is full makes
/// a plain connect wait for ever).
fn connect(socket: &Path, deadline: Instant) -> std::io::Result<UnixStream> {
    use nix::errno::Errno;
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr};
    use std::os::fd::AsRawFd;
    let fd = nix::sys::socket::socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    let addr = UnixAddr::new(socket)?;
    loop {
        match nix::sys::socket::connect(fd.as_raw_fd(), &addr) {
            Ok(()) | Err(Errno::EINPROGRESS) => break,
            Err(Errno::EAGAIN) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(Errno::EAGAIN) => {
                return Err(std::io::Error::new(
                    ErrorKind::TimedOut,
                    "the engine accepts no connection (its queue is full)",
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let s = UnixStream::from(fd);
    s.set_nonblocking(false)?;
    Ok(s)
}

enum ReadError {
    Io(std::io::Error),
    /// Out of time (the deadline's own error).
    Late(ApiError),
    TooLarge,
}

/// Reads the whole answer, each read bounded by what is `left` of the request's deadline, and at
/// most [`MAX_ANSWER`] bytes.
fn read_capped(
    s: &mut UnixStream,
    left: &dyn Fn() -> Result<Duration, ApiError>,
) -> Result<Vec<u8>, ReadError> {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let limit = left().map_err(ReadError::Late)?;
        s.set_read_timeout(Some(limit)).map_err(ReadError::Io)?;
        let n = match s.read(&mut chunk) {
            Ok(0) => return Ok(raw),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(e)),
        };
        if raw.len() + n > MAX_ANSWER {
            return Err(ReadError::TooLarge);
        }
        raw.extend_from_slice(&chunk[..n]);
    }
}

/// Splits an HTTP/1.1 response into status and body (Content-Length, chunked, or to the end).
pub fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the answer has no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut chunked = false;
    let mut length = None;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                chunked = true;
            } else if k == "content-length" {
                length = v.parse::<usize>().ok();
            }
        }
    }
    let rest = &raw[end + 4..];
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(n) = length {
        rest.get(..n)
            .ok_or("the answer is shorter than its length")?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Response { status, body })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk has no size line")?;
        let size_text = String::from_utf8_lossy(&rest[..eol]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(rest.get(..size).ok_or("a chunk is cut short")?);
        rest = rest.get(size + 2..).ok_or("a chunk is cut short")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_and_error_message() {
        let raw = b"HTTP/1.1 500 Internal Server Error\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\nContent-Length: 33\r\n\r\n{\"message\":\"invalid join token\"}\n";
        let r = parse_response(raw).unwrap();
        assert_eq!(r.status, 500);
        assert_eq!(r.message(), "invalid join token");
    }

    #[test]
    fn chunked_body_is_joined() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n3;x=y\r\n 1}\r\n0\r\n\r\n";
        let r = parse_response(raw).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"{\"a\": 1}");
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nab")
                .is_err()
        );
        assert!(parse_response(b"garbage").is_err());
    }

    proptest::proptest! {
        #[test]
        fn no_answer_makes_the_http_parser_panic(raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            if let Ok(r) = parse_response(&raw) {
                let _ = r.message();
            }
        }

        #[test]
        fn no_chunked_answer_makes_the_http_parser_panic(
            sizes in proptest::collection::vec("[0-9a-fA-F]{1,20}(;[a-z=]{0,5})?", 0..5),
            body in "\\PC{0,40}",
        ) {
            let mut raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            for s in &sizes {
                raw.extend_from_slice(format!("{s}\r\n{body}\r\n").as_bytes());
            }
            let _ = parse_response(&raw);
        }
    }

    /// An engine on a socket in a temporary directory that answers with `serve`.
    fn engine(serve: impl FnOnce(UnixStream) + Send + 'static) -> (tempfile::TempDir, DockerApi) {
        let t = tempfile::tempdir().unwrap();
        let sock = t.path().join("docker.sock");
        let l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        std::thread::spawn(move || {
            if let Ok((c, _)) = l.accept() {
                serve(c)
            }
        });
        (t, DockerApi::at(&sock))
    }

    #[test]
    fn a_slow_engine_is_cut_off_at_the_deadline() {
        let (_t, e) = engine(|mut c| {
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\n");
            for _ in 0..100 {
                std::thread::sleep(Duration::from_millis(100));
                if c.write_all(b"X").is_err() {
                    return;
                }
            }
        });
        let t = Instant::now();
        let err = e
            .request("GET", "/info", None, Duration::from_millis(800))
            .unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        assert!(err.to_string().contains("no whole answer within"), "{err}");
    }

    #[test]
    fn an_engine_that_accepts_nothing_is_cut_off_at_the_deadline() {
        use nix::sys::socket::{AddressFamily, Backlog, SockFlag, SockType, UnixAddr};
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("docker.sock");
        let fd = nix::sys::socket::socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::empty(),
            None,
        )
        .unwrap();
        nix::sys::socket::bind(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            &UnixAddr::new(&path).unwrap(),
        )
        .unwrap();
        nix::sys::socket::listen(&fd, Backlog::new(0).unwrap()).unwrap();
        // Fill the queue: nobody ever accepts.
        let _held: Vec<_> = (0..4)
            .filter_map(|_| {
                let c = nix::sys::socket::socket(
                    AddressFamily::Unix,
                    SockType::Stream,
                    SockFlag::SOCK_NONBLOCK,
                    None,
                )
                .ok()?;
                nix::sys::socket::connect(
                    std::os::fd::AsRawFd::as_raw_fd(&c),
                    &UnixAddr::new(&path).unwrap(),
                )
                .ok()?;
                Some(c)
            })
            .collect();
        let start = Instant::now();
        let err = DockerApi::at(&path)
            .request("GET", "/info", None, Duration::from_millis(700))
            .unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        assert!(
            err.to_string().contains("cannot reach the docker engine"),
            "{err}"
        );
    }

    #[test]
    fn an_endless_answer_is_cut_off_at_the_cap() {
        let (_t, e) = engine(|mut c| {
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\n\r\n");
            let junk = vec![b'x'; 1 << 16];
            while c.write_all(&junk).is_ok() {}
        });
        let err = e
            .request("GET", "/info", None, Duration::from_secs(20))
            .unwrap_err();
        assert!(err.to_string().contains("larger than 16 MiB"), "{err}");
    }

    #[test]
    fn no_socket_says_docker_is_not_running() {
        let e = DockerApi::at(Path::new("/nonexistent/docker.sock"))
            .request("GET", "/info", None, Duration::from_secs(1))
            .unwrap_err();
        assert!(e.to_string().contains("is docker running"), "{e}");
    }
}
