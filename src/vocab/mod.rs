//! Words every part of swarmnode shares, each checked in one place: a swarm node ID, a node's
//! role, a label the broker carries, a swarm CA's digest (base 36 or hex), an LVM volume group
//! name, a normalised absolute path, the storage driver and the names of swarmnode's volumes, the
//! broker's word for a refusal; a network ([`net`]) and an ssh public key ([`sshkey`]). A leaf:
//! it uses nothing of the crate, and everything may use it.

pub mod net;
pub mod sshkey;

pub use net::Network;
pub use sshkey::PublicKey;

use std::fmt;

use serde::{Deserialize, Serialize};

/// A node's role in the swarm: what a join token is for.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    Worker,
    Manager,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Worker => "worker",
            Role::Manager => "manager",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    /// devicemapper below Docker Engine 25, overlay2 from 25 (reads `dockerd --version`).
    #[default]
    Auto,
    /// The direct-lvm thin pool (Docker Engine < 25 only).
    Devicemapper,
    /// An XFS (ftype=1) logical volume mounted at /var/lib/docker.
    Overlay2,
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Driver::Auto => "auto",
            Driver::Devicemapper => "devicemapper",
            Driver::Overlay2 => "overlay2",
        })
    }
}

/// The thin pool swarmnode makes in its volume group (devicemapper).
pub const POOL_LV: &str = "thinpool";
/// The XFS volume swarmnode makes in its volume group (overlay2), mounted at /var/lib/docker.
pub const DATA_LV: &str = "dockerdata";

/// device-mapper's name for an LV: dashes doubled, joined with a dash (`docker-thinpool`).
pub fn dm_name(vg: &str, lv: &str) -> String {
    format!("{}-{}", vg.replace('-', "--"), lv.replace('-', "--"))
}

/// The volume a driver's layout makes in a volume group, as the engine is given it: the pool's
/// device-mapper device, or the XFS volume; None for `auto`, which is decided before.
pub fn volume_of(driver: Driver, vg: &str) -> Option<String> {
    match driver {
        Driver::Overlay2 => Some(format!("/dev/{vg}/{DATA_LV}")),
        Driver::Devicemapper => Some(format!("/dev/mapper/{}", dm_name(vg, POOL_LV))),
        Driver::Auto => None,
    }
}

