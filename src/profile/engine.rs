//! `engine`: dockerd's listeners and their TLS, registries and their CAs, and further
//! daemon.json keys.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Checked, Invalid};

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Engine {
    /// dockerd's listeners (daemon.json `hosts`); `tcp://` off loopback needs TLS or `allow_insecure_tcp`.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// TLS for a `tcp://` listener: CA, certificate and key files on the node (all three or none).
    #[serde(default)]
    pub tls_ca: Option<String>,
    #[serde(default)]
    pub tls_cert: Option<String>,
    #[serde(default)]
    pub tls_key: Option<String>,
    /// Accept a plaintext `tcp://` listener off loopback (root for anyone who can reach it).
    #[serde(default)]
    pub allow_insecure_tcp: bool,
    #[serde(default)]
    pub registries: Vec<Registry>,
    #[serde(default)]
    pub insecure_registries: Vec<String>,
    #[serde(default)]
    pub registry_mirrors: Vec<String>,
    /// Further daemon.json keys, set as given.
    #[serde(default)]
    pub daemon_json: BTreeMap<String, serde_json::Value>,
    /// Start docker when it is not running (it is restarted when its configuration changed either way).
    #[serde(default)]
    pub start: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// HOST:PORT, as in image names.
    pub host: String,
    /// The registry's CA certificate (PEM), installed as /etc/docker/certs.d/HOST:PORT/ca.crt.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// sha256 of ca_file's content (hex), checked before it is trusted.
    #[serde(default)]
    pub ca_sha256: Option<String>,
}

impl Engine {
    pub(super) fn validate(&self) -> Checked {
        let tls = [&self.tls_ca, &self.tls_cert, &self.tls_key];
        if tls.iter().any(|t| t.is_some()) && !tls.iter().all(|t| t.is_some()) {
            return Err(Invalid::new(
                "engine.tls_ca",
                "tls_ca, tls_cert and tls_key go together",
            ));
        }
        for (i, r) in self.registries.iter().enumerate() {
            if !is_host_port(&r.host) {
                return Err(Invalid::new(
                    format!("engine.registries[{i}].host"),
                    format!(
                        "'{}' is not HOST[:PORT] (a DNS name, an IPv4 address or [IPv6], and a \
                         port 1-65535); it names the directory /etc/docker/certs.d/HOST[:PORT]",
                        r.host
                    ),
                ));
            }
            if let Some(h) = &r.ca_sha256
                && (h.len() != 64 || !h.chars().all(|c| c.is_ascii_hexdigit()))
            {
                return Err(Invalid::new(
                    format!("engine.registries[{i}].ca_sha256"),
                    "is not 64 hex digits",
                ));
            }
            if r.ca_sha256.is_some() && r.ca_file.is_none() {
                return Err(Invalid::new(
                    format!("engine.registries[{i}].ca_sha256"),
                    "pins a ca_file that is not given",
                ));
            }
        }
        Ok(())
    }
}

/// `HOST[:PORT]` as in image names: a DNS name (labels of letters, digits and inner dashes), an
/// IPv4 address or `[IPv6]`, and an optional port 1-65535. Never `/`, `..` or anything else that
/// would make it more than one directory name.
pub fn is_host_port(s: &str) -> bool {
    let (host, port) = match s.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, tail)) if v6.parse::<std::net::Ipv6Addr>().is_ok() => (None, tail),
            _ => return false,
        },
        None => match s.split_once(':') {
            Some((h, _)) => (Some(h), &s[h.len()..]),
            None => (Some(s), ""),
        },
    };
    let port_ok = match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(p) => {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|n| n > 0)
        }
    };
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let host_ok = host.is_none_or(|h| {
        h.len() <= 253 && (h.parse::<std::net::Ipv4Addr>().is_ok() || h.split('.').all(label_ok))
    });
    port_ok && host_ok
}
