//! swarmnode's own state: every record it keeps under /var/lib/swarmnode, and its lock, declared
//! once here with its path, its format and what it is for; the typed reader of each (a record is
//! data read from disk: checked before anything acts on it, refused with its record and line
//! when it is not what swarmnode writes, and read only when root alone can have written it:
//! [`Host::read_record`]); and the writer (the action that writes it, or the host's own
//! bookkeeping for `created` and `moved`). `reset`, the man page's FILES and the docs take the
//! list from [`ALL`].

use serde::{Deserialize, Serialize};

use crate::error::{Refusal, Result};
use crate::host::swarm::backup::Manifest;
use crate::host::{Action, Host};
use crate::vocab::{Driver, NodeId};

/// Where the records live: written exactly as asked (no original kept), never listed as created.
pub const DIR: &str = "/var/lib/swarmnode/";

/// One record: where it is, what is in it, and what it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub path: &'static str,
    pub format: &'static str,
    pub what: &'static str,
    /// When `reset` removes it.
    pub reset: Reset,
}

/// When `reset` removes a record: once what it speaks of is undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    /// Never: the report of the reset itself, the lock.
    Kept,
    /// With the volumes, in the storage phase (not with --keep-storage).
    Storage,
    /// With the broker's setup on a manager, in the broker phase.
    Broker,
    /// In the state phase, with the first-boot unit.
    State,
    /// Last of all, in the order of [`ALL`]: until then they say what is swarmnode's.
    Last,
}

pub const REPORT: Record = Record {
    path: "/var/lib/swarmnode/report.json",
    format: "JSON, as --json prints it (no file contents, no token)",
    what: "the last run's report",
    reset: Reset::Kept,
};
pub const CREATED: Record = Record {
    path: "/var/lib/swarmnode/created",
    format: "host paths, one a line; a directory ends in /",
    what: "files and directories swarmnode created, for reset to remove",
    reset: Reset::Last,
};
pub const MOVED: Record = Record {
    path: "/var/lib/swarmnode/moved",
    format: "host paths, one a line",
    what: "files swarmnode moved aside to NAME.bk, for reset to put back",
    reset: Reset::Last,
};
pub const STORAGE: Record = Record {
    path: "/var/lib/swarmnode/storage.json",
    format: "JSON: driver, device, volume_group, volume",
    what: "what the storage step made, for the engine step, check and reset",
    reset: Reset::Storage,
};
pub const FIRSTBOOT_DONE: Record = Record {
    path: "/var/lib/swarmnode/firstboot.done",
    format: "a stamp",
    what: "the first boot finished; remove it to run the first-boot unit again",
    reset: Reset::State,
};
pub const ENGINE_PENDING: Record = Record {
    path: "/var/lib/swarmnode/engine.pending",
    format: "`reload` and/or `restart`, one a line",
    what: "what docker is still owed after its configuration changed (a run stopped in between)",
    reset: Reset::State,
};
pub const STALE_ASKED: Record = Record {
    path: "/var/lib/swarmnode/stale.asked",
    format: "a node ID",
    what: "the node ID for which stale entries were looked for (the broker asked, or the node list read)",
    reset: Reset::State,
};
pub const RESET_NODE: Record = Record {
    path: "/var/lib/swarmnode/reset.node",
    format: "a node ID",
    what: "the node's ID, recorded by reset before it leaves, to remove its entry even after a stop",
    reset: Reset::State,
};
pub const BROKER_USER: Record = Record {
    path: "/var/lib/swarmnode/broker.user",
    format: "a user name",
    what: "the broker's user, made by swarmnode (reset removes it; one it did not make stays)",
    reset: Reset::Broker,
};
pub const SSHD_PENDING: Record = Record {
    path: "/var/lib/swarmnode/sshd.pending",
    format: "a stamp",
    what: "sshd is still owed a reload after its configuration changed (a run stopped in between)",
    reset: Reset::Broker,
};
pub const ENROLLED: Record = Record {
    path: "/var/lib/swarmnode/enrolled",
    format: "a node ID and a key fingerprint",
    what: "the node ID this node's own key is bound to on the managers (the broker's enrolment)",
    reset: Reset::State,
};
pub const LABELLED: Record = Record {
    path: "/var/lib/swarmnode/labelled",
    format: "a node ID and the SHA-256 of the labels",
    what: "the node ID a manager labelled as the profile wants, and those labels' digest: a converged run asks the managers nothing",
    reset: Reset::State,
};
pub const RESET_LEFT: Record = Record {
    path: "/var/lib/swarmnode/reset.left",
    format: "a stamp",
    what: "reset's swarm phase is done",
    reset: Reset::Last,
};
pub const MIGRATE: Record = Record {
    path: "/var/lib/swarmnode/migrate.json",
    format: "JSON: the driver moved to, the node ID, whether to make the node active after",
    what: "a storage migration under way (migrate-storage), until it has finished",
    reset: Reset::Storage,
};
pub const BACKUP: Record = Record {
    path: "/var/lib/swarmnode/backup.json",
    format: "JSON: the backup's manifest (swarm and node IDs, the managers, the engine's version, \
             autolock, the archive)",
    what: "a backup under way: written before docker stops for it, removed once docker manages \
           again (a run stopped in between starts docker on the next)",
    reset: Reset::State,
};
pub const RESTORE: Record = Record {
    path: "/var/lib/swarmnode/restore.json",
    format: "JSON: the archive, its node ID, whether its state is in place",
    what: "a restore under way, until the swarm is re-formed",
    reset: Reset::State,
};
pub const LOCK: Record = Record {
    path: "/run/swarmnode.lock",
    format: "the pid of the run that holds it",
    what: "one changing run at a time",
    reset: Reset::Kept,
};

