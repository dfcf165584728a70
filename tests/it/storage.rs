//! Tier 2: the binary against a fake root with recording fake tools.
//! Plans, commands issued (and their order), files written, refusals and exit codes.

use crate::common::*;

const DEV: &str = "/dev/disk/by-id/virtio-DATA1";

const FRESH_SEQUENCE: &[&str] = &[
    "vgcreate --addtag swarmnode --addtag swarmnode-machine-70e03b4e35e541b38c27ba78376af77f docker /dev/vdb",
    "lvcreate --yes --type thin-pool --name thinpool --extents 95%VG --poolmetadatasize 40m --chunksize 512K --zero n --metadataprofile docker-thinpool --monitor y --addtag swarmnode --addtag swarmnode-machine-70e03b4e35e541b38c27ba78376af77f docker",
];

const PROFILE_FILE: &str = "etc/lvm/profile/docker-thinpool.profile";

/// A blank disk now; after the first round of changes LVM reports the converged pool.
fn fresh_then_pool(f: &Fake) {
    f.out_after("lvm", 1, &fixture("fullreport-blank.json"));
    f.out_after("wipefs", 1, &fixture("wipefs-blank.json"));
    f.out("lvm", &fixture("fullreport-pool.json"));
    f.out("wipefs", &fixture("wipefs-pv.json"));
}

/// The pool's fullreport with its LV and segment rows edited.
fn lvs_with(edit: impl Fn(&mut serde_json::Value)) -> String {
    lvm_report("pool", edit)
}

#[test]
fn plan_on_a_blank_disk_lists_every_command_and_changes_nothing() {
    let f = Fake::new();
    let o = f.run(&["plan", "--device", DEV]);
    expect_code(&o, 0);
    let out = stdout(&o);
    let mut at = 0;
    for c in FRESH_SEQUENCE {
        let i = out[at..]
            .find(c)
            .unwrap_or_else(|| panic!("plan lacks `{c}` after byte {at}:\n{out}"));
        at += i;
    }
    assert!(
        out.contains("write  /etc/lvm/profile/docker-thinpool.profile (0644)"),
        "{out}"
    );
    assert!(
        out.contains("+     thin_pool_autoextend_threshold=80"),
        "{out}"
    );
    assert!(
        out.contains("/dev/disk/by-id/virtio-DATA1 (= /dev/vdb, 4.0 GiB)"),
        "{out}"
    );
    assert!(out.contains("dockerd 20.10.24+dfsg1 < 25"), "{out}");
    assert!(
        stderr(&o).contains("autoextend cannot fire"),
        "{}",
        stderr(&o)
    );
    assert!(
        f.mutating_calls().is_empty(),
        "plan ran {:?}",
        f.mutating_calls()
    );
    assert!(f.read(PROFILE_FILE).is_none());
    assert!(f.read("var/lib/swarmnode/storage.json").is_none());
    assert!(
        f.read("var/lib/swarmnode/report.json").is_none(),
        "plan must not write a report"
    );
}

