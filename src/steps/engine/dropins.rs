//! docker.service and its drop-ins against daemon.json: dockerd refuses to start when a setting
//! is both a flag and a daemon.json key ("the following directives are specified both as a flag
//! and in the configuration file"). A drop-in in /etc that passes such flags is moved aside to
//! NAME.bk; when the unit's own command line has them (the stock `dockerd -H fd://`), swarmnode's
//! drop-in runs it without them. Listeners the remaining `-H` flags open are checked like
//! daemon.json's `hosts`.

use serde_json::{Map, Value};

use crate::error::{Error, Refusal, Result};
use crate::host::systemd::{self, Dropin, Service};
use crate::host::{Action, Host};
use crate::profile::Engine;
use crate::steps::plan::StepPlan;

use super::daemon_json::{DAEMON_JSON, guard_tcp, tlsverify_of, unauthenticated_tcp};

/// swarmnode's own drop-in, written only when the unit's command line has conflicting flags.
pub const DROPIN: &str = "/etc/systemd/system/docker.service.d/swarmnode.conf";

/// Plans the drop-ins; true when a unit file changes.
pub fn add(
    host: &Host,
    e: &Engine,
    svc: &Service,
    daemon: &Map<String, Value>,
    p: &mut StepPlan,
) -> Result<bool> {
    let Some((unit, unit_text)) = &svc.unit else {
        p.facts
            .push("docker.service is not installed: no drop-ins to check".into());
        return Ok(false);
    };
    let keys: Vec<String> = daemon.keys().cloned().collect();
    let (kept, mut changed) = set_aside_conflicting(host, unit_text, svc, &keys, p)?;
    let exec = systemd::exec_start(unit_text, &kept).ok_or_else(|| {
        Error::Failed(format!("engine: {unit} and its drop-ins have no ExecStart"))
    })?;
    let env = systemd::environment(host, unit_text, &kept)?;
    let prefix: String = exec.chars().take_while(|c| "-@+!:".contains(*c)).collect();
    let line = CommandLine::read(&exec[prefix.len()..], &env, &keys);
    add_listener_checks(host, e, unit, &line, daemon, p)?;
    let want = (!line.dropped.is_empty()).then(|| {
        format!(
            "# written by swarmnode: dockerd refuses flags that daemon.json also sets ({})\n[Service]\nExecStart=\nExecStart={prefix}{}\n",
            line.dropped.join(", "),
            line.render()
        )
    });
    changed |= add_own_dropin(host, want, &line.dropped, p)?;
    Ok(changed)
}

/// What the command line (and docker.socket, for `-H fd://`) makes dockerd listen on, checked
/// like daemon.json's `hosts`; a command line that reads another daemon.json is refused.
fn add_listener_checks(
    host: &Host,
    e: &Engine,
    unit: &str,
    line: &CommandLine,
    daemon: &Map<String, Value>,
    p: &mut StepPlan,
) -> Result<()> {
    if let Some(other) = line.config_file.as_deref().filter(|f| *f != DAEMON_JSON) {
        return Err(Refusal::new(
            "engine",
            unit.to_string(),
            format!("its dockerd reads {other} (--config-file), not {DAEMON_JSON}, which swarmnode manages"),
        )
        .remedy("drop --config-file from the unit, or merge that file into /etc/docker/daemon.json")
        .into());
    }
    let verify = line.tlsverify.unwrap_or(false) || tlsverify_of(daemon);
    let mut hosts = line.hosts.clone();
    if line.hosts.is_empty() {
        hosts.extend(daemon_hosts(daemon));
    }
    let exposed = unauthenticated_tcp(&hosts, verify);
    guard_tcp(
        &exposed,
        &format!("{unit} and its drop-ins (-H)"),
        e,
        &mut p.warnings,
    )?;
    if hosts.iter().any(|h| h.trim().starts_with("fd://")) {
        let socket = systemd::read_service(host, "docker.socket")?;
        let streams = socket_listeners(&socket);
        let exposed = unauthenticated_tcp(&streams, verify);
        guard_tcp(
            &exposed,
            "docker.socket (ListenStream=, for -H fd://)",
            e,
            &mut p.warnings,
        )?;
    }
    Ok(())
}

