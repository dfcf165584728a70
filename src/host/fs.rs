//! Files under the root prefix: reading, resolving symlinks inside the root, and the one atomic write.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// `root` + an absolute host path (`/etc/fstab` → `ROOT/etc/fstab`).
pub fn under(root: &Path, host_path: &str) -> PathBuf {
    root.join(host_path.trim_start_matches('/'))
}

/// Reads a file; `None` when it does not exist.
pub fn read_opt(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Resolves a host path (e.g. `/dev/disk/by-id/x` → `/dev/sdb`) following symlinks, where absolute
/// link targets are taken inside `root`. Returns the resolved *host* path, or `None` when some
/// component does not exist.
pub fn resolve(root: &Path, host_path: &str) -> io::Result<Option<String>> {
    let mut todo: Vec<String> = components(host_path);
    todo.reverse();
    let mut done: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        done.push(c);
        let here = root.join(done.join("/"));
        match fs::symlink_metadata(&here) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
            Ok(m) if m.file_type().is_symlink() => {
                hops += 1;
                if hops > 40 {
                    return Err(io::Error::other(format!(
                        "too many symlinks resolving {host_path}"
                    )));
                }
                let target = fs::read_link(&here)?;
                let target = target.to_string_lossy().to_string();
                done.pop();
                if target.starts_with('/') {
                    done.clear();
                }
                let mut more = components(&target);
                more.reverse();
                todo.extend(more);
            }
            Ok(_) => {}
        }
    }
    Ok(Some(format!("/{}", done.join("/"))))
}

fn components(p: &str) -> Vec<String> {
    Path::new(p)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().to_string()),
            Component::ParentDir => Some("..".to_string()),
            _ => None,
        })
        .collect()
}

/// Writes `contents` to `path` atomically: a temporary file in the same directory, the mode set
/// before any byte is written, fsync, rename over the target, fsync of the directory. When the
/// target exists with other content, its previous version is kept as `NAME.swarmnode.bak`.
/// Returns false (and writes nothing) when the content is already there.
pub fn atomic_write(path: &Path, contents: &[u8], mode: u32) -> io::Result<bool> {
    let old = read_opt(path)?;
    if old.as_deref() == Some(contents) {
        let meta = fs::metadata(path)?;
        if meta.permissions().mode() & 0o7777 == mode {
            return Ok(false);
        }
    }
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other(format!("{} has no parent directory", path.display())))?;
    fs::create_dir_all(dir)?;
    if let Some(old) = old.as_deref().filter(|o| *o != contents) {
        let mut bak = path.as_os_str().to_owned();
        bak.push(".swarmnode.bak");
        write_replace(dir, Path::new(&bak), old, mode)?;
    }
    write_replace(dir, path, contents, mode)?;
    Ok(true)
}

/// fsync of the directory that holds `path`, so a rename in it is durable.
pub fn sync_dir_of(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(d) => fs::File::open(d)?.sync_all(),
        None => Ok(()),
    }
}

fn write_replace(dir: &Path, path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".swarmnode-")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    // The umask may have narrowed the mode given at creation; set it exactly, still before writing.
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn resolve_follows_links_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        fs::create_dir_all(r.join("dev/disk/by-id")).unwrap();
        fs::write(r.join("dev/vdb"), b"").unwrap();
        symlink("../../vdb", r.join("dev/disk/by-id/virtio-DATA")).unwrap();
        symlink("/dev/vdb", r.join("dev/disk/by-id/abs")).unwrap();
        assert_eq!(
            resolve(r, "/dev/disk/by-id/virtio-DATA")
                .unwrap()
                .as_deref(),
            Some("/dev/vdb")
        );
        assert_eq!(
            resolve(r, "/dev/disk/by-id/abs").unwrap().as_deref(),
            Some("/dev/vdb")
        );
        assert_eq!(resolve(r, "/dev/vdc").unwrap(), None);
        symlink("loop", r.join("dev/loop")).unwrap();
        assert!(resolve(r, "/dev/loop").is_err());
    }

    #[test]
    fn atomic_write_skips_same_content_and_keeps_a_backup() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("etc/x.conf");
        assert!(atomic_write(&p, b"one\n", 0o644).unwrap());
        assert!(!atomic_write(&p, b"one\n", 0o644).unwrap());
        assert!(atomic_write(&p, b"two\n", 0o600).unwrap());
        assert_eq!(fs::read(&p).unwrap(), b"two\n");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::read(t.path().join("etc/x.conf.swarmnode.bak")).unwrap(),
            b"one\n"
        );
        let left: Vec<_> = fs::read_dir(t.path().join("etc"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with(".swarmnode-"))
            .collect();
        assert!(left.is_empty(), "temp files left: {left:?}");
    }
}
