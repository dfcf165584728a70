//! The swarm step: join the cluster and have a manager label the node.
//!
//! observe: the local engine's swarm state (`GET /info` on its socket) and, once the node is in a
//! swarm, the node as a manager sees it (`docker node inspect ID` over the token's channel).
//! plan: leave a pending join, join (token fetched at apply time, checked and pinned, sent in the
//! API request body), labels that are missing or different, `Down` nodes of the same hostname.
//! The manager channel is the token's: ssh to the manager, or the docker CLI against its API.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::host::cmd::{Cmd, CommandError};
use crate::host::swarm::{self, Info, JoinSpec, JoinVia, SwarmOp, TokenFrom};
use crate::host::{Action, Host};
use crate::profile::{ManagerAddr, Role, Swarm, TokenSource};
use crate::steps::StepPlan;

/// How long a pending node may finish its earlier join on its own before it is taken out.
const PENDING_WAIT_SECONDS: u64 = 15;

/// How long one command against a manager may take, beyond the ssh connect timeout.
const MANAGER_COMMAND_SECONDS: u64 = 30;

/// One manager reached the way the token comes: every command is `docker ARGS` run there.
struct Channel<'a> {
    /// The swarm address, HOST:PORT.
    manager: String,
    addr: &'a ManagerAddr,
    source: &'a TokenSource,
}

impl Channel<'_> {
    fn all<'a>(sw: &'a Swarm) -> Vec<Channel<'a>> {
        sw.managers
            .iter()
            .map(|m| Channel {
                manager: m.swarm_addr(),
                addr: m,
                source: &sw.token,
            })
            .collect()
    }

    /// `docker ARGS` on this manager; `None` for the file source, which has no channel.
    fn docker(&self, h: &Host, args: &[&str]) -> Option<Cmd> {
        match self.source {
            TokenSource::Ssh {
                user,
                identity_file,
                known_hosts_file,
                port,
                connect_timeout_seconds,
            } => {
                let mut c = Cmd::new("ssh").args([
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    &format!("ConnectTimeout={connect_timeout_seconds}"),
                    "-o",
                    "StrictHostKeyChecking=yes",
                ]);
                if let Some(k) = known_hosts_file {
                    c = c.args(["-o", &format!("UserKnownHostsFile={}", h.tool_path(k))]);
                }
                if let Some(i) = identity_file {
                    c = c.args(["-o", "IdentitiesOnly=yes", "-i", &h.tool_path(i)]);
                }
                // ssh hands the remote side one command line: quote each argument for its shell.
                let remote = args
                    .iter()
                    .map(|a| crate::host::cmd::sh_quote(a).into_owned());
                Some(
                    c.args([
                        "-p",
                        &port.to_string(),
                        "-l",
                        user,
                        "--",
                        self.addr.host(),
                        "docker",
                    ])
                    .args(remote),
                )
            }
            TokenSource::Tls {
                ca_file,
                cert_file,
                key_file,
                port,
            } => Some(
                Cmd::new("docker")
                    .args([
                        "-H",
                        &format!("tcp://{}:{port}", self.addr.host_for_url()),
                        "--tlsverify",
                        "--tlscacert",
                        &h.tool_path(ca_file),
                        "--tlscert",
                        &h.tool_path(cert_file),
                        "--tlskey",
                        &h.tool_path(key_file),
                    ])
                    .args(args.iter().copied()),
            ),
            TokenSource::Tcp { port, .. } => Some(
                Cmd::new("docker")
                    .args(["-H", &format!("tcp://{}:{port}", self.addr.host_for_url())])
                    .args(args.iter().copied()),
            ),
            TokenSource::File { .. } => None,
        }
    }

    fn timeout_seconds(&self) -> u64 {
        match self.source {
            TokenSource::Ssh {
                connect_timeout_seconds,
                ..
            } => connect_timeout_seconds.get() + MANAGER_COMMAND_SECONDS,
            _ => MANAGER_COMMAND_SECONDS,
        }
    }
}

