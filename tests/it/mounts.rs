//! The mounts step on a booted node: NFS present, NFS, and answering a `stat -f` in time. A fake
//! `stat` stands in for the server: answering, failing, or hanging (a dead server).

use std::time::Instant;

use crate::common::*;

const PROFILE: &str =
    r#"{"mounts": {"nfs": ["/home", "/project", "/mnt/docker"], "timeout_seconds": 1}}"#;

fn node() -> Fake {
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", PROFILE);
    f.mounts(&[
        ("254:0", "/", "ext4", "/dev/vda"),
        ("0:51", "/home", "nfs4", "fs1.example.org:/home"),
        ("0:52", "/project", "nfs4", "fs1.example.org:/project"),
        ("0:53", "/mnt/docker", "nfs", "fs2.example.org:/docker"),
    ]);
    f.out("stat", "nfs\n");
    f
}

fn stat_script(f: &Fake, body: &str) {
    std::fs::write(
        f.fake.join("bin/stat"),
        format!("#!/bin/sh\necho \"stat $*\" >> \"$FAKE/calls\"\n{body}\n"),
    )
    .unwrap();
}

#[test]
fn answering_nfs_mounts_pass() {
    let f = node();
    let o = f.run(&["mounts"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(
        out.contains("mounts: /home: nfs4 from fs1.example.org:/home, answered in"),
        "{out}"
    );
    assert!(out.contains("mounts: converged: nothing to do"), "{out}");
    let root = f.root.display();
    let mut calls = f.calls();
    calls.sort();
    assert_eq!(
        calls,
        ["/home", "/mnt/docker", "/project"].map(|p| format!("stat -f -c %T -- {root}{p}"))
    );
}

#[test]
fn a_hung_server_gives_75_naming_path_and_server_and_never_hangs() {
    let f = node();
    // Two dead servers: their probes block (as a stat on a hard NFS mount does).
    stat_script(
        &f,
        r#"case "$*" in *project*|*docker*) exec /bin/sleep 60 ;; esac; echo nfs"#,
    );
    let t = Instant::now();
    let o = f.run(&["mounts"]);
    let took = t.elapsed();
    expect_code(&o, 75);
    let err = stderr(&o);
    assert!(
        err.contains("/project (NFS from fs1.example.org:/project) did not answer within 1 s"),
        "{err}"
    );
    assert!(
        err.contains("/mnt/docker (NFS from fs2.example.org:/docker) did not answer within 1 s"),
        "{err}"
    );
    assert!(!err.contains("/home ("), "{err}");
    // The run came back, long before the probes' 60 s (a bound for hanging, not a speed target).
    assert!(took.as_secs() < 30, "took {took:?}");
}

#[test]
fn a_failing_server_is_temporary_too() {
    let f = node();
    stat_script(
        &f,
        r#"case "$*" in *home*) echo "stat: cannot read file system information for '/home': Stale file handle" >&2; exit 1 ;; esac; echo nfs"#,
    );
    let o = f.run(&["mounts"]);
    expect_code(&o, 75);
    assert!(stderr(&o).contains("Stale file handle"), "{}", stderr(&o));
}

#[test]
fn not_nfs_or_not_configured_is_refused_and_unmounted_from_fstab_is_temporary() {
    let f = node();
    f.mounts(&[
        ("254:0", "/", "ext4", "/dev/vda"),
        ("254:1", "/home", "ext4", "/dev/vda2"),
        ("0:53", "/mnt/docker", "nfs", "fs2.example.org:/docker"),
    ]);
    let err = expect_refused(&f, &["mounts"], "/home is ext4 from /dev/vda2, not NFS");
    assert!(
        err.contains(
            "/project is not mounted, and neither /etc/fstab nor a mount unit provides it"
        ),
        "{err}"
    );
    f.mounts(&[
        ("254:0", "/", "ext4", "/dev/vda"),
        ("0:51", "/home", "nfs4", "fs1.example.org:/home"),
        ("0:53", "/mnt/docker", "nfs", "fs2.example.org:/docker"),
    ]);
    f.file(
        "etc/fstab",
        "fs1.example.org:/project /project nfs4 defaults,_netdev 0 0\n",
    );
    let o = f.run(&["mounts"]);
    expect_code(&o, 75);
    assert!(
        stderr(&o).contains("/project is not mounted (/etc/fstab: fs1.example.org:/project nfs4): its server may be down; `mount /project`"),
        "{}",
        stderr(&o)
    );
}
