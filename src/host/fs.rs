//! Files under the root prefix: reading, resolving symlinks inside the root, and the one atomic write.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// `root` + an absolute host path (`/etc/fstab` → `ROOT/etc/fstab`).
pub fn under(root: &Path, host_path: &str) -> PathBuf {
    root.join(host_path.trim_start_matches('/'))
}

/// Reads a file whole (a missing file is an error, as any other).
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    fs::read(path)
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

/// The real location of a host path under `root`, resolved inside the root: every symlink on the
/// way is followed as if `root` were `/` (an absolute target starts again at `root`, `..` stops at
/// `root`), so no symlink inside the root leads out of it. Components that do not exist yet are
/// appended as they are. With `follow_last` false, a final symlink is not followed (to open it
/// with `O_NOFOLLOW`, to rename or replace the link itself).
pub fn in_root(root: &Path, host_path: &str, follow_last: bool) -> io::Result<PathBuf> {
    walk_in_root(root, host_path, follow_last, &mut |_, _| Ok(()))
}

/// [`in_root`], calling `visit` with the real path and the host path of every component on the
/// way that exists and is not a link (links are followed, inside the root), in the order the
/// resolution meets them.
fn walk_in_root(
    root: &Path,
    host_path: &str,
    follow_last: bool,
    visit: &mut dyn FnMut(&Path, &str) -> io::Result<()>,
) -> io::Result<PathBuf> {
    let mut todo: Vec<String> = components(host_path);
    todo.reverse();
    let mut done: Vec<String> = Vec::new();
    let mut hops = 0;
    // From this many components on, nothing exists: they are taken as they are.
    let mut missing_from: Option<usize> = None;
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "." => continue,
            ".." => {
                done.pop();
                // Back in a directory that exists: its next components are checked again.
                if missing_from.is_some_and(|m| done.len() <= m) {
                    missing_from = None;
                }
                continue;
            }
            _ => {}
        }
        done.push(c);
        if missing_from.is_some() || (!follow_last && todo.is_empty()) {
            continue;
        }
        let here = root.join(done.join("/"));
        match fs::symlink_metadata(&here) {
            // Nothing there, or under something that is not a directory: no link can follow.
            Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(20) => {
                missing_from = Some(done.len() - 1)
            }
            Err(e) => return Err(e),
            Ok(m) if m.file_type().is_symlink() => {
                hops += 1;
                if hops > 40 {
                    return Err(io::Error::other(format!(
                        "too many symlinks resolving {host_path}"
                    )));
                }
                let target = fs::read_link(&here)?.to_string_lossy().to_string();
                done.pop();
                if target.starts_with('/') {
                    done.clear();
                }
                let mut more = components(&target);
                more.reverse();
                todo.extend(more);
            }
            Ok(_) => visit(&here, &format!("/{}", done.join("/")))?,
        }
    }
    Ok(root.join(done.join("/")))
}

/// Why root cannot trust the directories on the way to a host path, or None when it can: every
/// directory traversed to reach the path's parent (`root` itself, each component, and wherever a
/// symlink on the way leads, resolved inside `root`) must be a directory owned by root that
/// neither its group nor others can write (OpenSSH's StrictModes rule). Otherwise another user
/// could swap a directory for a symlink and send root's write elsewhere. Components that do not
/// exist yet end the walk (root would make them). Returns the host path of the first directory
/// that fails, and why.
pub fn untrusted_dir(root: &Path, host_path: &str) -> io::Result<Option<(String, String)>> {
    use std::os::unix::fs::MetadataExt;
    let judge = |real: &Path| -> io::Result<Option<String>> {
        let m = fs::metadata(real)?;
        Ok(if !m.is_dir() {
            Some("it is not a directory".to_string())
        } else if m.uid() != 0 {
            Some(format!("it belongs to uid {}, not root", m.uid()))
        } else if m.mode() & 0o022 != 0 {
            Some(format!(
                "it is mode {:04o}: its group or others can write in it",
                m.mode() & 0o7777
            ))
        } else {
            None
        })
    };
    if let Some(why) = judge(root)? {
        return Ok(Some(("/".to_string(), why)));
    }
    let parent = Path::new(host_path)
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Every directory the resolution passes, a link's target included: the first one that
    // fails is the answer (a link in a trusted directory was put there by root).
    let mut first = None;
    walk_in_root(root, &parent, true, &mut |real, shown| {
        if first.is_none()
            && let Some(why) = judge(real)?
        {
            first = Some((shown.to_string(), why));
        }
        Ok(())
    })?;
    Ok(first)
}

