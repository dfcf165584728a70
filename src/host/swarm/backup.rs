//! A backup of a manager's swarm state, as data: its manifest (what the archive holds, never
//! the unlock key), the archive's name (when it was taken, by which node), and what an archive
//! may hold (the listing `tar -tv` gives, judged before anything is extracted).

use serde::{Deserialize, Serialize};

use crate::host::clock;
use crate::vocab::NodeId;

/// The manifest's name inside the archive, next to `swarm/`.
pub const MANIFEST: &str = "backup.json";

/// What a backup is of: written (as `backup.json` under /var/lib/swarmnode) before docker stops,
/// and put into the archive with the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// When the backup was started, seconds since 1970.
    pub taken: u64,
    /// The swarm's ID.
    pub swarm_id: String,
    /// The manager it was taken on.
    pub node_id: String,
    pub node_name: String,
    /// The address it advertised (an IP): a restore on the same address advertises it again.
    pub node_addr: String,
    /// The managers' addresses (`HOST:2377`) when it was taken.
    pub managers: Vec<String>,
    /// The engine's version that wrote the state.
    pub engine_version: String,
    /// The swarm is autolocked: a restore needs the unlock key (kept by whoever turned it on).
    pub autolock: bool,
    /// docker's data root it was taken from (`/var/lib/docker`).
    pub docker_root: String,
    /// The archive being written (the backup directory's).
    pub archive: String,
}

/// A word of a docker ID (the swarm's ID) or a version: letters, digits and `.-+_~`.
fn word_ok(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-+_~".contains(c))
}

impl Manifest {
    /// A manifest read from disk or an archive: checked, or why it is not one swarmnode writes.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let m: Manifest =
            serde_json::from_str(text).map_err(|e| format!("it is not a backup manifest: {e}"))?;
        NodeId::parse(&m.node_id)?;
        if !word_ok(&m.swarm_id, 64) {
            return Err(format!("{:?} is not a swarm ID", m.swarm_id));
        }
        if !word_ok(&m.engine_version, 64) {
            return Err(format!("{:?} is not an engine version", m.engine_version));
        }
        if m.node_addr.parse::<std::net::IpAddr>().is_err() {
            return Err(format!("{:?} is not an IP address", m.node_addr));
        }
        if !word_ok(&m.node_name, 253) {
            return Err(format!("{:?} is not a node name", m.node_name));
        }
        let addr = |a: &String| word_ok(&a.replace([':', '[', ']'], ""), 300);
        if m.managers.len() > 1000 || !m.managers.iter().all(addr) {
            return Err("its managers are not HOST:PORT addresses".into());
        }
        for p in [&m.docker_root, &m.archive] {
            if crate::vocab::not_normalised(p).is_some() || p == "/" {
                return Err(format!("{p:?} is not a normalised absolute path"));
            }
        }
        Ok(m)
    }

    pub fn text(&self) -> String {
        serde_json::to_string_pretty(self).expect("serializable") + "\n"
    }
}

/// The archive's file name: `swarm-20261205T113000Z-NODEID.tar.gz` (sorts by time).
pub fn archive_name(taken: u64, node: &str) -> String {
    format!("swarm-{}-{node}.tar.gz", clock::stamp(taken))
}

/// When an archive of this node was taken, from its name; None for any other file.
pub fn taken_of(name: &str, node: Option<&str>) -> Option<u64> {
    let rest = name.strip_prefix("swarm-")?.strip_suffix(".tar.gz")?;
    let (stamp, id) = rest.split_once('-')?;
    NodeId::parse(id).ok()?;
    if node.is_some_and(|n| n != id) {
        return None;
    }
    clock::parse_stamp(stamp)
}

/// The archives of `node` to remove so that the newest `keep` stay (names as listed).
pub fn beyond(names: &[String], node: &str, keep: usize) -> Vec<String> {
    let mut ours: Vec<(u64, &String)> = names
        .iter()
        .filter_map(|n| Some((taken_of(n, Some(node))?, n)))
        .collect();
    ours.sort();
    let n = ours.len().saturating_sub(keep);
    ours[..n].iter().map(|(_, name)| (*name).clone()).collect()
}

/// Why an archive's listing (`tar -tvzf`, GNU tar's long lines) is not one swarmnode takes:
/// only the manifest, `swarm/` and what is under it, as directories and regular files; no
/// absolute name, no `..`, no link or device.
pub fn judge_listing(text: &str) -> Result<(), String> {
    let mut manifest = false;
    let mut state = false;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let kind = line.chars().next().unwrap_or('?');
        // mode owner/group size date time NAME: the name is what follows the sixth field.
        let name = (line.split_whitespace().count() >= 6)
            .then(|| name_of(line))
            .flatten()
            .ok_or_else(|| format!("{:?} is not a line of `tar -tv`", short(line)))?;
        let plain = name.split('/').all(|c| c != ".." && c != ".");
        let inside = name == "swarm/" || name.starts_with("swarm/");
        match kind {
            '-' if name == MANIFEST => {
                loose_mode(line)?;
                manifest = true;
            }
            '-' | 'd' if inside && plain && !name.starts_with('/') => {
                loose_mode(line)?;
                state = true;
            }
            _ => {
                return Err(format!(
                    "it holds {:?}: only {MANIFEST} and swarm/ (files and directories) belong in \
                     a backup",
                    short(line)
                ));
            }
        }
    }
    match (manifest, state) {
        (true, true) => Ok(()),
        (false, _) => Err(format!("it has no {MANIFEST}")),
        (_, false) => Err("it has no swarm/ state".into()),
    }
}

