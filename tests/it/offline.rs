//! Offline mode (a kickstart %post chroot: no running systemd, docker, NFS or network): `plan` and
//! `apply` do what needs no running service, defer the rest one line each, and install the
//! first-boot unit. Fake root without /run/systemd/system; `install` is the real one, and a fake
//! `systemctl` that makes the symlinks `enable` would.

use std::os::unix::fs::symlink;

use crate::common::*;

const STOCK_UNIT: &str = "[Unit]\nDescription=Docker\n[Service]\nExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock\n";

const FSTAB: &str = "/dev/vda / ext4 defaults 0 1\n\
fs1.example.org:/home /home nfs4 defaults,_netdev 0 0\n\
fs1.example.org:/project /project nfs4 defaults,_netdev 0 0\n\
fs2.example.org:/docker /mnt/docker nfs defaults,_netdev 0 0\n";

/// `systemctl [--root=R] enable|is-enabled UNIT` on the symlinks under R.
const FAKE_SYSTEMCTL: &str = r#"#!/bin/sh
echo "systemctl $*" >> "$FAKE/calls"
root=/
case "$1" in --root=*) root=${1#--root=}; shift ;; esac
wants="$root/etc/systemd/system/multi-user.target.wants"
case "$2" in *.timer) wants="$root/etc/systemd/system/timers.target.wants" ;; esac
case "$1" in
  enable|reenable) /bin/mkdir -p "$wants" && /bin/ln -sf "/etc/systemd/system/$2" "$wants/$2" ;;
  is-enabled) if [ -L "$wants/$2" ]; then echo enabled; else echo disabled; exit 1; fi ;;
esac
"#;

pub fn kickstart_chroot() -> Fake {
    let f = Fake::new();
    f.offline();
    f.file("etc/fstab", FSTAB);
    f.file("usr/lib/systemd/system/docker.service", STOCK_UNIT);
    f.file(
        "mnt/docker/registry/ca.crt",
        include_str!("../fixtures/pki/registry-ca.crt"),
    );
    std::fs::write(f.fake.join("bin/systemctl"), FAKE_SYSTEMCTL).unwrap();
    // The real install: these runs copy the binary.
    std::fs::remove_file(f.fake.join("bin/install")).unwrap();
    symlink("/usr/bin/install", f.fake.join("bin/install")).unwrap();
    f
}

#[test]
fn production_profile_plan_in_a_kickstart_chroot() {
    let f = kickstart_chroot();
    let o = f.plan_production();
    expect_code(&o, 0);
    let out = stdout(&o);
    let root = f.root.display();
    for want in [
        "offline: systemd is not running (no /run/systemd/system): doing what needs no running service; the rest is deferred to the first boot",
        "run    vgcreate --addtag swarmnode --addtag swarmnode-machine-70e03b4e35e541b38c27ba78376af77f docker /dev/vdb",
        "engine: offline: docker is not reloaded, started or restarted now; it starts at boot",
        &format!("run    systemctl --root={root} enable docker.service"),
        "mounts: /home: /etc/fstab mounts fs1.example.org:/home (nfs4)",
        "mounts: /mnt/docker: /etc/fstab mounts fs2.example.org:/docker (nfs)",
        "mounts: whether the servers answer is checked at first boot (no network here)",
        "swarm: skipped: deferred to the first boot (systemd is not running (no /run/systemd/system)): joining needs the network and a running docker",
        "firstboot: apply would do 4 action(s):",
        &format!("{root}/usr/local/sbin/swarmnode    # the first-boot unit runs this binary"),
        "write  /etc/swarmnode/profile.json (0600)",
        "+     \"device\": \"/dev/disk/by-id/virtio-DATA1\",",
        "write  /etc/systemd/system/swarmnode-firstboot.service (0644)",
        &format!("run    systemctl --root={root} enable swarmnode-firstboot.service"),
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(!out.contains("daemon-reload"), "{out}");
    assert!(!f.calls().iter().any(|c| c.starts_with("ssh ")));
}

#[test]
fn offline_apply_installs_the_first_boot_and_a_second_run_changes_nothing() {
    let f = kickstart_chroot();
    f.pool_record();
    let profile = r#"{"engine": {"hosts": ["unix:///var/run/docker.sock"], "start": true},
      "mounts": {"nfs": ["/home", "/project", "/mnt/docker"]},
      "swarm": {"managers": ["manager1:2377"], "token": {"source": "ssh"},
                "labels": {"function": "production"}}}"#;
    f.file("etc/swarmnode/profile.json", profile);
    let o = f.run(&["--json", "apply"]);
    expect_code(&o, 0);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        r["offline"],
        "systemd is not running (no /run/systemd/system)"
    );
    let status: Vec<(&str, &str)> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        status,
        [
            ("engine", "changed"),
            ("mounts", "converged"),
            ("swarm", "deferred"),
            ("firstboot", "changed")
        ]
    );
    assert_eq!(
        f.read("etc/systemd/system/swarmnode-firstboot.service")
            .unwrap(),
        include_str!("../../kickstart/swarmnode-firstboot.service")
    );
    for unit in ["docker.service", "swarmnode-firstboot.service"] {
        let l = f
            .root
            .join("etc/systemd/system/multi-user.target.wants")
            .join(unit);
        assert!(l.is_symlink(), "{unit} not enabled");
    }
    let installed = std::fs::read(f.root.join("usr/local/sbin/swarmnode")).unwrap();
    assert!(
        installed == std::fs::read(bin()).unwrap(),
        "binary not installed"
    );
    let saved: serde_json::Value =
        serde_json::from_str(&f.read("etc/swarmnode/profile.json").unwrap()).unwrap();
    assert_eq!(saved["swarm"]["labels"]["function"], "production");
    assert!(
        !f.calls()
            .iter()
            .any(|c| c.contains("daemon-reload") || c.contains(" start") || c.contains("restart")),
        "{:?}",
        f.calls()
    );
    // The same %post again (a re-run kickstart): nothing to do.
    f.next_run();
    let o = f.run(&["--json", "apply"]);
    expect_code(&o, 0);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["result"], "converged");
    assert!(
        !f.calls().iter().any(|c| c.contains(" enable ")),
        "{:?}",
        f.calls()
    );
}

