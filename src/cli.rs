//! The command line (clap derive; doc comments are the help).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::profile::Driver;

/// `--driver`: the profile's [`Driver`], named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DriverArg {
    /// devicemapper below Docker Engine 25, overlay2 from 25 (the version of the package that owns
    /// dockerd; `dockerd --version` only when no package does).
    Auto,
    /// The direct-lvm thin pool (Docker Engine < 25 only).
    Devicemapper,
    /// An XFS (ftype=1) logical volume mounted at /var/lib/docker.
    Overlay2,
}

impl From<DriverArg> for Driver {
    fn from(d: DriverArg) -> Driver {
        match d {
            DriverArg::Auto => Driver::Auto,
            DriverArg::Devicemapper => Driver::Devicemapper,
            DriverArg::Overlay2 => Driver::Overlay2,
        }
    }
}

/// Turns a freshly installed CentOS/RHEL-family host into a Docker Swarm node: the Docker data disk
/// on LVM, the engine's configuration, NFS mounts, and joining the swarm.
#[derive(Debug, Parser)]
#[command(name = "swarmnode", version, propagate_version = true)]
pub struct Cli {
    /// Every host path (files, /proc, /sys, /dev, /run) is taken under this directory.
    #[arg(long, global = true, default_value = "/", value_name = "DIR")]
    pub root: PathBuf,

    /// The profile [default: /etc/swarmnode/profile.json under --root]. When that default file is
    /// absent, apply, plan, reset and the step commands use built-in defaults (--device alone
    /// selects the storage step), check refuses (65), and the broker never reads a profile.
    #[arg(long, global = true, value_name = "FILE")]
    pub profile: Option<PathBuf>,

