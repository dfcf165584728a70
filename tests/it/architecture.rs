//! Tier 1, on the source itself (nothing runs): the house's rules from docs/architecture.md, held
//! against the code so they cannot drift. Each file of src/ is read as text, its tests cut off;
//! `crate::`, `super::` and `self::` paths are its imports. Run with `--nocapture` to see the
//! figures (`cargo test --test it the_rules -- --nocapture`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// One file of src/: its module path (`host::cmd`), its text without its tests.
struct File {
    path: String,
    module: String,
    body: String,
}

fn files() -> Vec<File> {
    fn walk(dir: &Path, out: &mut Vec<File>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(SRC).unwrap().to_string_lossy().into_owned();
                let text = std::fs::read_to_string(&p).unwrap();
                out.push(File {
                    module: module_of(&rel),
                    body: without_tests(&text),
                    path: format!("src/{rel}"),
                });
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new(SRC), &mut out);
    out
}

/// `host/cmd.rs` → `host::cmd`, `host/mod.rs` → `host`, `lib.rs` → `crate`, `main.rs` → `main`.
fn module_of(rel: &str) -> String {
    let p = rel.strip_suffix(".rs").unwrap();
    match p {
        "lib" => "crate".into(),
        _ => p.strip_suffix("/mod").unwrap_or(p).replace('/', "::"),
    }
}

/// The text before the file's `#[cfg(test)]` module.
fn without_tests(text: &str) -> String {
    match text.find("\n#[cfg(test)]\nmod tests") {
        Some(i) => text[..i].to_string(),
        None => text.to_string(),
    }
}

