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
use crate::profile::keys::{KEYS, Key, SECTIONS};

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
        "the lock is held by another run (its pid is named)",
    ),
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

/// The exit codes a page lists: its command's own, or the common ones.
fn exit_codes(page: &str) -> &'static [(i32, &'static str)] {
    match page {
        "check" => CHECK_EXIT_CODES,
        "reset" => RESET_EXIT_CODES,
        "broker" => BROKER_EXIT_CODES,
        _ => EXIT_CODES,
    }
}

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

/// The profile's guide, whose text is swarmnode(8)'s PROFILE section.
const PROFILE_DOC: &str = include_str!("../docs/profile.md");

/// `swarmnode-check` -> `check`; `swarmnode` stays.
fn cmd_name(page: &str) -> &str {
    page.strip_prefix("swarmnode-").unwrap_or(page)
}

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
    out.push(("man/swarmnode-profile.5".to_string(), profile_page()));
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

/// Writes `files` ([`files`], [`reference()`]) under `dir` (made when missing), each atomically
/// (no backup: these are made again).
pub fn write_all(dir: &Path, files: &[(String, Vec<u8>)]) -> crate::error::Result<()> {
    for (rel, bytes) in files {
        let path = dir.join(rel);
        crate::host::fs::write_generated(&path, bytes)
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
    for (code, meaning) in exit_codes(cmd_name(&name)) {
        r.control("TP", []);
        r.text([bold(code.to_string())]);
        r.text([roman(*meaning)]);
    }
    if main {
        r.control("PP", []);
        r.text([roman(
            "check, reset and broker exit with codes of their own: see their pages.",
        )]);
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
    see.extend(["swarmnode-profile(5)", "docker(1)", "lvmthin(7)", "sshd(8)"].map(String::from));
    r.text([roman(see.join(", "))]);
    r.to_writer(&mut buf).expect("writing to memory");
    buf
}

/// docs/profile.md: its prose as paragraphs, its annotated example as it is.
fn profile_section(r: &mut Roff) {
    r.control("SH", ["PROFILE"]);
    // Everything after the title line.
    let body = &PROFILE_DOC[PROFILE_DOC.find('\n').map_or(0, |i| i + 1)..];
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

/// The profile's keys, grouped by section: (section, what it is, its keys).
fn sections() -> Vec<(&'static str, &'static str, Vec<&'static Key>)> {
    SECTIONS
        .iter()
        .map(|(name, what)| {
            let prefix = format!("{name}.");
            let keys = KEYS
                .iter()
                .filter(|k| k.path.starts_with(&prefix))
                .collect();
            (*name, *what, keys)
        })
        .collect()
}

/// A key's default and range, in words.
fn default_of(k: &Key) -> String {
    let d = k.default.unwrap_or("required");
    match k.range {
        Some((lo, hi)) => format!("{d}; {lo} to {hi}"),
        None => d.to_string(),
    }
}

fn key_name(k: &Key) -> String {
    match k.source {
        Some(s) => format!("{} (source {s})", k.path),
        None => k.path.to_string(),
    }
}

/// `swarmnode-profile(5)`: every key of the profile, from [`KEYS`].
fn profile_page() -> Vec<u8> {
    let mut r = Roff::new();
    r.control(
        "TH",
        [
            "swarmnode-profile",
            "5",
            "",
            &format!("swarmnode {}", env!("CARGO_PKG_VERSION")),
            "File Formats",
        ],
    );
    r.control("SH", ["NAME"]);
    r.text([roman(
        "swarmnode-profile - what a swarmnode node or manager should be",
    )]);
    r.control("SH", ["DESCRIPTION"]);
    r.text([roman(
        "The profile is one JSON file, by default /etc/swarmnode/profile.json. Every section is \
         optional; an absent section skips its step. Unknown keys are refused, and every error \
         names the file and the key. Paths are host paths, taken under --root. Command-line \
         options override the profile.",
    )]);
    for (name, what, keys) in sections() {
        r.control("SH", [name.to_uppercase().as_str()]);
        r.text([roman(what)]);
        for k in keys {
            r.control("TP", []);
            r.text([bold(key_name(k))]);
            r.text([roman(format!("{} (default: {})", k.ty, default_of(k)))]);
            r.control("br", []);
            r.text([roman(k.meaning)]);
        }
    }
    r.control("SH", ["SEE ALSO"]);
    r.text([roman(
        "swarmnode(8), swarmnode-apply(8), swarmnode-check(8)",
    )]);
    r.render().into_bytes()
}

/// The markdown reference kept in docs/reference/ (made by `generate --docs docs`).
pub fn reference() -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "reference/profile.md".to_string(),
            profile_md().into_bytes(),
        ),
        (
            "reference/commands.md".to_string(),
            commands_md().into_bytes(),
        ),
    ]
}

