//! The broker's keys (issue 28) against a fake root and a fake manager engine: the key lines
//! sshd gets at each login (`broker authorized-keys`), what a bootstrap key and a node's own key
//! may ask (the forced command's arguments name the caller), and root's `bootstrap`, `keys` and
//! `revoke`.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;

const ID: &str = "l8s526d06sna2jckb05a27o7r";
const OTHER: &str = "oooooooooooooooooooooooo1";
const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHP4NVXQOzetSTmtlHWvak0XNxsW7bROPPkR4m3kISSq";
/// `ssh-keygen -lf` of KEY.
const FP: &str = "SHA256:Acefeicbs8z1jf3noyp6Au4sL7eUBPGPfkvZDe0U/gs";
/// Another key (`ssh-keygen -t ed25519`), and its fingerprint.
const KEY2: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILtv/mH/hRrsgbaDsBzKre1XG3B2u2eDCSyE1h1d4it0";
const FP2: &str = "SHA256:sBNj/M4uIhXbE+O5nmgZIvVm0zlCgbRsm+WyM9exhoE";
const CONFIG: &str = r#"{"user": "swarmnode-broker", "labels": {"function": ["production", "test"]}, "networks": ["10.77.0.0/24"]}"#;
const TOKEN: &str =
    "SWMTKN-1-0ntb7o7jfldybt5d7v2mgz72ey7iuk4u66b360u4icoonygl53-0123456789abcdefghijklmno";