/// Every record, in the order reset removes those of a phase (`created` last of all).
pub const ALL: [Record; 17] = [
    REPORT,
    STORAGE,
    MIGRATE,
    BACKUP,
    RESTORE,
    BROKER_USER,
    SSHD_PENDING,
    ENROLLED,
    LABELLED,
    FIRSTBOOT_DONE,
    ENGINE_PENDING,
    RESET_NODE,
    STALE_ASKED,
    RESET_LEFT,
    MOVED,
    CREATED,
    LOCK,
];

impl Record {
    /// Is it there (a stamp)?
    pub fn exists(&self, h: &Host) -> Result<bool> {
        h.exists(self.path)
    }

    /// The action that writes it (mode 0600), with `content`.
    pub fn write(&self, id: &str, why: &str, content: String, previous: Option<String>) -> Action {
        Action::write(id, why, self.path, 0o600, content, previous)
    }

    /// The action that removes it.
    pub fn remove(&self, id: &str, why: &str) -> Action {
        Action::remove(id, why, self.path)
    }

    /// Its line `line` (from 1) is not what swarmnode writes: refused, with the record and line.
    fn refused(
        &self,
        step: &str,
        line: Option<usize>,
        text: &str,
        why: String,
    ) -> crate::error::Error {
        Refusal::record(step, self.path, line, text, why).into()
    }
}

/// `migrate.json`: a migration to overlay2 under way, written before its first change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrateRecord {
    /// Always `overlay2`.
    pub to: Driver,
    /// The node's swarm ID when it was in a swarm: it must come back with it.
    pub node_id: Option<String>,
    /// The migration drained the node: it makes it active again at the end.
    pub activate: bool,
}

