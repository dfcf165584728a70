//! The one command runner: every external program swarmnode starts goes through [`Runner`].
//!
//! stdin is null, the locale is C, argv is logged at debug, stdout is captured for parsing, and the
//! last KiB of stderr is kept in the error. Tools are resolved once on PATH; a missing tool names the
//! package that provides it.

pub use crate::error::CommandError;
use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use super::secret::{Secret, scrub};

const STDERR_TAIL: usize = 1024;
/// The most a command that prints a secret may print.
const SECRET_MAX: usize = 64 << 10;

/// A command line: a program name (resolved on PATH) and its arguments.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Cmd {
    pub argv: Vec<String>,
}

impl Cmd {
    pub fn new(program: &str) -> Self {
        Cmd {
            argv: vec![program.to_string()],
        }
    }
    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.argv.push(a.into());
        self
    }
    pub fn args<I, S>(mut self, it: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.argv.extend(it.into_iter().map(Into::into));
        self
    }
    /// `ssh-keygen` making a new ed25519 key at `path` (no passphrase), commented `comment`:
    /// the bootstrap key and a node's own key are made alike.
    pub fn ssh_keygen(comment: &str, path: &str) -> Self {
        Cmd::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path])
    }
    pub fn program(&self) -> &str {
        &self.argv[0]
    }
}

/// A word as a POSIX shell reads it back unchanged: left alone when it has only letters, digits
/// and `_ - . / : , + @` (and `=` or `%` after the first character), else in single quotes. Everything
/// else, `~ [ # ! * ?` quotes and spaces included, is quoted.
pub fn sh_quote(a: &str) -> std::borrow::Cow<'_, str> {
    let safe = |(i, c): (usize, char)| {
        c.is_ascii_alphanumeric() || "_-./:,+@".contains(c) || ("=%".contains(c) && i > 0)
    };
    if !a.is_empty() && a.char_indices().all(safe) {
        std::borrow::Cow::Borrowed(a)
    } else {
        std::borrow::Cow::Owned(format!("'{}'", a.replace('\'', r"'\''")))
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.argv.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(&sh_quote(a))?;
        }
        Ok(())
    }
}

/// What a finished command printed.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// After a command exits, how long the pipes it shared may stay open: a descendant that keeps
/// them (a wrapper's child left running, a ProxyCommand) is then killed with the command's
/// process group, and what was read is the output.
const PIPE_GRACE: Duration = Duration::from_secs(1);
/// The longest a loop turn sleeps: how soon a command's exit is seen.
const TURN: Duration = Duration::from_millis(20);

/// Where a command's stdout goes: plain bytes, or a [`Secret`] of at most [`SECRET_MAX`] bytes
/// that never moves (None once more came: not a token).
enum Sink {
    Plain(Vec<u8>),
    Hidden(Option<Secret>),
}

impl Sink {
    fn take(&mut self, bytes: &[u8]) {
        match self {
            Sink::Plain(v) => v.extend_from_slice(bytes),
            Sink::Hidden(s) => {
                if s.as_mut().is_some_and(|s| s.push(bytes).is_err()) {
                    *s = None;
                }
            }
        }
    }
}

/// Reads the child's stdout and stderr and waits for it, each wait bounded: the command by its
/// `deadline` (then it and its process group are SIGKILLed and left: one stuck on a dead NFS
/// server may never be reaped, and swarmnode must not wait for it); the pipes, once it exited, by
/// [`PIPE_GRACE`] within that deadline (then its process group, where a descendant holding them
/// is, is SIGKILLed and the pipes left). None when the command itself ran out of time.
fn collect(
    child: &mut std::process::Child,
    out: &mut Sink,
    err: &mut Vec<u8>,
    deadline: Option<Instant>,
) -> std::io::Result<Option<std::process::ExitStatus>> {
    let group = nix::unistd::Pid::from_raw(-(child.id() as i32));
    let mut pipes: Pipes = [
        child.stdout.take().map(|p| Box::new(p) as Box<dyn ReadFd>),
        child.stderr.take().map(|p| Box::new(p) as Box<dyn ReadFd>),
    ];
    let mut status = None;
    let mut exited = None;
    loop {
        if status.is_none() {
            status = child.try_wait()?;
            exited = status.map(|_| Instant::now());
        }
        if status.is_some() && pipes.iter().all(Option::is_none) {
            return Ok(status);
        }
        let now = Instant::now();
        let until = match exited {
            None => deadline,
            Some(at) => Some(deadline.map_or(at + PIPE_GRACE, |d| d.min(at + PIPE_GRACE))),
        };
        if until.is_some_and(|u| now >= u) {
            if status.is_none() {
                let _ = child.kill();
            }
            let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
            return Ok(status);
        }
        read_ready(
            &mut pipes,
            until.map_or(TURN, |u| (u - now).min(TURN)),
            out,
            err,
        )?;
    }
}