#[test]
fn a_registry_ca_on_nfs_waits_for_the_first_boot() {
    let f = kickstart_chroot();
    std::fs::remove_file(f.root.join("mnt/docker/registry/ca.crt")).unwrap();
    let o = f.plan_production();
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(
        out.contains("engine: offline: the CA of registry docker-registry.dccn.nl:5000 (/mnt/docker/registry/ca.crt) is not there yet (on NFS?): installed at first boot"),
        "{out}"
    );
    assert!(!out.contains("certs.d"), "{out}");
    // Online the same missing file is a refusal.
    f.next_run();
    std::fs::create_dir_all(f.root.join("run/systemd/system")).unwrap();
    f.file(
        "etc/swarmnode/profile.json",
        r#"{"engine": {"registries": [{"host": "r:5000", "ca_file": "/mnt/docker/registry/ca.crt"}]}}"#,
    );
    expect_refused(&f, &["engine"], "it cannot be read: No such file");
}

#[test]
fn offline_nfs_path_nothing_provides_is_refused() {
    let f = kickstart_chroot();
    f.file(
        "etc/fstab",
        "/dev/vda / ext4 defaults 0 1\nfs1:/home /home xfs defaults 0 0\n",
    );
    f.file(
        "etc/systemd/system/project.mount",
        "[Mount]\nWhat=fs1:/project\nWhere=/project\nType=nfs4\n",
    );
    f.file(
        "etc/swarmnode/profile.json",
        r#"{"mounts": {"nfs": ["/home", "/project", "/mnt/docker"]}}"#,
    );
    let err = expect_refused(
        &f,
        &["plan"],
        "/home: /etc/fstab mounts fs1:/home as xfs, not NFS",
    );
    assert!(
        err.contains(
            "/mnt/docker: neither /etc/fstab nor /etc/systemd/system/mnt-docker.mount provides it"
        ),
        "{err}"
    );
    assert!(
        !err.contains("/project:"),
        "a mount unit provides /project: {err}"
    );
}

