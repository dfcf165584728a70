//! The engine step: /etc/docker/daemon.json merged (never blindly overwritten), registry CAs
//! trusted, docker.service flags that fight daemon.json resolved, and docker restarted only when
//! its configuration changed. One module per concern:
//!
//! - [`daemon_json`]: read, merge, the TCP listener rule, `dockerd --validate`, the write;
//! - [`registry`]: the registries' CA files;
//! - [`dropins`]: docker.service's drop-ins and command line against daemon.json;
//! - [`service`]: reload, enable, restart (with its undo) or start.

pub mod daemon_json;
pub mod dropins;
pub mod registry;
pub mod service;

use crate::error::Result;
use crate::host::Host;
use crate::host::systemd;
use crate::profile::{Driver, Engine};

use crate::steps::plan::StepPlan;

pub use daemon_json::DAEMON_JSON;
pub use dropins::DROPIN;
pub use registry::CERTS_D;

/// Observes the host and plans the engine step. `driver` and `pool` are what the storage step
/// chose (`None` when it has not run).
pub fn plan(
    host: &Host,
    e: &Engine,
    driver: Option<Driver>,
    pool: &str,
    version: crate::steps::EngineLookup,
) -> Result<StepPlan> {
    let mut p = StepPlan::new("engine");
    let daemon = daemon_json::add(host, e, driver, pool, version, &mut p)?;
    let ca_changed = registry::add(host, e, &mut p)?;
    let svc = systemd::read_service(host, "docker.service")?;
    let units_changed = dropins::add(host, e, &svc, &daemon.map, &mut p)?;
    service::add(
        host,
        e,
        &svc,
        daemon.changed || ca_changed,
        units_changed,
        &mut p,
    )?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::daemon_json::*;
    use super::dropins::*;
    use super::registry::*;
    use crate::host::fs::sha256_hex;
    use crate::host::systemd::{expand, parse_env, parse_unit};
    use crate::profile::{Driver, Engine};
    use serde_json::{Map, Value, json};

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn merge_keeps_foreign_keys_and_sets_managed_ones() {
        let old = obj(
            json!({"log-driver": "journald", "storage-driver": "overlay2", "live-restore": true}),
        );
        let e = Engine {
            insecure_registries: vec!["reg:5000".into()],
            ..Default::default()
        };
        let (new, w) = merge(
            &old,
            &e,
            Some(Driver::Devicemapper),
            "/dev/mapper/docker-thinpool",
        )
        .unwrap();
        assert!(w.is_empty());
        assert_eq!(new["log-driver"], "journald");
        assert_eq!(new["live-restore"], true);
        assert_eq!(new["storage-driver"], "devicemapper");
        assert_eq!(
            new["storage-opts"][0],
            "dm.thinpooldev=/dev/mapper/docker-thinpool"
        );
        assert_eq!(new["insecure-registries"], json!(["reg:5000"]));
    }

    #[test]
    fn overlay2_drops_dm_options_only() {
        let old = obj(
            json!({"storage-driver": "devicemapper", "storage-opts": ["dm.thinpooldev=/dev/mapper/x", "overlay2.size=20G"]}),
        );
        let (new, _) = merge(&old, &Engine::default(), Some(Driver::Overlay2), "").unwrap();
        assert_eq!(new["storage-opts"], json!(["overlay2.size=20G"]));
        let old = obj(json!({"storage-opts": ["dm.basesize=20G"]}));
        let (new, _) = merge(&old, &Engine::default(), Some(Driver::Overlay2), "").unwrap();
        assert!(!new.contains_key("storage-opts"));
    }

    #[test]
    fn plaintext_tcp_needs_tls_or_the_opt_in() {
        let seed = obj(json!({"hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]}));
        let e = merge(&seed, &Engine::default(), None, "").unwrap_err();
        assert_eq!(e.exit_code(), 65);
        assert!(
            e.to_string()
                .contains("tcp://0.0.0.0:2375 without tlsverify"),
            "{e}"
        );
        let allow = Engine {
            allow_insecure_tcp: true,
            ..Default::default()
        };
        let (new, w) = merge(&seed, &allow, None, "").unwrap();
        assert_eq!(new["hosts"][1], "tcp://0.0.0.0:2375");
        assert_eq!(w.len(), 1);
        let tls = Engine {
            hosts: vec![
                "unix:///var/run/docker.sock".into(),
                "tcp://0.0.0.0:2376".into(),
            ],
            tls_ca: Some("/etc/docker/ca.pem".into()),
            tls_cert: Some("/etc/docker/cert.pem".into()),
            tls_key: Some("/etc/docker/key.pem".into()),
            ..Default::default()
        };
        let (new, w) = merge(&Map::new(), &tls, None, "").unwrap();
        assert!(w.is_empty());
        assert_eq!(new["tlsverify"], true);
        let local = Engine {
            hosts: vec!["tcp://127.0.0.1:2375".into()],
            ..Default::default()
        };
        assert!(merge(&Map::new(), &local, None, "").is_ok());
    }

    #[test]
    fn tcp_listeners_are_read_as_dockerd_reads_them() {
        let open = |h: &str| !unauthenticated_tcp(&[h.to_string()], false).is_empty();
        for h in [
            "tcp://0.0.0.0:2375",
            "0.0.0.0:2375",
            " tcp://0.0.0.0:2375 ",
            "tcp://:2375",
            ":2375",
            "tcp://[::]:2375",
            "tcp://10.0.0.5:2375",
            "tcp://node1.example.org:2375",
            "tcp://0.0.0.0",
            "tcp://127.0.0.1.example.org:2375",
        ] {
            assert!(open(h), "{h:?} is off loopback");
        }
        for h in [
            "unix:///var/run/docker.sock",
            "fd://",
            "tcp://127.0.0.1:2375",
            "127.0.0.2:2375",
            "tcp://localhost:2375",
            "tcp://[::1]:2375",
            "",
        ] {
            assert!(!open(h), "{h:?} is not");
        }
        assert!(unauthenticated_tcp(&["tcp://0.0.0.0:2376".into()], true).is_empty());
        let none = std::collections::BTreeMap::new();
        let line = CommandLine::read(
            "dockerd -H fd:// -Htcp://0.0.0.0:2375 --host=unix:///x -H=:2375 --host 1.2.3.4:2375",
            &none,
            &[],
        );
        assert_eq!(
            line.hosts,
            [
                "fd://",
                "tcp://0.0.0.0:2375",
                "unix:///x",
                ":2375",
                "1.2.3.4:2375"
            ]
        );
        assert_eq!(line.tlsverify, None);
    }

    #[test]
    fn a_command_line_is_read_as_systemd_and_pflag_read_it() {
        // Found in review: quotes, grouped short flags, the last --tlsverify, Environment=.
        let mut env = std::collections::BTreeMap::new();
        env.insert("OPTS".to_string(), "-H tcp://0.0.0.0:2376".to_string());
        let line = CommandLine::read(
            r#"/usr/bin/dockerd "-H" "tcp://0.0.0.0:2375" -DH tcp://[::]:2377 --tlsverify --tlsverify=false $OPTS"#,
            &env,
            &[],
        );
        assert_eq!(
            line.hosts,
            [
                "tcp://0.0.0.0:2375",
                "tcp://[::]:2377",
                "tcp://0.0.0.0:2376"
            ]
        );
        assert_eq!(line.tlsverify, Some(false), "the last one wins");
        let u = parse_unit(
            "[Service]\nEnvironment=\"OPTS=-H tcp://0.0.0.0:2375\" X=1\nExecStart=/usr/bin/dockerd $OPTS\n",
        );
        assert_eq!(
            u.environment,
            [
                ("OPTS".to_string(), "-H tcp://0.0.0.0:2375".to_string()),
                ("X".into(), "1".into())
            ]
        );
        let line = CommandLine::read("dockerd --config-file /etc/other.json", &none(), &[]);
        assert_eq!(line.config_file.as_deref(), Some("/etc/other.json"));
    }

    fn none() -> std::collections::BTreeMap<String, String> {
        std::collections::BTreeMap::new()
    }

    #[test]
    fn a_rewritten_command_line_keeps_what_it_can_as_written() {
        // Found in review: expanded environment values must not be copied into a drop-in when
        // the word they came from loses nothing.
        let mut env = none();
        env.insert(
            "OPTIONS".into(),
            "--selinux-enabled --log-driver=journald".into(),
        );
        env.insert(
            "STORAGE".into(),
            "--storage-driver devicemapper --storage-opt dm.x=1 --secret=s3".into(),
        );
        let keys = [
            "storage-driver".to_string(),
            "storage-opts".to_string(),
            "hosts".to_string(),
        ];
        let line = CommandLine::read(
            "/usr/bin/dockerd -DH fd:// --add-runtime r=/bin/r $OPTIONS $STORAGE \"--data-root\" /d",
            &env,
            &keys,
        );
        assert_eq!(line.dropped, ["-H", "--storage-driver", "--storage-opt"]);
        assert_eq!(
            line.render(),
            "/usr/bin/dockerd -D --add-runtime r=/bin/r $OPTIONS --secret=s3 \"--data-root\" /d"
        );
    }

    #[test]
    fn tls_without_tlsverify_is_not_enough() {
        let m = obj(
            json!({"hosts": ["tcp://0.0.0.0:2376"], "tls": true, "tlscert": "/c", "tlskey": "/k"}),
        );
        let e = merge(&m, &Engine::default(), None, "").unwrap_err();
        assert!(e.to_string().contains("without tlsverify"), "{e}");
        let m = obj(json!({"hosts": [" 0.0.0.0:2375"]}));
        assert_eq!(
            merge(&m, &Engine::default(), None, "")
                .unwrap_err()
                .exit_code(),
            65
        );
    }

    #[test]
    fn render_is_stable_and_sorted() {
        let m = obj(json!({"b": 1, "a": [1, 2]}));
        assert_eq!(
            render(&m),
            "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": 1\n}\n"
        );
    }

    #[test]
    fn pem_checks() {
        let good =
            "-----BEGIN CERTIFICATE-----\nMIIB+zCCAWSgAwIBAgIUY=\n-----END CERTIFICATE-----\n";
        assert_eq!(check_pem(good).unwrap(), 1);
        assert!(check_pem("hello").is_err());
        assert!(check_pem("-----BEGIN CERTIFICATE-----\nMIIB\n").is_err());
        assert!(
            check_pem("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
                .is_err()
        );
        assert!(
            check_pem("-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n")
                .is_err()
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn unit_parsing_and_expansion() {
        let u = "[Unit]\nDescription=x\n[Service]\nEnvironmentFile=-/etc/sysconfig/docker\nExecStart=/usr/bin/dockerd-current \\\n  --add-runtime docker-runc=/usr/libexec/docker/docker-runc-current \\\n  $OPTIONS \\\n  $DOCKER_STORAGE_OPTIONS\n";
        let s = parse_unit(u);
        assert_eq!(s.environment_files, ["-/etc/sysconfig/docker"]);
        let env = parse_env(
            "OPTIONS='--selinux-enabled --log-driver=journald'\nDOCKER_STORAGE_OPTIONS=\"--storage-driver devicemapper --storage-opt dm.thinpooldev=/dev/mapper/x\"\n",
        );
        let w = expand(&s.exec_start[0], &env);
        assert_eq!(w[0], "/usr/bin/dockerd-current");
        assert!(w.contains(&"--selinux-enabled".to_string()));
        let line = CommandLine::read(
            &s.exec_start[0],
            &env,
            &["storage-driver".into(), "storage-opts".into()],
        );
        assert_eq!(line.dropped, ["--storage-driver", "--storage-opt"]);
        assert!(line.render().ends_with(" $OPTIONS"), "{}", line.render());
    }

    proptest::proptest! {
        #[test]
        fn no_unit_file_makes_the_unit_parsers_panic(
            unit in "(\\[Service\\]\n)?([A-Za-z]{0,12}=?[ -~$éß{}\\\\]{0,30}\n){0,8}",
            t in "\\PC{0,200}",
        ) {
            for text in [&unit, &t] {
                let s = parse_unit(text);
                let env = parse_env(text);
                for e in &s.exec_start {
                    let line = CommandLine::read(e, &env, &["hosts".into(), "storage-opts".into()]);
                    let _ = line.render();
                }
                let _ = expand(text, &env);
            }
        }
    }

    #[test]
    fn conflicting_flag_forms() {
        let line = CommandLine::read(
            "dockerd -H fd:// --containerd=/run/containerd/containerd.sock -Htcp://0.0.0.0:2375 --host=unix:///x --tlsverify -D",
            &none(),
            &["hosts".into(), "tlsverify".into()],
        );
        assert_eq!(
            line.render(),
            "dockerd --containerd=/run/containerd/containerd.sock -D"
        );
        assert_eq!(line.dropped, ["-H", "--host", "--tlsverify"]);
    }
}
