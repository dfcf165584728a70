//! Files made from the command line's definition (src/cli.rs), never written by hand: the man
//! pages (`swarmnode(8)` and one per command, clap_mangen), the shell completions (bash, zsh,
//! fish; clap_complete) and the packaged first-boot unit. `swarmnode generate --out DIR` (hidden)
//! writes them; packaging/ holds the copies the RPM is built from, and a test fails when they
//! are stale (tests/it/packaging.rs).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;
use roff::{Roff, bold, roman};

use crate::cli::Cli;
use crate::error::exit;

/// The exit codes, for every page (DESIGN.md's contract; `check` reads its own three).
const EXIT_CODES: &[(i32, &str)] = &[
    (
        exit::OK,
        "done: the node is in the profile's state (converged); check: every item green",
    ),
    (
        exit::FAILURE,
        "any other failure (a command failed: its argv, exit status and output are named); \
         check: something is yellow",
    ),
    (
        exit::USAGE,
        "usage: an unknown option or a missing argument; check: something is red",
    ),
    (
        exit::REFUSED,
        "refused, nothing changed: unsafe or invalid input (a device in use or holding data, \
         the profile, a token, a manager that cannot be authenticated, a node of another swarm); \
         the broker: a request outside its grammar or not the caller's",
    ),
    (
        exit::UNAVAILABLE,
        "a required remote is unavailable: no manager answered within join_timeout_seconds, \
         a Xymon server that cannot be reached",
    ),
    (
        exit::TEMPORARY,
        "temporary, try again later: the lock is held by another run (its pid is named), an \
         NFS path does not answer or is not mounted yet",
    ),
];

/// The files swarmnode reads and writes.
const FILES: &[(&str, &str)] = &[
    (
        "/etc/swarmnode/profile.json",
        "the profile (see PROFILE); offline runs save the effective one here for the first boot",
    ),
    (
        "/etc/swarmnode/broker.json",
        "on a manager: what the broker allows (labels, manager tokens, client networks)",
    ),
    (
        "/var/lib/swarmnode/report.json",
        "the last run's report (as --json prints it)",
    ),
    (
        "/var/lib/swarmnode/storage.json",
        "what the storage step made (driver, volume group, volumes)",
    ),
    (
        "/var/lib/swarmnode/firstboot.done",
        "the first boot finished; remove it to run the first-boot unit again",
    ),
    (
        "/var/lib/swarmnode/stale.asked",
        "the node ID for which the broker was asked to remove stale entries",
    ),
    (
        "/var/lib/swarmnode/created, /var/lib/swarmnode/moved",
        "files swarmnode created or moved aside, for reset",
    ),
    (
        "/etc/docker/daemon.json, /etc/docker/certs.d/",
        "the engine's configuration and registry CAs, merged (never replaced)",
    ),
    (
        "/etc/lvm/profile/docker-thinpool.profile",
        "the thin pool's autoextend profile (devicemapper)",
    ),
    (
        "/usr/lib/systemd/system/swarmnode-firstboot.service",
        "the packaged first-boot unit (/etc/systemd/system/ when swarmnode is not packaged)",
    ),
    (
        "/etc/systemd/system/swarmnode-check.service, swarmnode-check.timer",
        "the check timer, written from the profile's check section",
    ),
    (
        "/usr/share/swarmnode/profiles/",
        "the ready profiles (packaged)",
    ),
];

const README: &str = include_str!("../README.md");

/// Every generated file: (path under the output folder, contents).
pub fn files() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let commands: Vec<clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    let names: Vec<String> = commands.iter().map(|c| c.get_name().to_string()).collect();
    out.push((
        "man/swarmnode.8".to_string(),
        page(cmd.clone(), &names, true),
    ));
    for c in commands {
        let file = format!("man/swarmnode-{}.8", c.get_name());
        out.push((file, page(c, &names, false)));
    }
    for (shell, file) in [
        (Shell::Bash, "completions/swarmnode.bash"),
        (Shell::Zsh, "completions/_swarmnode"),
        (Shell::Fish, "completions/swarmnode.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut visible(), "swarmnode", &mut buf);
        out.push((file.to_string(), buf));
    }
    out.push((
        "systemd/swarmnode-firstboot.service".to_string(),
        crate::steps::firstboot::unit_text(crate::steps::firstboot::PACKAGED_BIN).into_bytes(),
    ));
    out
}

