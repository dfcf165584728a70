//! SELinux enabled (selinuxfs at /sys/fs/selinux under the root): what swarmnode writes, makes
//! and mounts gets the policy's labels back (`restorecon -R`), once, after the step's changes;
//! a converged node runs none, and without SELinux nothing is relabelled.

use crate::common::*;

const DEV: &str = "/dev/disk/by-id/virtio-DATA1";

/// SELinux as EL has it: selinuxfs mounted, and the system configured for it.
fn enforcing(f: &Fake) {
    f.file("sys/fs/selinux/enforce", "1");
    f.file(
        "etc/selinux/config",
        "SELINUX=enforcing\nSELINUXTYPE=targeted\n",
    );
}

fn restorecons(f: &Fake) -> Vec<String> {
    f.calls()
        .into_iter()
        .filter(|c| c.starts_with("restorecon "))
        .collect()
}

#[test]
fn a_fresh_xfs_volume_at_var_lib_docker_is_relabelled_after_its_mount() {
    let f = Fake::new();
    enforcing(&f);
    f.out("dockerd", "Docker version 26.1.5+dfsg1, build a72d7cd\n");
    f.file("etc/fstab", "/dev/vda / ext4 defaults 0 1\n");
    overlay2_fresh_volume(&f);
    let o = f.run(&["apply", "--device", DEV]);
    expect_code(&o, 0);
    let root = f.root.display();
    let want = format!("run    restorecon -- {root}/etc/fstab {root}/var/lib/docker");
    // the storage record is written in the same step
    assert!(stdout(&o).contains(&want), "shown:\n{}", stdout(&o));
    let want = want.trim_start_matches("run    ").to_string()
        + " "
        + &format!("{root}/var/lib/swarmnode/storage.json");
    let calls = f.mutating_calls();
    let mount = calls.iter().position(|c| c.starts_with("mount ")).unwrap();
    let relabel = calls
        .iter()
        .position(|c| c.starts_with("restorecon "))
        .unwrap_or_else(|| panic!("no restorecon: {calls:?}"));
    assert!(relabel > mount, "relabelled after the mount: {calls:?}");
    assert_eq!(calls[relabel], want);
    assert_eq!(restorecons(&f).len(), 1, "{calls:?}");
    // Converged: nothing written, nothing relabelled.
    f.next_run();
    let o = f.run(&["apply", "--device", DEV]);
    expect_code(&o, 0);
    assert!(f.mutating_calls().is_empty(), "{:?}", f.mutating_calls());
}

#[test]
fn the_engine_files_and_the_units_are_relabelled_in_a_kickstart_chroot() {
    let f = crate::offline::kickstart_chroot();
    enforcing(&f);
    let o = f.plan_production();
    expect_code(&o, 0);
    let out = stdout(&o);
    let root = f.root.display();
    // In the engine step it comes right after the files, before docker is enabled.
    let relabel = out.find("run    restorecon -- ").unwrap();
    let second = relabel + 1 + out[relabel + 1..].find("run    restorecon -- ").unwrap();
    let enable = out.find("enable docker.service").unwrap();
    assert!(relabel < second && second < enable, "{out}");
    for want in [
        format!(
            "run    restorecon -- {root}/etc/docker/daemon.json {root}/etc/docker/certs.d/docker-registry.dccn.nl:5000/ca.crt {root}/etc/systemd/system/docker.service.d/swarmnode.conf"
        ),
        format!(
            "run    restorecon -- {root}/usr/local/sbin/swarmnode {root}/etc/swarmnode/profile.json {root}/etc/systemd/system/swarmnode-firstboot.service"
        ),
    ] {
        assert!(out.contains(&want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn without_selinux_or_without_restorecon_nothing_is_relabelled() {
    let f = crate::offline::kickstart_chroot();
    let o = f.plan_production();
    expect_code(&o, 0);
    assert!(!stdout(&o).contains("restorecon"), "{}", stdout(&o));
    let f = crate::offline::kickstart_chroot();
    enforcing(&f);
    f.no_tool("restorecon");
    let o = f.plan_production();
    expect_code(&o, 0);
    let said = stdout(&o) + &stderr(&o);
    assert!(
        said.contains("SELinux is enabled but restorecon is not installed"),
        "{said}"
    );
    assert!(!stdout(&o).contains("run    restorecon"), "{said}");
}

/// Issue 29: a Debian host whose kernel mounts selinuxfs but that has no SELinux configuration
/// (no /etc/selinux/config: no policy to load) is not SELinux-enabled, as libselinux's own
/// is_selinux_enabled() says; the demo's %post warned three times there.
#[test]
fn selinuxfs_without_a_configuration_is_not_selinux() {
    let f = crate::offline::kickstart_chroot();
    f.file("sys/fs/selinux/enforce", "0");
    f.no_tool("restorecon");
    let o = f.plan_production();
    expect_code(&o, 0);
    let said = stdout(&o) + &stderr(&o);
    assert!(!said.contains("SELinux"), "{said}");
    assert!(!said.contains("restorecon"), "{said}");
}