/// The code of a file with string and char literals and comments blanked (their braces and
/// words do not count), newlines kept.
fn code_only(s: &str) -> String {
    let b: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        if c == '/' && b.get(i + 1) == Some(&'/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && b.get(i + 1) == Some(&'*') {
            while i < b.len() && !(b[i] == '*' && b.get(i + 1) == Some(&'/')) {
                out.push(blank(b[i]));
                i += 1;
            }
            out.push_str("  ");
            i += 2;
        } else if c == 'r' && (b.get(i + 1) == Some(&'"') || b.get(i + 1) == Some(&'#')) {
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let close: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let rest: String = b[j + 1..].iter().collect();
            let end = rest
                .find(&close)
                .map_or(b.len(), |k| j + 1 + rest[..k].chars().count() + close.len());
            for x in &b[i..end.min(b.len())] {
                out.push(blank(*x));
            }
            i = end;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && b.get(i + 1) == Some(&'\\') {
            while i < b.len() {
                out.push(' ');
                i += 1;
                if b.get(i) == Some(&'\'') {
                    out.push(' ');
                    i += 1;
                    break;
                }
            }
        } else if c == '\'' && b.get(i + 2) == Some(&'\'') {
            out.push_str("   ");
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The modules a file's code names: every `crate::a::b` (also inside `use crate::{a, b::c}`),
/// `super::x` and `self::x`, resolved to the longest known module path.
fn imports(f: &File, known: &BTreeSet<String>) -> BTreeSet<String> {
    let code = code_only(&f.body);
    let parent = |m: &str| -> String {
        m.rsplit_once("::")
            .map_or("crate".to_string(), |(p, _)| p.to_string())
    };
    // `super` is the module's parent (`host::swarm::join` → `host::swarm`, `host::swarm` →
    // `host`), `self` the module itself, whether it is a folder's mod.rs or a file.
    let here = f.module.clone();
    let sup = parent(&here);
    let selfm = here.clone();
    let mut out = BTreeSet::new();
    let mut add = |path: &str| {
        let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
        for n in (1..=parts.len()).rev() {
            let m = parts[..n].join("::");
            if known.contains(&m) {
                if m != here {
                    out.insert(m);
                }
                return;
            }
        }
        // An item of the crate's root (`crate::NAME`, a re-export in lib.rs) is an import of
        // lib.rs itself: it sits on the top layer.
        if parts.first().is_some_and(|p| !known.contains(*p)) && here != "crate" {
            out.insert("crate".to_string());
        }
    };
    let words: Vec<char> = code.chars().collect();
    let text: String = words.iter().collect();
    for (prefix, base) in [
        ("crate::", String::new()),
        ("super::", sup),
        ("self::", selfm),
    ] {
        let mut from = 0;
        while let Some(k) = text[from..].find(prefix) {
            let start = from + k;
            from = start + prefix.len();
            if start > 0 && text[..start].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &text[from..];
            let base = if base == "crate" {
                String::new()
            } else {
                base.clone()
            };
            let join = |p: &str| {
                if base.is_empty() {
                    p.to_string()
                } else {
                    format!("{base}::{p}")
                }
            };
            if let Some(group) = rest.strip_prefix('{') {
                // `use crate::{a, b::c, d::{e, f}}`: each top-level item.
                let mut depth = 0;
                let mut item = String::new();
                for ch in group.chars() {
                    match ch {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            add(&join(item.trim()));
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    if depth == 0 {
                        item.push(ch);
                    }
                }
                add(&join(item.trim().trim_end_matches("::")));
            } else {
                let path: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                add(&join(path.trim_end_matches(':')));
            }
        }
    }
    out
}

/// The layers, from the ground up: a module may use only those below its own (and its own
/// top module's files). The first name of a module path decides its layer.
const LAYERS: &[&[&str]] = &[
    &["error", "vocab"],
    &["host"],
    &["profile"],
    &["steps"],
    &["check", "broker"],
    &["report"],
    &["runner"],
    &["cli", "docs"],
    &["commands"],
    &["crate", "main"],
];

fn layer_of(module: &str) -> usize {
    let top = module.split("::").next().unwrap();
    LAYERS
        .iter()
        .position(|l| l.contains(&top))
        .unwrap_or_else(|| {
            panic!("module {module} is in no layer: add it to LAYERS and to docs/architecture.md")
        })
}

/// Every function of a file (not its tests): name, first line, length in lines.
fn functions(f: &File) -> Vec<(String, usize, usize)> {
    let code = code_only(&f.body);
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        let t = t
            .strip_prefix("pub(crate) ")
            .or_else(|| t.strip_prefix("pub "))
            .unwrap_or(t);
        let t = t.strip_prefix("const ").unwrap_or(t);
        let Some(rest) = t.strip_prefix("fn ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // From its first `{` to the matching `}`; a declaration ending in `;` has no body.
        let mut depth = 0i32;
        let mut opened = false;
        let mut end = None;
        'scan: for (j, l2) in lines.iter().enumerate().skip(i) {
            for ch in l2.chars() {
                match ch {
                    ';' if !opened && depth == 0 => break 'scan,
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => {
                        depth -= 1;
                        if opened && depth == 0 {
                            end = Some(j);
                            break 'scan;
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some(e) = end {
            out.push((name, i + 1, e - i + 1));
        }
    }
    out
}

/// The figures the rules are about.
struct Figures {
    circles: Vec<Vec<String>>,
    upward: Vec<String>,
    long_files: Vec<String>,
    long_functions: Vec<String>,
    outside_host: Vec<String>,
    /// Files that model docker's node JSON (a struct with its `ManagerStatus`).
    node_models: Vec<String>,
    /// Files that name /etc/fstab as a path of their own (the fstab module, and the list of the
    /// files swarmnode writes).
    fstab_readers: Vec<String>,
    /// Files that name a record under /var/lib/swarmnode (only the state module may).
    record_lists: Vec<String>,
}

/// The lines of a file's code that are not comments, strings kept.
fn without_comments(body: &str) -> Vec<&str> {
    body.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect()
}

fn figures() -> Figures {
    let all = files();
    let known: BTreeSet<String> = all.iter().map(|f| f.module.clone()).collect();
    let graph: BTreeMap<String, BTreeSet<String>> = all
        .iter()
        .map(|f| (f.module.clone(), imports(f, &known)))
        .collect();
    let mut upward = Vec::new();
    for (m, deps) in &graph {
        for d in deps {
            let same_top = m.split("::").next() == d.split("::").next();
            if !same_top && layer_of(d) > layer_of(m) && m != "main" {
                upward.push(format!("{m} -> {d}"));
            }
        }
    }
    let mut long_files = Vec::new();
    let mut long_functions = Vec::new();
    let mut outside_host = Vec::new();
    let (mut node_models, mut fstab_readers, mut record_lists) =
        (Vec::new(), Vec::new(), Vec::new());
    for f in &all {
        let lines = without_comments(&f.body);
        if lines.iter().any(|l| l.contains("manager_status: Option<")) {
            node_models.push(f.path.clone());
        }
        if lines.iter().any(|l| l.contains("\"/etc/fstab\"")) {
            fstab_readers.push(f.path.clone());
        }
        if lines.iter().any(|l| l.contains("/var/lib/swarmnode/")) {
            record_lists.push(f.path.clone());
        }
        let n = f.body.lines().count();
        if n > 600 {
            long_files.push(format!("{} ({n} lines)", f.path));
        }
        for (name, line, len) in functions(f) {
            if len > 60 {
                long_functions.push(format!("{}:{line} {name} ({len} lines)", f.path));
            }
        }
        if !f.module.starts_with("host") && f.module != "main" {
            outside_host.extend(door_calls(f));
        }
    }
    Figures {
        circles: circles(&graph),
        upward,
        long_files,
        long_functions,
        outside_host,
        node_models,
        fstab_readers,
        record_lists,
    }
}

/// What a file outside host/ does itself that only the host may: a file, socket or system call.
/// Addresses as values (`std::net::IpAddr` and its kin, parsed from text) are not calls.
fn door_calls(f: &File) -> Vec<String> {
    const PURE: [&str; 4] = ["IpAddr", "Ipv4Addr", "Ipv6Addr", "SocketAddr"];
    let code = code_only(&f.body);
    let mut out = Vec::new();
    for (i, l) in code.lines().enumerate() {
        for w in [
            "std::fs",
            "std::net",
            "nix::",
            "std::os::unix::net",
            "std::os::unix::fs",
        ] {
            let Some(k) = l.find(w) else { continue };
            let rest = &l[k + w.len()..];
            let names: Vec<String> = match rest.strip_prefix("::") {
                Some(r) if r.starts_with('{') => r[1..]
                    .split('}')
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|x| x.trim().to_string())
                    .collect(),
                Some(r) => vec![
                    r.chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect(),
                ],
                None => vec![String::new()],
            };
            let pure = w == "std::net" && names.iter().all(|x| PURE.contains(&x.as_str()));
            if !pure {
                out.push(format!("{}:{} {w}", f.path, i + 1));
            }
        }
    }
    out
}

/// The strongly connected groups of more than one module (Tarjan).
fn circles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.g.contains_key(w) {
                continue;
            }
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(lw));
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(iw));
            }
        }
        if t.low[v] == t.index[v] {
            let mut c = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                c.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if c.len() > 1 {
                c.sort();
                t.out.push(c);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

/// The house's rules (docs/architecture.md, "The rules, and what holds them"), with the figures printed
/// (`--nocapture`) and every breach named.
#[test]
fn the_rules_hold() {
    let f = figures();
    let show = |what: &str, items: &[String]| {
        println!("{what}: {}", items.len());
        for i in items {
            println!("  {i}");
        }
    };
    let circles: Vec<String> = f.circles.iter().map(|c| c.join(" <-> ")).collect();
    show("import circles", &circles);
    show("imports from a lower layer to a higher one", &f.upward);
    show("files over 600 lines (tests excluded)", &f.long_files);
    show(
        "functions over 60 lines (tests excluded)",
        &f.long_functions,
    );
    show("std::fs, std::net, nix outside host/", &f.outside_host);
    show("models of docker's node JSON", &f.node_models);
    show("files naming /etc/fstab", &f.fstab_readers);
    show(
        "files naming a record under /var/lib/swarmnode",
        &f.record_lists,
    );
    let rules: [(bool, &str, &[String]); 8] = [
        (
            circles.is_empty(),
            "modules that import each other",
            &circles,
        ),
        (
            f.upward.is_empty(),
            "imports from a lower layer to a higher one (docs/architecture.md: layers)",
            &f.upward,
        ),
        (
            f.long_files.is_empty(),
            "files over 600 lines: split by job",
            &f.long_files,
        ),
        (
            f.long_functions.is_empty(),
            "functions over 60 lines: name their parts",
            &f.long_functions,
        ),
        (
            f.outside_host.is_empty(),
            "files, sockets or system calls outside host/: go through the host",
            &f.outside_host,
        ),
        (
            f.node_models == ["src/host/swarm/node.rs"],
            "docker's node JSON has one model, host::swarm::node",
            &f.node_models,
        ),
        (
            f.fstab_readers == ["src/host/fstab.rs", "src/host/places.rs"],
            "/etc/fstab is read and written through host::fstab",
            &f.fstab_readers,
        ),
        (
            f.record_lists == ["src/host/state.rs"],
            "records are declared in host::state alone",
            &f.record_lists,
        ),
    ];
    let broken: Vec<String> = rules
        .iter()
        .filter(|(ok, _, _)| !ok)
        .map(|(_, what, items)| format!("{what}:\n  {}", items.join("\n  ")))
        .collect();
    assert!(
        broken.is_empty(),
        "the house's rules are broken:\n{}",
        broken.join("\n")
    );
}
