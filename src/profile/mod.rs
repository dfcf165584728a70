//! The profile: JSON, every section optional (an absent section skips its step), unknown keys
//! rejected. Each section is a file of its own, with its structure, its defaults and its
//! checks: `storage`, `engine`, `mounts`, `swarm`, `check`, `broker`, `backup`; `types` holds the
//! bounded values they share. Errors name the file and the key (`storage.thinpool.chunk_size`).
//! CLI options override the profile (see [`StorageOverrides`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod backup;
mod broker;
mod check;
mod engine;
pub mod keys;
mod mounts;
mod storage;
mod swarm;
mod types;

pub use backup::Backup;
pub use broker::Broker;
pub use check::Check;
pub use engine::{Engine, Registry, is_host_port};
pub use mounts::Mounts;
pub use storage::{Driver, Overlay2, PreviousInstallation, Storage, ThinPool};
pub use swarm::{Swarm, TokenSource};
pub use types::{
    Bounded, CaPin, ChunkSize, Interval, JoinSecs, ManagerAddr, Port, ServerAddr, ShortSecs,
};

/// A node's role (the shared vocabulary's).
pub use crate::vocab::Role;

/// Where the profile is when --profile is not given; offline runs save the effective profile here
/// for the first boot.
pub const DEFAULT_PATH: &str = "/etc/swarmnode/profile.json";

/// What is wrong with a profile's value: its key (`storage.thinpool.chunk_size`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: String,
    pub message: String,
}

impl Invalid {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Invalid {
        Invalid {
            key: key.into(),
            message: message.into(),
        }
    }

    /// As the run's error: the file and the key.
    pub fn in_file(self, path: &Path) -> Error {
        Error::Profile {
            path: path.to_path_buf(),
            key: self.key,
            msg: self.message,
        }
    }
}

/// A section's checks: fine, or what is wrong.
pub type Checked = std::result::Result<(), Invalid>;

/// A percentage in `lo..=hi`, or the error naming `key`.
fn percent(key: &str, v: u32, lo: u32, hi: u32, note: &str) -> Checked {
    if (lo..=hi).contains(&v) {
        return Ok(());
    }
    Err(Invalid::new(
        key,
        format!("{v} is outside {lo}..{hi}{note}"),
    ))
}

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
    /// On a manager: the broker's user, sshd's configuration for it, what nodes may ask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<Broker>,
    /// On a manager: where `swarmnode backup` keeps its archives; the timer apply installs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<Backup>,
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
        let unreadable = |why: String| Error::Profile {
            path: path.to_path_buf(),
            key: "(file)".to_string(),
            msg: format!("cannot read it: {why}"),
        };
        let bytes = crate::host::fs::read_opt(path)
            .map_err(|e| unreadable(e.to_string()))?
            .ok_or_else(|| unreadable("it does not exist".into()))?;
        let text = String::from_utf8(bytes).map_err(|e| unreadable(e.to_string()))?;
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
        profile.validate().map_err(|i| i.in_file(path))?;
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

    /// Each section's checks; the first problem, by its key.
    pub fn validate(&self) -> Checked {
        if let Some(s) = &self.storage {
            s.validate()?;
        }
        if let Some(e) = &self.engine {
            e.validate()?;
        }
        if let Some(m) = &self.mounts {
            m.validate()?;
        }
        if let Some(c) = &self.check {
            c.validate()?;
        }
        if let Some(b) = &self.broker {
            b.validate()?;
        }
        if let Some(b) = &self.backup {
            b.validate()?;
        }
        if let Some(sw) = &self.swarm {
            sw.validate()?;
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

    /// The ready profiles, with their `REPLACE-…` placeholders filled as a site would, are valid;
    /// and every placeholder is one this test knows (so a new one is filled here, on purpose).
    #[test]
    fn shipped_profiles_are_valid_once_filled() {
        const FILLED: &[(&str, &str)] = &[
            ("REPLACE-with-the-data-disk", "wwn-0x5000c500a1b2c3d4"),
            ("REPLACE-with-the-nodes-network", "10.0.0.0"),
        ];
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
        let mut seen = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let mut text = std::fs::read_to_string(&p).unwrap();
            for (placeholder, value) in FILLED {
                text = text.replace(placeholder, value);
            }
            assert!(
                !text.contains("REPLACE-"),
                "{}: a placeholder this test does not fill",
                p.display()
            );
            Profile::parse(&p, &text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            seen += 1;
        }
        assert!(seen >= 3, "{seen} profiles");
        // The node's profile names everything its first boot needs (issue 29: without
        // known_hosts_file the shipped profile exited 65 at the first boot).
        let node = Profile::load(&dir.join("dccn-production.json")).unwrap();
        let t = serde_json::to_value(&node).unwrap()["swarm"]["token"].clone();
        for key in [
            "identity_file",
            "bootstrap_identity_file",
            "known_hosts_file",
        ] {
            assert!(
                t[key].is_string(),
                "dccn-production.json: swarm.token.{key}: {t}"
            );
        }
    }
}