/// The child's stdout and stderr, each until its end of file.
type Pipes = [Option<Box<dyn ReadFd>>; 2];

/// Waits up to `wait` for either pipe to have something, and reads what is there: stdout into
/// `out`, stderr into `err`; a pipe at its end is closed (None).
fn read_ready(
    pipes: &mut Pipes,
    wait: Duration,
    out: &mut Sink,
    err: &mut Vec<u8>,
) -> std::io::Result<()> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let ready: Vec<bool> = {
        let mut fds: Vec<PollFd> = pipes
            .iter()
            .flatten()
            .map(|p| PollFd::new(p.fd(), PollFlags::POLLIN))
            .collect();
        match poll(
            &mut fds,
            PollTimeout::try_from(wait).unwrap_or(PollTimeout::ZERO),
        ) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        fds.iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect()
    };
    let mut buf = [0u8; 8192];
    let mut ready = ready.into_iter();
    for (i, slot) in pipes.iter_mut().enumerate() {
        let Some(p) = slot else { continue };
        if ready.next() != Some(true) {
            continue;
        }
        match p.read(&mut buf) {
            Ok(0) => *slot = None,
            Ok(n) if i == 0 => {
                out.take(&buf[..n]);
                // It may be a token: no copy is left on the stack.
                buf[..n].fill(0);
            }
            Ok(n) => err.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => *slot = None,
        }
    }
    Ok(())
}

/// A child's pipe: read, and polled by its file descriptor.
trait ReadFd: Read {
    fn fd(&self) -> std::os::fd::BorrowedFd<'_>;
}
impl ReadFd for std::process::ChildStdout {
    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(self)
    }
}
impl ReadFd for std::process::ChildStderr {
    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(self)
    }
}