/// How a write treats the mode of a file that is already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModePolicy {
    /// An existing file keeps its mode and owner (never widened, never taken from its owner);
    /// the mode is for a new file.
    KeepExisting,
    /// swarmnode's own state: always this mode.
    Exact,
}

/// Suffix of the previous version of a file swarmnode changed.
pub const BAK: &str = ".swarmnode.bak";
/// Suffix of a file moved aside (a legacy drop-in that fights daemon.json): NAME.bk, which systemd
/// does not read. `reset` puts such files back.
pub const ASIDE: &str = ".bk";
/// Suffix of the administrator's original: the file as it was before swarmnode first changed it,
/// made once and never overwritten.
pub const ORIG: &str = ".swarmnode.orig";

/// `path` with a suffix added to its file name.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Writes `contents` to `path` atomically: a temporary file in the same directory, its mode (and
/// owner) set before any byte is written, fsync, rename over the target, fsync of the directory.
/// When the target exists with other content, its previous version is kept as `NAME.swarmnode.bak`
/// (with the old mode and owner), and with `keep_orig` also as `NAME.swarmnode.orig` unless that
/// exists already. Returns false (and writes nothing) when the content and mode are already there.
pub fn atomic_write(
    path: &Path,
    contents: &[u8],
    mode: u32,
    policy: ModePolicy,
    keep_orig: bool,
) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let old = read_opt(path)?;
    let meta = match &old {
        Some(_) => Some(fs::metadata(path)?),
        None => None,
    };
    let old_mode = meta.as_ref().map(|m| m.permissions().mode() & 0o7777);
    let owner = meta.as_ref().map(|m| (m.uid(), m.gid()));
    let mode = match (policy, old_mode) {
        (ModePolicy::KeepExisting, Some(m)) => m,
        _ => mode,
    };
    if old.as_deref() == Some(contents) && old_mode == Some(mode) {
        return Ok(false);
    }
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other(format!("{} has no parent directory", path.display())))?;
    fs::create_dir_all(dir)?;
    if let (Some(old), Some(m)) = (old.as_deref().filter(|o| *o != contents), old_mode) {
        let orig = with_suffix(path, ORIG);
        if keep_orig && fs::symlink_metadata(&orig).is_err() {
            write_replace(dir, &orig, old, m, owner)?;
        }
        write_replace(dir, &with_suffix(path, BAK), old, m, owner)?;
    }
    let owner = owner.filter(|_| policy == ModePolicy::KeepExisting);
    write_replace(dir, path, contents, mode, owner)?;
    Ok(true)
}

/// Replaces `path` atomically with `contents` at `mode` (a temporary file in the same directory,
/// then a rename), keeping no copy of what was there: for output files such as a textfile.
/// An existing regular file keeps its mode and owner (never widened); a symlink at `path` is
/// replaced, not followed.
pub fn replace(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other(format!("{} has no parent directory", path.display())))?;
    let (mode, owner) = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => (m.mode() & 0o7777, Some((m.uid(), m.gid()))),
        _ => (mode, None),
    };
    write_replace(dir, path, contents, mode, owner)
}

/// fsync of the directory that holds `path`, so a rename in it is durable.
pub fn sync_dir_of(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(d) => fs::File::open(d)?.sync_all(),
        None => Ok(()),
    }
}

fn write_replace(
    dir: &Path,
    path: &Path,
    contents: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> io::Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".swarmnode-")
        .permissions(fs::Permissions::from_mode(mode & 0o700))
        .tempfile_in(dir)?;
    // Owner first, then the exact mode (the umask may have narrowed it), still before writing.
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::fchown(tmp.as_file(), Some(uid), Some(gid))?;
    }
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    fs::File::open(dir)?.sync_all()
}

/// The first `n` bytes of a file or device (a superblock), only read.
pub fn read_head(path: &Path, n: usize) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = vec![0u8; n];
    let got = fs::File::open(path)?.read(&mut buf)?;
    buf.truncate(got);
    Ok(buf)
}

