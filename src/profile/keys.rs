//! Every key of the profile, for people: its type, default, range and meaning. The reference
//! (`swarmnode-profile(5)`, docs/reference/profile.md) is made from this table, and the tests
//! below hold it to the profile's own definitions: every key the profile serialises is here and
//! nothing else is, every default is the one the code gives, and every range is the one the
//! validation enforces (its bounds accepted, one past them refused, naming the key).

/// One key of the profile.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// Its JSON path; `[]` marks the members of a list's objects (`engine.registries[].host`).
    pub path: &'static str,
    /// For `swarm.token`'s keys: the `source` they belong to.
    pub source: Option<&'static str>,
    /// What it holds, in words.
    pub ty: &'static str,
    /// The default as JSON; `None` when the key is required (in its section).
    pub default: Option<&'static str>,
    /// The accepted integers, inclusive.
    pub range: Option<(u64, u64)>,
    /// What it means.
    pub meaning: &'static str,
}

const fn key(
    path: &'static str,
    ty: &'static str,
    default: Option<&'static str>,
    range: Option<(u64, u64)>,
    meaning: &'static str,
) -> Key {
    Key {
        path,
        source: None,
        ty,
        default,
        range,
        meaning,
    }
}

const fn token(
    source: &'static str,
    path: &'static str,
    ty: &'static str,
    default: Option<&'static str>,
    range: Option<(u64, u64)>,
    meaning: &'static str,
) -> Key {
    Key {
        source: Some(source),
        ..key(path, ty, default, range, meaning)
    }
}

/// The sections, in the order the reference lists them, each with what it does.
pub const SECTIONS: &[(&str, &str)] = &[
    (
        "storage",
        "The data disk: the devicemapper thin pool or the overlay2 volume. Absent: no storage \
         step (unless --device is given).",
    ),
    (
        "engine",
        "docker's configuration: daemon.json merged, registry CAs, drop-ins. Absent: no engine \
         step.",
    ),
    (
        "mounts",
        "The NFS paths the node needs, checked (never mounted). Absent: no mounts step.",
    ),
    (
        "swarm",
        "The join, the labels, the stale entries. Absent: no swarm step.",
    ),
    (
        "check",
        "`swarmnode check` and its timer. Absent: check uses these defaults, and no timer.",
    ),
    (
        "broker",
        "On a manager: the broker's side (its user, sshd, its configuration). Absent: no broker \
         step.",
    ),
    (
        "backup",
        "Where `swarmnode backup` keeps its archives, and the timer apply installs (on any node \
         with the section; only a manager backs up). Absent: no backup step (backup by hand \
         keeps these defaults).",
    ),
];

