//! `migrate-storage --to overlay2` against a fake root: a devicemapper node as swarmnode made
//! it (the captured pool, tagged with this machine's tag, its record and LVM profile), docker's
//! data root with devicemapper's and the carried directories. What it plans, what it refuses
//! before anything changes, and how the storage step treats a node once it runs overlay2. The
//! whole move, killed after each action, is the guest's (vm-tests/scenarios/migrate-storage.sh).

use crate::common::*;

fn dm_node() -> (Fake, FakeEngine) {
    let f = Fake::new();
    f.lvm_pool();
    f.out("lvm", &lvm_report_tagged("pool", &guest_tags()));
    f.file(
        "var/lib/swarmnode/storage.json",
        r#"{"driver": "devicemapper", "device": "/dev/disk/by-id/virtio-DATA1", "volume_group": "docker", "volume": "/dev/mapper/docker-thinpool"}"#,
    );
    f.file("etc/lvm/profile/docker-thinpool.profile", "activation {}\n");
    for d in [
        "devicemapper/metadata/base",
        "image/devicemapper/repositories.json",
        "containers/x/config.v2.json",
    ] {
        f.file(&format!("var/lib/docker/{d}"), "{}");
    }
    f.file("var/lib/docker/volumes/data/_data/kept.txt", "kept\n");
    f.file("var/lib/docker/swarm/state.json", "[]");
    f.out("systemctl", "active\n");
    let e = f.engine("info-inactive.json");
    e.route(
        "GET /volumes",
        &[(
            200,
            r#"{"Volumes": [{"Name": "data", "Driver": "local", "Options": null}]}"#,
        )],
    );
    (f, e)
}

#[test]
fn the_plan_shows_the_move_and_changes_nothing() {
    let (f, _e) = dm_node();
    let o = f.run(&["migrate-storage", "--to", "overlay2", "--plan"]);
    expect_code(&o, 0);
    let plan = stdout(&o);
    for want in [
        "write  /var/lib/swarmnode/migrate.json",
        "carried over: ",
        "run    systemctl stop docker.socket docker.service",
        "once docker is stopped: devicemapper, image, containers, tmp, buildkit, runtimes moved aside",
        "once the thin pool is removed: the storage step for overlay2",
        "daemon.json's storage-driver set to overlay2",
        "docker started on overlay2",
    ] {
        assert!(plan.contains(want), "{want:?} not in\n{plan}");
    }
    assert!(changes(&f).is_empty(), "{:?}", changes(&f));
    assert!(f.read("var/lib/swarmnode/migrate.json").is_none());
    // docker stopped already: the renames and the pool's removal, on this node's disk only.
    f.next_run();
    f.out("systemctl", "inactive\n");
    let plan = stdout(&f.run(&["migrate-storage", "--to", "overlay2", "--plan"]));
    for want in [
        "rename /var/lib/docker/devicemapper -> /var/lib/docker.swarmnode-dropped/devicemapper",
        "rename /var/lib/docker/image -> /var/lib/docker.swarmnode-dropped/image",
        "lvremove -y --devices /dev/vdb docker/thinpool",
        "remove /etc/lvm/profile/docker-thinpool.profile",
    ] {
        assert!(plan.contains(want), "{want:?} not in\n{plan}");
    }
    assert!(
        !plan.contains("volumes -> "),
        "the carried state never moves here:\n{plan}"
    );
}

#[test]
fn a_node_swarmnode_did_not_make_is_refused() {
    let (f, _e) = dm_node();
    std::fs::remove_file(f.root.join("var/lib/swarmnode/storage.json")).unwrap();
    expect_refused(
        &f,
        &["migrate-storage", "--to", "overlay2"],
        "there is no storage record",
    );
    assert!(changes(&f).is_empty(), "{:?}", changes(&f));
}

