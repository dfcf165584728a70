//! `backup`, `restore` and check's `swarm.managers` against a fake root and a fake engine: who
//! may stop (quorum, the leader, the only manager, a scheduled turn), what the plan shows, a run
//! that goes on after a stop, retention, and what restore refuses before anything changes. The
//! real copy, restore and kill are tier 3 (swarm-tests/backup.sh).

use crate::common::*;

const ME: &str = "jvby28rgzd1e3pg8flz6k7hj8";
const B: &str = "aaaaaaaaaaaaaaaaaaaaaaaab";
const C: &str = "bbbbbbbbbbbbbbbbbbbbbbbbc";

/// A manager entry of `GET /nodes`.
fn entry(id: &str, reach: &str, leader: bool, n: u8) -> String {
    format!(
        r#"{{"ID":"{id}","Description":{{"Hostname":"m{n}"}},"Spec":{{"Role":"manager","Availability":"active"}},"ManagerStatus":{{"Reachability":"{reach}","Leader":{leader},"Addr":"10.77.0.{n}:2377"}}}}"#
    )
}

/// This node a manager among `others` (their entries), with the fake engine's answers.
fn manager(others: &[String], me_leads: bool) -> (Fake, FakeEngine) {
    let f = Fake::new();
    f.out("systemctl", "active\n");
    let e = f.engine("info-manager.json");
    let mut all = vec![entry(ME, "reachable", me_leads, 1)];
    all.extend(others.iter().cloned());
    e.route("GET /nodes ", &[(200, &format!("[{}]", all.join(",")))]);
    e.route(
        "GET /swarm ",
        &[(
            200,
            r#"{"Spec":{"EncryptionConfig":{"AutoLockManagers":false}}}"#,
        )],
    );
    e.route("GET /containers/json", &[(200, "[]")]);
    e.route(
        &format!("GET /nodes/{ME} "),
        &[(200, &entry(ME, "reachable", me_leads, 1))],
    );
    e.route(&format!("POST /nodes/{ME}/update"), &[(200, "")]);
    (f, e)
}

fn three(reach_c: &str) -> Vec<String> {
    vec![entry(B, "reachable", true, 2), entry(C, reach_c, false, 3)]
}

#[test]
fn on_a_follower_the_plan_shows_the_backup_and_changes_nothing() {
    let (f, _e) = manager(&three("reachable"), false);
    let o = f.run(&["backup", "--plan"]);
    expect_code(&o, 0);
    let plan = stdout(&o);
    for want in [
        "3 managers, 2 reachable besides this one; quorum is 2",
        "the others keep quorum",
        "mkdir  /var/backups/swarmnode (0700)",
        "write  /var/lib/swarmnode/backup.json",
        "run    systemctl stop docker.socket docker.service",
        "when the backup is taken: once docker is stopped: docker's swarm/ and the manifest archived",
        "docker started; this manager waited for",
    ] {
        assert!(plan.contains(want), "{want:?} not in\n{plan}");
    }
    assert!(changes(&f).is_empty(), "{:?}", changes(&f));
    assert!(f.read("var/lib/swarmnode/backup.json").is_none());
}

#[test]
fn the_leader_is_refused_with_a_follower_named() {
    let others = vec![
        entry(B, "reachable", false, 2),
        entry(C, "reachable", false, 3),
    ];
    let (f, _e) = manager(&others, true);
    let err = expect_refused(&f, &["backup"], "it is the swarm's leader");
    assert!(
        err.contains(&format!("run backup on manager m2 ({B}, 10.77.0.2:2377)")),
        "{err}"
    );
    // Not with --force either: a follower is there, and the leader's stop forces an election.
    expect_refused(&f, &["backup", "--force"], "it is the swarm's leader");
    assert!(changes(&f).is_empty(), "{:?}", changes(&f));
}

#[test]
fn a_backup_that_would_lose_quorum_is_refused_even_with_force() {
    let (f, _e) = manager(&three("unreachable"), false);
    expect_refused(
        &f,
        &["backup"],
        "1 of 3 managers would be reachable, and the swarm needs 2",
    );
    expect_refused(&f, &["backup", "--force"], "it would lose quorum");
}

