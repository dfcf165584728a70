//! systemd units as swarmnode reads and drives them: unit files and their drop-ins (masking by
//! name, priority of the directories), EnvironmentFile= pooled as systemd pools it, `$VAR`
//! expansion of ExecStart=, and the systemctl commands, online (the running systemd) or offline
//! (`--root`, on the unit files alone, as in a kickstart %post).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::Result;
use crate::host::Host;
use crate::host::cmd::Cmd;

/// Unit directories, highest priority first (systemd's search path for the system manager, with
/// Debian's /lib).
pub const UNIT_DIRS: [&str; 8] = [
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/run/systemd/transient",
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// A unit file's `[Service]` ExecStart= and EnvironmentFile= lines, in order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ServiceLines {
    pub exec_start: Vec<String>,
    pub environment_files: Vec<String>,
    /// `Environment=` assignments, in order (`KEY=VALUE`, quotes removed).
    pub environment: Vec<(String, String)>,
    /// `[Socket]` `ListenStream=` values (of a .socket unit).
    pub listen_stream: Vec<String>,
}

pub fn parse_unit(text: &str) -> ServiceLines {
    let mut out = ServiceLines::default();
    let mut section = String::new();
    let mut joined = String::new();
    for raw in text.lines() {
        let line = raw.trim_end();
        if let Some(l) = line.strip_suffix('\\') {
            joined.push_str(l);
            joined.push(' ');
            continue;
        }
        joined.push_str(line);
        let l = std::mem::take(&mut joined);
        let l = l.trim();
        if l.starts_with('#') || l.starts_with(';') || l.is_empty() {
            continue;
        }
        if l.starts_with('[') {
            section = l.to_string();
            continue;
        }
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        let v = v.trim();
        match (section.as_str(), k.trim()) {
            ("[Service]", "ExecStart") => out.exec_start.push(v.to_string()),
            ("[Service]", "EnvironmentFile") => out.environment_files.push(v.to_string()),
            ("[Service]", "Environment") => out.environment.extend(
                words(v)
                    .into_iter()
                    .filter_map(|w| w.value.split_once('=').map(|(a, b)| (a.into(), b.into()))),
            ),
            ("[Socket]", "ListenStream") => out.listen_stream.push(v.to_string()),
            _ => {}
        }
    }
    out
}

/// KEY=VALUE lines of an EnvironmentFile (quotes removed).
pub fn parse_env(text: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for l in text.lines().map(str::trim) {
        if l.starts_with('#') || l.is_empty() {
            continue;
        }
        if let Some((k, v)) = l.split_once('=') {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
                .unwrap_or(v);
            m.insert(k.trim().to_string(), v.to_string());
        }
    }
    m
}

/// One word of a command line as systemd splits it: the text as written (quotes and all), its
/// value (quotes removed, escapes resolved), and the variable when the word is a bare `$NAME`
/// (which systemd splits into several words at whitespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub raw: String,
    pub value: String,
    pub var: Option<String>,
}

/// Splits a command line as systemd does: at whitespace outside quotes; `"..."` and `'...'` group;
/// a backslash escapes the next character (`\n`, `\t` as themselves in C).
pub fn words(line: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut it = line.char_indices().peekable();
    while let Some(&(start, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
            continue;
        }
        let (mut value, mut quote, mut quoted) = (String::new(), None::<char>, false);
        let mut end = line.len();
        while let Some(&(i, c)) = it.peek() {
            match (quote, c) {
                (None, c) if c.is_whitespace() => {
                    end = i;
                    break;
                }
                (None, '"' | '\'') => {
                    quote = Some(c);
                    quoted = true;
                }
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => {
                    it.next();
                    if let Some(&(_, n)) = it.peek() {
                        value.push(match n {
                            'n' => '\n',
                            't' => '\t',
                            n => n,
                        });
                    }
                }
                (_, c) => value.push(c),
            }
            it.next();
        }
        let raw = line[start..end].to_string();
        let var = (!quoted)
            .then(|| raw.strip_prefix('$'))
            .flatten()
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .map(str::to_string);
        out.push(Word { raw, value, var });
    }
    out
}

/// A word with the environment applied: a bare `$NAME` becomes the value's words (none when it
/// is unset or empty); elsewhere `${NAME}` is replaced in place and `$$` is a `$`.
pub fn expand_word(w: &Word, env: &BTreeMap<String, String>) -> Vec<String> {
    if let Some(name) = &w.var {
        return env
            .get(name)
            .map(|v| v.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
    }
    let mut out = String::new();
    let mut rest = w.value.as_str();
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some((name, tail)) = after.strip_prefix('{').and_then(|a| a.split_once('}')) {
            out.push_str(env.get(name).map(String::as_str).unwrap_or(""));
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    vec![out]
}

/// A whole ExecStart command line as the words the program gets.
pub fn expand(cmdline: &str, env: &BTreeMap<String, String>) -> Vec<String> {
    words(cmdline)
        .iter()
        .flat_map(|w| expand_word(w, env))
        .collect()
}

/// A word as it is written on an ExecStart line so that systemd passes `value` unchanged.
pub fn quote_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| !c.is_whitespace() && !"\"'\\$%;".contains(c));
    if plain {
        return value.to_string();
    }
    let mut q = String::from("\"");
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                q.push('\\');
                q.push(c);
            }
            '$' => q.push_str("$$"),
            '%' => q.push_str("%%"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// A drop-in in effect: its file name, host path and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropin {
    pub name: String,
    pub path: String,
    pub text: String,
}

