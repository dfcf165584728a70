//! The system boundary. Every effect on the host goes through [`Host::execute`]; observation goes
//! through the [`cmd::Runner`] and the readers here. Every host path is taken under `root`.

mod action;
pub mod block;
pub mod clock;
pub mod cmd;
pub mod docker;
pub mod engine_api;
pub mod fs;
pub mod fstab;
pub mod lock;
pub mod lvm;
pub mod managers;
pub mod net;
pub mod places;
pub mod secret;
pub mod signals;
pub mod state;
pub mod syslog;

pub mod swarm;
pub mod systemd;
pub mod text;
pub mod users;

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
pub use action::{Action, Effect};
use cmd::{Cmd, Runner};

/// Environment variable naming an action id (e.g. `storage.vgcreate`): the process kills itself
/// with SIGKILL right after that action, to prove that the next run converges (vm-tests).
pub const FAILPOINT_ENV: &str = "SWARMNODE_FAILPOINT";

pub struct Host {
    root: PathBuf,
    pub runner: Runner,
    failpoint: Option<String>,
    offline: Option<String>,
}

impl Host {
    pub fn new(root: &Path) -> Host {
        Host {
            root: root.to_path_buf(),
            runner: Runner::new(),
            failpoint: std::env::var(FAILPOINT_ENV).ok().filter(|s| !s.is_empty()),
            offline: offline_reason(root),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The real location of a host path (`/etc/fstab` → `ROOT/etc/fstab`), resolved inside the
    /// root: a symlink under the root never leads out of it (see [`fs::in_root`]). A path that
    /// cannot be resolved (a symlink loop) is an error, never a guess.
    pub fn path(&self, host_path: &str) -> Result<PathBuf> {
        fs::in_root(&self.root, host_path, true).map_err(|e| self.unresolved(host_path, e))
    }

    /// Like [`Host::path`], but a final symlink is not followed: the link itself (to open with
    /// `O_NOFOLLOW`, so that a link is refused rather than followed, or to rename it).
    pub fn path_nofollow(&self, host_path: &str) -> Result<PathBuf> {
        fs::in_root(&self.root, host_path, false).map_err(|e| self.unresolved(host_path, e))
    }

    fn unresolved(&self, host_path: &str, e: std::io::Error) -> Error {
        Error::io(
            format!("cannot resolve {host_path} inside {}", self.root.display()),
            e,
        )
    }

    /// The path to give to a tool that runs on this host (`mount ... ROOT/var/lib/docker`).
    pub fn tool_path(&self, host_path: &str) -> Result<String> {
        Ok(self.path(host_path)?.to_string_lossy().into_owned())
    }

    /// The host path of a path another program gave in its own view (sshd's `PidFile`, its
    /// `HostKey`): under the root, the root taken off; None when it is outside the root.
    pub fn host_path_of(&self, tool_path: &str) -> Option<String> {
        if self.root == Path::new("/") {
            return Some(tool_path.to_string());
        }
        let rest = Path::new(tool_path).strip_prefix(&self.root).ok()?;
        Some(format!("/{}", rest.to_string_lossy()))
    }

    /// How another program on this host (sshd) runs swarmnode: the binary at host path `bin`
    /// as it sees it, with this run's --root when there is one.
    pub fn command_of(&self, bin: &str) -> Result<String> {
        let exe = self.tool_path(bin)?;
        Ok(if self.root == Path::new("/") {
            exe
        } else {
            format!("{exe} --root {}", self.root.display())
        })
    }

    pub fn read_text(&self, host_path: &str) -> Result<Option<String>> {
        let p = self.path(host_path)?;
        fs::read_opt(&p)
            .map(|o| o.map(|b| String::from_utf8_lossy(&b).into_owned()))
            .map_err(|e| Error::io(format!("cannot read {}", p.display()), e))
    }

    /// The local Docker engine's API socket: `DOCKER_HOST` when it names a unix socket, else
    /// /var/run/docker.sock under the root.
    pub fn docker_api(&self) -> Result<engine_api::DockerApi> {
        let from_env = std::env::var("DOCKER_HOST")
            .ok()
            .and_then(|h| h.strip_prefix("unix://").map(PathBuf::from));
        Ok(engine_api::DockerApi::at(&match from_env {
            Some(p) => p,
            None => self.path("/var/run/docker.sock")?,
        }))
    }

    /// What the swarm effects and observations need of the host.
    pub fn swarm_host(&self) -> Result<swarm::SwarmHost<'_>> {
        Ok(swarm::SwarmHost {
            api: self.docker_api()?,
            runner: &self.runner,
            root: &self.root,
        })
    }

    /// Is systemd the running init of this system (not in a kickstart %post chroot)?
    pub fn systemd_running(&self) -> bool {
        self.offline.is_none()
    }

    /// Why running services (systemd, docker, NFS, the network) are out of reach, as in a
    /// kickstart %post chroot; `None` on a booted system.
    pub fn offline(&self) -> Option<&str> {
        self.offline.as_deref()
    }

    /// Saves swarmnode's own state (report, records) atomically, readable by root only:
    /// bookkeeping, not a planned change.
    pub fn write_state(&self, host_path: &str, content: &str) -> Result<()> {
        let p = self.path(host_path)?;
        fs::atomic_write(&p, content.as_bytes(), 0o600, fs::ModePolicy::Exact, false)
            .map(|_| ())
            .map_err(|e| Error::io(format!("cannot write {}", p.display()), e))
    }

    /// Is there anything at this host path (a final symlink counts, and is not followed)?
    pub fn exists(&self, host_path: &str) -> Result<bool> {
        Ok(std::fs::symlink_metadata(self.path_nofollow(host_path)?).is_ok())
    }

    /// One of swarmnode's records (under /var/lib/swarmnode), read only when nobody but root can
    /// have written it: a regular file (not a link) of root's that its group and others cannot
    /// write, on a path of directories root owns and only root can write. None when it does not
    /// exist; otherwise refused (65) naming the record and why.
    pub fn read_record(&self, host_path: &str) -> Result<Option<String>> {
        use std::os::unix::fs::MetadataExt;
        let refuse = |why: String| -> Error {
            crate::error::Refusal::new("records", host_path.to_string(), why)
                .remedy(format!(
                    "swarmnode writes its records as root, mode 0600 or 0644; find out who else \
                     could write {host_path}, then make it (and the directories above it) root's \
                     and writable by root only, or remove it"
                ))
                .into()
        };
        let io = |e| Error::io(format!("cannot examine {host_path}"), e);
        if let Some((dir, why)) = fs::untrusted_dir(&self.root, host_path).map_err(io)? {
            return Err(refuse(format!("{dir} is on its way, and {why}")));
        }
        let p = self.path_nofollow(host_path)?;
        match std::fs::symlink_metadata(&p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
            Ok(m) if !m.file_type().is_file() => {
                return Err(refuse(
                    "it is not a regular file (a link, or a directory)".into(),
                ));
            }
            Ok(m) if m.uid() != 0 || m.mode() & 0o022 != 0 => {
                return Err(refuse(format!(
                    "it is mode {:04o}, owner uid {}: others could have written it",
                    m.mode() & 0o7777,
                    m.uid()
                )));
            }
            Ok(_) => {}
        }
        self.read_text(host_path)
    }

    /// Host paths of the files (and directories, ending in `/`) swarmnode created.
    pub fn created(&self) -> Result<Vec<String>> {
        self.state_lines(state::CREATED.path)
    }

    /// Host paths of the files swarmnode moved aside to NAME.bk.
    pub fn moved(&self) -> Result<Vec<String>> {
        self.state_lines(state::MOVED.path)
    }

    fn state_lines(&self, record: &str) -> Result<Vec<String>> {
        Ok(self
            .read_record(record)?
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect())
    }

    /// Adds host paths to a record of swarmnode's (created, moved), once each.
    fn record(&self, record: &str, paths: &[String]) -> Result<()> {
        let mut lines = self.state_lines(record)?;
        let before = lines.len();
        for p in paths {
            if !lines.contains(p) {
                lines.push(p.clone());
            }
        }
        if lines.len() == before {
            return Ok(());
        }
        self.write_state(record, &(lines.join("\n") + "\n"))
    }

    /// Writes a file of a planned action. The first time swarmnode changes a file it did not
    /// create, the administrator's version is kept as NAME.swarmnode.orig; a file it is about to
    /// create is recorded first, with the directories made for it (so a crash in between never
    /// makes swarmnode's file an "original"). Its own state is written as it is.
    fn write_file(&self, host_path: &str, content: &str, mode: u32) -> Result<()> {
        let p = self.path(host_path)?;
        let err = |e| Error::io(format!("cannot write {}", p.display()), e);
        if host_path.starts_with(state::DIR) {
            return fs::atomic_write(&p, content.as_bytes(), mode, fs::ModePolicy::Exact, false)
                .map(|_| ())
                .map_err(err);
        }
        outside_places(self, host_path)?;
        let mine = self.created()?.iter().any(|c| c == host_path);
        if !mine && std::fs::symlink_metadata(&p).is_err() {
            // The directories made on the way are recorded where reset may remove them (never
            // a top-level one such as /etc/).
            let mut new: Vec<String> = self
                .missing_dirs(host_path)?
                .into_iter()
                .filter(|d| places::outside(d).is_none())
                .collect();
            new.push(host_path.to_string());
            self.record(state::CREATED.path, &new)?;
        }
        fs::atomic_write(
            &p,
            content.as_bytes(),
            mode,
            fs::ModePolicy::KeepExisting,
            !mine,
        )
        .map(|_| ())
        .map_err(err)
    }

    /// The directories above a host path that do not exist yet, outermost first, each ending in `/`.
    fn missing_dirs(&self, host_path: &str) -> Result<Vec<String>> {
        let mut dirs = Vec::new();
        let mut d = Path::new(host_path).parent();
        while let Some(dir) = d.filter(|x| *x != Path::new("/")) {
            let s = dir.to_string_lossy().into_owned();
            if self.exists(&s)? {
                break;
            }
            dirs.push(format!("{s}/"));
            d = dir.parent();
        }
        dirs.reverse();
        Ok(dirs)
    }

    /// Carries out one action. This is the only place where swarmnode changes the host. When the
    /// action fails and says how to undo what it depends on, that is done and the action runs
    /// again; the error then tells what was put back.
    pub fn execute(&self, action: &Action) -> Result<()> {
        tracing::debug!(id = %action.id, "apply");
        if let Err(e) = self.carry_out(&action.effect) {
            if action.on_failure.is_empty() {
                return Err(e);
            }
            return Err(self.roll_back(action, e));
        }
        if self.failpoint.as_deref() == Some(action.id.as_str()) {
            eprintln!(
                "swarmnode: fail point {}: killing myself after this action",
                action.id
            );
            let _ = std::io::stdout().flush();
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGKILL);
        }
        Ok(())
    }