fn daemon_hosts(daemon: &Map<String, Value>) -> Vec<String> {
    daemon
        .get("hosts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|h| h.as_str().map(str::to_string))
        .collect()
}

/// docker.socket's TCP listeners (`ListenStream=2375`, `0.0.0.0:2375`, `[::]:2375`) as `tcp://`.
fn socket_listeners(socket: &systemd::Service) -> Vec<String> {
    let mut texts: Vec<&str> = socket.unit.iter().map(|(_, t)| t.as_str()).collect();
    texts.extend(socket.dropins.iter().map(|d| d.text.as_str()));
    let mut streams: Vec<String> = Vec::new();
    for t in texts {
        for l in systemd::parse_unit(t).listen_stream {
            if l.is_empty() {
                streams.clear(); // an empty ListenStream= resets the list
            } else if !l.starts_with('/') && !l.starts_with('@') {
                let l = if l.chars().all(|c| c.is_ascii_digit()) {
                    format!(":{l}") // a port alone: every address
                } else {
                    l
                };
                streams.push(format!("tcp://{l}"));
            }
        }
    }
    streams
}

/// Moves aside each drop-in in /etc whose command line passes flags daemon.json sets too; returns
/// the drop-ins that stay (swarmnode's own excepted) and whether any was moved.
fn set_aside_conflicting<'a>(
    host: &Host,
    unit_text: &str,
    svc: &'a Service,
    keys: &[String],
    p: &mut StepPlan,
) -> Result<(Vec<&'a Dropin>, bool)> {
    let others: Vec<&Dropin> = svc.dropins.iter().filter(|d| d.path != DROPIN).collect();
    // systemd pools EnvironmentFile= from the unit and every drop-in.
    let env = systemd::environment(host, unit_text, &others)?;
    let mut kept = Vec::new();
    let mut moved = false;
    for d in others {
        let mut conflicts: Vec<String> = systemd::parse_unit(&d.text)
            .exec_start
            .iter()
            .filter(|x| !x.is_empty())
            .flat_map(|x| CommandLine::read(x, &env, keys).dropped)
            .collect();
        conflicts.dedup();
        if conflicts.is_empty() || !d.path.starts_with("/etc/") {
            kept.push(d);
            continue;
        }
        p.actions.push(Action::move_aside(
            "engine.dropin-aside",
            format!(
                "legacy drop-in passes {} which daemon.json sets too",
                conflicts.join(", ")
            ),
            &d.path,
        ));
        moved = true;
    }
    Ok((kept, moved))
}

/// swarmnode's drop-in: written when the command line must lose flags, set aside when not.
fn add_own_dropin(
    host: &Host,
    want: Option<String>,
    dropped: &[String],
    p: &mut StepPlan,
) -> Result<bool> {
    match want {
        Some(w) => crate::steps::plan::add_write(
            host,
            p,
            "engine.dropin",
            &format!("run dockerd without {}", dropped.join(", ")),
            DROPIN,
            0o644,
            w,
        ),
        None if host.read_text(DROPIN)?.is_some() => {
            p.actions.push(Action::move_aside(
                "engine.dropin-aside",
                "no longer needed",
                DROPIN,
            ));
            Ok(true)
        }
        None => Ok(false),
    }
}

/// The command-line flags that set the same thing as a daemon.json key.
pub fn flags_of(key: &str) -> Vec<String> {
    let v: &[&str] = match key {
        "hosts" => &["-H", "--host"],
        "storage-driver" => &["-s", "--storage-driver"],
        "storage-opts" => &["--storage-opt"],
        "insecure-registries" => &["--insecure-registry"],
        "registry-mirrors" => &["--registry-mirror"],
        "data-root" => &["-g", "--graph", "--data-root"],
        "labels" => &["--label"],
        "log-opts" => &["--log-opt"],
        "exec-opts" => &["--exec-opt"],
        "default-ulimits" => &["--default-ulimit"],
        "tlsverify" => &["--tlsverify"],
        "debug" => &["-D", "--debug"],
        "log-level" => &["-l", "--log-level"],
        "group" => &["-G", "--group"],
        _ => &[],
    };
    if v.is_empty() {
        vec![format!("--{key}")]
    } else {
        v.iter().map(|s| s.to_string()).collect()
    }
}

/// dockerd's one-letter flags that take a value (`-H x`, `-Hx`, `-H=x`); the others (`-D`, `-v`,
/// `-h`) take none, and may be grouped (`-DH x`).
const SHORT_WITH_VALUE: &str = "HlGsgbpe";

/// A dockerd command line as systemd hands it over and pflag reads it: the words as written, each
/// with the words it expands to; the flags that conflict with daemon.json and are dropped (names
/// only: values may come from private environment files); and what the rest asks for.
#[derive(Debug, Default)]
pub struct CommandLine {
    /// Per word as written: its text, the words it expands to, which of those are kept.
    words: Vec<(String, Vec<String>, Vec<bool>)>,
    /// Names of the dropped flags, in order, once each.
    pub dropped: Vec<String>,
    /// Values of the kept `-H`/`--host`.
    pub hosts: Vec<String>,
    /// The last kept `--tlsverify[=BOOL]`, if any (the last one wins).
    pub tlsverify: Option<bool>,
    pub config_file: Option<String>,
}

