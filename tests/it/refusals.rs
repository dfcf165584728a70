//! Tier 2: the device-safety matrix. Every doubtful device is refused with exit 65 before any
//! change, naming the device as given and as resolved, and the reason. `--wipe` overrides only
//! signatures on an unused device.

use crate::common::*;

const DEV: &str = "/dev/disk/by-id/virtio-DATA1";

/// `apply` with these options is refused for `reason`.
#[track_caller]
fn refused(f: &Fake, args: &[&str], reason: &str) -> String {
    let mut a = vec!["apply"];
    a.extend_from_slice(args);
    let err = expect_refused(f, &a, reason);
    assert!(!f.root.join("var/lib/swarmnode/storage.json").exists());
    err
}

#[test]
fn device_that_does_not_exist() {
    let f = Fake::new();
    let e = refused(
        &f,
        &["--device", "/dev/disk/by-id/virtio-NOPE"],
        "it does not exist",
    );
    assert!(e.contains("refusing /dev/disk/by-id/virtio-NOPE"), "{e}");
}

#[test]
fn dangling_by_id_link() {
    let f = Fake::new();
    std::os::unix::fs::symlink("../../sdx", f.root.join("dev/disk/by-id/wwn-0x5000")).unwrap();
    refused(
        &f,
        &["--device", "/dev/disk/by-id/wwn-0x5000"],
        "it does not exist",
    );
}

#[test]
fn not_a_block_device() {
    let f = Fake::new();
    f.file("dev/notablock", "");
    refused(
        &f,
        &["--device", "/dev/notablock"],
        "it is not a block device (it is a regular file)",
    );
}

#[test]
fn read_only() {
    let f = Fake::new();
    f.file("sys/class/block/vdb/ro", "1\n");
    let e = refused(&f, &["--device", DEV], "it is read-only");
    assert!(e.contains("virtio-DATA1 (= /dev/vdb, 4.0 GiB)"), "{e}");
}

#[test]
fn smaller_than_one_gib() {
    let f = Fake::new();
    f.file("sys/class/block/vdb/size", "1048576\n");
    refused(
        &f,
        &["--device", DEV],
        "it is smaller than 1 GiB (512.0 MiB)",
    );
}

#[test]
fn mounted_itself() {
    let f = Fake::new();
    f.mounts(&[
        ("254:0", "/", "ext4", "/dev/vda"),
        ("254:16", "/srv/data", "xfs", "/dev/vdb"),
    ]);
    refused(
        &f,
        &["--device", DEV, "--wipe"],
        "vdb is mounted at /srv/data",
    );
}

#[test]
fn mounted_btrfs_found_by_its_source() {
    let f = Fake::new();
    f.mounts(&[
        ("254:0", "/", "ext4", "/dev/vda"),
        ("0:52", "/srv/pool", "btrfs", "/dev/vdb"),
    ]);
    refused(
        &f,
        &["--device", DEV, "--wipe"],
        "vdb is mounted at /srv/pool",
    );
}

#[test]
fn a_partition_is_mounted() {
    let f = Fake::new();
    f.partition("vdb", "vdb1", (254, 17));
    f.mounts(&[
        ("254:0", "/", "ext4", "/dev/vda"),
        ("254:17", "/mnt/old", "ext4", "/dev/vdb1"),
    ]);
    refused(
        &f,
        &["--device", DEV, "--wipe"],
        "vdb1 is mounted at /mnt/old",
    );
}

#[test]
fn active_swap() {
    let f = Fake::new();
    f.file("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/dev/vdb                                partition\t1048572\t0\t-2\n");
    refused(
        &f,
        &["--device", DEV, "--wipe"],
        "it is in use as swap (/dev/vdb)",
    );
}

#[test]
fn held_by_device_mapper_of_another_vg() {
    let f = Fake::new();
    f.holder("vdb", "dm-3", (253, 3), "data-lv0");
    f.out(
        "lvm",
        &lvm_part(Some(vg_row("data", "")), &[("/dev/vdb", "data")], &[], &[]),
    );
    f.out("wipefs", &fixture("wipefs-pv.json"));
    let e = refused(
        &f,
        &["--device", DEV, "--wipe"],
        "it is held by dm-3 (device-mapper data-lv0)",
    );
    assert!(e.contains("physical volume of volume group 'data'"), "{e}");
    assert!(e.contains("--wipe cannot override these"), "{e}");
}

#[test]
fn held_by_md_raid() {
    let f = Fake::new();
    let d = f.root.join("sys/class/block/md0");
    std::fs::create_dir_all(d.join("holders")).unwrap();
    std::fs::write(d.join("dev"), "9:0\n").unwrap();
    std::fs::write(f.root.join("sys/class/block/vdb/holders/md0"), "").unwrap();
    refused(
        &f,
        &["--device", DEV, "--wipe"],
        "it is held by md0 (a RAID array)",
    );
}

#[test]
fn holds_the_root_filesystem() {
    let f = Fake::new();
    f.partition("vdb", "vdb2", (254, 18));
    f.mounts(&[("254:18", "/", "xfs", "/dev/vdb2")]);
    refused(
        &f,
        &["--device", DEV, "--wipe"],
        "it holds the root filesystem (/)",
    );
}

