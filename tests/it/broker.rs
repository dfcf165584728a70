//! `swarmnode broker` against a fake root: a fake manager engine (its node entry captured from a
//! real one, at 10.77.0.2), the request and the caller's address in the environment sshd sets,
//! and a datagram socket at ROOT/dev/log that receives the log lines.

use crate::common::*;
use std::os::unix::net::UnixDatagram;

const ID: &str = "l8s526d06sna2jckb05a27o7r";
const TOKEN: &str =
    "SWMTKN-1-0ntb7o7jfldybt5d7v2mgz72ey7iuk4u66b360u4icoonygl53-0123456789abcdefghijklmno";
const CONFIG: &str = r#"{"labels": {"function": ["production", "test"]}}"#;

/// The node entry as the engine's API gives it (one object).
fn entry() -> String {
    let t = std::fs::read_to_string(format!("{DOCKER_FIX}/node-inspect.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&t).unwrap();
    v[0].to_string()
}

struct Manager {
    f: Fake,
    e: FakeEngine,
    log: UnixDatagram,
}

fn manager(config: Option<&str>) -> Manager {
    let f = Fake::new();
    if let Some(c) = config {
        f.file("etc/swarmnode/broker.json", c);
    }
    let swarm = format!(
        r#"{{"ID": "x", "JoinTokens": {{"Worker": "{TOKEN}", "Manager": "{}"}}}}"#,
        TOKEN.replace("0123456789", "9876543210")
    );
    let e = f.engine_with(&[
        (&format!("GET /nodes/{ID} "), &[(200, &entry())]),
        (&format!("POST /nodes/{ID}/update"), &[(200, "")]),
        ("GET /swarm ", &[(200, &swarm)]),
    ]);
    std::fs::create_dir_all(f.root.join("dev")).unwrap();
    let log = UnixDatagram::bind(f.root.join("dev/log")).unwrap();
    log.set_nonblocking(true).unwrap();
    Manager { f, e, log }
}

impl Manager {
    /// The broker as sshd runs it for a client at `from`.
    fn ask(&self, from: &str, request: &str) -> std::process::Output {
        let conn = format!("{from} 40022 10.77.0.1 22");
        self.f.run_env(
            &["broker"],
            &[
                ("SSH_ORIGINAL_COMMAND", request),
                ("SSH_CONNECTION", conn.as_str()),
            ],
        )
    }
    fn logged(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut b = [0u8; 4096];
        while let Ok(n) = self.log.recv(&mut b) {
            out.push(String::from_utf8_lossy(&b[..n]).into_owned());
        }
        out
    }
    fn changes(&self) -> Vec<String> {
        self.e
            .requests()
            .into_iter()
            .filter(|r| !r.starts_with("GET "))
            .collect()
    }
}

#[test]
fn a_node_reads_its_own_entry_from_its_own_address() {
    let m = manager(Some(CONFIG));
    let o = m.ask("10.77.0.2", &format!("self {ID}"));
    expect_code(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["ID"], ID, "printed as `docker node inspect` does");
    let log = m.logged();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(
        log[0].starts_with("<38>swarmnode-broker[")
            && log[0].ends_with(&format!(
                "]: client=10.77.0.2 request=\"self {ID}\" allowed"
            )),
        "{log:?}"
    );
}

#[test]
fn another_address_may_not_read_or_label_that_node() {
    let m = manager(Some(CONFIG));
    for req in [format!("self {ID}"), format!("label {ID} function=test")] {
        let o = m.ask("10.77.0.9", &req);
        expect_code(&o, 65);
        assert!(
            stderr(&o).contains(&format!(
                "refused: node {ID} is at 10.77.0.2, not at 10.77.0.9: a node may ask only about itself"
            )),
            "{}",
            stderr(&o)
        );
        assert!(o.stdout.is_empty());
    }
    assert!(m.changes().is_empty(), "{:?}", m.changes());
    let log = m.logged();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log.iter().all(|l| l.starts_with("<37>")
            && l.contains("client=10.77.0.9 ")
            && l.contains(" refused: ")),
        "{log:?}"
    );
}

#[test]
fn a_node_labels_itself_within_the_allowlist_only() {
    let m = manager(Some(CONFIG));
    let o = m.ask("10.77.0.2", &format!("label {ID} function=production"));
    expect_code(&o, 0);
    assert_eq!(
        m.changes(),
        [format!("POST /nodes/{ID}/update?version=15 HTTP/1.1")]
    );
    let body = m.e.bodies.lock().unwrap().last().cloned().unwrap();
    let spec: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(spec["Labels"]["function"], "production");
    assert_eq!(
        spec["Role"], "worker",
        "the rest of the spec sent back as it was"
    );
    for (req, why) in [
        (
            format!("label {ID} function=gpu"),
            "function=gpu is not allowed (function may be production, test)",
        ),
        (
            format!("label {ID} rack=b2"),
            "the label rack is not one nodes may set (the broker allows: function)",
        ),
        (
            format!("label {ID} function=production node.role=manager"),
            "the label node.role is not one nodes may set",
        ),
    ] {
        let o = m.ask("10.77.0.2", &req);
        expect_code(&o, 65);
        assert!(stderr(&o).contains(why), "{req}: {}", stderr(&o));
    }
    assert_eq!(m.changes().len(), 1, "no update after the first");
}

#[test]
fn worker_tokens_only_unless_the_config_allows_manager_tokens() {
    let m = manager(Some(CONFIG));
    let o = m.ask("10.77.0.5", "join-token worker");
    expect_code(&o, 0);
    assert_eq!(stdout(&o), format!("{TOKEN}\n"));
    let o = m.ask("10.77.0.5", "join-token manager");
    expect_code(&o, 65);
    assert!(stderr(&o).contains("manager tokens are not handed out"));
    assert!(o.stdout.is_empty());
    let log = m.logged().join("\n");
    assert!(!log.contains("SWMTKN"), "{log}");
    assert!(log.contains("allowed: a worker token"), "{log}");
    let m = manager(Some(r#"{"manager_tokens": true}"#));
    let o = m.ask("10.77.0.5", "join-token manager");
    expect_code(&o, 0);
    assert!(stdout(&o).starts_with("SWMTKN-1-"));
    assert_ne!(stdout(&o), format!("{TOKEN}\n"));
}

#[test]
fn anything_outside_the_grammar_is_refused_before_the_engine_is_asked() {
    let m = manager(Some(CONFIG));
    for req in [
        "docker ps",
        "docker service ls",
        "docker node update --label-add function=production l8s526d06sna2jckb05a27o7r",
        "join-token worker; docker ps",
        "sh -c id",
        "",
    ] {
        let o = m.ask("10.77.0.2", req);
        expect_code(&o, 65);
        let err = stderr(&o);
        assert!(
            err.starts_with("swarmnode broker: refused: "),
            "{req}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
    assert!(m.e.requests().is_empty(), "{:?}", m.e.requests());
    assert_eq!(m.logged().len(), 6);
}

#[test]
fn remove_stale_takes_down_workers_of_the_caller_s_hostname_and_address_only() {
    let m = manager(Some(CONFIG));
    let me: serde_json::Value = serde_json::from_str(&entry()).unwrap();
    let other = |id: &str, host: &str, state: &str, role: &str| {
        let mut n = me.clone();
        n["ID"] = id.into();
        n["Description"]["Hostname"] = host.into();
        n["Status"]["State"] = state.into();
        n["Spec"]["Role"] = role.into();
        n
    };
    let mut elsewhere = other("elsewhereelsewhereelsewh5", "psw-n2", "down", "worker");
    elsewhere["Status"]["Addr"] = "10.77.0.66".into();
    let list = serde_json::json!([
        me.clone(),
        elsewhere,
        other("oldoldoldoldoldoldoldold1", "psw-n2", "down", "worker"),
        other("oldmanageroldmanageroldm2", "psw-n2", "down", "manager"),
        other("upupupupupupupupupupupup3", "psw-n2", "ready", "worker"),
        other("elseelseelseelseelseelse4", "psw-n3", "down", "worker"),
    ]);
    m.e.route("GET /nodes ", &[(200, &list.to_string())]);
    m.e.route("DELETE /nodes/", &[(200, "")]);
    let o = m.ask("10.77.0.2", &format!("remove-stale {ID}"));
    expect_code(&o, 0);
    assert_eq!(stdout(&o), "oldoldoldoldoldoldoldold1\n");
    assert_eq!(
        m.changes(),
        ["DELETE /nodes/oldoldoldoldoldoldoldold1 HTTP/1.1"]
    );
    let o = m.ask("10.77.0.7", &format!("remove-stale {ID}"));
    expect_code(&o, 65);
    assert_eq!(m.changes().len(), 1);
}

#[test]
fn networks_and_the_config_s_owner_are_enforced() {
    let m = manager(Some(r#"{"networks": ["10.77.0.0/28"]}"#));
    let o = m.ask("10.77.0.20", "join-token worker");
    expect_code(&o, 65);
    assert!(
        stderr(&o).contains("10.77.0.20 is not in the networks the broker serves"),
        "{}",
        stderr(&o)
    );
    expect_code(&m.ask("10.77.0.2", "join-token worker"), 0);
    use std::os::unix::fs::PermissionsExt;
    let p = m.f.root.join("etc/swarmnode/broker.json");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).unwrap();
    let o = m.ask("10.77.0.2", "join-token worker");
    expect_code(&o, 65);
    assert!(stderr(&o).contains("it is mode 0666"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    // Not run by sshd at all.
    let o = m.f.run_env(
        &["broker"],
        &[("SSH_ORIGINAL_COMMAND", "join-token worker")],
    );
    expect_code(&o, 65);
    assert!(stderr(&o).contains("not run by sshd"), "{}", stderr(&o));
}

#[test]
fn without_a_config_or_a_log_nothing_is_served() {
    let m = manager(None);
    let o = m.ask("10.77.0.2", "join-token worker");
    expect_code(&o, 65);
    assert!(
        stderr(&o).contains("it does not exist, so nothing is served"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());
    assert_eq!(m.logged().len(), 1, "the refusal is logged");
    let m = manager(Some(CONFIG));
    std::fs::remove_file(m.f.root.join("dev/log")).unwrap();
    let o = m.ask("10.77.0.2", "join-token worker");
    expect_code(&o, 69);
    assert!(
        stderr(&o).contains("the log is not reachable, so nothing is served"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());
    assert!(m.e.requests().is_empty());
}
