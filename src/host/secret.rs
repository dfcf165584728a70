//! Secrets in memory: buffers zeroed when dropped, the process non-dumpable while it holds one,
//! and token-shaped text scrubbed from anything that came from an engine or a manager before it
//! is logged, printed or reported.

use std::borrow::Cow;

/// Bytes that are zeroed when dropped. Filled only up to a capacity fixed at creation, so the
/// buffer never moves (a reallocation would leave a copy behind).
pub struct Secret {
    buf: Vec<u8>,
    max: usize,
}

impl Secret {
    /// Reads at most `max` bytes from `r` into a buffer that never reallocates.
    pub fn read_from(mut r: impl std::io::Read, max: usize) -> std::io::Result<Secret> {
        let mut s = Secret::with_room(max);
        let mut chunk = [0u8; 256];
        let read = loop {
            match r.read(&mut chunk) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    if let Err(e) = s.push(&chunk[..n]) {
                        break Err(e);
                    }
                }
                Err(e) => break Err(e),
            }
        };
        chunk.fill(0);
        read.map(|()| s)
    }

    /// An empty secret that holds at most `max` bytes without ever moving.
    pub fn with_room(max: usize) -> Secret {
        Secret {
            buf: Vec::with_capacity(max),
            max,
        }
    }

    /// Appends `bytes`; more than the room it was made with is an error (and nothing of them
    /// is kept past the room).
    pub fn push(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let room = self.max - self.buf.len();
        self.buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if bytes.len() > room {
            return Err(std::io::Error::other(format!(
                "more than {} bytes: not a join token",
                self.max
            )));
        }
        Ok(())
    }

    pub fn expose(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.buf.fill(0);
        // The spare capacity may hold bytes of a partial read too.
        let spare = self.buf.spare_capacity_mut();
        for b in spare {
            b.write(0);
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// While alive, the process is not dumpable: no core file, and no ptrace or /proc/PID/mem access
/// by the same unprivileged user. Restores the previous setting when dropped.
pub struct NonDumpable {
    was: bool,
}

impl NonDumpable {
    pub fn new() -> NonDumpable {
        let was = nix::sys::prctl::get_dumpable().unwrap_or(true);
        if let Err(e) = nix::sys::prctl::set_dumpable(false) {
            tracing::warn!("cannot make the process non-dumpable while it holds a token: {e}");
        }
        NonDumpable { was }
    }
}

impl Default for NonDumpable {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for NonDumpable {
    fn drop(&mut self) {
        if self.was {
            let _ = nix::sys::prctl::set_dumpable(true);
        }
    }
}

/// stderr for the log: every event the log writes is scrubbed of token-shaped text first (the
/// log writes each event in one call).
pub struct ScrubbedStderr;

impl std::io::Write for ScrubbedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(scrub(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// `text` with every `SWMTKN-...` replaced by `SWMTKN-<redacted>`. Applied to everything an engine
/// or a manager said before it is logged, printed or reported.
pub fn scrub(text: &str) -> Cow<'_, str> {
    const MARK: &str = "SWMTKN-";
    if !text.contains(MARK) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(MARK) {
        out.push_str(&rest[..i]);
        out.push_str("SWMTKN-<redacted>");
        let after = &rest[i + MARK.len()..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_scrubbed_wherever_they_are() {
        let t =
            "SWMTKN-1-0ntb7o7jfldybt5d7v2mgz72ey7iuk4u66b360u4icoonygl53-0123456789abcdefghijklmno";
        assert_eq!(
            scrub(&format!("bad token {t}: rejected; again {t}.")),
            "bad token SWMTKN-<redacted>: rejected; again SWMTKN-<redacted>."
        );
        assert_eq!(scrub("nothing here"), "nothing here");
        assert_eq!(scrub("SWMTKN-"), "SWMTKN-<redacted>");
    }

    #[test]
    fn a_secret_is_bounded_and_the_process_is_not_dumpable_while_guarded() {
        let s = Secret::read_from(&b"abc"[..], 8).unwrap();
        assert_eq!(s.expose(), b"abc");
        assert!(Secret::read_from(&[1u8; 9][..], 8).is_err());
        assert!(nix::sys::prctl::get_dumpable().unwrap());
        {
            let _g = NonDumpable::new();
            assert!(!nix::sys::prctl::get_dumpable().unwrap());
        }
        assert!(nix::sys::prctl::get_dumpable().unwrap());
    }

    proptest::proptest! {
        #[test]
        fn scrubbed_text_has_no_token_left(a in "\\PC{0,40}", b in "[A-Za-z0-9-]{0,90}", c in "\\PC{0,40}") {
            let t = format!("{a}SWMTKN-{b}{c}");
            let s = scrub(&t);
            for (i, _) in s.match_indices("SWMTKN-") {
                proptest::prop_assert!(s[i..].starts_with("SWMTKN-<redacted>"), "{}", s);
            }
        }
    }
}
