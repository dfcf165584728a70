//! The requests, each answered for its caller: a token, a node's own entry, its labels, its
//! stale entries, its key's enrolment, its entry removed. Every one through the local engine's
//! API, every ID put in a URL checked first, every allowed one logged before it is served.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use crate::error::exit;
use crate::host::engine_api::DockerApi;
use crate::host::swarm::node::Node;

use crate::host::clock;

/// How many times an update of the caller's own entry is read and sent when swarmkit says the
/// entry changed in between.
const FRESH_TRIES: u32 = 5;
use crate::host::swarm::keys::{self, Created, Kind, NewKey, Stored};
use crate::vocab::PublicKey;

use super::config::Config;
use super::grammar::{self, NodeId, Role};
use super::{Caller, ENGINE_TIMEOUT, Journal, Outcome, failed, not_yours, refused, served};

/// How long a node's entry without an address (it has just joined) is waited for.
const ADDR_WAIT: Duration = Duration::from_secs(5);

/// How long leave-entry waits for a node that has just left to be Down.
const LEAVE_WAIT: Duration = Duration::from_secs(10);

pub(super) struct Broker<'a> {
    pub api: DockerApi,
    pub cfg: Config,
    pub client: IpAddr,
    pub caller: Caller,
    pub journal: &'a Journal,
    pub deadline: Instant,
}

/// A node entry as the engine gives it (docker's node JSON, the host's one model), and the whole
/// of it, printed for `self`.
struct Entry {
    node: Node,
    raw: Value,
}

fn entry(raw: Value) -> Result<Entry, Outcome> {
    let node: Node = serde_json::from_value(raw.clone())
        .map_err(|e| failed(exit::FAILURE, format!("the engine's node entry: {e}")))?;
    Ok(Entry { node, raw })
}

fn same_host(a: &str, b: IpAddr) -> bool {
    let norm = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    a.parse::<IpAddr>().is_ok_and(|a| norm(a) == norm(b))
}