/// A label key: what Docker's own labels look like (`com.example.rack`, `function`).
pub fn label_key_ok(k: &str) -> bool {
    (1..=64).contains(&k.len())
        && k.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// A label value the broker carries: plain words only (no space, quote or shell character: the
/// broker's request line is split on spaces and nothing is ever expanded).
pub fn label_value_ok(v: &str) -> bool {
    v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-:/@+".contains(&b))
}

/// How the broker begins the line it answers a refused request with, and how a node tells a
/// refusal (permanent: asking another manager does not help) from a manager's trouble.
pub const BROKER_REFUSED: &str = "swarmnode broker: refused: ";

/// The length of a swarm CA digest in base 36 (swarmkit's form, in a join token).
pub const DIGEST_LEN: usize = 50;

/// A 256-bit number written in base 36 (swarmkit's digest form) as 64 hex digits; None for
/// anything else (another alphabet, upper case, more than 256 bits).
pub fn base36_to_hex(s: &str) -> Option<String> {
    let mut n = [0u8; 32]; // big-endian
    for c in s.chars() {
        let d = c.to_digit(36)?;
        if c.is_ascii_uppercase() {
            return None;
        }
        let mut carry = d;
        for byte in n.iter_mut().rev() {
            let v = *byte as u32 * 36 + carry;
            *byte = v as u8;
            carry = v >> 8;
        }
        if carry != 0 {
            return None; // more than 256 bits
        }
    }
    Some(n.iter().map(|b| format!("{b:02x}")).collect())
}

/// A swarm CA pin as 64 lowercase hex digits: `sha256:<64 hex>` (as `docker swarm ca | sha256sum`
/// prints it), or a join token's 50-character base-36 digest.
pub fn ca_pin_hex(s: &str) -> Option<String> {
    if let Some(h) = s.strip_prefix("sha256:") {
        return (h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| h.to_ascii_lowercase());
    }
    (s.len() == DIGEST_LEN).then(|| base36_to_hex(s)).flatten()
}

/// A swarm node ID: 25 characters of `[a-z0-9]` (swarmkit's base-36 identity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeId(String);

impl NodeId {
    pub fn parse(s: &str) -> Result<NodeId, String> {
        if s.len() == 25
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            Ok(NodeId(s.to_string()))
        } else {
            let shown: String = s.chars().take(60).flat_map(char::escape_debug).collect();
            Err(format!("\"{shown}\" is not a node ID (25 of a-z 0-9)"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A login name as ssh sends it and useradd takes it: letters, digits, `_ . -`, not starting
/// with `-`, at most 32.
pub fn user_name_ok(u: &str) -> bool {
    (1..=32).contains(&u.len())
        && !u.starts_with('-')
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// An LVM volume group name as LVM takes it: letters, digits and `+ _ . -`, not starting with
/// `-`, not `.` or `..`.
pub fn vg_name_ok(vg: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || "+_.-".contains(c);
    !vg.is_empty() && !vg.starts_with('-') && vg != "." && vg != ".." && vg.chars().all(ok)
}

/// Why `p` is not an absolute, normalised host path: not absolute, `//`, a `.` or `..`
/// component, a control character, or empty.
pub fn not_normalised(p: &str) -> Option<&'static str> {
    if !p.starts_with('/') {
        return Some("it is not an absolute path");
    }
    if p.chars().any(char::is_control) {
        return Some("it has control characters");
    }
    if p.contains("//") {
        return Some("it is not normalised (it has `//`)");
    }
    let body = p.trim_end_matches('/');
    if body.split('/').skip(1).any(|c| c == "." || c == "..") {
        return Some("it is not normalised (it has a `.` or `..` component)");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_pins_in_both_forms() {
        // `docker swarm ca | sha256sum` on the fixture cluster gave HEX; its tokens carry DIGEST.
        const DIGEST: &str = "0ntb7o7jfldybt5d7v2mgz72ey7iuk4u66b360u4icoonygl53";
        const HEX: &str = "1a8a7ed77f4bdab0f7b86582233d699759f5701b4ece3099f5f7420ac06b6d07";
        assert_eq!(ca_pin_hex(DIGEST).as_deref(), Some(HEX));
        assert_eq!(
            ca_pin_hex(&format!("sha256:{}", HEX.to_uppercase())).as_deref(),
            Some(HEX)
        );
        assert_eq!(ca_pin_hex("sha256:abc"), None);
        assert_eq!(ca_pin_hex(&"z".repeat(50)), None); // over 256 bits
        assert_eq!(ca_pin_hex(&DIGEST.to_uppercase()), None);
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_digest_parsers_panic(t in "\\PC{0,80}", d in "[0-9a-z]{50}") {
            let _ = ca_pin_hex(&t);
            if let Some(h) = base36_to_hex(&d) {
                proptest::prop_assert_eq!(h.len(), 64);
            }
        }
    }

    #[test]
    fn node_ids() {
        assert!(NodeId::parse("l8s526d06sna2jckb05a27o7r").is_ok());
        for bad in [
            "",
            "psw-n2",
            "L8S526D06SNA2JCKB05A27O7R",
            "l8s526d06sna2jckb05a27o7",
            "../../swarm/leave?force=1",
            "l8s526d06sna2jckb05a27o7r\n",
        ] {
            let e = NodeId::parse(bad).unwrap_err();
            assert!(
                e.contains("is not a node ID") && !e.contains('\n'),
                "{bad:?}: {e}"
            );
        }
    }
}