#[test]
fn the_example_kickstart_carries_the_post_snippet_verbatim() {
    let variants = [
        (
            "node.ks",
            include_str!("../../kickstart/node.ks"),
            include_str!("../../kickstart/post.ks"),
        ),
        (
            "node-repo.ks",
            include_str!("../../kickstart/node-repo.ks"),
            include_str!("../../kickstart/post-repo.ks"),
        ),
    ];
    for (name, node, post) in variants {
        let section = &post[post.find("\n%post").unwrap() + 1..];
        assert!(
            node.contains(section),
            "kickstart/{name} must end with its %post snippet's %post section"
        );
        assert!(section.contains("swarmnode --profile") || section.contains("swarmnode apply"));
    }
    let (node, post) = (variants[1].1, variants[1].2);
    // Not from %packages (Anaconda would not check its signature): dnf in %post, gpgcheck on.
    let packages = &node[node.find("%packages").unwrap()..];
    let packages = &packages[..packages.find("%end").unwrap()];
    assert!(
        !packages.lines().any(|l| l.trim() == "swarmnode"),
        "{packages}"
    );
    assert!(node.contains(" --install --includepkgs=swarmnode\n"));
    for want in [
        "gpgcheck=1",
        "repo_gpgcheck=1",
        "--enablerepo=swarmnode install --downloadonly --downloaddir \"$dl\" swarmnode",
        "--setopt=localpkg_gpgcheck=1 install \"$pkg\"",
        "/usr/sbin/swarmnode --profile",
    ] {
        assert!(post.contains(want), "post-repo.ks: {want}");
    }
    assert!(
        variants[0]
            .2
            .contains("swarmnode apply --device \"$DATA_DISK\"")
    );
}

/// Runs post.ks's `fetch` function (the kickstart's own check) in bash.
fn ks_fetch(url: &str, dest: &std::path::Path, sum: &str) -> std::process::Output {
    ks_fetch_within(120, url, dest, sum)
}

/// [`ks_fetch`], stopped by `timeout` after `secs` (exit 124).
fn ks_fetch_within(
    secs: u32,
    url: &str,
    dest: &std::path::Path,
    sum: &str,
) -> std::process::Output {
    let post = include_str!("../../kickstart/post.ks");
    let f = &post[post.find("\nfetch() {").unwrap()..];
    let f = &f[..f.find("\n}\n").unwrap() + 3];
    std::process::Command::new("timeout")
        .arg(secs.to_string())
        .arg("bash")
        .args([
            "-c",
            &format!("set -eu\n{f}\nfetch \"$1\" \"$2\" \"$3\" 0600"),
            "ks",
        ])
        .args([url, &dest.display().to_string(), sum])
        .output()
        .unwrap()
}

#[test]
fn the_kickstart_checks_downloads_against_sums_written_in_it() {
    let t = tempfile::tempdir().unwrap();
    let served = t.path().join("swarmnode");
    std::fs::write(&served, b"the release binary\n").unwrap();
    let url = format!("file://{}", served.display());
    let good = {
        use sha2::Digest;
        sha2::Sha256::digest(b"the release binary\n")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let dest = t.path().join("installed");
    let o = ks_fetch(&url, &dest, &good);
    expect_code(&o, 0);
    assert_eq!(std::fs::read(&dest).unwrap(), b"the release binary\n");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Another file behind the same URL: refused, nothing in place, nothing left behind.
    let dest = t.path().join("tampered");
    let o = ks_fetch(&url, &dest, &"0".repeat(64));
    expect_code(&o, 1);
    assert!(stderr(&o).contains("does not have the sha256 written in the kickstart"));
    assert!(!dest.exists() && !t.path().join("tampered.new").exists());
    // The placeholder was never replaced: refused before any download.
    let o = ks_fetch(&url, &dest, "REPLACE-with-the-sha256-of-swarmnode");
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains("is not set in the kickstart"),
        "{}",
        stderr(&o)
    );
    // No sum is fetched from beside the files.
    let post = include_str!("../../kickstart/post.ks");
    assert!(
        !post.contains(".sha256\""),
        "post.ks must not download a sum"
    );
}

/// Every download in the kickstarts has a bound: a server that takes the connection and never
/// answers must not hold the installation for ever. Each curl names its connect timeout and its
/// time for the whole transfer (--retry then bounds the tries).
#[test]
fn every_download_in_the_kickstarts_has_a_bound() {
    let mut seen = 0;
    for (ks, text) in [
        ("node.ks", include_str!("../../kickstart/node.ks")),
        ("node-repo.ks", include_str!("../../kickstart/node-repo.ks")),
        ("post.ks", include_str!("../../kickstart/post.ks")),
        ("post-repo.ks", include_str!("../../kickstart/post-repo.ks")),
    ] {
        for line in text
            .lines()
            .filter(|l| l.trim_start().starts_with("curl -"))
        {
            seen += 1;
            for want in [
                "--connect-timeout ",
                "--max-time ",
                "--retry ",
                "--retry-max-time ",
            ] {
                assert!(
                    line.contains(want),
                    "kickstart/{ks}: {want}is missing: {line}"
                );
            }
        }
    }
    assert_eq!(seen, 4, "one curl in each kickstart");
}

