//! Tier 2: `swarmnode check` against a fake root: a converged devicemapper node (the captured
//! guest LVM report), the engine's configuration drifting, docker down, a hung NFS server, the
//! swarm seen locally and by a manager (fake ssh), the first boot, and every output: text, JSON,
//! Xymon (sent to a listener on loopback), Prometheus (a textfile).

use std::time::Instant;

use crate::common::*;

const STOCK_UNIT: &str = "[Unit]\nDescription=Docker Application Container Engine\n[Service]\nType=notify\nExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock\n";
const LVM_PROFILE: &str = "# written by swarmnode: autoextend of the docker thin pool\nactivation {\n    thin_pool_autoextend_threshold=80\n    thin_pool_autoextend_percent=20\n}\n";

/// The `/info` of a docker on the thin pool, in a swarm whose manager listens on `manager`.
fn info_dm(manager: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&info("info-worker.json")).unwrap();
    v["Driver"] = "devicemapper".into();
    v["DriverStatus"] = serde_json::json!([["Pool Name", "docker-thinpool"], ["Data file", ""]]);
    v["DockerRootDir"] = "/var/lib/docker".into();
    v["LiveRestoreEnabled"] = true.into();
    v["Swarm"]["RemoteManagers"] = serde_json::json!([{"NodeID": "m1", "Addr": manager}]);
    v.to_string()
}

/// The engine of [`dm_node`]: on the pool, in a swarm whose manager nothing listens for.
fn dm_engine(f: &Fake) -> FakeEngine {
    f.engine_with(&[("GET /info ", &[(200, &info_dm("127.0.0.1:9"))])])
}

/// A converged devicemapper node: the pool (3.8 GiB, 128 MiB free in the VG), its LVM profile,
/// the storage record, docker-ce's unit, and daemon.json as the engine step wrote it.
fn dm_node(f: &Fake, profile: &str) -> String {
    f.lvm_pool();
    f.file("etc/lvm/profile/docker-thinpool.profile", LVM_PROFILE);
    f.pool_record();
    f.file("usr/lib/systemd/system/docker.service", STOCK_UNIT);
    f.out("systemctl", "active\n");
    let p = f.tmp.path().join("profile.json");
    std::fs::write(&p, profile).unwrap();
    let p = p.display().to_string();
    expect_code(&f.run(&["engine", "--profile", &p]), 0);
    f.next_run();
    p
}

const DM_PROFILE: &str = r#"{"storage": {"device": "/dev/disk/by-id/virtio-DATA1"}, "engine": {"daemon_json": {"live-restore": true}}}"#;

/// The item's line of the text output as `STATUS CHECK SUMMARY`, single-spaced.
fn line(out: &str, check: &str) -> String {
    let l = out
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(check))
        .unwrap_or_else(|| panic!("no {check} in:\n{out}"));
    let status = l.split_whitespace().next().unwrap();
    let rest = l.trim_start()[status.len()..].trim_start()[check.len()..].trim_start();
    format!("{status} {check} {rest}")
}

#[test]
fn a_converged_thin_pool_node_is_yellow_only_for_no_room_to_autoextend_and_changes_nothing() {
    let f = Fake::new();
    let p = dm_node(&f, DM_PROFILE);
    let _e = dm_engine(&f);
    let before = snapshot(&f);
    let o = f.run(&["check", "--profile", &p]);
    let out = stdout(&o);
    expect_code(&o, 1);
    assert!(out.contains(": yellow ("), "{out}");
    assert!(
        line(&out, "storage.thinpool").starts_with(
            "green storage.thinpool metadata 10.1%, data 0.0% of 3.8 GiB (warn 80%, crit 90%)"
        ),
        "{out}"
    );
    assert!(
        line(&out, "storage.autoextend").contains("yellow storage.autoextend VG docker has 128.0 MiB free, one autoextend step (20% of 3.8 GiB) needs 776.8 MiB"),
        "{out}"
    );
    assert!(out.contains("vgextend docker DEV"), "{out}");
    assert!(line(&out, "engine.running").starts_with("green"), "{out}");
    assert!(line(&out, "engine.config").starts_with("green"), "{out}");
    assert!(line(&out, "engine.applied").starts_with("green"), "{out}");
    assert!(line(&out, "mounts").starts_with("clear"), "{out}");
    assert!(line(&out, "swarm").starts_with("clear"), "{out}");
    // Read-only: nothing run that changes, no file written, not even the report (the
    // engine run's report is still the last one).
    assert_eq!(changing_calls(&f), Vec::<String>::new());
    assert_eq!(snapshot(&f), before);
}

/// Calls that change something: systemctl only asked (`is-active`, `show`) does not.
fn changing_calls(f: &Fake) -> Vec<String> {
    f.mutating_calls()
        .into_iter()
        .filter(|c| !c.starts_with("systemctl is-active ") && !c.starts_with("systemctl show "))
        .collect()
}

