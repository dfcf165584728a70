//! The channel to the managers: each manager reached the way the token comes (ssh, or the docker
//! CLI against its TLS or plaintext API), and what swarmnode asks there ([`Ask`]), said in
//! docker's words or, with the broker, in the broker's grammar. What the answers mean is
//! [`crate::host::managers`].

use crate::error::Result;
use crate::host::Host;
use crate::host::cmd::Cmd;
use crate::host::managers::ManagerCmd;
use crate::profile::{ManagerAddr, Swarm, TokenSource};

/// How long one command against a manager may take, beyond the ssh connect timeout.
const MANAGER_COMMAND_SECONDS: u64 = 30;

/// What swarmnode asks of a manager.
pub enum Ask<'a> {
    /// The join token for a role (`worker`, `manager`).
    JoinToken(&'a str),
    /// A node's entry, as `docker node inspect` prints it.
    Node(&'a str),
    /// Labels added or changed on a node, each `KEY=VALUE`.
    Label(&'a str, &'a [String]),
    /// Every node, one JSON object a line.
    Nodes,
    /// A node's entry removed (`force`: whatever its state).
    Remove { id: &'a str, force: bool },
    /// The broker's `remove-stale ID`: `Down` workers with this node's hostname and address and
    /// another ID removed (docker's words have no such request).
    RemoveStale(&'a str),
    /// The broker's `enroll ID KEY`: this node's own public key (`TYPE BASE64`) bound to its ID.
    Enroll(&'a str, &'a str),
    /// The broker's `leave-entry ID`: this node's own entry removed once it is Down.
    LeaveEntry(&'a str),
    /// A node's availability set (`active`, `drain`).
    Availability(&'a str, &'a str),
    /// A node's tasks, its history too, one JSON object a line (`docker node ps`; the broker's
    /// `tasks` answers for the slots that ran on it).
    NodeTasks(&'a str),
    /// The tasks of these services, one JSON object a line (`docker service ps`, history too:
    /// a replacement waits as `Ready` while the task it replaces stops); the broker answers for
    /// the slots that ran on the node alone, finding the services itself.
    Tasks(&'a str, &'a [String]),
}

impl Ask<'_> {
    /// docker's arguments for it (after `docker`); none for the broker's own request.
    fn docker_args(&self) -> Option<Vec<String>> {
        let v = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        Some(match self {
            Ask::JoinToken(role) => v(&["swarm", "join-token", "-q", role]),
            Ask::Node(id) => v(&["node", "inspect", "--", id]),
            Ask::Label(id, labels) => {
                let mut a = v(&["node", "update"]);
                for l in *labels {
                    a.extend(["--label-add".to_string(), l.clone()]);
                }
                a.extend(v(&["--", id]));
                a
            }
            Ask::Nodes => v(&["node", "ls", "--format", "{{json .}}"]),
            Ask::Remove { id, force: false } => v(&["node", "rm", "--", id]),
            Ask::Remove { id, force: true } => v(&["node", "rm", "--force", "--", id]),
            Ask::Availability(id, to) => v(&["node", "update", "--availability", to, "--", id]),
            Ask::NodeTasks(id) => v(&[
                "node",
                "ps",
                "--no-trunc",
                "--format",
                "{{json .}}",
                "--",
                id,
            ]),
            Ask::Tasks(_, services) => {
                let mut a = v(&[
                    "service",
                    "ps",
                    "--no-trunc",
                    "--format",
                    "{{json .}}",
                    "--",
                ]);
                a.extend(services.iter().cloned());
                a
            }
            Ask::RemoveStale(_) | Ask::Enroll(..) | Ask::LeaveEntry(_) => return None,
        })
    }

    /// The broker's request for it (src/broker/grammar.rs), when the broker does it: the token,
    /// the node's own entry, its labels. Listing and removing nodes it does not.
    fn broker_words(&self) -> Option<Vec<String>> {
        let v = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        match self {
            Ask::JoinToken(role) => Some(v(&["join-token", role])),
            Ask::Node(id) => Some(v(&["self", id])),
            Ask::Label(id, labels) => {
                let mut w = v(&["label", id]);
                w.extend(labels.iter().cloned());
                Some(w)
            }
            Ask::RemoveStale(id) => Some(v(&["remove-stale", id])),
            Ask::Enroll(id, key) => {
                let mut w = v(&["enroll", id]);
                w.extend(key.split(' ').map(str::to_string));
                Some(w)
            }
            Ask::LeaveEntry(id) => Some(v(&["leave-entry", id])),
            Ask::Availability(id, to) => Some(v(&["availability", id, to])),
            Ask::Tasks(id, _) | Ask::NodeTasks(id) => Some(v(&["tasks", id])),
            Ask::Nodes | Ask::Remove { .. } => None,
        }
    }
}

/// Which of the node's ssh keys a channel logs in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `identity_file`: the node's own key (or the one key of the older setup).
    Own,
    /// `bootstrap_identity_file`: for the token and the enrolment only.
    Bootstrap,
}

/// One manager reached the way the token comes.
pub struct Channel<'a> {
    /// The swarm address, HOST:PORT.
    pub manager: String,
    pub addr: &'a ManagerAddr,
    source: &'a TokenSource,
    key: Key,
}

impl Channel<'_> {
    /// The managers in order, each reached the token's way; none for the file source, which has
    /// no channel to a manager.
    pub fn all<'a>(sw: &'a Swarm) -> Vec<Channel<'a>> {
        if matches!(sw.token, TokenSource::File { .. }) {
            return Vec::new();
        }
        sw.managers
            .iter()
            .map(|m| Channel {
                manager: m.swarm_addr(),
                addr: m,
                source: &sw.token,
                key: Key::Own,
            })
            .collect()
    }

    /// The managers reached with the bootstrap key (the broker with a bootstrap_identity_file);
    /// none without one.
    pub fn bootstrap<'a>(sw: &'a Swarm) -> Vec<Channel<'a>> {
        if bootstrap_key(sw).is_none() {
            return Vec::new();
        }
        Channel::all(sw)
            .into_iter()
            .map(|c| Channel {
                key: Key::Bootstrap,
                ..c
            })
            .collect()
    }

    /// The managers the join token comes from: with the bootstrap key where there is one.
    pub fn for_token<'a>(sw: &'a Swarm) -> Vec<Channel<'a>> {
        let b = Channel::bootstrap(sw);
        if b.is_empty() { Channel::all(sw) } else { b }
    }

    /// The command that asks this manager (the channel's files are taken under --root).
    pub fn cmd(&self, h: &Host, ask: &Ask) -> Result<Cmd> {
        let unspoken = |by: &str, what: String| {
            crate::error::Refusal::new("swarm", by.to_string(), format!("it does not do {what}"))
                .remedy("do it on a manager by hand")
        };
        if self.broker() {
            let words = ask.broker_words().ok_or_else(|| {
                let args = ask.docker_args().unwrap_or_default();
                unspoken("the broker", format!("`docker {}`", args.join(" ")))
            })?;
            return self.ssh(h, &words);
        }
        let args = ask.docker_args().ok_or_else(|| {
            unspoken(
                "the docker CLI",
                format!(
                    "`{}` (a request of the broker's)",
                    ask.broker_words().unwrap_or_default().join(" ")
                ),
            )
        })?;
        Ok(match self.source {
            TokenSource::Ssh { .. } => {
                let words: Vec<String> =
                    std::iter::once("docker".to_string()).chain(args).collect();
                self.ssh(h, &words)?
            }
            TokenSource::Tls {
                ca_file,
                cert_file,
                key_file,
                port,
            } => Cmd::new("docker")
                .args([
                    "-H",
                    &format!("tcp://{}:{port}", self.addr.host_for_url()),
                    "--tlsverify",
                    "--tlscacert",
                    &h.tool_path(ca_file)?,
                    "--tlscert",
                    &h.tool_path(cert_file)?,
                    "--tlskey",
                    &h.tool_path(key_file)?,
                ])
                .args(args.iter().cloned()),
            TokenSource::Tcp { port, .. } => Cmd::new("docker")
                .args(["-H", &format!("tcp://{}:{port}", self.addr.host_for_url())])
                .args(args.iter().cloned()),
            TokenSource::File { .. } => unreachable!("Channel::all makes none for the file source"),
        })
    }

    /// Whether this channel speaks the broker's grammar instead of `docker ...`.
    pub fn broker(&self) -> bool {
        matches!(self.source, TokenSource::Ssh { broker: true, .. })
    }

    /// `ssh ... MANAGER WORDS`: BatchMode, strict host keys, a connect timeout; every word
    /// quoted for the remote shell (ssh hands it one command line; the broker's words are plain
    /// and arrive as they are).
    fn ssh(&self, h: &Host, words: &[String]) -> Result<Cmd> {
        let TokenSource::Ssh {
            user,
            identity_file,
            known_hosts_file,
            port,
            connect_timeout_seconds,
            bootstrap_identity_file,
            ..
        } = self.source
        else {
            unreachable!("called for the ssh source only")
        };
        let identity_file = match self.key {
            Key::Bootstrap => bootstrap_identity_file.as_ref().or(identity_file.as_ref()),
            Key::Own => identity_file.as_ref(),
        };
        let mut c = Cmd::new("ssh").args([
            "-o",
            "BatchMode=yes",
            "-o",
            &format!("ConnectTimeout={connect_timeout_seconds}"),
            "-o",
            "StrictHostKeyChecking=yes",
        ]);
        if let Some(k) = known_hosts_file {
            c = c.args(["-o", &format!("UserKnownHostsFile={}", h.tool_path(k)?)]);
        }
        if let Some(i) = identity_file {
            c = c.args(["-o", "IdentitiesOnly=yes", "-i", &h.tool_path(i)?]);
        }
        let remote = words
            .iter()
            .map(|a| crate::host::cmd::sh_quote(a).into_owned());
        Ok(
            c.args(["-p", &port.to_string(), "-l", user, "--", self.addr.host()])
                .args(remote),
        )
    }

    pub fn timeout_seconds(&self) -> u64 {
        match self.source {
            TokenSource::Ssh {
                connect_timeout_seconds,
                ..
            } => connect_timeout_seconds.get() + MANAGER_COMMAND_SECONDS,
            _ => MANAGER_COMMAND_SECONDS,
        }
    }
}