/// Is there anything in the directory? (false when it is not there or not a directory)
pub fn has_entries(path: &Path) -> io::Result<bool> {
    match fs::read_dir(path) {
        Ok(mut d) => Ok(d.next().is_some()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Are the two the same file (the same device and inode, not merely the same bytes)?
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Do the two files hold the same bytes? Their sizes first: hashing only when they agree.
pub fn same_content(a: &Path, b: &Path) -> bool {
    let len = |p: &Path| fs::metadata(p).map(|m| m.len()).ok();
    let hash = |p: &Path| fs::read(p).ok().map(|b| sha256_hex(&b));
    len(a).is_some() && len(a) == len(b) && hash(a) == hash(b)
}

/// What a directory entry is (a link is not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Link,
    Other,
}

/// A regular file's size; none when it is not one.
pub fn file_size(path: &Path) -> Option<u64> {
    std::fs::symlink_metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}

/// The entries of a directory, each with its kind; none when it cannot be read.
pub fn entries(dir: &Path) -> Vec<(String, Kind)> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.flatten()
        .map(|e| {
            let kind = match e.file_type() {
                Ok(t) if t.is_symlink() => Kind::Link,
                Ok(t) if t.is_dir() => Kind::Dir,
                Ok(t) if t.is_file() => Kind::File,
                _ => Kind::Other,
            };
            (e.file_name().to_string_lossy().into_owned(), kind)
        })
        .collect()
}

/// What is at a path itself (a final link is not followed); None when nothing is.
pub fn kind_of(path: &Path) -> Option<Kind> {
    fs::symlink_metadata(path).ok().map(|m| {
        let t = m.file_type();
        if t.is_symlink() {
            Kind::Link
        } else if t.is_dir() {
            Kind::Dir
        } else if t.is_file() {
            Kind::File
        } else {
            Kind::Other
        }
    })
}

/// Space and inodes of the filesystem a path is on, as df counts them.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub used_bytes: u64,
    /// What users may still write (root's reserve left out).
    pub avail_bytes: u64,
    pub size_bytes: u64,
    pub inodes: u64,
    pub inodes_free: u64,
}

pub fn usage(path: &Path) -> io::Result<Usage> {
    let st = nix::sys::statvfs::statvfs(path).map_err(io::Error::from)?;
    let frag = st.fragment_size() as u64;
    Ok(Usage {
        used_bytes: (st.blocks() as u64).saturating_sub(st.blocks_free() as u64) * frag,
        avail_bytes: st.blocks_available() as u64 * frag,
        size_bytes: st.blocks() as u64 * frag,
        inodes: st.files() as u64,
        inodes_free: st.files_free() as u64,
    })
}

/// The bytes a tree takes (its files' allocated blocks, as `du` counts them), never following a
/// link and never crossing into another file system; a missing path takes none.
pub fn tree_bytes(path: &Path) -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let top = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut total = top.blocks() * 512;
    let mut dirs = vec![path.to_path_buf()];
    while let Some(d) = dirs.pop() {
        if !fs::symlink_metadata(&d)?.is_dir() {
            continue;
        }
        for e in fs::read_dir(&d)? {
            let e = e?;
            let m = e.metadata()?;
            total += m.blocks() * 512;
            if m.is_dir() && m.dev() == top.dev() {
                dirs.push(e.path());
            }
        }
    }
    Ok(total)
}

/// A file only root may change, opened without following a link and checked on what was opened:
/// what it holds (at most `max` bytes), or why it is not trusted.
pub enum RootFile {
    Missing,
    Text(String),
    Untrusted(String),
}

pub fn read_root_file(path: &Path, max: u64) -> io::Result<RootFile> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let f = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(RootFile::Missing),
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            return Ok(RootFile::Untrusted("it is a symbolic link".into()));
        }
        Err(e) => return Err(e),
    };
    let m = f.metadata()?;
    if !m.is_file() {
        return Ok(RootFile::Untrusted("it is not a regular file".into()));
    }
    if m.uid() != 0 || m.mode() & 0o022 != 0 {
        return Ok(RootFile::Untrusted(format!(
            "it is mode {:04o}, owner uid {}: others could change it",
            m.mode() & 0o7777,
            m.uid()
        )));
    }
    let mut text = String::new();
    io::Read::read_to_string(&mut io::Read::take(f, max), &mut text)?;
    Ok(RootFile::Text(text))
}