/// The command line without its hidden commands (clap_complete would offer them).
fn visible() -> clap::Command {
    let cli = Cli::command();
    clap::Command::new("swarmnode")
        .version(env!("CARGO_PKG_VERSION"))
        .about(cli.get_about().cloned().unwrap_or_default())
        .args(cli.get_arguments().cloned())
        .subcommands(cli.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
        .disable_help_subcommand(true)
}

/// Writes [`files`] under `dir` (made when missing), each atomically.
pub fn write_all(dir: &Path) -> crate::error::Result<()> {
    for (rel, bytes) in files() {
        let path = dir.join(&rel);
        let parent = path.parent().expect("a file under dir");
        std::fs::create_dir_all(parent)
            .map_err(|e| crate::error::Error::io(format!("cannot make {}", parent.display()), e))?;
        // A temporary file beside it, renamed over it (no backup: these are made again).
        let tmp = tempfile::NamedTempFile::new_in(parent)
            .and_then(|mut t| {
                std::io::Write::write_all(&mut t, &bytes)?;
                std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o644))?;
                Ok(t)
            })
            .map_err(|e| crate::error::Error::io(format!("cannot write {}", path.display()), e))?;
        tmp.persist(&path).map_err(|e| {
            crate::error::Error::io(format!("cannot write {}", path.display()), e.error)
        })?;
    }
    Ok(())
}

/// One page, section 8: clap's sections, then the exit codes, the files and the profile
/// (`swarmnode(8)` only), and every command's page.
fn page(cmd: clap::Command, commands: &[String], main: bool) -> Vec<u8> {
    let mut buf = Vec::new();
    let name = cmd
        .get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_string();
    clap_mangen::Man::new(cmd)
        .section("8")
        .manual("System Administration")
        .source(format!("swarmnode {}", env!("CARGO_PKG_VERSION")))
        .render(&mut buf)
        .expect("writing to memory");
    let mut r = Roff::new();
    r.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in EXIT_CODES {
        r.control("TP", []);
        r.text([bold(code.to_string())]);
        r.text([roman(*meaning)]);
    }
    if main {
        r.control("SH", ["FILES"]);
        for (path, what) in FILES {
            r.control("TP", []);
            r.text([bold(*path)]);
            r.text([roman(*what)]);
        }
        profile_section(&mut r);
    }
    r.control("SH", ["SEE ALSO"]);
    let mut see: Vec<String> = std::iter::once("swarmnode".to_string())
        .chain(commands.iter().map(|c| format!("swarmnode-{c}")))
        .filter(|n| *n != name)
        .map(|n| format!("{n}(8)"))
        .collect();
    see.extend(["docker(1)", "lvmthin(7)", "sshd(8)"].map(String::from));
    r.text([roman(see.join(", "))]);
    r.to_writer(&mut buf).expect("writing to memory");
    buf
}

/// README's *Profile* section: its prose as paragraphs, its annotated example as it is.
fn profile_section(r: &mut Roff) {
    r.control("SH", ["PROFILE"]);
    let start = README
        .find("\n## Profile\n")
        .expect("README has a Profile section")
        + 12;
    let rest = &README[start..];
    let body = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    let mut in_code = false;
    let mut para = Vec::new();
    let flush = |r: &mut Roff, para: &mut Vec<&str>| {
        if !para.is_empty() {
            r.control("PP", []);
            r.text([roman(para.join(" "))]);
            para.clear();
        }
    };
    for line in body.lines() {
        if line.starts_with("```") {
            flush(r, &mut para);
            if in_code {
                r.control("fi", []);
                r.control("RE", []);
            } else {
                r.control("RS", ["2"]);
                r.control("nf", []);
            }
            in_code = !in_code;
        } else if in_code {
            r.text([roman(line)]);
        } else if line.trim().is_empty() {
            flush(r, &mut para);
        } else {
            para.push(line.trim());
        }
    }
    flush(r, &mut para);
}
