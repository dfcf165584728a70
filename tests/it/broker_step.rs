//! The broker step on a manager (issue 28) against a fake root: the user, the broker's
//! configuration, sshd's configuration for the user alone (a drop-in, or a block at the end of an
//! EL8 sshd_config), tried with `sshd -T` before anything is written, sshd reloaded only when it
//! changed (and when a stopped run owes it), this manager's host keys published; a second apply
//! changes nothing; reset takes it all away.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;

const HOST_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILtv/mH/hRrsgbaDsBzKre1XG3B2u2eDCSyE1h1d4it0";
const PROFILE: &str =
    r#"{"broker": {"labels": {"function": ["production", "test"]}, "networks": ["10.77.0.0/24"]}}"#;
const USER: &str = "swarmnode-broker";
/// info-manager.json's node.
const MANAGER_ID: &str = "jvby28rgzd1e3pg8flz6k7hj8";

fn root_of(f: &Fake) -> String {
    f.root.display().to_string()
}

/// The command sshd runs for the user, as the step writes it (this binary copied under the root).
fn command(f: &Fake) -> String {
    format!(
        "{}/usr/local/sbin/swarmnode --root {}",
        root_of(f),
        root_of(f)
    )
}

/// What `sshd -T -C user=swarmnode-broker,...` prints (OpenSSH 9.2's words) when the block is in
/// effect; `change` edits it.
fn effective(f: &Fake, change: &dyn Fn(String) -> String) -> String {
    let r = root_of(f);
    change(format!(
        "port 22\npidfile /run/sshd.pid\nauthorizedkeysfile none\n\
         authorizedkeyscommand {} broker authorized-keys %u\n\
         authorizedkeyscommanduser {USER}\nauthenticationmethods publickey\n\
         pubkeyauthentication yes\nallowtcpforwarding no\nallowagentforwarding no\n\
         allowstreamlocalforwarding no\nx11forwarding no\npermittunnel no\npermittty no\n\
         permituserenvironment no\nhostkey {r}/etc/ssh/ssh_host_ed25519_key\n",
        command(f)
    ))
}

