//! The documentation against the code: every JSON block that is not marked as another file
//! parses as a profile, every `swarmnode …` command line parses as a command, and every refusal
//! the code can give has an entry in docs/troubleshooting.md that quotes it. The docs are read
//! as they are in the repository (README.md and docs/), so what a reader pastes is what is tested.

use std::path::{Path, PathBuf};

use clap::Parser;

fn top() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir` whose name ends in `.ext`, sorted.
fn files_under(dir: PathBuf, ext: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// README.md and every markdown file under docs/, as (path relative to the top, text).
pub fn markdown() -> Vec<(String, String)> {
    let mut files = vec![top().join("README.md")];
    files.extend(files_under(top().join("docs"), "md"));
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.strip_prefix(top()).unwrap().display().to_string(), text)
        })
        .collect()
}

/// A fenced code block: its info string, its first line's number (from 1) and its text.
pub struct Block {
    pub info: String,
    pub line: usize,
    pub text: String,
}

pub fn blocks(md: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, l) in md.lines().enumerate() {
        let t = l.trim_start();
        match open.as_mut() {
            None if t.starts_with("```") => {
                open = Some(Block {
                    info: t.trim_start_matches('`').trim().to_string(),
                    line: i + 2,
                    text: String::new(),
                })
            }
            Some(_) if t.starts_with("```") => out.extend(open.take()),
            Some(b) => {
                b.text.push_str(l);
                b.text.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn every_json_block_in_the_docs_is_a_valid_profile_or_says_what_it_is() {
    let mut bad = Vec::new();
    let mut profiles = 0;
    for (file, md) in markdown() {
        for b in blocks(&md) {
            // ```json is a profile; ```json WORDS is another file and names it (```json broker.json).
            if b.info != "json" {
                continue;
            }
            profiles += 1;
            if let Err(e) = swarmnode::profile::Profile::parse(Path::new(&file), &b.text) {
                bad.push(format!("{file}:{}: {e}", b.line));
            }
        }
    }
    println!(
        "DOCS-FIGURE json blocks that are not valid profiles: {} of {profiles}",
        bad.len()
    );
    assert!(profiles > 0, "no profile in the docs");
    assert!(bad.is_empty(), "not valid profiles:\n{}", bad.join("\n"));
}

/// Splits a shell line into words as sh would for plain quoting (no expansion).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut has = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                has = true
            }
            (None, c) if c.is_whitespace() => {
                if has || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                has = false
            }
            (None, c) => cur.push(c),
        }
    }
    if has || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A shell line with each `$(…)` as one word (`X`), cut before its first pipe, redirection,
/// list or comment: one simple command.
fn no_substitutions(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("$(") {
        out.push_str(&rest[..i]);
        out.push('X');
        rest = rest[i..].find(')').map_or("", |j| &rest[i + j + 1..]);
    }
    out.push_str(rest);
    let cut = out
        .find(['|', '>', ';', '&', '#', '<'])
        .unwrap_or(out.len());
    out[..cut].to_string()
}

/// Every `swarmnode …` command in the docs' shell blocks: (where, argv).
pub fn commands() -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (file, md) in markdown() {
        for b in blocks(&md) {
            if !matches!(b.info.as_str(), "sh" | "bash" | "console" | "shell") {
                continue;
            }
            let joined = b.text.replace("\\\n", " ");
            for (n, line) in joined.lines().enumerate() {
                let line = line.trim();
                let line = line
                    .strip_prefix("$ ")
                    .or_else(|| line.strip_prefix("# "))
                    .unwrap_or(line);
                let argv = words(&no_substitutions(line));
                let start = argv
                    .iter()
                    .position(|w| !w.contains('=') && w != "sudo" && w != "env" && w != "exec");
                let Some(start) = start else { continue };
                let prog = &argv[start];
                if prog != "swarmnode" && !prog.ends_with("/swarmnode") {
                    continue;
                }
                out.push((format!("{file}:{}", b.line + n), argv[start..].to_vec()));
            }
        }
    }
    out
}

#[test]
fn every_swarmnode_command_in_the_docs_parses() {
    let all = commands();
    assert!(all.len() > 10, "only {} commands found", all.len());
    let bad: Vec<String> = all
        .iter()
        .filter_map(|(at, argv)| {
            swarmnode::cli::Cli::try_parse_from(argv)
                .err()
                .map(|e| format!("{at}: {}: {}", argv.join(" "), e.kind()))
        })
        .collect();
    println!(
        "DOCS-FIGURE command lines that do not parse: {} of {}",
        bad.len(),
        all.len()
    );
    assert!(
        bad.is_empty(),
        "commands that do not parse:\n{}",
        bad.join("\n")
    );
}

/// The text of a Rust string literal starting at `s[0] == '"'`: (its value with `\`-newline
/// continuations and escapes undone, the bytes it took).
fn literal(s: &str) -> (String, usize) {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (out, i + 1),
            '\\' => match chars.next() {
                Some((_, '\n')) => {
                    while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
                        chars.next();
                    }
                }
                Some((_, 'n')) => out.push('\n'),
                Some((_, c)) => out.push(c),
                None => break,
            },
            c => out.push(c),
        }
    }
    (out, s.len())
}