/// Waits for the child until `limit` after `started`; `None` when it ran out. Then the child is
/// SIGKILLed and left: one stuck on a dead NFS server may never be reaped, and swarmnode must not
/// wait for it (nor for its pipes).
fn wait_within(
    child: &mut std::process::Child,
    started: Instant,
    limit: Duration,
) -> std::io::Result<Option<std::process::ExitStatus>> {
    loop {
        if let Some(st) = child.try_wait()? {
            return Ok(Some(st));
        }
        if started.elapsed() >= limit {
            let _ = child.kill();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The last [`STDERR_TAIL`] bytes of stderr (on a character boundary), token-shaped text scrubbed.
fn tail_of(stderr: &[u8]) -> String {
    let stderr = String::from_utf8_lossy(stderr);
    let keep = stderr.len().saturating_sub(STDERR_TAIL);
    let start = (keep..=stderr.len())
        .find(|i| stderr.is_char_boundary(*i))
        .unwrap_or(stderr.len());
    scrub(&stderr[start..]).into_owned()
}

/// The package that provides a tool, for the "install ..." hint (RHEL-family names).
pub fn package_of(tool: &str) -> &'static str {
    match tool {
        "pvs" | "vgs" | "lvs" | "pvcreate" | "vgcreate" | "lvcreate" | "lvconvert" | "lvchange"
        | "vgchange" | "lvremove" | "lvm" => "lvm2",
        "wipefs" | "blkid" | "lsblk" | "mount" | "umount" | "findmnt" | "flock" => "util-linux",
        "mkfs.xfs" | "xfs_info" => "xfsprogs",
        "cp" => "coreutils",
        "dockerd" | "docker" => "docker-ce (or moby-engine / docker)",
        "systemctl" => "systemd",
        "ssh" => "openssh-clients",
        "stat" | "install" => "coreutils",
        _ => "that provides it",
    }
}

/// Runs commands; tools are looked up on PATH once and remembered.
///
/// Every `ssh` of a run shares one connection per manager (OpenSSH's ControlMaster): the first
/// one opens it, the others ride on it, and it is closed when the runner goes away. A node then
/// costs a manager's sshd one connection (one key exchange, one slot of its MaxStartups) per
/// run, not one per command. The control sockets live in a directory of this process's own,
/// mode 0700, made under /run (only when /run belongs to root or to us and nobody else can write
/// there; TMPDIR is not trusted): whoever could put a socket of theirs in its place would see
/// and answer the commands sent to the manager. Keepalives (`ServerAliveInterval`) end a shared
/// connection to a manager that went away, so the next ssh opens a new one.
#[derive(Default)]
pub struct Runner {
    resolved: Mutex<HashMap<String, PathBuf>>,
    /// The private directory of the ssh control sockets, made at the first ssh (None: sharing
    /// is off, each ssh connects on its own).
    ssh_share: OnceLock<Option<tempfile::TempDir>>,
}

/// How long an ssh master stays after its last command if the runner cannot close it (killed).
const SSH_PERSIST_SECONDS: u32 = 30;
/// A unix socket path has room for ~107 bytes; ssh adds `/` + 40 (%C) + a 17-byte suffix.
const SSH_SHARE_DIR_MAX: usize = 48;
/// Where the private directory of the control sockets is made.
const SSH_SHARE_BASE: &str = "/run";

impl Runner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Is the tool on PATH?
    pub fn has(&self, tool: &str) -> bool {
        self.resolve(tool).is_ok()
    }

    /// Where the tool is on PATH, if it is.
    pub fn path_of(&self, tool: &str) -> Option<PathBuf> {
        self.resolve(tool).ok()
    }

    /// The argv that is run: `ssh` gets the options that share its connection.
    fn argv_of(&self, cmd: &Cmd) -> Vec<String> {
        let Some(dir) = (cmd.program() == "ssh")
            .then(|| self.ssh_share_dir())
            .flatten()
        else {
            return cmd.argv.clone();
        };
        let mut argv = vec![cmd.argv[0].clone()];
        // One connection per manager and key: a connection logged in with one key (a bootstrap
        // key) is never reused by a command that names another (the node's own).
        let key = cmd
            .argv
            .windows(2)
            .find(|w| w[0] == "-i")
            .map(|w| format!("-{}", &super::fs::sha256_hex(w[1].as_bytes())[..12]))
            .unwrap_or_default();
        // Not `-v` here: a master keeps a -v client's stderr open (the reader would wait for it).
        for o in [
            "ControlMaster=auto".to_string(),
            format!("ControlPath={}/%C{key}", dir.display()),
            format!("ControlPersist={SSH_PERSIST_SECONDS}"),
            "ServerAliveInterval=5".to_string(),
            "ServerAliveCountMax=2".to_string(),
        ] {
            argv.extend(["-o".to_string(), o]);
        }
        argv.extend(cmd.argv[1..].iter().cloned());
        argv
    }

    fn ssh_share_dir(&self) -> Option<&std::path::Path> {
        self.ssh_share
            .get_or_init(|| {
                use std::os::unix::fs::{MetadataExt, PermissionsExt};
                let off = |why: String| tracing::debug!("ssh connections are not shared: {why}");
                let base = std::fs::metadata(SSH_SHARE_BASE)
                    .inspect_err(|e| off(format!("{SSH_SHARE_BASE}: {e}")))
                    .ok()?;
                let euid = nix::unistd::geteuid().as_raw();
                if !base.is_dir() || base.mode() & 0o022 != 0 || ![0, euid].contains(&base.uid()) {
                    off(format!(
                        "{SSH_SHARE_BASE} is not a directory only its owner writes to"
                    ));
                    return None;
                }
                let made = tempfile::Builder::new()
                    .prefix("swarmnode-ssh.")
                    .permissions(std::fs::Permissions::from_mode(0o700))
                    .tempdir_in(SSH_SHARE_BASE)
                    .inspect_err(|e| off(format!("no private directory in {SSH_SHARE_BASE}: {e}")))
                    .ok()?;
                if made.path().as_os_str().len() > SSH_SHARE_DIR_MAX {
                    off(format!(
                        "{} is too long for a socket path",
                        made.path().display()
                    ));
                    return None;
                }
                Some(made)
            })
            .as_ref()
            .map(|d| d.path())
    }

    fn resolve(&self, tool: &str) -> Result<PathBuf, CommandError> {
        let mut cache = self.resolved.lock().expect("runner cache poisoned");
        if let Some(p) = cache.get(tool) {
            return Ok(p.clone());
        }
        let p = which::which(tool).map_err(|_| CommandError::Missing {
            tool: tool.to_string(),
            package: package_of(tool),
        })?;
        cache.insert(tool.to_string(), p.clone());
        Ok(p)
    }

    /// Runs the command and returns its output whatever the exit status; only a missing tool or a
    /// failure to start is an error. Use this where a non-zero status is an answer to read.
    pub fn output(&self, cmd: &Cmd) -> Result<Output, CommandError> {
        self.output_within(cmd, None)
    }

    /// Like [`Runner::output`], but the command is killed after `limit` (a remote that may hang).
    pub fn output_timeout(&self, cmd: &Cmd, limit: Duration) -> Result<Output, CommandError> {
        self.output_within(cmd, Some(limit))
    }

    /// Like [`Runner::output_timeout`] for a command that prints a secret (a join token): stdout
    /// is read into a [`Secret`] of at most 64 KiB that is zeroed when dropped, and `Output::stdout`
    /// stays empty.
    pub fn output_secret(
        &self,
        cmd: &Cmd,
        limit: Duration,
    ) -> Result<(Output, Secret), CommandError> {
        let mut secret = None;
        let out = self.spawn_wait(cmd, Some(limit), Some(&mut secret))?;
        Ok((
            out,
            secret.unwrap_or_else(|| Secret::read_from(&b""[..], 0).expect("empty")),
        ))
    }

    fn output_within(&self, cmd: &Cmd, limit: Option<Duration>) -> Result<Output, CommandError> {
        self.spawn_wait(cmd, limit, None)
    }

    fn spawn_wait(
        &self,
        cmd: &Cmd,
        limit: Option<Duration>,
        secret: Option<&mut Option<Secret>>,
    ) -> Result<Output, CommandError> {
        let exe = self.resolve(cmd.program())?;
        let shown = cmd.to_string();
        let argv = self.argv_of(cmd);
        // What runs, connection sharing included.
        tracing::debug!(cmd = %Cmd { argv: argv.clone() }, "run");
        let started = Instant::now();
        let spawn = |source| CommandError::Spawn {
            cmd: shown.clone(),
            source,
        };
        let mut child = start(&exe, &argv[1..]).map_err(spawn)?;
        let mut out = if secret.is_some() {
            Sink::Hidden(Some(Secret::with_room(SECRET_MAX)))
        } else {
            Sink::Plain(Vec::new())
        };
        let mut stderr = Vec::new();
        let status = collect(
            &mut child,
            &mut out,
            &mut stderr,
            limit.map(|l| started + l),
        )
        .map_err(spawn)?
        .ok_or_else(|| CommandError::Timeout {
            cmd: shown.clone(),
            secs: limit.map_or(0, |l| l.as_secs()),
        })?;
        let stdout = match out {
            Sink::Plain(v) => v,
            Sink::Hidden(hidden) => {
                if let Some(slot) = secret {
                    *slot = hidden;
                }
                Vec::new()
            }
        };
        let code = status.code().unwrap_or(-1);
        tracing::debug!(cmd = %shown, code, ms = started.elapsed().as_millis() as u64, "done");
        Ok(Output {
            code,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: tail_of(&stderr),
        })
    }

    /// Runs the command; a non-zero exit is an error carrying the stderr tail.
    pub fn run(&self, cmd: &Cmd) -> Result<Output, CommandError> {
        self.run_within(cmd, None)
    }

    /// Like [`Runner::run`]; with a `limit`, the command is killed after it, which is an error.
    pub fn run_within(&self, cmd: &Cmd, limit: Option<Duration>) -> Result<Output, CommandError> {
        let out = self.output_within(cmd, limit)?;
        if out.code != 0 {
            return Err(CommandError::Failed {
                cmd: cmd.to_string(),
                status: if out.code < 0 {
                    "was killed by a signal".to_string()
                } else {
                    format!("exited with status {}", out.code)
                },
                code: Some(out.code),
                stderr: out.stderr,
            });
        }
        Ok(out)
    }

    /// Runs the command and parses its stdout as JSON.
    pub fn json<T: DeserializeOwned>(&self, cmd: &Cmd) -> Result<T, CommandError> {
        let out = self.run(cmd)?;
        parse_json(cmd, &out.stdout)
    }
}

/// A child in its own process group (a Ctrl-C on the terminal reaches swarmnode, which lets the
/// command finish, and not the command itself), in the C locale, stdin empty, both outputs piped.
fn start(exe: &Path, args: &[String]) -> std::io::Result<std::process::Child> {
    std::process::Command::new(exe)
        .process_group(0)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("LC_ALL", "C")
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        .spawn()
}

impl Drop for Runner {
    /// The shared ssh connections are closed (`ssh -O exit` on each control socket), within a
    /// few seconds; the directory goes with the TempDir.
    fn drop(&mut self) {
        let Some(Some(dir)) = self.ssh_share.get() else {
            return;
        };
        // The ssh that ran (it was resolved then); no lock that a panic could have poisoned.
        let Some(ssh) = self
            .resolved
            .lock()
            .ok()
            .and_then(|c| c.get("ssh").cloned())
        else {
            return;
        };
        let Ok(entries) = std::fs::read_dir(dir.path()) else {
            return;
        };
        for socket in entries.flatten() {
            let started = Instant::now();
            let child = std::process::Command::new(&ssh)
                .process_group(0)
                .arg("-o")
                .arg(format!("ControlPath={}", socket.path().display()))
                .args(["-O", "exit", "swarmnode-manager"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            if let Ok(mut c) = child {
                let _ = wait_within(&mut c, started, Duration::from_secs(5));
            }
        }
    }
}

pub fn parse_json<T: DeserializeOwned>(cmd: &Cmd, text: &str) -> Result<T, CommandError> {
    serde_json::from_str(text).map_err(|source| CommandError::Parse {
        cmd: cmd.to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 28: a connection logged in with one key (a bootstrap key) is never reused for a
    /// command that names another (the node's own key): the broker knows the caller by the key
    /// the connection logged in with.
    #[test]
    fn a_shared_connection_is_one_key_s_own() {
        if nix::unistd::geteuid().as_raw() != 0 {
            return;
        }
        let r = Runner::new();
        let path = |key: &str| {
            let c = Cmd::new("ssh").args(["-i", key, "-p", "22", "--", "m1", "self", "x"]);
            r.argv_of(&c)
                .iter()
                .find_map(|a| a.strip_prefix("ControlPath=").map(str::to_string))
                .expect("a ControlPath")
        };
        assert_ne!(
            path("/etc/swarmnode/bootstrap_key"),
            path("/etc/swarmnode/node_key")
        );
        assert_eq!(
            path("/etc/swarmnode/node_key"),
            path("/etc/swarmnode/node_key")
        );
        let plain = Cmd::new("ssh").args(["--", "m1", "docker", "info"]);
        assert!(
            r.argv_of(&plain)
                .iter()
                .any(|a| a.starts_with("ControlPath=") && a.ends_with("/%C")),
            "without -i: one connection per manager, as before"
        );
    }

    #[test]
    fn ssh_shares_its_connection_through_a_private_directory_that_goes_with_the_runner() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let r = Runner::new();
        let ls = Cmd::new("ls").args(["-l"]);
        assert_eq!(r.argv_of(&ls), ls.argv, "only ssh is changed");
        let ssh = Cmd::new("ssh").args(["-p", "22", "--", "m1", "docker", "info"]);
        let argv = r.argv_of(&ssh);
        if nix::unistd::geteuid().as_raw() != 0 {
            return; // /run is root's: sharing is off for others, which the rest needs
        }
        let path = argv
            .iter()
            .find_map(|a| a.strip_prefix("ControlPath="))
            .expect("a ControlPath");
        let dir = std::path::PathBuf::from(path.strip_suffix("/%C").unwrap());
        assert!(dir.starts_with("/run"), "{}", dir.display());
        let m = std::fs::metadata(&dir).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o700);
        assert_eq!(m.uid(), 0);
        assert_eq!(argv[0], "ssh");
        assert_eq!(
            &argv[argv.len() - 6..],
            &ssh.argv[1..],
            "its own arguments last"
        );
        assert!(
            argv.contains(&"ServerAliveInterval=5".to_string()),
            "{argv:?}"
        );
        assert_eq!(r.argv_of(&ssh), argv, "one directory for the whole run");
        drop(r);
        assert!(!dir.exists(), "{} left behind", dir.display());
    }

    #[test]
    fn display_quotes_what_a_shell_would_split() {
        let c = Cmd::new("lvs").args(["-o", "lv_name,vg_name", "a b", ""]);
        assert_eq!(c.to_string(), "lvs -o lv_name,vg_name 'a b' ''");
    }

    #[test]
    fn quoting_leaves_nothing_for_a_shell_to_expand() {
        for (word, quoted) in [
            ("function=production", "function=production"),
            ("home=~", "'home=~'"),
            ("rack=b[12]", "'rack=b[12]'"),
            ("a#b", "'a#b'"),
            ("hi!", "'hi!'"),
            ("it's", "'it'\\''s'"),
            ("=cmd", "'=cmd'"),
            ("~", "'~'"),
            ("$(id)", "'$(id)'"),
            ("", "''"),
        ] {
            assert_eq!(sh_quote(word), quoted, "{word}");
        }
    }

    proptest::proptest! {
        #[test]
        fn sh_reads_every_quoted_word_back_unchanged(w in "[ -~]{0,20}") {
            let out = std::process::Command::new("sh")
                .args(["-c", &format!("printf %s {}", sh_quote(&w))])
                .output()
                .unwrap();
            proptest::prop_assert_eq!(String::from_utf8_lossy(&out.stdout), w);
        }
    }

    #[test]
    fn missing_tool_names_the_package() {
        let r = Runner::new();
        let err = r.run(&Cmd::new("pvcreate-does-not-exist")).unwrap_err();
        assert!(matches!(err, CommandError::Missing { .. }));
        assert_eq!(package_of("lvcreate"), "lvm2");
        assert_eq!(package_of("mkfs.xfs"), "xfsprogs");
    }

    #[test]
    fn failure_keeps_status_and_stderr_tail() {
        let r = Runner::new();
        let err = r
            .run(&Cmd::new("sh").args(["-c", "echo out; echo 'bad thing happened' >&2; exit 5"]))
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("exited with status 5"), "{msg}");
        assert!(msg.contains("bad thing happened"), "{msg}");
    }

    #[test]
    fn a_hanging_command_is_stopped_at_its_limit() {
        let r = Runner::new();
        let t = Instant::now();
        let err = r
            .output_timeout(&Cmd::new("sleep").arg("10"), Duration::from_millis(300))
            .unwrap_err();
        assert!(matches!(err, CommandError::Timeout { .. }), "{err}");
        assert!(t.elapsed() < Duration::from_secs(5));
        let out = r
            .output_timeout(
                &Cmd::new("sh").args(["-c", "echo hi"]),
                Duration::from_secs(5),
            )
            .unwrap();
        assert_eq!(out.stdout, "hi\n");
        // run_within: stopped at its limit, and a non-zero exit still an error.
        let err = r
            .run_within(
                &Cmd::new("sleep").arg("10"),
                Some(Duration::from_millis(300)),
            )
            .unwrap_err();
        assert!(matches!(err, CommandError::Timeout { .. }), "{err}");
        let err = r
            .run_within(&Cmd::new("false"), Some(Duration::from_secs(5)))
            .unwrap_err();
        assert!(err.to_string().contains("exited with status 1"), "{err}");
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    /// Is the process gone (or a zombie waiting for its reaper)? Within a second.
    fn gone(pid_file: &std::path::Path) -> bool {
        let pid = std::fs::read_to_string(pid_file)
            .unwrap()
            .trim()
            .to_string();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(1) {
            match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                Err(_) => return true,
                Ok(stat) if stat.rsplit(") ").next().is_some_and(|r| r.starts_with('Z')) => {
                    return true;
                }
                Ok(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        false
    }

    #[test]
    fn a_child_that_keeps_the_pipes_does_not_hold_the_command_past_its_grace() {
        let r = Runner::new();
        let t = tempfile::tempdir().unwrap();
        let pid = t.path().join("pid");
        // Bounded or not: the output printed before the exit is read, within a second or so
        // of the exit, and the descendant in the command's process group is killed.
        for limit in [Some(Duration::from_secs(30)), None] {
            let t0 = Instant::now();
            let cmd = Cmd::new("sh").args([
                "-c",
                &format!(
                    "echo hi; echo err >&2; sleep 60 & echo $! > {}; exit 3",
                    pid.display()
                ),
            ]);
            let out = match limit {
                Some(l) => r.output_timeout(&cmd, l),
                None => r.output(&cmd),
            }
            .unwrap();
            assert_eq!((out.code, out.stdout.as_str()), (3, "hi\n"), "{limit:?}");
            assert_eq!(out.stderr, "err\n");
            assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
            assert!(gone(&pid), "the group's descendant was left running");
        }
        // One that left the process group (its own session) is not killed, but not waited for.
        let t0 = Instant::now();
        let out = r
            .output(&Cmd::new("sh").args([
                "-c",
                &format!(
                    "echo hi; setsid sleep 60 & echo $! > {}; exit 0",
                    pid.display()
                ),
            ]))
            .unwrap();
        assert_eq!(out.stdout, "hi\n");
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
        let other = std::fs::read_to_string(&pid).unwrap();
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(other.trim().parse().unwrap()),
            nix::sys::signal::Signal::SIGKILL,
        );
    }

    #[test]
    fn a_command_past_its_limit_is_killed_with_its_children() {
        let r = Runner::new();
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        let t0 = Instant::now();
        let err = r
            .output_timeout(
                &Cmd::new("sh").args([
                    "-c",
                    &format!(
                        "sleep 60 & echo $! > {}; sleep 60 & echo $! > {}; wait",
                        a.display(),
                        b.display()
                    ),
                ]),
                Duration::from_millis(500),
            )
            .unwrap_err();
        assert!(matches!(err, CommandError::Timeout { .. }), "{err}");
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
        assert!(gone(&a) && gone(&b), "children left running");
    }

    #[test]
    fn a_secret_is_read_whole_and_more_than_its_room_is_none() {
        let r = Runner::new();
        let (out, s) = r
            .output_secret(
                &Cmd::new("sh").args(["-c", "echo tok"]),
                Duration::from_secs(5),
            )
            .unwrap();
        assert_eq!((out.stdout.as_str(), s.expose()), ("", &b"tok\n"[..]));
        let (_, s) = r
            .output_secret(
                &Cmd::new("sh").args(["-c", "head -c 70000 /dev/zero"]),
                Duration::from_secs(5),
            )
            .unwrap();
        assert!(s.expose().is_empty());
    }

    #[test]
    fn stderr_tail_is_bounded() {
        let r = Runner::new();
        let out = r
            .output(&Cmd::new("sh").args(["-c", "head -c 5000 /dev/zero | tr '\\0' x >&2"]))
            .unwrap();
        assert_eq!(out.stderr.len(), STDERR_TAIL);
    }
}