/// No set-id or sticky bit, nothing the group or others may write (docker writes neither).
fn loose_mode(line: &str) -> Result<(), String> {
    let mode = line.get(..10).unwrap_or_default();
    let w = |i: usize| mode.get(i..i + 1) == Some("w");
    if mode.contains(['s', 'S', 't', 'T']) || w(5) || w(8) {
        return Err(format!(
            "it holds {:?}: a set-id bit, or a mode others could write (docker writes neither)",
            short(line)
        ));
    }
    Ok(())
}

/// The name on a `tar -tv` line: after mode, owner/group, size, date and time.
fn name_of(line: &str) -> Option<&str> {
    let mut rest = line;
    for _ in 0..5 {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace)?;
        rest = &rest[end..];
    }
    let name = rest.strip_prefix(' ')?;
    (!name.is_empty()).then_some(name)
}

fn short(s: &str) -> String {
    s.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ID: &str = "r1y1m0oyzhh8wld8y0xkqj0p5";

    fn manifest() -> Manifest {
        Manifest {
            taken: 1_796_000_000,
            swarm_id: "w3kq0x3c5mnbq7kq2xk8r5y1p".into(),
            node_id: ID.into(),
            node_name: "psw-n2".into(),
            node_addr: "10.98.0.2".into(),
            managers: vec!["10.98.0.1:2377".into(), "[fd00::2]:2377".into()],
            engine_version: "26.1.5+dfsg1".into(),
            autolock: false,
            docker_root: "/var/lib/docker".into(),
            archive: "/var/backups/swarmnode/x.tar.gz".into(),
        }
    }

    #[test]
    fn a_manifest_reads_back_and_a_hostile_one_is_refused() {
        let m = manifest();
        assert_eq!(Manifest::parse(&m.text()).unwrap(), m);
        for (field, bad) in [
            ("node_id", "../etc"),
            ("swarm_id", "a b"),
            ("archive", "/var/backups/../etc/shadow"),
            ("docker_root", "relative"),
            ("node_name", "x\ny"),
        ] {
            let mut v = serde_json::to_value(&m).unwrap();
            v[field] = bad.into();
            assert!(Manifest::parse(&v.to_string()).is_err(), "{field} {bad:?}");
        }
        let mut v = serde_json::to_value(&m).unwrap();
        v["unlock_key"] = "SWMKEY-1-x".into();
        assert!(Manifest::parse(&v.to_string()).is_err());
    }

    #[test]
    fn names_sort_by_time_and_retention_keeps_the_newest_of_this_node() {
        let other = "abcdefghijklmnopqrstuvwxy";
        let names: Vec<String> = [
            archive_name(1_796_000_300, ID),
            archive_name(1_796_000_100, ID),
            archive_name(1_796_000_000, other),
            archive_name(1_796_000_200, ID),
            "swarm-notastamp-x.tar.gz".into(),
            format!("{}.partial", archive_name(1_796_000_050, ID)),
        ]
        .into();
        assert_eq!(taken_of(&names[0], Some(ID)), Some(1_796_000_300));
        assert_eq!(taken_of(&names[2], Some(ID)), None);
        assert_eq!(beyond(&names, ID, 2), vec![names[1].clone()]);
        assert_eq!(
            beyond(&names, ID, 1),
            vec![names[1].clone(), names[3].clone()]
        );
        assert!(beyond(&names, ID, 5).is_empty());
    }

    #[test]
    fn a_listing_of_gnu_tar_is_judged() {
        let good = "drwx------ root/root         0 2026-12-05 19:40 swarm/\n\
                    -rw------- root/root       123 2026-12-05 19:40 swarm/docker-state.json\n\
                    drwx------ root/root         0 2026-12-05 19:40 swarm/raft/wal-v3-encrypted/\n\
                    -rw------- root/root       456 2026-12-05 19:40 backup.json\n";
        assert_eq!(judge_listing(good), Ok(()));
        for bad in [
            "lrwxrwxrwx root/root 0 2026-12-05 19:40 swarm/x -> /etc/shadow\n",
            "hrw------- root/root 0 2026-12-05 19:40 swarm/x link to etc/shadow\n",
            "-rw------- root/root 1 2026-12-05 19:40 swarm/../../etc/cron.d/x\n",
            "-rw------- root/root 1 2026-12-05 19:40 /etc/passwd\n",
            "-rw------- root/root 1 2026-12-05 19:40 etc/passwd\n",
            "crw------- root/root 1,3 2026-12-05 19:40 swarm/null\n",
            "garbage\n",
        ] {
            let text = format!("{good}{bad}");
            assert!(judge_listing(&text).is_err(), "{bad}");
        }
        assert!(judge_listing("drwx------ root/root 0 2026-12-05 19:40 swarm/\n").is_err());
    }

    proptest! {
        #[test]
        fn the_readers_of_outside_input_never_panic(s in ".{0,400}") {
            let _ = Manifest::parse(&s);
            let _ = judge_listing(&s);
            let _ = taken_of(&s, None);
            let _ = clock::parse_stamp(&s);
        }

        #[test]
        fn a_stamp_reads_back(t in 0u64..4_000_000_000) {
            prop_assert_eq!(clock::parse_stamp(&clock::stamp(t)), Some(t));
        }
    }
}