    /// More detail on stderr (-v: every command run, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only warnings and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print the machine-readable result (the report) on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show exactly which commands and files `apply` would run and write; changes nothing.
    Plan(StorageArgs),
    /// Bring the node to the profile's state (every step of the profile), then verify it.
    Apply(StorageArgs),
    /// Only the storage step: the Docker data disk (thin pool or XFS volume).
    Storage(StorageArgs),
    /// Only the engine step: daemon.json, registry CAs, docker.service drop-ins, restart if changed.
    Engine(StorageArgs),
    /// Only the mounts step: every NFS path of the profile is mounted, is NFS, and answers within
    /// mounts.timeout_seconds (75 naming the path and server when it does not).
    Mounts,
    /// Only the swarm step: fetch the join token from a manager (ssh, tls or a root-only file),
    /// join through the local Engine API, and have the manager set the node's labels.
    Join,
    /// Take the node apart again, for re-provisioning by hand: out of the swarm, docker's
    /// configuration put back, swarmnode's volumes removed, its state removed. Alone it prints
    /// what it would remove and changes nothing; --yes does it. Only this node's volume group
    /// goes: on the recorded device, with this machine's tag (another of that name is named and
    /// kept), every LVM command seeing its disks only. Its records are checked first: a line
    /// outside the places swarmnode writes to is refused (65) before anything changes.
    Reset(ResetArgs),
    /// Drain this node: set its availability to drain (through the profile's channel to the
    /// managers; a manager sets its own), then wait until every task of a replicated service
    /// that ran here runs on another node, printing what is left by service. Tasks of global
    /// services stop and move nowhere; containers no service started are never moved: both are
    /// listed apart. Past --timeout: 75, naming each task left and why (the managers' words);
    /// the node stays drained.
    Drain(DrainArgs),
    /// Make this node active again (its availability set to active): swarm may run tasks here.
    Activate,
    /// Move a devicemapper node to overlay2 on the same disk, keeping the node: its swarm
    /// identity, labels, named volumes, networks' local state, plugins and trust are carried
    /// over; images and containers (devicemapper's data) are dropped, and swarm starts the
    /// node's tasks again. Drains first (unless --no-drain), stops docker, removes the thin pool,
    /// makes the XFS volume in the same volume group, switches daemon.json, starts docker, makes
    /// the node active again. Works on any engine version, also after an upgrade to Docker 25 or
    /// later that already stopped docker. Killed anywhere, the next run finishes it.
    #[command(name = "migrate-storage")]
    MigrateStorage(MigrateArgs),
    /// On a manager: copy the swarm's state (/var/lib/docker/swarm) with docker stopped, into
    /// an archive (0600) in backup.directory with a manifest (swarm and node IDs, the managers,
    /// the engine's version, autolock; never the unlock key). Refused (65) unless the other
    /// managers keep a reachable majority without this one; while another manager's backup
    /// claim holds (the label swarmnode.backup); on the leader of several managers (it names a
    /// follower); while the swarm has no leader (75); and, unless --force, on the only manager
    /// or an autolocked swarm. Docker is started again and waited for until this manager is
    /// reachable with a leader; the archives beyond backup.keep are removed. Stopped while
    /// docker is stopped, the next run finishes it and starts docker.
    Backup(BackupArgs),
    /// On a manager whose docker holds no swarm: put an archive of `backup` in place with
    /// docker stopped, start docker, and re-form the swarm from it as a swarm of this manager
    /// alone (force-new-cluster). Prints what was restored (services, secrets, configs,
    /// networks, nodes) and what to do next. Refused (65) when docker holds a swarm, or when
    /// the archive holds anything but swarm/ and its manifest.
    Restore(RestoreArgs),
    /// Check the node's health, read-only: storage (thin pool or volume: use, monitoring, room to
    /// grow), engine (running, configured as apply writes it, the file loaded), NFS mounts,
    /// swarm membership and labels, the first boot. Exit 0 green, 1 yellow, 2 red.
    Check(CheckArgs),
    /// On a manager: the broker, what nodes may ask of it and the keys they may ask with.
    /// Alone, it is the forced command sshd runs for the broker user. It answers one request of
    /// a fixed grammar in SSH_ORIGINAL_COMMAND: join-token worker|manager, enroll ID KEY, self
    /// ID, label ID KEY=VALUE..., remove-stale ID, leave-entry ID, availability ID active|drain,
    /// tasks ID. It acts for the caller its
    /// key names: a bootstrap key, a node's own key (for that node alone), or a key listed by
    /// hand (the node at the ssh client's address). What it allows is in
    /// /etc/swarmnode-broker/broker.json. Each request is logged before it is served; a log
    /// stuck for 2 s gets 69. Anything else is refused (65). The commands below are run by root
    /// on a manager.
    Broker(BrokerArgs),
    /// Writes the man pages, shell completions and the packaged first-boot unit, made from
    /// this command line's definition, under DIR (packaging/, the release artefacts).
    #[command(hide = true)]
    Generate {
        /// The folder to write into (made when missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Also write the markdown reference (reference/*.md) into this folder (docs/).
        #[arg(long, value_name = "DIR")]
        docs: Option<PathBuf>,
    },
}