impl MigrateRecord {
    /// What an earlier run recorded, checked: anything else is refused, never acted on.
    pub fn read(h: &Host) -> Result<Option<MigrateRecord>> {
        let Some(text) = h.read_record(MIGRATE.path)? else {
            return Ok(None);
        };
        let bad = |why: String| MIGRATE.refused("migrate", None, &text, why);
        let r: MigrateRecord = serde_json::from_str(&text)
            .map_err(|e| bad(format!("it is not a migration record: {e}")))?;
        if r.to != Driver::Overlay2 {
            return Err(bad(format!(
                "it moves to {}, and only overlay2 is moved to",
                r.to
            )));
        }
        if let Some(id) = &r.node_id {
            NodeId::parse(id).map_err(bad)?;
        }
        Ok(Some(r))
    }

    pub fn text(&self) -> String {
        serde_json::to_string_pretty(self).expect("serializable") + "\n"
    }
}

/// `backup.json`: the manifest of a backup under way, checked.
pub fn backup_under_way(h: &Host) -> Result<Option<Manifest>> {
    let Some(text) = h.read_record(BACKUP.path)? else {
        return Ok(None);
    };
    Manifest::parse(&text)
        .map(Some)
        .map_err(|why| BACKUP.refused("backup", None, &text, why))
}

/// `restore.json`: a restore under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreRecord {
    /// The archive being restored (a host path).
    pub archive: String,
    /// The node its state is of.
    pub node_id: String,
    /// docker's data root (a host path) the state goes under.
    pub docker_root: String,
    /// The state is in place under docker's data root.
    pub placed: bool,
    /// The swarm is re-formed from it.
    pub reformed: bool,
    /// The address the re-formed swarm's manager advertises: `--advertise-addr`, else the
    /// archived node's when it is this host's; none: docker picks.
    pub advertise_addr: Option<String>,
}

impl RestoreRecord {
    pub fn read(h: &Host) -> Result<Option<RestoreRecord>> {
        let Some(text) = h.read_record(RESTORE.path)? else {
            return Ok(None);
        };
        let bad = |why: String| RESTORE.refused("restore", None, &text, why);
        let r: RestoreRecord = serde_json::from_str(&text)
            .map_err(|e| bad(format!("it is not a restore record: {e}")))?;
        NodeId::parse(&r.node_id).map_err(bad)?;
        for path in [&r.archive, &r.docker_root] {
            if crate::vocab::not_normalised(path).is_some() || path == "/" {
                return Err(bad(format!("{path:?} is not a normalised path")));
            }
        }
        Ok(Some(r))
    }

    pub fn text(&self) -> String {
        serde_json::to_string_pretty(self).expect("serializable") + "\n"
    }
}

/// `storage.json`: what the storage step made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageRecord {
    pub driver: Driver,
    pub device: String,
    pub volume_group: String,
    /// devicemapper: the pool's device (`/dev/mapper/docker-thinpool`); overlay2: the mounted LV.
    pub volume: String,
}

impl StorageRecord {
    /// What an earlier run recorded, checked: a record that is not what the storage step writes
    /// is refused, never acted on.
    pub fn read(h: &Host) -> Result<Option<StorageRecord>> {
        let Some(text) = h.read_record(STORAGE.path)? else {
            return Ok(None);
        };
        let bad = |why: String| STORAGE.refused("storage", None, &text, why);
        let r: StorageRecord = serde_json::from_str(&text)
            .map_err(|e| bad(format!("it is not a storage record: {e}")))?;
        r.check().map_err(bad)?;
        Ok(Some(r))
    }

    /// Its text as the storage step writes it.
    pub fn text(&self) -> String {
        serde_json::to_string_pretty(self).expect("serializable") + "\n"
    }

    /// What the storage step writes: a normalised device path under /dev, a volume group name
    /// LVM takes, a driver, and the volume that driver's layout makes in that group.
    fn check(&self) -> std::result::Result<(), String> {
        let vg = self.volume_group.as_str();
        if !self.device.starts_with("/dev/") || crate::vocab::not_normalised(&self.device).is_some()
        {
            return Err(format!(
                "its device {:?} is not a normalised path under /dev",
                self.device
            ));
        }
        if !crate::vocab::vg_name_ok(vg) {
            return Err(format!("{vg:?} is not a volume group name"));
        }
        let Some(volume) = crate::vocab::volume_of(self.driver, vg) else {
            return Err("its driver is `auto`, which is never recorded".into());
        };
        if self.volume != volume {
            return Err(format!(
                "its volume {:?} is not the {} volume of {vg} ({volume})",
                self.volume, self.driver
            ));
        }
        Ok(())
    }
}