#[test]
fn the_only_manager_needs_force() {
    let (f, _e) = manager(&[], true);
    expect_refused(&f, &["backup"], "it is the swarm's only manager");
    let o = f.run(&["backup", "--plan", "--force"]);
    expect_code(&o, 0);
    assert!(
        stderr(&o).contains("--force: the swarm's only manager stops for the backup: its containers stop, and nothing is scheduled, updated or joined until docker is back"),
        "{}",
        stderr(&o)
    );
    // The timer never stops it.
    let o = f.run(&["backup", "--scheduled"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("a scheduled backup would stop it"),
        "{}",
        stdout(&o)
    );
    assert!(changes(&f).is_empty(), "{:?}", changes(&f));
}

#[test]
fn a_scheduled_backup_runs_on_the_first_follower_only() {
    // Followers ME (jvby...) and C (bbbb...): C is first by ID, so not this one.
    let (f, _e) = manager(&three("reachable"), false);
    let o = f.run(&["backup", "--scheduled"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains(&format!("manager {C} takes the scheduled backup")),
        "{}",
        stdout(&o)
    );
    assert!(changes(&f).is_empty(), "{:?}", changes(&f));
    // A worker: nothing to back up, exit 0; by hand it is refused.
    let w = Fake::new();
    let _e = w.engine("info-worker.json");
    let o = w.run(&["backup", "--scheduled"]);
    expect_code(&o, 0);
    assert!(stdout(&o).contains("nothing to back up"), "{}", stdout(&o));
    expect_refused(&w, &["backup"], "is not a manager of a swarm");
}

fn manifest(archive: &str) -> String {
    format!(
        r#"{{"taken": 1796470200, "swarm_id": "o1wsdfxhv4hwgqjk5d4w35lqg", "node_id": "{ME}", "node_name": "psw-n1", "node_addr": "127.0.0.1", "managers": ["127.0.0.1:9"], "engine_version": "20.10.24+dfsg1", "autolock": false, "docker_root": "/var/lib/docker", "archive": "{archive}"}}"#
    )
}

#[test]
fn a_backup_stopped_with_docker_stopped_is_finished_by_the_next_run() {
    let f = Fake::new();
    let archive = format!("/var/backups/swarmnode/swarm-20261205T113000Z-{ME}.tar.gz");
    f.file("var/lib/swarmnode/backup.json", &manifest(&archive));
    f.file(&format!("{}.partial", &archive[1..]), "half");
    // No engine answers: docker is stopped.
    let o = f.run(&["backup", "--plan"]);
    expect_code(&o, 0);
    let plan = stdout(&o) + &stderr(&o);
    for want in [
        "did not finish, and docker was left stopped: this run finishes it, then starts docker",
        &format!("remove {archive}.partial"),
        "run    install -m 0600 /dev/null",
        "run    tar --create --gzip --file",
        "run    tar --list --gzip --file",
        &format!("rename {archive}.partial -> {archive}"),
        "run    systemctl start docker",
        &format!("wait up to 180 s for manager {ME} to be reachable again, with a leader"),
    ] {
        assert!(plan.contains(want), "{want:?} not in\n{plan}");
    }
    assert!(changes(&f).is_empty(), "{:?}", changes(&f));
}

#[test]
fn a_finished_archive_is_kept_and_only_this_nodes_oldest_are_removed() {
    let (f, _e) = manager(&three("reachable"), false);
    let dir = "var/backups/swarmnode";
    let name = |stamp: &str, id: &str| format!("swarm-{stamp}-{id}.tar.gz");
    let newest = name("20261205T113000Z", ME);
    for n in [
        name("20261201T000000Z", ME),
        name("20261202T000000Z", ME),
        name("20261203T000000Z", ME),
        name("20261101T000000Z", B),
        newest.clone(),
    ] {
        f.file(&format!("{dir}/{n}"), "x");
    }
    f.file("etc/swarmnode/profile.json", r#"{"backup": {"keep": 2}}"#);
    f.file(
        "var/lib/swarmnode/backup.json",
        &manifest(&format!("/{dir}/{newest}")),
    );
    let o = f.run(&["backup"]);
    expect_code(&o, 0);
    let out = stdout(&o) + &stderr(&o);
    assert!(
        out.contains("its archive is written, and docker runs again"),
        "{out}"
    );
    let left: Vec<String> = std::fs::read_dir(f.root.join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut left = left;
    left.sort();
    assert_eq!(
        left,
        [
            name("20261101T000000Z", B),
            name("20261203T000000Z", ME),
            newest
        ]
    );
    assert!(f.read("var/lib/swarmnode/backup.json").is_none());
    assert!(
        changes(&f).is_empty(),
        "docker was not touched: {:?}",
        changes(&f)
    );
}

#[test]
fn a_backup_record_that_is_not_one_is_refused() {
    let (f, _e) = manager(&three("reachable"), false);
    f.file(
        "var/lib/swarmnode/backup.json",
        &manifest("/var/backups/../../etc/shadow"),
    );
    expect_refused(&f, &["backup"], "is not a normalised absolute path");
}

/// An archive root's alone, with `tar`'s answers: its listing, then its manifest.
fn archive(f: &Fake, listing: &str) -> String {
    let dir = f.tmp.path().join("restore");
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join("swarm-20261205T113000Z-jvby28rgzd1e3pg8flz6k7hj8.tar.gz");
    std::fs::write(&path, "x").unwrap();
    f.out(
        &format!("tar@{}", path.file_name().unwrap().to_str().unwrap()),
        listing,
    );
    f.out(
        "tar@backup.json",
        &manifest("/var/backups/swarmnode/x.tar.gz"),
    );
    path.display().to_string()
}

const LISTING: &str = "drwx------ root/root         0 2026-12-05 11:30 swarm/\n\
                       -rw------- root/root       123 2026-12-05 11:30 swarm/docker-state.json\n\
                       -rw------- root/root       456 2026-12-05 11:30 backup.json\n";

#[test]
fn restore_shows_what_it_would_do_on_an_engine_with_no_swarm() {
    let f = Fake::new();
    let _e = f.engine("info-inactive.json");
    let a = archive(&f, LISTING);
    let o = f.run(&["restore", "--plan", &a]);
    expect_code(&o, 0);
    let plan = stdout(&o);
    for want in [
        "the archive: swarm o1wsdfxhv4hwgqjk5d4w35lqg, taken",
        "write  /var/lib/swarmnode/restore.json",
        "run    systemctl stop docker.socket docker.service",
        "once docker is stopped: the archive's swarm/ extracted",
        "ForceNewCluster",
        "the re-formed swarm's manager advertises 127.0.0.1",
    ] {
        assert!(plan.contains(want), "{want:?} not in\n{plan}");
    }
    assert!(changes(&f).is_empty(), "{:?}", changes(&f));
}

/// Every command a backup or a restore runs while docker may be stopped has a bound, said in
/// the plan (a hung systemctl or tar must not keep a manager down for ever).
#[test]
fn every_command_of_a_backup_and_a_restore_has_a_bound() {
    let mut runs = Vec::new();
    // A backup: the first phase, then one stopped with docker stopped (archive and start).
    let (f, _e) = manager(&three("reachable"), false);
    runs.push(stdout(&f.run(&["backup", "--plan"])));
    let f = Fake::new();
    let kept = format!("/var/backups/swarmnode/swarm-20261205T113000Z-{ME}.tar.gz");
    f.file("var/lib/swarmnode/backup.json", &manifest(&kept));
    f.file(&format!("{}.partial", &kept[1..]), "half");
    runs.push(stdout(&f.run(&["backup", "--plan"])));
    // A restore: the first phase, then one stopped with its staging half extracted.
    let f = Fake::new();
    let _e = f.engine("info-inactive.json");
    let a = archive(&f, LISTING);
    runs.push(stdout(&f.run(&["restore", "--plan", &a])));
    let rec = format!(
        r#"{{"archive": "{a}", "node_id": "{ME}", "docker_root": "/var/lib/docker", "placed": false, "reformed": false, "advertise_addr": null}}"#
    );
    let f2 = Fake::new();
    let a2 = archive(&f2, LISTING);
    f2.file("var/lib/swarmnode/restore.json", &rec.replace(&a, &a2));
    f2.file("var/lib/docker/swarm.swarmnode-restore/swarm/x", "half");
    runs.push(stdout(&f2.run(&["restore", "--plan", &a2])));
    let lines: Vec<&str> = runs
        .iter()
        .flat_map(|p| p.lines())
        .filter(|l| l.trim_start().starts_with("run    "))
        .collect();
    for want in [
        "systemctl stop",
        "tar --create",
        "tar --list",
        "systemctl start",
        "tar --extract",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(want)),
            "no {want:?} in the plans:\n{}",
            runs.join("\n---\n")
        );
    }
    for l in &lines {
        assert!(l.contains(" (stopped after "), "without a bound: {l}");
    }
}

#[test]
fn restore_refuses_a_docker_in_a_swarm_and_a_doubtful_archive() {
    let f = Fake::new();
    let e = f.engine("info-manager.json");
    let a = archive(&f, LISTING);
    expect_refused(&f, &["restore", &a], "docker here holds a swarm");
    e.route("GET /info ", &[(200, &info("info-inactive.json"))]);
    for bad in [
        "lrwxrwxrwx root/root 0 2026-12-05 11:30 swarm/x -> /etc/shadow\n",
        "-rw------- root/root 1 2026-12-05 11:30 swarm/../../etc/cron.d/x\n",
    ] {
        f.out(
            "tar@swarm-20261205T113000Z-jvby28rgzd1e3pg8flz6k7hj8.tar.gz",
            &format!("{LISTING}{bad}"),
        );
        expect_refused(&f, &["restore", &a], "belong in a backup");
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o646)).unwrap();
    f.out(
        "tar@swarm-20261205T113000Z-jvby28rgzd1e3pg8flz6k7hj8.tar.gz",
        LISTING,
    );
    expect_refused(&f, &["restore", &a], "others could change it");
}

fn check_managers(others: &[String], me_leads: bool) -> serde_json::Value {
    check_as(others, me_leads, "json")
}

/// check's output on this manager, in a format; JSON: the swarm.managers item.
fn check_as(others: &[String], me_leads: bool, format: &str) -> serde_json::Value {
    let (f, _e) = manager(others, me_leads);
    f.file("etc/swarmnode/profile.json", r#"{"backup": {}}"#);
    if format != "json" {
        return stdout(&f.run(&["check", "--format", format])).into();
    }
    check_item(&f, "swarm.managers").1
}

/// `check --format json` in `f`: the whole answer, and its item `name`.
fn check_item(f: &Fake, name: &str) -> (serde_json::Value, serde_json::Value) {
    let o = f.run(&["check", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&o), stderr(&o)));
    let i = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["check"] == name)
        .unwrap_or_else(|| panic!("no {name} in {v}"))
        .clone();
    (v, i)
}

