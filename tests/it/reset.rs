//! Tier 2: `swarmnode reset` against a fake root: alone it changes nothing; with --yes the files
//! are as before the first apply, swarmnode's volumes go (foreign ones stay), a worker leaves
//! and its entry is removed on a manager, the last manager is refused without --force.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use crate::common::*;

const STOCK_UNIT: &str = "[Unit]\nDescription=Docker\n[Service]\nExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock\n";
const CA: &str = include_str!("../fixtures/pki/registry-ca.crt");
const ADMIN_DAEMON_JSON: &str = "{\"log-driver\": \"journald\"}\n";

/// Was the fake engine sent a request that starts with `prefix`?
fn asked(e: &FakeEngine, prefix: &str) -> bool {
    e.requests().iter().any(|r| r.starts_with(prefix))
}

/// Every file, link and directory under ROOT/etc: its mode and content (a link's target).
fn snapshot(f: &Fake) -> BTreeMap<String, (u32, String)> {
    fn walk(
        dir: &std::path::Path,
        base: &std::path::Path,
        out: &mut BTreeMap<String, (u32, String)>,
    ) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            let mode = m.permissions().mode() & 0o7777;
            if m.file_type().is_symlink() {
                out.insert(
                    rel,
                    (0, std::fs::read_link(&p).unwrap().display().to_string()),
                );
            } else if m.is_dir() {
                out.insert(rel + "/", (mode, String::new()));
                walk(&p, base, out);
            } else {
                out.insert(rel, (mode, std::fs::read_to_string(&p).unwrap_or_default()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&f.root.join("etc"), &f.root, &mut out);
    out
}

/// A node with docker-ce's stock unit, an administrator's daemon.json (0640), a legacy drop-in
/// that fights it, and a profile with an engine section (hosts, a registry CA).
fn engine_node() -> (Fake, String) {
    let f = Fake::new();
    f.file("usr/lib/systemd/system/docker.service", STOCK_UNIT);
    f.file("etc/docker/daemon.json", ADMIN_DAEMON_JSON);
    std::fs::set_permissions(
        f.root.join("etc/docker/daemon.json"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    f.file(
        "etc/systemd/system/docker.service.d/legacy.conf",
        "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H unix:///var/run/docker.sock\n",
    );
    f.file("srv/ca.crt", CA);
    let p = f.tmp.path().join("profile.json");
    std::fs::write(
        &p,
        r#"{"engine": {"hosts": ["unix:///var/run/docker.sock"],
             "registries": [{"host": "registry.local:5000", "ca_file": "/srv/ca.crt"}]}}"#,
    )
    .unwrap();
    (f, p.display().to_string())
}

#[test]
fn reset_alone_changes_nothing_and_reset_yes_puts_every_file_back() {
    let (f, p) = engine_node();
    let before = snapshot(&f);
    expect_code(&f.run(&["engine", "--profile", &p]), 0);
    let applied = snapshot(&f);
    assert_ne!(
        before, applied,
        "apply changed nothing: the test proves nothing"
    );
    assert!(applied.contains_key("etc/docker/certs.d/registry.local:5000/ca.crt"));
    assert!(applied.contains_key("etc/systemd/system/docker.service.d/legacy.conf.bk"));

    f.next_run();
    f.out("systemctl", "active\n");
    let o = f.run(&["reset", "--profile", &p]);
    expect_code(&o, 0);
    assert_eq!(snapshot(&f), applied, "reset without --yes changed files");
    assert!(changes(&f).is_empty(), "{:?}", changes(&f));
    let plan = stdout(&o);
    for want in [
        "reset --yes would do",
        "run    systemctl stop docker.socket docker.service",
        "rename /etc/docker/daemon.json.swarmnode.orig -> /etc/docker/daemon.json",
        "remove /etc/docker/certs.d/registry.local:5000/ca.crt",
        "rename /etc/systemd/system/docker.service.d/legacy.conf.bk -> /etc/systemd/system/docker.service.d/legacy.conf",
        "remove /etc/systemd/system/docker.service.d/swarmnode.conf",
        "remove /etc/docker/certs.d/",
    ] {
        assert!(plan.contains(want), "{want:?} not in\n{plan}");
    }

    f.next_run();
    let o = f.run(&["reset", "--yes", "--profile", &p]);
    expect_code(&o, 0);
    assert_eq!(snapshot(&f), before, "{}", stdout(&o));
    assert!(
        f.calls()
            .contains(&"systemctl stop docker.socket docker.service".to_string()),
        "{:?}",
        f.calls()
    );
    assert!(f.read("var/lib/swarmnode/created").is_none());
    assert!(f.read("var/lib/swarmnode/moved").is_none());

    // Converged: a second reset stops nothing and changes nothing.
    f.next_run();
    f.out("systemctl", "inactive\n");
    let o = f.run(&["reset", "--yes", "--profile", &p]);
    expect_code(&o, 0);
    assert!(changes(&f).is_empty(), "{:?}", changes(&f));
    // And apply converges again as on a fresh node: the original is kept once more.
    f.next_run();
    expect_code(&f.run(&["engine", "--profile", &p]), 0);
    assert_eq!(snapshot(&f), applied);
}

/// The captured report of a converged pool, tagged as swarmnode's here, with `edit` applied to
/// its one part.
fn pool_report(edit: impl Fn(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(&lvm_report_tagged("pool", &guest_tags())).unwrap();
    edit(&mut v["report"][0]);
    v.to_string()
}

fn pool_node() -> Fake {
    let f = Fake::new();
    f.lvm_pool();
    f.out("lvm", &pool_report(|_| {}));
    f.file(
        "var/lib/swarmnode/storage.json",
        r#"{"driver": "devicemapper", "device": "/dev/disk/by-id/virtio-DATA1", "volume_group": "docker", "volume": "/dev/mapper/docker-thinpool"}"#,
    );
    f.file("etc/lvm/profile/docker-thinpool.profile", "activation {}\n");
    f.file(
        "var/lib/swarmnode/created",
        "/etc/lvm/profile/\n/etc/lvm/profile/docker-thinpool.profile\n",
    );
    f
}

#[test]
fn the_pool_swarmnode_made_is_removed_with_its_group_and_label() {
    let f = pool_node();
    f.file("var/lib/docker/devicemapper/metadata/base", "{}");
    f.file("var/lib/docker.swarmnode-reset/old", "");
    let o = f.run(&["reset", "--yes"]);
    expect_code(&o, 0);
    // docker's data of the removed pool is moved aside (a second aside: the first one is taken).
    assert!(
        f.read("var/lib/docker.swarmnode-reset.1/devicemapper/metadata/base")
            .is_some()
    );
    assert!(!f.root.join("var/lib/docker").exists());
    let m = changes(&f);
    assert_eq!(
        m[..3],
        [
            "lvremove -y --devices /dev/vdb docker/thinpool",
            "vgremove -y --devices /dev/vdb docker",
            "pvremove -y --devices /dev/vdb /dev/vdb",
        ],
        "{m:?}\n{}",
        stdout(&o)
    );
    assert!(f.read("etc/lvm/profile/docker-thinpool.profile").is_none());
    assert!(!f.root.join("etc/lvm/profile").exists());
    assert!(f.read("var/lib/swarmnode/storage.json").is_none());
}

#[test]
fn keep_storage_leaves_the_volumes_and_their_record() {
    let f = pool_node();
    let o = f.run(&["reset", "--yes", "--keep-storage"]);
    expect_code(&o, 0);
    assert!(
        !f.calls()
            .iter()
            .any(|c| c.starts_with("lvremove") || c.starts_with("vgremove")),
        "{:?}",
        f.calls()
    );
    assert!(f.read("etc/lvm/profile/docker-thinpool.profile").is_some());
    assert!(f.read("var/lib/swarmnode/storage.json").is_some());
}

#[test]
fn a_foreign_volume_keeps_the_group_and_the_disk() {
    let f = pool_node();
    f.out(
        "lvm",
        &pool_report(|r| {
            let (lv, _) = linear_lv("scratch", "-wi-a-----", "");
            r["lv"].as_array_mut().unwrap().push(lv);
        }),
    );
    let o = f.run(&["reset", "--yes"]);
    expect_code(&o, 0);
    let calls = f.calls();
    assert!(
        calls.contains(&"lvremove -y --devices /dev/vdb docker/thinpool".to_string()),
        "{calls:?}"
    );
    assert!(
        !calls.iter().any(|c| c.contains("docker/scratch")
            || c.starts_with("vgremove")
            || c.starts_with("pvremove")),
        "{calls:?}"
    );
    assert!(stderr(&o).contains("keeps scratch"), "{}", stderr(&o));
}

#[test]
fn a_group_with_a_missing_disk_is_refused_with_what_to_do() {
    let f = pool_node();
    f.out("lvm", &pool_report(|r| r["vg"][0]["pv_count"] = "2".into()));
    let e = expect_refused(
        &f,
        &["reset", "--yes"],
        "has 2 physical volume(s) but LVM sees 1",
    );
    assert!(e.contains("vgreduce --removemissing --force docker"), "{e}");
    assert!(!f.calls().iter().any(|c| c.starts_with("lvremove")));
}

const SSH_PROFILE: &str = r#"{"swarm": {
  "managers": ["10.77.0.1:2377", "10.77.0.3:2377"],
  "token": {"source": "ssh", "identity_file": "/root/.ssh/id_ed25519",
            "known_hosts_file": "/etc/swarmnode/known_hosts"}
}}"#;

#[test]
fn a_worker_leaves_and_a_manager_removes_its_entry_even_after_a_stop_in_between() {
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", SSH_PROFILE);
    let inactive = info("info-inactive.json");
    let worker = info("info-worker.json");
    let id = serde_json::from_str::<serde_json::Value>(&worker).unwrap()["Swarm"]["NodeID"]
        .as_str()
        .unwrap()
        .to_string();
    let e = f.engine("info-worker.json");
    e.route("POST /swarm/leave", &[(200, "")]);
    // The first manager no longer manages; the second removes the entry.
    f.rc_at(
        "ssh",
        1,
        1,
        "Error response from daemon: This node is not a swarm manager.\n",
    );
    // The drain before the leave is tests/it/drain.rs's.
    let o = f.run_env(
        &["reset", "--yes", "--no-drain"],
        &[("SWARMNODE_FAILPOINT", "reset.swarm-leave")],
    );
    assert_ne!(code(&o), 0, "the fail point did not stop it");
    assert!(asked(&e, "POST /swarm/leave"));
    assert_eq!(f.read("var/lib/swarmnode/reset.node").unwrap().trim(), id);
    // Run again: out of the swarm now; the recorded node's entry is removed.
    e.route("GET /info ", &[(200, &inactive)]);
    f.next_run();
    let o = f.run(&["reset", "--yes"]);
    expect_code(&o, 0);
    let ssh: Vec<String> = f
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("ssh "))
        .collect();
    assert_eq!(ssh.len(), 2, "{ssh:?}");
    assert!(
        ssh[1].contains("-- 10.77.0.3 docker node rm --force -- ") && ssh[1].ends_with(&id),
        "{ssh:?}"
    );
    assert!(f.read("var/lib/swarmnode/reset.node").is_none());
    assert!(f.read("var/lib/swarmnode/reset.left").is_none());
}

