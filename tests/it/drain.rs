//! `drain`, `activate` and reset's drain against a fake root: a fake worker engine (its running
//! containers, labelled as docker labels a task's), a fake `ssh` answering as docker on a
//! manager does, and the broker's `availability` and `tasks` against a fake manager engine.

use crate::common::*;

const ID: &str = "l8s526d06sna2jckb05a27o7r";
const WEB1: &str = "a1b2c3d4e5f6g7h8i9j0k1l2m";
const MOVED: &str = "zyxwvutsrqponmlkjihgfedcb";
const GLOBAL: &str = "g1g2g3g4g5g6g7g8g9g0g1g2g";

const SSH_PROFILE: &str = r#"{"swarm": {
  "managers": ["10.77.0.1:2377"],
  "token": {"source": "ssh", "identity_file": "/root/.ssh/id_ed25519",
            "known_hosts_file": "/etc/swarmnode/known_hosts"}
}}"#;

/// `GET /containers/json` on a worker running web.1, a global task and a container of its own.
fn containers() -> String {
    serde_json::json!([
        {"Names": [format!("/web.1.{WEB1}")], "Labels": {
            "com.docker.swarm.service.name": "web",
            "com.docker.swarm.task.id": WEB1,
            "com.docker.swarm.task.name": format!("web.1.{WEB1}"),
            "com.docker.swarm.node.id": ID}},
        {"Names": [format!("/agent.{ID}.{GLOBAL}")], "Labels": {
            "com.docker.swarm.service.name": "agent",
            "com.docker.swarm.task.id": GLOBAL,
            "com.docker.swarm.task.name": format!("agent.{ID}.{GLOBAL}")}},
        {"Names": ["/backup-job"], "Labels": {}}
    ])
    .to_string()
}

/// `docker node inspect` of this node with `availability`.
fn inspect(availability: &str) -> String {
    format!(
        r#"[{{"ID":"{ID}","Version":{{"Index":15}},"Spec":{{"Role":"worker","Availability":"{availability}"}},"Status":{{"State":"ready","Addr":"10.77.0.2"}}}}]"#
    )
}

/// One line of `docker service ps --no-trunc --format '{{json .}}'`.
fn ps(id: &str, state: &str, error: &str) -> String {
    format!(
        "{{\"CurrentState\":\"{state} 2 seconds ago\",\"DesiredState\":\"Running\",\"Error\":\"{error}\",\"ID\":\"{id}\",\"Image\":\"busybox\",\"Name\":\"web.1\",\"Node\":\"psw-n3\",\"Ports\":\"\"}}\n"
    )
}

/// One line of `docker node ps --no-trunc --format '{{json .}}' ID`: web.1 on this node.
fn node_ps(id: &str, desired: &str, state: &str) -> String {
    format!(
        "{{\"CurrentState\":\"{state} 9 seconds ago\",\"DesiredState\":\"{desired}\",\"Error\":\"\",\"ID\":\"{id}\",\"Image\":\"busybox\",\"Name\":\"web.1\",\"Node\":\"psw-n2\",\"Ports\":\"\"}}\n"
    )
}

fn worker(profile: &str) -> (Fake, FakeEngine) {
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", profile);
    let e = f.engine("info-worker.json");
    (f, e)
}

fn ssh_calls(f: &Fake) -> Vec<String> {
    f.calls()
        .into_iter()
        .filter(|c| c.starts_with("ssh "))
        .collect()
}

