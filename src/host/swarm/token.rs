//! Join tokens: the token checked and never shown (zeroed when dropped), the CA digest it carries,
//! where a join gets it from, and the root-only token file.

use std::fmt;

use serde::Serialize;

use crate::error::{Error, JoinError, Result};
use crate::host::cmd::Cmd;
use crate::host::fs;
use crate::vocab::{DIGEST_LEN, base36_to_hex};

use super::SwarmHost;

/// `SWMTKN-1-<digest of the cluster root CA, base36, 50>-<secret, base36, 25>`.
const SECRET_LEN: usize = 25;

/// A join token and the CA digest it carries (as 64 hex digits, converted once, when parsed).
/// Debug and Display never show it; the memory is zeroed when dropped.
pub struct Token(String, String);

impl Token {
    /// Checks the form; the error never repeats the text (it may be a token with a typo).
    pub fn parse(text: &str) -> std::result::Result<Token, &'static str> {
        let t = text.trim();
        let parts: Vec<&str> = t.split('-').collect();
        let b36 = |s: &str| {
            s.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
        };
        match parts.as_slice() {
            ["SWMTKN", "1", digest, secret]
                if digest.len() == DIGEST_LEN
                    && secret.len() == SECRET_LEN
                    && b36(digest)
                    && b36(secret) =>
            {
                // 50 base-36 digits hold more than 256 bits: what does not fit is no SHA-256.
                let hex = base36_to_hex(digest)
                    .ok_or("its CA digest does not fit in 256 bits, so it is no SHA-256")?;
                Ok(Token(t.to_string(), hex))
            }
            ["SWMTKN", ..] => Err("it is not of the form SWMTKN-1-<50 base36>-<25 base36>"),
            _ => Err("it does not start with SWMTKN-"),
        }
    }

    /// The SHA-256 of the cluster's root CA the token was made for, as 64 hex digits.
    pub fn ca_digest(&self) -> String {
        self.1.clone()
    }

    pub(super) fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        // SAFETY: zero bytes are valid UTF-8.
        unsafe { self.0.as_bytes_mut().fill(0) };
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// How the join gets its token from one manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TokenFrom {
    /// A command that prints the token (ssh to a manager, or the docker CLI against its API).
    Command {
        argv: Vec<String>,
        timeout_seconds: u64,
    },
    /// A root-only file (host path).
    File { path: String },
}

impl fmt::Display for TokenFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenFrom::Command { argv, .. } => write!(f, "`{}`", Cmd { argv: argv.clone() }),
            TokenFrom::File { path } => write!(f, "the file {path}"),
        }
    }
}

/// A token file is small; anything bigger is not one.
pub(super) const TOKEN_FILE_MAX: usize = 4096;

/// Opens the token file once, without following a symlink, and checks what was opened (on the
/// descriptor, so nothing can be swapped in between): a regular file owned by root (or by the
/// user running swarmnode), with no group or other bits, in a directory that neither group nor
/// others can write to (they could replace the file).
pub fn open_token_file(host: &SwarmHost, path: &str) -> Result<std::fs::File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let p = fs::in_root(host.root, path, false)
        .map_err(|e| Error::io(format!("swarm: cannot resolve {path}"), e))?;
    let refuse = |why: String| {
        Error::from(JoinError::TokenFile {
            path: path.to_string(),
            why,
        })
    };
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NOCTTY | nix::libc::O_NONBLOCK)
        .open(&p)
        .map_err(|e| match e.raw_os_error() {
            Some(nix::libc::ELOOP) => refuse("is a symbolic link".into()),
            _ => refuse(format!("cannot be opened ({}): {e}", p.display())),
        })?;
    let m = f
        .metadata()
        .map_err(|e| refuse(format!("cannot be examined: {e}")))?;
    let euid = nix::unistd::geteuid().as_raw();
    if !m.is_file() {
        return Err(refuse("is not a regular file".into()));
    }
    if m.mode() & 0o077 != 0 || (m.uid() != 0 && m.uid() != euid) {
        return Err(refuse(format!(
            "is mode {:04o}, owner uid {}",
            m.mode() & 0o7777,
            m.uid()
        )));
    }
    let dir = p.parent().unwrap_or(std::path::Path::new("/"));
    let d = std::fs::metadata(dir).map_err(|e| {
        refuse(format!(
            "is in {}, which cannot be examined: {e}",
            dir.display()
        ))
    })?;
    if d.mode() & 0o022 != 0 || (d.uid() != 0 && d.uid() != euid) {
        return Err(refuse(format!(
            "is in a directory of mode {:04o}, owner uid {}, that others can write to",
            d.mode() & 0o7777,
            d.uid()
        )));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real token's shape (digest from the fixture cluster, secret made up).
    const DIGEST: &str = "0ntb7o7jfldybt5d7v2mgz72ey7iuk4u66b360u4icoonygl53";
    const HEX: &str = "1a8a7ed77f4bdab0f7b86582233d699759f5701b4ece3099f5f7420ac06b6d07";

    fn token() -> String {
        format!("SWMTKN-1-{DIGEST}-0123456789abcdefghijklmno")
    }

    #[test]
    fn token_form_is_checked() {
        let t = Token::parse(&format!("{}\n", token())).unwrap();
        assert_eq!(t.ca_digest(), HEX);
        for bad in [
            "",
            "SWMTKN-1-bad",
            &token().replace("SWMTKN-1", "SWMTKN-2"),
            &token().to_uppercase(),
            &format!("{}x", token()),
            &token().replacen('-', " ", 3),
        ] {
            assert!(Token::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn token_never_shows() {
        let t = Token::parse(&token()).unwrap();
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        let e = Token::parse(&token().replace('o', "O")).unwrap_err();
        assert!(!e.contains("0ntb7"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_token_parser_panic(
            t in "\\PC{0,120}",
            digest in "[0-9a-zA-Z]{45,55}",
            // The token's own alphabet and lengths: about half of these overflow 256 bits.
            full in "[0-9a-z]{50}",
            secret in "[0-9a-z]{20,30}",
        ) {
            let _ = Token::parse(&t);
            let _ = crate::vocab::ca_pin_hex(&t);
            let _ = crate::vocab::ca_pin_hex(&digest);
            for d in [&digest, &full] {
                if let Ok(tok) = Token::parse(&format!("SWMTKN-1-{d}-{secret}")) {
                    assert_eq!(tok.ca_digest().len(), 64);
                    assert_eq!(Some(tok.ca_digest()), crate::vocab::ca_pin_hex(d));
                }
            }
        }
    }
}