/// `broker`: the forced command (the caller's key, as the broker's own key lines name it) or one
/// of root's commands.
#[derive(Debug, Clone, Default, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BrokerArgs {
    /// The caller logged in with this bootstrap key (its fingerprint): set by the key line the
    /// broker hands sshd, never by the caller.
    #[arg(long, hide = true, value_name = "FINGERPRINT", requires = "expires")]
    pub bootstrap: Option<String>,
    /// When that bootstrap key expires (seconds since 1970).
    #[arg(long, hide = true, value_name = "SECONDS", requires = "bootstrap")]
    pub expires: Option<u64>,
    /// The caller logged in with the key bound to this node ID.
    #[arg(
        long,
        hide = true,
        value_name = "NODE_ID",
        requires = "key",
        conflicts_with = "bootstrap"
    )]
    pub node: Option<String>,
    /// That key's fingerprint.
    #[arg(long, hide = true, value_name = "FINGERPRINT", requires = "node")]
    pub key: Option<String>,
    #[command(subcommand)]
    pub command: Option<BrokerCommand>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum BrokerCommand {
    /// Make a bootstrap key that expires: its public half stored in the swarm (every manager
    /// takes it at once); DIR/bootstrap_key (0600), DIR/known_hosts (the host keys of every
    /// manager that applied the broker step) and DIR/bootstrap.ks (the kickstart lines that
    /// write both on the node, 0600) written. It may ask for a worker token and enrol a node's
    /// own key, nothing else, and only until it expires. Expired bootstrap keys are cleared.
    Bootstrap {
        /// How long it lives: 90s, 30m, 24h, 7d (at least 1m, at most 30d).
        #[arg(long, value_name = "DURATION", default_value = "24h")]
        ttl: String,
        /// Where the files go (made 0700 when missing; an existing bootstrap_key there is refused).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// List the keys the broker's user may log in with: kind, node ID, hostname, address,
    /// fingerprint, created, expiry.
    Keys,
    /// Remove a key: a node's (by its node ID) or a bootstrap key (by its fingerprint). Expired
    /// bootstrap keys are cleared too.
    Revoke {
        /// A node ID, or a key's fingerprint (SHA256:...).
        #[arg(value_name = "ID|FINGERPRINT")]
        what: String,
    },
    /// What sshd runs (AuthorizedKeysCommand) for the broker user at each login: the keys from
    /// the swarm, each line with its restrictions (restrict, from=, expiry-time= for a bootstrap
    /// key, and the forced command that carries the key's identity), within 2 s; nothing on
    /// failure.
    AuthorizedKeys {
        /// The user logging in (sshd's %u); another than the broker's gets nothing.
        user: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// What to print: a table, JSON, a Xymon status message, or Prometheus text (--json is
    /// --format json).
    #[arg(long, value_enum, default_value = "text")]
    pub format: crate::check::Format,

    /// Also send the Xymon status message to xymond at SERVER (port 1984 when absent).
    #[arg(long, value_name = "SERVER[:PORT]", value_parser = crate::profile::ServerAddr::parse)]
    pub xymon: Option<crate::profile::ServerAddr>,

    /// Also write the Prometheus metrics to PATH (node_exporter's textfile collector reads
    /// DIR/*.prom), atomically.
    #[arg(long, value_name = "PATH")]
    pub textfile: Option<String>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct ResetArgs {
    /// Do it (without it, reset only shows what it would do).
    #[arg(long)]
    pub yes: bool,

    /// Take out the swarm's last manager, or a manager whose going loses quorum, anyway (with
    /// force: the last manager ends the swarm); go on when docker is down on a swarm member.
    #[arg(long)]
    pub force: bool,

    /// Leave the volumes, their fstab entry, the LVM profile and the storage record alone.
    #[arg(long)]
    pub keep_storage: bool,

    /// Leave the swarm without draining first (by default reset drains the node and waits for
    /// its replicas to run elsewhere, within --drain-timeout).
    #[arg(long)]
    pub no_drain: bool,

    /// How long reset's drain waits: 30s, 10m, 1h (a number alone: seconds).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = seconds)]
    pub drain_timeout: u64,
}

/// `backup`'s options.
#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// Only show what it would do; change nothing.
    #[arg(long)]
    pub plan: bool,

    /// Back up the swarm's only manager (nothing is managed for the seconds docker is
    /// stopped), or an autolocked swarm (docker comes back locked). Never the leader of several
    /// managers, nor a backup that would lose quorum.
    #[arg(long)]
    pub force: bool,

    /// As the timer runs it: on a worker, on the leader, or on a manager that is not the first
    /// follower by ID, say so and change nothing (exit 0).
    #[arg(long)]
    pub scheduled: bool,
}

/// `restore`'s options.
#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// The archive `swarmnode backup` wrote (root's alone, in a directory root's alone).
    #[arg(value_name = "ARCHIVE")]
    pub archive: PathBuf,

    /// Only show what it would do; change nothing.
    #[arg(long)]
    pub plan: bool,

    /// The address the re-formed swarm's manager advertises. Default: the archived manager's
    /// when it is this host's; else docker picks one (and with several, restore says to give
    /// it).
    #[arg(long, value_name = "ADDR")]
    pub advertise_addr: Option<String>,

    /// Restore although a manager of the archived swarm still answers on its swarm port (a
    /// second swarm with the same identity would run beside it).
    #[arg(long)]
    pub force: bool,
}

/// `migrate-storage`'s options.
#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// The driver to move to (overlay2 is the one there is).
    #[arg(long, value_enum, value_name = "DRIVER")]
    pub to: MigrateTo,

    /// Only show what it would do; change nothing.
    #[arg(long)]
    pub plan: bool,

    /// Do not drain the node first (its tasks stop with docker and start again after).
    #[arg(long)]
    pub no_drain: bool,

    /// How long the drain waits: 30s, 10m, 1h (a number alone: seconds).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = seconds)]
    pub drain_timeout: u64,

    /// Migrate a manager whose stop leaves the swarm without quorum (the last one).
    #[arg(long)]
    pub force: bool,
}

