//! The reference made from the code: `swarmnode-profile(5)` from the profile's key table, and
//! the markdown kept in docs/reference/ (the profile's keys; the commands, their options,
//! examples, exit codes and FILES).

use roff::{Roff, bold, roman};

use super::content::{examples, exit_codes, files_listed, visible};
use clap::CommandFactory;

use crate::cli::Cli;
use crate::profile::keys::{KEYS, Key, SECTIONS};

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
pub(super) fn profile_page() -> Vec<u8> {
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
        let ex = examples(name);
        if !ex.is_empty() {
            out += "\n| example | what it does |\n|---|---|\n";
            for (line, what) in ex {
                out += &format!("| `{line}` | {} |\n", cell(what));
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