/// The string literals of a call, from just after its `(` to its matching `)`.
fn call_literals(s: &str) -> Vec<String> {
    let mut depth = 1;
    let mut i = 0;
    let mut out = Vec::new();
    let b = s.as_bytes();
    while i < b.len() && depth > 0 {
        match b[i] {
            b'"' => {
                let (text, used) = literal(&s[i..]);
                out.push(text);
                i += used;
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    out
}

/// What the docs must quote of one refusal: the longest fixed part of its literals (the parts
/// between `{…}` placeholders), when it says something (at least four words).
fn quotable(literals: &[String]) -> Option<String> {
    literals
        .iter()
        .flat_map(|l| l.split(['{', '}']).step_by(2).collect::<Vec<_>>())
        .map(|f| f.split_whitespace().collect::<Vec<_>>().join(" "))
        .map(|f| {
            f.trim_matches(|c: char| c.is_ascii_punctuation() && c != '`')
                .trim()
                .to_string()
        })
        .filter(|f| f.split_whitespace().count() >= 4)
        .max_by_key(|f| f.len())
}

/// Every refusal the code can give (exit 65): each `Refusal::new`/`Refusal::all` and the
/// broker's `refused(…)`, with the text the docs must quote: (file:line, quote).
pub fn refusals() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in files_under(top().join("src"), "rs") {
        let src = std::fs::read_to_string(&p).unwrap();
        // Tests build refusals of their own; only the code before `mod tests` counts.
        let src = match src.find("#[cfg(test)]") {
            Some(i) => &src[..i],
            None => &src[..],
        };
        let name = p.strip_prefix(top()).unwrap().display().to_string();
        for needle in ["Refusal::new(", "Refusal::all(", "refused("] {
            let mut from = 0;
            while let Some(i) = src[from..].find(needle) {
                let at = from + i;
                from = at + needle.len();
                let before = &src[..at];
                if needle == "refused(" && (before.ends_with("::") || before.ends_with("fn ")) {
                    continue;
                }
                if needle == "refused("
                    && before.ends_with(|c: char| c.is_alphanumeric() || c == '_')
                {
                    continue;
                }
                let line = before.lines().count().max(1);
                if let Some(q) = quotable(&call_literals(&src[from..])) {
                    out.push((format!("{name}:{line}"), q));
                }
            }
        }
    }
    out
}

fn squeeze(s: &str) -> String {
    s.lines()
        .map(|l| l.trim_start().trim_start_matches('>'))
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn every_refusal_in_the_code_has_a_troubleshooting_entry() {
    let all = refusals();
    assert!(all.len() > 40, "only {} refusals found", all.len());
    let doc = squeeze(&std::fs::read_to_string(top().join("docs/troubleshooting.md")).unwrap());
    let missing: Vec<String> = all
        .iter()
        .filter(|(_, q)| !doc.contains(q.as_str()))
        .map(|(at, q)| format!("{at}: \"{q}\""))
        .collect();
    println!(
        "DOCS-FIGURE refusals without a troubleshooting entry: {} of {}",
        missing.len(),
        all.len()
    );
    assert!(
        missing.is_empty(),
        "{} of {} refusals have no entry in docs/troubleshooting.md quoting them:\n{}",
        missing.len(),
        all.len(),
        missing.join("\n")
    );
}

#[test]
fn the_helpers_read_what_they_should() {
    assert_eq!(
        words(r#"swarmnode --profile "/etc/a b.json" apply --device '$X'"#),
        [
            "swarmnode",
            "--profile",
            "/etc/a b.json",
            "apply",
            "--device",
            "$X"
        ]
    );
    assert_eq!(
        quotable(&["{x}: it is too small for the pool".into(), "short".into()]).as_deref(),
        Some("it is too small for the pool")
    );
    let src = "\"a \\\n     b\", x(\"c\")) \"after\"";
    assert_eq!(call_literals(src), ["a b", "c"]);
}

#[test]
fn the_markdown_reference_is_made_from_the_code_now() {
    for (rel, bytes) in swarmnode::docs::reference() {
        let path = top().join("docs").join(&rel);
        let have = std::fs::read(&path).unwrap_or_default();
        assert!(
            have == bytes,
            "docs/{rel} is stale: run `cargo run -- generate --out packaging --docs docs` and \
             commit the result"
        );
    }
}

#[test]
fn the_profile_guide_shows_the_shipped_node_profile_as_it_is() {
    let guide = std::fs::read_to_string(top().join("docs/profile.md")).unwrap();
    let shipped = std::fs::read_to_string(top().join("profiles/dccn-production.json")).unwrap();
    assert!(
        blocks(&guide)
            .iter()
            .any(|b| b.info == "json" && b.text == shipped),
        "docs/profile.md must show profiles/dccn-production.json verbatim"
    );
}

/// Every man page's EXAMPLES line parses as a command, and every command page has some.
#[test]
fn every_man_page_example_parses() {
    for (page, lines) in swarmnode::docs::EXAMPLES {
        assert!(!lines.is_empty(), "{page}: no examples");
        for (line, _) in lines.iter() {
            let argv: Vec<&str> = line.split_whitespace().collect();
            assert!(
                swarmnode::cli::Cli::try_parse_from(&argv).is_ok(),
                "{page}: `{line}` does not parse"
            );
        }
    }
    let mut cmd = <swarmnode::cli::Cli as clap::CommandFactory>::command();
    cmd.build();
    for c in cmd
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
    {
        assert!(
            swarmnode::docs::EXAMPLES
                .iter()
                .any(|(p, _)| *p == c.get_name()),
            "swarmnode-{}(8) has no EXAMPLES",
            c.get_name()
        );
    }
}

/// Every message the kickstarts' %post can stop with (`swarmnode %post: ...`): its longest
/// literal part (between the shell's `$...` expansions) is quoted in docs/troubleshooting.md.
#[test]
fn every_kickstart_post_refusal_has_a_troubleshooting_entry() {
    let doc = squeeze(&std::fs::read_to_string(top().join("docs/troubleshooting.md")).unwrap())
        .replace('\\', "");
    let mut seen = 0;
    let mut missing = Vec::new();
    for ks in ["kickstart/post.ks", "kickstart/post-repo.ks"] {
        let text = std::fs::read_to_string(top().join(ks)).unwrap();
        for line in text.lines() {
            let Some(at) = line.find("swarmnode %post: ") else {
                continue;
            };
            let msg = &line[at + "swarmnode %post: ".len()..];
            let msg = &msg[..msg.find("\" >&2").unwrap_or(msg.len())];
            let literal = literal_parts(msg)
                .into_iter()
                .max_by_key(|p| p.len())
                .unwrap_or_default();
            assert!(literal.len() >= 12, "{ks}: {msg:?}");
            seen += 1;
            if !doc.contains(&squeeze(&literal)) {
                missing.push(format!("{ks}: {literal:?}"));
            }
        }
    }
    assert!(seen >= 8, "only {seen} %post messages found");
    assert!(
        missing.is_empty(),
        "not in troubleshooting.md:\n{}",
        missing.join("\n")
    );
}

/// The parts of a shell string between its expansions: `$(...)`, `${...}` and `$NAME`.
fn literal_parts(s: &str) -> Vec<String> {
    let (mut parts, mut cur, mut depth) = (Vec::new(), String::new(), 0usize);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if depth > 0 {
            match c {
                '(' | '{' => depth += 1,
                ')' | '}' => depth -= 1,
                _ => {}
            }
            continue;
        }
        if c != '$' {
            cur.push(c);
            continue;
        }
        parts.push(std::mem::take(&mut cur).trim().to_string());
        match chars.peek() {
            Some('(') | Some('{') => {
                chars.next();
                depth = 1;
            }
            _ => {
                while chars
                    .next_if(|c| c.is_alphanumeric() || *c == '_')
                    .is_some()
                {}
            }
        }
    }
    parts.push(cur.trim().to_string());
    parts
}

/// docs/monitoring.md names every check item and every Prometheus gauge the code makes: items
/// by `const CHECK` and by the dotted names given to `Item::new`, gauges by their
/// `"swarmnode_…"` names in src/. The page writes some gauges
/// with braces (`swarmnode_thinpool_{data,metadata}_ratio`, `{path}` labels): they are expanded.
#[test]
fn monitoring_names_every_check_item_and_gauge() {
    let doc = std::fs::read_to_string(top().join("docs/monitoring.md")).unwrap();
    let mut named = std::collections::BTreeSet::new();
    for token in doc.split('`').skip(1).step_by(2) {
        let token = token.split('{').collect::<Vec<_>>();
        let (head, rest) = (token[0], &token[1..]);
        match rest.first().and_then(|r| r.split_once('}')) {
            Some((alts, tail)) if alts.contains(',') => {
                for a in alts.split(',') {
                    named.insert(format!("{head}{a}{tail}"));
                }
            }
            _ => {
                named.insert(head.to_string());
            }
        }
    }
    let mut missing = Vec::new();
    for file in files_under(top().join("src"), "rs") {
        let text = std::fs::read_to_string(&file).unwrap();
        for part in text.split('"').skip(1).step_by(2) {
            let gauge = part.starts_with("swarmnode_")
                && part[10..]
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_');
            if gauge && !named.contains(part) {
                missing.push(part.to_string());
            }
        }
        for line in text.lines() {
            if let Some(item) = line
                .trim()
                .strip_prefix("const CHECK: &str = \"")
                .and_then(|r| r.strip_suffix("\";"))
                && !named.contains(item)
                && !doc.contains(&format!("`{item}`"))
            {
                missing.push(item.to_string());
            }
        }
        // Items named where they are made: `Item::new("storage.thinpool", ...)`, the literal
        // perhaps on the next line.
        for after in text.split("Item::new(").skip(1) {
            let Some(name) = after.trim_start().strip_prefix('"') else {
                continue;
            };
            let name = &name[..name.find('"').unwrap_or(0)];
            if name.contains('.') && !named.contains(name) {
                missing.push(name.to_string());
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "not in docs/monitoring.md: {missing:?}");
}