/// Every file under the root with its content, for "nothing changed".
fn snapshot(f: &Fake) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![f.root.join("etc"), f.root.join("var/lib")];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push((
                    p.display().to_string(),
                    std::fs::read(&p).unwrap_or_default(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_full_pool_an_unmonitored_pool_and_an_inactive_pool_are_red_with_figures() {
    for (edit, want) in [
        (
            ("data_percent", "85.50"),
            "yellow storage.thinpool metadata 10.1%, data 85.5%",
        ),
        (
            ("data_percent", "93.00"),
            "red storage.thinpool metadata 10.1%, data 93.0%",
        ),
        (
            ("metadata_percent", "91.20"),
            "red storage.thinpool metadata 91.2%, data 0.0%",
        ),
    ] {
        let f = Fake::new();
        let p = dm_node(&f, DM_PROFILE);
        f.out(
            "lvm",
            &lvm_report("pool", |row| {
                if row["lv_name"] == "thinpool" && row.get(edit.0).is_some() {
                    row[edit.0] = edit.1.into();
                }
            }),
        );
        let _e = dm_engine(&f);
        let o = f.run(&["check", "--profile", &p]);
        let out = stdout(&o);
        expect_code(&o, if want.starts_with("red") { 2 } else { 1 });
        assert!(line(&out, "storage.thinpool").starts_with(want), "{out}");
    }
    let f = Fake::new();
    let p = dm_node(&f, DM_PROFILE);
    f.out(
        "lvm",
        &lvm_report("pool", |row| {
            if row["lv_name"] == "thinpool" && row.get("seg_monitor").is_some() {
                row["seg_monitor"] = "not monitored".into();
            }
        }),
    );
    let o = f.run(&["check", "--profile", &p]);
    let out = stdout(&o);
    expect_code(&o, 2);
    assert!(
        line(&out, "storage.autoextend").starts_with("red storage.autoextend docker/thinpool is not monitored by dmeventd (not monitored): autoextend cannot fire"),
        "{out}"
    );
    assert!(
        out.contains("lvchange --monitor y docker/thinpool"),
        "{out}"
    );
    // No engine here: docker is red too, named with its socket.
    assert!(
        line(&out, "engine.running").starts_with("red engine.running docker does not answer"),
        "{out}"
    );
}

#[test]
fn a_hand_edited_daemon_json_is_named_key_by_key_and_an_unloaded_file_too() {
    let f = Fake::new();
    let p = dm_node(&f, DM_PROFILE);
    let _e = dm_engine(&f);
    let mut dj: serde_json::Value =
        serde_json::from_str(&f.read("etc/docker/daemon.json").unwrap()).unwrap();
    dj["live-restore"] = false.into();
    dj["storage-opts"][0] = "dm.thinpooldev=/dev/mapper/other-pool".into();
    f.file("etc/docker/daemon.json", &dj.to_string());
    let o = f.run(&["check", "--profile", &p]);
    let out = stdout(&o);
    expect_code(&o, 1);
    assert!(
        line(&out, "engine.config").contains(
            "/etc/docker/daemon.json differs from what swarmnode writes: live-restore, storage-opts"
        ),
        "{out}"
    );
    assert!(
        line(&out, "engine.applied").contains("has settings docker has not loaded: storage-opts dm.thinpooldev (file: other-pool, running: docker-thinpool)"),
        "{out}"
    );
    assert_eq!(changing_calls(&f), Vec::<String>::new());
    // Only named: no `dockerd --validate` (apply's check before it writes, with a temporary file).
    assert!(
        !f.calls().iter().any(|c| c.starts_with("dockerd")),
        "{:?}",
        f.calls()
    );
}

#[test]
fn a_missing_registry_ca_a_mismatched_pin_and_a_legacy_drop_in_are_named() {
    let f = Fake::new();
    let ca = include_str!("../fixtures/pki/registry-ca.crt");
    f.file("mnt/docker/registry/ca.crt", ca);
    let reg = |pin: &str| {
        format!(
            r#"{{"storage": {{"device": "/dev/disk/by-id/virtio-DATA1"}}, "engine": {{"hosts": ["unix:///var/run/docker.sock"], "registries": [{{"host": "docker-registry.dccn.nl:5000", "ca_file": "/mnt/docker/registry/ca.crt"{pin}}}]}}}}"#
        )
    };
    let p = dm_node(&f, &reg(""));
    let _e = dm_engine(&f);
    let o = f.run(&["check", "--profile", &p]);
    assert!(
        line(&stdout(&o), "engine.config").starts_with("green "),
        "{}",
        stdout(&o)
    );

    std::fs::remove_file(
        f.root
            .join("etc/docker/certs.d/docker-registry.dccn.nl:5000/ca.crt"),
    )
    .unwrap();
    f.file(
        "etc/systemd/system/docker.service.d/swarm.conf",
        "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H unix:///var/run/docker.sock -H tcp://0.0.0.0:2375\n",
    );
    let o = f.run(&["check", "--profile", &p]);
    expect_code(&o, 1);
    let out = stdout(&o);
    let config = &out[out.find("yellow  engine.config").expect(&out)..];
    assert!(
        config
            .contains("apply would write /etc/docker/certs.d/docker-registry.dccn.nl:5000/ca.crt")
            && config
                .contains("apply would rename /etc/systemd/system/docker.service.d/swarm.conf"),
        "the CA to install and the drop-in to fix, each named: {out}"
    );

    std::fs::write(&p, reg(&format!(r#", "ca_sha256": "{}""#, "0".repeat(64)))).unwrap();
    let o = f.run(&["check", "--profile", &p]);
    expect_code(&o, 2);
    assert!(
        line(&stdout(&o), "engine.config").starts_with("red engine.config engine: refusing"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("but the profile pins 0000"),
        "{}",
        stdout(&o)
    );
    assert_eq!(changing_calls(&f), Vec::<String>::new());
}

#[test]
fn overlay2_without_project_quotas_is_yellow_and_with_them_says_so() {
    let f = Fake::new();
    f.file(
        "var/lib/swarmnode/storage.json",
        r#"{"driver": "overlay2", "device": "/dev/vdb", "volume_group": "docker", "volume": "/dev/docker/dockerdata"}"#,
    );
    f.file(
        "etc/swarmnode/profile.json",
        r#"{"storage": {"device": "/dev/disk/by-id/virtio-DATA1"}}"#,
    );
    std::fs::create_dir_all(f.root.join("var/lib/docker")).unwrap();
    let table = |opts: &str| {
        format!(
            "20 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n\
             21 20 253:2 / /var/lib/docker rw,relatime shared:2 - xfs /dev/mapper/docker-dockerdata {opts}\n"
        )
    };
    f.file("proc/self/mountinfo", &table("rw,attr2,inode64,noquota"));
    let out = stdout(&f.run(&["check"]));
    let l = line(&out, "storage.volume");
    assert!(
        l.contains("/dev/docker/dockerdata on /var/lib/docker: space "),
        "{out}"
    );
    assert!(l.starts_with("yellow ") || l.starts_with("red "), "{out}");
    assert!(
        l.contains(", no project quotas (warn 80%, crit 90%)"),
        "{out}"
    );
    assert!(
        out.contains("add pquota to its /etc/fstab options"),
        "{out}"
    );
    f.file("proc/self/mountinfo", &table("rw,attr2,inode64,prjquota"));
    let out = stdout(&f.run(&["check"]));
    assert!(
        line(&out, "storage.volume").contains(", project quotas on (warn 80%, crit 90%)"),
        "{out}"
    );
    assert!(!out.contains("add pquota"), "{out}");
    f.file(
        "proc/self/mountinfo",
        "20 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n",
    );
    let out = stdout(&f.run(&["check"]));
    assert!(
        line(&out, "storage.volume")
            .starts_with("red storage.volume /var/lib/docker is not mounted"),
        "{out}"
    );
}

#[test]
fn every_format_and_the_textfile() {
    let f = Fake::new();
    let p = dm_node(&f, DM_PROFILE);
    f.file("proc/sys/kernel/hostname", "node7.dccn.nl\n");
    let _e = dm_engine(&f);
    let o = f.run(&["check", "--profile", &p, "--format", "xymon"]);
    expect_code(&o, 1);
    let x = stdout(&o);
    let first = x.lines().next().unwrap();
    assert!(
        first.starts_with("status+15 node7,dccn,nl.swarmnode yellow "),
        "{x}"
    );
    // Two yellows: autoextend, and engine.future (devicemapper, issue 30 item 3).
    assert!(
        first.ends_with(" UTC 2026 - swarmnode: 0 red, 2 yellow; engine.future: docker runs on devicemapper, which Docker Engine 25 removed: upgrading docker-ce to 25 or later stops docker on this node; move it first with `swarmnode migrate-storage --to overlay2`"),
        "{x}"
    );
    assert!(
        x.contains("\n&yellow storage.autoextend: VG docker has 128.0 MiB free, one autoextend step (20% of 3.8 GiB) needs 776.8 MiB: autoextend cannot fire"),
        "{x}"
    );
    assert!(
        x.contains("\n&green storage.thinpool: metadata 10.1%"),
        "{x}"
    );

    let o = f.run(&["--json", "check", "--profile", &p]);
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["status"], "yellow");
    assert_eq!(j["host"], "node7.dccn.nl");
    assert!(
        j["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["check"] == "storage.thinpool" && i["status"] == "green")
    );

    let o = f.run(&[
        "check",
        "--profile",
        &p,
        "--quiet",
        "--textfile",
        "/var/lib/node_exporter/textfile_collector/swarmnode.prom",
    ]);
    // Undelivered, as for Xymon: 69, which the check unit (SuccessExitStatus=1 2, yellow and red
    // being answers) counts as its failure. 1 would read as "yellow" and pass unseen.
    expect_code(&o, 69);
    assert_eq!(stdout(&o), "", "--quiet prints nothing");
    assert!(
        stderr(&o).contains("check: cannot write the textfile"),
        "no collector directory yet: {}",
        stderr(&o)
    );
    let dir = f.root.join("var/lib/node_exporter/textfile_collector");
    std::fs::create_dir_all(&dir).unwrap();
    let o = f.run(&[
        "check",
        "--profile",
        &p,
        "--quiet",
        "--textfile",
        "/var/lib/node_exporter/textfile_collector/swarmnode.prom",
    ]);
    expect_code(&o, 1);
    let prom = f
        .read("var/lib/node_exporter/textfile_collector/swarmnode.prom")
        .unwrap();
    assert!(
        prom.contains("swarmnode_thinpool_metadata_ratio 0.1009\n"),
        "{prom}"
    );
    assert!(
        prom.contains("swarmnode_check_status{check=\"storage.autoextend\"} 1\n"),
        "{prom}"
    );
    assert!(prom.contains("swarmnode_status 1\n"), "{prom}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("swarmnode.prom"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
}

#[test]
fn xymon_gets_the_message_over_tcp_and_an_absent_xymond_is_69() {
    let f = Fake::new();
    let p = dm_node(&f, DM_PROFILE);
    f.file("proc/sys/kernel/hostname", "node7\n");
    let _e = dm_engine(&f);
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let got = std::thread::spawn(move || {
        use std::io::Read;
        let (mut s, _) = l.accept().unwrap();
        let mut m = String::new();
        // Ends only when swarmnode shuts its write side, as xymond expects.
        s.read_to_string(&mut m).unwrap();
        m
    });
    let o = f.run(&[
        "check",
        "--profile",
        &p,
        "--quiet",
        "--xymon",
        &format!("127.0.0.1:{port}"),
    ]);
    expect_code(&o, 1);
    let m = got.join().unwrap();
    assert!(m.starts_with("status+15 node7.swarmnode yellow "), "{m}");
    assert!(m.contains("\n&yellow storage.autoextend: "), "{m}");
    // Nothing listens on the port any more.
    let o = f.run(&[
        "check",
        "--profile",
        &p,
        "--quiet",
        "--xymon",
        &format!("127.0.0.1:{port}"),
    ]);
    expect_code(&o, 69);
    assert!(
        stderr(&o).contains(&format!(
            "the status was not delivered to Xymon at 127.0.0.1:{port}"
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_hung_nfs_server_is_red_within_the_timeout() {
    let f = Fake::new();
    f.file(
        "etc/swarmnode/profile.json",
        r#"{"mounts": {"nfs": ["/home", "/project"], "timeout_seconds": 1}}"#,
    );
    f.mounts(&[
        ("254:0", "/", "ext4", "/dev/vda"),
        ("0:51", "/home", "nfs4", "fs1.example.org:/home"),
        ("0:52", "/project", "nfs4", "fs1.example.org:/project"),
    ]);
    std::fs::write(
        f.fake.join("bin/stat"),
        "#!/bin/sh\ncase \"$*\" in *project*) exec /bin/sleep 60 ;; esac; echo nfs\n",
    )
    .unwrap();
    let t = Instant::now();
    let o = f.run(&["check"]);
    let took = t.elapsed();
    let out = stdout(&o);
    expect_code(&o, 2);
    assert!(
        line(&out, "mounts:/home")
            .starts_with("green mounts:/home /home: nfs4 from fs1.example.org:/home, answered in"),
        "{out}"
    );
    assert!(
        line(&out, "mounts:/project")
            .contains("/project (NFS from fs1.example.org:/project) did not answer within 1 s"),
        "{out}"
    );
    println!("check with a hung NFS server and timeout_seconds 1: {took:?}");
}

/// Issue 26, item 8: a tool that exits while a descendant keeps its stdout open (a wrapper, a
/// ProxyCommand) does not stall check: what it printed is read, the descendant is killed with
/// its process group a second after the tool exits, and the check ends within its bounds.
#[test]
fn a_tool_whose_child_keeps_its_pipe_does_not_stall_check() {
    let manager = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let maddr = manager.local_addr().unwrap().to_string();
    let f = Fake::new();
    f.file(
        "etc/swarmnode/profile.json",
        &format!(
            r#"{{"mounts": {{"nfs": ["/home"], "timeout_seconds": 1}},
                "swarm": {{"managers": ["{maddr}"], "token": {{"source": "ssh", "identity_file": "/root/.ssh/id_ed25519"}}}}}}"#
        ),
    );
    f.mounts(&[
        ("254:0", "/", "ext4", "/dev/vda"),
        ("0:51", "/home", "nfs4", "fs1.example.org:/home"),
    ]);
    let _e = f.engine_with(&[("GET /info ", &[(200, &info_dm(&maddr))])]);
    let inspect = std::fs::read_to_string(format!("{DOCKER_FIX}/node-inspect.json")).unwrap();
    f.out("ssh", &inspect);
    // Each wrapper leaves a child behind that holds its stdout and stderr for a minute.
    std::fs::write(
        f.fake.join("bin/stat"),
        "#!/bin/sh
/bin/sleep 61 &
echo nfs
",
    )
    .unwrap();
    std::fs::write(
        f.fake.join("bin/ssh"),
        format!(
            "#!/bin/sh
/bin/sleep 62 &
/bin/cat {}/out/ssh
",
            f.fake.display()
        ),
    )
    .unwrap();
    let t = Instant::now();
    let o = f.run(&["check"]);
    let took = t.elapsed();
    let out = stdout(&o);
    println!("check with wrappers whose children keep their pipes: {took:?}");
    assert!(
        line(&out, "mounts:/home").starts_with("green mounts:/home /home: nfs4"),
        "what the wrapper printed is read: {out}"
    );
    assert!(line(&out, "swarm.node").starts_with("green"), "{out}");
    // Bounds: 1 s for the NFS probe, 10 s for the managers, each plus a second.
    assert!(took < std::time::Duration::from_secs(8), "{took:?}\n{out}");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.starts_with("/bin/sleep 61") || c.starts_with("/bin/sleep 62"))
        .collect();
    assert!(left.is_empty(), "descendants left running: {left:?}");
}

#[test]
fn the_swarm_locally_and_as_the_manager_sees_it() {
    let manager = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let maddr = manager.local_addr().unwrap().to_string();
    let profile = format!(
        r#"{{"swarm": {{"managers": ["{maddr}"], "token": {{"source": "ssh", "identity_file": "/root/.ssh/id_ed25519"}}, "labels": {{"function": "production"}}}}}}"#
    );
    let inspect = |labels: &str, state: &str| {
        std::fs::read_to_string(format!("{DOCKER_FIX}/node-inspect.json"))
            .unwrap()
            .replace("\"Labels\": {}", &format!("\"Labels\": {labels}"))
            .replace("\"State\": \"ready\"", &format!("\"State\": \"{state}\""))
    };
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", &profile);
    let e = f.engine_with(&[("GET /info ", &[(200, &info_dm(&maddr))])]);
    f.out("ssh", &inspect(r#"{"function": "production"}"#, "ready"));
    let o = f.run(&["check"]);
    let out = stdout(&o);
    // Yellow only for engine.future: this engine is on devicemapper (issue 30, item 3).
    expect_code(&o, 1);
    assert!(out.starts_with("localhost: yellow (1 yellow,"), "{out}");
    assert!(line(&out, "engine.future").starts_with("yellow"), "{out}");
    assert!(
        line(&out, "swarm.local")
            .contains("is a worker in a swarm: node l8s526d06sna2jckb05a27o7r"),
        "{out}"
    );
    assert!(
        line(&out, "swarm.manager").contains(&format!("manager {maddr} accepts connections")),
        "{out}"
    );
    assert!(line(&out, "swarm.node").starts_with("green"), "{out}");
    assert!(
        line(&out, "swarm.node").contains("labels function=production"),
        "{out}"
    );
    assert!(
        f.calls()
            .iter()
            .any(|c| c.starts_with("ssh ")
                && c.contains("node inspect -- l8s526d06sna2jckb05a27o7r")),
        "{:?}",
        f.calls()
    );

    f.out("ssh", &inspect("{}", "ready"));
    let out = stdout(&f.run(&["check"]));
    assert!(line(&out, "swarm.node").contains("node l8s526d06sna2jckb05a27o7r is ready, but labels are missing or different: function=production"), "{out}");

    f.out("ssh", &inspect(r#"{"function": "production"}"#, "down"));
    let o = f.run(&["check"]);
    expect_code(&o, 2);
    assert!(
        line(&stdout(&o), "swarm.node").contains("as \"down\", not ready"),
        "{}",
        stdout(&o)
    );

    e.route(
        "GET /info ",
        &[(200, &info_with("info-inactive.json", &[]))],
    );
    let o = f.run(&["check"]);
    expect_code(&o, 2);
    let out = stdout(&o);
    assert!(
        line(&out, "swarm.local").contains("psw-n2: it is not in a swarm"),
        "{out}"
    );

    // No manager listening: red, and the managers are not asked for the node.
    e.route("GET /info ", &[(200, &info_dm(&maddr))]);
    drop(manager);
    f.next_run();
    let o = f.run(&["check"]);
    expect_code(&o, 2);
    let out = stdout(&o);
    assert!(
        line(&out, "swarm.manager").contains(&format!(
            "red swarm.manager no manager accepts connections on its swarm port: {maddr}"
        )),
        "{out}"
    );
    assert!(!out.contains("swarm.node"), "{out}");
    assert_eq!(f.calls(), Vec::<String>::new());
}

#[test]
fn without_a_profile_there_is_nothing_to_check_and_it_says_so() {
    let f = Fake::new();
    let o = f.run(&["check"]);
    expect_code(&o, 65);
    assert!(
        stderr(&o).contains("there is no profile at /etc/swarmnode/profile.json"),
        "{}",
        stderr(&o)
    );
}

/// Issue 26, item 9: the textfile's path is trusted only when every directory on the way is
/// root's and not group- or world-writable; otherwise refused (65), the directory named, nothing
/// written, whether the path comes from --textfile or from check.textfile.
#[test]
fn a_textfile_on_a_path_another_user_could_redirect_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", "{}");
    f.file("etc/cron.d/keep", "");
    let mode = |p: &str, m: u32| {
        std::fs::set_permissions(f.root.join(p), std::fs::Permissions::from_mode(m)).unwrap()
    };
    // A directory of another user's on the way (Debian's /var/lib/prometheus is prometheus's).
    std::fs::create_dir_all(f.root.join("var/lib/prometheus/node-exporter")).unwrap();
    std::os::unix::fs::chown(f.root.join("var/lib/prometheus"), Some(4321), Some(4321)).unwrap();
    let o = f.run(&[
        "check",
        "--quiet",
        "--textfile",
        "/var/lib/prometheus/node-exporter/swarmnode.prom",
    ]);
    expect_code(&o, 65);
    assert!(
        stderr(&o).contains("/var/lib/prometheus is on its way, and it belongs to uid 4321"),
        "{}",
        stderr(&o)
    );
    assert!(
        f.read("var/lib/prometheus/node-exporter/swarmnode.prom")
            .is_none()
    );
    // Its owner swapped the directory for a link to /etc/cron.d: still refused, nothing there.
    std::fs::rename(
        f.root.join("var/lib/prometheus/node-exporter"),
        f.root.join("var/lib/prometheus/old"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "/etc/cron.d",
        f.root.join("var/lib/prometheus/node-exporter"),
    )
    .unwrap();
    expect_code(
        &f.run(&[
            "check",
            "--quiet",
            "--textfile",
            "/var/lib/prometheus/node-exporter/swarmnode.prom",
        ]),
        65,
    );
    assert!(f.read("etc/cron.d/swarmnode.prom").is_none());
    // A group-writable directory, named by the profile's check.textfile: apply warns when it
    // installs the timer, and the timer's check (which passes it as --textfile) refuses.
    std::fs::create_dir_all(f.root.join("srv/metrics")).unwrap();
    mode("srv/metrics", 0o775);
    f.file(
        "etc/swarmnode/profile.json",
        r#"{"check": {"timer": true, "textfile": "/srv/metrics/swarmnode.prom"}}"#,
    );
    let o = f.run(&["plan"]);
    expect_code(&o, 0);
    assert!(
        stderr(&o).contains("check.textfile /srv/metrics/swarmnode.prom: /srv/metrics is on its way, and it is mode 0775"),
        "{}",
        stderr(&o)
    );
    let timer_check = [
        "check",
        "--quiet",
        "--textfile",
        "/srv/metrics/swarmnode.prom",
    ];
    let o = f.run(&timer_check);
    expect_code(&o, 65);
    assert!(
        stderr(&o).contains("/srv/metrics is on its way, and it is mode 0775"),
        "{}",
        stderr(&o)
    );
    assert!(f.read("srv/metrics/swarmnode.prom").is_none());
    // Made root's and 0755: written.
    mode("srv/metrics", 0o755);
    expect_code(&f.run(&timer_check), 0);
    assert!(f.read("srv/metrics/swarmnode.prom").is_some());
}

#[test]
fn a_textfile_that_is_a_symlink_is_replaced_not_followed_and_keeps_no_wider_mode() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", "{}");
    f.file("etc/shadow", "root:secret\n");
    let dir = f.root.join("var/lib/node_exporter");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", dir.join("swarmnode.prom")).unwrap();
    expect_code(
        &f.run(&[
            "check",
            "--quiet",
            "--textfile",
            "/var/lib/node_exporter/swarmnode.prom",
        ]),
        0,
    );
    assert_eq!(f.read("etc/shadow").unwrap(), "root:secret\n");
    assert!(
        dir.join("swarmnode.prom")
            .symlink_metadata()
            .unwrap()
            .is_file()
    );
    std::fs::set_permissions(
        dir.join("swarmnode.prom"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    expect_code(
        &f.run(&[
            "check",
            "--quiet",
            "--textfile",
            "/var/lib/node_exporter/swarmnode.prom",
        ]),
        0,
    );
    let m = std::fs::metadata(dir.join("swarmnode.prom"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(m & 0o777, 0o640);
}

#[test]
fn a_failed_first_boot_is_red_and_a_finished_one_green() {
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", "{}");
    f.file("etc/systemd/system/swarmnode-firstboot.service", "[Unit]\n");
    f.out("systemctl", "ActiveState=failed\nResult=exit-code\n");
    let o = f.run(&["check"]);
    expect_code(&o, 2);
    assert!(
        line(&stdout(&o), "firstboot")
            .contains("swarmnode-firstboot.service failed (Result=exit-code)"),
        "{}",
        stdout(&o)
    );
    f.file("var/lib/swarmnode/firstboot.done", "");
    let o = f.run(&["check"]);
    expect_code(&o, 0);
    assert!(
        line(&stdout(&o), "firstboot").starts_with("green"),
        "{}",
        stdout(&o)
    );
}

/// `systemctl [--root=R] enable [--now] UNIT`, `disable [--now] UNIT`, `is-active UNIT` on the
/// timers.target.wants symlinks under R (a timer "runs" while it is enabled); the rest recorded.
const FAKE_SYSTEMCTL: &str = r#"#!/bin/sh
echo "systemctl $*" >> "$FAKE/calls"
root=$FAKE_ROOT
case "$1" in --root=*) root=${1#--root=}; shift ;; esac
cmd=$1; shift; [ "$1" = --now ] && shift
case "$1" in *.timer) wants="$root/etc/systemd/system/timers.target.wants" ;;
  *) wants="$root/etc/systemd/system/multi-user.target.wants" ;; esac
case "$cmd" in
  enable) /bin/mkdir -p "$wants" && /bin/ln -sf "/etc/systemd/system/$1" "$wants/$1" ;;
  disable) /bin/rm -f "$wants/$1" ;;
  is-active) if [ -L "$wants/$1" ]; then echo active; else echo inactive; exit 3; fi ;;
esac
exit 0
"#;

const TIMER_PROFILE: &str = r#"{"check": {"timer": true, "interval_minutes": 10, "xymon": "xymon.example.org",
  "textfile": "/var/lib/node_exporter/textfile_collector/swarmnode.prom"}}"#;

fn timer_node(offline: bool) -> Fake {
    let f = Fake::new();
    if offline {
        f.offline();
    }
    f.file("etc/swarmnode/profile.json", TIMER_PROFILE);
    std::fs::write(f.fake.join("bin/systemctl"), FAKE_SYSTEMCTL).unwrap();
    // The real install: these runs copy the binary.
    std::fs::remove_file(f.fake.join("bin/install")).unwrap();
    std::os::unix::fs::symlink("/usr/bin/install", f.fake.join("bin/install")).unwrap();
    f
}

fn run_with_root(f: &Fake, args: &[&str]) -> std::process::Output {
    f.run_env(args, &[("FAKE_ROOT", &f.root.display().to_string())])
}

#[test]
fn apply_installs_the_check_timer_once_and_reset_takes_it_away() {
    let f = timer_node(false);
    let o = run_with_root(&f, &["apply"]);
    expect_code(&o, 0);
    let service = f
        .read("etc/systemd/system/swarmnode-check.service")
        .unwrap();
    assert!(
        service.contains("\nExecStart=/usr/local/sbin/swarmnode --profile /etc/swarmnode/profile.json check --quiet --xymon xymon.example.org --textfile /var/lib/node_exporter/textfile_collector/swarmnode.prom\n"),
        "{service}"
    );
    assert!(service.contains("\nSuccessExitStatus=1 2\n"), "{service}");
    let timer = f.read("etc/systemd/system/swarmnode-check.timer").unwrap();
    assert!(
        timer.contains("\nOnUnitActiveSec=10min\n") && timer.contains("\nWantedBy=timers.target\n"),
        "{timer}"
    );
    assert!(f.root.join("usr/local/sbin/swarmnode").exists());
    let calls = f.calls();
    let reload = calls.iter().position(|c| c == "systemctl daemon-reload");
    let start = calls
        .iter()
        .position(|c| c == "systemctl enable --now swarmnode-check.timer");
    assert!(
        reload.is_some() && start.is_some() && reload < start,
        "{calls:?}"
    );

    f.next_run();
    let o = run_with_root(&f, &["apply"]);
    expect_code(&o, 0);
    assert!(stdout(&o).contains("check: converged"), "{}", stdout(&o));
    assert_eq!(f.calls(), ["systemctl is-active swarmnode-check.timer"]);

    f.next_run();
    let o = run_with_root(&f, &["reset", "--yes"]);
    expect_code(&o, 0);
    assert!(
        f.calls()
            .contains(&"systemctl disable --now swarmnode-check.timer".to_string()),
        "{:?}",
        f.calls()
    );
    assert!(
        f.read("etc/systemd/system/swarmnode-check.service")
            .is_none()
    );
    assert!(f.read("etc/systemd/system/swarmnode-check.timer").is_none());
    assert!(
        f.root
            .join("etc/systemd/system/timers.target.wants/swarmnode-check.timer")
            .symlink_metadata()
            .is_err()
    );
}

#[test]
fn offline_the_timer_is_enabled_not_started() {
    let f = timer_node(true);
    let o = run_with_root(&f, &["apply"]);
    expect_code(&o, 0);
    let root = f.root.display().to_string();
    let calls = f.calls();
    assert!(
        calls.contains(&format!(
            "systemctl --root={root} enable swarmnode-check.timer"
        )),
        "{calls:?}"
    );
    assert!(
        !calls
            .iter()
            .any(|c| c.contains("--now") || c.contains("daemon-reload")),
        "{calls:?}"
    );
    assert!(
        f.root
            .join("etc/systemd/system/timers.target.wants/swarmnode-check.timer")
            .symlink_metadata()
            .is_ok()
    );
    f.next_run();
    expect_code(&run_with_root(&f, &["apply"]), 0);
    assert!(
        !f.calls().iter().any(|c| c.contains(" enable ")),
        "{:?}",
        f.calls()
    );
}

#[test]
fn check_timer_turned_off_is_taken_away_once() {
    let f = timer_node(false);
    expect_code(&run_with_root(&f, &["apply"]), 0);
    assert!(f.read("etc/systemd/system/swarmnode-check.timer").is_some());
    f.file(
        "etc/swarmnode/profile.json",
        &TIMER_PROFILE.replace(r#""timer": true"#, r#""timer": false"#),
    );
    f.next_run();
    let o = run_with_root(&f, &["apply"]);
    expect_code(&o, 0);
    assert_eq!(
        f.calls(),
        [
            "systemctl disable --now swarmnode-check.timer",
            "systemctl daemon-reload"
        ],
        "{}",
        stdout(&o)
    );
    assert!(
        f.read("etc/systemd/system/swarmnode-check.service")
            .is_none()
    );
    assert!(f.read("etc/systemd/system/swarmnode-check.timer").is_none());
    f.next_run();
    let o = run_with_root(&f, &["apply"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("check: check.timer is off: no check timer"),
        "{}",
        stdout(&o)
    );
    assert_eq!(f.calls(), Vec::<String>::new());
}

/// Issue 30, item 3: `engine.future` says what would break this node at the next docker-ce
/// upgrade, case by case, from the running engine, daemon.json and the XFS under docker's root.
#[test]
fn engine_future_names_what_an_upgrade_would_break() {
    let f = Fake::new();
    f.file(
        "etc/swarmnode/profile.json",
        r#"{"engine": {"hosts": ["unix:///var/run/docker.sock"]}}"#,
    );
    let info = |driver: &str, status: &str| {
        format!(
            r#"{{"Driver": "{driver}", "DriverStatus": {status}, "ServerVersion": "26.1.5", "DockerRootDir": "/var/lib/docker", "Swarm": {{"LocalNodeState": "inactive"}}}}"#
        )
    };
    f.mounts(&[
        ("254:0", "/", "ext4", "/dev/vda"),
        (
            "253:2",
            "/var/lib/docker",
            "xfs",
            "/dev/mapper/docker-dockerdata",
        ),
    ]);
    let xfs = |ftype: u8| {
        format!(
            "meta-data=/dev/mapper/docker-dockerdata isize=512 agcount=4, agsize=262016 blks\n\
             naming   =version 2              bsize=4096   ascii-ci=0, ftype={ftype}\n"
        )
    };
    let future = |f: &Fake, driver: &str, status: &str| {
        // A fresh engine each time: the last one's socket file goes first.
        let _ = std::fs::remove_file(f.root.join("var/run/docker.sock"));
        let _e = f.engine_with(&[("GET /info ", &[(200, &info(driver, status))])]);
        let out = stdout(&f.run(&["check"]));
        (line(&out, "engine.future"), out)
    };
    let ov = r#"[["Backing Filesystem", "xfs"], ["Supports d_type", "true"]]"#;

    // overlay2 on an XFS with ftype=1, nothing else: green.
    f.out("xfs_info", &xfs(1));
    let (l, out) = future(&f, "overlay2", ov);
    assert!(l.starts_with("green "), "{out}");
    let at = f.root.join("var/lib/docker");
    assert!(
        f.calls()
            .iter()
            .any(|c| *c == format!("xfs_info {}", at.display())),
        "{:?}",
        f.calls()
    );
    // The XFS under docker's root without d_type: red.
    f.out("xfs_info", &xfs(0));
    let (l, out) = future(&f, "overlay2", ov);
    assert!(l.starts_with("red "), "{out}");
    assert!(l.contains("ftype=0 (no d_type)"), "{out}");
    f.out("xfs_info", &xfs(1));
    // devicemapper in use: yellow, naming Engine 25 and what to do.
    let (l, out) = future(&f, "devicemapper", r#"[["Pool Name", "docker-thinpool"]]"#);
    assert!(l.starts_with("yellow "), "{out}");
    assert!(l.contains("Docker Engine 25 removed"), "{out}");
    assert!(out.contains("keep docker-ce below 25"), "{out}");
    // containerd's image store: yellow (from daemon.json, and from what docker says).
    f.file(
        "etc/docker/daemon.json",
        r#"{"hosts": ["unix:///var/run/docker.sock"], "features": {"containerd-snapshotter": true}}"#,
    );
    let (l, out) = future(&f, "overlay2", ov);
    assert!(l.starts_with("yellow "), "{out}");
    assert!(l.contains("containerd's image store is on"), "{out}");
    f.file(
        "etc/docker/daemon.json",
        r#"{"hosts": ["unix:///var/run/docker.sock"]}"#,
    );
    let (l, out) = future(
        &f,
        "overlayfs",
        r#"[["driver-type", "io.containerd.snapshotter.v1"]]"#,
    );
    assert!(l.starts_with("yellow "), "{out}");
    // storage-opts of another driver left in daemon.json: red, naming them.
    f.file(
        "etc/docker/daemon.json",
        r#"{"hosts": ["unix:///var/run/docker.sock"], "storage-driver": "overlay2", "storage-opts": ["dm.thinpooldev=/dev/mapper/docker-thinpool", "dm.use_deferred_removal=true"]}"#,
    );
    let (l, out) = future(&f, "overlay2", ov);
    assert!(l.starts_with("red "), "{out}");
    assert!(
        l.contains("dm.thinpooldev=/dev/mapper/docker-thinpool, dm.use_deferred_removal=true"),
        "{out}"
    );
}

/// openssl in `dir`, its words split at spaces (none of them holds one).
fn openssl(dir: &std::path::Path, args: &str) {
    let o = std::process::Command::new("openssl")
        .args(args.split(' '))
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A CA `NAME.crt`/`NAME.key` made with openssl in `dir`, with what `openssl ca` needs to sign.
fn openssl_ca(dir: &std::path::Path, name: &str) {
    std::fs::write(
        dir.join("ca.cnf"),
        "[ca]\ndefault_ca = d\n[d]\ndir = .\ndatabase = index.txt\nnew_certs_dir = .\n\
         serial = serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\n\
         [p]\ncommonName = supplied\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    if !dir.join("serial").exists() {
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "01\n").unwrap();
    }
    openssl(
        dir,
        &format!(
            "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout {name}.key \
             -out {name}.crt -days 3650 -subj /CN=swarm-ca"
        ),
    );
}

/// A node certificate `NAME.crt` signed by CA `ca`, valid from `from` to `to` (seconds since
/// 1970), with key identifiers as swarm's have.
fn openssl_node(dir: &std::path::Path, name: &str, ca: &str, from: i64, to: i64) {
    let at = |e: i64| {
        let o = std::process::Command::new("date")
            .args(["-u", "-d", &format!("@{e}"), "+%Y%m%d%H%M%SZ"])
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    };
    openssl(
        dir,
        &format!(
            "req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout {name}.key \
             -out {name}.csr -subj /CN=node"
        ),
    );
    openssl(
        dir,
        &format!(
            "ca -batch -notext -config ca.cnf -cert {ca}.crt -keyfile {ca}.key -startdate {} \
             -enddate {} -in {name}.csr -out {name}.crt -extfile ext.cnf",
            at(from),
            at(to)
        ),
    );
}

/// Issue 30, item 4: `swarm.certificate` reads the node's swarm certificate and the swarm's root
/// CA from docker's data root: fresh is green, under a fifth of its life left yellow, under 3
/// days or expired red, one issued by another CA (a rotation the node has not followed) yellow.
#[test]
fn the_swarm_certificate_is_judged_by_its_days_left_and_its_issuer() {
    let manager = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let maddr = manager.local_addr().unwrap().to_string();
    let f = Fake::new();
    f.file(
        "etc/swarmnode/profile.json",
        &format!(r#"{{"swarm": {{"managers": ["{maddr}"], "token": {{"source": "file", "path": "/etc/swarmnode/join-token"}}}}}}"#),
    );
    let _e = f.engine_with(&[("GET /info ", &[(200, &info_dm(&maddr))])]);
    let pki = tempfile::tempdir().unwrap();
    openssl_ca(pki.path(), "ca");
    openssl_ca(pki.path(), "other-ca");
    let certs = "var/lib/docker/swarm/certificates";
    let install = |node: &str| {
        let read = |n: &str| std::fs::read_to_string(pki.path().join(n)).unwrap();
        f.file(
            &format!("{certs}/swarm-node.crt"),
            &read(&format!("{node}.crt")),
        );
        f.file(&format!("{certs}/swarm-root-ca.crt"), &read("ca.crt"));
    };
    let cert_line = || {
        let out = stdout(&f.run(&["check"]));
        (line(&out, "swarm.certificate"), out)
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let day = 86_400;
    // (name, issuer, from, to, status, what the line says)
    let cases = [
        (
            "fresh",
            "ca",
            now - day,
            now + 89 * day,
            "green ",
            "of its 90.0 days left",
        ),
        (
            "near",
            "ca",
            now - 80 * day,
            now + 10 * day,
            "yellow ",
            "of its 90.0 days left",
        ),
        (
            "ending",
            "ca",
            now - 89 * day,
            now + day,
            "red ",
            "of its 90.0 days left",
        ),
        (
            "expired",
            "ca",
            now - 91 * day,
            now - day,
            "red ",
            "expired",
        ),
        (
            "rotated",
            "other-ca",
            now - day,
            now + 89 * day,
            "yellow ",
            "not issued by the swarm's current root CA",
        ),
    ];
    for (name, ca, from, to, status, says) in cases {
        openssl_node(pki.path(), name, ca, from, to);
        install(name);
        let (l, out) = cert_line();
        assert!(l.starts_with(status), "{name}: {out}");
        assert!(l.contains(says), "{name}: {out}");
        if status == "red " {
            assert!(
                out.contains("leave (`docker swarm leave`) and join again"),
                "{name}: {out}"
            );
        }
    }
}