    /// `action` failed with `cause`: undo what it depends on, run it once more, and say so.
    fn roll_back(&self, action: &Action, cause: Error) -> Error {
        tracing::warn!(
            "{} failed; putting back what this step changed: {}",
            action.id,
            crate::error::chain(&cause)
        );
        let mut problems = Vec::new();
        for u in &action.on_failure {
            if let Err(e) = self.carry_out(&u.effect) {
                problems.push(format!("{}: {}", u.undo_text(), crate::error::chain(&e)));
            }
        }
        let again = self.carry_out(&action.effect);
        let undone: Vec<String> = action.on_failure.iter().map(|u| u.undo_text()).collect();
        let outcome = match (&again, problems.is_empty()) {
            (Ok(()), true) => "it ran with that: the node is as it was before this run".to_string(),
            (Ok(()), false) => format!(
                "it ran with that, but not all could be put back: {}",
                problems.join("; ")
            ),
            (Err(e), _) => format!(
                "and it failed again: {}{}",
                crate::error::chain(e),
                if problems.is_empty() {
                    String::new()
                } else {
                    format!("; not put back: {}", problems.join("; "))
                }
            ),
        };
        // Past its bound the command was stopped: slow, not necessarily wrong.
        let advice = if matches!(
            &cause,
            Error::Command(crate::error::CommandError::Timeout { .. })
        ) {
            "It did not finish in time: look at why it is slow (journalctl -u docker); the new \
             configuration may be right"
        } else {
            "Look at what the new configuration asks for (journalctl -u docker) and fix the profile"
        };
        Error::Failed(format!(
            "`{}` failed after this step's changes: {}; so swarmnode did this: {}, then ran it \
             again: {outcome}. {advice}",
            action.id,
            crate::error::chain(&cause),
            undone.join(", ")
        ))
    }