impl CommandLine {
    /// Reads `line` (the program first) with `env`; flags daemon.json also sets (`keys`) drop.
    pub fn read(
        line: &str,
        env: &std::collections::BTreeMap<String, String>,
        keys: &[String],
    ) -> CommandLine {
        let conflicting: Vec<String> = keys.iter().flat_map(|k| flags_of(k)).collect();
        let mut c = CommandLine::default();
        for w in systemd::words(line) {
            let expanded: Vec<String> = systemd::expand_word(&w, env)
                .iter()
                .flat_map(|x| split_short(x))
                .collect();
            let n = expanded.len();
            c.words.push((w.raw, expanded, vec![true; n]));
        }
        // Every word after the program, with where it came from.
        let flat: Vec<(usize, usize, String)> = c
            .words
            .iter()
            .enumerate()
            .skip(1)
            .flat_map(|(i, (_, ex, _))| ex.iter().enumerate().map(move |(j, x)| (i, j, x.clone())))
            .collect();
        let mut k = 0;
        while k < flat.len() {
            let (name, inline) = match flat[k].2.split_once('=') {
                Some((n, v)) if n.starts_with('-') => (n.to_string(), Some(v.to_string())),
                _ => (flat[k].2.clone(), None),
            };
            let takes_next = inline.is_none()
                && name.starts_with('-')
                && !is_bool_flag(&name)
                && flat.get(k + 1).is_some_and(|n| !n.2.starts_with('-'));
            let value = inline.or_else(|| takes_next.then(|| flat[k + 1].2.clone()));
            let span = if takes_next { 2 } else { 1 };
            if conflicting.contains(&name) {
                for (i, j, _) in &flat[k..k + span] {
                    c.words[*i].2[*j] = false;
                }
                if !c.dropped.contains(&name) {
                    c.dropped.push(name);
                }
            } else {
                c.note(&name, value);
            }
            k += span;
        }
        c
    }

    /// What a kept flag asks for.
    fn note(&mut self, name: &str, value: Option<String>) {
        match name {
            "-H" | "--host" => self.hosts.extend(value),
            "--tlsverify" => {
                self.tlsverify = Some(!matches!(
                    value.as_deref(),
                    Some("false" | "0" | "f" | "False")
                ))
            }
            "--config-file" => self.config_file = value,
            _ => {}
        }
    }

    /// The command line with the dropped flags gone: every word left whole is written as it was
    /// (its `$VAR`s still read at start), only a word that lost something is written expanded.
    pub fn render(&self) -> String {
        let mut out: Vec<String> = Vec::new();
        for (raw, ex, keep) in &self.words {
            let whole = keep.iter().all(|k| *k);
            if whole && (ex.len() <= 1 || raw.starts_with('$')) {
                out.push(raw.clone());
            } else {
                out.extend(
                    ex.iter()
                        .zip(keep)
                        .filter(|(_, k)| **k)
                        .map(|(x, _)| systemd::quote_word(x)),
                );
            }
        }
        out.join(" ")
    }
}

/// dockerd's boolean flags (they never take the next word).
fn is_bool_flag(name: &str) -> bool {
    matches!(
        name,
        "-D" | "--debug"
            | "-v"
            | "--version"
            | "-h"
            | "--help"
            | "--tlsverify"
            | "--tls"
            | "--live-restore"
            | "--experimental"
            | "--selinux-enabled"
            | "--icc"
            | "--ipv6"
            | "--iptables"
            | "--ip-forward"
            | "--ip-masq"
            | "--userland-proxy"
            | "--no-new-privileges"
            | "--init"
            | "--validate"
            | "--raw-logs"
    )
}

/// A group of one-letter flags as pflag reads it: `-DH` → `-D -H`; `-Hx` / `-H=x` → `-H x`.
fn split_short(w: &str) -> Vec<String> {
    let Some(letters) = w
        .strip_prefix('-')
        .filter(|l| !l.starts_with('-') && l.len() > 1)
    else {
        return vec![w.to_string()];
    };
    let mut out = Vec::new();
    for (i, ch) in letters.char_indices() {
        out.push(format!("-{ch}"));
        if SHORT_WITH_VALUE.contains(ch) {
            let rest = &letters[i + ch.len_utf8()..];
            let rest = rest.strip_prefix('=').unwrap_or(rest);
            if !rest.is_empty() {
                out.push(rest.to_string());
            }
            break;
        }
    }
    out
}
