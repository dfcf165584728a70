//! The channel to the managers: each manager reached the way the token comes (ssh, or the docker
//! CLI against its TLS or plaintext API), every command `docker ARGS` run there, and what its
//! answers mean.

use crate::error::Result;
use crate::host::Host;
use crate::host::cmd::Cmd;
use crate::host::managers::ManagerCmd;
use crate::profile::{ManagerAddr, Swarm, TokenSource};

/// How long one command against a manager may take, beyond the ssh connect timeout.
const MANAGER_COMMAND_SECONDS: u64 = 30;

/// One manager reached the way the token comes: every command is `docker ARGS` run there.
pub struct Channel<'a> {
    /// The swarm address, HOST:PORT.
    pub manager: String,
    pub addr: &'a ManagerAddr,
    source: &'a TokenSource,
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
            })
            .collect()
    }

    /// `docker ARGS` on this manager (the channel's files are taken under --root).
    pub fn docker(&self, h: &Host, args: &[&str]) -> Result<Cmd> {
        Ok(match self.source {
            TokenSource::Ssh { broker: true, .. } => self.ssh(h, &broker_words(args)?)?,
            TokenSource::Ssh { .. } => {
                let words: Vec<&str> = std::iter::once("docker")
                    .chain(args.iter().copied())
                    .collect();
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
                .args(args.iter().copied()),
            TokenSource::Tcp { port, .. } => Cmd::new("docker")
                .args(["-H", &format!("tcp://{}:{port}", self.addr.host_for_url())])
                .args(args.iter().copied()),
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
    fn ssh(&self, h: &Host, words: &[&str]) -> Result<Cmd> {
        let TokenSource::Ssh {
            user,
            identity_file,
            known_hosts_file,
            port,
            connect_timeout_seconds,
            ..
        } = self.source
        else {
            unreachable!("called for the ssh source only")
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

/// The broker's request for what `docker ARGS` would do (src/broker/grammar.rs): the token, the
/// node's own entry, its labels. Anything else is not something the broker does.
fn broker_words<'a>(args: &[&'a str]) -> Result<Vec<&'a str>> {
    match args {
        ["swarm", "join-token", "-q", role] => Ok(vec!["join-token", role]),
        ["node", "inspect", "--", id] => Ok(vec!["self", id]),
        ["node", "update", rest @ .., "--", id]
            if !rest.is_empty()
                && rest.len() % 2 == 0
                && rest.chunks(2).all(|p| p[0] == "--label-add") =>
        {
            let mut w = vec!["label", *id];
            w.extend(rest.chunks(2).map(|p| p[1]));
            Ok(w)
        }
        _ => Err(crate::error::Refusal::new(
            "swarm",
            "the broker",
            format!("it does not do `docker {}`", args.join(" ")),
        )
        .remedy("do it on a manager by hand")
        .into()),
    }
}

/// `docker ARGS` on each manager, as planned calls for [`managers::call`] or a
/// [`crate::host::swarm::SwarmOp::OnManager`] action; manager `first` (the one that answered
/// last) comes first.
pub fn calls(h: &Host, chans: &[Channel], args: &[&str], first: usize) -> Result<Vec<ManagerCmd>> {
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
                argv: c.docker(h, args)?.argv,
                timeout_seconds: c.timeout_seconds(),
            })
        })
        .collect()
}