/// Why a file another run will read again (an archive to restore) is not root's alone: not a
/// regular file (a link is not followed), not root's, writable by others; or its directory is
/// not root's or is writable by others (it could be swapped between two reads). None: it is.
pub fn not_root_only(path: &Path) -> io::Result<Option<String>> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::symlink_metadata(path)?;
    let loose = |m: &fs::Metadata| m.uid() != 0 || m.mode() & 0o022 != 0;
    if !m.is_file() {
        return Ok(Some(
            "it is not a regular file (a link, or a directory)".into(),
        ));
    }
    if loose(&m) {
        return Ok(Some(format!(
            "it is mode {:04o}, owner uid {}: others could change it",
            m.mode() & 0o7777,
            m.uid()
        )));
    }
    let dir = path.parent().unwrap_or(Path::new("/"));
    let d = fs::metadata(dir)?;
    if loose(&d) {
        return Ok(Some(format!(
            "its directory {} is mode {:04o}, owner uid {}: others could swap it",
            dir.display(),
            d.mode() & 0o7777,
            d.uid()
        )));
    }
    Ok(None)
}

/// Writes a generated file whole (for `generate`): its directory made, the file replaced.
pub fn write_generated(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(d) = path.parent() {
        fs::create_dir_all(d)?;
    }
    replace(path, bytes, 0o644)
}

/// A folder for secrets: made 0700 (its parents as umask gives) when missing; one that is there
/// is kept as it is (the files put in it are 0600).
pub fn private_dir(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if path.is_dir() {
        return Ok(());
    }
    if let Some(p) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(p)?;
    }
    fs::DirBuilder::new().mode(0o700).create(path)
}

/// Why `path` is not a folder this process alone may use (a folder, not a link, owned by this
/// process's user, no group or other bits); None when it is one.
pub fn not_private_dir(path: &Path) -> io::Result<Option<String>> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::symlink_metadata(path)?;
    let me = nix::unistd::geteuid().as_raw();
    Ok(if !m.is_dir() {
        Some("it is not a folder (a symbolic link?)".into())
    } else if m.uid() != me {
        Some(format!("it belongs to uid {}, not to uid {me}", m.uid()))
    } else if m.mode() & 0o077 != 0 {
        Some(format!(
            "it is mode {:04o}: others can reach it",
            m.mode() & 0o7777
        ))
    } else {
        None
    })
}

