//! Files made from the command line's definition (src/cli.rs), never written by hand: the man
//! pages (`swarmnode(8)` and one per command, clap_mangen), the shell completions (bash, zsh,
//! fish; clap_complete) and the packaged first-boot unit. `swarmnode generate --out DIR` (hidden)
//! writes them; packaging/ holds the copies the RPM is built from, and a test fails when they
//! are stale (tests/it/packaging.rs).

use std::path::Path;

use clap_complete::Shell;
use roff::{Roff, bold, roman};

mod content;
mod reference;

pub use content::EXAMPLES;
use content::{cmd_name, examples, exit_codes, files_listed, visible};
use reference::profile_page;
pub use reference::reference;

/// The profile's guide, whose text is swarmnode(8)'s PROFILE section.
const PROFILE_DOC: &str = include_str!("../../docs/profile.md");

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
    let ex = examples(cmd_name(&name));
    if !ex.is_empty() {
        r.control("SH", ["EXAMPLES"]);
        for (line, what) in ex {
            r.control("TP", []);
            r.text([bold(*line)]);
            r.text([roman(*what)]);
        }
    }
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
    // No hyphenation: a page's name is never split (swarmnode-migrate-stor- age(8)).
    r.control("nh", Vec::<&str>::new());
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