/// What `migrate-storage` moves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MigrateTo {
    Overlay2,
}

/// `drain`'s bound.
#[derive(Debug, Clone, Args)]
pub struct DrainArgs {
    /// How long to wait for the replicas here to run elsewhere: 30s, 10m, 1h (a number alone:
    /// seconds).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = seconds)]
    pub timeout: u64,
}

/// A duration as people write it: `20s`, `10m`, `1h`, or seconds alone; at least 1 s, at most
/// a day.
pub fn seconds(s: &str) -> Result<u64, String> {
    let (n, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c),
        _ => (s, 's'),
    };
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        _ => return Err(format!("{s:?}: the unit is s, m or h (20s, 10m, 1h)")),
    };
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (20s, 10m, 1h)"))?;
    match n.checked_mul(mult) {
        Some(t) if (1..=86_400).contains(&t) => Ok(t),
        _ => Err(format!("{s:?}: between 1 s and a day")),
    }
}

#[derive(Debug, Clone, Default, Args)]
pub struct StorageArgs {
    /// The data disk (overrides storage.device). Prefer /dev/disk/by-id/... names.
    #[arg(long, value_name = "DEV")]
    pub device: Option<String>,

    /// Storage driver (overrides storage.driver): auto picks devicemapper below Docker Engine 25,
    /// overlay2 from 25.
    #[arg(long, value_enum, value_name = "DRIVER")]
    pub driver: Option<DriverArg>,

    /// Erase existing signatures (filesystem, partition table, RAID, PV of another VG) on an
    /// unused device. Never overrides a device that is mounted, swap, held, read-only or the system disk.
    #[arg(long)]
    pub wipe: bool,

    /// overlay2: when /var/lib/docker already holds data (docker stopped), copy it into the new
    /// volume and keep the old tree as /var/lib/docker.swarmnode-old, instead of refusing.
    #[arg(long)]
    pub move_docker_data: bool,

    /// The device holds a previous installation of this node (it was re-kickstarted): remove
    /// swarmnode's own tagged volumes there and make them again (their data is lost). Volumes
    /// swarmnode did not make, or that are in use, are still refused. Same as the profile key
    /// storage.previous_installation: "recreate".
    #[arg(long)]
    pub reprovision: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_anywhere() {
        let c = Cli::try_parse_from([
            "swarmnode",
            "apply",
            "--root",
            "/mnt/sysimage",
            "--device",
            "/dev/sdb",
            "--json",
            "-vv",
        ])
        .unwrap();
        assert_eq!(c.root, PathBuf::from("/mnt/sysimage"));
        assert_eq!(c.verbose, 2);
        assert!(c.json);
        let Command::Apply(a) = &c.command else {
            panic!("{:?}", c.command)
        };
        assert_eq!(a.device.as_deref(), Some("/dev/sdb"));
    }

    #[test]
    fn bad_driver_and_missing_command_are_usage_errors() {
        let e = Cli::try_parse_from(["swarmnode", "storage", "--driver", "zfs"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let e = Cli::try_parse_from(["swarmnode"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let e = Cli::try_parse_from(["swarmnode", "plan", "-q", "-v"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }
}

#[cfg(test)]
mod duration_tests {
    #[test]
    fn durations_are_read_as_people_write_them() {
        use super::seconds;
        assert_eq!(seconds("20s"), Ok(20));
        assert_eq!(seconds("10m"), Ok(600));
        assert_eq!(seconds("1h"), Ok(3600));
        assert_eq!(seconds("45"), Ok(45));
        for bad in ["", "0", "0s", "2d", "m", "-5s", "1.5m", "25h", "s10"] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_duration_parser_panic(t in "\\PC{0,20}") {
            let _ = super::seconds(&t);
        }
    }
}
