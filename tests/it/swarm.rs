//! The swarm step against a fake root: a fake engine socket answering `GET /info` with captured
//! answers of real engines, and recording fake `ssh`/`docker` for the manager channel.
//! Joining for real is tier 3 (swarm-tests/).

use crate::common::*;

const SSH_PROFILE: &str = r#"{"swarm": {
  "managers": ["10.77.0.1:2377"],
  "token": {"source": "ssh", "identity_file": "/root/.ssh/id_ed25519",
            "known_hosts_file": "/etc/swarmnode/known_hosts"},
  "labels": {"function": "production"},
  "advertise_addr": "10.77.0.2"
}}"#;

fn node(f: &Fake, profile: &str, info: &str) -> FakeEngine {
    f.file("etc/swarmnode/profile.json", profile);
    f.engine(info)
}

fn node_inspect(labels: &str) -> String {
    let t = std::fs::read_to_string(format!("{DOCKER_FIX}/node-inspect.json")).unwrap();
    t.replace("\"Labels\": {}", &format!("\"Labels\": {labels}"))
}

#[test]
fn inactive_node_plans_a_join_with_the_token_fetched_only_at_apply() {
    let f = Fake::new();
    let e = node(&f, SSH_PROFILE, "info-inactive.json");
    let o = f.run(&["plan"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(
        out.contains("swarm: psw-n2 is not in a swarm: joining"),
        "{out}"
    );
    assert!(
        out.contains("swarm  POST /swarm/join as worker (token in the request body), listen 0.0.0.0:2377, advertise 10.77.0.2, within 300 s"),
        "{out}"
    );
    let root = f.root.display();
    assert!(
        out.contains(&format!(
            "manager 10.77.0.1:2377: token from `ssh -o BatchMode=yes -o ConnectTimeout=10 \
             -o StrictHostKeyChecking=yes -o UserKnownHostsFile={root}/etc/swarmnode/known_hosts \
             -o IdentitiesOnly=yes -i {root}/root/.ssh/id_ed25519 -p 22 -l root -- 10.77.0.1 \
             docker swarm join-token -q worker`"
        )),
        "{out}"
    );
    assert!(
        out.contains("once joined, a manager labels the node: function=production"),
        "{out}"
    );
    assert!(
        f.calls().is_empty(),
        "plan must not reach a manager: {:?}",
        f.calls()
    );
    assert_eq!(*e.requests.lock().unwrap(), vec!["GET /info HTTP/1.1"]);
}

#[test]
fn pending_node_leaves_before_joining_again() {
    let f = Fake::new();
    node(&f, SSH_PROFILE, "info-pending.json");
    let o = f.run(&["--json", "plan"]);
    expect_code(&o, 0);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = r["steps"][0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["swarm.leave", "swarm.join"]);
    assert_eq!(r["steps"][0]["actions"][1]["op"], "join");
    assert!(!String::from_utf8_lossy(&o.stdout).contains("SWMTKN"));
}

#[test]
fn active_node_gets_missing_labels_from_the_manager_by_node_id() {
    let f = Fake::new();
    node(&f, SSH_PROFILE, "info-worker.json");
    f.out("ssh", &node_inspect("{}"));
    let o = f.run(&["plan"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(
        out.contains("swarm: psw-n2 is in a swarm: node l8s526d06sna2jckb05a27o7r at 10.77.0.2"),
        "{out}"
    );
    assert!(
        out.contains("-- 10.77.0.1 docker node update --label-add function=production -- l8s526d06sna2jckb05a27o7r    # labels missing or different: function=production"),
        "{out}"
    );
    let calls = f.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(
        calls[0].ends_with("-- 10.77.0.1 docker node inspect -- l8s526d06sna2jckb05a27o7r"),
        "{calls:?}"
    );
}

#[test]
fn converged_node_changes_nothing() {
    let f = Fake::new();
    let e = node(&f, SSH_PROFILE, "info-worker.json");
    f.out(
        "ssh",
        &node_inspect(r#"{"function": "production", "rack": "b2"}"#),
    );
    let o = f.run(&["join"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("swarm: converged: nothing to do"),
        "{}",
        stdout(&o)
    );
    assert!(
        f.calls()
            .iter()
            .all(|c| c.contains(" docker node inspect ")),
        "{:?}",
        f.calls()
    );
    assert!(
        e.requests
            .lock()
            .unwrap()
            .iter()
            .all(|r| r.starts_with("GET ")),
        "{:?}",
        e.requests
    );
    let report = f.read("var/lib/swarmnode/report.json").unwrap();
    assert!(report.contains("\"result\": \"converged\""), "{report}");
}

#[test]
fn node_of_another_swarm_is_refused_with_how_to_leave() {
    let f = Fake::new();
    node(&f, SSH_PROFILE, "info-worker.json");
    f.rc(
        "ssh",
        1,
        "Error response from daemon: node l8s526d06sna2jckb05a27o7r not found\n",
    );
    let err = expect_refused(&f, &["join"], "is active in another swarm");
    assert!(err.contains("docker swarm leave"), "{err}");
}

#[test]
fn no_manager_answering_is_unavailable() {
    let f = Fake::new();
    node(&f, SSH_PROFILE, "info-worker.json");
    f.rc(
        "ssh",
        255,
        "ssh: connect to host 10.77.0.1 port 22: Connection refused\n",
    );
    let o = f.run(&["join"]);
    expect_code(&o, 69);
    let err = stderr(&o);
    assert!(err.contains("no manager answered"), "{err}");
    assert!(err.contains("Connection refused"), "{err}");
}

#[test]
fn manager_host_key_mismatch_is_refused() {
    let f = Fake::new();
    node(&f, SSH_PROFILE, "info-worker.json");
    f.rc("ssh", 255, "Host key verification failed.\n");
    expect_refused(&f, &["join"], "could not be authenticated");
}

#[test]
fn stale_down_nodes_with_this_hostname_are_removed() {
    let f = Fake::new();
    let profile = SSH_PROFILE.replace(
        "\"advertise_addr\"",
        "\"remove_stale_nodes\": true, \"advertise_addr\"",
    );
    node(&f, &profile, "info-worker.json");
    f.out("ssh.1", &node_inspect(r#"{"function": "production"}"#));
    f.out(
        "ssh.2",
        concat!(
            r#"{"Availability":"Active","Hostname":"psw-n1","ID":"jvby28rgzd1e3pg8flz6k7hj8","ManagerStatus":"Leader","Status":"Ready"}"#,
            "\n",
            r#"{"Availability":"Active","Hostname":"psw-n2","ID":"l8s526d06sna2jckb05a27o7r","ManagerStatus":"","Status":"Ready"}"#,
            "\n",
            r#"{"Availability":"Active","Hostname":"psw-n2","ID":"oldoldoldoldoldoldoldold1","ManagerStatus":"","Status":"Down"}"#,
            "\n",
            r#"{"Availability":"Active","Hostname":"psw-n2","ID":"oldmanageroldmanageroldm2","ManagerStatus":"Unreachable","Status":"Down"}"#,
            "\n",
        ),
    );
    let o = f.run(&["plan"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(
        out.contains(
            "docker node rm -- oldoldoldoldoldoldoldold1    # a Down node with this hostname"
        ),
        "{out}"
    );
    assert!(!out.contains("node rm oldmanager"), "{out}");
    assert!(
        stderr(&o)
            .contains("a Down manager named psw-n2 (oldmanageroldmanageroldm2) is left alone"),
        "{}",
        stderr(&o)
    );
    assert!(
        f.calls()[1].ends_with("docker node ls --format '{{json .}}'"),
        "{:?}",
        f.calls()
    );
}

#[test]
fn token_file_readable_by_others_is_refused() {
    let f = Fake::new();
    let profile = r#"{"swarm": {"managers": ["10.77.0.1"],
        "token": {"source": "file", "path": "/etc/swarmnode/join-token"}}}"#;
    node(&f, profile, "info-inactive.json");
    f.file(
        "etc/swarmnode/join-token",
        "SWMTKN-1-0ntb7o7jfldybt5d7v2mgz72ey7iuk4u66b360u4icoonygl53-0123456789abcdefghijklmno\n",
    );
    let p = f.root.join("etc/swarmnode/join-token");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = expect_refused(&f, &["plan"], "it is mode 0644, owner uid 0");
    assert!(err.contains("must be readable by root only"), "{err}");
    assert!(!err.contains("SWMTKN"), "{err}");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = f.run(&["plan"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o)
            .contains("manager 10.77.0.1:2377: token from the file /etc/swarmnode/join-token"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn no_engine_running_plan_says_so_and_join_fails() {
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", SSH_PROFILE);
    let o = f.run(&["plan"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("swarm: skipped: cannot reach the docker engine at"),
        "{}",
        stdout(&o)
    );
    let o = f.run(&["join"]);
    expect_code(&o, 1);
    assert!(stderr(&o).contains("is docker running?"), "{}", stderr(&o));
}

#[test]
fn plaintext_token_source_needs_the_opt_in_and_warns() {
    let f = Fake::new();
    let p = r#"{"swarm": {"managers": ["10.77.0.1"], "token": {"source": "tcp"}}}"#;
    node(&f, p, "info-inactive.json");
    let err = expect_refused(&f, &["plan"], "swarm.token.allow_insecure_tcp");
    assert!(err.contains("use ssh or tls"), "{err}");
    f.file(
        "etc/swarmnode/profile.json",
        &p.replace("\"tcp\"", "\"tcp\", \"allow_insecure_tcp\": true"),
    );
    let o = f.run(&["plan"]);
    expect_code(&o, 0);
    assert!(
        stderr(&o).contains("plaintext Engine API"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o)
            .contains("token from `docker -H tcp://10.77.0.1:2375 swarm join-token -q worker`"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_join_timeout_beyond_its_range_is_refused_not_a_panic() {
    let f = Fake::new();
    let p = SSH_PROFILE.replace(
        "\"advertise_addr\"",
        "\"join_timeout_seconds\": 18446744073709551615, \"advertise_addr\"",
    );
    node(&f, &p, "info-inactive.json");
    expect_refused(
        &f,
        &["join"],
        "swarm.join_timeout_seconds: 18446744073709551615 is outside 1..86400",
    );
}

const TOKEN: &str =
    "SWMTKN-1-0ntb7o7jfldybt5d7v2mgz72ey7iuk4u66b360u4icoonygl53-0123456789abcdefghijklmno";

fn file_profile() -> &'static str {
    r#"{"swarm": {"managers": ["10.77.0.1"],
        "token": {"source": "file", "path": "/etc/swarmnode/join-token"}}}"#
}

fn token_file(f: &Fake, mode: u32) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    f.file("etc/swarmnode/join-token", &format!("{TOKEN}\n"));
    let p = f.root.join("etc/swarmnode/join-token");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    std::fs::set_permissions(
        f.root.join("etc/swarmnode"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    p
}

#[test]
fn a_token_file_that_is_a_symlink_or_in_a_writable_directory_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fake::new();
    node(&f, file_profile(), "info-inactive.json");
    let p = token_file(&f, 0o600);
    // A link to a root-only file elsewhere: not followed.
    std::fs::rename(&p, f.root.join("etc/swarmnode/real-token")).unwrap();
    std::os::unix::fs::symlink("real-token", &p).unwrap();
    expect_refused(&f, &["join"], "is a symbolic link");
    std::fs::remove_file(&p).unwrap();
    std::fs::rename(f.root.join("etc/swarmnode/real-token"), &p).unwrap();
    // Others could replace it.
    std::fs::set_permissions(
        f.root.join("etc/swarmnode"),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    expect_refused(&f, &["plan"], "that others can write to");
    std::fs::set_permissions(
        f.root.join("etc/swarmnode"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    expect_code(&f.run(&["plan"]), 0);
}

#[test]
fn tokens_in_what_an_engine_or_manager_says_are_scrubbed() {
    let f = Fake::new();
    let e = node(&f, SSH_PROFILE, "info-inactive.json");
    f.out("ssh", &format!("{TOKEN}\n"));
    let echo = format!(r#"{{"message": "invalid join token {TOKEN}"}}"#);
    e.route("POST /swarm/join", &[(400, &echo)]);
    let o = f.run(&["--json", "join"]);
    expect_code(&o, 65);
    let report = f.read("var/lib/swarmnode/report.json").unwrap();
    for (what, text) in [
        ("stderr", stderr(&o)),
        ("--json", stdout(&o)),
        ("report.json", report),
    ] {
        assert!(!text.contains("SWMTKN-1-"), "{what} shows a token:\n{text}");
        assert!(
            text.contains("invalid join token SWMTKN-<redacted>"),
            "{what}:\n{text}"
        );
    }
    // The token itself went to the engine, in the request body only.
    let bodies = e.bodies.lock().unwrap().clone();
    assert!(bodies.iter().any(|b| b.contains(TOKEN)), "{bodies:?}");
}

const NODE_ID: &str = "l8s526d06sna2jckb05a27o7r";

fn member(state: &str, manager: bool) -> String {
    use serde_json::json;
    info_with(
        "info-worker.json",
        &[
            ("LocalNodeState", json!(state)),
            ("ControlAvailable", json!(manager)),
            (
                "Error",
                json!(if state == "error" {
                    "rpc error: raft restarting"
                } else {
                    ""
                }),
            ),
        ],
    )
}

fn short(profile: &str, secs: u32) -> String {
    profile.replace(
        "\"advertise_addr\"",
        &format!("\"join_timeout_seconds\": {secs}, \"advertise_addr\""),
    )
}

#[test]
fn an_established_member_that_is_pending_or_in_error_is_waited_for_never_left() {
    for (state, manager) in [("pending", false), ("error", false), ("error", true)] {
        let f = Fake::new();
        f.file("etc/swarmnode/profile.json", &short(SSH_PROFILE, 2));
        let e = f.engine_with(&[("GET /info ", &[(200, &member(state, manager))])]);
        let o = f.run(&["plan"]);
        expect_code(&o, 0);
        let out = stdout(&o);
        assert!(
            out.contains(&format!(
                "swarm  wait up to 2 s for node {NODE_ID} to reach its managers again (never left)"
            )),
            "{out}"
        );
        assert!(!out.contains("leave"), "{out}");
        let t = std::time::Instant::now();
        let o = f.run(&["join"]);
        expect_code(&o, 69);
        assert!(t.elapsed() >= std::time::Duration::from_secs(2));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("(node {NODE_ID}) is still {state} after 2 s")),
            "{err}"
        );
        assert!(
            err.contains("never takes an established node out of its swarm"),
            "{err}"
        );
        let posts: Vec<String> = e
            .requests()
            .into_iter()
            .filter(|r| !r.starts_with("GET "))
            .collect();
        assert!(posts.is_empty(), "{state}: a member was sent {posts:?}");
        assert!(
            f.calls().is_empty(),
            "no manager is asked meanwhile: {:?}",
            f.calls()
        );
    }
}

#[test]
fn a_member_that_comes_back_is_labelled_and_was_never_left() {
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", &short(SSH_PROFILE, 30));
    let pending = member("pending", false);
    let active = info("info-worker.json");
    // plan, then the wait polls twice before the node is active again
    let e = f.engine_with(&[(
        "GET /info ",
        &[
            (200, &pending),
            (200, &pending),
            (200, &pending),
            (200, &active),
        ],
    )]);
    f.out("ssh.1", &node_inspect("{}"));
    f.out("ssh", &node_inspect(r#"{"function": "production"}"#));
    let o = f.run(&["join"]);
    expect_code(&o, 0);
    assert!(stdout(&o).contains("wait up to 30 s"), "{}", stdout(&o));
    assert!(
        e.requests().iter().all(|r| r.starts_with("GET ")),
        "{:?}",
        e.requests()
    );
    assert!(
        f.calls()
            .iter()
            .any(|c| c.contains("node update --label-add function=production")),
        "{:?}",
        f.calls()
    );
}

#[test]
fn a_join_that_continues_in_the_background_is_followed_not_undone() {
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", &short(SSH_PROFILE, 60));
    let inactive = info("info-inactive.json");
    let pending = info("info-pending.json");
    let active = info("info-worker.json");
    let e = f.engine_with(&[
        (
            "GET /info ",
            &[(200, &inactive), (200, &inactive), (200, &pending), (200, &pending), (200, &active)],
        ),
        (
            "POST /swarm/join ",
            &[(503, r#"{"message":"Timeout was reached before node joined. The attempt to join the swarm will continue in the background. Use the \"docker info\" command to see the current swarm status of your node."}"#)],
        ),
    ]);
    f.out("ssh.1", &format!("{TOKEN}\n"));
    f.out("ssh", &node_inspect(r#"{"function": "production"}"#));
    let o = f.run(&["join"]);
    expect_code(&o, 0);
    let posts: Vec<String> = e
        .requests()
        .into_iter()
        .filter(|r| !r.starts_with("GET "))
        .collect();
    assert_eq!(
        posts,
        ["POST /swarm/join HTTP/1.1"],
        "one join, no leave, no second join"
    );
}

#[test]
fn a_manager_without_docker_or_out_of_reach_is_unavailable_not_another_swarm() {
    for (code, err) in [
        (127, "bash: line 1: docker: command not found\n"),
        (
            255,
            "ssh: connect to host 10.77.0.1 port 22: Connection refused\n",
        ),
        (
            1,
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n",
        ),
    ] {
        let f = Fake::new();
        node(&f, SSH_PROFILE, "info-worker.json");
        f.rc("ssh", code, err);
        let o = f.run(&["join"]);
        expect_code(&o, 69);
        let e = stderr(&o);
        assert!(!e.contains("another swarm"), "{e}");
        assert!(e.contains("no manager answered"), "{e}");
        assert!(e.contains(&format!("(exit {code})")), "{e}");
    }
}

#[test]
fn labels_are_quoted_whole_for_the_manager_s_shell() {
    let f = Fake::new();
    let p = SSH_PROFILE.replace(
        r#""labels": {"function": "production"}"#,
        r##""labels": {"home": "~", "rack": "b[12]", "note": "a#b !c 'd'"}"##,
    );
    node(&f, &p, "info-worker.json");
    f.out("ssh", &node_inspect("{}"));
    let o = f.run(&["plan"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    // argv[i] of ssh is the remote word already quoted; shown quoted once more for copy-paste.
    for word in [r"'\''home=~'\''", r"'\''rack=b[12]'\''"] {
        assert!(out.contains(word), "{word} in\n{out}");
    }
}

#[test]
fn a_node_that_becomes_a_member_while_its_old_join_is_waited_for_is_never_left() {
    // Found in review: the plan sees a pending node without a NodeID (leave, then join); while
    // the leave waits, the node gets its identity. It must be neither left nor joined again.
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", &short(SSH_PROFILE, 60));
    let no_id = info("info-pending.json");
    let pending_member = member("pending", false);
    let active = info("info-worker.json");
    let e = f.engine_with(&[
        (
            "GET /info ",
            &[
                (200, &no_id),
                (200, &pending_member),
                (200, &pending_member),
                (200, &pending_member),
                (200, &active),
            ],
        ),
        (
            "POST /swarm/join ",
            &[(
                503,
                r#"{"message":"This node is already part of a swarm."}"#,
            )],
        ),
    ]);
    f.out("ssh.1", &node_inspect("{}"));
    f.out("ssh", &node_inspect(r#"{"function": "production"}"#));
    let o = f.run(&["join"]);
    expect_code(&o, 0);
    let posts: Vec<String> = e
        .requests()
        .into_iter()
        .filter(|r| !r.starts_with("GET "))
        .collect();
    assert!(
        posts.is_empty(),
        "a member was sent {posts:?}\n{}",
        stderr(&o)
    );
    assert!(
        f.calls().iter().all(|c| !c.contains("join-token")),
        "no token is fetched for a node that is not inactive: {:?}",
        f.calls()
    );
}
