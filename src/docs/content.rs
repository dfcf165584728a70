//! What the pages say, as data: the command line as the pages show it, each command's exit codes
//! and examples, and the files swarmnode reads and writes.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::exit;

/// The exit codes of the apply-like commands, and of `swarmnode(8)` (the codes of [`exit`]).
const EXIT_CODES: &[(i32, &str)] = &[
    (
        exit::OK,
        "done: the node is in the profile's state (converged)",
    ),
    (
        exit::FAILURE,
        "any other failure: a command failed (its argv, exit status and output are named)",
    ),
    (
        exit::USAGE,
        "usage: an unknown option or a missing argument",
    ),
    (
        exit::REFUSED,
        "refused, nothing changed: unsafe or invalid input (a device in use or holding data, \
         the profile, a token, a manager that cannot be authenticated, a node of another swarm)",
    ),
    (
        exit::UNAVAILABLE,
        "a required remote is unavailable: no manager answered within join_timeout_seconds",
    ),
    (
        exit::TEMPORARY,
        "temporary, try again later: the lock is held by another run (its pid is named), an \
         NFS path does not answer or is not mounted yet",
    ),
];

/// `check`'s own codes: the Nagios plugin convention, so a monitor can run it as it is.
const CHECK_EXIT_CODES: &[(i32, &str)] = &[
    (0, "every item green (or clear)"),
    (1, "the worst item is yellow"),
    (2, "the worst item is red"),
    (
        exit::REFUSED,
        "the profile is invalid or absent, or the --textfile path is one another user could \
         redirect",
    ),
    (
        exit::UNAVAILABLE,
        "the result could not be delivered: the --xymon server, or the --textfile not written \
         (the check unit counts this as its failure; 1 and 2 are answers)",
    ),
];

/// `reset`'s codes.
const RESET_EXIT_CODES: &[(i32, &str)] = &[
    (
        exit::OK,
        "done, or without --yes: the plan printed and nothing changed",
    ),
    (
        exit::FAILURE,
        "a command failed midway: run reset again, it goes on from what is there",
    ),
    (
        exit::USAGE,
        "usage: an unknown option or a missing argument",
    ),
    (
        exit::REFUSED,
        "refused before anything changed: a manager whose going loses quorum (without --force), \
         a record that is not swarmnode's, a volume group on a disk that is not this node's, \
         an lvm2 without --devices",
    ),
    (
        exit::UNAVAILABLE,
        "the managers could not be reached to remove this node's entry",
    ),
    (
        exit::TEMPORARY,
        "the lock is held by another run (its pid is named); or the drain's replicas did not \
         run elsewhere within --drain-timeout (the node stays drained and in the swarm)",
    ),
];

/// `drain`'s and `activate`'s codes.
const DRAIN_EXIT_CODES: &[(i32, &str)] = &[
    (
        exit::OK,
        "done: the node is drained and the replicas that ran here run elsewhere (activate: \
         the node is active)",
    ),
    (
        exit::FAILURE,
        "a command failed (its argv, exit status and output are named)",
    ),
    (
        exit::USAGE,
        "usage: an unknown option or a missing argument",
    ),
    (
        exit::REFUSED,
        "refused, nothing changed: the node is not an active member of a swarm, or a worker's \
         profile has no channel to a manager",
    ),
    (
        exit::UNAVAILABLE,
        "no manager answered within join_timeout_seconds",
    ),
    (
        exit::TEMPORARY,
        "the timeout passed with replicas that do not run elsewhere (each is named, with the \
         managers' reason); the node stays drained. Or the lock is held by another run",
    ),
];

/// `migrate-storage`'s codes.
const MIGRATE_EXIT_CODES: &[(i32, &str)] = &[
    (
        exit::OK,
        "done: docker runs on overlay2, the node is back with the same ID (or --plan: the plan \
         printed, nothing changed)",
    ),
    (
        exit::FAILURE,
        "a command failed midway: run it again, it goes on from what is there",
    ),
    (
        exit::USAGE,
        "usage: an unknown option or a missing argument",
    ),
    (
        exit::REFUSED,
        "refused before anything changed: no storage record, a named volume whose data is \
         elsewhere, a manager whose stop loses quorum (without --force), the carried state too \
         big for the new volume",
    ),
    (
        exit::UNAVAILABLE,
        "no manager answered (the drain, or the node coming back)",
    ),
    (
        exit::TEMPORARY,
        "the drain's replicas did not run elsewhere within --drain-timeout; or the lock is held",
    ),
];

/// `backup`'s codes.
const BACKUP_EXIT_CODES: &[(i32, &str)] = &[
    (
        exit::OK,
        "done: the archive is written and this manager manages again (or --plan, or --scheduled \
         on a node whose turn it is not: nothing changed)",
    ),
    (
        exit::FAILURE,
        "a command failed midway (docker is started again): run it again, it takes a new backup",
    ),
    (
        exit::USAGE,
        "usage: an unknown option or a missing argument",
    ),
    (
        exit::REFUSED,
        "refused before anything changed: docker does not answer, not a manager, the swarm would \
         lose quorum, the leader of several managers; without --force, the only manager or an \
         autolocked swarm; a backup directory others could write. Or docker came back locked \
         (autolock): unlock it",
    ),
    (
        exit::UNAVAILABLE,
        "docker started, but this manager was not reachable with a leader in time",
    ),
    (exit::TEMPORARY, "the lock is held by another run"),
];