#[test]
fn a_download_that_fails_stops_the_kickstart_with_its_url_and_leaves_nothing() {
    let t = tempfile::tempdir().unwrap();
    // A loopback port nobody listens on: refused at once (curl does not retry a refused
    // connection).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/swarmnode");
    let dest = t.path().join("installed");
    let o = ks_fetch(&url, &dest, &"0".repeat(64));
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains(&format!("swarmnode %post: could not download {url}")),
        "{}",
        stderr(&o)
    );
    assert!(!dest.exists() && !t.path().join("installed.new").exists());
    // A server that answers 503 and asks to be tried again in a day: curl follows Retry-After
    // unless --retry-max-time bounds it. Without the bound this test would hang: `timeout` ends
    // it (124) and the assertion below says so.
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/swarmnode", server.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for c in server.incoming().take(8) {
            let Ok(mut c) = c else { continue };
            let _ = c.read(&mut [0u8; 4096]);
            let _ = c.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 86400\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let o = ks_fetch_within(30, &url, &dest, &"0".repeat(64));
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains("(curl exit 22; within 7 minutes)"),
        "{}",
        stderr(&o)
    );
    // A server that sends part of the file and closes: curl leaves the part, the %post removes it.
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/swarmnode", server.local_addr().unwrap());
    let serve = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut c, _) = server.accept().unwrap();
        let _ = c.read(&mut [0u8; 4096]);
        let _ = c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\nthe first bytes");
    });
    let o = ks_fetch(&url, &dest, &"0".repeat(64));
    serve.join().unwrap();
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains("could not download") && stderr(&o).contains("(curl exit 18;"),
        "{}",
        stderr(&o)
    );
    assert!(!dest.exists() && !t.path().join("installed.new").exists());
}

#[test]
fn installed_from_the_package_the_first_boot_runs_usr_sbin_and_copies_nothing() {
    let f = kickstart_chroot();
    f.pool_record();
    f.file(
        "etc/swarmnode/profile.json",
        r#"{"engine": {"hosts": ["unix:///var/run/docker.sock"], "start": true},
            "check": {"timer": true, "xymon": "xymon.example.org"}}"#,
    );
    // What the RPM installs: the binary in /usr/sbin and its unit in /usr/lib/systemd/system.
    let packaged = f.root.join("usr/sbin/swarmnode");
    std::fs::create_dir_all(packaged.parent().unwrap()).unwrap();
    std::fs::copy(bin(), &packaged).unwrap();
    f.file(
        "usr/lib/systemd/system/swarmnode-firstboot.service",
        include_str!("../../packaging/systemd/swarmnode-firstboot.service"),
    );
    // An earlier curl install's unit (it would override the package's) and binary.
    f.file(
        "etc/systemd/system/swarmnode-firstboot.service",
        include_str!("../../kickstart/swarmnode-firstboot.service"),
    );
    f.file("usr/local/sbin/swarmnode", "the old copy");
    let exe = packaged.to_string_lossy().to_string();
    let o = f.run_exe(&exe, &["apply"], &[]);
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(
        stderr(&o).contains("/usr/local/sbin/swarmnode (an earlier install) comes before"),
        "{}",
        stderr(&o)
    );
    assert!(
        f.calls()
            .iter()
            .any(|c| c.ends_with("reenable swarmnode-firstboot.service")),
        "{:?}",
        f.calls()
    );
    std::fs::remove_file(f.root.join("usr/local/sbin/swarmnode")).unwrap();
    assert!(
        out.contains("/usr/sbin/swarmnode is this binary (installed from the package)"),
        "{out}"
    );
    assert!(
        !f.root.join("usr/local/sbin/swarmnode").exists(),
        "copied:\n{out}"
    );
    assert!(
        !f.root
            .join("etc/systemd/system/swarmnode-firstboot.service")
            .exists(),
        "the packaged unit is used as it is:\n{out}"
    );
    assert!(
        f.root
            .join("etc/systemd/system/multi-user.target.wants/swarmnode-firstboot.service")
            .is_symlink(),
        "enabled"
    );
    let service = f
        .read("etc/systemd/system/swarmnode-check.service")
        .unwrap();
    assert!(
        service.contains(
            "\nExecStart=/usr/sbin/swarmnode --profile /etc/swarmnode/profile.json check"
        ),
        "{service}"
    );
    assert!(
        !f.calls().iter().any(|c| c.starts_with("install ")),
        "{:?}",
        f.calls()
    );
    // Converged: a second run changes nothing.
    f.next_run();
    let o = f.run_exe(&exe, &["--json", "apply"], &[]);
    expect_code(&o, 0);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["result"], "converged", "{}", stdout(&o));
    // Packaged, but without its unit (removed by hand): the unit is written, running /usr/sbin.
    std::fs::remove_file(
        f.root
            .join("usr/lib/systemd/system/swarmnode-firstboot.service"),
    )
    .unwrap();
    let o = f.run_exe(&exe, &["apply"], &[]);
    expect_code(&o, 0);
    let unit = f
        .read("etc/systemd/system/swarmnode-firstboot.service")
        .unwrap();
    assert!(
        unit.contains("\nExecStart=/usr/sbin/swarmnode apply\n"),
        "{unit}"
    );
}

