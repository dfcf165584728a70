//! Tier 2: the engine step against a fake root: daemon.json merge, TLS rule, registry CA trust,
//! docker.service drop-in fixes for the stock docker-ce unit, CentOS 7's docker package with its
//! sysconfig files, and the seed's swarm.conf; restarts only when something changed.

use crate::common::*;

const CA: &str = include_str!("../fixtures/pki/registry-ca.crt");
const CA_SHA256: &str = "830a3cf2c245c93b2cba1d0c649fad74a8ea1668fac6ada059552d6e80091e32";
const STOCK_UNIT: &str = "[Unit]\nDescription=Docker Application Container Engine\n[Service]\nType=notify\nExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock\nExecReload=/bin/kill -s HUP $MAINPID\n";
const SEED_DAEMON_JSON: &str = r#"{
    "hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"],
    "storage-driver": "devicemapper",
    "storage-opts": [
        "dm.thinpooldev=/dev/mapper/docker-thinpool",
        "dm.use_deferred_removal=true",
        "dm.use_deferred_deletion=true"
    ]
}
"#;

/// A node whose storage step recorded the thin pool, with docker-ce's stock unit, systemd running
/// (the fake root's default) and docker active.
fn node() -> Fake {
    let f = Fake::new();
    f.pool_record();
    f.file("usr/lib/systemd/system/docker.service", STOCK_UNIT);
    f.out("systemctl", "active\n");
    f
}