const MADE: &str = "<!-- Made by `swarmnode generate --docs docs` from the code; do not edit. -->";

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn profile_md() -> String {
    let mut out = format!(
        "{MADE}\n# Profile reference\n\nEvery key of the profile, its type, its default and \
         range, and what it means. The guide is [the profile](../profile.md). An absent section \
         skips its step; unknown keys are refused.\n"
    );
    for (name, what, keys) in sections() {
        out += &format!(
            "\n## {name}\n\n{what}\n\n| key | type | default | meaning |\n|---|---|---|---|\n"
        );
        for k in keys {
            out += &format!(
                "| `{}` | {} | {} | {} |\n",
                key_name(k),
                cell(k.ty),
                cell(&default_of(k)),
                cell(k.meaning)
            );
        }
    }
    out
}

/// One command's options, as markdown table rows.
fn options_md(cmd: &clap::Command) -> String {
    let mut out = String::new();
    for a in cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_global_set())
    {
        let name = match (a.get_long(), a.get_short()) {
            (Some(l), _) => format!("--{l}"),
            (None, Some(c)) => format!("-{c}"),
            (None, None) => a.get_id().to_string().to_uppercase(),
        };
        let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
        out += &format!("| `{name}` | {} |\n", cell(&help));
    }
    out
}

fn commands_md() -> String {
    let mut cmd = visible();
    cmd.build();
    let mut out = format!(
        "{MADE}\n# Command reference\n\n{}\n\n## Options of every command\n\n| option | meaning |\n|---|---|\n",
        cell(&cmd.get_about().map(|a| a.to_string()).unwrap_or_default())
    );
    for a in Cli::command().get_arguments().filter(|a| !a.is_hide_set()) {
        let name = match (a.get_long(), a.get_short()) {
            (Some(l), Some(c)) => format!("-{c}, --{l}"),
            (Some(l), None) => format!("--{l}"),
            _ => continue,
        };
        let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
        out += &format!("| `{name}` | {} |\n", cell(&help));
    }
    for c in cmd.get_subcommands() {
        let name = c.get_name();
        out += &format!(
            "\n## swarmnode {name}\n\n{}\n",
            cell(&c.get_about().map(|a| a.to_string()).unwrap_or_default())
        );
        let opts = options_md(c);
        if !opts.is_empty() {
            out += &format!("\n| option | meaning |\n|---|---|\n{opts}");
        }
        for sub in c.get_subcommands().filter(|s| !s.is_hide_set()) {
            out += &format!(
                "\n### swarmnode {name} {}\n\n{}\n",
                sub.get_name(),
                cell(&sub.get_about().map(|a| a.to_string()).unwrap_or_default())
            );
            let opts = options_md(sub);
            if !opts.is_empty() {
                out += &format!("\n| option | meaning |\n|---|---|\n{opts}");
            }
        }
        out += "\n| exit | meaning |\n|---|---|\n";
        for (code, meaning) in exit_codes(name) {
            out += &format!("| {code} | {} |\n", cell(meaning));
        }
    }
    out += "\n## Files\n\n| path | what it is |\n|---|---|\n";
    for (path, what) in files_listed() {
        out += &format!("| `{path}` | {} |\n", cell(what));
    }
    out
}
