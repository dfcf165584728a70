//! What swarmnode writes on the host: one list of files. The writers keep to it (a file written,
//! or moved aside, that is not one of them is refused before anything is done), and whoever acts
//! on swarmnode's records (`reset`) accepts only entries that are: a record is data read from
//! disk, and a line naming another path was not written by swarmnode.

use std::io;
use std::path::Path;

/// The broker's configuration on a manager: in a directory of its own that others may read (the
/// RPM makes it 0755), as /etc/swarmnode, which holds the nodes' keys, stays root's alone.
pub const BROKER_CONFIG: &str = "/etc/swarmnode-broker/broker.json";

/// The files swarmnode writes, or moves aside: a path, where `*` stands for one component
/// (`*.conf`: one that ends so), as each writer names it: daemon.json, a registry's CA
/// (`certs.d/HOST:PORT`), its drop-in (and the legacy drop-ins it moves aside), the first-boot,
/// check and backup units, the profile copy, the LVM profile, fstab, the copied binary; on a manager,
/// the broker's configuration and sshd's configuration for its user.
pub const FILES: [&str; 15] = [
    "/etc/docker/daemon.json",
    "/etc/docker/certs.d/*/ca.crt",
    "/etc/systemd/system/docker.service.d/*.conf",
    "/etc/systemd/system/swarmnode-firstboot.service",
    "/etc/systemd/system/swarmnode-check.service",
    "/etc/systemd/system/swarmnode-check.timer",
    "/etc/systemd/system/swarmnode-backup.service",
    "/etc/systemd/system/swarmnode-backup.timer",
    "/etc/swarmnode/profile.json",
    "/etc/lvm/profile/docker-thinpool.profile",
    "/etc/fstab",
    "/usr/local/sbin/swarmnode",
    "/etc/swarmnode-broker/broker.json",
    "/etc/ssh/sshd_config.d/50-swarmnode-broker.conf",
    "/etc/ssh/sshd_config",
];

/// The directories swarmnode writes files into and keeps administrators' originals in (`reset`
/// looks for `NAME.swarmnode.orig` there; each found must name one of [`FILES`]).
pub const WRITTEN_DIRS: [&str; 6] = [
    "/etc/docker",
    "/etc/systemd/system",
    "/etc/swarmnode",
    "/etc/lvm/profile",
    "/etc/swarmnode-broker",
    "/etc/ssh",
];

/// Does the path match the pattern, component by component?
fn matches(pattern: &str, path: &str) -> bool {
    let (p, q): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == q.len()
        && p.iter().zip(&q).all(|(p, q)| match p.strip_prefix('*') {
            Some(tail) => q.len() > tail.len() && q.ends_with(tail),
            None => p == q,
        })
}

/// The directories a pattern's file is in, and theirs in turn, down to two components
/// (`/etc/docker/certs.d/*/`, `/etc/docker/certs.d/`, `/etc/docker/`; never `/etc/`).
fn dirs_of(pattern: &str) -> impl Iterator<Item = String> + '_ {
    let parts: Vec<&str> = pattern.split('/').collect();
    (3..parts.len()).map(move |n| parts[..n].join("/") + "/")
}

/// Why a path is not an absolute, normalised host path (the shared vocabulary's).
pub use crate::vocab::not_normalised;

/// Why a record's entry (a file, or a directory ending in `/`) is not one swarmnode could have
/// written: not normalised, or none of its [`FILES`] (a directory: none of theirs, such as
/// `/etc/docker/certs.d/HOST:PORT/` or `/etc/lvm/`, never a top-level one such as `/etc/`).
pub fn outside(entry: &str) -> Option<String> {
    if let Some(why) = not_normalised(entry) {
        return Some(why.into());
    }
    let known = if entry.ends_with('/') {
        FILES
            .iter()
            .flat_map(|f| dirs_of(f))
            .any(|d| matches(&d, entry))
    } else {
        FILES.iter().any(|f| matches(f, entry))
    };
    (!known).then(|| {
        format!(
            "it is none of the files swarmnode writes ({}) nor a directory of theirs",
            FILES.join(", ")
        )
    })
}

