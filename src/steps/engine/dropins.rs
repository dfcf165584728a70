//! docker.service and its drop-ins against daemon.json: dockerd refuses to start when a setting
//! is both a flag and a daemon.json key ("the following directives are specified both as a flag
//! and in the configuration file"). A drop-in in /etc that passes such flags is moved aside to
//! NAME.bk; when the unit's own command line has them (the stock `dockerd -H fd://`), swarmnode's
//! drop-in runs it without them. Listeners the remaining `-H` flags open are checked like
//! daemon.json's `hosts`.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::host::systemd::{self, Dropin, Service};
use crate::host::{Action, Host};
use crate::profile::Engine;
use crate::steps::plan::StepPlan;

use super::daemon_json::{guard_tcp, tlsverify_of, unauthenticated_tcp};

/// swarmnode's own drop-in, written only when the unit's command line has conflicting flags.
pub const DROPIN: &str = "/etc/systemd/system/docker.service.d/swarmnode.conf";

/// Plans the drop-ins; true when a unit file changes.
pub fn plan(
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
    let words = systemd::expand(&exec[prefix.len()..], &env);
    let (args, dropped) = strip_conflicts(words.get(1..).unwrap_or_default(), &keys);
    // Listeners the unit itself opens (-H flags daemon.json does not override).
    let (flag_hosts, flag_verify) = host_flags(&args);
    let exposed = unauthenticated_tcp(&flag_hosts, flag_verify || tlsverify_of(daemon));
    guard_tcp(
        &exposed,
        &format!("{unit} and its drop-ins (-H)"),
        e,
        &mut p.warnings,
    )?;
    let want = (!dropped.is_empty()).then(|| {
        format!(
            "# written by swarmnode: dockerd refuses flags that daemon.json also sets ({})\n[Service]\nExecStart=\nExecStart={prefix}{} {}\n",
            dropped.join(", "),
            words[0],
            args.join(" ")
        )
    });
    changed |= plan_own_dropin(host, want, &dropped, p)?;
    Ok(changed)
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
        let conflicts: Vec<String> = systemd::parse_unit(&d.text)
            .exec_start
            .iter()
            .filter(|x| !x.is_empty())
            .flat_map(|x| {
                let words = systemd::expand(x, &env);
                strip_conflicts(words.get(1..).unwrap_or_default(), keys).1
            })
            .collect();
        if conflicts.is_empty() || !d.path.starts_with("/etc/") {
            kept.push(d);
            continue;
        }
        p.actions.push(Action::rename(
            "engine.dropin-aside",
            format!(
                "legacy drop-in passes {} which daemon.json sets too",
                conflicts.join(" ")
            ),
            &d.path,
            &format!("{}.bk", d.path),
        ));
        moved = true;
    }
    Ok((kept, moved))
}

/// swarmnode's drop-in: written when the command line must lose flags, set aside when not.
fn plan_own_dropin(
    host: &Host,
    want: Option<String>,
    dropped: &[String],
    p: &mut StepPlan,
) -> Result<bool> {
    match want {
        Some(w) => crate::steps::plan::plan_write(
            host,
            p,
            "engine.dropin",
            &format!("run dockerd without {}", dropped.join(", ")),
            DROPIN,
            0o644,
            w,
        ),
        None if host.read_text(DROPIN)?.is_some() => {
            p.actions.push(Action::rename(
                "engine.dropin-aside",
                "no longer needed",
                DROPIN,
                &format!("{DROPIN}.bk"),
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

/// Splits `args` (after the program) into kept words and the flags that conflict with `keys`.
pub fn strip_conflicts(args: &[String], keys: &[String]) -> (Vec<String>, Vec<String>) {
    let flags: Vec<String> = keys.iter().flat_map(|k| flags_of(k)).collect();
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let name = a.split_once('=').map(|(n, _)| n).unwrap_or(a);
        let short_joined = flags.iter().find(|f| {
            f.len() == 2 && a.len() > 2 && !a.starts_with("--") && a.starts_with(f.as_str())
        });
        if flags.iter().any(|f| f == name) {
            let mut shown = a.clone();
            if !a.contains('=') && args.get(i + 1).is_some_and(|n| !n.starts_with('-')) {
                shown = format!("{a} {}", args[i + 1]);
                i += 1;
            }
            dropped.push(shown);
        } else if short_joined.is_some() {
            dropped.push(a.clone());
        } else {
            kept.push(a.clone());
        }
        i += 1;
    }
    (kept, dropped)
}

/// The values of `-H`/`--host` in a dockerd command line (`-H x`, `-Hx`, `-H=x`, `--host x`,
/// `--host=x`), and whether it has `--tlsverify` (or `--tlsverify=true`).
pub fn host_flags(args: &[String]) -> (Vec<String>, bool) {
    let mut hosts = Vec::new();
    let mut tlsverify = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-H" | "--host" => hosts.extend(it.next().cloned()),
            "--tlsverify" | "--tlsverify=true" => tlsverify = true,
            s if s.starts_with("--host=") => hosts.push(s["--host=".len()..].to_string()),
            s if s.starts_with("-H") && !s.starts_with("--") => {
                hosts.push(s[2..].trim_start_matches('=').to_string())
            }
            _ => {}
        }
    }
    (hosts, tlsverify)
}