/// The SHA-256 of some bytes, as 64 lowercase hex digits.
pub fn sha256_hex(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
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

    fn mode_of(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn atomic_write_skips_same_content_and_keeps_a_backup() {
        use ModePolicy::*;
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("etc/x.conf");
        assert!(atomic_write(&p, b"one\n", 0o644, Exact, true).unwrap());
        assert!(!atomic_write(&p, b"one\n", 0o644, Exact, true).unwrap());
        assert!(atomic_write(&p, b"two\n", 0o600, Exact, false).unwrap());
        assert_eq!(fs::read(&p).unwrap(), b"two\n");
        assert_eq!(mode_of(&p), 0o600);
        assert_eq!(
            fs::read(t.path().join("etc/x.conf.swarmnode.bak")).unwrap(),
            b"one\n"
        );
        // The backup has the old file's mode, not the new one.
        assert_eq!(mode_of(&t.path().join("etc/x.conf.swarmnode.bak")), 0o644);
        let left: Vec<_> = fs::read_dir(t.path().join("etc"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with(".swarmnode-"))
            .collect();
        assert!(left.is_empty(), "temp files left: {left:?}");
    }

    #[test]
    fn an_existing_file_keeps_its_mode_and_owner_and_its_original_once() {
        use std::os::unix::fs::MetadataExt;
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("daemon.json");
        fs::write(&p, b"admin\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(&p, Some(4321), Some(4322)).unwrap();
        // Asked for 0644: the file stays 0600 (never widened) and keeps its owner.
        assert!(atomic_write(&p, b"one\n", 0o644, ModePolicy::KeepExisting, true).unwrap());
        let m = fs::metadata(&p).unwrap();
        assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o600, 4321, 4322));
        let orig = with_suffix(&p, ORIG);
        assert_eq!(fs::read(&orig).unwrap(), b"admin\n");
        assert_eq!(mode_of(&orig), 0o600);
        assert!(atomic_write(&p, b"two\n", 0o644, ModePolicy::KeepExisting, true).unwrap());
        assert_eq!(
            fs::read(&orig).unwrap(),
            b"admin\n",
            "the original is never overwritten"
        );
        assert_eq!(fs::read(with_suffix(&p, BAK)).unwrap(), b"one\n");
        assert!(!atomic_write(&p, b"two\n", 0o644, ModePolicy::KeepExisting, true).unwrap());
    }

    #[test]
    fn only_directories_root_alone_can_write_are_trusted() {
        use std::os::unix::fs::PermissionsExt as _;
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        let mode = |p: &str, m: u32| {
            fs::set_permissions(r.join(p), fs::Permissions::from_mode(m)).unwrap()
        };
        fs::create_dir_all(r.join("var/lib/node-exporter")).unwrap();
        assert_eq!(
            untrusted_dir(r, "/var/lib/node-exporter/x.prom").unwrap(),
            None
        );
        // Not there yet: nothing to swap.
        assert_eq!(
            untrusted_dir(r, "/var/lib/nope/deeper/x.prom").unwrap(),
            None
        );
        mode("var/lib", 0o775);
        let (dir, why) = untrusted_dir(r, "/var/lib/node-exporter/x.prom")
            .unwrap()
            .unwrap();
        assert_eq!(dir, "/var/lib");
        assert!(why.contains("mode 0775"), "{why}");
        mode("var/lib", 0o755);
        std::os::unix::fs::chown(r.join("var/lib/node-exporter"), Some(4321), None).unwrap();
        let (dir, why) = untrusted_dir(r, "/var/lib/node-exporter/x.prom")
            .unwrap()
            .unwrap();
        assert_eq!(dir, "/var/lib/node-exporter");
        assert!(why.contains("uid 4321"), "{why}");
        // A link another user could have placed leads to a directory of theirs: judged there.
        std::os::unix::fs::chown(r.join("var/lib/node-exporter"), Some(0), None).unwrap();
        fs::create_dir_all(r.join("tmp/evil")).unwrap();
        mode("tmp", 0o1777);
        std::os::unix::fs::symlink("/tmp/evil", r.join("var/lib/textfiles")).unwrap();
        let (dir, _) = untrusted_dir(r, "/var/lib/textfiles/x.prom")
            .unwrap()
            .unwrap();
        assert_eq!(dir, "/tmp");
        // The root itself counts.
        mode("", 0o777);
        assert_eq!(
            untrusted_dir(r, "/var/lib/node-exporter/x")
                .unwrap()
                .unwrap()
                .0,
            "/"
        );
    }

    #[test]
    fn in_root_keeps_every_symlink_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path().join("root");
        let outside = t.path().join("outside");
        fs::create_dir_all(r.join("etc")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        // ROOT/etc/docker -> /<tmp>/outside (absolute): stays under ROOT.
        symlink(&outside, r.join("etc/docker")).unwrap();
        let got = in_root(&r, "/etc/docker/daemon.json", true).unwrap();
        assert_eq!(
            got,
            r.join(outside.strip_prefix("/").unwrap())
                .join("daemon.json")
        );
        // ../../.. cannot climb above ROOT.
        symlink("../../../../../../outside", r.join("etc/up")).unwrap();
        assert_eq!(in_root(&r, "/etc/up/x", true).unwrap(), r.join("outside/x"));
        // Missing components are kept; a final link is left alone when asked.
        assert_eq!(
            in_root(&r, "/var/lib/x", true).unwrap(),
            r.join("var/lib/x")
        );
        symlink("/etc/shadow", r.join("etc/token")).unwrap();
        assert_eq!(
            in_root(&r, "/etc/token", false).unwrap(),
            r.join("etc/token")
        );
        assert_eq!(
            in_root(&r, "/etc/token", true).unwrap(),
            r.join("etc/shadow")
        );
        // Under a regular file nothing exists, and the link that led there is not followed again.
        fs::create_dir_all(r.join("tmp")).unwrap();
        fs::write(r.join("tmp/X"), b"a file").unwrap();
        fs::create_dir_all(r.join("var/lib")).unwrap();
        symlink("/tmp/X", r.join("var/lib/swarmnode")).unwrap();
        assert_eq!(
            in_root(&r, "/var/lib/swarmnode/report.json", true).unwrap(),
            r.join("tmp/X/report.json")
        );
        // `..` out of a missing directory checks what follows again.
        symlink(&outside, r.join("etc/docker2")).unwrap();
        assert_eq!(
            in_root(&r, "/nope/../etc/docker2/x", true).unwrap(),
            r.join(outside.strip_prefix("/").unwrap()).join("x")
        );
        // A loop is an error, never a path.
        symlink("loop2", r.join("etc/loop1")).unwrap();
        symlink("loop1", r.join("etc/loop2")).unwrap();
        assert!(in_root(&r, "/etc/loop1/x", true).is_err());
        // With / as the root it is the file the kernel would open.
        assert_eq!(
            in_root(Path::new("/"), "/proc/self/../self/comm", true)
                .unwrap()
                .parent()
                .unwrap()
                .parent(),
            Some(Path::new("/proc"))
        );
    }
}