#[test]
fn a_volume_with_its_data_elsewhere_is_refused_before_anything_changes() {
    let (f, e) = dm_node();
    e.route(
        "GET /volumes",
        &[(200, r#"{"Volumes": [{"Name": "scratch", "Driver": "local", "Options": {"type": "none", "o": "bind", "device": "/srv/scratch"}}]}"#)],
    );
    let why = expect_refused(
        &f,
        &["migrate-storage", "--to", "overlay2"],
        "keep their data elsewhere",
    );
    assert!(why.contains("scratch (from /srv/scratch)"), "{why}");
    assert!(changes(&f).is_empty(), "{:?}", changes(&f));
    assert!(f.read("var/lib/swarmnode/migrate.json").is_none());
}

#[test]
fn the_last_manager_is_refused_unless_forced() {
    let (f, e) = dm_node();
    as_manager(&e, &[]);
    let why = expect_refused(
        &f,
        &["migrate-storage", "--to", "overlay2"],
        "the swarm would have no quorum while it is stopped",
    );
    assert!(why.contains("--force"), "{why}");
    let o = f.run(&["migrate-storage", "--to", "overlay2", "--force", "--plan"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("write  /var/lib/swarmnode/migrate.json"),
        "{}",
        stdout(&o)
    );
}

/// The engine answers as a manager, one of the swarm's managers with `others` (each reachable).
fn as_manager(e: &FakeEngine, others: &[&str]) {
    e.route("GET /info ", &[(200, &info("info-manager.json"))]);
    let me: serde_json::Value = serde_json::from_str(&info("info-manager.json")).unwrap();
    let entry = |id: &str| {
        format!(
            r#"{{"ID":"{id}","Spec":{{"Role":"manager","Availability":"active"}},"ManagerStatus":{{"Reachability":"reachable"}}}}"#
        )
    };
    let id = me["Swarm"]["NodeID"].as_str().unwrap();
    let all: Vec<String> = std::iter::once(id)
        .chain(others.iter().copied())
        .map(entry)
        .collect();
    e.route("GET /nodes ", &[(200, &format!("[{}]", all.join(",")))]);
    // What its drain reads on its own engine: its entry, nothing running, no tasks.
    e.route(&format!("GET /nodes/{id} "), &[(200, &entry(id))]);
    e.route("GET /containers/json", &[(200, "[]")]);
    e.route("GET /tasks", &[(200, "[]")]);
}

#[test]
fn a_migration_record_that_is_not_one_is_refused() {
    let (f, _e) = dm_node();
    f.file(
        "var/lib/swarmnode/migrate.json",
        r#"{"to": "overlay2", "node_id": "../../etc", "activate": false}"#,
    );
    expect_refused(
        &f,
        &["migrate-storage", "--to", "overlay2"],
        "is not a node ID",
    );
    f.file(
        "var/lib/swarmnode/migrate.json",
        r#"{"to": "devicemapper", "node_id": null, "activate": false}"#,
    );
    expect_refused(
        &f,
        &["migrate-storage", "--to", "overlay2"],
        "only overlay2 is moved to",
    );
}

/// Once the node runs overlay2, `auto` keeps it there even on an engine that still has
/// devicemapper; devicemapper named is refused with the way out.
#[test]
fn an_overlay2_node_stays_on_overlay2() {
    let f = Fake::new();
    f.file(
        "var/lib/swarmnode/storage.json",
        r#"{"driver": "overlay2", "device": "/dev/vdb", "volume_group": "docker", "volume": "/dev/docker/dockerdata"}"#,
    );
    // dockerd-version.txt is 20.10: `auto` would pick devicemapper on a fresh node.
    let o = f.run(&["plan", "--device", "/dev/vdb"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("driver overlay2 (auto): the node runs overlay2"),
        "{}",
        stdout(&o)
    );
    expect_refused(
        &f,
        &["plan", "--device", "/dev/vdb", "--driver", "devicemapper"],
        "the node runs overlay2",
    );
}

/// Found by the guest's crash loop: killed right after docker started on overlay2, the next run
/// stopped docker again and took the new image/ for devicemapper's. Once the storage record says
/// overlay2 the switch is behind: docker is never stopped again, nothing moved.
#[test]
fn once_the_storage_record_says_overlay2_the_switch_is_behind() {
    let (f, _e) = dm_node();
    f.file(
        "var/lib/swarmnode/migrate.json",
        r#"{"to": "overlay2", "node_id": null, "activate": false}"#,
    );
    f.file(
        "var/lib/swarmnode/storage.json",
        r#"{"driver": "overlay2", "device": "/dev/disk/by-id/virtio-DATA1", "volume_group": "docker", "volume": "/dev/docker/dockerdata"}"#,
    );
    let o = f.run(&["migrate-storage", "--to", "overlay2", "--plan"]);
    let plan = stdout(&o);
    assert!(plan.contains("the switch is done"), "{plan}");
    assert!(!plan.contains("systemctl stop"), "{plan}");
    assert!(
        !plan.contains("-> /var/lib/docker.swarmnode-dropped/image"),
        "{plan}"
    );
}

/// What a later phase would refuse is refused before docker stops (the guest's crash loop met
/// an earlier move's tree in the storage phase, after the pool was gone): the engine step's
/// judgement (a seed's plaintext API in daemon.json), and /var/lib/docker.swarmnode-old.
#[test]
fn what_a_later_phase_would_refuse_is_refused_before_anything_changes() {
    let (f, _e) = dm_node();
    f.file(
        "etc/docker/daemon.json",
        r#"{"hosts": ["tcp://0.0.0.0:2375", "unix:///var/run/docker.sock"], "storage-driver": "devicemapper"}"#,
    );
    expect_refused(&f, &["migrate-storage", "--to", "overlay2"], "2375");
    assert!(changes(&f).is_empty(), "{:?}", changes(&f));
    std::fs::remove_file(f.root.join("etc/docker/daemon.json")).unwrap();
    f.file("var/lib/docker.swarmnode-old/swarm/state.json", "[]");
    expect_refused(
        &f,
        &["migrate-storage", "--to", "overlay2"],
        "an earlier move's tree is there",
    );
    assert!(changes(&f).is_empty(), "{:?}", changes(&f));
    assert!(f.read("var/lib/swarmnode/migrate.json").is_none());
}

/// A newcomer's review: one of two managers stopped leaves one of two, no quorum (reset's rule
/// counts the managers after a demotion, and migrate demotes nothing).
#[test]
fn one_of_two_managers_is_refused_too() {
    let (f, e) = dm_node();
    as_manager(&e, &["other00000000000000000000"]);
    expect_refused(
        &f,
        &["migrate-storage", "--to", "overlay2"],
        "the other 1 have 1 reachable",
    );
    // One of three, the other two answering: the swarm keeps its quorum, it goes on.
    as_manager(
        &e,
        &["other00000000000000000000", "third00000000000000000000"],
    );
    expect_code(
        &f.run(&["migrate-storage", "--to", "overlay2", "--plan"]),
        0,
    );
}