/// A node as `docker node inspect` shows it (the parts swarmnode reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Node {
    #[serde(rename = "ID")]
    pub id: String,
    pub spec: NodeSpec,
    pub description: NodeDescription,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodeSpec {
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    pub role: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodeDescription {
    #[serde(default)]
    pub hostname: String,
}

/// One line of `docker node ls --format '{{json .}}'`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodeLine {
    #[serde(rename = "ID")]
    pub id: String,
    pub hostname: String,
    /// Ready | Down | Unknown | Disconnected
    pub status: String,
    /// "" for workers; Leader | Reachable | Unreachable for managers.
    #[serde(default)]
    pub manager_status: String,
}

pub fn parse_node_ls(text: &str) -> serde_json::Result<Vec<NodeLine>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect()
}

/// Labels the manager must add or change (others on the node are left alone).
pub fn labels_to_set(
    want: &BTreeMap<String, String>,
    have: &BTreeMap<String, String>,
) -> Vec<String> {
    want.iter()
        .filter(|(k, v)| have.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

pub fn plan(h: &Host, sw: &Swarm) -> Result<StepPlan> {
    let mut p = StepPlan::new("swarm");
    match &sw.token {
        TokenSource::Tcp { port, .. } => p.warnings.push(format!(
            "the join token comes from the managers' plaintext Engine API (port {port}): anyone \
             on the network can take it, and root on the managers with it (allow_insecure_tcp)"
        )),
        TokenSource::File { path } => drop(swarm::open_token_file(h, path)?),
        _ => {}
    }
    let info = swarm::info(h)?;
    let st = &info.swarm;
    let want_labels = || {
        sw.labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    match st.local_node_state.as_str() {
        "inactive" => {
            p.facts
                .push(format!("{} is not in a swarm: joining", info.name));
            p.actions.push(join_action(h, sw, &mut p.facts));
            if !sw.labels.is_empty() {
                p.facts.push(format!(
                    "once joined, a manager labels the node: {}",
                    want_labels()
                ));
            }
        }
        "pending" | "error" if !st.node_id.is_empty() || st.control_available => {
            // A member of its swarm that does not reach its managers right now (a reboot while
            // they are away, a manager whose raft part is restarting): waited for, never left.
            p.facts.push(format!(
                "{} is {} but is a member of its swarm (node {}{}): waiting for it, never \
                 taking it out",
                info.name,
                st.local_node_state,
                st.node_id,
                if st.error.is_empty() {
                    String::new()
                } else {
                    format!(", {}", st.error)
                }
            ));
            p.actions.push(Action::swarm(
                "swarm.wait",
                "an established node reaches its managers again on its own",
                SwarmOp::Wait {
                    node_id: st.node_id.clone(),
                    seconds: sw.join_timeout_seconds.get(),
                },
            ));
        }
        "pending" | "error" => {
            p.facts.push(format!(
                "{} is {} without a NodeID (an earlier join did not finish{}): out of it, then \
                 joining again",
                info.name,
                st.local_node_state,
                if st.error.is_empty() {
                    String::new()
                } else {
                    format!(": {}", st.error)
                }
            ));
            p.actions.push(Action::swarm(
                "swarm.leave",
                "out of the unfinished join",
                SwarmOp::Leave {
                    wait_seconds: if st.local_node_state == "pending" {
                        PENDING_WAIT_SECONDS.min(sw.join_timeout_seconds.get())
                    } else {
                        0
                    },
                },
            ));
            p.actions.push(join_action(h, sw, &mut p.facts));
        }
        "locked" => {
            return Err(Error::Refused(format!(
                "swarm: the swarm on {} is locked (autolock); unlock it with `docker swarm unlock` \
                 and the cluster's unlock key, then run again",
                info.name
            )));
        }
        "active" => active(h, sw, &info, &mut p)?,
        other => {
            return Err(Error::Failed(format!(
                "swarm: the engine reports an unknown swarm state {other:?}"
            )));
        }
    }
    Ok(p)
}

fn join_action(h: &Host, sw: &Swarm, facts: &mut Vec<String>) -> Action {
    let channels = Channel::all(sw);
    let role = sw.role.as_str();
    let via = channels
        .iter()
        .map(|c| JoinVia {
            manager: c.manager.clone(),
            token_from: match (&sw.token, c.docker(h, &["swarm", "join-token", "-q", role])) {
                (TokenSource::File { path }, _) => TokenFrom::File { path: path.clone() },
                (_, Some(cmd)) => TokenFrom::Command {
                    argv: cmd.argv,
                    timeout_seconds: c.timeout_seconds(),
                },
                (_, None) => unreachable!("every source but file has a channel"),
            },
        })
        .collect();
    let advertise_addr = sw.advertise_addr.clone().or_else(|| {
        let c = channels.first()?;
        match local_addr_toward(c.addr.host()) {
            Ok(a) => {
                facts.push(format!(
                    "advertise address {a}: this host's address toward {}",
                    c.addr.host()
                ));
                Some(a)
            }
            Err(e) => {
                facts.push(format!(
                    "advertise address left to docker: no local address toward {}: {e}",
                    c.addr.host()
                ));
                None
            }
        }
    });
    Action::swarm(
        "swarm.join",
        format!("join the swarm as {role}"),
        SwarmOp::Join(JoinSpec {
            role: role.to_string(),
            listen_addr: sw.listen_addr.clone(),
            advertise_addr,
            via,
            ca_hash: sw.ca_hash.as_ref().map(|c| c.hex().to_string()),
            timeout_seconds: sw.join_timeout_seconds.get(),
        }),
    )
}

/// The source address the kernel picks toward `host` (a UDP connect sends nothing).
fn local_addr_toward(host: &str) -> std::io::Result<String> {
    let s = std::net::UdpSocket::bind(if host.contains(':') {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    })?;
    s.connect((host, 2377))?;
    Ok(s.local_addr()?.ip().to_string())
}

fn active(h: &Host, sw: &Swarm, info: &Info, p: &mut StepPlan) -> Result<()> {
    let st = &info.swarm;
    p.facts.push(format!(
        "{} is in a swarm: node {} at {}{}",
        info.name,
        st.node_id,
        st.node_addr,
        if st.control_available {
            " (a manager)"
        } else {
            ""
        }
    ));
    if matches!(sw.token, TokenSource::File { .. }) {
        p.facts.push(
            "the file token source has no channel to a manager: which cluster the node is in \
             is not checked"
                .into(),
        );
        return Ok(());
    }
    let (ch, node) = inspect_self(h, sw, info)?;
    let role = sw.role.as_str();
    if node.spec.role != role {
        p.warnings.push(format!(
            "the profile says {role}, but this node is a {} in the swarm; swarmnode does not \
             promote or demote: `docker node {} {}` on a manager",
            node.spec.role,
            if sw.role == Role::Manager {
                "promote"
            } else {
                "demote"
            },
            node.id
        ));
    }
    if let Some(n) = st.managers.filter(|_| st.control_available) {
        p.facts.push(format!("{n} manager(s) in the cluster"));
        if n % 2 == 0 {
            p.warnings.push(format!(
                "{n} managers: an even number tolerates no more failures than {} (quorum \
                 needs a majority); add or remove one",
                n - 1
            ));
        }
    }
    let have = node.spec.labels.clone().unwrap_or_default();
    let set = labels_to_set(&sw.labels, &have);
    if !set.is_empty() {
        let mut args = vec!["node", "update"];
        for l in &set {
            args.extend(["--label-add", l.as_str()]);
        }
        args.push(&node.id);
        let cmd = ch.docker(h, &args).expect("not the file source");
        p.actions.push(Action::run(
            "swarm.labels",
            format!("labels missing or different: {}", set.join(" ")),
            cmd,
        ));
    }
    if sw.remove_stale_nodes {
        stale(h, &ch, &node, p)?;
    }
    Ok(())
}

/// Asks the managers in order for this node; the first one that answers decides.
fn inspect_self<'a>(h: &Host, sw: &'a Swarm, info: &Info) -> Result<(Channel<'a>, Node)> {
    let id = &info.swarm.node_id;
    let mut tried = Vec::new();
    for ch in Channel::all(sw) {
        let cmd = ch.docker(h, &["node", "inspect", id]).expect("a channel");
        match ask(h, &ch, &cmd)? {
            Ok(text) => {
                let mut nodes: Vec<Node> = crate::host::cmd::parse_json(&cmd, &text)?;
                if nodes.is_empty() {
                    return Err(Error::Failed(format!("`{cmd}` printed no node")));
                }
                return Ok((ch, nodes.remove(0)));
            }
            Err((code, stderr)) if swarm::no_such_node(code, &stderr, id) => {
                let theirs: Vec<String> = info
                    .swarm
                    .remote_managers
                    .iter()
                    .flatten()
                    .map(|m| m.addr.clone())
                    .collect();
                return Err(Error::Refused(format!(
                    "swarm: {} is active in another swarm (its managers: {}): manager {} does not \
                     know node {id}; to move it, drain it there and run `docker swarm leave` on \
                     it (`--force` on a manager), then run swarmnode again",
                    info.name,
                    if theirs.is_empty() {
                        "unknown".into()
                    } else {
                        theirs.join(", ")
                    },
                    ch.manager
                )));
            }
            Err((code, stderr)) => tried.push(format!(
                "{} (exit {code}): {}",
                ch.manager,
                stderr.trim().replace('\n', " / ")
            )),
        }
    }
    Err(Error::Unavailable(format!(
        "swarm: no manager answered, so the node's labels cannot be checked: {}; check that a \
         manager is up and reachable, then run again",
        tried.join("; ")
    )))
}

/// Runs a command on a manager: Ok(stdout), or Err((exit status, stderr)) for an answer worth
/// trying elsewhere (a timeout reads as 124). A manager that cannot be authenticated stops here.
#[allow(clippy::type_complexity)]
fn ask(h: &Host, ch: &Channel, cmd: &Cmd) -> Result<std::result::Result<String, (i32, String)>> {
    match h
        .runner
        .output_timeout(cmd, Duration::from_secs(ch.timeout_seconds()))
    {
        Ok(o) if o.code == 0 => Ok(Ok(o.stdout)),
        Ok(o) => {
            if swarm::classify(o.code, &o.stderr) == swarm::Fault::NotAuthenticated {
                return Err(Error::Refused(format!(
                    "swarm: manager {} could not be authenticated (or did not accept us): \
                     `{cmd}`: {}; check the keys, known hosts or certificates of swarm.token",
                    ch.manager,
                    o.stderr.trim().replace('\n', " / ")
                )));
            }
            Ok(Err((o.code, o.stderr)))
        }
        Err(e @ CommandError::Timeout { .. }) => Ok(Err((124, e.to_string()))),
        Err(e) => Err(e.into()),
    }
}

fn stale(h: &Host, ch: &Channel, me: &Node, p: &mut StepPlan) -> Result<()> {
    let cmd = ch
        .docker(h, &["node", "ls", "--format", "{{json .}}"])
        .expect("a channel");
    let text = match ask(h, ch, &cmd)? {
        Ok(t) => t,
        Err((code, e)) => {
            return Err(Error::Unavailable(format!(
                "swarm: `{cmd}` failed (exit {code}): {}",
                e.trim()
            )));
        }
    };
    let nodes = parse_node_ls(&text).map_err(|source| CommandError::Parse {
        cmd: cmd.to_string(),
        source,
    })?;
    let hostname = &me.description.hostname;
    for n in nodes
        .iter()
        .filter(|n| &n.hostname == hostname && n.id != me.id)
    {
        if n.status != "Down" {
            p.facts.push(format!(
                "another node named {hostname} ({}) is {}: left alone",
                n.id, n.status
            ));
        } else if !n.manager_status.is_empty() {
            p.warnings.push(format!(
                "a Down manager named {hostname} ({}) is left alone: demote it first \
                 (`docker node demote {}`)",
                n.id, n.id
            ));
        } else {
            let cmd = ch.docker(h, &["node", "rm", &n.id]).expect("a channel");
            p.actions.push(Action::run(
                "swarm.remove-stale",
                format!("a Down node with this hostname ({hostname}) and another ID"),
                cmd,
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/docker/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn node_inspect_and_ls_of_a_real_manager() {
        let nodes: Vec<Node> = serde_json::from_str(&fixture("node-inspect.json")).unwrap();
        assert_eq!(nodes[0].id, "l8s526d06sna2jckb05a27o7r");
        assert_eq!(nodes[0].spec.role, "worker");
        assert_eq!(nodes[0].description.hostname, "psw-n2");
        assert_eq!(nodes[0].spec.labels.as_ref().map(|l| l.len()), Some(0));
        let ls = parse_node_ls(&fixture("node-ls.jsonl")).unwrap();
        assert_eq!(ls.len(), 2);
        assert_eq!(
            (ls[0].hostname.as_str(), ls[0].manager_status.as_str()),
            ("psw-n1", "Leader")
        );
        assert_eq!(
            (ls[1].status.as_str(), ls[1].manager_status.as_str()),
            ("Ready", "")
        );
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_node_parsers_panic(t in "\\PC{0,200}") {
            let _ = parse_node_ls(&t);
            let _ = serde_json::from_str::<Vec<Node>>(&t);
        }
    }

    #[test]
    fn only_missing_or_different_labels_are_set() {
        let want: BTreeMap<_, _> = [("function", "production"), ("rack", "b 2")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        let have: BTreeMap<_, _> = [("function", "production"), ("other", "x")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        assert_eq!(labels_to_set(&want, &have), vec!["rack=b 2"]);
        assert!(labels_to_set(&want, &want).is_empty());
    }

    #[test]
    fn ssh_channel_quotes_for_the_remote_shell_and_keeps_options() {
        let sw: Swarm = serde_json::from_str(
            r#"{"managers": ["m1", "[fd00::1]:2377"], "token": {"source": "ssh",
                "identity_file": "/root/.ssh/id", "known_hosts_file": "/etc/kh"}}"#,
        )
        .unwrap();
        let h = Host::new(std::path::Path::new("/"));
        let ch = Channel::all(&sw);
        assert_eq!(ch[0].manager, "m1:2377");
        assert_eq!(ch[1].manager, "[fd00::1]:2377");
        let c = ch[0]
            .docker(&h, &["node", "update", "--label-add", "rack=b 2", "ID"])
            .unwrap();
        assert_eq!(
            c.to_string(),
            "ssh -o BatchMode=yes -o ConnectTimeout=10 -o StrictHostKeyChecking=yes \
             -o UserKnownHostsFile=/etc/kh -o IdentitiesOnly=yes -i /root/.ssh/id -p 22 -l root \
             -- m1 docker node update --label-add ''\\''rack=b 2'\\''' ID"
        );
        let tls: Swarm = serde_json::from_str(
            r#"{"managers": ["m1:2377"], "token": {"source": "tls", "ca_file": "/c/ca.pem",
                "cert_file": "/c/cert.pem", "key_file": "/c/key.pem"}}"#,
        )
        .unwrap();
        let c = Channel::all(&tls)[0]
            .docker(&h, &["swarm", "join-token", "-q", "worker"])
            .unwrap();
        assert_eq!(
            c.to_string(),
            "docker -H tcp://m1:2376 --tlsverify --tlscacert /c/ca.pem --tlscert /c/cert.pem \
             --tlskey /c/key.pem swarm join-token -q worker"
        );
    }
}
