//! Where swarmnode writes on the host: one list. The writers keep to it (a file written, or a
//! file moved aside, anywhere else is an error, never recorded), and whoever acts on swarmnode's
//! records (`reset`) accepts only entries inside it: a record is data read from disk, and a line
//! naming another path was not written by swarmnode.

use std::io;
use std::path::Path;

/// The places: a directory (ending in `/`) with everything under it, or one file.
pub const PLACES: [&str; 6] = [
    "/etc/docker/",
    "/etc/systemd/system/",
    "/etc/swarmnode/",
    "/etc/lvm/profile/",
    "/etc/fstab",
    "/usr/local/sbin/swarmnode",
];

/// The directories swarmnode writes files into and keeps administrators' originals in (`reset`
/// looks for `NAME.swarmnode.orig` there).
pub fn written_dirs() -> impl Iterator<Item = &'static str> {
    PLACES.iter().filter_map(|p| p.strip_suffix('/'))
}

/// Why `p` is not an absolute, normalised host path: not absolute, `//`, a `.` or `..`
/// component, a control character, or empty.
pub fn not_normalised(p: &str) -> Option<&'static str> {
    if !p.starts_with('/') {
        return Some("it is not an absolute path");
    }
    if p.chars().any(char::is_control) {
        return Some("it has control characters");
    }
    if p.contains("//") {
        return Some("it is not normalised (it has `//`)");
    }
    let body = p.trim_end_matches('/');
    if body.split('/').skip(1).any(|c| c == "." || c == "..") {
        return Some("it is not normalised (it has a `.` or `..` component)");
    }
    None
}

/// Why a record's entry (a file, or a directory ending in `/`) is not one swarmnode could have
/// written: not normalised, or outside [`PLACES`]. A directory may also be one made on the way
/// to a place (`/etc/lvm/`, `/usr/local/sbin/`), but never a top-level one (`/etc/`).
pub fn outside(entry: &str) -> Option<String> {
    if let Some(why) = not_normalised(entry) {
        return Some(why.into());
    }
    let inside = PLACES.iter().any(|place| match place.strip_suffix('/') {
        Some(_) => entry.starts_with(place) || entry == *place,
        None => entry == *place,
    });
    let on_the_way = entry.ends_with('/')
        && entry.matches('/').count() >= 3
        && PLACES.iter().any(|place| place.starts_with(entry));
    (!inside && !on_the_way).then(|| {
        format!(
            "it is outside the places swarmnode writes to ({})",
            PLACES.join(", ")
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
            "/etc/systemd/system/docker.service.d/swarmnode.conf",
            "/etc/systemd/system/docker.service.d/legacy.conf",
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
            ("/etc/shadow", "outside the places"),
            ("/etc/", "outside the places"),
            ("/", "outside the places"),
            ("/usr/local/sbin/other", "outside the places"),
            ("/etc/fstab/", "outside the places"),
            ("/etc/docker/../shadow", "`..`"),
            ("/etc/docker/./daemon.json", "`.`"),
            ("/etc//docker/daemon.json", "`//`"),
            ("etc/docker/daemon.json", "not an absolute"),
            ("/etc/docker/a\u{1b}b", "control"),
            ("", "not an absolute"),
            ("/var/lib/docker/", "outside the places"),
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