/// A manager: the docker group, an sshd_config (`include`: with the drop-in folder, as Debian
/// and EL9 ship it; without it, as EL8), a host key, sshd -T as wanted, a manager engine.
fn manager(include: bool) -> (Fake, FakeEngine) {
    let f = Fake::new();
    f.file("etc/swarmnode/profile.json", PROFILE);
    f.file("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    f.file("etc/group", "root:x:0:\ndocker:x:997:\n");
    let inc = if include {
        format!("Include {}/etc/ssh/sshd_config.d/*.conf\n", root_of(&f))
    } else {
        String::new()
    };
    f.file(
        "etc/ssh/sshd_config",
        &format!("{inc}PermitRootLogin prohibit-password\nUsePAM yes\n"),
    );
    std::fs::set_permissions(
        f.root.join("etc/ssh/sshd_config"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::create_dir_all(f.root.join("etc/ssh/sshd_config.d")).unwrap();
    f.file(
        "etc/ssh/ssh_host_ed25519_key.pub",
        &format!("{HOST_KEY} root@psw-n1\n"),
    );
    f.file("usr/lib/systemd/system/sshd.service", "[Service]\n");
    f.out("sshd", &effective(&f, &|s| s));
    converging_tools(&f);
    let e = f.engine("info-manager.json");
    // Before the publication none; after it, the config the step made (its name is the keys').
    e.route(
        "GET /configs",
        &[(200, "[]"), (200, &published().to_string())],
    );
    e.route("POST /configs/create", &[(201, r#"{"ID": "hk1"}"#)]);
    e.route("DELETE /configs/", &[(200, "")]);
    (f, e)
}

/// The config the step publishes: named by the manager's node ID and its keys' hash.
fn published() -> serde_json::Value {
    use sha2::Digest;
    let hex: String = sha2::Sha256::digest(format!("{HOST_KEY}\n"))
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let data = {
        use std::io::Write;
        let mut c = std::process::Command::new("base64")
            .arg("-w0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin
            .take()
            .unwrap()
            .write_all(format!("{HOST_KEY}\n").as_bytes())
            .unwrap();
        String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap()
    };
    serde_json::json!([{"ID": "hk1", "Version": {"Index": 3},
        "Spec": {"Name": format!("swarmnode-hostkeys-{MANAGER_ID}-{hex}"),
                 "Labels": {"swarmnode.kind": "hostkeys", "swarmnode.node": MANAGER_ID,
                            "swarmnode.hostname": "psw-n1", "swarmnode.addr": "10.77.0.1",
                            "swarmnode.port": "22", "swarmnode.created": "1796470200"},
                 "Data": data}}])
}

/// useradd and userdel that change the root's passwd and group as the real ones would (and
/// record their call), and the real install (it copies the binary under the root).
fn converging_tools(f: &Fake) {
    let script = |body: &str| {
        format!(
            "#!/bin/sh\necho \"${{0##*/}} $*\" >> \"$FAKE/calls\"\nfor u in \"$@\"; do :; done\nR={}\n{body}\n",
            f.root.display()
        )
    };
    let write = |name: &str, text: String| {
        let p = f.fake.join("bin").join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    write(
        "useradd",
        script(
            r#"echo "$u:x:998:998:swarmnode broker:/:/bin/sh" >> $R/etc/passwd; /bin/sed -i "s/^docker:x:997:$/docker:x:997:$u/" $R/etc/group"#,
        ),
    );
    write("userdel", script(r#"/bin/sed -i "/^$u:/d" $R/etc/passwd"#));
    let _ = std::fs::remove_file(f.fake.join("bin/install"));
    std::os::unix::fs::symlink("/usr/bin/install", f.fake.join("bin/install")).unwrap();
}

fn dropin(f: &Fake) -> Option<String> {
    f.read("etc/ssh/sshd_config.d/50-swarmnode-broker.conf")
}

#[test]
fn a_manager_converges_in_one_apply_and_a_second_changes_nothing() {
    let (f, e) = manager(true);
    let o = f.run(&["apply"]);
    expect_code(&o, 0);
    let calls = f.calls().join("\n");
    let r = root_of(&f);
    assert!(
        calls.contains(&format!(
            "useradd --prefix {r} --system --shell /bin/sh --home-dir / --no-create-home \
             --password * --groups docker --comment swarmnode broker {USER}"
        )),
        "{calls}"
    );
    assert!(
        calls
            .lines()
            .any(|l| l.starts_with("sshd -T -f ") && l.contains("swarmnode-sshd-")),
        "the candidate was tried before it was written: {calls}"
    );
    assert!(
        calls.contains("systemctl try-reload-or-restart sshd.service"),
        "{calls}"
    );
    let d = dropin(&f).expect("the drop-in");
    assert!(d.contains(&format!("Match User {USER}\n")), "{d}");
    assert!(
        d.contains(&format!(
            "    AuthorizedKeysCommand {} broker authorized-keys %u\n",
            command(&f)
        )),
        "{d}"
    );
    let mode = |p: &str| {
        std::fs::metadata(f.root.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(
        mode("etc/ssh/sshd_config.d/50-swarmnode-broker.conf"),
        0o600
    );
    assert_eq!(mode("etc/swarmnode-broker/broker.json"), 0o644);
    let cfg: serde_json::Value =
        serde_json::from_str(&f.read("etc/swarmnode-broker/broker.json").unwrap()).unwrap();
    assert_eq!(cfg["user"], USER);
    assert_eq!(cfg["networks"][0], "10.77.0.0/24");
    assert_eq!(
        f.read("etc/ssh/sshd_config").unwrap().lines().count(),
        3,
        "sshd_config untouched"
    );
    assert_eq!(
        f.read("var/lib/swarmnode/broker.user").as_deref(),
        Some(&*format!("{USER}\n"))
    );
    assert!(
        f.read("var/lib/swarmnode/sshd.pending").is_none(),
        "the reload was done"
    );
    // The host key, published with this manager's node ID and address.
    let posts: Vec<String> = e
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("POST"))
        .collect();
    assert_eq!(posts, ["POST /configs/create HTTP/1.1"]);
    let post = e
        .requests()
        .iter()
        .position(|r| r.starts_with("POST"))
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&e.bodies.lock().unwrap()[post]).unwrap();
    assert_eq!(body["Labels"]["swarmnode.kind"], "hostkeys");
    assert_eq!(body["Labels"]["swarmnode.node"], MANAGER_ID);
    assert_eq!(body["Labels"]["swarmnode.addr"], "10.77.0.1");
    assert_eq!(body["Name"], published()[0]["Spec"]["Name"]);
    // The second apply: the user there, the key published; nothing changes, sshd not reloaded.
    f.next_run();
    let o = f.run(&["apply"]);
    expect_code(&o, 0);
    assert!(f.mutating_calls().is_empty(), "{:?}", f.mutating_calls());
    let changes = e
        .requests()
        .into_iter()
        .filter(|r| !r.starts_with("GET"))
        .count();
    assert_eq!(changes, 1, "{:?}", e.requests());
}

#[test]
fn without_a_drop_in_folder_the_block_goes_at_the_end_of_sshd_config() {
    let (f, _e) = manager(false);
    let o = f.run(&["apply"]);
    expect_code(&o, 0);
    assert!(dropin(&f).is_none());
    let main = f.read("etc/ssh/sshd_config").unwrap();
    assert!(
        main.starts_with("PermitRootLogin prohibit-password\nUsePAM yes\n# BEGIN swarmnode broker"),
        "{main}"
    );
    assert!(main.ends_with("# END swarmnode broker\n"), "{main}");
    assert!(
        f.read("etc/ssh/sshd_config.swarmnode.orig").is_some(),
        "the original kept"
    );
}

#[test]
fn a_configuration_sshd_would_not_take_or_that_another_block_overrides_is_refused_unwritten() {
    let (f, e) = manager(true);
    f.rc(
        "sshd",
        255,
        "/tmp/x line 12: Bad configuration option: AuthorizedKeysComand\n",
    );
    expect_refused(&f, &["apply"], "sshd does not take the configuration");
    assert!(dropin(&f).is_none());
    let (f, e2) = manager(true);
    f.out(
        "sshd",
        &effective(&f, &|s| {
            s.replace("allowtcpforwarding no", "allowtcpforwarding yes")
        }),
    );
    expect_refused(&f, &["apply"], "allowtcpforwarding is \"yes\", not \"no\"");
    assert!(dropin(&f).is_none());
    assert!(
        !e.requests()
            .iter()
            .chain(&e2.requests())
            .any(|r| r.starts_with("POST"))
    );
}

#[test]
fn a_stopped_run_still_owes_sshd_its_reload() {
    let (f, _e) = manager(true);
    let o = f.run(&["apply"]);
    expect_code(&o, 0);
    // As if the run had stopped after the write: the record says a reload is owed.
    f.file("var/lib/swarmnode/sshd.pending", "reload\n");
    f.next_run();
    let o = f.run(&["apply"]);
    expect_code(&o, 0);
    let calls = f.calls().join("\n");
    assert!(
        calls.contains("systemctl try-reload-or-restart sshd.service"),
        "{calls}"
    );
    assert!(f.read("var/lib/swarmnode/sshd.pending").is_none());
}

#[test]
fn a_broker_user_that_cannot_run_the_broker_or_no_docker_group_is_refused() {
    let (f, _e) = manager(true);
    f.file(
        "etc/passwd",
        &format!("root:x:0:0::/root:/bin/bash\n{USER}:x:998:998::/:/usr/sbin/nologin\n"),
    );
    expect_refused(&f, &["apply"], "its shell is /usr/sbin/nologin");
    let (f, _e) = manager(true);
    f.file("etc/group", "root:x:0:\n");
    expect_refused(&f, &["apply"], "there is no docker group");
}

#[test]
fn reset_takes_the_manager_side_away() {
    let (f, e) = manager(false);
    let o = f.run(&["apply"]);
    expect_code(&o, 0);
    f.next_run();
    // The swarm's last manager (reset --force takes it out): its host keys go before it leaves.
    e.route(
        "GET /nodes ",
        &[(200, &format!(r#"[{{"ID":"{MANAGER_ID}","Spec":{{"Role":"manager"}},"ManagerStatus":{{"Leader":true,"Reachability":"reachable"}}}}]"#))],
    );
    e.route("POST /swarm/leave", &[(200, "")]);
    e.route(
        "GET /info ",
        &[
            (200, &info("info-manager.json")),
            (200, &info("info-inactive.json")),
        ],
    );
    let o = f.run(&["reset", "--yes", "--keep-storage", "--force"]);
    expect_code(&o, 0);
    let reqs = e.requests();
    let gone = reqs
        .iter()
        .position(|r| r == "DELETE /configs/hk1 HTTP/1.1");
    let left = reqs.iter().position(|r| r.starts_with("POST /swarm/leave"));
    assert!(
        gone < left && gone.is_some(),
        "the host keys go first: {reqs:?}"
    );
    let calls = f.calls().join("\n");
    assert!(
        calls.contains(&format!("userdel --prefix {} {USER}", root_of(&f))),
        "{calls}"
    );
    assert!(
        calls.contains("systemctl try-reload-or-restart sshd.service"),
        "{calls}"
    );
    assert!(
        e.requests()
            .iter()
            .any(|r| r == "DELETE /configs/hk1 HTTP/1.1"),
        "{:?}",
        e.requests()
    );
    assert_eq!(
        f.read("etc/ssh/sshd_config").unwrap(),
        "PermitRootLogin prohibit-password\nUsePAM yes\n",
        "swarmnode's block out, the rest as it was"
    );
    assert!(f.read("etc/ssh/sshd_config.swarmnode.orig").is_none());
    assert!(f.read("etc/swarmnode-broker/broker.json").is_none());
    assert!(f.read("var/lib/swarmnode/broker.user").is_none());
    assert!(!f.read("etc/passwd").unwrap().contains(USER));
}

/// The profile's broker section and the broker's file are two types (the file may be written by
/// hand, without a user); what the step writes is read back by the broker as it was meant.
#[test]
fn what_the_step_writes_the_broker_reads_as_meant() {
    let p = swarmnode::profile::Profile::parse(
        std::path::Path::new("m.json"),
        r#"{"broker": {"user": "sb", "labels": {"function": ["production", "test"]}, "manager_tokens": true, "networks": ["10.0.0.0/16"]}}"#,
    )
    .unwrap();
    let text = swarmnode::steps::broker_setup::config_text(p.broker.as_ref().unwrap());
    let c = swarmnode::broker::config::parse(&text).unwrap();
    assert_eq!(c.user.as_deref(), Some("sb"));
    assert!(c.manager_tokens);
    assert_eq!(c.refuses_label("function", "test"), None);
    assert!(c.refuses_label("function", "gpu").is_some());
    assert!(c.allows_client("10.0.3.4".parse().unwrap()));
    assert!(!c.allows_client("10.1.0.1".parse().unwrap()));
}