/// Runs post-repo.ks's key check (from the fingerprint's check to the key put in place) in bash,
/// with `curl` replaced by a copy of `served`, the key installed under `dir`.
fn ks_key_check(
    dir: &std::path::Path,
    served: &std::path::Path,
    fpr: &str,
) -> std::process::Output {
    let post = include_str!("../../kickstart/post-repo.ks");
    let part = &post[post.find("\nfpr=$(").unwrap()..post.find("\nrpm --import").unwrap()];
    let part = part
        .replace("/etc/pki/rpm-gpg", &dir.display().to_string())
        .replace(
            "curl -fsS --connect-timeout 10 --max-time 120 --retry 3 --retry-max-time 300 -o \"$key.new\" \"$REPO_KEY_URL\"",
            "cp \"$REPO_KEY_URL\" \"$key.new\"",
        );
    std::process::Command::new("bash")
        .args(["-c", &format!("set -eu\n{part}"), "ks"])
        .env("REPO_KEY_FINGERPRINT", fpr)
        .env("REPO_KEY_URL", served)
        .env("GNUPGHOME", dir)
        .output()
        .unwrap()
}

#[test]
fn the_repo_kickstart_imports_only_the_key_whose_fingerprint_it_pins() {
    let t = tempfile::tempdir().unwrap();
    let gpg = |args: &[&str]| {
        let o = std::process::Command::new("gpg")
            .args(["--batch", "--quiet", "--homedir"])
            .arg(t.path())
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let mut keys = Vec::new();
    for who in ["site", "other"] {
        gpg(&[
            "--passphrase",
            "",
            "--quick-gen-key",
            &format!("{who} <{who}@example.org>"),
            "ed25519",
            "sign",
            "never",
        ]);
        let path = t.path().join(format!("{who}.asc"));
        std::fs::write(&path, gpg(&["--export", "--armor", who])).unwrap();
        let fpr = gpg(&["--with-colons", "--fingerprint", who])
            .lines()
            .find(|l| l.starts_with("fpr:"))
            .unwrap()
            .split(':')
            .nth(9)
            .unwrap()
            .to_string();
        keys.push((path, fpr));
    }
    let dir = t.path().join("rpm-gpg");
    let installed = dir.join("RPM-GPG-KEY-swarmnode");
    let (site, site_fpr) = &keys[0];
    let (other, _) = &keys[1];
    // The pinned key, its fingerprint written in lower case with spaces: put in place.
    let spaced = site_fpr.to_lowercase().replace("", " ");
    let o = ks_key_check(&dir, site, &spaced);
    expect_code(&o, 0);
    assert!(installed.exists());
    std::fs::remove_file(&installed).unwrap();
    // Another key behind the same URL: refused, nothing in place.
    let o = ks_key_check(&dir, other, site_fpr);
    expect_code(&o, 1);
    assert!(stderr(&o).contains("is not the key whose fingerprint is in the kickstart"));
    assert!(!installed.exists() && !dir.join("RPM-GPG-KEY-swarmnode.new").exists());
    // Both keys in one file: not one key, refused.
    let both = t.path().join("both.asc");
    let text = std::fs::read_to_string(site).unwrap() + &std::fs::read_to_string(other).unwrap();
    std::fs::write(&both, text).unwrap();
    let o = ks_key_check(&dir, &both, site_fpr);
    expect_code(&o, 1);
    assert!(!installed.exists());
    // The placeholder never replaced: refused before any download.
    let o = ks_key_check(&dir, site, "REPLACE-with-the-40-hex-digit-fingerprint");
    expect_code(&o, 1);
    assert!(stderr(&o).contains("fingerprint is not set in the kickstart"));
}
