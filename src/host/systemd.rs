//! systemd units as swarmnode reads and drives them: unit files and their drop-ins (masking by
//! name, priority of the directories), EnvironmentFile= pooled as systemd pools it, `$VAR`
//! expansion of ExecStart=, and the systemctl commands, online (the running systemd) or offline
//! (`--root`, on the unit files alone, as in a kickstart %post).

use std::collections::BTreeMap;

use crate::error::Result;
use crate::host::Host;
use crate::host::cmd::Cmd;

/// Unit directories, highest priority first.
pub const UNIT_DIRS: [&str; 4] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// A unit file's `[Service]` ExecStart= and EnvironmentFile= lines, in order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ServiceLines {
    pub exec_start: Vec<String>,
    pub environment_files: Vec<String>,
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
        if section != "[Service]" {
            continue;
        }
        if let Some((k, v)) = l.split_once('=') {
            match k.trim() {
                "ExecStart" => out.exec_start.push(v.trim().to_string()),
                "EnvironmentFile" => out.environment_files.push(v.trim().to_string()),
                _ => {}
            }
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

/// An ExecStart command line as words, with $VAR and ${VAR} expanded from `env` (unset = empty).
pub fn expand(cmdline: &str, env: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = String::new();
    let b = cmdline.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let (name, next) = if b.get(i + 1) == Some(&b'{') {
                let end = cmdline[i + 2..]
                    .find('}')
                    .map(|e| i + 2 + e)
                    .unwrap_or(b.len());
                (&cmdline[i + 2..end], end + 1)
            } else {
                let end = cmdline[i + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map(|e| i + 1 + e)
                    .unwrap_or(b.len());
                (&cmdline[i + 1..end], end)
            };
            out.push_str(env.get(name).map(String::as_str).unwrap_or(""));
            i = next;
        } else {
            let c = cmdline[i..].chars().next().expect("in bounds");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out.split_whitespace().map(str::to_string).collect()
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

/// Reads `NAME.service` and its `NAME.service.d/*.conf` from every unit directory: the unit from
/// the first directory that has it; a drop-in of the same name in a higher-priority directory
/// masks the others.
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
        let dd = format!("{d}/{name}.d");
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
    let mut files = parse_unit(unit_text).environment_files;
    for d in dropins {
        files.extend(parse_unit(&d.text).environment_files);
    }
    let mut env = BTreeMap::new();
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

/// `systemctl ARGS` against the running systemd.
pub fn online(args: &[&str]) -> Cmd {
    Cmd::new("systemctl").args(args.iter().copied())
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

/// Is the unit active in the running systemd?
pub fn is_active(h: &Host, unit: &str) -> Result<bool> {
    Ok(h.runner
        .output(&online(&["is-active", unit]))?
        .stdout
        .trim()
        == "active")
}