#[test]
fn drain_returns_once_the_replicas_that_ran_here_run_elsewhere() {
    let (f, e) = worker(SSH_PROFILE);
    // Here at first; stopped by the drain; web.1 then runs as another task elsewhere.
    e.route("GET /containers/json", &[(200, &containers()), (200, "[]")]);
    f.out_after("ssh", 1, &inspect("active"));
    f.out_after("ssh", 2, &node_ps(WEB1, "Running", "Running"));
    f.out_after("ssh", 3, "");
    f.out_after("ssh", 4, &ps(WEB1, "Shutdown", ""));
    f.out_after("ssh", 5, &ps(MOVED, "Running", ""));
    f.out_after("ssh", 6, &inspect("drain"));
    f.out_after("ssh", 7, &node_ps(WEB1, "Shutdown", "Shutdown"));
    f.out("ssh", &ps(MOVED, "Running", ""));
    let o = f.run(&["--json", "drain", "--timeout", "30s"]);
    expect_code(&o, 0);
    let ssh = ssh_calls(&f);
    assert!(
        ssh[1].ends_with(&format!(
            "docker node ps --no-trunc --format '{{{{json .}}}}' -- {ID}"
        )),
        "the node's history is asked for: {ssh:?}"
    );
    assert!(
        ssh[2].ends_with(&format!("docker node update --availability drain -- {ID}")),
        "{ssh:?}"
    );
    assert!(
        ssh[3].ends_with("docker service ps --no-trunc --format '{{json .}}' -- web"),
        "only the services that ran here are asked of: {ssh:?}"
    );
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["result"], "changed");
    let facts = r["steps"][0]["facts"].to_string();
    assert!(
        facts.contains("1 replica(s) here, to run elsewhere: web.1"),
        "{facts}"
    );
    assert!(
        facts.contains("global services here: a drain stops them, they move nowhere: agent"),
        "{facts}"
    );
    assert!(
        facts.contains("no service started: a drain never moves them: backup-job"),
        "{facts}"
    );
    let actions = r["steps"][0]["actions"].as_array().unwrap();
    let wait = actions
        .iter()
        .find(|a| a["id"] == "drain.wait")
        .expect("the wait is an action");
    assert!(
        wait["duration_ms"].as_u64().unwrap() >= 1500,
        "it waited a poll: {wait}"
    );
    assert!(
        stderr(&o).contains("web: 1 left (Shutdown 2 seconds ago)"),
        "{}",
        stderr(&o)
    );
    // Drained, nothing here, web.1 runs elsewhere: a second drain asks and changes nothing.
    f.next_run();
    f.out_after("ssh", 1, &inspect("drain"));
    f.out_after("ssh", 2, &node_ps(WEB1, "Shutdown", "Shutdown"));
    let o = f.run(&["--json", "drain"]);
    expect_code(&o, 0);
    assert_eq!(ssh_calls(&f).len(), 3, "{:?}", ssh_calls(&f));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["result"], "converged");
}

#[test]
fn a_replica_that_cannot_move_ends_the_drain_with_75_naming_it_and_the_manager_s_reason() {
    let (f, e) = worker(SSH_PROFILE);
    e.route("GET /containers/json", &[(200, &containers()), (200, "[]")]);
    f.out_after("ssh", 1, &inspect("active"));
    f.out_after("ssh", 2, "");
    f.out(
        "ssh",
        &ps(
            MOVED,
            "Pending",
            "no suitable node (scheduling constraints not satisfied on 3 nodes)",
        ),
    );
    let o = f.run(&["drain", "--timeout", "3s"]);
    expect_code(&o, 75);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "web.1 (task {WEB1}): Pending 2 seconds ago: no suitable node (scheduling constraints not satisfied on 3 nodes)"
        )),
        "{err}"
    );
    assert!(
        err.contains("after 3 s, 1 task(s) that ran on node"),
        "{err}"
    );
    assert!(
        err.contains("swarmnode activate"),
        "the way back is said: {err}"
    );
}