/// The first component on the way to `host_path` under `root` that is a symbolic link (the path
/// itself excepted: it is never followed), as a host path; None when there is none. Acting on
/// the path then needs no link to be followed.
pub fn link_on_the_way(root: &Path, host_path: &str) -> io::Result<Option<String>> {
    let body = host_path.trim_end_matches('/');
    let parts: Vec<&str> = body.split('/').filter(|c| !c.is_empty()).collect();
    let mut here = root.to_path_buf();
    for (i, c) in parts.iter().enumerate().take(parts.len().saturating_sub(1)) {
        here.push(c);
        match std::fs::symlink_metadata(&here) {
            Ok(m) if m.file_type().is_symlink() => {
                return Ok(Some(format!("/{}", parts[..=i].join("/"))));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// Why swarmnode may not write (or move aside) the file at `host_path` under `root`: none of its
/// [`FILES`], or a symbolic link on the way (reset, which follows no link, could not put it back).
pub fn not_writable(root: &Path, host_path: &str) -> io::Result<Option<String>> {
    if let Some(why) = outside(host_path) {
        return Ok(Some(why));
    }
    Ok(link_on_the_way(root, host_path)?.map(|link| {
        format!(
            "{link} is a symbolic link: swarmnode writes only where no link is followed (reset \
             could not put the file back); replace the link with the directory it leads to"
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_swarmnode_writes_and_others() {
        for ok in [
            "/etc/docker/daemon.json",
            "/etc/docker/",
            "/etc/docker/certs.d/registry.local:5000/ca.crt",
            "/etc/docker/certs.d/registry.local:5000/",
            "/etc/docker/certs.d/",
            "/etc/systemd/system/docker.service.d/swarmnode.conf",
            "/etc/systemd/system/docker.service.d/legacy.conf",
            "/etc/systemd/system/docker.service.d/",
            "/etc/systemd/system/swarmnode-check.timer",
            "/etc/systemd/system/swarmnode-backup.service",
            "/etc/systemd/system/swarmnode-backup.timer",
            "/etc/systemd/",
            "/etc/lvm/profile/docker-thinpool.profile",
            "/etc/lvm/",
            "/etc/fstab",
            "/usr/local/sbin/swarmnode",
            "/usr/local/sbin/",
            "/etc/swarmnode/profile.json",
        ] {
            assert_eq!(outside(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("/etc/shadow", "none of the files"),
            ("/etc/", "none of the files"),
            ("/", "none of the files"),
            ("/usr/local/sbin/other", "none of the files"),
            ("/etc/fstab/", "none of the files"),
            (
                "/etc/systemd/system/sshd.service.d/override.conf",
                "none of the files",
            ),
            (
                "/etc/systemd/system/multi-user.target.wants/sshd.service",
                "none of the files",
            ),
            (
                "/etc/systemd/system/docker.service.d/.conf",
                "none of the files",
            ),
            (
                "/etc/systemd/system/docker.service.d/x.conf.d/y.conf",
                "none of the files",
            ),
            ("/etc/swarmnode/broker.json", "none of the files"),
            ("/etc/swarmnode/node_key", "none of the files"),
            ("/etc/docker/key.json", "none of the files"),
            ("/etc/docker/certs.d/x/client.key", "none of the files"),
            ("/etc/docker/../shadow", "`..`"),
            ("/etc/docker/./daemon.json", "`.`"),
            ("/etc//docker/daemon.json", "`//`"),
            ("etc/docker/daemon.json", "not an absolute"),
            ("/etc/docker/a\u{1b}b", "control"),
            ("", "not an absolute"),
            ("/var/lib/docker/", "none of the files"),
        ] {
            let got = outside(bad).unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(got.contains(why), "{bad:?}: {got}");
        }
    }

    #[test]
    fn a_link_on_the_way_is_found_the_path_itself_is_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        std::fs::create_dir_all(r.join("etc/real")).unwrap();
        std::os::unix::fs::symlink("/etc/real", r.join("etc/docker")).unwrap();
        assert_eq!(
            link_on_the_way(r, "/etc/docker/daemon.json")
                .unwrap()
                .as_deref(),
            Some("/etc/docker")
        );
        assert_eq!(link_on_the_way(r, "/etc/docker").unwrap(), None);
        assert_eq!(link_on_the_way(r, "/etc/docker/").unwrap(), None);
        assert_eq!(link_on_the_way(r, "/etc/real/x").unwrap(), None);
        assert_eq!(link_on_the_way(r, "/nope/x/y").unwrap(), None);
    }

    proptest::proptest! {
        #[test]
        fn no_entry_makes_the_checks_panic(e in "\\PC{0,60}") {
            let _ = outside(&e);
            let _ = not_normalised(&e);
            if outside(&e).is_none() {
                proptest::prop_assert!(e.starts_with('/') && !e.contains("/../"));
            }
        }
    }
}
