//! Files made from the command line's definition (src/cli.rs), never written by hand: the man
//! pages (`swarmnode(8)` and one per command, clap_mangen), the shell completions (bash, zsh,
//! fish; clap_complete) and the packaged first-boot unit. `swarmnode generate --out DIR` (hidden)
//! writes them; packaging/ holds the copies the RPM is built from, and a test fails when they
//! are stale (tests/it/packaging.rs).

use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;
use roff::{Roff, bold, roman};

use crate::cli::Cli;
use crate::error::exit;

/// The exit codes, for every page (the codes of [`exit`]; `check` reads its own three).
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

/// The files swarmnode reads and writes, by the constants the code uses for them: the profile,
/// the broker's config, every record of the state (host::state::ALL), and what the steps write.
fn files_listed() -> Vec<(&'static str, &'static str)> {
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
            "/usr/share/swarmnode/profiles/",
            "the ready profiles (packaged)",
        ),
    ]);
    out
}

const README: &str = include_str!("../README.md");

/// Every generated file: (path under the output folder, contents).
pub fn files() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut cmd = visible();
    cmd.build();
    let commands: Vec<clap::Command> = cmd.get_subcommands().cloned().collect();
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
        clap_complete::generate(shell, &mut cmd.clone(), "swarmnode", &mut buf);
        out.push((file.to_string(), buf));
    }
    out.push((
        "systemd/swarmnode-firstboot.service".to_string(),
        crate::steps::firstboot::unit_text(crate::steps::firstboot::PACKAGED_BIN).into_bytes(),
    ));
    out
}

/// The command line without its hidden commands (the pages and completions leave them out).
fn visible() -> clap::Command {
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

/// Writes [`files`] under `dir` (made when missing), each atomically (no backup: these are made
/// again).
pub fn write_all(dir: &Path) -> crate::error::Result<()> {
    for (rel, bytes) in files() {
        let path = dir.join(&rel);
        crate::host::fs::write_generated(&path, &bytes)
            .map_err(|e| crate::error::Error::io(format!("cannot write {}", path.display()), e))?;
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
        for (path, what) in files_listed() {
            r.control("TP", []);
            r.text([bold(path)]);
            r.text([roman(what)]);
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