#[test]
fn the_last_manager_is_refused_without_force() {
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", SSH_PROFILE);
    let e = f.engine("info-manager.json");
    e.route(
        "GET /nodes ",
        &[(200, r#"[{"ID":"jvby28rgzd1e3pg8flz6k7hj8","Spec":{"Role":"manager"},"ManagerStatus":{"Leader":true,"Reachability":"reachable"}},{"ID":"w1","Spec":{"Role":"worker"}}]"#)],
    );
    e.route("POST /swarm/leave", &[(200, "")]);
    let r = expect_refused(&f, &["reset", "--yes"], "it is the swarm's last manager");
    assert!(r.contains("--force"), "{r}");
    assert!(!asked(&e, "POST"));
    // Out once it has left.
    e.route(
        "GET /info ",
        &[
            (200, &info("info-manager.json")),
            (200, &info("info-inactive.json")),
        ],
    );
    let o = f.run(&["reset", "--yes", "--force"]);
    expect_code(&o, 0);
    assert!(asked(&e, "POST /swarm/leave?force=1"), "{:?}", e.requests());
    assert!(
        !f.calls().iter().any(|c| c.starts_with("ssh ")),
        "{:?}",
        f.calls()
    );
}

#[test]
fn a_member_with_docker_down_is_refused_unless_forced() {
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", SSH_PROFILE);
    f.file("var/lib/docker/swarm/state.json", "[]");
    let r = expect_refused(&f, &["reset", "--yes"], "says the node is in a swarm");
    assert!(r.contains("systemctl start docker"), "{r}");
    expect_code(&f.run(&["reset", "--yes", "--force"]), 0);
}

#[test]
fn a_snapshot_swarmnode_did_not_make_on_its_volume_is_refused_before_anything_changes() {
    let f = pool_node();
    f.out(
        "lvm",
        &pool_report(|r| {
            let (mut lv, _) = linear_lv("backup", "swi-a-s---", "");
            lv["segtype"] = "snapshot".into();
            r["lv"].as_array_mut().unwrap().push(lv);
        }),
    );
    let e = expect_refused(&f, &["reset", "--yes"], "backup (a snapshot or thin volume");
    assert!(e.contains("--keep-storage"), "{e}");
}

#[test]
fn a_stale_record_of_an_earlier_reset_does_not_keep_a_member_in_its_swarm() {
    // An earlier reset left its swarm phase done, then the node joined again.
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", SSH_PROFILE);
    f.file("var/lib/swarmnode/reset.left", "left\n");
    let e = f.engine("info-worker.json");
    e.route("POST /swarm/leave", &[(200, "")]);
    e.route(
        "GET /info ",
        &[
            (200, &info("info-worker.json")),
            (200, &info("info-inactive.json")),
        ],
    );
    let o = f.run(&["reset", "--yes", "--no-drain"]);
    expect_code(&o, 0);
    assert!(asked(&e, "POST /swarm/leave"), "{:?}", e.requests());
}

#[test]
fn a_recorded_node_with_docker_down_and_swarm_state_is_refused() {
    // Stopped after recording the node and before it left; then docker went down.
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", SSH_PROFILE);
    f.file(
        "var/lib/swarmnode/reset.node",
        "l8s526d06sna2jckb05a27o7r\n",
    );
    f.file("var/lib/docker/swarm/state.json", "[]");
    expect_refused(&f, &["reset", "--yes"], "says the node is in a swarm");
    assert!(!f.calls().iter().any(|c| c.starts_with("ssh ")));
}

#[test]
fn a_file_swarmnode_overwrote_gets_its_original_back() {
    let (f, p) = engine_node();
    // The registry's CA was there before, with other content.
    f.file(
        "etc/docker/certs.d/registry.local:5000/ca.crt",
        "an older CA\n",
    );
    let before = snapshot(&f);
    expect_code(&f.run(&["engine", "--profile", &p]), 0);
    assert_ne!(
        f.read("etc/docker/certs.d/registry.local:5000/ca.crt")
            .unwrap(),
        "an older CA\n"
    );
    f.next_run();
    expect_code(&f.run(&["reset", "--yes", "--profile", &p]), 0);
    assert_eq!(snapshot(&f), before);
}

#[test]
fn a_disk_the_devices_file_lists_leaves_it_before_its_label_goes() {
    // EL9: pvremove alone leaves the disk's entry (PVID=.) in system.devices (seen in the trixie guest).
    let f = pool_node();
    f.file(
        "etc/lvm/devices/system.devices",
        "# LVM uses devices listed in this file.\nVERSION=1.1.2\nIDTYPE=sys_serial IDNAME=DATA1 DEVNAME=/dev/vdb PVID=abc\n",
    );
    expect_code(&f.run(&["reset", "--yes"]), 0);
    let m = changes(&f);
    assert_eq!(
        m[..4],
        [
            "lvremove -y --devices /dev/vdb docker/thinpool",
            "vgremove -y --devices /dev/vdb docker",
            "lvm lvmdevices --deldev /dev/vdb",
            "pvremove -y --devices /dev/vdb /dev/vdb",
        ],
        "{m:?}"
    );
}

/// Issue 26, item 2: swarmnode's records are data. A line of `created` or `moved` that is not
/// a normalised path inside the places swarmnode writes to, or that is reached through a
/// symbolic link, is refused (65) naming the record and the line, and reset changes nothing:
/// not a file, and not the swarm (its phase comes first and would leave).
#[test]
fn a_record_naming_what_swarmnode_never_writes_is_refused_before_anything_changes() {
    const NONE: &str = "none of the files swarmnode writes";
    for (record, line, why) in [
        ("created", "/etc/shadow", NONE),
        ("created", "/etc/docker/../shadow", "`..` component"),
        ("created", "//etc/shadow", "`//`"),
        ("created", "etc/shadow", "not an absolute path"),
        ("created", "/etc/", NONE),
        ("created", "/root/.ssh/", NONE),
        // Inside the directories swarmnode writes to, but none of its files.
        (
            "created",
            "/etc/systemd/system/sshd.service.d/override.conf",
            NONE,
        ),
        (
            "created",
            "/etc/systemd/system/multi-user.target.wants/sshd.service",
            NONE,
        ),
        ("created", "/etc/swarmnode/node_key", NONE),
        ("created", "/etc/docker/key.json", NONE),
        ("moved", "/etc/passwd", NONE),
        ("moved", "/etc/docker/", "names a directory"),
        (
            "created",
            "/etc/docker/certs.d/x/ca.crt",
            "/etc/docker/certs.d on its way is a symbolic link",
        ),
    ] {
        let f = Fake::new();
        f.file("etc/swarmnode/profile.json", SSH_PROFILE);
        f.file("etc/shadow", "root:secret\n");
        f.file("etc/passwd", "root:x:0:0\n");
        f.file("etc/passwd.bk", "root:x:0:0:old\n");
        f.file("root/.ssh/id_ed25519", "key\n");
        f.file("etc/docker/daemon.json", "{}\n");
        f.file("etc/keys/x/ca.crt", "a CA of the administrator's\n");
        std::os::unix::fs::symlink("/etc/keys", f.root.join("etc/docker/certs.d")).unwrap();
        f.file(
            &format!("var/lib/swarmnode/{record}"),
            &format!("/etc/docker/daemon.json\n{line}\n"),
        );
        let e = f.engine("info-worker.json");
        e.route("POST /swarm/leave", &[(200, "")]);
        let before = snapshot(&f);
        let o = f.run(&["--json", "reset", "--yes"]);
        expect_code(&o, 65);
        let r = refusal(&o);
        let subject = r["subject"].as_str().unwrap_or_default().to_string();
        assert_eq!(
            subject,
            format!("/var/lib/swarmnode/{record}, line 2 (\"{line}\")"),
            "{record} {line}: {}",
            stderr(&o)
        );
        assert!(
            r["reasons"][0].as_str().unwrap_or_default().contains(why),
            "{line}: {r}"
        );
        assert_eq!(snapshot(&f), before, "{line}: reset changed files");
        assert!(f.read("root/.ssh/id_ed25519").is_some());
        assert!(changes(&f).is_empty(), "{line}: {:?}", changes(&f));
        assert!(
            !asked(&e, "POST /swarm/leave"),
            "{line}: the node left its swarm"
        );
    }
}

/// Issue 26, item 2: `reset.node` goes to a manager: it must be a node ID, never a name or words.
#[test]
fn a_recorded_node_that_is_not_a_node_id_is_refused() {
    for bad in [
        "psw-n2",
        "--force l8s526d06sna2jckb05a27o7r",
        "l8s526d06sna2jckb05a27o7r; id",
    ] {
        let f = Fake::new();
        f.file("etc/swarmnode/profile.json", SSH_PROFILE);
        f.file("var/lib/swarmnode/reset.node", &format!("{bad}\n"));
        let e = f.engine("info-inactive.json");
        let o = f.run(&["--json", "reset", "--yes"]);
        refused_for_record(
            &o,
            "/var/lib/swarmnode/reset.node, line 1",
            "is not a node ID",
        );
        assert!(
            !f.calls().iter().any(|c| c.starts_with("ssh ")),
            "{:?}",
            f.calls()
        );
        assert!(
            e.requests().iter().all(|r| r.starts_with("GET ")),
            "{:?}",
            e.requests()
        );
    }
}

/// Issue 26, item 2: the storage record names a device, a group and a volume that reset acts on.
#[test]
fn a_storage_record_that_is_not_what_the_storage_step_writes_is_refused() {
    for (rec, why) in [
        (
            r#"{"driver": "devicemapper", "device": "/dev/vdb", "volume_group": "--yes", "volume": "/dev/mapper/--yes-thinpool"}"#,
            "is not a volume group name",
        ),
        (
            r#"{"driver": "devicemapper", "device": "/dev/../etc/shadow", "volume_group": "docker", "volume": "/dev/mapper/docker-thinpool"}"#,
            "is not a normalised path under /dev",
        ),
        (
            r#"{"driver": "overlay2", "device": "/dev/vdb", "volume_group": "docker", "volume": "/dev/sda1"}"#,
            "is not the overlay2 volume of docker",
        ),
        (r#"["docker"]"#, "it is not a storage record"),
    ] {
        let f = pool_node();
        f.file("var/lib/swarmnode/storage.json", rec);
        let o = f.run(&["--json", "reset", "--yes"]);
        refused_for_record(&o, "/var/lib/swarmnode/storage.json", why);
        assert!(changes(&f).is_empty(), "{:?}", changes(&f));
    }
}

/// A reset refused (65) for one of swarmnode's records: the refusal's subject starts with
/// `subject` (the record, its line), its first reason holds `why`.
#[track_caller]
fn refused_for_record(o: &std::process::Output, subject: &str, why: &str) {
    expect_code(o, 65);
    let r = refusal(o);
    assert!(
        r["subject"]
            .as_str()
            .unwrap_or_default()
            .starts_with(subject),
        "{subject}: {r}"
    );
    assert!(
        r["reasons"][0].as_str().unwrap_or_default().contains(why),
        "{why}: {r}"
    );
}

/// Another machine's machine tag.
const OTHER_MACHINE: &str = "swarmnode-machine-0123456789abcdef0123456789abcdef";

/// The captured pool as two VGs of one name: this node's on vdb (`mine` tags) and, when `theirs`
/// is given, another installation's on vdc with those tags (a disk moved in from another node).
fn two_pools(mine: Option<&str>, theirs: Option<&str>) -> String {
    let base: serde_json::Value =
        serde_json::from_str(&lvm_report_tagged("pool", &guest_tags())).unwrap();
    let part = |tags: &str, pv: &str, uuid: &str| {
        let mut p = base["report"][0].clone();
        p["vg"][0]["vg_tags"] = tags.into();
        p["vg"][0]["vg_uuid"] = uuid.into();
        for row in p["pv"].as_array_mut().unwrap() {
            row["pv_name"] = pv.into();
        }
        for row in p["lv"].as_array_mut().unwrap() {
            if !row["lv_name"].as_str().unwrap().starts_with('[') {
                row["lv_tags"] = tags.into();
            }
        }
        p
    };
    let mut parts = Vec::new();
    if let Some(t) = mine {
        parts.push(part(t, "/dev/vdb", "mine-uuid"));
    }
    if let Some(t) = theirs {
        parts.push(part(t, "/dev/vdc", "their-uuid"));
    }
    serde_json::json!({ "report": parts }).to_string()
}

fn removals(f: &Fake) -> Vec<String> {
    f.calls()
        .into_iter()
        .filter(|c| {
            ["lvremove", "vgremove", "pvremove", "wipefs --all"]
                .iter()
                .any(|t| c.starts_with(t))
        })
        .collect()
}

/// Issue 26, item 1: a swarmnode VG of another machine on the recorded device (a data disk
/// moved in from a dead node, or put back in the wrong slot) is not this node's: kept and named,
/// never lvremove'd, vgremove'd or pvremove'd; the record goes.
#[test]
fn another_machines_vg_on_the_recorded_device_is_kept() {
    let f = pool_node();
    f.out(
        "lvm",
        &two_pools(Some(&format!("swarmnode,{OTHER_MACHINE}")), None),
    );
    let o = f.run(&["reset", "--yes"]);
    expect_code(&o, 0);
    assert!(removals(&f).is_empty(), "{:?}", removals(&f));
    assert!(
        stderr(&o).contains("volume group docker on /dev/vdb: not this node's (it was made by the installation with machine-id 0123456789abcdef0123456789abcdef): kept"),
        "{}",
        stderr(&o)
    );
    assert!(f.read("var/lib/swarmnode/storage.json").is_none());
    // A swarmnode VG without this machine's tag, or without swarmnode's tag at all: kept too.
    for tags in ["swarmnode", ""] {
        let f = pool_node();
        f.out("lvm", &two_pools(Some(tags), None));
        let o = f.run(&["reset", "--yes"]);
        expect_code(&o, 0);
        assert!(removals(&f).is_empty(), "{tags}: {:?}", removals(&f));
        assert!(stderr(&o).contains("not this node's"), "{}", stderr(&o));
    }
}

/// Issue 26, item 1: two VGs of one name, this node's on the recorded disk and another
/// installation's on a second disk: this node's goes, every LVM command seeing its disk only; the
/// other's is named and kept.
#[test]
fn with_another_installations_vg_of_the_same_name_on_a_second_disk_only_this_nodes_goes() {
    let f = pool_node();
    f.disk("vdc", (254, 32), 4 * GIB);
    f.out(
        "lvm",
        &two_pools(
            Some(&guest_tags()),
            Some(&format!("swarmnode,{OTHER_MACHINE}")),
        ),
    );
    let o = f.run(&["reset", "--yes"]);
    expect_code(&o, 0);
    assert_eq!(
        removals(&f),
        [
            "lvremove -y --devices /dev/vdb docker/thinpool",
            "vgremove -y --devices /dev/vdb docker",
            "pvremove -y --devices /dev/vdb /dev/vdb",
        ],
        "{}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains("volume group docker on /dev/vdc: not this node's (it is not on the recorded device /dev/disk/by-id/virtio-DATA1): kept"),
        "{}",
        stderr(&o)
    );
    // The recorded disk holds nothing any more; the other installation's group is still there.
    f.next_run();
    f.file(
        "var/lib/swarmnode/storage.json",
        r#"{"driver": "devicemapper", "device": "/dev/disk/by-id/virtio-DATA1", "volume_group": "docker", "volume": "/dev/mapper/docker-thinpool"}"#,
    );
    f.out(
        "lvm",
        &two_pools(None, Some(&format!("swarmnode,{OTHER_MACHINE}"))),
    );
    let o = f.run(&["reset", "--yes"]);
    expect_code(&o, 0);
    assert!(removals(&f).is_empty(), "{:?}", removals(&f));
    assert!(
        stderr(&o).contains("on /dev/vdc: not this node's (it is not on the recorded device"),
        "{}",
        stderr(&o)
    );
}

/// Issue 26, item 1: without a machine-id, a swarmnode VG is this node's only when its disks
/// are exactly the recorded device.
#[test]
fn without_a_machine_id_only_a_group_on_the_recorded_device_alone_is_this_nodes() {
    let f = pool_node();
    std::fs::remove_file(f.root.join("etc/machine-id")).unwrap();
    f.out("lvm", &two_pools(Some("swarmnode"), None));
    expect_code(&f.run(&["reset", "--yes"]), 0);
    assert_eq!(removals(&f).len(), 3, "{:?}", removals(&f));
    // The same group on the recorded device and a second disk: kept.
    let f = pool_node();
    std::fs::remove_file(f.root.join("etc/machine-id")).unwrap();
    let mut v: serde_json::Value =
        serde_json::from_str(&two_pools(Some("swarmnode"), None)).unwrap();
    let mut pv2 = v["report"][0]["pv"][0].clone();
    pv2["pv_name"] = "/dev/vdc".into();
    v["report"][0]["pv"].as_array_mut().unwrap().push(pv2);
    v["report"][0]["vg"][0]["pv_count"] = "2".into();
    f.out("lvm", &v.to_string());
    let o = f.run(&["reset", "--yes"]);
    expect_code(&o, 0);
    assert!(removals(&f).is_empty(), "{:?}", removals(&f));
    assert!(
        stderr(&o).contains("no machine-id, and the group is on other disks"),
        "{}",
        stderr(&o)
    );
    // On the recorded device alone but with another machine's tag: proof it is not this node's.
    let f = pool_node();
    std::fs::remove_file(f.root.join("etc/machine-id")).unwrap();
    f.out(
        "lvm",
        &two_pools(Some(&format!("swarmnode,{OTHER_MACHINE}")), None),
    );
    let o = f.run(&["reset", "--yes"]);
    expect_code(&o, 0);
    assert!(removals(&f).is_empty(), "{:?}", removals(&f));
    assert!(
        stderr(&o).contains("made by the installation with machine-id 0123456789abcdef"),
        "{}",
        stderr(&o)
    );
}

/// After a review: this machine's VG on another disk than the recorded one (the disks' names
/// moved: the record says vdb, the VG is on vdc) is refused, record, fstab and volumes kept,
/// never half reset as "not this node's".
#[test]
fn this_machines_vg_on_another_disk_than_recorded_is_refused() {
    let f = pool_node();
    f.disk("vdc", (254, 32), 4 * GIB);
    f.out("lvm", &two_pools(None, Some(&guest_tags())));
    let err = expect_refused(
        &f,
        &["reset", "--yes"],
        "carries this machine's tag but is on /dev/vdc",
    );
    assert!(err.contains("swarmnode apply --device"), "{err}");
    assert!(f.read("var/lib/swarmnode/storage.json").is_some());
    assert!(f.read("etc/lvm/profile/docker-thinpool.profile").is_some());
}

/// After a review: reset removes volumes with `--devices`, which lvm2 has from 2.03.12. An older
/// lvm2 (EL 8.4) is refused before anything changes, not halfway after the node left its swarm.
#[test]
fn an_lvm2_without_devices_is_refused_before_anything_changes() {
    let f = pool_node();
    f.file("etc/swarmnode/profile.json", SSH_PROFILE);
    f.out(
        "lvm@version",
        "  LVM version:     2.03.11(2)-RHEL8 (2021-01-28)\n",
    );
    let e = f.engine("info-worker.json");
    e.route("POST /swarm/leave", &[(200, "")]);
    let err = expect_refused(&f, &["reset", "--yes"], "which lvm2 has from 2.03.12");
    assert!(err.contains("this system's is 2.03.11"), "{err}");
    assert!(!asked(&e, "POST /swarm/leave"), "{:?}", e.requests());
    assert!(f.read("var/lib/swarmnode/storage.json").is_some());
    // With --keep-storage the volumes are not touched, so the version does not matter.
    e.route("GET /info ", &[(200, &info("info-inactive.json"))]);
    let o = f.run(&["reset", "--yes", "--keep-storage"]);
    expect_code(&o, 0);
}

/// After a review: a record is read only when nobody but root can have written it (the file and
/// every directory on the way root's, not writable by group or others); a directory entry that
/// is a link now is refused, not rmdir'ed halfway.
#[test]
fn records_others_could_have_written_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let f = pool_node();
    let rec = f.root.join("var/lib/swarmnode/created");
    std::fs::set_permissions(&rec, std::fs::Permissions::from_mode(0o666)).unwrap();
    let err = expect_refused(&f, &["reset", "--yes"], "it is mode 0666, owner uid 0");
    assert!(err.contains("/var/lib/swarmnode/created"), "{err}");
    std::fs::set_permissions(&rec, std::fs::Permissions::from_mode(0o600)).unwrap();
    let dir = f.root.join("var/lib/swarmnode");
    std::os::unix::fs::chown(&dir, Some(4321), None).unwrap();
    expect_refused(
        &f,
        &["reset", "--yes"],
        "/var/lib/swarmnode is on its way, and it belongs to uid 4321",
    );
    std::os::unix::fs::chown(&dir, Some(0), None).unwrap();
    // The LVM profile's directory, made by swarmnode, is a link now.
    std::fs::rename(f.root.join("etc/lvm/profile"), f.root.join("etc/lvm/real")).unwrap();
    std::os::unix::fs::symlink("real", f.root.join("etc/lvm/profile")).unwrap();
    let o = f.run(&["--json", "reset", "--yes"]);
    refused_for_record(
        &o,
        "/var/lib/swarmnode/created, line 1",
        "it is a symbolic link now",
    );
}
