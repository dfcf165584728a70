//! An OpenSSH public key as one line of text (`ssh-ed25519 AAAA... comment`), checked: a known
//! type, base64 that decodes, and a blob that says the same type. Its SHA256 fingerprint is
//! written as `ssh-keygen -l` writes it. Base64 (RFC 4648, with padding) is here too: the
//! Engine API carries a swarm config's data in it.

use sha2::{Digest, Sha256};

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Base64 decoded: padding required to a multiple of four, nothing outside the alphabet, and no
/// bits left over (so each text has one reading).
pub fn unbase64(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    if pad > 2 {
        return None;
    }
    let value = |c: u8| ALPHABET.iter().position(|&a| a == c).map(|v| v as u32);
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (i, q) in b.chunks(4).enumerate() {
        let last = i == b.len() / 4 - 1;
        let here = if last { pad } else { 0 };
        let mut n = 0u32;
        for (j, &c) in q.iter().enumerate() {
            let v = if j >= 4 - here { 0 } else { value(c)? };
            n = (n << 6) | v;
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        // The bits below what the padding keeps must be zero.
        let keep = 3 - here;
        if bytes[keep..].iter().any(|&x| x != 0) {
            return None;
        }
        out.extend_from_slice(&bytes[..keep]);
    }
    Some(out)
}

/// The key types swarmnode takes: ed25519 for the keys it makes and enrols; the host key types
/// a manager's sshd may present.
pub const HOST_KEY_TYPES: [&str; 5] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
];

/// The longest key line read (an RSA host key of 16384 bits is about 2,800 characters).
const MAX_LINE: usize = 4096;

/// A public key: its type and its blob, as the line's first two words say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    kind: String,
    blob: Vec<u8>,
}

impl PublicKey {
    /// `TYPE BASE64 [COMMENT]`: the comment is dropped. The type must be one of `types`, and the
    /// blob must begin with it (as RFC 4253 writes a key: a length, then the type's name).
    pub fn parse(line: &str, types: &[&str]) -> Result<PublicKey, String> {
        let shown = || {
            let s: String = line.chars().take(40).flat_map(char::escape_debug).collect();
            format!("\"{s}\"")
        };
        if line.len() > MAX_LINE {
            return Err(format!("a key line of {} bytes is too long", line.len()));
        }
        let mut words = line.split_ascii_whitespace();
        let (Some(kind), Some(b64)) = (words.next(), words.next()) else {
            return Err(format!("{} is not a public key (TYPE BASE64)", shown()));
        };
        if !types.contains(&kind) {
            return Err(format!(
                "{} is not a key type taken here ({})",
                shown(),
                types.join(", ")
            ));
        }
        let blob = unbase64(b64).ok_or_else(|| format!("{}: the key is not base64", shown()))?;
        let name_len = blob
            .get(..4)
            .map(|l| u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize);
        if name_len != Some(kind.len()) || blob.get(4..4 + kind.len()) != Some(kind.as_bytes()) {
            return Err(format!("{}: the key's data is not a {kind} key", shown()));
        }
        if kind == "ssh-ed25519" && blob.len() != 4 + kind.len() + 4 + 32 {
            return Err(format!("{}: an ed25519 key is 32 bytes", shown()));
        }
        Ok(PublicKey {
            kind: kind.to_string(),
            blob,
        })
    }

    /// An ed25519 key (the only type swarmnode makes and enrols).
    pub fn ed25519(line: &str) -> Result<PublicKey, String> {
        PublicKey::parse(line, &["ssh-ed25519"])
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// `TYPE BASE64`, as authorized_keys and known_hosts take it.
    pub fn text(&self) -> String {
        format!("{} {}", self.kind, base64(&self.blob))
    }

    /// `SHA256:...`, as `ssh-keygen -l` and sshd's log write it.
    pub fn fingerprint(&self) -> String {
        let d = Sha256::digest(&self.blob);
        format!("SHA256:{}", base64(&d).trim_end_matches('='))
    }
}

/// A fingerprint as [`PublicKey::fingerprint`] writes it: `SHA256:` and 43 characters of
/// unpadded base64.
pub fn fingerprint_ok(s: &str) -> bool {
    s.strip_prefix("SHA256:").is_some_and(|b| {
        b.len() == 43
            && b.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // `ssh-keygen -t ed25519` made this key; `ssh-keygen -lf` printed its fingerprint.
    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHP4NVXQOzetSTmtlHWvak0XNxsW7bROPPkR4m3kISSq node";

    #[test]
    fn base64_as_rfc_4648_writes_it() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
            assert_eq!(unbase64(coded).as_deref(), Some(plain.as_bytes()));
        }
        for bad in ["Zg", "Zg=", "Z===", "Zh==", "Zm9v!", "====", "Zm=v"] {
            assert_eq!(unbase64(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_key_its_text_and_its_fingerprint() {
        let k = PublicKey::ed25519(KEY).unwrap();
        assert_eq!(k.kind(), "ssh-ed25519");
        assert_eq!(
            k.text(),
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHP4NVXQOzetSTmtlHWvak0XNxsW7bROPPkR4m3kISSq"
        );
        assert_eq!(
            k.fingerprint(),
            "SHA256:Acefeicbs8z1jf3noyp6Au4sL7eUBPGPfkvZDe0U/gs"
        );
        assert!(fingerprint_ok(&k.fingerprint()));
        // Another type's name over an ed25519 blob, a short blob, rubbish: refused.
        for bad in [
            "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIHP4NVXQOzetSTmtlHWvak0XNxsW7bROPPkR4m3kISSq",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHP4NVXQOzetSTmtlHWvak0XNxsW7bROPPk=",
            "ssh-ed25519",
            "ssh-ed25519 !!!!",
            "",
        ] {
            assert!(PublicKey::ed25519(bad).is_err(), "{bad}");
        }
        assert!(PublicKey::parse(KEY, &HOST_KEY_TYPES).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn base64_goes_there_and_back(b in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            proptest::prop_assert_eq!(unbase64(&base64(&b)), Some(b));
        }

        #[test]
        fn no_text_makes_the_key_parser_panic(t in "\\PC{0,120}", b in "[A-Za-z0-9+/=]{0,80}") {
            let _ = unbase64(&t);
            let _ = unbase64(&b);
            let _ = PublicKey::parse(&t, &HOST_KEY_TYPES);
            if let Ok(k) = PublicKey::parse(&format!("ssh-ed25519 {b}"), &HOST_KEY_TYPES) {
                proptest::prop_assert!(fingerprint_ok(&k.fingerprint()));
            }
        }
    }
}
