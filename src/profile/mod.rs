//! The profile: JSON, every section optional (an absent section skips its step), unknown keys
//! rejected. Errors name the file and the key (`storage.thinpool.chunk_size`).
//! CLI options override the profile (see [`StorageOverrides`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod types;
pub use types::{Bounded, CaPin, ChunkSize, JoinSecs, ManagerAddr, Port, ServerAddr, ShortSecs};

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default)]
    pub storage: Option<Storage>,
    #[serde(default)]
    pub engine: Option<Engine>,
    #[serde(default)]
    pub mounts: Option<Mounts>,
    #[serde(default)]
    pub swarm: Option<Swarm>,
    /// `swarmnode check`: thresholds, and the timer apply installs when asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<Check>,
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

impl std::fmt::Display for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Driver::Auto => "auto",
            Driver::Devicemapper => "devicemapper",
            Driver::Overlay2 => "overlay2",
        })
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// The data disk; prefer /dev/disk/by-id/... names, which do not move between boots.
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub driver: Driver,
    #[serde(default = "default_vg")]
    pub volume_group: String,
    #[serde(default)]
    pub thinpool: ThinPool,
    #[serde(default)]
    pub overlay2: Overlay2,
    /// What to do with the volumes of a previous installation of this node found on the device.
    #[serde(default)]
    pub previous_installation: PreviousInstallation,
}

/// `storage.previous_installation`: a data disk that still holds the volumes of a previous
/// installation (the node was re-kickstarted) is refused, or its tagged volumes made again.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PreviousInstallation {
    /// Refuse (65) and say what is there: nothing is reused or destroyed silently.
    #[default]
    Refuse,
    /// Remove swarmnode's own tagged volumes and make them again (what `--reprovision` does).
    Recreate,
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            device: None,
            driver: Driver::Auto,
            volume_group: default_vg(),
            thinpool: ThinPool::default(),
            overlay2: Overlay2::default(),
            previous_installation: PreviousInstallation::default(),
        }
    }
}