/// A service as systemd would load it.
#[derive(Debug, Clone, Default)]
pub struct Service {
    /// The unit file's host path and text, if installed.
    pub unit: Option<(String, String)>,
    /// Drop-ins in effect, sorted by name as systemd applies them.
    pub dropins: Vec<Dropin>,
}

/// Reads `NAME.service` and its drop-ins (`NAME.service.d/*.conf`, and `service.d/*.conf` for
/// every service) from every unit directory: the unit from the first directory that has it; a
/// drop-in of the same name in a higher-priority directory masks the others.
pub fn read_service(host: &Host, name: &str) -> Result<Service> {
    let mut unit = None;
    let mut by_name: BTreeMap<String, (String, String)> = BTreeMap::new();
    for d in UNIT_DIRS {
        let u = format!("{d}/{name}");
        if unit.is_none()
            && let Some(text) = host.read_text(&u)?
        {
            unit = Some((u, text));
        }
        // The unit's own drop-ins, then those for every unit of its type (`service.d`).
        let kind = name.rsplit('.').next().unwrap_or_default();
        for dd in [format!("{d}/{name}.d"), format!("{d}/{kind}.d")] {
            let Ok(rd) = std::fs::read_dir(host.path(&dd)?) else {
                continue;
            };
            let mut names: Vec<String> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".conf") && !by_name.contains_key(n))
                .collect();
            names.sort();
            for n in names {
                let path = format!("{dd}/{n}");
                if let Some(text) = host.read_text(&path)? {
                    by_name.insert(n, (path, text));
                }
            }
        }
    }
    let dropins = by_name
        .into_iter()
        .map(|(name, (path, text))| Dropin { name, path, text })
        .collect();
    Ok(Service { unit, dropins })
}

/// The ExecStart= in effect for a unit text plus drop-ins (an empty `ExecStart=` resets it).
pub fn exec_start(unit_text: &str, dropins: &[&Dropin]) -> Option<String> {
    let mut exec: Vec<String> = parse_unit(unit_text).exec_start;
    for d in dropins {
        for e in parse_unit(&d.text).exec_start {
            if e.is_empty() {
                exec.clear();
            } else {
                exec.push(e);
            }
        }
    }
    exec.pop()
}

/// The environment from EnvironmentFile= of the unit and the drop-ins, pooled as systemd does.
pub fn environment(
    host: &Host,
    unit_text: &str,
    dropins: &[&Dropin],
) -> Result<BTreeMap<String, String>> {
    let base = parse_unit(unit_text);
    let mut files = base.environment_files;
    let mut env: BTreeMap<String, String> = base.environment.into_iter().collect();
    for d in dropins {
        let lines = parse_unit(&d.text);
        files.extend(lines.environment_files);
        env.extend(lines.environment);
    }
    // Values from EnvironmentFile= win over Environment=.
    for f in files {
        if let Some(t) = host.read_text(f.trim_start_matches('-'))? {
            env.extend(parse_env(&t));
        }
    }
    Ok(env)
}

/// `systemctl --root=ROOT ARGS`: on the unit files, without asking a running systemd (there may be
/// none, and from a PID namespace or a chroot it cannot be reached). Also with ROOT = /.
pub fn offline(h: &Host, args: &[&str]) -> Cmd {
    Cmd::new("systemctl")
        .arg(format!("--root={}", h.root().display()))
        .args(args.iter().copied())
}

/// How long systemctl may take to start, stop or restart docker: docker's own unit gives it 90 s
/// to stop its containers, and docker-ce's has no bound on its start (`TimeoutStartSec=0`). Far
/// above a healthy start: past it, something is wrong.
pub const DOCKER_SECONDS: u64 = 600;

/// `systemctl ARGS` against the running systemd.
pub fn online(args: &[&str]) -> Cmd {
    Cmd::new("systemctl").args(args.iter().copied())
}

/// docker started, stopped or restarted (`systemctl ARGS`), within [`DOCKER_SECONDS`].
pub fn docker(id: &str, why: impl Into<String>, args: &[&str]) -> super::Action {
    super::Action::run(id, why, online(args)).within(DOCKER_SECONDS)
}

pub fn daemon_reload() -> Cmd {
    online(&["daemon-reload"])
}

/// Is the unit enabled (on the unit files; works offline)?
pub fn is_enabled(h: &Host, unit: &str) -> Result<bool> {
    Ok(h.runner
        .output(&offline(h, &["is-enabled", unit]))?
        .stdout
        .trim()
        == "enabled")
}

/// A unit's `ActiveState` and `Result` in the running systemd (`systemctl show`), within
/// `limit`; empty when systemd does not say.
pub fn unit_state(h: &Host, unit: &str, limit: Duration) -> Result<(String, String)> {
    let show = online(&["show", "--property=ActiveState,Result", unit]);
    let out = h.runner.output_timeout(&show, limit)?;
    let prop = |k: &str| {
        out.stdout
            .lines()
            .filter_map(|l| l.split_once('='))
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.to_string())
            .unwrap_or_default()
    };
    Ok((prop("ActiveState"), prop("Result")))
}

/// Is the unit active in the running systemd?
pub fn is_active(h: &Host, unit: &str) -> Result<bool> {
    Ok(h.runner
        .output(&online(&["is-active", unit]))?
        .stdout
        .trim()
        == "active")
}
