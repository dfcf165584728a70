//! Tier 2: profiles, usage errors and exit codes of the binary.

use crate::common::*;

#[test]
fn usage_errors_exit_2() {
    let f = Fake::new();
    expect_code(&f.run(&["frobnicate"]), 2);
    expect_code(&f.run(&["apply", "--driver", "zfs"]), 2);
}

#[test]
fn no_profile_and_no_device_is_refused_with_the_way_out() {
    let f = Fake::new();
    let err = expect_refused(
        &f,
        &["apply"],
        "there is no profile at /etc/swarmnode/profile.json and no --device was given",
    );
    assert!(err.contains("give --profile FILE or --device DEV"), "{err}");
}

#[test]
fn missing_explicit_profile_is_refused() {
    let f = Fake::new();
    expect_refused(
        &f,
        &["plan", "--profile", "/nonexistent/profile.json"],
        "profile /nonexistent/profile.json: (file): cannot read it",
    );
}

#[test]
fn profile_errors_name_file_and_key() {
    let f = Fake::new();
    let p = f.tmp.path().join("bad.json");
    std::fs::write(
        &p,
        r#"{"storage": {"device": "/dev/vdb", "thinpool": {"chunk_size": "100K"}}}"#,
    )
    .unwrap();
    let o = f.run(&["plan", "--profile", p.to_str().unwrap()]);
    expect_code(&o, 65);
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "profile {}: storage.thinpool.chunk_size:",
            p.display()
        )),
        "{e}"
    );
    std::fs::write(&p, r#"{"storage": {"devise": "/dev/vdb"}}"#).unwrap();
    let e = stderr(&f.run(&["plan", "--profile", p.to_str().unwrap()]));
    assert!(e.contains("storage.devise: unknown field `devise`"), "{e}");
    assert!(f.mutating_calls().is_empty());
}

#[test]
fn default_profile_is_read_under_root_and_cli_overrides_it() {
    let f = Fake::new();
    f.file(
        "etc/swarmnode/profile.json",
        r#"{"storage": {"device": "/dev/vdc", "volume_group": "dock", "thinpool": {"data_percent": 90}}}"#,
    );
    let o = f.run(&["plan", "--device", "/dev/disk/by-id/virtio-DATA1"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(
        out.contains("run    vgcreate --addtag swarmnode --addtag swarmnode-machine-70e03b4e35e541b38c27ba78376af77f dock /dev/vdb"),
        "{out}"
    );
    assert!(out.contains("--extents 90%VG --poolmetadatasize"), "{out}");
}

#[test]
fn shipped_production_profile_on_a_booted_node_checks_the_nfs_mounts_first() {
    let f = Fake::new();
    f.file(
        "mnt/docker/registry/ca.crt",
        include_str!("../fixtures/pki/registry-ca.crt"),
    );
    let o = f.plan_production();
    expect_code(&o, 65);
    let err = stderr(&o);
    assert!(
        err.contains(
            "  - /home is not mounted, and neither /etc/fstab nor a mount unit provides it"
        ),
        "{err}"
    );
    let out = stdout(&o);
    assert!(
        out.contains("run    vgcreate --addtag swarmnode --addtag swarmnode-machine-70e03b4e35e541b38c27ba78376af77f docker /dev/vdb"),
        "{out}"
    );
    assert!(
        out.contains("engine: storage driver devicemapper (from the storage step)"),
        "{out}"
    );
    assert!(
        out.contains("write  /etc/docker/daemon.json (0644)"),
        "{out}"
    );
    assert!(
        out.contains("+   \"storage-driver\": \"devicemapper\","),
        "{out}"
    );
    assert!(
        out.contains("write  /etc/docker/certs.d/docker-registry.dccn.nl:5000/ca.crt (0644)"),
        "{out}"
    );
    assert!(
        f.read("etc/docker/daemon.json").is_none(),
        "plan wrote daemon.json"
    );
    let versions = f
        .calls()
        .iter()
        .filter(|c| c.starts_with("dockerd --version"))
        .count();
    assert_eq!(
        versions, 1,
        "both steps share one read of the engine version"
    );
}

#[test]
fn storage_command_needs_a_device() {
    let f = Fake::new();
    let p = f.tmp.path().join("p.json");
    std::fs::write(&p, r#"{"storage": {}}"#).unwrap();
    expect_refused(
        &f,
        &["storage", "--profile", p.to_str().unwrap()],
        "no device was given",
    );
}

#[test]
fn missing_lvm_names_the_package() {
    let f = Fake::new();
    f.no_tool("lvm");
    let o = f.run(&["plan", "--device", "/dev/disk/by-id/virtio-DATA1"]);
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains("lvm was not found on PATH; install the lvm2 package"),
        "{}",
        stderr(&o)
    );
}