impl Broker<'_> {
    /// An engine request's bound: [`ENGINE_TIMEOUT`], cut to what is left of the run.
    fn timeout(&self) -> Duration {
        ENGINE_TIMEOUT.min(self.deadline.saturating_duration_since(Instant::now()))
    }

    /// `GET path` on the local engine, as JSON; `None` when the engine does not know it (404).
    fn get(&self, path: &str) -> Result<Option<Value>, Outcome> {
        let r = self
            .api
            .request("GET", path, None, self.timeout())
            .map_err(|e| failed(exit::UNAVAILABLE, format!("the local engine: {e}")))?;
        match r.status {
            200 => serde_json::from_slice(&r.body)
                .map(Some)
                .map_err(|e| failed(exit::FAILURE, format!("GET {path}: {e}"))),
            404 => Ok(None),
            s => Err(failed(
                if s == 503 {
                    exit::UNAVAILABLE
                } else {
                    exit::FAILURE
                },
                format!("GET {path}: HTTP {s}: {}", r.message()),
            )),
        }
    }

    pub(super) fn join_token(&self, role: Role, out: &mut dyn Write) -> Result<Outcome, Outcome> {
        if role == Role::Manager && !self.cfg.manager_tokens {
            return Err(refused(
                "manager tokens are not handed out (manager_tokens in the broker's config)",
            ));
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Tokens {
            worker: String,
            manager: String,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct SwarmInfo {
            join_tokens: Tokens,
        }
        // No core dump or ptrace of this process while a token is in its memory.
        let _guard = crate::host::secret::NonDumpable::new();
        let mut r = self
            .api
            .request("GET", "/swarm", None, self.timeout())
            .map_err(|e| failed(exit::UNAVAILABLE, format!("the local engine: {e}")))?;
        let parsed = if r.status == 200 {
            serde_json::from_slice::<SwarmInfo>(&r.body).map_err(|e| e.to_string())
        } else {
            Err(format!("HTTP {}: {}", r.status, r.message()))
        };
        r.body.fill(0);
        let s = parsed.map_err(|e| failed(exit::UNAVAILABLE, format!("GET /swarm: {e}")))?;
        let (mut t, mut other) = match role {
            Role::Worker => (s.join_tokens.worker, s.join_tokens.manager),
            Role::Manager => (s.join_tokens.manager, s.join_tokens.worker),
        };
        let written = self
            .journal
            .allowed(&format!("allowed: a {} token", role.as_str()))
            .and_then(|()| {
                writeln!(out, "{t}")
                    .and_then(|_| out.flush())
                    .map_err(|e| failed(exit::FAILURE, e.to_string()))
            });
        // SAFETY: zeroing the bytes of a String keeps it valid UTF-8.
        unsafe {
            t.as_bytes_mut().fill(0);
            other.as_bytes_mut().fill(0);
        }
        written.map(|()| served())
    }

    /// The caller's own entry: one whose address is the ssh client's. Any other ID (unknown, or
    /// another node's) is answered alike, as `docker node inspect` answers an unknown one.
    fn own(&self, id: &NodeId) -> Result<Entry, Outcome> {
        if let Caller::Node { node, .. } = &self.caller
            && node != id
        {
            return Err(not_yours(
                id,
                format!("the key is bound to node {node}: a node's key acts for its node alone"),
            ));
        }
        let mut n = self.entry_of(id)?;
        // Right after a join the managers may not know the node's address yet: waited for.
        let until = Instant::now() + ADDR_WAIT;
        while n.node.status.addr.is_empty() && Instant::now() < until.min(self.deadline) {
            std::thread::sleep(Duration::from_millis(300));
            n = self.entry_of(id)?;
        }
        if n.node.id != id.as_str() {
            return Err(not_yours(
                id,
                format!(
                    "{id} is not a node's ID (the engine answered for {:?})",
                    grammar::shown(&n.node.id)
                ),
            ));
        }
        if n.node.status.addr.is_empty() {
            // Still none after the wait (a loaded manager, a rack joining at once): no other
            // node's address either, so not a refusal; the node asks again later.
            return Err(failed(
                exit::TEMPORARY,
                format!("node {id} has no address yet (it has just joined?): try again later"),
            ));
        }
        if !same_host(&n.node.status.addr, self.client) {
            return Err(not_yours(
                id,
                format!(
                    "node {id} is at {}, not at {}: a node may ask only about itself",
                    n.node.status.addr, self.client
                ),
            ));
        }
        Ok(n)
    }

    fn entry_of(&self, id: &NodeId) -> Result<Entry, Outcome> {
        let raw = self
            .get(&format!("/nodes/{id}"))?
            .ok_or_else(|| not_yours(id, format!("no node {id}")))?;
        entry(raw)
    }

    /// The caller's own entry, whole, as `docker node inspect` prints it.
    pub(super) fn self_entry(&self, id: &NodeId, out: &mut dyn Write) -> Result<Outcome, Outcome> {
        let n = self.own(id)?;
        self.journal.allowed("allowed")?;
        let text = serde_json::to_string(&[&n.raw]).expect("JSON serializes");
        writeln!(out, "{text}").map_err(|e| failed(exit::FAILURE, e.to_string()))?;
        Ok(served())
    }

    pub(super) fn label(
        &self,
        id: &NodeId,
        labels: &BTreeMap<String, String>,
    ) -> Result<Outcome, Outcome> {
        for (k, v) in labels {
            if let Some(why) = self.cfg.refuses_label(k, v) {
                return Err(refused(why));
            }
        }
        self.update_fresh(id, &|spec| {
            let mut have = spec.labels.take().unwrap_or_default();
            for (k, v) in labels {
                have.insert(k.clone(), v.clone());
            }
            spec.labels = Some(have);
        })
    }

    /// The caller's own entry read, changed by `change` and sent back; read and sent again when
    /// swarmkit says the entry changed in between ("update out of sequence": a node that just
    /// joined has its status updated many times), at most [`FRESH_TRIES`] times, a short
    /// jittered wait apart. Asked here, so the node does not pay another connection for it.
    fn update_fresh(
        &self,
        id: &NodeId,
        change: &dyn Fn(&mut crate::host::swarm::node::Spec),
    ) -> Result<Outcome, Outcome> {
        let mut tries = 1;
        loop {
            let n = self.own(id)?;
            let mut spec = n.node.spec;
            change(&mut spec);
            match self.update_own(id, n.node.version.index, &spec) {
                Err(o) if tries < FRESH_TRIES && o.says("out of sequence") => {
                    tries += 1;
                    let wait = crate::host::managers::jitter(Duration::from_millis(200));
                    crate::host::signals::pause(wait)
                        .map_err(|e| failed(exit::FAILURE, e.to_string()))?;
                }
                r => return r,
            }
        }
    }

    /// The caller's own entry's spec sent back changed, logged first. The ID asked for (own()
    /// checked that the entry is its), never the engine's text, goes into the URL.
    fn update_own(
        &self,
        id: &NodeId,
        version: u64,
        spec: &crate::host::swarm::node::Spec,
    ) -> Result<Outcome, Outcome> {
        let body = serde_json::to_vec(spec).expect("JSON serializes");
        let path = format!("/nodes/{id}/update?version={version}");
        self.journal.allowed("allowed")?;
        let r = self
            .api
            .request("POST", &path, Some(&body), self.timeout())
            .map_err(|e| failed(exit::UNAVAILABLE, format!("the local engine: {e}")))?;
        if r.status != 200 {
            return Err(failed(
                exit::UNAVAILABLE,
                format!("POST {path}: HTTP {}: {}", r.status, r.message()),
            ));
        }
        Ok(served())
    }

    /// The caller's own availability set (`drain`: swarm stops its tasks and starts them
    /// elsewhere; `active`: it takes tasks again). Already so: nothing is sent.
    pub(super) fn availability(
        &self,
        id: &NodeId,
        to: grammar::Availability,
    ) -> Result<Outcome, Outcome> {
        let n = self.own(id)?;
        if n.node.availability() == to.as_str() {
            self.journal.allowed("allowed: already so")?;
            return Ok(served());
        }
        self.update_fresh(id, &|spec| {
            spec.rest.insert(
                "Availability".into(),
                Value::String(to.as_str().to_string()),
            );
        })
    }

    /// The tasks wanted running in the slots that ran on the caller's node, one JSON object a
    /// line as `docker service ps --format '{{json .}}'` prints them; a task's node named only
    /// when it is the caller's own (its hostname), never another's.
    pub(super) fn tasks(&self, id: &NodeId, out: &mut dyn Write) -> Result<Outcome, Outcome> {
        let n = self.own(id)?;
        let lines = crate::host::swarm::tasks::slots_on_manager(
            &self.api,
            id.as_str(),
            &n.node.description.hostname,
            self.timeout(),
        )
        .map_err(|e| failed(exit::UNAVAILABLE, crate::error::chain(&e)))?;
        self.journal
            .allowed(&format!("allowed: {} task(s)", lines.len()))?;
        for l in &lines {
            let text = serde_json::to_string(l).expect("JSON serializes");
            writeln!(out, "{text}").map_err(|e| failed(exit::FAILURE, e.to_string()))?;
        }
        Ok(served())
    }

    /// `Down` workers with the caller's hostname and address and another ID, removed; their IDs
    /// printed. An entry whose ID is not a node ID is never put in a URL: it is left alone.
    pub(super) fn remove_stale(
        &self,
        id: &NodeId,
        out: &mut dyn Write,
    ) -> Result<Outcome, Outcome> {
        let me = self.own(id)?;
        let all = self
            .get("/nodes")?
            .ok_or_else(|| failed(exit::UNAVAILABLE, "GET /nodes: not found (not a manager?)"))?;
        let list = all.as_array().cloned().unwrap_or_default();
        let mut stale = Vec::new();
        let mut odd = 0;
        for raw in list {
            let n = entry(raw)?;
            // A hostname is whatever a node says it is: the caller's address must match too.
            let (n, me) = (&n.node, &me.node);
            if n.description.hostname != me.description.hostname
                || !same_host(&n.status.addr, self.client)
                || n.id == me.id
                || n.status.state != "down"
                || n.spec.role != "worker"
            {
                continue;
            }
            match NodeId::parse(&n.id) {
                Ok(stale_id) => stale.push(stale_id),
                Err(_) => odd += 1,
            }
        }
        let names: Vec<String> = stale.iter().map(NodeId::to_string).collect();
        self.journal.allowed(&format!(
            "allowed: removing {}{}",
            if names.is_empty() {
                "nothing".to_string()
            } else {
                names.join(" ")
            },
            if odd > 0 {
                format!(" ({odd} entry(s) whose ID is not a node ID left alone)")
            } else {
                String::new()
            }
        ))?;
        let stored = if stale.is_empty() {
            Vec::new()
        } else {
            self.keys()?
        };
        for n in &stale {
            self.remove_node(n, &stored)?;
            writeln!(out, "{n}").map_err(|e| failed(exit::FAILURE, e.to_string()))?;
        }
        Ok(served())
    }

    /// The node's entry removed, and the key bound to it with it.
    fn remove_node(&self, n: &NodeId, stored: &[Stored]) -> Result<(), Outcome> {
        let path = format!("/nodes/{n}");
        let r = self
            .api
            .request("DELETE", &path, None, self.timeout())
            .map_err(|e| failed(exit::UNAVAILABLE, format!("the local engine: {e}")))?;
        if r.status != 200 && r.status != 404 {
            return Err(failed(
                exit::UNAVAILABLE,
                format!("DELETE {path}: HTTP {}: {}", r.status, r.message()),
            ));
        }
        for k in stored
            .iter()
            .filter(|k| matches!(&k.kind, Kind::Node { node } if node == n))
        {
            keys::remove(&self.api, &k.id, self.timeout())
                .map_err(|e| failed(exit::UNAVAILABLE, crate::error::chain(&e)))?;
        }
        Ok(())
    }

    /// The keys kept in the swarm (skipped ones, not whole, are left alone).
    fn keys(&self) -> Result<Vec<Stored>, Outcome> {
        keys::list(&self.api, self.timeout())
            .map(|(k, _)| k)
            .map_err(|e| failed(exit::UNAVAILABLE, crate::error::chain(&e)))
    }

    /// Whether the caller's key is still one the swarm keeps. sshd checked it at login only: a
    /// connection opened before a `revoke` runs further sessions without asking again.
    pub(super) fn still_kept(&self) -> Result<(), Outcome> {
        let fp_of = |k: &Stored, fp: &str| k.keys.iter().any(|p| p.fingerprint() == fp);
        let kept = match &self.caller {
            Caller::Address => return Ok(()),
            Caller::Bootstrap { key, expires } => self.keys()?.iter().any(|k| {
                matches!(k.kind, Kind::Bootstrap { expires: e } if e == *expires) && fp_of(k, key)
            }),
            Caller::Node { node, key } => self
                .keys()?
                .iter()
                .any(|k| matches!(&k.kind, Kind::Node { node: n } if n == node) && fp_of(k, key)),
        };
        if kept {
            Ok(())
        } else {
            Err(refused(
                "the key is not kept in the swarm any more (revoked, or replaced): it asks \
                 nothing",
            ))
        }
    }

    /// A bootstrap key's request: this node's own key bound to its node ID. Only for the node at
    /// the client's address, only one key per node (the swarm refuses a second config of the
    /// name), and a key bound to no other node. Asked again with the same key: done already.
    pub(super) fn enroll(&self, id: &NodeId, key: &PublicKey) -> Result<Outcome, Outcome> {
        let me = self.own(id)?;
        let fp = key.fingerprint();
        let stored = self.keys()?;
        // A key the swarm keeps already as a bootstrap key (or a manager's host key) is never a
        // node's: bound, it would outlive the bootstrap key's expiry.
        if let Some(k) = stored
            .iter()
            .find(|k| !matches!(k.kind, Kind::Node { .. }) && k.keys.contains(key))
        {
            return Err(refused(format!(
                "the key {fp} is kept as a {} key: a node enrols a key of its own",
                k.kind.word()
            )));
        }
        let bound = |k: &&Stored| matches!(k.kind, Kind::Node { .. }) && k.keys.contains(key);
        if let Some(other) = stored.iter().find(bound) {
            if matches!(&other.kind, Kind::Node { node } if node == id) {
                self.journal
                    .allowed(&format!("allowed: {fp} is bound to {id} already"))?;
                return Ok(served());
            }
            return Err(refused(format!(
                "the key {fp} is bound to another node: each node enrols a key of its own"
            )));
        }
        let new = NewKey::node(
            key,
            id,
            &me.node.description.hostname,
            &self.client.to_string(),
            clock::now(),
        );
        self.journal
            .allowed(&format!("allowed: binding {fp} to node {id}"))?;
        match keys::create(&self.api, &new, self.timeout())
            .map_err(|e| failed(exit::UNAVAILABLE, crate::error::chain(&e)))?
        {
            Created::Made => Ok(served()),
            Created::Exists => Err(refused(format!(
                "node {id} is bound to another key already: on a manager, `swarmnode broker \
                 revoke {id}` if that key is lost, then enrol again"
            ))),
        }
    }

    /// A node's own key's request, reset's last: its entry removed once it is Down (it has left
    /// the swarm), with the key bound to it. Printed: the ID.
    pub(super) fn leave_entry(&self, id: &NodeId, out: &mut dyn Write) -> Result<Outcome, Outcome> {
        // A node that has just left is Down within moments: waited for, a while.
        let until = Instant::now() + LEAVE_WAIT;
        let mut me = self.own(id)?;
        while me.node.status.state != "down" && Instant::now() < until.min(self.deadline) {
            std::thread::sleep(Duration::from_millis(500));
            me = self.own(id)?;
        }
        if me.node.status.state != "down" {
            // The managers mark a node that left Down when its heartbeats stop (some 15 s):
            // temporary, and the node asks again.
            return Err(failed(
                exit::TEMPORARY,
                format!(
                    "node {id} is {}, not down yet: it has not left, or has just left (its \
                     heartbeats stop within seconds); ask again",
                    me.node.status.state
                ),
            ));
        }
        let stored = self.keys()?;
        self.journal
            .allowed(&format!("allowed: removing {id} and its key"))?;
        self.remove_node(id, &stored)?;
        writeln!(out, "{id}").map_err(|e| failed(exit::FAILURE, e.to_string()))?;
        Ok(served())
    }
}