/// check's Xymon message and Prometheus text in `f`.
fn xymon_and_prometheus(f: &Fake) -> (String, String) {
    let x = stdout(&f.run(&["check", "--format", "xymon"]));
    (x, stdout(&f.run(&["check", "--format", "prometheus"])))
}

/// Three managers, all reachable, none the leader (an election under way).
fn leaderless() -> Vec<String> {
    vec![
        entry(B, "reachable", false, 2),
        entry(C, "reachable", false, 3),
    ]
}

#[test]
fn check_judges_the_managers() {
    let i = check_managers(&three("reachable"), false);
    // Green: C's turn (the first follower by ID), so this one's backups are not judged.
    assert_eq!(i["status"], "green", "{i}");
    assert!(
        i["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("scheduled backups are taken on manager {C}")),
        "{i}"
    );
    let i = check_managers(&three("unreachable"), false);
    assert_eq!(i["status"], "yellow", "{i}");
    let i = check_managers(&[entry(B, "reachable", false, 2)], true);
    assert_eq!(i["status"], "yellow", "two managers is even: {i}");
    let i = check_managers(
        &[
            entry(B, "unreachable", false, 2),
            entry(C, "unreachable", false, 3),
        ],
        false,
    );
    assert_eq!(i["status"], "red", "{i}");
    // The same in the Xymon message and the Prometheus gauges.
    let red = [
        entry(B, "unreachable", false, 2),
        entry(C, "unreachable", false, 3),
    ];
    let x = check_as(&red, false, "xymon");
    assert!(
        x.as_str()
            .unwrap()
            .lines()
            .any(|l| l
                .starts_with("&red swarm.managers: 3 managers, 1 reachable (quorum 2); no leader")),
        "{x}"
    );
    let prom = check_as(&red, false, "prometheus");
    for want in [
        "swarmnode_swarm_managers 3",
        "swarmnode_swarm_managers_reachable 1",
        "swarmnode_swarm_leader 0",
    ] {
        assert!(
            prom.as_str().unwrap().lines().any(|l| l == want),
            "{want} not in {prom}"
        );
    }
    // The only manager: it is its turn, and no backup is there yet.
    let i = check_managers(&[], true);
    assert_eq!(i["status"], "yellow", "{i}");
    assert!(
        i["details"]
            .to_string()
            .contains("no backup in /var/backups/swarmnode yet"),
        "{i}"
    );
}

/// The only manager, whose turn it always is: its newest backup judged against backup.interval
/// (1d): yellow past twice it, green within it, in JSON, Xymon and Prometheus. Only archives
/// that are files count.
#[test]
fn check_says_when_the_newest_backup_is_older_than_twice_the_interval() {
    use swarmnode::host::swarm::backup::archive_name;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (f, _e) = manager(&[], true);
    f.file(
        "etc/swarmnode/profile.json",
        r#"{"backup": {"interval": "1d"}}"#,
    );
    let dir = "var/backups/swarmnode";
    f.file(
        &format!("{dir}/{}", archive_name(now - 3 * 86_400, ME)),
        "x",
    );
    // Newer names that are not files: a directory and a link.
    std::fs::create_dir_all(f.root.join(dir).join(archive_name(now - 60, ME))).unwrap();
    std::os::unix::fs::symlink(
        "/etc/hostname",
        f.root.join(dir).join(archive_name(now - 30, B)),
    )
    .unwrap();
    let item = |f: &Fake| check_item(f, "swarm.managers").1;
    let i = item(&f);
    assert_eq!(i["status"], "yellow", "{i}");
    assert!(i["summary"].as_str().unwrap().contains("(72 h old)"), "{i}");
    assert!(
        i["details"]
            .to_string()
            .contains("the newest backup is older than twice backup.interval (48 h)"),
        "{i}"
    );
    let (x, prom) = xymon_and_prometheus(&f);
    assert!(
        x.lines()
            .any(|l| l.starts_with("&yellow swarm.managers: 1 managers")),
        "{x}"
    );
    let age: f64 = prom
        .lines()
        .find_map(|l| l.strip_prefix("swarmnode_backup_age_seconds "))
        .unwrap_or_else(|| panic!("no age gauge in {prom}"))
        .parse()
        .unwrap();
    assert!(
        (3.0 * 86_400.0..3.0 * 86_400.0 + 600.0).contains(&age),
        "{age}"
    );
    // A backup an hour old: green.
    f.file(&format!("{dir}/{}", archive_name(now - 3600, ME)), "x");
    let i = item(&f);
    assert_eq!(i["status"], "green", "{i}");
    assert!(i["summary"].as_str().unwrap().contains("(1 h old)"), "{i}");
}

#[test]
fn a_backup_record_left_while_docker_runs_again_starts_afresh() {
    // Stopped midway, then docker started at boot: the archive was never written.
    let (f, _e) = manager(&three("reachable"), false);
    f.file(
        "var/lib/swarmnode/backup.json",
        &manifest(&format!(
            "/var/backups/swarmnode/swarm-20261205T113000Z-{ME}.tar.gz"
        )),
    );
    let o = f.run(&["backup", "--plan"]);
    expect_code(&o, 0);
    let out = stdout(&o) + &stderr(&o);
    assert!(
        out.contains(
            "docker runs again (started since, at boot or by hand): a new backup is taken"
        ),
        "{out}"
    );
    assert!(
        out.contains("remove /var/lib/swarmnode/backup.json"),
        "{out}"
    );
    assert!(changes(&f).is_empty(), "{:?}", changes(&f));
}

#[test]
fn a_restore_under_way_goes_on_with_its_own_archive_only() {
    let f = Fake::new();
    let _e = f.engine("info-manager.json");
    let a = archive(&f, LISTING);
    let rec = |path: &str| {
        format!(
            r#"{{"archive": "{path}", "node_id": "{ME}", "docker_root": "/var/lib/docker", "placed": true, "reformed": false, "advertise_addr": null}}"#
        )
    };
    f.file("var/lib/swarmnode/restore.json", &rec("/root/other.tar.gz"));
    expect_refused(
        &f,
        &["restore", &a],
        "a restore of /root/other.tar.gz is under way",
    );
    // Its own archive: it goes on, though docker now holds the swarm being restored.
    f.file("var/lib/swarmnode/restore.json", &rec(&a));
    let o = f.run(&["restore", "--plan", &a]);
    expect_code(&o, 0);
    let plan = stdout(&o);
    assert!(plan.contains("is under way: it goes on"), "{plan}");
    assert!(
        plan.contains("POST /swarm/init with ForceNewCluster"),
        "{plan}"
    );
}

#[test]
fn a_backup_that_fails_after_docker_stopped_starts_docker_again() {
    let f = Fake::new();
    let archive = format!("/var/backups/swarmnode/swarm-20261205T113000Z-{ME}.tar.gz");
    f.file("var/lib/swarmnode/backup.json", &manifest(&archive));
    f.file("var/backups/swarmnode/.keep", "");
    f.rc("tar", 2, "tar: write error: No space left on device");
    // No engine answers: docker was stopped by the run that wrote the record.
    let o = f.run(&["backup"]);
    expect_code(&o, 1);
    let calls = changes(&f);
    let tar = calls
        .iter()
        .position(|c| c.starts_with("tar --create"))
        .expect("tar ran");
    let start = calls
        .iter()
        .position(|c| c == "systemctl start docker")
        .unwrap_or_else(|| panic!("docker not started again: {calls:?}"));
    assert!(start > tar, "{calls:?}");
    assert!(
        stderr(&o).contains("docker was started again"),
        "{}",
        stderr(&o)
    );
    assert!(
        f.read("var/lib/swarmnode/backup.json").is_some(),
        "the record stays for the next run"
    );
}

#[test]
fn restore_refuses_an_archive_whose_files_others_could_write_or_set_id() {
    let f = Fake::new();
    let _e = f.engine("info-inactive.json");
    let a = archive(&f, LISTING);
    for bad in [
        "-rwsr-xr-x 0/0 1 2026-12-05 11:30 swarm/x\n",
        "-rw-rw-rw- 0/0 1 2026-12-05 11:30 swarm/x\n",
        "drwxrwxrwt 0/0 0 2026-12-05 11:30 swarm/tmp/\n",
    ] {
        f.out(
            "tar@swarm-20261205T113000Z-jvby28rgzd1e3pg8flz6k7hj8.tar.gz",
            &format!("{LISTING}{bad}"),
        );
        expect_refused(
            &f,
            &["restore", &a],
            "a set-id bit, or a mode others could write",
        );
    }
}

#[test]
fn restore_refuses_while_a_manager_of_the_archived_swarm_answers() {
    let f = Fake::new();
    let _e = f.engine("info-inactive.json");
    let a = archive(&f, LISTING);
    let alive = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = alive.local_addr().unwrap().to_string();
    f.out(
        "tar@backup.json",
        &manifest("/var/backups/swarmnode/x.tar.gz").replace("127.0.0.1:9", &addr),
    );
    expect_refused(&f, &["restore", &a], "still answers on its swarm port");
    let o = f.run(&["restore", "--plan", "--force", &a]);
    expect_code(&o, 0);
}

#[test]
fn an_autolocked_swarm_is_backed_up_only_by_hand_with_force() {
    let z = "zzzzzzzzzzzzzzzzzzzzzzzzz";
    let others = vec![
        entry(B, "reachable", true, 2),
        entry(z, "reachable", false, 3),
    ];
    let (f, e) = manager(&others, false);
    e.route(
        "GET /swarm ",
        &[(
            200,
            r#"{"Spec":{"EncryptionConfig":{"AutoLockManagers":true}}}"#,
        )],
    );
    expect_refused(&f, &["backup"], "the swarm is autolocked");
    // The timer, on the follower whose turn it is: says so, changes nothing.
    let o = f.run(&["backup", "--scheduled"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("scheduled backups are not taken"),
        "{}",
        stdout(&o)
    );
    assert!(changes(&f).is_empty(), "{:?}", changes(&f));
    let o = f.run(&["backup", "--plan", "--force"]);
    expect_code(&o, 0);
    assert!(
        stderr(&o).contains("--force: the swarm is autolocked"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_manager_whose_claim_comes_second_backs_off_before_docker_stops() {
    // C claimed a backup a minute ago (the timer, say): this run, by hand, claims, sees it, takes
    // its claim back and is refused before anything else.
    let recent = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 60;
    let c = entry(C, "reachable", false, 3).replace(
        r#""Spec":{"Role":"manager""#,
        &format!(r#""Spec":{{"Labels":{{"swarmnode.backup":"{recent}"}},"Role":"manager""#),
    );
    let (f, e) = manager(&[entry(B, "reachable", true, 2), c], false);
    let err = expect_refused(&f, &["backup"], &format!("manager {C} claimed a backup at"));
    assert!(err.contains("two managers never stop at once"), "{err}");
    let updates: Vec<String> = e
        .bodies
        .lock()
        .unwrap()
        .iter()
        .filter(|b| b.contains("\"Role\""))
        .cloned()
        .collect();
    assert_eq!(
        updates.len(),
        2,
        "the claim set, then taken back: {updates:?}"
    );
    assert!(updates[0].contains("swarmnode.backup"), "{}", updates[0]);
    assert!(!updates[1].contains("swarmnode.backup"), "{}", updates[1]);
    assert!(f.read("var/lib/swarmnode/backup.json").is_none());
}

#[test]
fn a_backup_record_naming_an_archive_elsewhere_is_refused() {
    // A well-formed manifest, but its archive is not in backup.directory: tar would write there
    // and retention remove there.
    let (f, _e) = manager(&three("reachable"), false);
    f.file(
        "var/lib/swarmnode/backup.json",
        &manifest(&format!("/etc/cron.d/swarm-20261205T113000Z-{ME}.tar.gz")),
    );
    expect_refused(
        &f,
        &["backup"],
        "its archive is not /var/backups/swarmnode/swarm-20261205T113000Z-",
    );
    // The same name in the directory of the profile's backup section is this node's.
    f.file(
        "etc/swarmnode/profile.json",
        r#"{"backup": {"directory": "/etc/cron.d"}}"#,
    );
    let o = f.run(&["backup", "--plan"]);
    expect_code(&o, 0);
}

#[test]
fn a_finished_restore_forgets_what_was_recorded_of_the_swarm_before() {
    let f = Fake::new();
    let e = f.engine("info-manager.json");
    for what in ["services", "secrets", "configs", "networks", "nodes"] {
        e.route(&format!("GET /{what}"), &[(200, "[]")]);
    }
    e.route("GET /swarm ", &[(200, "{}")]);
    let a = archive(&f, LISTING);
    f.file(
        "var/lib/swarmnode/restore.json",
        &format!(
            r#"{{"archive": "{a}", "node_id": "{ME}", "docker_root": "/var/lib/docker", "placed": true, "reformed": true, "advertise_addr": null}}"#
        ),
    );
    let digest = "0".repeat(64);
    f.file("var/lib/swarmnode/labelled", &format!("{ME} {digest}\n"));
    f.file("var/lib/swarmnode/stale.asked", &format!("{ME}\n"));
    let o = f.run(&["restore", "--plan", &a]);
    expect_code(&o, 0);
    let plan = stdout(&o);
    for want in [
        "remove /var/lib/swarmnode/labelled",
        "remove /var/lib/swarmnode/stale.asked",
        "remove /var/lib/swarmnode/restore.json",
    ] {
        assert!(plan.contains(want), "{want:?} not in\n{plan}");
    }
    let o = f.run(&["restore", &a]);
    expect_code(&o, 0);
    for gone in ["labelled", "stale.asked", "restore.json"] {
        assert!(
            f.read(&format!("var/lib/swarmnode/{gone}")).is_none(),
            "{gone} is left: {}",
            stderr(&o)
        );
    }
}

/// The end of a restore: what the re-formed swarm holds, by name, and what to do next; with
/// autolock on, that every manager restart needs the unlock key.
#[test]
fn a_restore_says_what_it_restored_and_what_to_do_next() {
    let f = Fake::new();
    let e = f.engine("info-manager.json");
    e.route("GET /services", &[(200, r#"[{"Spec":{"Name":"web"}}]"#)]);
    e.route("GET /secrets", &[(200, r#"[{"Spec":{"Name":"db_pass"}}]"#)]);
    e.route("GET /configs", &[(200, r#"[{"Spec":{"Name":"app_cfg"}}]"#)]);
    e.route(
        "GET /networks",
        &[(200, r#"[{"Name":"appnet"},{"Name":"ingress"}]"#)],
    );
    e.route(
        "GET /nodes",
        &[(
            200,
            &format!(
                "[{},{}]",
                entry(ME, "reachable", true, 1),
                entry(B, "unreachable", false, 2)
            ),
        )],
    );
    e.route(
        "GET /swarm ",
        &[(
            200,
            r#"{"Spec":{"EncryptionConfig":{"AutoLockManagers":true}}}"#,
        )],
    );
    let a = archive(&f, LISTING);
    f.file(
        "var/lib/swarmnode/restore.json",
        &format!(
            r#"{{"archive": "{a}", "node_id": "{ME}", "docker_root": "/var/lib/docker", "placed": true, "reformed": true, "advertise_addr": null}}"#
        ),
    );
    let o = f.run(&["restore", &a]);
    expect_code(&o, 0);
    let out = stdout(&o) + &stderr(&o);
    for want in [
        "services 1 (web); secrets 1 (db_pass); configs 1 (app_cfg); swarm networks 2 (appnet, ingress); nodes 2 (m1, m2)",
        "rotate the join tokens",
        "add managers until there are three (on each: `docker swarm leave --force`, then `swarmnode join` with a manager profile)",
        "autolock is on: every manager that restarts needs the unlock key",
    ] {
        assert!(out.contains(want), "{want:?} not in\n{out}");
    }
    // Without autolock, nothing said of it.
    f.file(
        "var/lib/swarmnode/restore.json",
        &format!(
            r#"{{"archive": "{a}", "node_id": "{ME}", "docker_root": "/var/lib/docker", "placed": true, "reformed": true, "advertise_addr": null}}"#
        ),
    );
    e.route(
        "GET /swarm ",
        &[(
            200,
            r#"{"Spec":{"EncryptionConfig":{"AutoLockManagers":false}}}"#,
        )],
    );
    let out = {
        let o = f.run(&["restore", &a]);
        expect_code(&o, 0);
        stdout(&o) + &stderr(&o)
    };
    assert!(out.contains("rotate the join tokens"), "{out}");
    assert!(!out.contains("autolock"), "{out}");
}

/// A run stopped right after docker started again: docker runs, but the swarm has no leader yet.
/// The next run waits until this manager is reachable with a leader before the backup counts.
#[test]
fn a_backup_resumed_with_docker_running_waits_for_a_leader_before_it_counts() {
    let (f, e) = manager(&leaderless(), false);
    let kept = format!("/var/backups/swarmnode/swarm-20261205T113000Z-{ME}.tar.gz");
    f.file("var/lib/swarmnode/backup.json", &manifest(&kept));
    f.file(&kept[1..], "the archive");
    let o = f.run(&["backup", "--plan"]);
    expect_code(&o, 0);
    let plan = stdout(&o);
    assert!(
        plan.contains(&format!(
            "wait up to 180 s for manager {ME} to be reachable again, with a leader"
        )),
        "{plan}"
    );
    assert!(
        !plan.contains("remove /var/lib/swarmnode/backup.json"),
        "{plan}"
    );
    // With a leader: it finishes.
    let all = [
        entry(ME, "reachable", false, 1),
        entry(B, "reachable", true, 2),
        entry(C, "reachable", false, 3),
    ];
    e.route("GET /nodes ", &[(200, &format!("[{}]", all.join(",")))]);
    let plan = stdout(&f.run(&["backup", "--plan"]));
    assert!(
        plan.contains("remove /var/lib/swarmnode/backup.json"),
        "{plan}"
    );
    assert!(!plan.contains("wait up to 180 s"), "{plan}");
}

/// No leader (an election under way): quorum alone is not enough to stop a manager. Temporary
/// (75), nothing changed, with or without --force.
#[test]
fn a_backup_while_the_swarm_has_no_leader_waits_for_one() {
    let (f, _e) = manager(&leaderless(), false);
    for args in [&["backup"][..], &["backup", "--force"][..]] {
        let o = f.run(args);
        expect_code(&o, 75);
        assert!(
            stderr(&o).contains("the swarm has no leader now (an election?)"),
            "{}",
            stderr(&o)
        );
        assert!(changes(&f).is_empty(), "{:?}", changes(&f));
        assert!(f.read("var/lib/swarmnode/backup.json").is_none());
    }
}

/// Quorum lost for real: docker answers `GET /nodes` with 503, "does not have a leader". check
/// says so, red, with the gauges this engine knows (the managers' count, no leader), in every
/// format.
#[test]
fn check_on_a_manager_whose_swarm_lost_quorum_says_so_with_its_gauges() {
    let (f, e) = manager(&three("reachable"), false);
    f.file("etc/swarmnode/profile.json", r#"{"backup": {}}"#);
    e.route(
        "GET /nodes ",
        &[(
            503,
            r#"{"message":"rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online."}"#,
        )],
    );
    let (_, i) = check_item(&f, "swarm.managers");
    assert_eq!(i["status"], "red", "{i}");
    assert!(
        i["summary"]
            .as_str()
            .unwrap()
            .contains("no leader: the swarm has lost quorum"),
        "{i}"
    );
    let (x, prom) = xymon_and_prometheus(&f);
    assert!(
        x.lines()
            .any(|l| l.starts_with("&red swarm.managers: 1 managers; no leader")),
        "{x}"
    );
    for want in ["swarmnode_swarm_leader 0", "swarmnode_swarm_managers 1"] {
        assert!(prom.lines().any(|l| l == want), "{want} not in {prom}");
    }
    // As docker answers without a leader: no count of managers, the peers it knows still listed.
    let peers: Vec<serde_json::Value> = [ME, B, C]
        .iter()
        .enumerate()
        .map(|(i, id)| serde_json::json!({"NodeID": id, "Addr": format!("10.77.0.{}:2377", i + 1)}))
        .collect();
    e.route(
        "GET /info ",
        &[(
            200,
            &info_with(
                "info-manager.json",
                &[
                    ("Managers", serde_json::json!(0)),
                    ("Nodes", serde_json::json!(0)),
                    ("RemoteManagers", serde_json::Value::Array(peers)),
                ],
            ),
        )],
    );
    let prom = stdout(&f.run(&["check", "--format", "prometheus"]));
    for want in ["swarmnode_swarm_leader 0", "swarmnode_swarm_managers 3"] {
        assert!(prom.lines().any(|l| l == want), "{want} not in {prom}");
    }
}

/// A manager profile with a backup section and no swarm section: docker not answering is red
/// (it was `clear`, as if the node had nothing to check).
#[test]
fn check_with_a_backup_section_and_docker_away_is_red() {
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", r#"{"backup": {}}"#);
    let (v, i) = check_item(&f, "swarm.local");
    assert_eq!(v["status"], "red", "{v}");
    assert_eq!(i["status"], "red", "{i}");
    assert!(
        i["summary"].as_str().unwrap().starts_with("cannot check:"),
        "{i}"
    );
}

/// A restore run again while docker is still locked on the restored state: refused (65), and
/// nothing changed in this run (the run that started docker locked exits 1: tier 3).
#[test]
fn a_restore_finding_docker_locked_refuses_and_says_to_unlock() {
    let f = Fake::new();
    let e = f.engine("info-manager.json");
    e.route(
        "GET /info ",
        &[(
            200,
            &info_with(
                "info-manager.json",
                &[("LocalNodeState", serde_json::json!("locked"))],
            ),
        )],
    );
    let a = archive(&f, LISTING);
    f.file(
        "var/lib/swarmnode/restore.json",
        &format!(
            r#"{{"archive": "{a}", "node_id": "{ME}", "docker_root": "/var/lib/docker", "placed": true, "reformed": false, "advertise_addr": null}}"#
        ),
    );
    let err = expect_refused(&f, &["restore", &a], "the restored swarm is autolocked");
    assert!(err.contains("docker swarm unlock"), "{err}");
    assert!(changes(&f).is_empty(), "{:?}", changes(&f));
}
