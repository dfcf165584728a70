//! The profile: JSON, every section optional (an absent section skips its step), unknown keys
//! rejected. Errors name the file and the key (`storage.thinpool.chunk_size`).
//! CLI options override the profile (see [`StorageOverrides`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq, clap::ValueEnum)]
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
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            device: None,
            driver: Driver::Auto,
            volume_group: default_vg(),
            thinpool: ThinPool::default(),
            overlay2: Overlay2::default(),
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
    pub chunk_size: String,
    pub autoextend_threshold: u32,
    pub autoextend_percent: u32,
}

impl Default for ThinPool {
    fn default() -> Self {
        ThinPool {
            data_percent: 95,
            metadata_percent: 1,
            chunk_size: "512K".to_string(),
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
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_timeout() -> u64 {
    5
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Swarm {
    pub managers: Vec<String>,
    #[serde(default = "default_role")]
    pub role: String,
    pub token: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn default_role() -> String {
    "worker".to_string()
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
                if !p.starts_with('/') {
                    return Err((
                        format!("mounts.nfs[{i}]"),
                        format!("'{p}' is not an absolute path"),
                    ));
                }
            }
            if m.timeout_seconds == 0 {
                return Err(("mounts.timeout_seconds".into(), "must be at least 1".into()));
            }
        }
        if let Some(sw) = &self.swarm {
            if sw.managers.is_empty() {
                return Err((
                    "swarm.managers".into(),
                    "needs at least one manager (host:port)".into(),
                ));
            }
            if sw.role != "worker" && sw.role != "manager" {
                return Err((
                    "swarm.role".into(),
                    format!("'{}' is neither worker nor manager", sw.role),
                ));
            }
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
            if r.host.is_empty() || r.host.contains('/') || r.host.contains(char::is_whitespace) {
                return Err((
                    format!("engine.registries[{i}].host"),
                    format!("'{}' is not HOST[:PORT]", r.host),
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
            && !d.starts_with("/dev/")
        {
            return err("device", format!("'{d}' is not a path under /dev"));
        }
        let vg = &self.volume_group;
        if vg.is_empty()
            || vg.starts_with('-')
            || vg == "."
            || vg == ".."
            || !vg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+_.-".contains(c))
        {
            return err(
                "volume_group",
                format!("'{vg}' is not a valid LVM volume group name"),
            );
        }
        let t = &self.thinpool;
        if !(1..=98).contains(&t.data_percent) {
            return err(
                "thinpool.data_percent",
                format!("{} is outside 1..98", t.data_percent),
            );
        }
        if !(1..=10).contains(&t.metadata_percent) {
            return err(
                "thinpool.metadata_percent",
                format!("{} is outside 1..10", t.metadata_percent),
            );
        }
        // LVM keeps a hidden spare as large as the metadata volume (pmspare).
        if t.data_percent + 2 * t.metadata_percent > 100 {
            return err(
                "thinpool.data_percent",
                format!(
                    "data {}% + metadata {}% + LVM's metadata spare {}% exceed the volume group",
                    t.data_percent, t.metadata_percent, t.metadata_percent
                ),
            );
        }
        if let Err(m) = chunk_bytes(&t.chunk_size) {
            return err("thinpool.chunk_size", m);
        }
        if !(50..=100).contains(&t.autoextend_threshold) {
            return err(
                "thinpool.autoextend_threshold",
                format!(
                    "{} is outside 50..100 (100 turns autoextend off)",
                    t.autoextend_threshold
                ),
            );
        }
        if !(1..=100).contains(&t.autoextend_percent) {
            return err(
                "thinpool.autoextend_percent",
                format!("{} is outside 1..100", t.autoextend_percent),
            );
        }
        if !(1..=100).contains(&self.overlay2.data_percent) {
            return err(
                "overlay2.data_percent",
                format!("{} is outside 1..100", self.overlay2.data_percent),
            );
        }
        Ok(())
    }
}

/// A thin-pool chunk size such as `512K` in bytes: 64 KiB to 1 GiB, a multiple of 64 KiB.
pub fn chunk_bytes(s: &str) -> std::result::Result<u64, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size such as 512K"))?;
    let mul = match unit.to_ascii_uppercase().as_str() {
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(format!("'{s}' needs a unit K, M or G (e.g. 512K)")),
    };
    let b = n * mul;
    if !(64 << 10..=1 << 30).contains(&b) || !b.is_multiple_of(64 << 10) {
        return Err(format!(
            "'{s}' must be a multiple of 64K between 64K and 1G"
        ));
    }
    Ok(b)
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
                r#"{"swarm": {"managers": [], "token": {}}}"#,
                "swarm.managers",
            ),
        ];
        for (t, key) in cases {
            let m = parse(t).unwrap_err().to_string();
            assert!(m.contains(&format!(": {key}: ")), "{t}: {m}");
        }
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(chunk_bytes("512K").unwrap(), 512 << 10);
        assert_eq!(chunk_bytes("1M").unwrap(), 1 << 20);
        assert!(chunk_bytes("512").is_err());
        assert!(chunk_bytes("32K").is_err());
        assert!(chunk_bytes("2G").is_err());
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
