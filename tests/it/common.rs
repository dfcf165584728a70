//! A fake root for the binary: /proc, /sys and /dev files that describe disks, and recording fake
//! tools on PATH (nothing else is on PATH, so no real tool can run). Device nodes are real block
//! special files made with mknod (the tests run as root, as CI does); nothing ever opens them.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test: this build's, or `SWARMNODE_TEST_BIN` (to show that a new test fails on
/// an older build: `SWARMNODE_TEST_BIN=/path/to/old/swarmnode cargo test`).
pub fn bin() -> String {
    std::env::var("SWARMNODE_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_swarmnode").into())
}
pub const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bookworm");
pub const DOCKER_FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/docker");
pub const GIB: u64 = 1 << 30;
/// The machine-id of the guest the LVM fixtures were captured in (their machine tags name it).
pub const GUEST_MACHINE_ID: &str = "70e03b4e35e541b38c27ba78376af77f";

/// The tags swarmnode gives what it makes in the guest (and in a fake root).
pub fn guest_tags() -> String {
    format!("swarmnode,swarmnode-machine-{GUEST_MACHINE_ID}")
}

/// Tools whose calls change something; a converged run must call none of them.
pub const MUTATING: &[&str] = &[
    "pvcreate",
    "vgcreate",
    "lvcreate",
    "lvconvert",
    "lvchange",
    "lvremove",
    "vgchange",
    "vgremove",
    "pvremove",
    "vgreduce",
    "lvm lvmdevices",
    "wipefs --all",
    "mkfs.xfs",
    "mount",
    "umount",
    "systemctl",
    "restorecon",
    "useradd",
    "usermod",
    "userdel",
    "ssh-keygen",
    "tar --create",
    "tar --extract --gzip --no-same-owner",
];

const FAKE_TOOL: &str = r#"#!/bin/sh
# recording fake: logs argv, prints out/NAME.N (Nth call), out/NAME@LASTARG or out/NAME, and
# err/NAME.N or err/NAME on stderr, exits rc/NAME.N or rc/NAME
name=${0##*/}
for last in "$@"; do :; done
echo "$name $*" >> "$FAKE/calls"
n=$(/bin/grep -c "^$name " "$FAKE/calls")
for f in "$FAKE/out/$name.$n" "$FAKE/out/$name@${last##*/}" "$FAKE/out/$name"; do
  if [ -f "$f" ]; then /bin/cat "$f"; break; fi
done
for f in "$FAKE/err/$name.$n" "$FAKE/err/$name"; do
  if [ -f "$f" ]; then /bin/cat "$f" >&2; break; fi
done
for f in "$FAKE/rc/$name.$n" "$FAKE/rc/$name"; do
  if [ -f "$f" ]; then exit "$(/bin/cat "$f")"; fi
done
exit 0
"#;

/// Tools that only read; with the first word of each of [`MUTATING`], every fake on PATH.
const READING: &[&str] = &[
    "dockerd", "docker", "ssh", "stat", "sshd", "xfs_info", "install",
];

fn tools() -> std::collections::BTreeSet<&'static str> {
    MUTATING
        .iter()
        .filter_map(|m| m.split(' ').next())
        .chain(READING.iter().copied())
        .collect()
}

pub struct Fake {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub fake: PathBuf,
}

pub fn fixture(name: &str) -> String {
    fs::read_to_string(Path::new(FIX).join(name)).unwrap()
}

