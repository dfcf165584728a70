//! Tier 2: a data disk that holds a previous installation of the node (it was re-kickstarted),
//! the machine tags that tell installations apart, and the LVM devices file that hides the disk.

use crate::common::*;

const DEV: &str = "/dev/disk/by-id/virtio-DATA1";
/// Another installation's machine-id (the system disk was installed again).
const NEW_ID: &str = "0123456789abcdef0123456789abcdef";

/// The reinstalled node: the data disk holds the pool the guest's docker used (2.34% of its data),
/// the system disk is new (another machine-id, no record, no docker metadata).
fn reinstalled_with_used_pool(f: &Fake) {
    f.lvm_pool();
    f.out("lvm", &fixture("fullreport-pool-used.json"));
    f.file("etc/machine-id", &format!("{NEW_ID}\n"));
}

#[test]
fn a_previous_installations_pool_is_refused_naming_what_is_there() {
    let f = Fake::new();
    reinstalled_with_used_pool(&f);
    for cmd in ["plan", "apply"] {
        let err = expect_refused(&f, &[cmd, "--device", DEV], "previous installation");
        for want in [
            "docker/thinpool",
            "data 2.34%",
            "made 2026-11-22",
            "machine-id 70e03b4e35e541b38c27ba78376af77f",
            "--reprovision",
            "nothing was changed",
        ] {
            assert!(err.contains(want), "{want} missing:\n{err}");
        }
    }
}