#[test]
fn a_manager_s_line_that_is_not_one_never_counts_as_moved() {
    let (f, e) = worker(SSH_PROFILE);
    e.route("GET /containers/json", &[(200, &containers()), (200, "[]")]);
    f.out_after("ssh", 1, &inspect("drain"));
    f.out(
        "ssh",
        &format!(
            "not json\n{}",
            ps(WEB1, "Running", "").replace("\"ID\"", "\"Id\"")
        ),
    );
    let o = f.run(&["drain", "--timeout", "2s"]);
    expect_code(&o, 75);
    assert!(
        stderr(&o).contains("swarm has no task to run in its place yet"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn through_the_broker_a_node_asks_for_its_own_availability_and_tasks() {
    let profile = SSH_PROFILE.replace(r#""source": "ssh","#, r#""source": "ssh", "broker": true,"#);
    let (f, e) = worker(&profile);
    e.route("GET /containers/json", &[(200, &containers()), (200, "[]")]);
    f.out_after("ssh", 1, &inspect("active"));
    f.out_after("ssh", 2, &node_ps(WEB1, "Running", "Running"));
    f.out_after("ssh", 3, "");
    f.out_after("ssh", 5, &inspect("drain"));
    // The broker names no node but the caller's.
    f.out("ssh", &ps(MOVED, "Running", "").replace("psw-n3", ""));
    let o = f.run(&["drain", "--timeout", "30s"]);
    expect_code(&o, 0);
    let ssh = ssh_calls(&f);
    let said: Vec<&str> = ssh
        .iter()
        .map(|c| c.rsplit("-- 10.77.0.1 ").next().unwrap())
        .collect();
    assert_eq!(
        said,
        [
            format!("self {ID}"),
            format!("tasks {ID}"),
            format!("availability {ID} drain"),
            format!("tasks {ID}"),
            format!("self {ID}"),
            format!("tasks {ID}"),
            format!("tasks {ID}"),
        ],
        "the node's own requests alone, then observed again: converged"
    );
}

#[test]
fn activate_sets_the_node_active_once() {
    let (f, _e) = worker(SSH_PROFILE);
    f.out_after("ssh", 1, &inspect("drain"));
    f.out_after("ssh", 2, "");
    f.out("ssh", &inspect("active"));
    let o = f.run(&["activate"]);
    expect_code(&o, 0);
    let ssh = ssh_calls(&f);
    assert!(
        ssh[1].ends_with(&format!("docker node update --availability active -- {ID}")),
        "{ssh:?}"
    );
    f.next_run();
    expect_code(&f.run(&["activate"]), 0);
    assert_eq!(ssh_calls(&f).len(), 1, "already active: asked, nothing set");
}

#[test]
fn a_manager_drains_itself_through_its_own_engine() {
    let f = Fake::new();
    let e = f.engine("info-manager.json");
    let me: serde_json::Value = serde_json::from_str(&info("info-manager.json")).unwrap();
    let id = me["Swarm"]["NodeID"].as_str().unwrap().to_string();
    let entry = format!(
        r#"{{"ID":"{id}","Version":{{"Index":7}},"Spec":{{"Role":"manager","Availability":"active","Name":"m1"}}}}"#
    );
    e.route(
        &format!("GET /nodes/{id}"),
        &[
            (200, &entry),
            (200, &entry.replace("\"active\"", "\"drain\"")),
        ],
    );
    e.route(&format!("POST /nodes/{id}/update"), &[(200, "")]);
    e.route("GET /containers/json", &[(200, "[]")]);
    e.route("GET /tasks", &[(200, "[]")]);
    let o = f.run(&["drain"]);
    expect_code(&o, 0);
    let body = e.bodies.lock().unwrap().clone();
    let reqs = e.requests();
    let i = reqs
        .iter()
        .position(|r| r.starts_with(&format!("POST /nodes/{id}/update?version=7")))
        .expect("updated");
    let spec: serde_json::Value = serde_json::from_str(&body[i]).unwrap();
    assert_eq!(spec["Availability"], "drain");
    assert_eq!(
        spec["Name"], "m1",
        "the rest of the spec sent back as it was"
    );
    assert!(
        f.calls().iter().all(|c| !c.starts_with("ssh ")),
        "no manager asked: it is one"
    );
}

#[test]
fn a_node_out_of_a_swarm_has_nothing_to_drain() {
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", SSH_PROFILE);
    f.engine("info-inactive.json");
    let why = expect_refused(&f, &["drain"], "is not an active member of a swarm");
    assert!(why.contains("inactive"), "{why}");
}

#[test]
fn a_worker_without_a_channel_is_told_the_manager_s_command() {
    let (f, _e) = worker(
        r#"{"swarm": {"managers": ["10.77.0.1:2377"], "token": {"source": "file", "path": "/etc/swarmnode/token"}}}"#,
    );
    let o = f.run(&["--json", "drain"]);
    expect_code(&o, 65);
    let r = refusal(&o);
    assert!(
        r["remedy"]
            .as_str()
            .unwrap()
            .contains(&format!("docker node update --availability drain {ID}")),
        "{r}"
    );
}

#[test]
fn reset_drains_a_worker_before_it_leaves_unless_told_not_to() {
    let (f, e) = worker(SSH_PROFILE);
    e.route("GET /containers/json", &[(200, "[]")]);
    e.route("POST /swarm/leave", &[(200, "")]);
    f.out_after("ssh", 1, &inspect("active"));
    let o = f.run(&["reset"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    let drain = out
        .find("docker node update --availability drain")
        .expect("planned");
    let leave = out.find("POST /swarm/leave").expect("planned");
    assert!(drain < leave, "drained first: {out}");
    f.next_run();
    let o = f.run(&["reset", "--no-drain"]);
    expect_code(&o, 0);
    assert!(
        !stdout(&o).contains("--availability drain"),
        "{}",
        stdout(&o)
    );
    assert!(ssh_calls(&f).is_empty(), "{:?}", ssh_calls(&f));
}

/// The broker's side: a node sets its own availability, and reads the tasks of its own slots.
mod broker {
    use super::*;

    fn manager() -> BrokerBed {
        let f = Fake::new();
        f.file("etc/swarmnode-broker/broker.json", "{}");
        let t = std::fs::read_to_string(format!("{DOCKER_FIX}/node-inspect.json")).unwrap();
        let entry = serde_json::from_str::<serde_json::Value>(&t).unwrap()[0].to_string();
        let mine = serde_json::json!([
            {"ID": WEB1, "ServiceID": "s1s2s3s4s5s6s7s8s9s0s1s2s", "Slot": 1, "NodeID": ID,
             "DesiredState": "shutdown", "Status": {"State": "shutdown"}},
            {"ID": GLOBAL, "ServiceID": "t1t2t3t4t5t6t7t8t9t0t1t2t", "Slot": 0, "NodeID": ID,
             "DesiredState": "shutdown", "Status": {"State": "shutdown"}}
        ]);
        let wanted = serde_json::json!([
            {"ID": MOVED, "ServiceID": "s1s2s3s4s5s6s7s8s9s0s1s2s", "Slot": 1, "NodeID": "othernode0000000000000000",
             "DesiredState": "running", "Status": {"State": "pending", "Err": "no suitable node"}},
            {"ID": "other0000000000000000000x", "ServiceID": "s1s2s3s4s5s6s7s8s9s0s1s2s", "Slot": 2,
             "NodeID": "othernode0000000000000000", "DesiredState": "running", "Status": {"State": "running"}}
        ]);
        let services = r#"[{"ID":"s1s2s3s4s5s6s7s8s9s0s1s2s","Spec":{"Name":"web"}}]"#;
        let e = f.engine_with(&[
            (&format!("GET /nodes/{ID} "), &[(200, &entry)]),
            (&format!("POST /nodes/{ID}/update"), &[(200, "")]),
            ("GET /configs", &[(200, "[]")]),
            (
                "GET /tasks?filters=%7B%22node%22",
                &[(200, &mine.to_string())],
            ),
            ("GET /tasks?filters=", &[(200, &wanted.to_string())]),
            ("GET /services?filters=", &[(200, services)]),
        ]);
        BrokerBed::new(f, e)
    }

    #[test]
    fn a_node_drains_itself_and_is_told_where_its_slots_stand_without_other_nodes() {
        let m = manager();
        let o = m.ask_with(&[], "10.77.0.2", &format!("availability {ID} drain"));
        expect_code(&o, 0);
        let body = m.e.bodies.lock().unwrap().last().cloned().unwrap();
        let spec: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(spec["Availability"], "drain");
        assert_eq!(spec["Role"], "worker");
        let o = m.ask_with(&[], "10.77.0.2", &format!("tasks {ID}"));
        expect_code(&o, 0);
        let out = stdout(&o);
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1, "only the slot that ran here: {out}");
        assert_eq!(lines[0]["Name"], "web.1");
        assert_eq!(lines[0]["ID"], MOVED);
        assert_eq!(lines[0]["Error"], "no suitable node");
        assert_eq!(
            lines[0]["CurrentState"], "Pending",
            "worded as the docker CLI words it"
        );
        assert!(!out.contains("othernode"), "no other node named: {out}");
        let log = m.logged();
        assert!(
            log.iter()
                .any(|l| l.ends_with(&format!("request=\"tasks {ID}\" allowed: 1 task(s)"))),
            "{log:?}"
        );
    }

    #[test]
    fn another_address_may_not_drain_that_node() {
        let m = manager();
        for req in [format!("availability {ID} drain"), format!("tasks {ID}")] {
            let o = m.ask_with(&[], "10.77.0.9", &req);
            assert_eq!(stderr(&o), format!("Error: No such node: {ID}\n"), "{req}");
        }
        assert!(m.changes().is_empty(), "{:?}", m.changes());
    }
}