/// `lvm fullreport` as captured in the guest (tests/fixtures/bookworm/fullreport-NAME.json), with
/// `edit` applied to every LV row and every segment row (both carry `lv_name`).
pub fn lvm_report(name: &str, edit: impl Fn(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(&fixture(&format!("fullreport-{name}.json"))).unwrap();
    for part in v["report"].as_array_mut().unwrap() {
        for key in ["lv", "seg"] {
            for row in part[key].as_array_mut().into_iter().flatten() {
                edit(row);
            }
        }
    }
    v.to_string()
}

/// `lvm fullreport` as captured, with every VG's and LV's tags replaced by `tags` (hidden LVs
/// keep none).
pub fn lvm_report_tagged(name: &str, tags: &str) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(&fixture(&format!("fullreport-{name}.json"))).unwrap();
    for part in v["report"].as_array_mut().unwrap() {
        for row in part["vg"].as_array_mut().into_iter().flatten() {
            row["vg_tags"] = tags.into();
        }
        for row in part["lv"].as_array_mut().into_iter().flatten() {
            if !row["lv_name"].as_str().unwrap_or_default().starts_with('[') {
                row["lv_tags"] = tags.into();
            }
        }
    }
    v.to_string()
}

/// A fullreport of one part: a VG row (or none: orphan PVs), PV rows, LV rows and segment rows.
pub fn lvm_part(
    vg: Option<serde_json::Value>,
    pvs: &[(&str, &str)],
    lvs: &[serde_json::Value],
    segs: &[serde_json::Value],
) -> String {
    let pv: Vec<serde_json::Value> = pvs
        .iter()
        .map(|(n, g)| serde_json::json!({"pv_name": n, "vg_name": g, "pv_uuid": "x"}))
        .collect();
    serde_json::json!({"report": [{"vg": vg.into_iter().collect::<Vec<_>>(), "pv": pv, "lv": lvs, "seg": segs}]})
        .to_string()
}

/// A fullreport of VG `docker` on vdb, tagged `vg_tags`, holding one plain volume.
pub fn one_plain_lv(vg_tags: &str, name: &str, attr: &str, lv_tags: &str) -> String {
    let (lv, seg) = linear_lv(name, attr, lv_tags);
    lvm_part(
        Some(vg_row("docker", vg_tags)),
        &[("/dev/vdb", "docker")],
        &[lv],
        &[seg],
    )
}

/// A VG row of 4 GiB (1023 extents of 4 MiB), all free, with these tags.
pub fn vg_row(name: &str, tags: &str) -> serde_json::Value {
    serde_json::json!({"vg_name": name, "vg_uuid": "y", "vg_size": "4290772992", "vg_free": "4290772992",
        "vg_extent_size": "4194304", "vg_extent_count": "1023", "vg_free_count": "1023",
        "vg_seqno": "1", "pv_count": "1", "vg_tags": tags})
}

/// A plain (linear) LV and its segment, as a fullreport shows them.
pub fn linear_lv(name: &str, attr: &str, tags: &str) -> (serde_json::Value, serde_json::Value) {
    (
        serde_json::json!({"lv_name": name, "vg_name": "docker", "lv_attr": attr, "lv_size": "4072669184",
            "lv_profile": "", "lv_tags": tags, "lv_active": "active", "data_percent": "", "metadata_percent": ""}),
        serde_json::json!({"lv_name": name, "segtype": "linear", "chunk_size": "0", "zero": "0", "seg_monitor": ""}),
    )
}

impl Fake {
    /// A booted host (systemd runs) with a root disk vda (254:0, mounted at /) and a blank 4 GiB
    /// data disk vdb (254:16) reachable as /dev/disk/by-id/virtio-DATA1; dockerd 20.10; LVM knows
    /// nothing. [`Fake::offline`] makes it a kickstart %post chroot instead.
    pub fn new() -> Fake {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the fake-root tests make device nodes with mknod: run them as root"
        );
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let fake = tmp.path().join("fake");
        for d in [
            "proc/self",
            "sys/class/block",
            "dev/disk/by-id",
            "run/systemd/system",
            "etc",
            "var/lib",
        ] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        for d in ["bin", "out", "rc", "err"] {
            fs::create_dir_all(fake.join(d)).unwrap();
        }
        for t in tools() {
            let p = fake.join("bin").join(t);
            fs::write(&p, FAKE_TOOL).unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        fs::write(fake.join("calls"), "").unwrap();
        let f = Fake { tmp, root, fake };
        f.disk("vda", (254, 0), 20 * GIB);
        f.disk("vdb", (254, 16), 4 * GIB);
        symlink("../../vdb", f.root.join("dev/disk/by-id/virtio-DATA1")).unwrap();
        f.mounts(&[("254:0", "/", "ext4", "/dev/vda")]);
        f.file(
            "proc/swaps",
            "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n",
        );
        f.out("dockerd", &fixture("dockerd-version.txt"));
        f.lvm_empty();
        f.out(
            "lvm@version",
            "  LVM version:     2.03.16(2) (2022-05-18)\n  Library version: 1.02.185 (2022-05-18)\n",
        );
        f.out("wipefs", &fixture("wipefs-blank.json"));
        // The guest's machine-id: the captured volumes carry its machine tag.
        f.file("etc/machine-id", &format!("{GUEST_MACHINE_ID}\n"));
        f
    }