#[test]
fn a_used_pool_docker_has_no_metadata_for_is_refused_even_on_this_installation() {
    // This machine's tag, but no record and no docker metadata (/var/lib/docker was removed, or a
    // run was killed before the record): docker cannot take the pool.
    let f = Fake::new();
    f.lvm_pool();
    f.out("lvm", &fixture("fullreport-pool-used.json"));
    expect_refused(&f, &["apply", "--device", DEV], "cannot take it over");
    // With docker's metadata for it, the node is simply converged.
    f.file("var/lib/docker/devicemapper/metadata/base", "{}");
    f.next_run();
    let o = f.run(&["apply", "--device", DEV]);
    expect_code(&o, 0);
    assert!(
        f.mutating_calls().iter().all(|c| !c.starts_with("lv")),
        "{:?}",
        f.mutating_calls()
    );
    // data-root moved in daemon.json: the metadata is looked for there.
    std::fs::remove_dir_all(f.root.join("var/lib/docker")).unwrap();
    std::fs::remove_file(f.root.join("var/lib/swarmnode/storage.json")).unwrap();
    f.file("etc/docker/daemon.json", r#"{"data-root": "/srv/docker"}"#);
    f.file("srv/docker/devicemapper/metadata/base", "{}");
    f.next_run();
    let o = f.run(&["plan", "--device", DEV, "--driver", "devicemapper"]);
    expect_code(&o, 0);
    // Issue 26, item 3: the record of this system names the VG on this device, but docker's
    // metadata is gone (/var/lib/docker removed by hand, as docker's docs advise): docker would
    // refuse the pool, so apply refuses it too, naming --reprovision.
    std::fs::remove_dir_all(f.root.join("srv/docker")).unwrap();
    std::fs::remove_file(f.root.join("etc/docker/daemon.json")).unwrap();
    f.pool_record();
    f.next_run();
    let err = expect_refused(
        &f,
        &["apply", "--device", DEV, "--driver", "devicemapper"],
        "cannot take it over",
    );
    assert!(err.contains("--reprovision"), "{err}");
    // docker given its data root on its command line (a drop-in): its metadata is found there.
    f.file(
        "etc/systemd/system/docker.service.d/data.conf",
        "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H fd:// --data-root=/srv/dockerdata\n",
    );
    f.file(
        "usr/lib/systemd/system/docker.service",
        "[Service]\nExecStart=/usr/bin/dockerd -H fd://\n",
    );
    f.file("srv/dockerdata/devicemapper/metadata/base", "{}");
    f.next_run();
    let o = f.run(&["plan", "--device", DEV, "--driver", "devicemapper"]);
    expect_code(&o, 0);
}

/// Issue 26, item 3: a used pool the seed's own script made (no tag at all) that docker has no
/// metadata for is refused, never adopted, and the way out names lvremove (--reprovision never
/// removes what swarmnode did not make); with docker's metadata it is adopted (a seed-made node
/// being converged).
#[test]
fn a_used_seed_pool_without_docker_s_metadata_is_refused_naming_lvremove() {
    let f = Fake::new();
    f.lvm_pool();
    f.out("lvm", &lvm_report_tagged("pool-used", ""));
    let err = expect_refused(
        &f,
        &["apply", "--device", DEV, "--driver", "devicemapper"],
        "cannot take it over",
    );
    assert!(
        err.contains("docker/thinpool is not made by swarmnode")
            && err.contains("`lvremove docker/thinpool`"),
        "{err}"
    );
    let err = expect_refused(
        &f,
        &[
            "apply",
            "--device",
            DEV,
            "--driver",
            "devicemapper",
            "--reprovision",
        ],
        "cannot take it over",
    );
    assert!(err.contains("never removes"), "{err}");
    f.file("var/lib/docker/devicemapper/metadata/base", "{}");
    f.next_run();
    let o = f.run(&["plan", "--device", DEV, "--driver", "devicemapper"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("vgchange --addtag swarmnode-machine-"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn reprovision_recreates_only_our_volumes_and_converges_as_on_a_blank_vg() {
    let f = Fake::new();
    reinstalled_with_used_pool(&f);
    let new_tag = format!("swarmnode-machine-{NEW_ID}");
    let o = f.run(&["plan", "--device", DEV, "--reprovision"]);
    expect_code(&o, 0);
    assert!(f.mutating_calls().is_empty(), "{:?}", f.mutating_calls());
    assert!(stderr(&o).contains("their data is lost"), "{}", stderr(&o));
    // After the changes LVM shows a fresh pool tagged by this installation.
    f.next_run();
    f.out_after("lvm", 1, &fixture("fullreport-pool-used.json"));
    f.out(
        "lvm",
        &lvm_report_tagged("pool", &format!("swarmnode,{new_tag}")),
    );
    let o = f.run(&["apply", "--device", DEV, "--reprovision"]);
    expect_code(&o, 0);
    let m = f.mutating_calls();
    assert_eq!(m[0], "lvremove --yes docker/thinpool", "{m:?}");
    assert_eq!(
        m[1],
        format!(
            "vgchange --deltag swarmnode-machine-70e03b4e35e541b38c27ba78376af77f --addtag {new_tag} docker"
        ),
        "{m:?}"
    );
    assert!(
        m[2].starts_with("lvcreate --yes --type thin-pool")
            && m[2].ends_with(&format!("--addtag {new_tag} docker")),
        "{m:?}"
    );
    assert_eq!(m.len(), 3, "{m:?}");
    // The profile key does the same (what the re-provisioning kickstart can set).
    f.next_run();
    std::fs::remove_file(f.root.join("var/lib/swarmnode/storage.json")).unwrap();
    f.file(
        "etc/swarmnode/profile.json",
        r#"{"storage": {"device": "/dev/disk/by-id/virtio-DATA1", "previous_installation": "recreate"}}"#,
    );
    f.out("lvm", &fixture("fullreport-pool-used.json"));
    let o = f.run(&["plan"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("run    lvremove --yes docker/thinpool"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn reprovision_never_removes_a_foreign_or_open_volume() {
    let f = Fake::new();
    reinstalled_with_used_pool(&f);
    f.out(
        "lvm",
        &lvm_report("pool-used", |row| {
            if row["lv_name"] == "thinpool" && row.get("lv_attr").is_some() {
                row["lv_attr"] = "twi-aot---".into();
            }
        }),
    );
    expect_refused(&f, &["apply", "--device", DEV, "--reprovision"], "in use");
    let (keep, keep_seg) = linear_lv("keep", "-wi-a-----", "");
    let mut v: serde_json::Value =
        serde_json::from_str(&fixture("fullreport-pool-used.json")).unwrap();
    v["report"][0]["lv"].as_array_mut().unwrap().push(keep);
    v["report"][0]["seg"].as_array_mut().unwrap().push(keep_seg);
    f.out("lvm", &v.to_string());
    f.next_run();
    expect_refused(
        &f,
        &["apply", "--device", DEV, "--reprovision"],
        "never removes",
    );
}

#[test]
fn reprovision_of_an_overlay2_volume_makes_a_fresh_file_system() {
    // The old XFS holds the previous installation's /var/lib/docker/swarm: never mounted again.
    let f = Fake::new();
    f.file("etc/machine-id", &format!("{NEW_ID}\n"));
    f.out("lvm", &fixture("fullreport-overlay2-volume.json"));
    f.out("wipefs@vdb", &fixture("wipefs-pv.json"));
    f.out("wipefs@dockerdata", &fixture("wipefs-xfs.json"));
    expect_refused(
        &f,
        &["apply", "--device", DEV, "--driver", "overlay2"],
        "previous installation",
    );
    f.next_run();
    let o = f.run(&[
        "plan",
        "--device",
        DEV,
        "--driver",
        "overlay2",
        "--reprovision",
    ]);
    expect_code(&o, 0);
    let out = stdout(&o);
    for want in [
        "run    lvremove --yes docker/dockerdata",
        "run    lvcreate --yes --wipesignatures y",
        "run    mkfs.xfs -n ftype=1 /dev/docker/dockerdata",
    ] {
        assert!(out.contains(want), "{want} missing:\n{out}");
    }
    // This installation's volume (tagged with this machine-id) is no previous installation.
    f.file("etc/machine-id", &format!("{GUEST_MACHINE_ID}\n"));
    let mut sb = vec![0u8; 512];
    sb[..4].copy_from_slice(b"XFSB");
    std::fs::create_dir_all(f.root.join("dev/docker")).unwrap();
    std::fs::write(f.root.join("dev/docker/dockerdata"), &sb).unwrap();
    f.next_run();
    let o = f.run(&["plan", "--device", DEV, "--driver", "overlay2"]);
    expect_code(&o, 0);
    assert!(!stdout(&o).contains("lvremove"), "{}", stdout(&o));
}

#[test]
fn a_vg_of_an_older_swarmnode_known_here_gets_the_machine_tag() {
    let f = Fake::new();
    f.lvm_pool();
    f.out_after("lvm", 1, &lvm_report_tagged("pool", "swarmnode"));
    f.file(
        "var/lib/swarmnode/storage.json",
        r#"{"driver": "devicemapper", "device": "/dev/disk/by-id/virtio-DATA1", "volume_group": "docker", "volume": "/dev/mapper/docker-thinpool"}"#,
    );
    let o = f.run(&["apply", "--device", DEV]);
    expect_code(&o, 0);
    assert_eq!(
        f.mutating_calls(),
        vec![format!(
            "vgchange --addtag swarmnode-machine-{GUEST_MACHINE_ID} docker"
        )]
    );
}

#[test]
fn a_vg_on_more_disks_than_lvm_sees_is_refused() {
    let f = Fake::new();
    f.lvm_pool();
    f.out(
        "lvm",
        &fixture("fullreport-pool.json").replace("\"pv_count\":\"1\"", "\"pv_count\":\"2\""),
    );
    expect_refused(
        &f,
        &["apply", "--device", DEV],
        "it has 2 physical volumes but LVM sees 1",
    );
}

#[test]
fn a_hidden_disk_whose_vg_name_is_in_use_elsewhere_is_refused() {
    // The devices file hides this disk's VG 'docker', and LVM uses another VG 'docker' on vdc.
    let f = Fake::new();
    f.out("wipefs", &fixture("wipefs-pv.json"));
    let hidden = fixture("fullreport-devicesfile-hidden.json").replace("\"system\"", "\"docker\"");
    f.out_after("lvm", 1, &hidden);
    f.out("lvm", &fixture("fullreport-devicesfile-all.json"));
    expect_refused(
        &f,
        &["apply", "--device", DEV, "--driver", "devicemapper"],
        "which LVM's devices file hides, and a volume group of that name is already in use on /dev/vdc",
    );
}

#[test]
fn without_a_machine_id_the_volumes_get_only_the_swarmnode_tag_and_a_warning() {
    let f = Fake::new();
    f.file("etc/machine-id", "");
    let o = f.run(&["plan", "--device", DEV]);
    expect_code(&o, 0);
    let out = stdout(&o) + &stderr(&o);
    assert!(
        out.contains("run    vgcreate --addtag swarmnode docker /dev/vdb"),
        "{out}"
    );
    assert!(out.contains("no machine-id yet"), "{out}");
}

#[test]
fn a_disk_hidden_by_the_lvm_devices_file_is_found_and_added_to_it() {
    // EL9's Anaconda writes system.devices with the system disk only: LVM does not report the
    // data disk's VG, but wipefs sees its LVM2_member label.
    let f = Fake::new();
    f.out("wipefs", &fixture("wipefs-pv.json"));
    f.out_after("lvm", 1, &fixture("fullreport-devicesfile-hidden.json"));
    f.out_after("lvm", 2, &fixture("fullreport-devicesfile-all.json"));
    f.out("lvm", &fixture("fullreport-devicesfile-added.json"));
    f.file(
        "etc/lvm/profile/docker-thinpool.profile",
        &swarmnode::steps::storage::lvm_profile_text(&Default::default()),
    );
    let o = f.run(&["apply", "--device", DEV, "--driver", "devicemapper"]);
    expect_code(&o, 0);
    let calls = f.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("lvm fullreport") && c.ends_with("--devicesfile ")),
        "{calls:?}"
    );
    let m = f.mutating_calls();
    assert_eq!(m[0], "lvm lvmdevices --adddev /dev/vdb", "{m:?}");
    assert!(
        m.iter()
            .all(|c| !c.starts_with("vgcreate") && !c.starts_with("wipefs")),
        "{m:?}"
    );
    assert!(
        stdout(&o).contains("devices file does not list"),
        "{}",
        stdout(&o)
    );
}

/// After a review: docker's data root where dockerd is told it: a configuration file named by
/// `--config-file`, the attached short `-g/PATH`; and a running docker that says it runs on this
/// pool (its `GET /info`) proves it has the pool's metadata wherever it keeps it.
#[test]
fn docker_s_metadata_is_found_wherever_dockerd_is_told_to_keep_it() {
    let with_unit = |exec: &str| {
        let f = Fake::new();
        f.lvm_pool();
        f.out("lvm", &fixture("fullreport-pool-used.json"));
        f.pool_record();
        f.file(
            "usr/lib/systemd/system/docker.service",
            &format!("[Service]\nExecStart={exec}\n"),
        );
        f
    };
    let plan = |f: &Fake| f.run(&["plan", "--device", DEV, "--driver", "devicemapper"]);
    let f = with_unit("/usr/bin/dockerd --config-file /etc/docker/site.json");
    f.file("etc/docker/site.json", r#"{"data-root": "/srv/site"}"#);
    f.file("srv/site/devicemapper/metadata/base", "{}");
    expect_code(&plan(&f), 0);
    let f = with_unit("/usr/bin/dockerd -g/srv/short -H fd://");
    f.file("srv/short/devicemapper/metadata/base", "{}");
    expect_code(&plan(&f), 0);
    // Nothing on disk says where; a running docker says it runs on this pool.
    let f = with_unit("/usr/bin/dockerd -H fd://");
    expect_refused(
        &f,
        &["plan", "--device", DEV, "--driver", "devicemapper"],
        "cannot take it over",
    );
    let mut info: serde_json::Value = serde_json::from_str(&info("info-worker.json")).unwrap();
    info["Driver"] = "devicemapper".into();
    info["DriverStatus"] = serde_json::json!([["Pool Name", "docker-thinpool"]]);
    let _e = f.engine_with(&[("GET /info ", &[(200, &info.to_string())])]);
    expect_code(&plan(&f), 0);
}