/// Every key.
pub const KEYS: &[Key] = &[
    key(
        "storage.device",
        "path",
        Some("null"),
        None,
        "The data disk. Prefer a /dev/disk/by-id/ name. Required here or as --device.",
    ),
    key(
        "storage.driver",
        "auto | devicemapper | overlay2",
        Some("\"auto\""),
        None,
        "auto: devicemapper below Docker Engine 25, overlay2 from 25 (the version of the package \
         that owns dockerd).",
    ),
    key(
        "storage.volume_group",
        "LVM name",
        Some("\"docker\""),
        None,
        "The volume group swarmnode makes on the data disk.",
    ),
    key(
        "storage.thinpool.data_percent",
        "integer, % of the VG",
        Some("95"),
        Some((1, 98)),
        "devicemapper: the pool's data volume. data + 2 x metadata must be at most 100.",
    ),
    key(
        "storage.thinpool.metadata_percent",
        "integer, % of the VG",
        Some("1"),
        Some((1, 10)),
        "devicemapper: the pool's metadata volume (LVM keeps a hidden spare of the same size).",
    ),
    key(
        "storage.thinpool.chunk_size",
        "size (64K, 512K, 1M ...)",
        Some("\"512K\""),
        None,
        "devicemapper: the pool's chunk size, 64K to 1G, a multiple of 64K.",
    ),
    key(
        "storage.thinpool.autoextend_threshold",
        "integer, %",
        Some("80"),
        Some((50, 100)),
        "devicemapper: the pool grows when this full. 100 turns autoextend off.",
    ),
    key(
        "storage.thinpool.autoextend_percent",
        "integer, %",
        Some("20"),
        Some((1, 100)),
        "devicemapper: by how much the pool grows each time.",
    ),
    key(
        "storage.overlay2.data_percent",
        "integer, % of the VG",
        Some("95"),
        Some((1, 100)),
        "overlay2: the size of the XFS volume docker/dockerdata.",
    ),
    key(
        "storage.previous_installation",
        "refuse | recreate",
        Some("\"refuse\""),
        None,
        "A re-provisioned node's old volumes on the disk: refuse (65), or make them again \
         (their data is lost; as --reprovision).",
    ),
    key(
        "engine.hosts",
        "list of dockerd listeners",
        Some("[]"),
        None,
        "daemon.json's hosts, set only when given. A tcp:// listener off loopback needs TLS \
         with tlsverify.",
    ),
    key(
        "engine.tls_ca",
        "path",
        Some("null"),
        None,
        "The CA for dockerd's TLS listener. tls_ca, tls_cert and tls_key go together.",
    ),
    key(
        "engine.tls_cert",
        "path",
        Some("null"),
        None,
        "dockerd's TLS certificate.",
    ),
    key(
        "engine.tls_key",
        "path",
        Some("null"),
        None,
        "dockerd's TLS key.",
    ),
    key(
        "engine.allow_insecure_tcp",
        "boolean",
        Some("false"),
        None,
        "Accept a TCP listener off loopback without tlsverify: root for anyone who reaches it. \
         Warned about on every run.",
    ),
    key(
        "engine.registries",
        "list of objects",
        Some("[]"),
        None,
        "Registries whose CA docker should trust.",
    ),
    key(
        "engine.registries[].host",
        "HOST[:PORT]",
        None,
        None,
        "The registry, as in image names: one directory name under /etc/docker/certs.d.",
    ),
    key(
        "engine.registries[].ca_file",
        "path",
        Some("null"),
        None,
        "Its CA certificate (PEM), installed as /etc/docker/certs.d/HOST:PORT/ca.crt. On NFS, \
         it is installed at the first boot.",
    ),
    key(
        "engine.registries[].ca_sha256",
        "64 hex digits",
        Some("null"),
        None,
        "The sha256 of ca_file's content, checked before it is trusted.",
    ),
    key(
        "engine.insecure_registries",
        "list of strings",
        Some("[]"),
        None,
        "daemon.json's insecure-registries, set only when not empty.",
    ),
    key(
        "engine.registry_mirrors",
        "list of URLs",
        Some("[]"),
        None,
        "daemon.json's registry-mirrors, set only when not empty.",
    ),
    key(
        "engine.daemon_json",
        "object",
        Some("{}"),
        None,
        "Further daemon.json keys, set as given. Every other key of daemon.json is kept.",
    ),
    key(
        "engine.start",
        "boolean",
        Some("false"),
        None,
        "Start docker when it is not running (offline: enable it).",
    ),
    key(
        "mounts.nfs",
        "list of paths",
        Some("[]"),
        None,
        "Mount points that must be NFS (nfs or nfs4), mounted, and answering.",
    ),
    key(
        "mounts.timeout_seconds",
        "integer, seconds",
        Some("5"),
        Some((1, 300)),
        "How long all the NFS answers may take together.",
    ),
    key(
        "swarm.managers",
        "list of HOST[:PORT]",
        None,
        None,
        "The managers' swarm addresses (port 2377 when absent), tried in order.",
    ),
    key(
        "swarm.role",
        "worker | manager",
        Some("\"worker\""),
        None,
        "The role the node joins as.",
    ),
    key(
        "swarm.token",
        "object",
        None,
        None,
        "How the token comes, and how the managers are reached: its source and the source's \
         keys below.",
    ),
    key(
        "swarm.token.source",
        "ssh | tls | file | tcp",
        None,
        None,
        "ssh: a manager over ssh (with broker: true, through the broker). tls: the managers' \
         Engine API with a client certificate. file: a root-only file (no labels). tcp: the \
         plaintext API (with allow_insecure_tcp only).",
    ),
    token(
        "ssh",
        "swarm.token.user",
        "user name",
        Some("\"root\""),
        None,
        "The user on the managers (the broker's: swarmnode-broker).",
    ),
    token(
        "ssh",
        "swarm.token.identity_file",
        "path",
        Some("null"),
        None,
        "The node's key. With a bootstrap key, the node makes it here at its first join.",
    ),
    token(
        "ssh",
        "swarm.token.known_hosts_file",
        "path",
        Some("null"),
        None,
        "The managers' host keys (default: ssh's own files). Host keys are always checked.",
    ),
    token(
        "ssh",
        "swarm.token.port",
        "integer",
        Some("22"),
        Some((1, 65_535)),
        "The managers' ssh port.",
    ),
    token(
        "ssh",
        "swarm.token.connect_timeout_seconds",
        "integer, seconds",
        Some("10"),
        Some((1, 300)),
        "ssh's connect timeout, per try.",
    ),
    token(
        "ssh",
        "swarm.token.broker",
        "boolean",
        Some("false"),
        None,
        "The managers answer through `swarmnode broker` (docs/managers.md).",
    ),
    token(
        "ssh",
        "swarm.token.bootstrap_identity_file",
        "path",
        Some("null"),
        None,
        "With the broker: a bootstrap key. The node then makes its own key at identity_file \
         and enrols it. Must differ from identity_file.",
    ),
    token(
        "tls",
        "swarm.token.ca_file",
        "path",
        None,
        None,
        "The managers' CA.",
    ),
    token(
        "tls",
        "swarm.token.cert_file",
        "path",
        None,
        None,
        "The node's client certificate.",
    ),
    token(
        "tls",
        "swarm.token.key_file",
        "path",
        None,
        None,
        "The node's client key.",
    ),
    token(
        "tls",
        "swarm.token.port",
        "integer",
        Some("2376"),
        Some((1, 65_535)),
        "The managers' TLS Engine API port.",
    ),
    token(
        "file",
        "swarm.token.path",
        "path",
        None,
        None,
        "The token file: a regular file, owner root, mode 0600, in a directory only root can \
         write.",
    ),
    token(
        "tcp",
        "swarm.token.port",
        "integer",
        Some("2375"),
        Some((1, 65_535)),
        "The managers' plaintext Engine API port.",
    ),
    token(
        "tcp",
        "swarm.token.allow_insecure_tcp",
        "boolean, must be true",
        None,
        None,
        "Must be true: anyone on the network can do what the node does there.",
    ),
    key(
        "swarm.labels",
        "object of strings",
        Some("{}"),
        None,
        "The node's labels, set by a manager when missing or different.",
    ),
    key(
        "swarm.ca_hash",
        "sha256:HEX, or a token's CA part",
        Some("null"),
        None,
        "Pins the cluster's root CA: `docker swarm ca | sha256sum` on a manager, or the \
         50-character third part of a join token.",
    ),
    key(
        "swarm.join_timeout_seconds",
        "integer, seconds",
        Some("300"),
        Some((1, 86_400)),
        "Each call to the managers: all tries, all managers.",
    ),
    key(
        "swarm.start_jitter_seconds",
        "integer, seconds",
        Some("5"),
        Some((0, 600)),
        "A random wait of up to this before a join's first call to a manager (a rack booting \
         at once): 5 up to 24 nodes booted together, 10 up to 50, 20 up to 100, about a fifth \
         of the node count beyond (docs/performance.md).",
    ),
    key(
        "swarm.advertise_addr",
        "address",
        Some("null"),
        None,
        "Default: this host's address toward the first manager.",
    ),
    key(
        "swarm.listen_addr",
        "ADDR:PORT",
        Some("\"0.0.0.0:2377\""),
        None,
        "The swarm's listen address.",
    ),
    key(
        "swarm.remove_stale_nodes",
        "boolean",
        Some("false"),
        None,
        "Remove Down workers with this hostname and another node ID (left by re-provisioning); looked for once per node ID.",
    ),
    key(
        "check.warn_percent",
        "integer, %",
        Some("80"),
        Some((1, 99)),
        "Yellow from here: the thin pool's data and metadata, the overlay2 volume's space and \
         inodes. Below crit_percent.",
    ),
    key(
        "check.crit_percent",
        "integer, %",
        Some("90"),
        Some((2, 100)),
        "Red from here. Above warn_percent.",
    ),
    key(
        "check.timer",
        "boolean",
        Some("false"),
        None,
        "true: apply installs and starts swarmnode-check.timer. false: apply takes away one an \
         earlier run installed.",
    ),
    key(
        "check.interval_minutes",
        "integer, minutes",
        Some("5"),
        Some((1, 1440)),
        "How often the timer runs the check.",
    ),
    key(
        "check.xymon",
        "SERVER[:PORT]",
        Some("null"),
        None,
        "The Xymon server the timer sends to (port 1984 when absent).",
    ),
    key(
        "check.xymon_column",
        "letters, digits, _ -",
        Some("\"swarmnode\""),
        None,
        "The Xymon column (test name).",
    ),
    key(
        "check.xymon_host",
        "host name",
        Some("null"),
        None,
        "The name in Xymon's hosts.cfg. Default: the kernel's host name.",
    ),
    key(
        "check.textfile",
        "absolute path ending in .prom",
        Some("null"),
        None,
        "The file the timer writes for node_exporter's textfile collector. Every directory on \
         its way must be root's and writable by root only.",
    ),
    key(
        "backup.directory",
        "absolute path",
        Some("\"/var/backups/swarmnode\""),
        None,
        "Where the archives are written. Made 0700 when it is not there; it must be root's and \
         writable by root only. The archives hold the swarm's keys: keep copies elsewhere too.",
    ),
    key(
        "backup.keep",
        "integer",
        Some("7"),
        Some((1, 1000)),
        "How many of this manager's archives stay. Older ones are removed after each backup.",
    ),
    key(
        "backup.interval",
        "duration: 1h to 365d (`1d`, `12h`, `90m`)",
        Some("\"1d\""),
        None,
        "How often the timer runs `swarmnode backup --scheduled`. check turns yellow when the \
         newest archive is older than twice this.",
    ),
    key(
        "broker.user",
        "user name",
        Some("\"swarmnode-broker\""),
        None,
        "The system user sshd runs the broker as. apply makes it.",
    ),
    key(
        "broker.labels",
        "object of lists of strings",
        Some("{}"),
        None,
        "The label keys nodes may set on themselves, each with its allowed values.",
    ),
    key(
        "broker.manager_tokens",
        "boolean",
        Some("false"),
        None,
        "Hand out manager join tokens too.",
    ),
    key(
        "broker.networks",
        "list of ADDR/BITS",
        Some("[]"),
        None,
        "The networks callers may come from; a bootstrap key's from=. Empty: any.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;
    use serde_json::{Value, json};
    use std::collections::BTreeSet;
    use std::path::Path;

    /// Keys whose value is a map of the site's own keys: a leaf for the reference.
    const MAPS: &[&str] = &["engine.daemon_json", "swarm.labels", "broker.labels"];

    /// Every section, with only what is required (the ssh source unless `token` says).
    fn minimal(token: Value) -> Value {
        json!({"storage": {}, "engine": {"registries": [{"host": "r.example.org:5000"}]},
               "mounts": {}, "swarm": {"managers": ["m1:2377"], "token": token},
               "check": {}, "broker": {}, "backup": {}})
    }

    fn tokens() -> Vec<(&'static str, Value)> {
        vec![
            ("ssh", json!({"source": "ssh"})),
            (
                "tls",
                json!({"source": "tls", "ca_file": "/a", "cert_file": "/b", "key_file": "/c"}),
            ),
            (
                "file",
                json!({"source": "file", "path": "/etc/swarmnode/join-token"}),
            ),
            ("tcp", json!({"source": "tcp", "allow_insecure_tcp": true})),
        ]
    }

    fn parsed(v: &Value) -> Result<Value, String> {
        Profile::parse(Path::new("keys-test.json"), &v.to_string())
            .map(|p| serde_json::to_value(p).unwrap())
            .map_err(|e| e.to_string())
    }

    fn leaves(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
        match v {
            Value::Object(m) if !MAPS.contains(&prefix) => {
                for (k, v) in m {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    leaves(&p, v, out);
                }
            }
            Value::Array(a) if a.first().is_some_and(Value::is_object) => {
                out.push((prefix.to_string(), v.clone()));
                leaves(&format!("{prefix}[]"), &a[0], out);
            }
            _ => out.push((prefix.to_string(), v.clone())),
        }
    }

    fn documented(source: &str) -> Vec<&'static Key> {
        KEYS.iter()
            .filter(|k| k.source.is_none_or(|s| s == source))
            .collect()
    }

    #[test]
    fn every_key_the_profile_has_is_documented_with_its_default() {
        for (source, t) in tokens() {
            let mut got = Vec::new();
            leaves("", &parsed(&minimal(t.clone())).unwrap(), &mut got);
            let mut without = minimal(t);
            without["engine"] = json!({});
            let mut bare = Vec::new();
            leaves("", &parsed(&without).unwrap(), &mut bare);
            let docs = documented(source);
            let names: BTreeSet<&str> = docs.iter().map(|k| k.path).collect();
            for (path, _) in &got {
                assert!(
                    names.contains(path.as_str()),
                    "{path} ({source}) is not in profile::keys::KEYS"
                );
            }
            let have: BTreeSet<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
            for k in &docs {
                // Optional keys serialised only when set are checked by their default below.
                let inner = format!("{}.", k.path);
                if have.iter().any(|p| p.starts_with(&inner)) {
                    continue;
                }
                let shown = have.contains(k.path);
                if !shown {
                    assert_eq!(
                        k.default,
                        Some("null"),
                        "{} ({source}) is documented but the profile has no such key",
                        k.path
                    );
                    continue;
                }
                // The default as the code gives it: in a profile that does not set the key (the
                // registry's own keys: in the profile with one registry).
                let value = &bare
                    .iter()
                    .chain(&got)
                    .find(|(p, _)| p == k.path)
                    .unwrap()
                    .1;
                if let Some(d) = k.default {
                    assert_eq!(
                        value,
                        &serde_json::from_str::<Value>(d).unwrap(),
                        "{}: the documented default is not the code's",
                        k.path
                    );
                }
            }
        }
    }

    /// Sets `path` (a `swarm.token` key for `source`) to `v` in the minimal profile.
    fn with(source: &str, path: &str, v: u64, also: &[(&str, u64)]) -> Value {
        let t = tokens().into_iter().find(|(s, _)| *s == source).unwrap().1;
        let mut p = minimal(t);
        for (path, v) in std::iter::once((path, v)).chain(also.iter().copied()) {
            let mut at = &mut p;
            let parts: Vec<&str> = path.split('.').collect();
            for part in &parts[..parts.len() - 1] {
                at = at
                    .as_object_mut()
                    .unwrap()
                    .entry(part.to_string())
                    .or_insert(json!({}));
            }
            at[parts[parts.len() - 1]] = json!(v);
        }
        p
    }

    #[test]
    fn every_documented_range_is_the_one_enforced() {
        // Keys whose bound depends on another key: what that key is set to for the test.
        let context = |path: &str| -> Vec<(&'static str, u64)> {
            match path {
                "storage.thinpool.metadata_percent" => vec![("storage.thinpool.data_percent", 80)],
                "check.warn_percent" => vec![("check.crit_percent", 100)],
                "check.crit_percent" => vec![("check.warn_percent", 1)],
                _ => vec![],
            }
        };
        let mut tested = 0;
        for k in KEYS {
            let Some((lo, hi)) = k.range else { continue };
            let source = k.source.unwrap_or("ssh");
            let also = context(k.path);
            for ok in [lo, hi] {
                parsed(&with(source, k.path, ok, &also))
                    .unwrap_or_else(|e| panic!("{}: {ok} is documented as valid: {e}", k.path));
            }
            let mut outside = vec![hi + 1];
            if lo > 0 {
                outside.push(lo - 1);
            }
            for bad in outside {
                let e = parsed(&with(source, k.path, bad, &also))
                    .expect_err(&format!("{}: {bad} is documented as invalid", k.path));
                // serde names a tagged enum's key by the enum (swarm.token), not by the key.
                let named = if k.source.is_some() {
                    "swarm.token"
                } else {
                    k.path
                };
                assert!(e.contains(named), "{}: {bad}: {e}", k.path);
            }
            tested += 1;
        }
        assert!(tested >= 14, "{tested}");
    }
}