    fn carry_out(&self, effect: &Effect) -> Result<()> {
        match effect {
            Effect::Run {
                argv,
                limit_seconds,
            } => {
                let limit = limit_seconds.map(std::time::Duration::from_secs);
                self.runner.run_within(&Cmd { argv: argv.clone() }, limit)?;
            }
            Effect::Write {
                path,
                mode,
                content,
                ..
            } => self.write_file(path, content, *mode)?,
            Effect::Rename { from, to } => self.rename(from, to)?,
            Effect::Mkdir { path, mode } => self.mkdir(path, *mode)?,
            Effect::Remove { path } => self.remove(path)?,
            Effect::Swarm(op) => swarm::execute(&self.swarm_host()?, op)?,
        }
        Ok(())
    }

    /// A rename on one filesystem, synced; one that moves a file aside (NAME -> NAME.bk) is
    /// recorded first, for `reset` to put back.
    fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (a, b) = (self.path_nofollow(from)?, self.path_nofollow(to)?);
        if to == format!("{from}{}", fs::ASIDE) {
            outside_places(self, from)?;
            self.record(state::MOVED.path, &[from.to_string()])?;
        }
        std::fs::rename(&a, &b)
            .and_then(|_| fs::sync_dir_of(&b))
            .map_err(|e| {
                Error::io(
                    format!("cannot rename {} to {}", a.display(), b.display()),
                    e,
                )
            })
    }

    /// A directory and its parents; only a directory made here gets the mode: an existing one
    /// keeps its own.
    fn mkdir(&self, path: &str, mode: u32) -> Result<()> {
        let p = self.path(path)?;
        if p.is_dir() {
            return Ok(());
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(&p)
            .and_then(|_| std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)))
            .map_err(|e| Error::io(format!("cannot create directory {}", p.display()), e))
    }

    /// A file, or an empty directory (a path ending in `/`); one already gone is no error.
    fn remove(&self, path: &str) -> Result<()> {
        let p = self.path_nofollow(path)?;
        let removed = if path.ends_with('/') {
            std::fs::remove_dir(&p)
        } else {
            std::fs::remove_file(&p)
        };
        match removed {
            Ok(()) => fs::sync_dir_of(&p)
                .map_err(|e| Error::io(format!("cannot sync {}", p.display()), e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(format!("cannot remove {}", p.display()), e)),
        }
    }
}