/// `engine.pending`: what docker is still owed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Owed {
    pub reload: bool,
    pub restart: bool,
}

impl Owed {
    /// The note, read and checked: `reload` and `restart` lines only.
    pub fn read(h: &Host) -> Result<Owed> {
        let text = h.read_record(ENGINE_PENDING.path)?.unwrap_or_default();
        let mut owed = Owed::default();
        for (i, l) in text.lines().enumerate() {
            match l {
                "" => {}
                "reload" => owed.reload = true,
                "restart" => owed.restart = true,
                _ => {
                    return Err(ENGINE_PENDING.refused(
                        "engine",
                        Some(i + 1),
                        l,
                        "it holds only `reload` and `restart` lines".into(),
                    ));
                }
            }
        }
        Ok(owed)
    }

    /// Its text: one line each.
    pub fn text(&self) -> String {
        let mut t = String::new();
        if self.reload {
            t.push_str("reload\n");
        }
        if self.restart {
            t.push_str("restart\n");
        }
        t
    }

    pub fn any(&self) -> bool {
        self.reload || self.restart
    }
}

/// A record holding one node ID (`stale.asked`, `reset.node`), read and checked; empty: none.
pub fn node_id(h: &Host, record: &Record, step: &str) -> Result<Option<NodeId>> {
    let Some(text) = h.read_record(record.path)? else {
        return Ok(None);
    };
    let id = text.trim();
    if id.is_empty() {
        return Ok(None);
    }
    NodeId::parse(id)
        .map(Some)
        .map_err(|why| record.refused(step, Some(1), id, why))
}

/// The broker's user swarmnode made, read and checked; none when it made none.
pub fn broker_user(h: &Host) -> Result<Option<String>> {
    let Some(text) = h.read_record(BROKER_USER.path)? else {
        return Ok(None);
    };
    let u = text.trim();
    if u.is_empty() {
        return Ok(None);
    }
    if !crate::vocab::user_name_ok(u) || u == "root" {
        return Err(BROKER_USER.refused(
            "reset",
            Some(1),
            u,
            "it is not a broker's user name".into(),
        ));
    }
    Ok(Some(u.to_string()))
}

/// A one-line record `NODE_ID REST` (its form named by `form`): `rest_bad` says what is wrong
/// with REST, if anything, then the node ID is checked.
fn id_and<'a>(
    record: &Record,
    line: &'a str,
    form: &str,
    rest_bad: impl Fn(&str) -> Option<String>,
) -> Result<(NodeId, &'a str)> {
    let bad = |why: String| record.refused("swarm", Some(1), line, why);
    let (id, rest) = line
        .split_once(' ')
        .ok_or_else(|| bad(format!("it is not {form}")))?;
    if let Some(why) = rest_bad(rest) {
        return Err(bad(why));
    }
    Ok((NodeId::parse(id).map_err(bad)?, rest))
}

/// This node's enrolment: the node ID its own key is bound to, and the key's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    pub node: NodeId,
    pub key: String,
}

impl Enrolled {
    pub fn read(h: &Host) -> Result<Option<Enrolled>> {
        let Some(text) = h.read_record(ENROLLED.path)? else {
            return Ok(None);
        };
        let line = text.trim();
        if line.is_empty() {
            return Ok(None);
        }
        let (node, key) = id_and(&ENROLLED, line, "NODE_ID FINGERPRINT", |key| {
            (!crate::vocab::sshkey::fingerprint_ok(key))
                .then(|| format!("{key:?} is not a key fingerprint"))
        })?;
        Ok(Some(Enrolled {
            node,
            key: key.to_string(),
        }))
    }

