//! `plan --json` of the production profile and of each fake-root fixture state, compared byte for
//! byte with the recorded plans in tests/fixtures/plans/ (the root's path is written ROOT, times and
//! durations 0). A change of any plan fails here until it is recorded on purpose:
//! `SWARMNODE_BLESS=1 cargo test --test plans`, and the diff reviewed.

use crate::common::*;

const DEV: &str = "/dev/disk/by-id/virtio-DATA1";
const STOCK_UNIT: &str = "[Unit]\nDescription=Docker\n[Service]\nExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock\n";
const FSTAB: &str = "/dev/vda / ext4 defaults 0 1\n\
fs1.example.org:/home /home nfs4 defaults,_netdev 0 0\n\
fs1.example.org:/project /project nfs4 defaults,_netdev 0 0\n\
fs2.example.org:/docker /mnt/docker nfs defaults,_netdev 0 0\n";
const SSH_SWARM: &str = r#"{"swarm": {"managers": ["10.77.0.1:2377", "10.77.0.9"],
  "token": {"source": "ssh", "identity_file": "/root/.ssh/id_ed25519",
            "known_hosts_file": "/etc/swarmnode/known_hosts"},
  "labels": {"function": "production", "home": "~"}, "advertise_addr": "10.77.0.2",
  "ca_hash": "sha256:1a8a7ed77f4bdab0f7b86582233d699759f5701b4ece3099f5f7420ac06b6d07"}}"#;

/// The output as printed, with what differs from run to run zeroed: the temporary root's path,
/// the binary's path, times and durations. Everything else is compared byte for byte.
fn normalize(f: &Fake, out: &str) -> String {
    let text = out
        .replace(&f.root.display().to_string(), "ROOT")
        .replace(&bin(), "SWARMNODE_BINARY");
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            match ["\"started\": ", "\"duration_ms\": "]
                .iter()
                .find(|k| t.starts_with(*k))
            {
                Some(k) => {
                    let comma = if t.ends_with(',') { "," } else { "" };
                    format!("{}{k}0{comma}", &l[..l.len() - t.len()])
                }
                None => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn check(name: &str, f: &Fake, args: &[&str]) {
    let mut all = vec!["--json", "plan"];
    all.extend_from_slice(args);
    let o = f.run(&all);
    let _: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{name}: {e}\n{}\n{}", stdout(&o), stderr(&o)));
    let got = format!("exit {}\n{}\n", code(&o), normalize(f, &stdout(&o)));
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/plans")
        .join(format!("{name}.json"));
    if std::env::var_os("SWARMNODE_BLESS").is_some() {
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; record it with SWARMNODE_BLESS=1", path.display()));
    assert!(
        got == want,
        "{name}: plan --json differs from {}:\n--- got\n{got}",
        path.display()
    );
}

fn production() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/profiles/dccn-production.json")
}

#[test]
fn storage_plans() {
    let f = Fake::new();
    check("blank-disk", &f, &["--device", DEV]);
    check(
        "blank-disk-overlay2",
        &f,
        &["--device", DEV, "--driver", "overlay2"],
    );
    let f = Fake::new();
    f.lvm_pool();
    check(
        "converged-pool-without-profile-file",
        &f,
        &["--device", DEV],
    );
    f.out("lvm", &fixture("fullreport-pool-inactive.json"));
    check("inactive-pool", &f, &["--device", DEV]);
    let f = Fake::new();
    f.out("dockerd", "Docker version 26.1.5+dfsg1, build a72d7cd\n");
    check("engine-26-auto", &f, &["--device", DEV]);
    let f = Fake::new();
    f.out("wipefs", &fixture("wipefs-ext4.json"));
    check("refused-ext4", &f, &["--device", DEV]);
    check("wipe-ext4", &f, &["--device", DEV, "--wipe"]);
    let f = Fake::new();
    f.out("lvm", &fixture("fullreport-orphan-pv.json"));
    f.out("wipefs", &fixture("wipefs-pv.json"));
    check("refused-pv-without-vg", &f, &["--device", DEV]);
}

#[test]
fn production_profile_plans() {
    // Booted, nothing done yet: the mounts are not there (65), the plan of every step is still shown.
    let f = Fake::new();
    f.file("usr/lib/systemd/system/docker.service", STOCK_UNIT);
    f.file(
        "mnt/docker/registry/ca.crt",
        include_str!("../fixtures/pki/registry-ca.crt"),
    );
    f.out("systemctl", "active\n");
    check(
        "production-booted",
        &f,
        &["--profile", production(), "--device", DEV],
    );
    // The kickstart %post chroot.
    f.offline();
    f.file("etc/fstab", FSTAB);
    check(
        "production-offline",
        &f,
        &["--profile", production(), "--device", DEV],
    );
}

#[test]
fn engine_plans() {
    let f = Fake::new();
    f.pool_record();
    f.file("usr/lib/systemd/system/docker.service", STOCK_UNIT);
    f.file(
        "etc/systemd/system/docker.service.d/swarm.conf",
        "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H unix:///var/run/docker.sock -H tcp://0.0.0.0:2375\n",
    );
    f.file(
        "etc/docker/daemon.json",
        "{\"hosts\": [\"tcp://0.0.0.0:2375\"], \"log-driver\": \"journald\"}\n",
    );
    f.out("systemctl", "active\n");
    let p = f.tmp.path().join("engine.json");
    std::fs::write(&p, r#"{"engine": {"hosts": ["unix:///var/run/docker.sock"], "insecure_registries": ["reg:5000"]}}"#).unwrap();
    check(
        "engine-seed-node",
        &f,
        &["--profile", &p.display().to_string()],
    );
    std::fs::write(&p, r#"{"engine": {}}"#).unwrap();
    check(
        "engine-refused-plaintext",
        &f,
        &["--profile", &p.display().to_string()],
    );
}

#[test]
fn swarm_plans() {
    use serde_json::json;
    for (name, info_json) in [
        ("swarm-inactive", info("info-inactive.json")),
        ("swarm-pending-without-id", info("info-pending.json")),
        (
            "swarm-member-pending",
            info_with("info-worker.json", &[("LocalNodeState", json!("pending"))]),
        ),
    ] {
        let f = Fake::new();
        f.file("etc/swarmnode/profile.json", SSH_SWARM);
        f.engine_with(&[("GET /info ", &[(200, &info_json)])]);
        check(name, &f, &[]);
    }
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", SSH_SWARM);
    f.engine("info-worker.json");
    let inspect = std::fs::read_to_string(format!("{DOCKER_FIX}/node-inspect.json")).unwrap();
    f.out("ssh", &inspect);
    check("swarm-worker-labels", &f, &[]);
}