fn b64(s: &str) -> String {
    use std::io::Write;
    let mut c = std::process::Command::new("base64")
        .arg("-w0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap()
}

/// One config as `GET /configs` gives it (the shape docker 24 answers with).
fn config(id: &str, name: &str, labels: &[(&str, &str)], data: &str) -> serde_json::Value {
    let l: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    serde_json::json!({"ID": id, "Version": {"Index": 12},
        "CreatedAt": "2026-12-05T11:30:00.0Z", "UpdatedAt": "2026-12-05T11:30:00.0Z",
        "Spec": {"Name": name, "Labels": l, "Data": b64(data)}})
}

fn bootstrap_config(id: &str, key: &str, expires: u64) -> serde_json::Value {
    let e = expires.to_string();
    config(
        id,
        &format!("swarmnode-bootstrap-{id}"),
        &[
            ("swarmnode.kind", "bootstrap"),
            ("swarmnode.created", "1796470200"),
            ("swarmnode.expires", &e),
        ],
        &format!("{key}\n"),
    )
}

fn node_config(id: &str, node: &str, key: &str) -> serde_json::Value {
    config(
        id,
        &format!("swarmnode-node-{node}"),
        &[
            ("swarmnode.kind", "node"),
            ("swarmnode.node", node),
            ("swarmnode.hostname", "psw-n2"),
            ("swarmnode.addr", "10.77.0.2"),
            ("swarmnode.created", "1796470200"),
        ],
        &format!("{key}\n"),
    )
}

fn host_config(id: &str, node: &str, addr: &str, host: &str, port: &str) -> serde_json::Value {
    config(
        id,
        &format!("swarmnode-hostkeys-{node}-0011223344556677"),
        &[
            ("swarmnode.kind", "hostkeys"),
            ("swarmnode.node", node),
            ("swarmnode.hostname", host),
            ("swarmnode.addr", addr),
            ("swarmnode.port", port),
            ("swarmnode.created", "1796470200"),
        ],
        &format!("{KEY2}\n"),
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The node entry as the engine's API gives it (at 10.77.0.2), with its state.
fn entry(id: &str, state: &str) -> serde_json::Value {
    let t = std::fs::read_to_string(format!("{DOCKER_FIX}/node-inspect.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&t).unwrap();
    v[0]["ID"] = id.into();
    v[0]["Status"]["State"] = state.into();
    v[0].clone()
}

type Manager = BrokerBed;

/// A manager with the broker's config, a fake engine that knows node ID (at 10.77.0.2) and the
/// configs `stored`, and the log's socket.
fn manager(stored: &[serde_json::Value]) -> Manager {
    let f = Fake::new();
    f.file("etc/swarmnode-broker/broker.json", CONFIG);
    let swarm =
        format!(r#"{{"ID": "x", "JoinTokens": {{"Worker": "{TOKEN}", "Manager": "{TOKEN}"}}}}"#);
    let configs = serde_json::Value::Array(stored.to_vec()).to_string();
    let one = entry(ID, "ready").to_string();
    let list = serde_json::json!([entry(ID, "ready")]).to_string();
    let e = f.engine_with(&[
        (&format!("GET /nodes/{ID} "), &[(200, &one)]),
        (
            &format!("GET /nodes/{OTHER} "),
            &[(404, r#"{"message": "no such node"}"#)],
        ),
        ("GET /nodes ", &[(200, &list)]),
        (&format!("POST /nodes/{ID}/update"), &[(200, "")]),
        ("GET /swarm ", &[(200, &swarm)]),
        ("GET /configs", &[(200, &configs)]),
        ("POST /configs/create", &[(201, r#"{"ID": "newconfig"}"#)]),
        ("DELETE /configs/", &[(200, "")]),
        ("DELETE /nodes/", &[(200, "")]),
        ("GET /info ", &[(200, &info("info-manager.json"))]),
    ]);
    BrokerBed::new(f, e)
}

fn bootstrap_args(fp: &str, expires: u64) -> Vec<String> {
    vec![
        "--bootstrap".into(),
        fp.into(),
        "--expires".into(),
        expires.to_string(),
    ]
}

fn node_args(node: &str, fp: &str) -> Vec<String> {
    vec!["--node".into(), node.into(), "--key".into(), fp.into()]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn sshd_gets_one_restricted_line_for_each_key_that_may_log_in() {
    let later = now() + 3600;
    let m = manager(&[
        bootstrap_config("b1", KEY2, later),
        bootstrap_config("b2", KEY2, now() - 10),
        node_config("n1", ID, KEY),
        node_config("n2", OTHER, KEY2),
        host_config("h1", ID, "10.77.0.1", "psw-n1", "22"),
    ]);
    let o = m.f.run(&["broker", "authorized-keys", "swarmnode-broker"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "the valid bootstrap key and node {ID}'s key only:\n{out}"
    );
    let cmd = format!("{} --root {} broker", bin(), m.f.root.display());
    let fp2 = "SHA256:";
    assert!(
        lines[0].starts_with("restrict,from=\"10.77.0.0/24\",expiry-time=\"")
            && lines[0].contains(&format!(",command=\"{cmd} --bootstrap {fp2}"))
            && lines[0].contains(&format!(" --expires {later}\" {KEY2}")),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        format!("restrict,from=\"10.77.0.2\",command=\"{cmd} --node {ID} --key {FP}\" {KEY}")
    );
    // Another user: none of the broker's keys. A manager that cannot answer: no key at all.
    let o = m.f.run(&["broker", "authorized-keys", "root"]);
    expect_code(&o, 0);
    assert_eq!(stdout(&o), "");
    m.e.route("GET /configs", &[(500, r#"{"message": "boom"}"#)]);
    let o = m.f.run(&["broker", "authorized-keys", "swarmnode-broker"]);
    expect_code(&o, 1);
    assert_eq!(stdout(&o), "");
}

#[test]
fn an_answer_that_takes_too_long_is_no_answer() {
    use std::io::{BufRead, BufReader, Write};
    let f = Fake::new();
    f.file("etc/swarmnode-broker/broker.json", CONFIG);
    let sock = f.root.join("var/run/docker.sock");
    std::fs::create_dir_all(sock.parent().unwrap()).unwrap();
    let l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { return };
            let mut line = String::new();
            let _ = BufReader::new(c.try_clone().unwrap()).read_line(&mut line);
            std::thread::sleep(std::time::Duration::from_secs(5));
            let _ = write!(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]");
        }
    });
    let t = std::time::Instant::now();
    let o = f.run(&["broker", "authorized-keys", "swarmnode-broker"]);
    let took = t.elapsed();
    eprintln!("authorized-keys ended after {:.2} s", took.as_secs_f64());
    expect_code(&o, 1);
    assert_eq!(stdout(&o), "");
    assert!(took < std::time::Duration::from_secs(3), "{took:?}");
}

#[test]
fn a_bootstrap_key_gets_a_token_and_enrols_its_node_and_nothing_else() {
    let exp = now() + 3600;
    let m = manager(&[bootstrap_config("b1", KEY2, exp)]);
    let args = bootstrap_args(FP2, exp);
    let o = m.ask_with(&strs(&args), "10.77.0.2", "join-token worker");
    expect_code(&o, 0);
    assert_eq!(stdout(&o), format!("{TOKEN}\n"));
    // Everything a node's own key does: refused, whatever the ID.
    for req in [
        format!("self {ID}"),
        format!("label {ID} function=test"),
        format!("remove-stale {ID}"),
        format!("leave-entry {ID}"),
    ] {
        let o = m.ask_with(&strs(&args), "10.77.0.2", &req);
        expect_code(&o, 65);
        assert!(
            stderr(&o).contains("a bootstrap key may ask for a worker token and enrol"),
            "{req}: {}",
            stderr(&o)
        );
    }
    let o = m.ask_with(&strs(&args), "10.77.0.2", &format!("enroll {ID} {KEY}"));
    expect_code(&o, 0);
    assert_eq!(m.changes(), ["POST /configs/create HTTP/1.1"]);
    let body: serde_json::Value =
        serde_json::from_str(m.e.bodies.lock().unwrap().last().unwrap()).unwrap();
    assert_eq!(body["Name"], format!("swarmnode-node-{ID}"));
    assert_eq!(body["Labels"]["swarmnode.kind"], "node");
    assert_eq!(body["Labels"]["swarmnode.node"], ID);
    assert_eq!(body["Labels"]["swarmnode.addr"], "10.77.0.2");
    assert_eq!(body["Data"], b64(&format!("{KEY}\n")));
    let log = m.logged().join("\n");
    assert!(
        log.lines().any(|l| l.contains(&format!(
            "client=10.77.0.2 key={FP2} (bootstrap) request=\"enroll {ID} ssh-ed25519 "
        )) && l.ends_with(&format!("allowed: binding {FP} to node {ID}"))),
        "{log}"
    );
    assert!(!log.contains("SWMTKN"), "{log}");
    // From another address: as for an unknown node, nothing bound.
    let o = m.ask_with(&strs(&args), "10.77.0.9", &format!("enroll {ID} {KEY}"));
    expect_code(&o, 1);
    assert_eq!(stderr(&o), format!("Error: No such node: {ID}\n"));
    assert_eq!(m.changes().len(), 1);
    // The node bound already (the swarm answers 409): refused, naming revoke.
    m.e.route(
        "POST /configs/create",
        &[(409, r#"{"message": "name conflicts"}"#)],
    );
    let o = m.ask_with(&strs(&args), "10.77.0.2", &format!("enroll {ID} {KEY}"));
    expect_code(&o, 65);
    assert!(
        stderr(&o).contains(&format!("swarmnode broker revoke {ID}")),
        "{}",
        stderr(&o)
    );
    // Expired: refused before anything, even a token.
    let old = bootstrap_args(FP2, now() - 1);
    let o = m.ask_with(&strs(&old), "10.77.0.2", "join-token worker");
    expect_code(&o, 65);
    assert!(
        stderr(&o).contains("the bootstrap key expired"),
        "{}",
        stderr(&o)
    );
    assert!(!stdout(&o).contains("SWMTKN"));
}

#[test]
fn an_enrolment_is_done_once_and_one_key_binds_one_node() {
    let exp = now() + 3600;
    let boot = bootstrap_config("b1", KEY2, exp);
    let m = manager(&[node_config("n1", ID, KEY), boot.clone()]);
    let args = bootstrap_args(FP2, exp);
    // The same key again: done already, nothing created.
    let o = m.ask_with(&strs(&args), "10.77.0.2", &format!("enroll {ID} {KEY}"));
    expect_code(&o, 0);
    assert!(m.changes().is_empty(), "{:?}", m.changes());
    // That key for another node: refused.
    let m = manager(&[node_config("n1", OTHER, KEY), boot]);
    let o = m.ask_with(&strs(&args), "10.77.0.2", &format!("enroll {ID} {KEY}"));
    expect_code(&o, 65);
    assert!(
        stderr(&o).contains("bound to another node"),
        "{}",
        stderr(&o)
    );
    assert!(m.changes().is_empty());
}

#[test]
fn a_node_key_acts_for_its_node_alone_even_from_that_node_s_address() {
    let m = manager(&[node_config("n1", ID, KEY), node_config("n2", OTHER, KEY2)]);
    let mine = node_args(ID, FP);
    let o = m.ask_with(&strs(&mine), "10.77.0.2", &format!("self {ID}"));
    expect_code(&o, 0);
    let o = m.ask_with(
        &strs(&mine),
        "10.77.0.2",
        &format!("label {ID} function=test"),
    );
    expect_code(&o, 0);
    assert_eq!(m.changes().len(), 1);
    // A key bound to another node, asking about node ID from ID's own address: as unknown.
    let theirs = node_args(OTHER, FP2);
    for req in [
        format!("self {ID}"),
        format!("label {ID} function=test"),
        format!("remove-stale {ID}"),
        format!("leave-entry {ID}"),
    ] {
        let o = m.ask_with(&strs(&theirs), "10.77.0.2", &req);
        expect_code(&o, 1);
        assert_eq!(stderr(&o), format!("Error: No such node: {ID}\n"), "{req}");
    }
    assert_eq!(m.changes().len(), 1, "{:?}", m.changes());
    // A node's key gets no token and enrols nothing.
    for req in [
        "join-token worker".to_string(),
        format!("enroll {ID} {KEY}"),
    ] {
        let o = m.ask_with(&strs(&mine), "10.77.0.2", &req);
        expect_code(&o, 65);
        assert!(!stdout(&o).contains("SWMTKN"));
    }
    let log = m.logged().join("\n");
    assert!(
        log.contains(&format!(
            "key={FP2} node={OTHER} request=\"self {ID}\" refused: the key is bound to node {OTHER}"
        )),
        "{log}"
    );
    // Arguments the broker's key lines never write: nothing served.
    for bad in [
        vec!["--node", "NOT-AN-ID", "--key", FP],
        vec!["--node", ID, "--key", "md5:aa"],
    ] {
        let o = m.ask_with(&bad, "10.77.0.2", &format!("self {ID}"));
        expect_code(&o, 65);
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn leave_entry_removes_the_node_s_down_entry_and_its_key() {
    let m = manager(&[node_config("n1", ID, KEY), node_config("n2", OTHER, KEY2)]);
    let mine = node_args(ID, FP);
    // Still up after the broker's wait (10 s): temporary (the node asks again), nothing removed.
    let o = m.ask_with(&strs(&mine), "10.77.0.2", &format!("leave-entry {ID}"));
    expect_code(&o, 75);
    assert!(
        stderr(&o).contains("is ready, not down yet"),
        "{}",
        stderr(&o)
    );
    // Just left: Down a moment later, waited for.
    let (up, down) = (
        entry(ID, "ready").to_string(),
        entry(ID, "down").to_string(),
    );
    m.e.route(
        &format!("GET /nodes/{ID} "),
        &[(200, &up), (200, &up), (200, &down)],
    );
    let t = std::time::Instant::now();
    let o = m.ask_with(&strs(&mine), "10.77.0.2", &format!("leave-entry {ID}"));
    expect_code(&o, 0);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(stdout(&o), format!("{ID}\n"));
    assert_eq!(
        m.changes(),
        [
            format!("DELETE /nodes/{ID} HTTP/1.1"),
            "DELETE /configs/n1 HTTP/1.1".to_string()
        ]
    );
    // A key listed by hand (identity by address) may not.
    let o = m.ask_with(&[], "10.77.0.2", &format!("leave-entry {ID}"));
    expect_code(&o, 65);
    assert_eq!(m.changes().len(), 2);
}

fn with_ssh_keygen(f: &Fake) {
    let real = ["/usr/bin/ssh-keygen", "/bin/ssh-keygen"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("ssh-keygen (openssh-client) is installed");
    let _ = std::fs::remove_file(f.fake.join("bin/ssh-keygen"));
    std::os::unix::fs::symlink(real, f.fake.join("bin/ssh-keygen")).unwrap();
}

#[test]
fn bootstrap_makes_a_key_that_expires_and_the_files_a_kickstart_carries() {
    let m = manager(&[
        host_config("h1", ID, "10.77.0.1", "psw-n1", "22"),
        host_config("h2", OTHER, "10.77.0.3", "psw-n3", "2222"),
        bootstrap_config("old", KEY2, now() - 5),
    ]);
    with_ssh_keygen(&m.f);
    let out = m.f.tmp.path().join("bootstrap-1");
    let o = m.f.run(&[
        "broker",
        "bootstrap",
        "--ttl",
        "2h",
        "--out",
        out.to_str().unwrap(),
    ]);
    expect_code(&o, 0);
    let mode = |n: &str| std::fs::metadata(out.join(n)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(""), 0o700);
    assert_eq!(mode("bootstrap_key"), 0o600);
    assert_eq!(mode("bootstrap.ks"), 0o600);
    assert_eq!(mode("known_hosts"), 0o644);
    let hosts = std::fs::read_to_string(out.join("known_hosts")).unwrap();
    assert_eq!(
        hosts,
        format!("10.77.0.1,psw-n1 {KEY2}\n[10.77.0.3]:2222,[psw-n3]:2222 {KEY2}\n")
    );
    let ks = std::fs::read_to_string(out.join("bootstrap.ks")).unwrap();
    let private = std::fs::read_to_string(out.join("bootstrap_key")).unwrap();
    assert!(
        ks.contains(private.trim_end()) && ks.contains(hosts.trim_end()),
        "{ks}"
    );
    assert!(ks.contains("chmod 0600 /etc/swarmnode/bootstrap_key /etc/swarmnode/known_hosts"));
    assert!(
        !stdout(&o).contains("PRIVATE KEY"),
        "the private key is never printed"
    );
    // The expired one cleared, the new one stored with its expiry.
    let ch = m.changes();
    assert_eq!(
        ch,
        [
            "DELETE /configs/old HTTP/1.1",
            "POST /configs/create HTTP/1.1"
        ]
    );
    let body: serde_json::Value =
        serde_json::from_str(m.e.bodies.lock().unwrap().last().unwrap()).unwrap();
    let expires: u64 = body["Labels"]["swarmnode.expires"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let created: u64 = body["Labels"]["swarmnode.created"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(expires - created, 7200);
    let public = std::fs::read_to_string(out.join("bootstrap_key.pub")).unwrap();
    assert_eq!(
        body["Data"],
        b64(&format!(
            "{}\n",
            public.split(' ').take(2).collect::<Vec<_>>().join(" ")
        ))
    );
    // A folder that others can reach (made before, by anyone): refused, no key in it.
    let open = m.f.tmp.path().join("bootstrap-open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o =
        m.f.run(&["broker", "bootstrap", "--out", open.to_str().unwrap()]);
    expect_code(&o, 65);
    assert!(
        stderr(&o).contains("it is mode 0755: others can reach it"),
        "{}",
        stderr(&o)
    );
    assert!(!open.join("bootstrap_key").exists() && !open.join("bootstrap.ks").exists());
    // Never over an existing key; a --ttl out of bounds; a node that is not a manager.
    let o =
        m.f.run(&["broker", "bootstrap", "--out", out.to_str().unwrap()]);
    expect_code(&o, 65);
    let o = m.f.run(&[
        "broker",
        "bootstrap",
        "--ttl",
        "40d",
        "--out",
        "/nonexistent/x",
    ]);
    expect_code(&o, 65);
    m.e.route("GET /info ", &[(200, &info("info-worker.json"))]);
    let o = m.f.run(&[
        "broker",
        "bootstrap",
        "--out",
        m.f.tmp.path().join("b2").to_str().unwrap(),
    ]);
    expect_code(&o, 65);
    assert!(stderr(&o).contains("not a manager"), "{}", stderr(&o));
}

#[test]
fn no_bootstrap_key_before_a_manager_published_its_host_keys() {
    let m = manager(&[]);
    with_ssh_keygen(&m.f);
    let out = m.f.tmp.path().join("b");
    let o =
        m.f.run(&["broker", "bootstrap", "--out", out.to_str().unwrap()]);
    expect_code(&o, 65);
    assert!(
        stderr(&o).contains("no manager has published its ssh host keys"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "nothing made");
    assert!(m.changes().is_empty());
}

#[test]
fn keys_lists_them_and_revoke_removes_one() {
    let m = manager(&[
        bootstrap_config("b1", KEY2, now() + 3600),
        bootstrap_config("b2", KEY2, now() - 60),
        node_config("n1", ID, KEY),
        host_config("h1", ID, "10.77.0.1", "psw-n1", "22"),
    ]);
    let o = m.f.run(&["broker", "keys"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(out.starts_with("KIND       NODE"), "{out}");
    assert_eq!(
        out.lines().count(),
        4,
        "a header, two bootstrap keys, one node key:\n{out}"
    );
    assert!(out.contains("(expired)"), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("node")
            && l.contains(ID)
            && l.contains("psw-n2")
            && l.contains(FP)),
        "{out}"
    );
    let o = m.f.run(&["broker", "revoke", ID]);
    expect_code(&o, 0);
    assert_eq!(
        m.changes(),
        ["DELETE /configs/n1 HTTP/1.1", "DELETE /configs/b2 HTTP/1.1"]
    );
    let o = m.f.run(&["broker", "revoke", "zzzzzzzzzzzzzzzzzzzzzzzzz"]);
    expect_code(&o, 65);
    let o = m.f.run(&["broker", "revoke", "../../x"]);
    expect_code(&o, 65);
    assert_eq!(m.changes().len(), 2);
}

// ---- the node's side: its own key made, the token and the enrolment with the bootstrap key,
// its own key after.

const NODE_PROFILE: &str = r#"{"swarm": {
  "managers": ["10.77.0.1:2377"],
  "token": {"source": "ssh", "broker": true, "user": "swarmnode-broker",
            "identity_file": "/etc/swarmnode/node_key",
            "bootstrap_identity_file": "/etc/swarmnode/bootstrap_key",
            "known_hosts_file": "/etc/swarmnode/known_hosts"},
  "labels": {"function": "production"},
  "advertise_addr": "10.77.0.2"
}}"#;

fn node(info_fixture: &str) -> (Fake, FakeEngine) {
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", NODE_PROFILE);
    f.file(
        "etc/swarmnode/bootstrap_key",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n",
    );
    let e = f.engine(info_fixture);
    (f, e)
}

fn own_key(f: &Fake) {
    f.file(
        "etc/swarmnode/node_key",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n",
    );
    f.file(
        "etc/swarmnode/node_key.pub",
        &format!("{KEY} swarmnode@psw-n2\n"),
    );
}

#[test]
fn a_new_node_makes_its_own_key_and_gets_the_token_with_the_bootstrap_key() {
    let (f, _e) = node("info-inactive.json");
    let o = f.run(&["plan"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    let r = f.root.display();
    assert!(
        out.contains(&format!(
            "run    ssh-keygen -q -t ed25519 -N '' -C swarmnode@psw-n2 -f {r}/etc/swarmnode/node_key"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "-i {r}/etc/swarmnode/bootstrap_key -p 22 -l swarmnode-broker -- 10.77.0.1 join-token worker`"
        )),
        "the token with the bootstrap key: {out}"
    );
    // Without the bootstrap key, nothing: the kickstart did not write it.
    std::fs::remove_file(f.root.join("etc/swarmnode/bootstrap_key")).unwrap();
    let err = expect_refused(
        &f,
        &["plan"],
        "it does not exist, and the join token needs it",
    );
    assert!(err.is_empty() || !err.contains("panicked"), "{err}");
}

#[test]
fn a_joined_node_enrols_its_own_key_with_the_bootstrap_key_then_uses_it() {
    let (f, _e) = node("info-worker.json");
    own_key(&f);
    let o = f.run(&["plan"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    let r = f.root.display();
    assert!(
        out.contains(&format!(
            "-i {r}/etc/swarmnode/bootstrap_key -p 22 -l swarmnode-broker -- 10.77.0.1 enroll {ID} {KEY}`"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("+ {ID} {FP}")),
        "the enrolment recorded: {out}"
    );
    assert!(
        f.calls().is_empty(),
        "no manager asked with a key not enrolled yet: {:?}",
        f.calls()
    );
    // Enrolled: its own key, for its entry and its labels.
    f.file("var/lib/swarmnode/enrolled", &format!("{ID} {FP}\n"));
    let t = std::fs::read_to_string(format!("{DOCKER_FIX}/node-inspect.json")).unwrap();
    f.out("ssh", &t);
    let o = f.run(&["plan"]);
    expect_code(&o, 0);
    assert!(
        f.calls()[0].contains(&format!(
            "-i {r}/etc/swarmnode/node_key -p 22 -l swarmnode-broker -- 10.77.0.1 self {ID}"
        )),
        "{:?}",
        f.calls()
    );
    assert!(
        stdout(&o).contains(&format!("-i {r}/etc/swarmnode/node_key -p 22 -l swarmnode-broker -- 10.77.0.1 label {ID} function=production`")),
        "{}",
        stdout(&o)
    );
    // A new node ID (joined again): enrolled again.
    f.file("var/lib/swarmnode/enrolled", &format!("{OTHER} {FP}\n"));
    f.next_run();
    let o = f.run(&["plan"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains(&format!("enroll {ID} {KEY}`")),
        "{}",
        stdout(&o)
    );
    // A record that is not what swarmnode writes: refused.
    f.file("var/lib/swarmnode/enrolled", "../../x SHA256:y\n");
    expect_refused(&f, &["plan"], "is not a key fingerprint");
    f.file("var/lib/swarmnode/enrolled", &format!("../../x {FP}\n"));
    expect_refused(&f, &["plan"], "is not a node ID");
}

#[test]
fn reset_removes_the_entry_with_the_node_s_own_key() {
    let (f, e) = node("info-worker.json");
    own_key(&f);
    f.file("var/lib/swarmnode/enrolled", &format!("{ID} {FP}\n"));
    let o = f.run(&["reset", "--no-drain"]);
    expect_code(&o, 0);
    let r = f.root.display();
    assert!(
        stdout(&o).contains(&format!(
            "-i {r}/etc/swarmnode/node_key -p 22 -l swarmnode-broker -- 10.77.0.1 leave-entry {ID}`"
        )),
        "{}",
        stdout(&o)
    );
    assert!(e.requests().iter().all(|r| r.starts_with("GET")));
}

#[test]
fn a_bootstrap_key_needs_the_broker_and_a_place_for_the_node_s_own_key() {
    for (from, to) in [
        (r#""broker": true"#, r#""broker": false"#),
        (r#""identity_file": "/etc/swarmnode/node_key","#, ""),
        (
            r#""identity_file": "/etc/swarmnode/node_key""#,
            r#""identity_file": "/etc/swarmnode/bootstrap_key""#,
        ),
    ] {
        let f = Fake::new();
        f.file(
            "etc/swarmnode/profile.json",
            &NODE_PROFILE.replace(from, to),
        );
        let o = f.run(&["plan"]);
        expect_code(&o, 65);
        assert!(
            stderr(&o).contains("swarm.token.bootstrap_identity_file"),
            "{}",
            stderr(&o)
        );
    }
}

/// A security review's finding: sshd checks a key at login only, so a connection opened before
/// a `revoke` could run further sessions with it. The broker asks the swarm at each request.
/// And a bootstrap key is never bound as a node's key (it would outlive its expiry).
#[test]
fn a_revoked_key_asks_nothing_even_on_a_connection_opened_before() {
    let exp = now() + 3600;
    // Neither the bootstrap key nor the node's key is kept any more (revoked).
    let m = manager(&[]);
    let o = m.ask_with(
        &strs(&bootstrap_args(FP2, exp)),
        "10.77.0.2",
        "join-token worker",
    );
    expect_code(&o, 65);
    assert!(
        stderr(&o).contains("not kept in the swarm any more"),
        "{}",
        stderr(&o)
    );
    assert!(!stdout(&o).contains("SWMTKN"));
    let o = m.ask_with(
        &strs(&node_args(ID, FP)),
        "10.77.0.2",
        &format!("self {ID}"),
    );
    expect_code(&o, 65);
    assert!(o.stdout.is_empty());
    // A bootstrap key kept with another expiry than the line's: not this key's line.
    let m = manager(&[bootstrap_config("b1", KEY2, exp + 60)]);
    let o = m.ask_with(
        &strs(&bootstrap_args(FP2, exp)),
        "10.77.0.2",
        "join-token worker",
    );
    expect_code(&o, 65);
    // The bootstrap key itself, offered as the node's own key: refused, nothing bound.
    let m = manager(&[bootstrap_config("b1", KEY2, exp)]);
    let o = m.ask_with(
        &strs(&bootstrap_args(FP2, exp)),
        "10.77.0.2",
        &format!("enroll {ID} {KEY2}"),
    );
    expect_code(&o, 65);
    assert!(
        stderr(&o).contains("is kept as a bootstrap key"),
        "{}",
        stderr(&o)
    );
    assert!(m.changes().is_empty(), "{:?}", m.changes());
}

/// A node names its hostname; `broker keys` prints it to root's terminal as data.
#[test]
fn broker_keys_prints_a_hostile_hostname_as_data() {
    let mut c = node_config("n1", ID, KEY);
    c["Spec"]["Labels"]["swarmnode.hostname"] = "evil\u{1b}]0;owned\u{7}\u{1b}[2J".into();
    let m = manager(&[c]);
    let o = m.f.run(&["broker", "keys"]);
    expect_code(&o, 0);
    assert!(stdout(&o).contains("evil"), "{}", stdout(&o));
    assert!(
        !o.stdout.contains(&0x1b) && !o.stdout.contains(&0x07),
        "{:?}",
        stdout(&o)
    );
}