impl Host {
    /// Why swarmnode may not write (or move aside) this file: none of its places, or reached
    /// through a symbolic link ([`places::not_writable`]). The runner refuses a plan with such an
    /// action before the step changes anything; the writers refuse it too.
    pub fn not_writable(&self, host_path: &str) -> Result<Option<String>> {
        places::not_writable(&self.root, host_path)
            .map_err(|e| Error::io(format!("cannot examine the way to {host_path}"), e))
    }
}

/// Is a process of this pid alive (a signal 0 reaches it)?
pub fn process_alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

/// The writers' own check: a file swarmnode may not write is a failure, never recorded or done.
fn outside_places(h: &Host, host_path: &str) -> Result<()> {
    match h.not_writable(host_path)? {
        None => Ok(()),
        Some(why) => Err(Error::Failed(format!(
            "swarmnode does not write {host_path}: {why}"
        ))),
    }
}

/// Offline when systemd is not running, PID 1 is something else (a PID namespace), or this
/// process is chrooted (Anaconda's %post: /run is the installer's, so /run/systemd/system exists).
fn offline_reason(root: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let inside = |p: &str| fs::in_root(root, p, true).ok();
    if !inside("/run/systemd/system").is_some_and(|p| p.is_dir()) {
        return Some("systemd is not running (no /run/systemd/system)".into());
    }
    let comm = inside("/proc/1/comm")
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    if !comm.is_empty() && comm.trim() != "systemd" {
        return Some(format!("PID 1 is {}, not systemd", comm.trim()));
    }
    // /proc/1/root is a magic link: followed as is, never resolved inside a --root.
    if root == Path::new("/")
        && let (Ok(a), Ok(b)) = (std::fs::metadata("/"), std::fs::metadata("/proc/1/root"))
        && (a.dev(), a.ino()) != (b.dev(), b.ino())
    {
        return Some("running chrooted: / is not PID 1's root (kickstart %post)".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A command stopped at its bound: what it depends on is put back and it runs again, as for
    /// any failure; the advice says it was slow, not that the configuration is wrong.
    #[test]
    fn a_command_past_its_bound_is_rolled_back_and_called_slow() {
        let t = tempfile::tempdir().unwrap();
        let h = Host::new(t.path());
        let slow = Action::run("t.slow", "w", Cmd::new("sleep").arg("5"))
            .within(1)
            .or_else_undo(vec![Action::run("t.undo", "w", Cmd::new("true"))]);
        let e = h.execute(&slow).unwrap_err().to_string();
        assert!(e.contains("did not finish within 1 s"), "{e}");
        assert!(e.contains("It did not finish in time"), "{e}");
        assert!(!e.contains("fix the profile"), "{e}");
        let bad = Action::run("t.bad", "w", Cmd::new("false")).or_else_undo(vec![Action::run(
            "t.undo",
            "w",
            Cmd::new("true"),
        )]);
        let e = h.execute(&bad).unwrap_err().to_string();
        assert!(e.contains("fix the profile"), "{e}");
    }
}