fn default_vg() -> String {
    "docker".to_string()
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ThinPool {
    pub data_percent: u32,
    pub metadata_percent: u32,
    pub chunk_size: ChunkSize,
    pub autoextend_threshold: u32,
    pub autoextend_percent: u32,
}

impl Default for ThinPool {
    fn default() -> Self {
        ThinPool {
            data_percent: 95,
            metadata_percent: 1,
            chunk_size: ChunkSize::default(),
            autoextend_threshold: 80,
            autoextend_percent: 20,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Overlay2 {
    /// Size of the `dockerdata` volume in percent of the volume group.
    pub data_percent: u32,
}

impl Default for Overlay2 {
    fn default() -> Self {
        Overlay2 { data_percent: 95 }
    }
}

// The sections below belong to later steps; they are parsed and validated now so a profile is
// checked whole, and `plan` says that their step is not implemented yet.

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

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Mounts {
    #[serde(default)]
    pub nfs: Vec<String>,
    /// For all answers together.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: ShortSecs,
}

fn default_timeout() -> ShortSecs {
    ShortSecs::new(5)
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Swarm {
    /// The managers' swarm addresses, `HOST[:PORT]` (port 2377 when absent), tried in order.
    pub managers: Vec<ManagerAddr>,
    #[serde(default)]
    pub role: Role,
    /// Where the join token comes from; the same channel is used to label the node.
    pub token: TokenSource,
    /// Node labels, set by a manager on this node's ID when missing or different.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Pin of the cluster's root CA: `sha256:<64 hex>` (`docker swarm ca | sha256sum` on a
    /// manager) or the 50-character digest part of a join token. A token for another cluster is
    /// refused before any join attempt.
    #[serde(default)]
    pub ca_hash: Option<CaPin>,
    /// How long the join may take in all, across managers and retries.
    #[serde(default = "default_join_timeout")]
    pub join_timeout_seconds: JoinSecs,
    /// Before a join's first call to a manager, a random wait of up to this long, so that a
    /// rack booted at once does not reach the managers in the same second (0: none).
    #[serde(default = "default_start_jitter")]
    pub start_jitter_seconds: Bounded<0, 600>,
    /// The address other nodes reach this node on; detected (the local address toward the first
    /// manager) when absent.
    #[serde(default)]
    pub advertise_addr: Option<String>,
    #[serde(default = "default_listen_addr")]
    pub listen_addr: String,
    /// Remove `Down` nodes that carry this node's hostname and another ID (left by re-provisioning).
    #[serde(default)]
    pub remove_stale_nodes: bool,
}

/// `check`: how full is too full, and where the timer sends its result. Every key optional; the
/// check runs with these defaults without the section.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Check {
    /// Yellow at this much use (thin pool data and metadata, the overlay2 volume's space and inodes).
    pub warn_percent: u32,
    /// Red at this much use.
    pub crit_percent: u32,
    /// apply installs and enables `swarmnode-check.timer`.
    pub timer: bool,
    /// How often the timer runs the check.
    pub interval_minutes: Bounded<1, 1440>,
    /// Where the timer sends the Xymon status (`HOST[:PORT]`, port 1984 when absent).
    pub xymon: Option<ServerAddr>,
    /// The Xymon column (test name).
    pub xymon_column: String,
    /// The host name Xymon knows the node by (hosts.cfg); the kernel's host name when absent.
    pub xymon_host: Option<String>,
    /// Where the timer writes the node_exporter textfile (`.../swarmnode.prom`).
    pub textfile: Option<String>,
}

impl Default for Check {
    fn default() -> Self {
        Check {
            warn_percent: 80,
            crit_percent: 90,
            timer: false,
            interval_minutes: Bounded::new(5),
            xymon: None,
            xymon_column: "swarmnode".into(),
            xymon_host: None,
            textfile: None,
        }
    }
}

impl Check {
    fn validate(&self) -> std::result::Result<(), (String, String)> {
        percent("check.warn_percent", self.warn_percent, 1, 99, "")?;
        percent(
            "check.crit_percent",
            self.crit_percent,
            self.warn_percent + 1,
            100,
            " (above warn_percent)",
        )?;
        let word = |c: char| c.is_ascii_alphanumeric() || "_-".contains(c);
        if self.xymon_column.is_empty() || !self.xymon_column.chars().all(word) {
            return Err((
                "check.xymon_column".into(),
                format!(
                    "'{}' is not a Xymon column name (letters, digits, _ and -)",
                    self.xymon_column
                ),
            ));
        }
        if let Some(h) = &self.xymon_host {
            let ok = |c: char| c.is_ascii_alphanumeric() || ".-_".contains(c);
            if h.is_empty() || !h.chars().all(ok) || h.starts_with(['-', '.']) {
                return Err((
                    "check.xymon_host".into(),
                    format!("'{h}' is not a host name"),
                ));
            }
        }
        if let Some(t) = &self.textfile {
            // It goes on the timer's command line: a plain absolute path only.
            let ok = |c: char| c.is_ascii_alphanumeric() || "/._-".contains(c);
            if !t.starts_with('/')
                || !t.ends_with(".prom")
                || !t.chars().all(ok)
                || t.contains("/../")
            {
                return Err((
                    "check.textfile".into(),
                    format!(
                        "'{t}' is not an absolute path ending in .prom (node_exporter reads only \
                         *.prom) of letters, digits, / . _ -"
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn default_join_timeout() -> JoinSecs {
    JoinSecs::new(300)
}

fn default_start_jitter() -> Bounded<0, 600> {
    Bounded::new(5)
}

fn default_listen_addr() -> String {
    "0.0.0.0:2377".to_string()
}

/// A node's role (the shared vocabulary's).
pub use crate::vocab::Role;

/// `swarm.token`: how to get the join token. `ssh` and `tls` are authenticated channels to a
/// manager; `tcp` is the plaintext Engine API and needs `allow_insecure_tcp`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(tag = "source", rename_all = "lowercase", deny_unknown_fields)]
pub enum TokenSource {
    /// `ssh USER@MANAGER docker swarm join-token -q ROLE` (BatchMode, strict host keys).
    Ssh {
        #[serde(default = "default_ssh_user")]
        user: String,
        #[serde(default)]
        identity_file: Option<String>,
        #[serde(default)]
        known_hosts_file: Option<String>,
        #[serde(default = "default_ssh_port")]
        port: Port,
        #[serde(default = "default_connect_timeout")]
        connect_timeout_seconds: ShortSecs,
        /// The manager answers through `swarmnode broker` (a forced command): the node asks for
        /// a token, its own entry and its own labels, and can do nothing else there.
        #[serde(default)]
        broker: bool,
    },
    /// The manager's Engine API with client certificates (`docker -H tcp://MANAGER:2376 --tlsverify`).
    Tls {
        ca_file: String,
        cert_file: String,
        key_file: String,
        #[serde(default = "default_tls_port")]
        port: Port,
    },
    /// The manager's plaintext Engine API: anyone on the network can do the same. Opt-in only.
    Tcp {
        #[serde(default = "default_tcp_port")]
        port: Port,
        #[serde(default)]
        allow_insecure_tcp: bool,
    },
    /// A file holding the token, readable by root only (no manager channel: no labels).
    File { path: String },
}

fn default_ssh_user() -> String {
    "root".to_string()
}
fn default_ssh_port() -> Port {
    Port::new(22)
}
fn default_connect_timeout() -> ShortSecs {
    ShortSecs::new(10)
}
fn default_tls_port() -> Port {
    Port::new(2376)
}
fn default_tcp_port() -> Port {
    Port::new(2375)
}

/// A login name as ssh sends it: letters, digits, `_ . -`, not starting with `-`, at most 32.
fn is_user_name(u: &str) -> bool {
    (1..=32).contains(&u.len())
        && !u.starts_with('-')
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
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

/// Storage options given on the command line; they win over the profile.
#[derive(Debug, Clone, Default)]
pub struct StorageOverrides {
    pub device: Option<String>,
    pub driver: Option<Driver>,
}

impl Profile {
    /// Reads and validates a profile file.
    pub fn load(path: &Path) -> Result<Profile> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Profile {
            path: path.to_path_buf(),
            key: "(file)".to_string(),
            msg: format!("cannot read it: {e}"),
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Profile> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let profile: Profile = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            Error::Profile {
                path: path.to_path_buf(),
                key: if key == "." {
                    "(top level)".to_string()
                } else {
                    key
                },
                msg: format!(
                    "{} (line {}, column {})",
                    strip_position(&inner.to_string()),
                    inner.line(),
                    inner.column()
                ),
            }
        })?;
        profile.validate().map_err(|(key, msg)| Error::Profile {
            path: path.to_path_buf(),
            key,
            msg,
        })?;
        Ok(profile)
    }

    /// Applies CLI overrides: `--device` alone is enough to make a storage section.
    pub fn with_storage_overrides(mut self, o: &StorageOverrides) -> Profile {
        if o.device.is_some() || o.driver.is_some() {
            let s = self.storage.get_or_insert_with(Storage::default);
            if let Some(d) = &o.device {
                s.device = Some(d.clone());
            }
            if let Some(d) = o.driver {
                s.driver = d;
            }
        }
        self
    }

    /// Semantic checks; the error is (key, message).
    pub fn validate(&self) -> std::result::Result<(), (String, String)> {
        if let Some(s) = &self.storage {
            s.validate()?;
        }
        if let Some(e) = &self.engine {
            e.validate()?;
        }
        if let Some(m) = &self.mounts {
            for (i, p) in m.nfs.iter().enumerate() {
                if m.nfs[..i].contains(p) {
                    return Err((format!("mounts.nfs[{i}]"), format!("'{p}' is listed twice")));
                }
                if !p.starts_with('/') {
                    return Err((
                        format!("mounts.nfs[{i}]"),
                        format!("'{p}' is not an absolute path"),
                    ));
                }
            }
        }
        if let Some(c) = &self.check {
            c.validate()?;
        }
        if let Some(sw) = &self.swarm {
            if sw.managers.is_empty() {
                return Err((
                    "swarm.managers".into(),
                    "needs at least one manager (host:port)".into(),
                ));
            }
            sw.validate()?;
        }
        Ok(())
    }
}

impl Swarm {
    fn validate(&self) -> std::result::Result<(), (String, String)> {
        let err = |k: &str, m: String| Err((format!("swarm.{k}"), m));
        for (k, v) in &self.labels {
            let key_ok = |c: char| c.is_ascii_alphanumeric() || "._-/".contains(c);
            if k.is_empty() || !k.chars().all(key_ok) {
                return err(
                    &format!("labels.{k}"),
                    "a label key is letters, digits and . _ - / only".into(),
                );
            }
            if v.chars().any(|c| c.is_control()) {
                return err(
                    &format!("labels.{k}"),
                    "a label value has no control characters".into(),
                );
            }
        }
        match &self.token {
            TokenSource::Tcp {
                allow_insecure_tcp: false,
                ..
            } => {
                return err(
                    "token.allow_insecure_tcp",
                    "the tcp source fetches the token over the manager's plaintext API, which \
                     gives root to anyone on the network; use ssh or tls, or set \
                     allow_insecure_tcp: true"
                        .into(),
                );
            }
            TokenSource::Ssh { user, .. } if !is_user_name(user) => {
                return err(
                    "token.user",
                    format!("'{user}' is not a user name (letters, digits, _ . -; not first -)"),
                );
            }
            TokenSource::Ssh { broker: true, .. } => {
                use crate::vocab::{label_key_ok, label_value_ok};
                if let Some((k, v)) = self
                    .labels
                    .iter()
                    .find(|(k, v)| !label_key_ok(k) || !label_value_ok(v))
                {
                    return err(
                        &format!("labels.{k}"),
                        format!(
                            "'{k}={v}' cannot go through the broker: keys of letters, digits, \
                             . _ - (at most 64), values of letters, digits, . _ - : / @ + (at \
                             most 128)"
                        ),
                    );
                }
            }
            TokenSource::File { path } if !path.starts_with('/') => {
                return err("token.path", format!("'{path}' is not an absolute path"));
            }
            TokenSource::File { .. } if !self.labels.is_empty() || self.remove_stale_nodes => {
                return err(
                    "token.source",
                    "labels and remove_stale_nodes are done by a manager, and the file source \
                     has no channel to one; use ssh or tls"
                        .into(),
                );
            }
            _ => {}
        }
        Ok(())
    }
}

/// serde_json appends " at line L column C"; the caller reports the position itself.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

impl Engine {
    fn validate(&self) -> std::result::Result<(), (String, String)> {
        let tls = [&self.tls_ca, &self.tls_cert, &self.tls_key];
        if tls.iter().any(|t| t.is_some()) && !tls.iter().all(|t| t.is_some()) {
            return Err((
                "engine.tls_ca".into(),
                "tls_ca, tls_cert and tls_key go together".into(),
            ));
        }
        for (i, r) in self.registries.iter().enumerate() {
            if !is_host_port(&r.host) {
                return Err((
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
                return Err((
                    format!("engine.registries[{i}].ca_sha256"),
                    "is not 64 hex digits".into(),
                ));
            }
            if r.ca_sha256.is_some() && r.ca_file.is_none() {
                return Err((
                    format!("engine.registries[{i}].ca_sha256"),
                    "pins a ca_file that is not given".into(),
                ));
            }
        }
        Ok(())
    }
}

impl Storage {
    fn validate(&self) -> std::result::Result<(), (String, String)> {
        let err = |k: &str, m: String| Err((format!("storage.{k}"), m));
        if let Some(d) = &self.device
            && (!d.starts_with("/dev/") || crate::host::places::not_normalised(d).is_some())
        {
            return err(
                "device",
                format!("'{d}' is not a normalised path under /dev (no //, . or ..)"),
            );
        }
        let vg = &self.volume_group;
        if !crate::vocab::vg_name_ok(vg) {
            return err(
                "volume_group",
                format!("'{vg}' is not a valid LVM volume group name"),
            );
        }
        self.thinpool.validate()?;
        percent(
            "storage.overlay2.data_percent",
            self.overlay2.data_percent,
            1,
            100,
            "",
        )
    }
}

impl ThinPool {
    fn validate(&self) -> std::result::Result<(), (String, String)> {
        let key = |k: &str| format!("storage.thinpool.{k}");
        percent(&key("data_percent"), self.data_percent, 1, 98, "")?;
        percent(&key("metadata_percent"), self.metadata_percent, 1, 10, "")?;
        // LVM keeps a hidden spare as large as the metadata volume (pmspare).
        if self.data_percent + 2 * self.metadata_percent > 100 {
            return Err((
                key("data_percent"),
                format!(
                    "data {}% + metadata {}% + LVM's metadata spare {}% exceed the volume group",
                    self.data_percent, self.metadata_percent, self.metadata_percent
                ),
            ));
        }
        let threshold = self.autoextend_threshold;
        percent(
            &key("autoextend_threshold"),
            threshold,
            50,
            100,
            " (100 turns autoextend off)",
        )?;
        percent(
            &key("autoextend_percent"),
            self.autoextend_percent,
            1,
            100,
            "",
        )
    }
}

/// A percentage in `lo..=hi`, or the error naming `key`.
fn percent(
    key: &str,
    v: u32,
    lo: u32,
    hi: u32,
    note: &str,
) -> std::result::Result<(), (String, String)> {
    if (lo..=hi).contains(&v) {
        return Ok(());
    }
    Err((key.to_string(), format!("{v} is outside {lo}..{hi}{note}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<Profile> {
        Profile::parse(Path::new("/etc/swarmnode/profile.json"), t)
    }

    #[test]
    fn empty_profile_has_no_sections() {
        assert_eq!(parse("{}").unwrap(), Profile::default());
    }

    #[test]
    fn unknown_key_is_named_with_its_path_and_file() {
        let e = parse(r#"{"storage": {"thinpool": {"chunksize": "512K"}}}"#).unwrap_err();
        let m = e.to_string();
        assert!(
            m.starts_with("profile /etc/swarmnode/profile.json: storage.thinpool.chunksize:"),
            "{m}"
        );
        assert!(m.contains("unknown field `chunksize`"), "{m}");
        assert_eq!(e.exit_code(), 65);
    }

    #[test]
    fn wrong_type_names_the_key() {
        let m = parse(r#"{"storage": {"thinpool": {"data_percent": "95"}}}"#)
            .unwrap_err()
            .to_string();
        assert!(m.contains("storage.thinpool.data_percent"), "{m}");
    }

    #[test]
    fn semantic_errors_name_the_key() {
        let cases = [
            (
                r#"{"storage": {"thinpool": {"data_percent": 99}}}"#,
                "storage.thinpool.data_percent",
            ),
            (
                r#"{"storage": {"thinpool": {"data_percent": 97, "metadata_percent": 2}}}"#,
                "storage.thinpool.data_percent",
            ),
            (
                r#"{"storage": {"thinpool": {"chunk_size": "500K"}}}"#,
                "storage.thinpool.chunk_size",
            ),
            (
                r#"{"storage": {"thinpool": {"autoextend_threshold": 20}}}"#,
                "storage.thinpool.autoextend_threshold",
            ),
            (
                r#"{"storage": {"volume_group": "-x"}}"#,
                "storage.volume_group",
            ),
            (r#"{"storage": {"device": "sdb"}}"#, "storage.device"),
            (r#"{"mounts": {"nfs": ["home"]}}"#, "mounts.nfs[0]"),
            (
                r#"{"swarm": {"managers": [], "token": {"source": "ssh"}}}"#,
                "swarm.managers",
            ),
            (
                r#"{"swarm": {"managers": ["m:x"], "token": {"source": "ssh"}}}"#,
                "swarm.managers[0]",
            ),
            (
                r#"{"swarm": {"managers": ["m"], "token": {"source": "ftp"}}}"#,
                "swarm.token.source",
            ),
            (
                r#"{"swarm": {"managers": ["m"], "token": {"source": "ssh", "pass": "x"}}}"#,
                "swarm.token",
            ),
            (
                r#"{"swarm": {"managers": ["m"], "token": {"source": "tcp"}}}"#,
                "swarm.token.allow_insecure_tcp",
            ),
            (
                r#"{"swarm": {"managers": ["m"], "token": {"source": "file", "path": "/t"},
                    "labels": {"function": "production"}}}"#,
                "swarm.token.source",
            ),
            (
                r#"{"swarm": {"managers": ["m"], "token": {"source": "ssh"}, "ca_hash": "abc"}}"#,
                "swarm.ca_hash",
            ),
            (
                r#"{"swarm": {"managers": ["m"], "token": {"source": "ssh"},
                    "labels": {"a b": "x"}}}"#,
                "swarm.labels.a b",
            ),
            (
                r#"{"swarm": {"managers": ["m"], "token": {"source": "ssh"}, "role": "boss"}}"#,
                "swarm.role",
            ),
        ];
        for (t, key) in cases {
            let m = parse(t).unwrap_err().to_string();
            assert!(m.contains(&format!(": {key}: ")), "{t}: {m}");
        }
    }

    #[test]
    fn numbers_outside_their_range_are_refused_by_key() {
        let big = u64::MAX;
        let cases = [
            (
                format!(r#"{{"swarm": {{"managers": ["m"], "token": {{"source": "ssh"}}, "join_timeout_seconds": {big}}}}}"#),
                "swarm.join_timeout_seconds",
            ),
            (
                format!(r#"{{"swarm": {{"managers": ["m"], "token": {{"source": "ssh", "connect_timeout_seconds": {big}}}}}}}"#),
                "swarm.token",
            ),
            (
                r#"{"swarm": {"managers": ["m"], "token": {"source": "tls", "ca_file": "/a", "cert_file": "/b", "key_file": "/c", "port": 0}}}"#.to_string(),
                "swarm.token",
            ),
            (
                // serde sees the internally tagged `token` whole: the error names the section.
                r#"{"swarm": {"managers": ["m"], "token": {"source": "ssh", "port": 65536}}}"#.to_string(),
                "swarm.token",
            ),
            (
                format!(r#"{{"mounts": {{"nfs": ["/home"], "timeout_seconds": {big}}}}}"#),
                "mounts.timeout_seconds",
            ),
            (
                r#"{"storage": {"thinpool": {"chunk_size": "18446744073709551615K"}}}"#.to_string(),
                "storage.thinpool.chunk_size",
            ),
        ];
        for (t, key) in cases {
            let m = parse(&t).unwrap_err().to_string();
            assert!(m.contains(&format!(": {key}: ")), "{t}: {m}");
        }
    }

    #[test]
    fn registry_hosts_are_one_directory_name() {
        for good in [
            "docker-registry.dccn.nl:5000",
            "localhost",
            "10.0.0.1:5000",
            "[fd00::1]:5000",
            "[::1]",
            "Reg-1.example.org",
        ] {
            assert!(is_host_port(good), "{good}");
        }
        for bad in [
            "",
            "..",
            ".",
            "a..b",
            "../../etc",
            "a/b",
            "-x",
            "x-",
            "x:0",
            "x:99999",
            "x:",
            "x:+5",
            "x y",
            "[::1",
            "[zz]:5000",
            "a_b",
            ":5000",
            "x:5000:1",
            "[::1]x",
            "a.",
            ".a",
        ] {
            assert!(!is_host_port(bad), "{bad}");
        }
        let m = parse(r#"{"engine": {"registries": [{"host": ".."}]}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            m.contains("engine.registries[0].host: '..' is not HOST[:PORT]"),
            "{m}"
        );
    }

    #[test]
    fn overrides_win_and_device_alone_makes_a_storage_section() {
        let p = parse(r#"{"storage": {"device": "/dev/sdb", "driver": "overlay2"}}"#).unwrap();
        let o = StorageOverrides {
            device: Some("/dev/sdc".into()),
            driver: Some(Driver::Devicemapper),
        };
        let s = p.with_storage_overrides(&o).storage.unwrap();
        assert_eq!(s.device.as_deref(), Some("/dev/sdc"));
        assert_eq!(s.driver, Driver::Devicemapper);
        let s = Profile::default()
            .with_storage_overrides(&o)
            .storage
            .unwrap();
        assert_eq!(s.volume_group, "docker");
        assert_eq!(s.thinpool, ThinPool::default());
    }

    /// Any JSON number (huge, negative, fractional) in any numeric key of a profile.
    fn number() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            any::<u64>().prop_map(|n| n.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|n| format!("{n:?}")),
            (0u64..400).prop_map(|n| n.to_string()),
            Just("1e400".to_string()),
        ]
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_profile_parser_panic(t in "\\PC{0,200}") {
            let _ = parse(&t);
        }

        #[test]
        fn no_number_makes_the_profile_parser_panic(
            a in number(), b in number(), c in number(), d in number(), e in number(),
            f in number(), g in number(), h in number(), chunk in "[0-9]{0,25}[KMGkmgib]{0,3}",
        ) {
            let t = format!(
                r#"{{"storage": {{"thinpool": {{"data_percent": {a}, "metadata_percent": {b},
                  "chunk_size": "{chunk}", "autoextend_threshold": {c}, "autoextend_percent": {d}}},
                  "overlay2": {{"data_percent": {e}}}}},
                  "mounts": {{"nfs": ["/home"], "timeout_seconds": {f}}},
                  "swarm": {{"managers": ["m:2377"], "join_timeout_seconds": {g},
                    "token": {{"source": "ssh", "port": {h}, "connect_timeout_seconds": {h}}}}}}}"#
            );
            if let Ok(p) = parse(&t) {
                // Whatever validates can be used as a deadline without overflow.
                let sw = p.swarm.unwrap();
                let _ = std::time::Instant::now() + sw.join_timeout_seconds.secs();
                let m = p.mounts.unwrap();
                let _ = std::time::Instant::now() + m.timeout_seconds.secs();
            }
        }

        #[test]
        fn no_manager_address_makes_its_parser_panic(t in "\\PC{0,40}") {
            let _ = ManagerAddr::try_from(t);
        }
    }

    #[test]
    fn check_section_defaults_and_refusals() {
        let p = parse(r#"{"check": {}}"#).unwrap();
        let c = p.check.unwrap();
        assert_eq!(
            (c.warn_percent, c.crit_percent, c.interval_minutes.get()),
            (80, 90, 5)
        );
        assert_eq!(c.xymon_column, "swarmnode");
        let p = parse(r#"{"check": {"xymon": "xymon.dccn.nl", "textfile": "/var/lib/node_exporter/swarmnode.prom"}}"#).unwrap();
        let x = p.check.unwrap().xymon.unwrap();
        assert_eq!((x.host.as_str(), x.port), ("xymon.dccn.nl", 1984));
        for (t, key) in [
            (
                r#"{"check": {"warn_percent": 90, "crit_percent": 90}}"#,
                "check.crit_percent",
            ),
            (r#"{"check": {"warn_percent": 0}}"#, "check.warn_percent"),
            (
                r#"{"check": {"xymon_column": "a b"}}"#,
                "check.xymon_column",
            ),
            (r#"{"check": {"xymon_host": "-x"}}"#, "check.xymon_host"),
            (r#"{"check": {"textfile": "/tmp/x.txt"}}"#, "check.textfile"),
            (
                r#"{"check": {"textfile": "/tmp/a b.prom"}}"#,
                "check.textfile",
            ),
            (
                r#"{"check": {"interval_minutes": 0}}"#,
                "check.interval_minutes",
            ),
            (r#"{"check": {"xymon": "a:b:c"}}"#, "check.xymon"),
        ] {
            let e = parse(t).unwrap_err().to_string();
            assert!(e.contains(key), "{t}: {e}");
        }
    }

    #[test]
    fn shipped_profiles_are_valid() {
        for f in [
            "profiles/dccn-production.json",
            "profiles/minimal-worker.json",
        ] {
            let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(f);
            Profile::load(&p).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
    }
}