    pub fn text(&self) -> String {
        format!("{} {}\n", self.node, self.key)
    }
}

/// What a manager was seen to have: node `node` labelled with the labels of digest `digest`
/// (SHA-256 of the sorted `key=value` lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labelled {
    pub node: NodeId,
    pub digest: String,
}

impl Labelled {
    /// The record for node `node` with the labels `labels`, asked of the managers described by
    /// `head` (one line: the role and the managers, so that another swarm or role asks again).
    pub fn of(
        node: NodeId,
        head: &str,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> Labelled {
        use sha2::{Digest, Sha256};
        let mut d = Sha256::new();
        d.update(format!("v1 {}\n", head.replace('\n', " ")).as_bytes());
        for (k, v) in labels {
            d.update(format!("{k}={v}\n").as_bytes());
        }
        let digest = d.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Labelled { node, digest }
    }

    pub fn read(h: &Host) -> Result<Option<Labelled>> {
        let Some(text) = h.read_record(LABELLED.path)? else {
            return Ok(None);
        };
        Labelled::parse(text.trim())
    }

    fn parse(line: &str) -> Result<Option<Labelled>> {
        if line.is_empty() {
            return Ok(None);
        }
        let (node, digest) = id_and(&LABELLED, line, "NODE_ID SHA256", |d| {
            let hex = d.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            (d.len() != 64 || !hex).then(|| format!("{d:?} is not a SHA-256 in hex"))
        })?;
        Ok(Some(Labelled {
            node,
            digest: digest.to_string(),
        }))
    }

    pub fn text(&self) -> String {
        format!("{} {}\n", self.node, self.digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_reads_back_and_refuses_what_it_is_not() {
        let id = NodeId::parse("l8s526d06sna2jckb05a27o7r").unwrap();
        let labels = [("rack", "b 2"), ("function", "production")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        let l = Labelled::of(id.clone(), "role=worker managers=m1:2377", &labels);
        assert_eq!(Labelled::parse(l.text().trim()).unwrap(), Some(l.clone()));
        assert_ne!(
            l,
            Labelled::of(
                id.clone(),
                "role=worker managers=m1:2377",
                &Default::default()
            )
        );
        assert_ne!(
            l,
            Labelled::of(id.clone(), "role=worker managers=m2:2377", &labels)
        );
        assert_ne!(
            l,
            Labelled::of(id, "role=manager managers=m1:2377", &labels)
        );
        assert!(Labelled::parse(&l.text().trim().to_ascii_uppercase()).is_err());
        for bad in [
            "l8s526d06sna2jckb05a27o7r",
            "x y",
            "l8s526d06sna2jckb05a27o7r abc",
        ] {
            assert!(Labelled::parse(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn labelled_never_panics(s in "\\PC{0,120}") {
            let _ = Labelled::parse(s.trim());
        }
    }

    #[test]
    fn every_record_is_under_the_state_directory_but_the_lock_and_listed_once() {
        let mut paths: Vec<&str> = ALL.iter().map(|r| r.path).collect();
        for r in &ALL {
            assert!(r.path.starts_with(DIR) || *r == LOCK, "{}", r.path);
        }
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), ALL.len());
        // created goes last of all: until then it says what is swarmnode's.
        let last: Vec<&str> = ALL
            .iter()
            .filter(|r| r.reset == Reset::Last)
            .map(|r| r.path)
            .collect();
        assert_eq!(last, [RESET_LEFT.path, MOVED.path, CREATED.path]);
    }

    #[test]
    fn owed_text_reads_back() {
        for o in [
            Owed::default(),
            Owed {
                reload: true,
                restart: false,
            },
            Owed {
                reload: true,
                restart: true,
            },
        ] {
            let text = o.text();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.contains(&"reload"), o.reload);
            assert_eq!(lines.contains(&"restart"), o.restart);
        }
    }
}