#[test]
fn holds_root_through_lvm() {
    let f = Fake::new();
    f.holder("vdb", "dm-0", (253, 0), "rl-root");
    f.mounts(&[("253:0", "/", "xfs", "/dev/mapper/rl-root")]);
    refused(&f, &["--device", DEV], "it holds the root filesystem (/)");
}

#[test]
fn holds_boot() {
    let f = Fake::new();
    f.partition("vdb", "vdb1", (254, 17));
    f.mounts(&[
        ("254:0", "/", "ext4", "/dev/vda"),
        ("254:17", "/boot", "xfs", "/dev/vdb1"),
    ]);
    refused(
        &f,
        &["--device", DEV],
        "it holds the boot filesystem (/boot)",
    );
}

#[test]
fn the_system_disk_itself() {
    let f = Fake::new();
    let e = refused(
        &f,
        &["--device", "/dev/vda", "--wipe"],
        "it holds the root filesystem (/)",
    );
    assert!(e.contains("vda is mounted at /"), "{e}");
}

#[test]
fn ext4_signature_refused_then_wiped() {
    let f = Fake::new();
    f.out("wipefs", &fixture("wipefs-ext4.json"));
    let e = refused(
        &f,
        &["--device", DEV],
        "it carries a filesystem or other signature: ext4 at offset 0x438 (label 'data')",
    );
    assert!(e.contains("run again with --wipe"), "{e}");
    let o = f.run(&["plan", "--device", DEV, "--wipe"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    let w = out.find("run    wipefs --all /dev/vdb").expect(&out);
    let p = out
        .find("run    vgcreate --addtag swarmnode --addtag swarmnode-machine-70e03b4e35e541b38c27ba78376af77f docker /dev/vdb")
        .expect(&out);
    assert!(w < p, "wipefs must come first:\n{out}");
}

#[test]
fn partition_table_refused() {
    let f = Fake::new();
    f.out("wipefs", &fixture("wipefs-gpt.json"));
    refused(
        &f,
        &["--device", DEV],
        "it carries a partition table: gpt at offset 0x200",
    );
}

#[test]
fn raid_member_refused() {
    let f = Fake::new();
    f.out("wipefs", r#"{"signatures":[{"device":"vdb","offset":"0x1000","type":"linux_raid_member","uuid":"a","label":"node1:0"}]}"#);
    refused(
        &f,
        &["--device", DEV],
        "it carries a RAID member signature: linux_raid_member",
    );
}

#[test]
fn pv_of_another_vg_refused_and_wipe_allowed_when_unused() {
    let f = Fake::new();
    f.out(
        "lvm",
        &lvm_part(
            Some(vg_row("scratch", "")),
            &[("/dev/vdb", "scratch")],
            &[],
            &[],
        ),
    );
    f.out("wipefs", &fixture("wipefs-pv.json"));
    refused(
        &f,
        &["--device", DEV],
        "it is an LVM physical volume of volume group 'scratch'",
    );
    let o = f.run(&["plan", "--device", DEV, "--wipe"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("run    wipefs --all /dev/vdb"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("run    vgcreate --addtag swarmnode --addtag swarmnode-machine-70e03b4e35e541b38c27ba78376af77f docker /dev/vdb"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn our_vg_already_on_another_disk() {
    let f = Fake::new();
    f.out(
        "lvm",
        &lvm_part(
            Some(vg_row("docker", "swarmnode")),
            &[("/dev/vdc", "docker")],
            &[],
            &[],
        ),
    );
    refused(
        &f,
        &["--device", DEV, "--wipe"],
        "volume group 'docker' already exists on /dev/vdc",
    );
}

#[test]
fn stale_device_node() {
    let f = Fake::new();
    f.file("sys/class/block/vdb/dev", "254:32\n");
    refused(
        &f,
        &["--device", DEV],
        "its device node is 254:16 but /sys/class/block/vdb is 254:32",
    );
}

#[test]
fn several_reasons_are_all_listed() {
    let f = Fake::new();
    f.file("sys/class/block/vdb/ro", "1\n");
    f.out("wipefs", &fixture("wipefs-ext4.json"));
    let e = refused(&f, &["--device", DEV, "--wipe"], "it is read-only");
    assert!(e.contains("ext4 at offset 0x438"), "{e}");
}

#[test]
fn our_own_converged_disk_with_its_holders_is_not_refused() {
    let f = Fake::new();
    f.lvm_pool();
    let o = f.run(&["plan", "--device", DEV]);
    expect_code(&o, 0);
}

#[test]
fn refusals_are_json_too() {
    let f = Fake::new();
    f.out("wipefs", &fixture("wipefs-ext4.json"));
    let o = f.run(&["--json", "apply", "--device", DEV]);
    expect_code(&o, 65);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["result"], "refused");
    assert_eq!(v["exit_code"], 65);
    assert!(v["error"].as_str().unwrap().contains("ext4"));
}

/// After a review: a device path that is not normalised would be recorded as given, and every
/// later run would refuse the record: refused when given.
#[test]
fn a_device_path_that_is_not_normalised() {
    let f = Fake::new();
    for dev in ["/dev//vdb", "/dev/./vdb", "/dev/disk/by-id/../../vdb"] {
        let err = expect_refused(
            &f,
            &["plan", "--device", dev],
            "is not a normalised path under /dev",
        );
        assert!(err.contains("storage.device"), "{dev}: {err}");
    }
    assert!(f.read("var/lib/swarmnode/storage.json").is_none());
}
