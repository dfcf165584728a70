//! The single-instance lock: `flock` on /run/swarmnode.lock, holding the owner's pid.
//! The kernel drops it when the process dies, so a crash never leaves a stale lock.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Result};

pub struct Lock {
    _file: Flock<File>,
}

pub fn acquire(path: &Path) -> Result<Lock> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| Error::io(format!("cannot open lock file {}", path.display()), e))?;
    // A hard link to some other file, a FIFO or a device is not ours to truncate or chmod.
    let meta = file
        .metadata()
        .map_err(|e| Error::io(format!("cannot examine lock file {}", path.display()), e))?;
    if !meta.is_file() || std::os::unix::fs::MetadataExt::nlink(&meta) != 1 {
        return Err(Error::Failed(format!(
            "the lock file {} is not a regular file of its own (a link or a special file); \
             remove it and run again",
            path.display()
        )));
    }
    // Only root needs to read the holder's pid: narrow a lock file an older run left wider.
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .map_err(|e| Error::io(format!("cannot narrow lock file {}", path.display()), e))?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(mut f) => {
            let pid = std::process::id().to_string();
            f.set_len(0)
                .and_then(|_| f.rewind())
                .and_then(|_| f.write_all(format!("{pid}\n").as_bytes()))
                .map_err(|e| Error::io(format!("cannot write lock file {}", path.display()), e))?;
            Ok(Lock { _file: f })
        }
        Err((mut f, Errno::EWOULDBLOCK)) => {
            let mut s = String::new();
            let _ = f.read_to_string(&mut s);
            let pid = s.trim();
            Err(Error::Locked {
                path: path.to_path_buf(),
                pid: if pid.is_empty() {
                    "unknown".into()
                } else {
                    pid.to_string()
                },
            })
        }
        Err((_, e)) => Err(Error::io(
            format!("cannot lock {}", path.display()),
            e.into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_first_pid() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("run/swarmnode.lock");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(t.path().join("elsewhere"), &p).unwrap();
        let e = acquire(&p).err().expect("a symlinked lock file is refused");
        assert!(e.to_string().contains("cannot open lock file"), "{e}");
        assert!(!t.path().join("elsewhere").exists());
        std::fs::remove_file(&p).unwrap();
        // A hard link to another file is refused, and that file is left alone.
        std::fs::write(t.path().join("precious"), "data").unwrap();
        std::fs::hard_link(t.path().join("precious"), &p).unwrap();
        assert!(acquire(&p).is_err());
        assert_eq!(
            std::fs::read_to_string(t.path().join("precious")).unwrap(),
            "data"
        );
        std::fs::remove_file(&p).unwrap();
        let first = acquire(&p).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let e = acquire(&p).err().expect("second lock must fail");
        assert_eq!(e.exit_code(), 75);
        assert!(
            e.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{e}"
        );
        drop(first);
        acquire(&p).unwrap();
    }
}