/// `restore`'s codes.
const RESTORE_EXIT_CODES: &[(i32, &str)] = &[
    (
        exit::OK,
        "done: a swarm of this manager alone, from the archive (or --plan: nothing changed)",
    ),
    (
        exit::FAILURE,
        "a command failed midway: run it again with the same archive, it goes on",
    ),
    (
        exit::USAGE,
        "usage: an unknown option or a missing argument",
    ),
    (
        exit::REFUSED,
        "refused: docker holds a swarm, a manager of the archived swarm still answers (without \
         --force), the archive is not root's alone or holds more than swarm/ and its manifest; \
         or, docker stopped, the restored swarm is autolocked (unlock, then run again)",
    ),
    (
        exit::UNAVAILABLE,
        "the re-formed swarm had no leader in time",
    ),
    (exit::TEMPORARY, "the lock is held by another run"),
];

/// The broker's codes, as the node's ssh sees them.
const BROKER_EXIT_CODES: &[(i32, &str)] = &[
    (exit::OK, "answered"),
    (
        exit::FAILURE,
        "docker's own error, as docker words it (another node's ID is answered as an unknown one)",
    ),
    (
        exit::USAGE,
        "usage: the command line is not the broker's (sshd's configuration was changed by hand)",
    ),
    (
        exit::REFUSED,
        "refused: outside the grammar, not the caller's, a key not allowed for that request, \
         or no broker configuration",
    ),
    (
        exit::UNAVAILABLE,
        "the log could not be written within 2 s: nothing is answered that was not logged",
    ),
    (
        exit::TEMPORARY,
        "try again: the request took over 30 s, or the node has not gone Down yet",
    ),
];

/// Each page's EXAMPLES: (command line, what it does). A test parses every line.
pub const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "swarmnode",
        &[
            (
                "swarmnode plan --device /dev/disk/by-id/wwn-0x5000c500a1b2c3d4",
                "what apply would do on this data disk; nothing changes",
            ),
            (
                "swarmnode apply --device /dev/disk/by-id/wwn-0x5000c500a1b2c3d4",
                "every step of /etc/swarmnode/profile.json",
            ),
            ("swarmnode check", "the node's health, a table"),
        ],
    ),
    (
        "plan",
        &[
            ("swarmnode plan", "what apply would do with the profile"),
            (
                "swarmnode --json plan --device /dev/disk/by-id/wwn-0x5000c500a1b2c3d4",
                "the same, as JSON",
            ),
        ],
    ),
    (
        "apply",
        &[
            (
                "swarmnode apply --device /dev/disk/by-id/wwn-0x5000c500a1b2c3d4",
                "build the node on this data disk",
            ),
            (
                "swarmnode apply --device /dev/disk/by-id/wwn-0x5000c500a1b2c3d4 --reprovision",
                "a re-kickstarted node: make swarmnode's own volumes again (their data is lost)",
            ),
        ],
    ),
    (
        "storage",
        &[(
            "swarmnode storage --device /dev/disk/by-id/wwn-0x5000c500a1b2c3d4 --driver overlay2",
            "only the storage step, the XFS volume for overlay2",
        )],
    ),
    (
        "engine",
        &[(
            "swarmnode engine",
            "only daemon.json, the registry CAs and the drop-ins",
        )],
    ),
    (
        "mounts",
        &[(
            "swarmnode mounts",
            "whether each NFS path is mounted and answers",
        )],
    ),
    (
        "join",
        &[("swarmnode join", "only the token, the join and the labels")],
    ),
    (
        "reset",
        &[
            (
                "swarmnode reset",
                "what reset would take away; nothing changes",
            ),
            (
                "swarmnode reset --yes",
                "take it away (drained first: its replicas run elsewhere before it leaves)",
            ),
            (
                "swarmnode reset --yes --keep-storage",
                "take it away but the volumes",
            ),
        ],
    ),
    (
        "drain",
        &[
            (
                "swarmnode drain",
                "drain the node; back once its replicas run elsewhere (at most 10 minutes)",
            ),
            (
                "swarmnode drain --timeout 30m",
                "the same, waiting longer (a service slow to start elsewhere)",
            ),
        ],
    ),
    (
        "activate",
        &[("swarmnode activate", "let swarm run tasks here again")],
    ),
    (
        "migrate-storage",
        &[
            (
                "swarmnode migrate-storage --to overlay2 --plan",
                "what the move would do; nothing changes",
            ),
            (
                "swarmnode migrate-storage --to overlay2",
                "move this devicemapper node to overlay2, keeping its ID, labels and volumes",
            ),
        ],
    ),
    (
        "backup",
        &[
            (
                "swarmnode backup --plan",
                "whether this manager may stop for a backup now; nothing changes",
            ),
            (
                "swarmnode backup",
                "on a follower: the swarm's state into backup.directory",
            ),
        ],
    ),
    (
        "restore",
        &[
            (
                "swarmnode restore --plan /root/restore/swarm-20261205T113000Z-ID.tar.gz",
                "what the archive holds and what restore would do",
            ),
            (
                "swarmnode restore /root/restore/swarm-20261205T113000Z-ID.tar.gz",
                "on a fresh manager: the swarm again, this manager alone",
            ),
        ],
    ),
    (
        "check",
        &[
            ("swarmnode check", "the node's health, a table"),
            (
                "swarmnode check --quiet --xymon xymon.example.org",
                "to Xymon's swarmnode column",
            ),
            (
                "swarmnode check --quiet --textfile /var/lib/node_exporter/textfile/swarmnode.prom",
                "for node_exporter's textfile collector",
            ),
        ],
    ),
    (
        "broker",
        &[
            (
                "swarmnode broker bootstrap --ttl 24h --out /root/bootstrap-1",
                "a bootstrap key for one round of installs, and its kickstart lines",
            ),
            (
                "swarmnode broker keys",
                "every key the broker's user may log in with",
            ),
            (
                "swarmnode broker revoke NODE_ID",
                "a node's key, at once on every manager",
            ),
        ],
    ),
];