fn profile(f: &Fake, engine: &str) -> String {
    let p = f.tmp.path().join("profile.json");
    std::fs::write(&p, format!(r#"{{"engine": {engine}}}"#)).unwrap();
    p.display().to_string()
}

fn daemon_json(f: &Fake) -> serde_json::Value {
    serde_json::from_str(
        &f.read("etc/docker/daemon.json")
            .expect("daemon.json written"),
    )
    .unwrap()
}

#[test]
fn merge_keeps_foreign_keys_sets_the_pool_and_restarts_once() {
    let f = node();
    f.file(
        "etc/docker/daemon.json",
        r#"{"log-driver": "journald", "live-restore": true}"#,
    );
    let p = profile(
        &f,
        r#"{"hosts": ["unix:///var/run/docker.sock"], "registry_mirrors": ["https://mirror.local:5000"]}"#,
    );
    let o = f.run(&["engine", "--profile", &p]);
    expect_code(&o, 0);
    let d = daemon_json(&f);
    assert_eq!(d["log-driver"], "journald");
    assert_eq!(d["live-restore"], true);
    assert_eq!(d["storage-driver"], "devicemapper");
    assert_eq!(
        d["storage-opts"][0],
        "dm.thinpooldev=/dev/mapper/docker-thinpool"
    );
    assert_eq!(
        d["hosts"],
        serde_json::json!(["unix:///var/run/docker.sock"])
    );
    assert_eq!(d["registry-mirrors"][0], "https://mirror.local:5000");
    assert_eq!(
        f.read("etc/docker/daemon.json.swarmnode.bak").unwrap(),
        r#"{"log-driver": "journald", "live-restore": true}"#
    );
    let m = f.mutating_calls();
    assert_eq!(
        m.iter()
            .filter(|c| *c == "systemctl restart docker")
            .count(),
        1,
        "{m:?}"
    );
    assert!(m.contains(&"systemctl daemon-reload".to_string()), "{m:?}");
    // second run: nothing written, nothing restarted
    let before = std::fs::metadata(f.root.join("etc/docker/daemon.json"))
        .unwrap()
        .modified()
        .unwrap();
    f.next_run();
    let o = f.run(&["engine", "--profile", &p]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("engine: converged: nothing to do"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        f.calls()
            .iter()
            .filter(|c| c.starts_with("systemctl") && !c.contains("is-active"))
            .count(),
        0,
        "{:?}",
        f.calls()
    );
    assert_eq!(
        std::fs::metadata(f.root.join("etc/docker/daemon.json"))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );
}

#[test]
fn stock_docker_ce_unit_gets_a_drop_in_without_dash_h() {
    let f = node();
    let p = profile(&f, r#"{"hosts": ["unix:///var/run/docker.sock"]}"#);
    expect_code(&f.run(&["engine", "--profile", &p]), 0);
    let d = f
        .read("etc/systemd/system/docker.service.d/swarmnode.conf")
        .expect("drop-in written");
    assert!(
        d.contains("[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --containerd=/run/containerd/containerd.sock\n"),
        "{d}"
    );
    assert!(
        d.contains("also sets (-H)"),
        "the drop-in says what it removed: {d}"
    );
}

#[test]
fn no_hosts_key_means_no_drop_in() {
    let f = node();
    let p = profile(&f, r#"{"insecure_registries": ["reg.local:5000"]}"#);
    expect_code(&f.run(&["engine", "--profile", &p]), 0);
    assert!(
        f.read("etc/systemd/system/docker.service.d/swarmnode.conf")
            .is_none()
    );
}

#[test]
fn centos7_docker_package_with_sysconfig_storage_options() {
    let f = node();
    f.file(
        "usr/lib/systemd/system/docker.service",
        "[Service]\nType=notify\nEnvironmentFile=-/run/containers/registries.conf\nEnvironmentFile=-/etc/sysconfig/docker\nEnvironmentFile=-/etc/sysconfig/docker-storage\nEnvironmentFile=-/etc/sysconfig/docker-network\nEnvironment=GOTRACEBACK=crash\nExecStart=/usr/bin/dockerd-current \\\n          --add-runtime docker-runc=/usr/libexec/docker/docker-runc-current \\\n          --default-runtime=docker-runc \\\n          --exec-opt native.cgroupdriver=systemd \\\n          $OPTIONS \\\n          $DOCKER_STORAGE_OPTIONS \\\n          $DOCKER_NETWORK_OPTIONS \\\n          $INSECURE_REGISTRY\n",
    );
    f.file("etc/sysconfig/docker", "# /etc/sysconfig/docker\nOPTIONS='--selinux-enabled --log-driver=journald --signature-verification=false'\n");
    f.file(
        "etc/sysconfig/docker-storage",
        "DOCKER_STORAGE_OPTIONS=\"--storage-driver overlay2 \"\n",
    );
    f.file("etc/sysconfig/docker-network", "DOCKER_NETWORK_OPTIONS=\n");
    let p = profile(&f, r#"{}"#);
    expect_code(&f.run(&["engine", "--profile", &p]), 0);
    let d = f
        .read("etc/systemd/system/docker.service.d/swarmnode.conf")
        .expect("drop-in written");
    assert!(
        d.contains("ExecStart=\nExecStart=/usr/bin/dockerd-current --add-runtime docker-runc=/usr/libexec/docker/docker-runc-current --default-runtime=docker-runc --exec-opt native.cgroupdriver=systemd $OPTIONS $DOCKER_NETWORK_OPTIONS $INSECURE_REGISTRY\n"),
        "{d}"
    );
    // The variables are still read at start (EnvironmentFile= stays); their values are not
    // copied into the drop-in, and a dropped flag is named without its value.
    assert!(d.contains("(--storage-driver)"), "{d}");
    assert!(
        !d.contains("--selinux-enabled") && !d.contains("overlay2"),
        "{d}"
    );
    assert_eq!(daemon_json(&f)["storage-driver"], "devicemapper");
}

#[test]
fn seed_swarm_conf_is_moved_aside_and_the_seed_daemon_json_needs_the_opt_in() {
    let f = node();
    f.file(
        "etc/systemd/system/docker.service.d/swarm.conf",
        "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H unix:///var/run/docker.sock -H tcp://0.0.0.0:2375\n",
    );
    f.file("etc/docker/daemon.json", SEED_DAEMON_JSON);
    // The seed's daemon.json exposes the API in plaintext: refused, nothing touched.
    let p = profile(&f, r#"{}"#);
    let e = expect_refused(
        &f,
        &["engine", "--profile", &p],
        "tcp://0.0.0.0:2375 without tlsverify",
    );
    assert!(e.contains("allow_insecure_tcp"), "{e}");
    assert_eq!(f.read("etc/docker/daemon.json").unwrap(), SEED_DAEMON_JSON);
    assert!(
        f.read("etc/systemd/system/docker.service.d/swarm.conf")
            .is_some()
    );
    // A profile that sets hosts replaces them; swarm.conf goes aside; the stock -H fd:// is dropped.
    let p = profile(&f, r#"{"hosts": ["unix:///var/run/docker.sock"]}"#);
    let o = f.run(&["engine", "--profile", &p]);
    expect_code(&o, 0);
    assert!(
        f.read("etc/systemd/system/docker.service.d/swarm.conf")
            .is_none()
    );
    assert!(
        f.read("etc/systemd/system/docker.service.d/swarm.conf.bk")
            .is_some()
    );
    assert!(stdout(&o).contains("rename /etc/systemd/system/docker.service.d/swarm.conf -> /etc/systemd/system/docker.service.d/swarm.conf.bk"), "{}", stdout(&o));
    assert_eq!(
        daemon_json(&f)["hosts"],
        serde_json::json!(["unix:///var/run/docker.sock"])
    );
    assert!(
        f.read("etc/systemd/system/docker.service.d/swarmnode.conf")
            .unwrap()
            .contains("ExecStart=/usr/bin/dockerd --containerd=")
    );
}

#[test]
fn plaintext_tcp_with_the_opt_in_warns_on_every_run() {
    let f = node();
    f.file("etc/docker/daemon.json", SEED_DAEMON_JSON);
    let p = profile(&f, r#"{"allow_insecure_tcp": true}"#);
    for _ in 0..2 {
        let o = f.run(&["engine", "--profile", &p]);
        expect_code(&o, 0);
        assert!(
            stderr(&o).contains("without tlsverify (allow_insecure_tcp"),
            "{}",
            stderr(&o)
        );
        f.next_run();
    }
    assert_eq!(daemon_json(&f)["hosts"][1], "tcp://0.0.0.0:2375");
}

#[test]
fn tls_listener_gets_tlsverify() {
    let f = node();
    let p = profile(
        &f,
        r#"{"hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2376"], "tls_ca": "/etc/docker/tls/ca.pem", "tls_cert": "/etc/docker/tls/cert.pem", "tls_key": "/etc/docker/tls/key.pem"}"#,
    );
    expect_code(&f.run(&["engine", "--profile", &p]), 0);
    let d = daemon_json(&f);
    assert_eq!(d["tlsverify"], true);
    assert_eq!(d["tlskey"], "/etc/docker/tls/key.pem");
}

#[test]
fn malformed_daemon_json_is_refused_untouched() {
    let f = node();
    f.file(
        "etc/docker/daemon.json",
        "{\"storage-driver\": \"overlay2\",,}\n",
    );
    let p = profile(&f, r#"{}"#);
    expect_refused(
        &f,
        &["engine", "--profile", &p],
        "it is not valid JSON (key must be a string",
    );
    assert_eq!(
        f.read("etc/docker/daemon.json").unwrap(),
        "{\"storage-driver\": \"overlay2\",,}\n"
    );
}

#[test]
fn registry_ca_is_checked_pinned_and_installed() {
    let f = node();
    f.file("mnt/docker/registry/ca.crt", CA);
    let reg = |pin: &str| {
        format!(
            r#"{{"registries": [{{"host": "docker-registry.dccn.nl:5000", "ca_file": "/mnt/docker/registry/ca.crt"{pin}}}]}}"#
        )
    };
    let bad_pin = format!(r#", "ca_sha256": "{}""#, "0".repeat(64));
    let e = expect_refused(
        &f,
        &["engine", "--profile", &profile(&f, &reg(&bad_pin))],
        "but the profile pins 0000",
    );
    assert!(e.contains(CA_SHA256), "{e}");
    let pin = format!(r#", "ca_sha256": "{CA_SHA256}""#);
    expect_code(
        &f.run(&["engine", "--profile", &profile(&f, &reg(&pin))]),
        0,
    );
    let target = f
        .root
        .join("etc/docker/certs.d/docker-registry.dccn.nl:5000/ca.crt");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), CA);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&target).unwrap().permissions().mode() & 0o777,
        0o644
    );
    // missing and invalid files are refused by name
    f.next_run();
    std::fs::remove_file(f.root.join("mnt/docker/registry/ca.crt")).unwrap();
    expect_refused(
        &f,
        &["engine", "--profile", &profile(&f, &reg(""))],
        "it cannot be read: No such file",
    );
    f.file("mnt/docker/registry/ca.crt", "not a certificate\n");
    expect_refused(
        &f,
        &["engine", "--profile", &profile(&f, &reg(""))],
        "it is not a PEM certificate: no PEM certificate",
    );
}

#[test]
fn docker_not_running_is_not_restarted_but_started_when_asked() {
    let f = node();
    f.out("systemctl", "inactive\n");
    let p = profile(&f, r#"{"insecure_registries": ["reg.local:5000"]}"#);
    expect_code(&f.run(&["engine", "--profile", &p]), 0);
    assert!(
        !f.calls()
            .iter()
            .any(|c| c.starts_with("systemctl restart") || c.starts_with("systemctl start")),
        "{:?}",
        f.calls()
    );
    f.next_run();
    f.out("systemctl", "active\n");
    f.out_after("systemctl", 1, "inactive\n");
    let p = profile(
        &f,
        r#"{"insecure_registries": ["reg.local:5000"], "start": true}"#,
    );
    expect_code(&f.run(&["engine", "--profile", &p]), 0);
    assert!(
        f.calls().contains(&"systemctl start docker".to_string()),
        "{:?}",
        f.calls()
    );
}

#[test]
fn engine_26_validates_the_candidate_before_writing() {
    let f = node();
    std::fs::write(
        f.fake.join("bin/dockerd"),
        "#!/bin/sh\necho \"dockerd $*\" >> \"$FAKE/calls\"\nif [ \"$1\" = --validate ]; then echo 'unable to configure the Docker daemon with file x.json: invalid bip' >&2; exit 1; fi\necho 'Docker version 26.1.5+dfsg1, build a72d7cd'\n",
    )
    .unwrap();
    f.file("var/lib/swarmnode/storage.json", r#"{"driver": "overlay2", "device": "/dev/vdb", "volume_group": "docker", "volume": "/dev/docker/dockerdata"}"#);
    f.file("etc/docker/daemon.json", "{\"bip\": \"not-an-ip\"}\n");
    let p = profile(&f, r#"{}"#);
    let e = expect_refused(
        &f,
        &["engine", "--profile", &p],
        "rejects the daemon.json swarmnode would write",
    );
    assert!(e.contains("invalid bip"), "{e}");
    assert_eq!(
        f.read("etc/docker/daemon.json").unwrap(),
        "{\"bip\": \"not-an-ip\"}\n"
    );
    assert!(
        f.calls()
            .iter()
            .any(|c| c.starts_with("dockerd --validate --config-file ")),
        "{:?}",
        f.calls()
    );
}

#[test]
fn a_drop_in_whose_flags_come_from_another_drop_ins_environment_file_is_moved_aside() {
    let f = node();
    f.file(
        "etc/systemd/system/docker.service.d/10-env.conf",
        "[Service]\nEnvironmentFile=-/etc/sysconfig/swarm\n",
    );
    f.file(
        "etc/sysconfig/swarm",
        "SWARM_OPTS=\"-H unix:///var/run/docker.sock -H tcp://0.0.0.0:2375\"\n",
    );
    f.file(
        "etc/systemd/system/docker.service.d/swarm.conf",
        "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd $SWARM_OPTS\n",
    );
    let p = profile(&f, r#"{"hosts": ["unix:///var/run/docker.sock"]}"#);
    expect_code(&f.run(&["engine", "--profile", &p]), 0);
    assert!(
        f.read("etc/systemd/system/docker.service.d/swarm.conf.bk")
            .is_some(),
        "{:?}",
        f.calls()
    );
    assert!(
        f.read("etc/systemd/system/docker.service.d/10-env.conf")
            .is_some(),
        "a drop-in without flags stays"
    );
}

#[test]
fn plaintext_tcp_is_found_however_dockerd_would_read_it() {
    // No scheme, spaces, an empty host (every address), and TLS without tlsverify: all refused.
    for hosts in [
        r#"["unix:///var/run/docker.sock", "0.0.0.0:2375"]"#,
        r#"[" tcp://0.0.0.0:2375 "]"#,
        r#"["tcp://:2375"]"#,
    ] {
        let f = node();
        let daemon = format!(r#"{{"hosts": {hosts}}}"#);
        f.file("etc/docker/daemon.json", &daemon);
        let p = profile(&f, "{}");
        expect_refused(&f, &["engine", "--profile", &p], "without tlsverify");
        assert_eq!(f.read("etc/docker/daemon.json").unwrap(), daemon);
    }
    let f = node();
    let p = profile(
        &f,
        r#"{"hosts": ["tcp://0.0.0.0:2376"], "daemon_json": {"tls": true, "tlscert": "/c", "tlskey": "/k"}}"#,
    );
    expect_refused(
        &f,
        &["engine", "--profile", &p],
        "TLS without tlsverify checks no client",
    );
}

#[test]
fn a_unit_that_opens_plaintext_tcp_with_dash_h_is_refused() {
    let f = node();
    f.file(
        "etc/systemd/system/docker.service.d/swarm.conf",
        "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H unix:///var/run/docker.sock -H tcp://0.0.0.0:2375\n",
    );
    // The profile sets no hosts: the drop-in's flags stay, and with them the open port.
    let p = profile(&f, r#"{"insecure_registries": ["reg.local:5000"]}"#);
    let e = expect_refused(
        &f,
        &["engine", "--profile", &p],
        "/usr/lib/systemd/system/docker.service and its drop-ins (-H) would make dockerd listen on tcp://0.0.0.0:2375 without tlsverify",
    );
    assert!(e.contains("nothing was changed"), "{e}");
    assert!(f.read("etc/docker/daemon.json").is_none());
    // With client certificates required it is fine.
    f.file(
        "etc/systemd/system/docker.service.d/swarm.conf",
        "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H unix:///var/run/docker.sock -H tcp://0.0.0.0:2376 --tlsverify\n",
    );
    expect_code(&f.run(&["engine", "--profile", &p]), 0);
}

#[test]
fn a_registry_host_that_is_not_one_directory_name_is_refused() {
    let f = node();
    f.file("mnt/docker/registry/ca.crt", CA);
    let p = profile(
        &f,
        r#"{"registries": [{"host": "..", "ca_file": "/mnt/docker/registry/ca.crt"}]}"#,
    );
    expect_refused(
        &f,
        &["engine", "--profile", &p],
        "engine.registries[0].host: '..' is not HOST[:PORT]",
    );
    assert!(f.read("etc/docker/ca.crt").is_none());
}

#[test]
fn an_existing_file_keeps_its_mode_and_owner_and_the_original_is_kept_once() {
    use std::os::unix::fs::MetadataExt;
    let f = node();
    f.file("etc/docker/daemon.json", "{\"log-driver\": \"journald\"}\n");
    let path = f.root.join("etc/docker/daemon.json");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    std::os::unix::fs::chown(&path, Some(0), Some(4242)).unwrap();
    let p = profile(&f, r#"{"insecure_registries": ["reg.local:5000"]}"#);
    expect_code(&f.run(&["engine", "--profile", &p]), 0);
    let m = std::fs::metadata(&path).unwrap();
    assert_eq!(
        (m.mode() & 0o7777, m.gid()),
        (0o640, 4242),
        "mode and group kept"
    );
    let orig = f.root.join("etc/docker/daemon.json.swarmnode.orig");
    assert_eq!(
        std::fs::read_to_string(&orig).unwrap(),
        "{\"log-driver\": \"journald\"}\n"
    );
    let bak = std::fs::metadata(f.root.join("etc/docker/daemon.json.swarmnode.bak")).unwrap();
    assert_eq!(
        bak.mode() & 0o7777,
        0o640,
        "the backup has the old file's mode"
    );
    // A second change keeps the administrator's original as it was.
    f.next_run();
    let p = profile(&f, r#"{"insecure_registries": ["reg.local:5001"]}"#);
    expect_code(&f.run(&["engine", "--profile", &p]), 0);
    assert_eq!(
        std::fs::read_to_string(&orig).unwrap(),
        "{\"log-driver\": \"journald\"}\n"
    );
    // A file swarmnode created has no "original".
    assert!(
        f.read("etc/systemd/system/docker.service.d/swarmnode.conf.swarmnode.orig")
            .is_none()
    );
}

#[test]
fn reports_hold_no_file_contents_and_are_root_only() {
    let f = node();
    let p = profile(
        &f,
        r#"{"daemon_json": {"log-opts": {"tag": "canary-4f1e"}}}"#,
    );
    let o = f.run(&["--json", "engine", "--profile", &p]);
    expect_code(&o, 0);
    let daemon = f.read("etc/docker/daemon.json").unwrap();
    assert!(daemon.contains("canary-4f1e"));
    let report = f.read("var/lib/swarmnode/report.json").unwrap();
    for (what, text) in [("--json", stdout(&o)), ("report.json", report.clone())] {
        assert!(
            !text.contains("canary-4f1e"),
            "{what} holds file contents:\n{text}"
        );
    }
    let r: serde_json::Value = serde_json::from_str(&report).unwrap();
    let w = r["steps"][0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "engine.daemon-json")
        .unwrap()
        .clone();
    assert_eq!(w["size"], daemon.len());
    assert_eq!(w["sha256"].as_str().unwrap().len(), 64);
    assert!(w.get("content").is_none(), "{w}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(f.root.join("var/lib/swarmnode/report.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// A file swarmnode writes is never reached through a symbolic link (reset, which follows none,
/// could not put it back): refused before anything is written, and never written outside the
/// root.
#[test]
fn a_symlink_on_the_way_is_refused_and_never_leads_out_of_the_root() {
    let f = node();
    // ROOT/etc/docker points at an absolute path that also exists outside the root.
    let outside = f.tmp.path().join("outside-etc-docker");
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, f.root.join("etc/docker")).unwrap();
    let p = profile(&f, r#"{"insecure_registries": ["reg.local:5000"]}"#);
    let o = f.run(&["--json", "engine", "--profile", &p]);
    expect_code(&o, 65);
    let r = refusal(&o);
    assert_eq!(r["subject"], "/etc/docker/daemon.json", "{r}");
    assert!(
        r["reasons"][0].as_str().unwrap().contains(
            "/etc/docker is a symbolic link: swarmnode writes only where no link is followed"
        ),
        "{r}"
    );
    let changed: Vec<String> = f
        .mutating_calls()
        .into_iter()
        .filter(|c| !c.starts_with("systemctl is-"))
        .collect();
    assert!(changed.is_empty(), "{changed:?}");
    assert!(
        !outside.join("daemon.json").exists(),
        "daemon.json was written outside the root"
    );
    let inside = f
        .root
        .join(outside.strip_prefix("/").unwrap())
        .join("daemon.json");
    assert!(!inside.exists(), "daemon.json was written through the link");
}

#[test]
fn a_restart_that_fails_with_the_new_configuration_puts_the_old_one_back() {
    // docker 20.10 (no `dockerd --validate`): the new daemon.json is only tried by the restart.
    let f = node();
    let old = "{\n  \"log-driver\": \"journald\"\n}\n";
    f.file("etc/docker/daemon.json", old);
    let p = profile(
        &f,
        r#"{"hosts": ["unix:///var/run/docker.sock"], "daemon_json": {"no-such-option": true}}"#,
    );
    // systemctl: 1 is-active, 2 daemon-reload (the drop-in), 3 restart fails, then the undo
    // reloads again (4), clears the start limit (5) and the second restart (6) works.
    f.rc_at(
        "systemctl",
        3,
        1,
        "Job for docker.service failed because the control process exited with error code.\n",
    );
    let o = f.run(&["engine", "--profile", &p]);
    expect_code(&o, 1);
    let err = stderr(&o);
    assert!(
        err.contains("`engine.restart` failed after this step's changes"),
        "{err}"
    );
    assert!(
        err.contains("put back the previous /etc/docker/daemon.json"),
        "{err}"
    );
    assert!(
        err.contains("remove /etc/systemd/system/docker.service.d/swarmnode.conf"),
        "{err}"
    );
    assert!(
        err.contains("the node is as it was before this run"),
        "{err}"
    );
    assert_eq!(
        f.read("etc/docker/daemon.json").unwrap(),
        old,
        "the old file is back"
    );
    assert!(
        f.read("etc/systemd/system/docker.service.d/swarmnode.conf")
            .is_none()
    );
    let sc: Vec<String> = f
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("systemctl"))
        .collect();
    assert_eq!(
        sc,
        [
            "systemctl is-active docker",
            "systemctl daemon-reload",
            "systemctl restart docker",
            "systemctl daemon-reload",
            "systemctl reset-failed docker.service",
            "systemctl restart docker"
        ]
    );
    let report = f.read("var/lib/swarmnode/report.json").unwrap();
    assert!(report.contains("\"result\": \"failed\""), "{report}");
    // The plan says so beforehand.
    f.next_run();
    std::fs::remove_dir_all(f.fake.join("rc")).unwrap();
    std::fs::create_dir_all(f.fake.join("rc")).unwrap();
    let o = f.run(&["plan", "--profile", &p]);
    assert!(
        stdout(&o).contains("if it fails: remove /etc/systemd/system/docker.service.d/swarmnode.conf, put back the previous /etc/docker/daemon.json, remove /var/lib/swarmnode/engine.pending, `systemctl daemon-reload`, `systemctl reset-failed docker.service`, then run it again"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_run_killed_after_the_new_configuration_still_restarts_docker_next_time() {
    let f = node();
    let p = profile(&f, r#"{"hosts": ["unix:///var/run/docker.sock"]}"#);
    // Killed right after daemon.json is written: no reload, no restart yet.
    let o = f.run_env(
        &["engine", "--profile", &p],
        &[("SWARMNODE_FAILPOINT", "engine.daemon-json")],
    );
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(o.status.signal(), Some(9), "{}", stderr(&o));
    assert!(f.read("etc/docker/daemon.json").is_some());
    assert_eq!(
        f.read("var/lib/swarmnode/engine.pending").as_deref(),
        Some("reload\nrestart\n"),
        "the owed restart was noted before the first change"
    );
    // The next run finds daemon.json as wanted, and still reloads and restarts.
    f.next_run();
    let o = f.run(&["engine", "--profile", &p]);
    expect_code(&o, 0);
    let sc: Vec<String> = f
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("systemctl") && !c.contains("is-active"))
        .collect();
    assert_eq!(
        sc,
        ["systemctl daemon-reload", "systemctl restart docker"],
        "{}",
        stdout(&o)
    );
    assert!(f.read("var/lib/swarmnode/engine.pending").is_none());
    // And then nothing is owed.
    f.next_run();
    let o = f.run(&["engine", "--profile", &p]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("engine: converged: nothing to do"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_path_that_cannot_be_resolved_inside_the_root_is_never_taken_outside_it() {
    // Found in review: ROOT/var/lib/swarmnode -> /OUT, where ROOT/OUT is a regular file. The
    // resolution stops there; it must not fall back to a plain join that the kernel would follow
    // to the real /OUT.
    let f = node();
    let outside = f.tmp.path().join("outside-state");
    std::fs::create_dir_all(&outside).unwrap();
    let inside = f.root.join(outside.strip_prefix("/").unwrap());
    std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
    std::fs::write(&inside, "a file, not a directory").unwrap();
    std::fs::remove_dir_all(f.root.join("var/lib")).ok();
    std::fs::create_dir_all(f.root.join("var/lib")).unwrap();
    std::os::unix::fs::symlink(&outside, f.root.join("var/lib/swarmnode")).unwrap();
    let p = profile(&f, r#"{"insecure_registries": ["reg.local:5000"]}"#);
    let _ = f.run(&["engine", "--profile", &p]);
    let leaked: Vec<_> = std::fs::read_dir(&outside).unwrap().collect();
    assert!(leaked.is_empty(), "written outside the root: {leaked:?}");
}

#[test]
fn listeners_are_found_wherever_systemd_and_dockerd_would_find_them() {
    // Found in review: each of these opens the API on the network without tlsverify.
    let cases = [
        // quoted words
        (
            "usr/lib/systemd/system/docker.service.d/q.conf",
            "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd \"-H\" \"tcp://0.0.0.0:2375\"\n",
        ),
        // grouped short flags
        (
            "usr/lib/systemd/system/docker.service.d/g.conf",
            "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -DH tcp://0.0.0.0:2375\n",
        ),
        // the last --tlsverify wins
        (
            "usr/lib/systemd/system/docker.service.d/t.conf",
            "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2376 --tlsverify --tlsverify=false\n",
        ),
        // Environment=
        (
            "usr/lib/systemd/system/docker.service.d/e.conf",
            "[Service]\nEnvironment=\"OPTS=-H tcp://0.0.0.0:2375\"\nExecStart=\nExecStart=/usr/bin/dockerd $OPTS\n",
        ),
        // a drop-in directory of the search path, and the one for every service
        (
            "usr/local/lib/systemd/system/docker.service.d/l.conf",
            "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2375\n",
        ),
        (
            "etc/systemd/system/service.d/s.conf",
            "[Service]\nEnvironment=X=1\n",
        ),
    ];
    for (path, text) in cases {
        let f = node();
        f.file(path, text);
        if path.contains("service.d/s.conf") {
            // the unit itself opens it through a variable set for every service
            f.file(
                "etc/systemd/system/service.d/s.conf",
                "[Service]\nEnvironment=\"X=-H tcp://0.0.0.0:2375\"\n",
            );
            f.file(
                "usr/lib/systemd/system/docker.service.d/x.conf",
                "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd $X\n",
            );
        }
        let p = profile(&f, r#"{"insecure_registries": ["reg.local:5000"]}"#);
        expect_refused(&f, &["engine", "--profile", &p], "without tlsverify");
    }
    // docker.socket behind -H fd://
    let f = node();
    f.file(
        "usr/lib/systemd/system/docker.socket",
        "[Socket]\nListenStream=/run/docker.sock\nListenStream=2375\n",
    );
    let p = profile(&f, r#"{"insecure_registries": ["reg.local:5000"]}"#);
    let e = expect_refused(
        &f,
        &["engine", "--profile", &p],
        "would make dockerd listen on tcp://:2375 without tlsverify",
    );
    assert!(e.contains("docker.socket"), "{e}");
    // a command line that reads another daemon.json
    let f = node();
    f.file(
        "etc/systemd/system/docker.service.d/c.conf",
        "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --config-file /etc/docker/other.json\n",
    );
    expect_refused(
        &f,
        &["engine", "--profile", &p],
        "its dockerd reads /etc/docker/other.json (--config-file)",
    );
}