#[test]
fn plan_json_is_the_report_with_the_planned_argv() {
    let f = Fake::new();
    let o = f.run(&["--json", "plan", "--device", DEV]);
    expect_code(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stdout is JSON");
    assert_eq!(v["result"], "planned");
    let actions = v["steps"][0]["actions"].as_array().unwrap();
    let argv: Vec<String> = actions
        .iter()
        .filter(|a| a["kind"] == "run")
        .map(|a| {
            a["argv"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(argv, FRESH_SEQUENCE);
    assert!(actions.iter().any(|a| a["kind"] == "write"
        && a["path"] == "/etc/lvm/profile/docker-thinpool.profile"
        && a["mode"] == "0644"));
}

#[test]
fn apply_on_a_blank_disk_runs_the_sequence_and_plan_showed_exactly_that() {
    let f = Fake::new();
    fresh_then_pool(&f);
    let planned = stdout(&f.run(&["plan", "--device", DEV]));
    std::fs::write(f.fake.join("calls"), "").unwrap();
    fresh_then_pool(&f);
    let o = f.run(&["apply", "--device", DEV]);
    expect_code(&o, 0);
    assert_eq!(f.mutating_calls(), FRESH_SEQUENCE);
    let versions = f
        .calls()
        .iter()
        .filter(|c| c.starts_with("dockerd "))
        .count();
    assert_eq!(versions, 1, "the engine version is read once per run");
    for line in planned
        .lines()
        .filter(|l| l.starts_with("  run") || l.starts_with("  write"))
    {
        assert!(
            stdout(&o).contains(line),
            "apply did not do planned `{line}`:\n{}",
            stdout(&o)
        );
    }
    let profile = f.read(PROFILE_FILE).expect("LVM profile written");
    assert!(profile.contains("thin_pool_autoextend_threshold=80\n"));
    assert!(profile.contains("thin_pool_autoextend_percent=20\n"));
    let rec: serde_json::Value =
        serde_json::from_str(&f.read("var/lib/swarmnode/storage.json").unwrap()).unwrap();
    assert_eq!(rec["driver"], "devicemapper");
    assert_eq!(rec["volume"], "/dev/mapper/docker-thinpool");
    let rep: serde_json::Value =
        serde_json::from_str(&f.read("var/lib/swarmnode/report.json").unwrap()).unwrap();
    assert_eq!(rep["result"], "changed");
    assert_eq!(rep["exit_code"], 0);
    assert_eq!(rep["steps"][0]["status"], "changed");
    assert_eq!(
        rep["steps"][0]["actions"].as_array().unwrap().len(),
        FRESH_SEQUENCE.len() + 2
    );
    assert!(rep["steps"][0]["actions"][0]["duration_ms"].is_u64());
}

/// A converged node: the files are there and LVM reports the finished pool.
fn converged(f: &Fake) {
    f.lvm_pool();
    f.file(
        PROFILE_FILE,
        &swarmnode::steps::storage::lvm_profile_text(&Default::default()),
    );
    f.file(
        "var/lib/swarmnode/storage.json",
        "{\n  \"driver\": \"devicemapper\",\n  \"device\": \"/dev/disk/by-id/virtio-DATA1\",\n  \"volume_group\": \"docker\",\n  \"volume\": \"/dev/mapper/docker-thinpool\"\n}\n",
    );
}

#[test]
fn second_apply_on_a_converged_node_changes_nothing() {
    let f = Fake::new();
    converged(&f);
    let before = f.read(PROFILE_FILE);
    let o = f.run(&["apply", "--device", DEV]);
    expect_code(&o, 0);
    assert!(
        f.mutating_calls().is_empty(),
        "converged run mutated: {:?}",
        f.mutating_calls()
    );
    assert!(
        stdout(&o).contains("storage: converged: nothing to do"),
        "{}",
        stdout(&o)
    );
    assert_eq!(f.read(PROFILE_FILE), before);
    // The PV of our tagged VG: LVM has read its label, wipefs is not asked again.
    assert!(
        !f.calls().iter().any(|c| c.starts_with("wipefs")),
        "{:?}",
        f.calls()
    );
    assert!(
        !f.root
            .join("etc/lvm/profile/docker-thinpool.profile.swarmnode.bak")
            .exists()
    );
    let rep: serde_json::Value =
        serde_json::from_str(&f.read("var/lib/swarmnode/report.json").unwrap()).unwrap();
    assert_eq!(rep["result"], "converged");
}

#[test]
fn a_pv_without_a_vg_is_not_ours_and_needs_wipe() {
    // swarmnode makes the PV and its VG in one command: a PV without a VG is someone else's.
    let f = Fake::new();
    f.out("lvm", &fixture("fullreport-orphan-pv.json"));
    f.out("wipefs", &fixture("wipefs-pv.json"));
    let err = expect_refused(
        &f,
        &["apply", "--device", DEV],
        "it is an LVM physical volume without a volume group",
    );
    assert!(err.contains("run again with --wipe"), "{err}");
    let o = f.run(&["plan", "--device", DEV, "--wipe"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    let wipe = out.find("run    wipefs --all /dev/vdb").expect(&out);
    let vg = out
        .find("run    vgcreate --addtag swarmnode --addtag swarmnode-machine-70e03b4e35e541b38c27ba78376af77f docker /dev/vdb")
        .expect(&out);
    assert!(wipe < vg, "{out}");
}

#[test]
fn an_empty_vg_without_our_tag_is_not_ours() {
    let f = Fake::new();
    f.lvm_pool();
    f.out("lvm", &lvm_report_tagged("tagged-vg", ""));
    expect_refused(
        &f,
        &["apply", "--device", DEV],
        "it is the PV of an empty volume group 'docker' that swarmnode did not make (no 'swarmnode' tag)",
    );
    // Not ours: its signatures are read like any other disk's.
    assert!(
        f.calls().iter().any(|c| c.starts_with("wipefs --no-act")),
        "{:?}",
        f.calls()
    );
}

#[test]
fn partial_vg_without_pool_is_completed_not_redone() {
    let f = Fake::new();
    f.lvm_pool();
    f.out("lvm", &fixture("fullreport-tagged-vg.json"));
    let o = f.run(&["plan", "--device", DEV]);
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(
        !out.contains("pvcreate") && !out.contains("vgcreate"),
        "{out}"
    );
    for c in &FRESH_SEQUENCE[1..] {
        assert!(out.contains(c), "missing `{c}`:\n{out}");
    }
}

#[test]
fn partial_pool_without_profile_gets_only_the_profile() {
    let f = Fake::new();
    f.lvm_pool();
    f.out("lvm", &lvs_with(|lv| lv["lv_profile"] = "".into()));
    let o = f.run(&["plan", "--device", DEV]);
    expect_code(&o, 0);
    let out = stdout(&o);
    let runs: Vec<&str> = out.lines().filter(|l| l.starts_with("  run")).collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(runs[0].contains("lvchange --metadataprofile docker-thinpool docker/thinpool"));
    assert!(stdout(&o).contains("write  /etc/lvm/profile/docker-thinpool.profile"));
}

#[test]
fn tagged_plain_volumes_an_interrupted_run_left_are_removed_and_the_pool_made_whole() {
    // A plain, tagged `thinpool` (this version's lvcreate killed before the conversion) and
    // `thinpoolmeta` (an older version's second volume): nothing was ever put in them.
    let f = Fake::new();
    f.lvm_pool();
    let (lv, seg) = linear_lv("thinpool", "-wi-a-----", "swarmnode");
    let (meta, meta_seg) = linear_lv("thinpoolmeta", "-wi-------", "swarmnode");
    f.out_after(
        "lvm",
        1,
        &lvm_part(
            Some(vg_row("docker", &guest_tags())),
            &[("/dev/vdb", "docker")],
            &[lv, meta],
            &[seg, meta_seg],
        ),
    );
    let o = f.run(&["apply", "--device", DEV]);
    expect_code(&o, 0);
    let m = f.mutating_calls();
    assert_eq!(
        m[0], "lvremove --yes docker/thinpool docker/thinpoolmeta",
        "{m:?}"
    );
    assert!(m[1].starts_with("lvcreate --yes --type thin-pool"), "{m:?}");
    assert!(
        stdout(&o).contains("left half-made by an interrupted run"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn what_an_lvcreate_killed_midway_leaves_is_finished_or_refused() {
    // Captured in the guest (vm-tests/scenarios/capture-lvm.sh): the tagged data volume still
    // plain: removed, and the pool made whole.
    let f = Fake::new();
    f.lvm_pool();
    f.out_after("lvm", 1, &fixture("fullreport-killed-linear.json"));
    let o = f.run(&["apply", "--device", DEV]);
    expect_code(&o, 0);
    let m = f.mutating_calls();
    assert_eq!(m[0], "lvremove --yes docker/thinpool", "{m:?}");
    assert!(m[1].starts_with("lvcreate --yes --type thin-pool"), "{m:?}");
    // The pool made but inactive, its components active: they are deactivated first.
    let f = Fake::new();
    f.lvm_pool();
    f.out_after(
        "lvm",
        1,
        &fixture("fullreport-killed-components-active.json"),
    );
    let o = f.run(&["apply", "--device", DEV]);
    expect_code(&o, 0);
    assert_eq!(
        f.mutating_calls(),
        [
            "lvchange --activate n docker/thinpool_tmeta docker/thinpool_tdata",
            "lvchange --activate y docker/thinpool"
        ]
    );
    // LVM's untagged metadata volume being zeroed: not proven ours.
    let f = Fake::new();
    f.lvm_pool();
    f.out("lvm", &fixture("fullreport-killed-lvol0.json"));
    let e = expect_refused(&f, &["apply", "--device", DEV], "killed midway");
    assert!(e.contains("lvremove docker/lvol0"), "{e}");
}

#[test]
fn an_open_plain_volume_named_like_the_pool_is_refused() {
    let f = Fake::new();
    f.lvm_pool();
    f.out(
        "lvm",
        &one_plain_lv("swarmnode", "thinpool", "-wi-ao----", "swarmnode"),
    );
    expect_refused(&f, &["apply", "--device", DEV], "something has open");
}

#[test]
fn a_plain_volume_we_did_not_make_is_never_converted() {
    let f = Fake::new();
    f.lvm_pool();
    f.out(
        "lvm",
        &one_plain_lv("swarmnode", "thinpool", "-wi-a-----", ""),
    );
    expect_refused(&f, &["apply", "--device", DEV], "did not make");
}

#[test]
fn an_inactive_pool_is_activated_never_converted() {
    let f = Fake::new();
    converged(&f);
    f.out_after("lvm", 1, &fixture("fullreport-pool-inactive.json"));
    let o = f.run(&["apply", "--device", DEV]);
    expect_code(&o, 0);
    assert_eq!(
        f.mutating_calls(),
        ["lvchange --activate y docker/thinpool"]
    );
}

#[test]
fn an_unmonitored_pool_gets_monitored_and_zeroing_is_turned_off() {
    let f = Fake::new();
    converged(&f);
    f.out_after(
        "lvm",
        1,
        &lvs_with(|row| {
            if row.get("segtype").is_some() {
                row["seg_monitor"] = "not monitored".into();
                row["zero"] = "1".into();
            }
        }),
    );
    let o = f.run(&["apply", "--device", DEV]);
    expect_code(&o, 0);
    assert_eq!(
        f.mutating_calls(),
        [
            "lvchange --zero n docker/thinpool",
            "lvchange --monitor y docker/thinpool"
        ]
    );
}

#[test]
fn a_step_that_does_not_converge_fails_after_three_rounds() {
    let f = Fake::new();
    converged(&f);
    f.out("lvm", &fixture("fullreport-pool-inactive.json"));
    let o = f.run(&["apply", "--device", DEV]);
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains("still not in the wanted state after 3 rounds"),
        "{}",
        stderr(&o)
    );
    assert_eq!(f.mutating_calls().len(), 3);
}

#[test]
fn a_chunk_size_that_differs_is_reported_not_changed() {
    let f = Fake::new();
    converged(&f);
    f.out(
        "lvm",
        &lvs_with(|row| {
            if row.get("chunk_size").is_some() {
                row["chunk_size"] = "65536".into()
            }
        }),
    );
    let o = f.run(&["apply", "--device", DEV]);
    expect_code(&o, 0);
    assert!(f.mutating_calls().is_empty());
    assert!(
        stderr(&o).contains("chunk size 64.0 KiB but the profile asks for 512K"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_failing_command_fails_the_run_and_nothing_after_it_runs() {
    let f = Fake::new();
    f.rc("vgcreate", 5, "  Device /dev/vdb excluded by a filter.\n");
    let o = f.run(&["apply", "--device", DEV]);
    expect_code(&o, 1);
    let err = stderr(&o);
    assert!(
        err.contains("`vgcreate --addtag swarmnode --addtag swarmnode-machine-70e03b4e35e541b38c27ba78376af77f docker /dev/vdb` exited with status 5"),
        "{err}"
    );
    assert!(err.contains("excluded by a filter"), "{err}");
    assert_eq!(
        f.mutating_calls(),
        [
            "vgcreate --addtag swarmnode --addtag swarmnode-machine-70e03b4e35e541b38c27ba78376af77f docker /dev/vdb"
        ]
    );
    assert!(f.read(PROFILE_FILE).is_none());
    let rep: serde_json::Value =
        serde_json::from_str(&f.read("var/lib/swarmnode/report.json").unwrap()).unwrap();
    assert_eq!(rep["result"], "failed");
    assert_eq!(rep["exit_code"], 1);
    assert!(rep["error"].as_str().unwrap().contains("vgcreate"));
}

#[test]
fn fail_point_kills_the_run_right_after_the_named_action() {
    let f = Fake::new();
    let o = f.run_env(
        &["apply", "--device", DEV],
        &[("SWARMNODE_FAILPOINT", "storage.vgcreate")],
    );
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(o.status.signal(), Some(9), "{}", stderr(&o));
    assert_eq!(
        f.mutating_calls(),
        [
            "vgcreate --addtag swarmnode --addtag swarmnode-machine-70e03b4e35e541b38c27ba78376af77f docker /dev/vdb"
        ]
    );
}

#[test]
fn lock_held_by_another_run_exits_75_with_its_pid() {
    use nix::fcntl::{Flock, FlockArg};
    let f = Fake::new();
    let p = f.root.join("run/swarmnode.lock");
    std::fs::write(&p, "4242\n").unwrap();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&p)
        .unwrap();
    let _held = Flock::lock(file, FlockArg::LockExclusiveNonblock)
        .map_err(|(_, e)| e)
        .unwrap();
    let o = f.run(&["apply", "--device", DEV]);
    expect_code(&o, 75);
    assert!(stderr(&o).contains("pid 4242"), "{}", stderr(&o));
    assert!(f.mutating_calls().is_empty());
    assert!(
        f.read("var/lib/swarmnode/report.json").is_none(),
        "the holder's report must not be overwritten"
    );
    // plan takes no lock.
    expect_code(&f.run(&["plan", "--device", DEV]), 0);
}

// ---- driver choice

#[test]
fn auto_without_an_engine_refuses_and_names_driver() {
    let f = Fake::new();
    f.no_tool("dockerd");
    let err = expect_refused(
        &f,
        &["apply", "--device", DEV],
        "no docker engine is installed (dockerd not found on PATH)",
    );
    assert!(err.contains("--driver devicemapper|overlay2"), "{err}");
}

#[test]
fn devicemapper_on_engine_26_is_refused_naming_the_version() {
    let f = Fake::new();
    f.out("dockerd", "Docker version 26.1.5+dfsg1, build a72d7cd\n");
    let o = f.run(&["apply", "--device", DEV, "--driver", "devicemapper"]);
    expect_code(&o, 65);
    let e = stderr(&o);
    assert!(
        e.contains("26.1.5+dfsg1") && e.contains("removed in Docker Engine 25.0"),
        "{e}"
    );
    assert!(f.mutating_calls().is_empty());
}

#[test]
fn auto_on_engine_26_plans_xfs_for_overlay2() {
    let f = Fake::new();
    f.out("dockerd", "Docker version 26.1.5+dfsg1, build a72d7cd\n");
    f.file("etc/fstab", "/dev/vda / ext4 defaults 0 1\n");
    let o = f.run(&["plan", "--device", DEV]);
    expect_code(&o, 0);
    let out = stdout(&o);
    let root = f.root.display().to_string();
    for c in [
        "driver overlay2 (auto): dockerd 26.1.5+dfsg1 >= 25".to_string(),
        "run    vgcreate --addtag swarmnode --addtag swarmnode-machine-70e03b4e35e541b38c27ba78376af77f docker /dev/vdb".into(),
        "run    lvcreate --yes --wipesignatures y --addtag swarmnode --addtag swarmnode-machine-70e03b4e35e541b38c27ba78376af77f --name dockerdata --extents 95%VG docker".into(),
        "run    mkfs.xfs -n ftype=1 /dev/docker/dockerdata".into(),
        "write  /etc/fstab (0644)\n         + /dev/docker/dockerdata /var/lib/docker xfs defaults,pquota 0 0".into(),
        "mkdir  /var/lib/docker (0711)".into(),
        format!("run    mount -t xfs -o pquota /dev/docker/dockerdata {root}/var/lib/docker"),
    ] {
        assert!(out.contains(&c), "missing `{c}`:\n{out}");
    }
    assert!(!out.contains("thinpool"), "{out}");
}

#[test]
fn overlay2_apply_keeps_fstab_and_is_idempotent_when_mounted() {
    let f = Fake::new();
    f.out("dockerd", "Docker version 26.1.5+dfsg1, build a72d7cd\n");
    f.file("etc/fstab", "# static\n/dev/vda / ext4 defaults 0 1\n");
    // the fake `mount` cannot mount: the second round sees what a real mount leaves behind.
    let mp = overlay2_fresh_volume(&f);
    let o = f.run(&["apply", "--device", DEV]);
    expect_code(&o, 0);
    assert_eq!(
        f.mutating_calls(),
        [
            "vgcreate --addtag swarmnode --addtag swarmnode-machine-70e03b4e35e541b38c27ba78376af77f docker /dev/vdb".to_string(),
            "lvcreate --yes --wipesignatures y --addtag swarmnode --addtag swarmnode-machine-70e03b4e35e541b38c27ba78376af77f --name dockerdata --extents 95%VG docker".into(),
            "mkfs.xfs -n ftype=1 /dev/docker/dockerdata".into(),
            "systemctl daemon-reload".into(),
            format!("mount -t xfs -o pquota /dev/docker/dockerdata {mp}"),
        ]
    );
    assert_eq!(
        f.read("etc/fstab").unwrap(),
        "# static\n/dev/vda / ext4 defaults 0 1\n/dev/docker/dockerdata /var/lib/docker xfs defaults,pquota 0 0\n"
    );
    assert_eq!(
        f.read("etc/fstab.swarmnode.bak").unwrap(),
        "# static\n/dev/vda / ext4 defaults 0 1\n"
    );
    let rec: serde_json::Value =
        serde_json::from_str(&f.read("var/lib/swarmnode/storage.json").unwrap()).unwrap();
    assert_eq!(rec["driver"], "overlay2");
    f.next_run();
    let o = f.run(&["apply", "--device", DEV]);
    expect_code(&o, 0);
    assert!(f.mutating_calls().is_empty(), "{:?}", f.mutating_calls());
    assert!(stdout(&o).contains("converged"), "{}", stdout(&o));
    // Mounted as XFS: the kernel has read its filesystem, so its signatures are not probed.
    assert!(
        !f.calls()
            .iter()
            .any(|c| c.contains("/dev/docker/dockerdata")),
        "{:?}",
        f.calls()
    );
}

#[test]
fn overlay2_refuses_to_hide_data_in_var_lib_docker() {
    let f = Fake::new();
    f.file("var/lib/docker/image/overlay2/repositories.json", "{}");
    expect_refused(
        &f,
        &["apply", "--device", DEV, "--driver", "overlay2"],
        "it already holds data, which mounting the data volume would hide",
    );
}

#[test]
fn overlay2_makes_again_an_xfs_whose_mkfs_was_killed() {
    // mkfs.xfs killed midway (seen in the trixie guest): blkid says xfs, sb_inprogress is set, the
    // kernel will not mount it. Without -f, mkfs.xfs would refuse to write over it.
    let f = Fake::new();
    f.out("lvm", &fixture("fullreport-overlay2-volume.json"));
    f.out("wipefs@vdb", &fixture("wipefs-pv.json"));
    f.out("wipefs@dockerdata", &fixture("wipefs-xfs.json"));
    let mut sb = vec![0u8; 512];
    sb[..4].copy_from_slice(b"XFSB");
    sb[126] = 1;
    std::fs::create_dir_all(f.root.join("dev/docker")).unwrap();
    std::fs::write(f.root.join("dev/docker/dockerdata"), &sb).unwrap();
    let o = f.run(&["plan", "--device", DEV, "--driver", "overlay2"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("mkfs.xfs never finished"), "{out}");
    assert!(
        out.contains("run    mkfs.xfs -f -n ftype=1 /dev/docker/dockerdata"),
        "{out}"
    );
    // A finished one is kept.
    sb[126] = 0;
    std::fs::write(f.root.join("dev/docker/dockerdata"), &sb).unwrap();
    let o = f.run(&["plan", "--device", DEV, "--driver", "overlay2"]);
    expect_code(&o, 0);
    assert!(!stdout(&o).contains("mkfs.xfs"), "{}", stdout(&o));
}

#[test]
fn overlay2_refuses_a_foreign_fstab_entry() {
    let f = Fake::new();
    f.file("etc/fstab", "/dev/sdc1 /var/lib/docker ext4 defaults 0 2\n");
    expect_refused(
        &f,
        &["plan", "--device", DEV, "--driver", "overlay2"],
        "/dev/sdc1 /var/lib/docker",
    );
}

#[test]
fn switching_layout_on_a_provisioned_vg_is_refused() {
    let f = Fake::new();
    converged(&f);
    expect_refused(
        &f,
        &["apply", "--device", DEV, "--driver", "overlay2"],
        "already holds docker/thinpool",
    );
}

#[test]
fn overlay2_moves_existing_docker_data_when_told() {
    let f = Fake::new();
    f.file("var/lib/docker/volumes/keep/marker", "data");
    let o = f.run(&[
        "plan",
        "--device",
        DEV,
        "--driver",
        "overlay2",
        "--move-docker-data",
    ]);
    expect_code(&o, 0);
    let out = stdout(&o);
    let r = f.root.display().to_string();
    let want = [
        "run    mkfs.xfs -n ftype=1 /dev/docker/dockerdata".to_string(),
        "mkdir  /run/swarmnode/dockerdata (0700)".into(),
        format!(
            "run    mount -t xfs -o pquota /dev/docker/dockerdata {r}/run/swarmnode/dockerdata"
        ),
        format!("run    cp -a --reflink=auto {r}/var/lib/docker/. {r}/run/swarmnode/dockerdata/"),
        format!("run    umount {r}/run/swarmnode/dockerdata"),
        "rename /var/lib/docker -> /var/lib/docker.swarmnode-old".into(),
        "mkdir  /var/lib/docker (0711)".into(),
        format!("run    mount -t xfs -o pquota /dev/docker/dockerdata {r}/var/lib/docker"),
    ];
    let mut at = 0;
    for w in &want {
        at += out[at..]
            .find(w.as_str())
            .unwrap_or_else(|| panic!("missing (in order) `{w}`:\n{out}"));
    }
    assert!(
        stderr(&o).contains("the old tree stays at /var/lib/docker.swarmnode-old"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn moving_docker_data_is_refused_while_docker_runs() {
    let f = Fake::new();
    f.file("var/lib/docker/volumes/keep/marker", "data");
    f.file("run/docker.pid", &std::process::id().to_string());
    expect_refused(
        &f,
        &[
            "apply",
            "--device",
            DEV,
            "--driver",
            "overlay2",
            "--move-docker-data",
        ],
        &format!("docker is running (pid {})", std::process::id()),
    );
    assert!(f.root.join("var/lib/docker/volumes/keep/marker").exists());
}

/// A fake lvcreate that takes a while, noting when it starts and ends.
fn slow_lvcreate(f: &Fake) {
    use std::os::unix::fs::PermissionsExt;
    let p = f.fake.join("bin/lvcreate");
    std::fs::write(
        &p,
        "#!/bin/sh\necho \"lvcreate $*\" >> \"$FAKE/calls\"\necho start >> \"$FAKE/lv\"\n/bin/sleep 1.5\necho end >> \"$FAKE/lv\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn interrupt_during_lvcreate(f: &Fake, signal_group: bool) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let mut c = std::process::Command::new(bin());
    c.arg("--root")
        .arg(&f.root)
        .args(["apply", "--device", DEV])
        .env_clear()
        .env("PATH", f.fake.join("bin"))
        .env("FAKE", &f.fake)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0);
    let child = c.spawn().unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let started = std::time::Instant::now();
    while std::fs::read_to_string(f.fake.join("lv")).is_err() {
        assert!(started.elapsed().as_secs() < 20, "lvcreate never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if signal_group {
        // Ctrl-C on a terminal: SIGINT to the foreground process group.
        nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    } else {
        // `systemctl stop` with KillMode=mixed: SIGTERM to swarmnode alone.
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_signal_lets_the_running_command_finish_then_stops_with_the_report_written() {
    for (group, name) in [(false, "SIGTERM"), (true, "SIGINT")] {
        let f = Fake::new();
        slow_lvcreate(&f);
        let o = interrupt_during_lvcreate(&f, group);
        expect_code(&o, 1);
        assert_eq!(
            std::fs::read_to_string(f.fake.join("lv")).unwrap(),
            "start\nend\n",
            "the running lvcreate was allowed to finish"
        );
        let err = stderr(&o);
        assert!(
            err.contains(&format!(
                "interrupted by {name} while `storage.lvcreate-pool` ran (it was allowed to finish)"
            )),
            "{err}"
        );
        let calls = f.mutating_calls();
        assert_eq!(
            calls.last().map(String::as_str),
            Some(FRESH_SEQUENCE[1]),
            "nothing after the interrupted action: {calls:?}"
        );
        let rep: serde_json::Value =
            serde_json::from_str(&f.read("var/lib/swarmnode/report.json").unwrap()).unwrap();
        assert_eq!(
            (rep["result"].as_str(), rep["exit_code"].as_i64()),
            (Some("interrupted"), Some(1))
        );
        // The lock went with the process.
        let o = f.run(&["plan", "--device", DEV]);
        expect_code(&o, 0);
        let p = f.root.join("run/swarmnode.lock");
        let file = std::fs::OpenOptions::new().write(true).open(p).unwrap();
        assert!(nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock).is_ok());
    }
}

/// After a review: two VGs of one name (another node's disk moved in): apply does not guess
/// which is this node's, nor retag the other; refused before anything.
#[test]
fn two_volume_groups_of_one_name_are_refused() {
    let f = Fake::new();
    f.lvm_pool();
    f.disk("vdc", (254, 32), 4 * GIB);
    let mut v: serde_json::Value =
        serde_json::from_str(&lvm_report_tagged("pool", &guest_tags())).unwrap();
    let mut other = v["report"][0].clone();
    other["vg"][0]["vg_uuid"] = "their-uuid".into();
    other["vg"][0]["vg_tags"] =
        "swarmnode,swarmnode-machine-0123456789abcdef0123456789abcdef".into();
    other["pv"][0]["pv_name"] = "/dev/vdc".into();
    // The other node's group first, as LVM may list it.
    v["report"].as_array_mut().unwrap().insert(0, other);
    f.out("lvm", &v.to_string());
    let err = expect_refused(
        &f,
        &[
            "apply",
            "--device",
            "/dev/disk/by-id/virtio-DATA1",
            "--driver",
            "devicemapper",
        ],
        "2 volume groups are named docker",
    );
    assert!(
        err.contains("vgrename UUID NEWNAME") && err.contains("on /dev/vdc"),
        "{err}"
    );
}