    /// No running systemd: what a kickstart %post sees.
    pub fn offline(&self) {
        fs::remove_dir(self.root.join("run/systemd/system")).unwrap();
    }

    /// The storage step's record of a thin pool on /dev/vdb (what a finished storage step leaves).
    pub fn pool_record(&self) {
        self.file(
            "var/lib/swarmnode/storage.json",
            r#"{"driver": "devicemapper", "device": "/dev/vdb", "volume_group": "docker", "volume": "/dev/mapper/docker-thinpool"}"#,
        );
    }
    pub fn file(&self, rel: &str, text: &str) {
        let p = self.root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> Option<String> {
        fs::read_to_string(self.root.join(rel)).ok()
    }

    /// A whole disk in sysfs and its node in /dev.
    pub fn disk(&self, name: &str, dev: (u32, u32), bytes: u64) {
        let d = self.root.join("sys/class/block").join(name);
        fs::create_dir_all(d.join("holders")).unwrap();
        fs::write(d.join("dev"), format!("{}:{}\n", dev.0, dev.1)).unwrap();
        fs::write(d.join("size"), format!("{}\n", bytes / 512)).unwrap();
        fs::write(d.join("ro"), "0\n").unwrap();
        self.node(name, dev);
    }

    pub fn partition(&self, disk: &str, name: &str, dev: (u32, u32)) {
        let d = self.root.join("sys/class/block").join(disk).join(name);
        fs::create_dir_all(d.join("holders")).unwrap();
        fs::write(d.join("dev"), format!("{}:{}\n", dev.0, dev.1)).unwrap();
        fs::write(d.join("partition"), "1\n").unwrap();
        fs::write(d.join("size"), "2048\n").unwrap();
        symlink(
            format!("{disk}/{name}"),
            self.root.join("sys/class/block").join(name),
        )
        .unwrap();
        self.node(name, dev);
    }

    /// A device-mapper device `dm` (dm/name `dm_name`) holding `held` (a disk or partition dir).
    pub fn holder(&self, held_sysfs: &str, dm: &str, dev: (u32, u32), dm_name: &str) {
        let d = self.root.join("sys/class/block").join(dm);
        fs::create_dir_all(d.join("holders")).unwrap();
        fs::create_dir_all(d.join("dm")).unwrap();
        fs::write(d.join("dev"), format!("{}:{}\n", dev.0, dev.1)).unwrap();
        fs::write(d.join("dm/name"), format!("{dm_name}\n")).unwrap();
        fs::write(d.join("size"), "8\n").unwrap();
        fs::write(d.join("ro"), "0\n").unwrap();
        fs::write(
            self.root
                .join("sys/class/block")
                .join(held_sysfs)
                .join("holders")
                .join(dm),
            "",
        )
        .unwrap();
    }

    fn node(&self, name: &str, dev: (u32, u32)) {
        use nix::sys::stat::{Mode, SFlag, makedev, mknod};
        mknod(
            &self.root.join("dev").join(name),
            SFlag::S_IFBLK,
            Mode::from_bits_truncate(0o600),
            makedev(dev.0 as u64, dev.1 as u64),
        )
        .expect("mknod");
    }

    /// mountinfo lines: (maj:min, mount point, fstype, source).
    pub fn mounts(&self, m: &[(&str, &str, &str, &str)]) {
        let mut t = String::new();
        for (i, (dev, mp, fs, src)) in m.iter().enumerate() {
            t.push_str(&format!(
                "{} 1 {dev} / {mp} rw,relatime shared:1 - {fs} {src} rw\n",
                20 + i
            ));
        }
        self.file("proc/self/mountinfo", &t);
    }

    pub fn out(&self, tool: &str, text: &str) {
        fs::write(self.fake.join("out").join(tool), text).unwrap();
    }
    pub fn rc(&self, tool: &str, code: i32, stderr: &str) {
        fs::write(self.fake.join("rc").join(tool), code.to_string()).unwrap();
        fs::write(self.fake.join("err").join(tool), stderr).unwrap();
    }
    /// The Nth call of `tool` (counted from the start of the run) exits `code` with `stderr`.
    pub fn rc_at(&self, tool: &str, n: usize, code: i32, stderr: &str) {
        fs::write(
            self.fake.join("rc").join(format!("{tool}.{n}")),
            code.to_string(),
        )
        .unwrap();
        fs::write(self.fake.join("err").join(format!("{tool}.{n}")), stderr).unwrap();
    }

    pub fn no_tool(&self, tool: &str) {
        fs::remove_file(self.fake.join("bin").join(tool)).unwrap();
    }

    pub fn lvm_empty(&self) {
        self.out("lvm", &fixture("fullreport-blank.json"));
    }

    /// The state of a converged devicemapper node: PV vdb, VG docker, active monitored pool with the
    /// profile attached, held by its dm devices, with the profile file and the record written.
    pub fn lvm_pool(&self) {
        self.out("lvm", &fixture("fullreport-pool.json"));
        self.out("wipefs", &fixture("wipefs-pv.json"));
        self.holder("vdb", "dm-0", (253, 0), "docker-thinpool_tmeta");
        self.holder("vdb", "dm-1", (253, 1), "docker-thinpool_tdata");
    }

    /// Replaces the report after the Nth call of `tool` (the state a mutation leaves).
    pub fn out_after(&self, tool: &str, n: usize, text: &str) {
        fs::write(self.fake.join("out").join(format!("{tool}.{n}")), text).unwrap();
    }

    /// Forgets the calls and the per-call outputs, for a second run.
    pub fn next_run(&self) {
        fs::write(self.fake.join("calls"), "").unwrap();
        for e in fs::read_dir(self.fake.join("out")).unwrap() {
            let p = e.unwrap().path();
            if p.extension()
                .is_some_and(|x| x.to_string_lossy().parse::<u32>().is_ok())
            {
                fs::remove_file(p).unwrap();
            }
        }
    }

    /// `plan --profile profiles/dccn-production.json --device /dev/disk/by-id/virtio-DATA1`
    pub fn plan_production(&self) -> Output {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/profiles/dccn-production.json");
        self.run(&[
            "plan",
            "--profile",
            p,
            "--device",
            "/dev/disk/by-id/virtio-DATA1",
        ])
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.run_exe(&bin(), args, env)
    }

    /// The run of another copy of the binary (`exe`), e.g. one placed under the root.
    pub fn run_exe(&self, exe: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = Command::new(exe);
        c.arg("--root").arg(&self.root).args(args);
        c.env_clear()
            .env("PATH", self.fake.join("bin"))
            .env("FAKE", &self.fake);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    }

    pub fn calls(&self) -> Vec<String> {
        fs::read_to_string(self.fake.join("calls"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn mutating_calls(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| {
                MUTATING
                    .iter()
                    .any(|m| c.starts_with(&format!("{m} ")) || c == m)
            })
            .collect()
    }
}

/// A fake Docker engine on ROOT/var/run/docker.sock. Each route ("GET /info", "POST /swarm/join",
/// matched as a prefix of the request line) answers from its list in order, the last answer
/// again and again; anything else is a 500. Every request line is recorded, with its body.
pub struct FakeEngine {
    pub requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    pub bodies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    routes: std::sync::Arc<std::sync::Mutex<Vec<Route>>>,
}

struct Route {
    prefix: String,
    answers: Vec<(u16, String)>,
    served: usize,
}

/// A captured `GET /info` answer (file under tests/fixtures/docker).
pub fn info(fixture: &str) -> String {
    fs::read_to_string(Path::new(DOCKER_FIX).join(fixture)).unwrap()
}

/// A captured `GET /info` answer with the swarm fields changed (NodeID, LocalNodeState, ...).
pub fn info_with(fixture: &str, swarm: &[(&str, serde_json::Value)]) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&info(fixture)).unwrap();
    for (k, x) in swarm {
        v["Swarm"][*k] = x.clone();
    }
    v.to_string()
}

impl FakeEngine {
    /// Answers `prefix` with these (status, body) in turn, then the last one for ever.
    pub fn route(&self, prefix: &str, answers: &[(u16, &str)]) {
        let mut r = self.routes.lock().unwrap();
        r.retain(|x| x.prefix != prefix);
        r.push(Route {
            prefix: prefix.to_string(),
            answers: answers.iter().map(|(c, b)| (*c, b.to_string())).collect(),
            served: 0,
        });
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Fake {
    /// A fake engine whose `GET /info` is the captured answer `info_fixture`.
    pub fn engine(&self, info_fixture: &str) -> FakeEngine {
        let e = self.engine_with(&[]);
        e.route("GET /info ", &[(200, &info(info_fixture))]);
        e
    }

    pub fn engine_with(&self, routes: &[(&str, &[(u16, &str)])]) -> FakeEngine {
        use std::io::{BufRead, BufReader, Read, Write};
        let sock = self.root.join("var/run/docker.sock");
        fs::create_dir_all(sock.parent().unwrap()).unwrap();
        let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let e = FakeEngine {
            requests: Default::default(),
            bodies: Default::default(),
            routes: Default::default(),
        };
        for (p, a) in routes {
            e.route(p, a);
        }
        let (log, bodies, table) = (e.requests.clone(), e.bodies.clone(), e.routes.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                if r.read_line(&mut line).is_err() {
                    continue;
                }
                let mut len = 0;
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).is_err() {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    if h == "\r\n" || h.is_empty() {
                        break;
                    }
                }
                let mut body = vec![0; len];
                let _ = r.read_exact(&mut body);
                log.lock().unwrap().push(line.trim().to_string());
                bodies
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                let (status, answer) = {
                    let mut t = table.lock().unwrap();
                    match t.iter_mut().find(|x| line.starts_with(&x.prefix)) {
                        Some(x) => {
                            let a = x.answers[x.served.min(x.answers.len() - 1)].clone();
                            x.served += 1;
                            a
                        }
                        None => (500, r#"{"message":"not in this fake"}"#.to_string()),
                    }
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        e
    }
}

/// The changing calls, `systemctl is-active` and the like left out.
pub fn changes(f: &Fake) -> Vec<String> {
    f.mutating_calls()
        .into_iter()
        .filter(|c| !c.starts_with("systemctl is-"))
        .collect()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Asserts the exit code, printing both streams when it differs.
#[track_caller]
pub fn expect_code(o: &Output, want: i32) {
    assert_eq!(
        code(o),
        want,
        "exit code\n--- stdout\n{}\n--- stderr\n{}",
        stdout(o),
        stderr(o)
    );
}

/// Runs the binary (with `--json`) and checks a refusal: exit 65, one of the refusal's reasons
/// (or, for a profile error, the error) holds `reason`, nothing mutating ran. Returns stderr.
#[track_caller]
pub fn expect_refused(f: &Fake, args: &[&str], reason: &str) -> String {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let o = f.run(&all);
    expect_code(&o, 65);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{}\n{}", stdout(&o), stderr(&o)));
    let said: Vec<String> = match r["refusal"]["reasons"].as_array() {
        Some(rs) => rs.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
        None => vec![r["error"].as_str().unwrap_or_default().to_string()],
    };
    assert!(
        said.iter().any(|x| x.contains(reason)),
        "reason `{reason}` missing from {said:#?}\n{}",
        stderr(&o)
    );
    assert!(
        f.mutating_calls().is_empty(),
        "refused run changed something: {:?}",
        f.mutating_calls()
    );
    stderr(&o)
}

/// The refusal of a run's `--json` report.
pub fn refusal(o: &Output) -> serde_json::Value {
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    r["refusal"].clone()
}

/// A blank disk that becomes an overlay2 volume: the LVM and wipefs reports before and after
/// the volume is made, and a fake `mount` that leaves the mountinfo line a real mount leaves (the
/// next round sees it mounted). Returns the mount point under the root.
pub fn overlay2_fresh_volume(f: &Fake) -> String {
    f.out_after("lvm", 1, &fixture("fullreport-blank.json"));
    f.out_after("wipefs", 1, &fixture("wipefs-blank.json"));
    f.out(
        "lvm",
        &lvm_report("overlay2-volume", |row| {
            if row.get("lv_attr").is_some() {
                row["lv_attr"] = "-wi-ao----".into();
            }
        }),
    );
    f.out("wipefs@vdb", &fixture("wipefs-pv.json"));
    f.out("wipefs@dockerdata", &fixture("wipefs-xfs.json"));
    let mp = format!("{}/var/lib/docker", f.root.display());
    std::fs::write(
        f.fake.join("bin/mount"),
        format!(
            "#!/bin/sh\necho \"mount $*\" >> \"$FAKE/calls\"\necho '30 1 253:0 / {mp} rw,relatime - xfs /dev/mapper/docker-dockerdata rw,prjquota' >> \"{}\"\n",
            f.root.join("proc/self/mountinfo").display()
        ),
    )
    .unwrap();
    mp
}

/// A manager's fake root for the broker: the fake engine, and the log's socket at ROOT/dev/log
/// (what the broker logs arrives there).
pub struct BrokerBed {
    pub f: Fake,
    pub e: FakeEngine,
    pub log: std::os::unix::net::UnixDatagram,
}

impl BrokerBed {
    pub fn new(f: Fake, e: FakeEngine) -> BrokerBed {
        fs::create_dir_all(f.root.join("dev")).unwrap();
        let log = std::os::unix::net::UnixDatagram::bind(f.root.join("dev/log")).unwrap();
        log.set_nonblocking(true).unwrap();
        BrokerBed { f, e, log }
    }

    /// The broker as sshd runs it, with the key line's forced-command `args`, for a client at
    /// `from` asking `request`.
    pub fn ask_with(&self, args: &[&str], from: &str, request: &str) -> Output {
        let conn = format!("{from} 40022 10.77.0.1 22");
        let mut a = vec!["broker"];
        a.extend(args);
        self.f.run_env(
            &a,
            &[
                ("SSH_ORIGINAL_COMMAND", request),
                ("SSH_CONNECTION", conn.as_str()),
            ],
        )
    }

    /// What the broker logged since the last call.
    pub fn logged(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut b = [0u8; 4096];
        while let Ok(n) = self.log.recv(&mut b) {
            out.push(String::from_utf8_lossy(&b[..n]).into_owned());
        }
        out
    }

    /// The requests that change something on the engine.
    pub fn changes(&self) -> Vec<String> {
        self.e
            .requests()
            .into_iter()
            .filter(|r| !r.starts_with("GET "))
            .collect()
    }
}