/// The bootstrap key's path, when the profile has one (with the broker).
pub fn bootstrap_key(sw: &Swarm) -> Option<&str> {
    match &sw.token {
        TokenSource::Ssh {
            broker: true,
            bootstrap_identity_file: Some(b),
            ..
        } => Some(b),
        _ => None,
    }
}

/// The node's own key's path, when the profile has a bootstrap key (the node makes and enrols
/// its own key then).
pub fn own_key(sw: &Swarm) -> Option<&str> {
    match &sw.token {
        TokenSource::Ssh {
            identity_file: Some(i),
            ..
        } if bootstrap_key(sw).is_some() => Some(i),
        _ => None,
    }
}

/// `ask` of each manager, as planned calls for [`crate::host::managers::call`] or a
/// [`crate::host::swarm::SwarmOp::OnManager`] action; manager `first` (the one that answered
/// last) comes first.
pub fn calls(h: &Host, chans: &[Channel], ask: &Ask, first: usize) -> Result<Vec<ManagerCmd>> {
    let mut order: Vec<usize> = (0..chans.len()).collect();
    if first < chans.len() {
        order.remove(first);
        order.insert(0, first);
    }
    order
        .into_iter()
        .map(|i| {
            let c = &chans[i];
            Ok(ManagerCmd {
                manager: c.manager.clone(),
                argv: c.cmd(h, ask)?.argv,
                timeout_seconds: c.timeout_seconds(),
            })
        })
        .collect()
}