/// A page's examples (none for a command without any).
pub(super) fn examples(page: &str) -> &'static [(&'static str, &'static str)] {
    EXAMPLES
        .iter()
        .find(|(p, _)| *p == page)
        .map_or(&[], |(_, e)| *e)
}

/// The exit codes a page lists: its command's own, or the common ones.
pub(super) fn exit_codes(page: &str) -> &'static [(i32, &'static str)] {
    match page {
        "check" => CHECK_EXIT_CODES,
        "reset" => RESET_EXIT_CODES,
        "drain" | "activate" => DRAIN_EXIT_CODES,
        "migrate-storage" => MIGRATE_EXIT_CODES,
        "backup" => BACKUP_EXIT_CODES,
        "restore" => RESTORE_EXIT_CODES,
        "broker" => BROKER_EXIT_CODES,
        _ => EXIT_CODES,
    }
}

/// The files swarmnode reads and writes, by the constants the code uses for them: the profile,
/// the broker's config, every record of the state (host::state::ALL), and what the steps write.
pub(super) fn files_listed() -> Vec<(&'static str, &'static str)> {
    use crate::steps::{check_timer, engine::registry, firstboot, storage::volumes};
    let mut out = vec![
        (
            crate::profile::DEFAULT_PATH,
            "the profile (see PROFILE); offline runs save the effective one here for the first boot",
        ),
        (
            crate::broker::config::CONFIG_PATH,
            "on a manager: what the broker allows (labels, manager tokens, client networks)",
        ),
    ];
    out.extend(crate::host::state::ALL.iter().map(|r| (r.path, r.what)));
    out.extend([
        (
            crate::host::docker::DAEMON_JSON,
            "the engine's configuration, merged (never replaced)",
        ),
        (registry::CERTS_D, "the registries' CAs"),
        (
            volumes::LVM_PROFILE_PATH,
            "the thin pool's autoextend profile (devicemapper)",
        ),
        (
            firstboot::PACKAGED_UNIT_PATH,
            "the packaged first-boot unit",
        ),
        (
            firstboot::UNIT_PATH,
            "the first-boot unit when swarmnode is not packaged",
        ),
        (
            check_timer::SERVICE_PATH,
            "the check service, written from the profile's check section",
        ),
        (
            check_timer::TIMER_PATH,
            "the check timer, every check.interval_minutes",
        ),
        (
            crate::steps::backup::timer::SERVICE_PATH,
            "the backup service, written from the profile's backup section",
        ),
        (
            crate::steps::backup::timer::TIMER_PATH,
            "the backup timer, every backup.interval",
        ),
        (
            "/var/backups/swarmnode/",
            "the backup archives (backup.directory): swarm/ and backup.json, 0600",
        ),
        (
            "/usr/share/swarmnode/profiles/",
            "the ready profiles (packaged)",
        ),
    ]);
    out
}

/// The command line without its hidden commands (the pages and completions leave them out).
pub(super) fn visible() -> clap::Command {
    let cli = Cli::command();
    clap::Command::new("swarmnode")
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .subcommand_required(true)
        .arg_required_else_help(true)
        .about(cli.get_about().cloned().unwrap_or_default())
        .args(cli.get_arguments().cloned())
        .subcommands(cli.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
        .disable_help_subcommand(true)
}

/// `swarmnode-check` -> `check`; `swarmnode` stays.
pub(super) fn cmd_name(page: &str) -> &str {
    page.strip_prefix("swarmnode-").unwrap_or(page)
}
