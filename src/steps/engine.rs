//! The engine step: /etc/docker/daemon.json merged (never blindly overwritten), registry CAs
//! trusted, docker.service flags that fight daemon.json resolved, and docker restarted only when
//! its configuration changed.
//!
//! dockerd refuses to start when a directive is both a flag and a daemon.json key ("the following
//! directives are specified both as a flag and in the configuration file"); the stock unit runs
//! `dockerd -H fd://`, so a `hosts` key needs a drop-in without `-H`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::host::cmd::Cmd;
use crate::host::fs::sha256_hex;
use crate::host::{Action, Host};
use crate::profile::{Driver, Engine};

use super::StepPlan;
use crate::host::docker::EngineVersion;

pub const DAEMON_JSON: &str = "/etc/docker/daemon.json";
pub const CERTS_D: &str = "/etc/docker/certs.d";
/// swarmnode's own drop-in, written only when the unit's command line has conflicting flags.
pub const DROPIN: &str = "/etc/systemd/system/docker.service.d/swarmnode.conf";
/// Unit directories, highest priority first.
const UNIT_DIRS: [&str; 4] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];
/// `dockerd --validate` exists from Docker Engine 23.
const VALIDATE_FROM: u32 = 23;
const THINPOOL_OPTS: [&str; 3] = [
    "dm.thinpooldev=/dev/mapper/docker-thinpool",
    "dm.use_deferred_removal=true",
    "dm.use_deferred_deletion=true",
];

/// The daemon.json swarmnode wants: `old` with the keys the profile manages set; every other key kept.
/// Refuses a plaintext TCP listener off loopback unless the profile allows it (then it warns).
pub fn merge(
    old: &Map<String, Value>,
    e: &Engine,
    driver: Option<Driver>,
    pool: &str,
) -> Result<(Map<String, Value>, Vec<String>)> {
    let mut new = old.clone();
    let mut warnings = Vec::new();
    match driver {
        Some(Driver::Devicemapper) => {
            new.insert("storage-driver".into(), json!("devicemapper"));
            let opts: Vec<String> = THINPOOL_OPTS
                .iter()
                .map(|o| o.replace("/dev/mapper/docker-thinpool", pool))
                .collect();
            new.insert("storage-opts".into(), json!(opts));
        }
        Some(Driver::Overlay2) => {
            new.insert("storage-driver".into(), json!("overlay2"));
            // dm.* options make an overlay2 engine fail to start; keep anything else.
            if let Some(Value::Array(opts)) = new.get("storage-opts").cloned() {
                let kept: Vec<Value> = opts
                    .into_iter()
                    .filter(|o| !o.as_str().is_some_and(|s| s.starts_with("dm.")))
                    .collect();
                if kept.is_empty() {
                    new.remove("storage-opts");
                } else {
                    new.insert("storage-opts".into(), Value::Array(kept));
                }
            }
        }
        _ => {}
    }
    if !e.hosts.is_empty() {
        new.insert("hosts".into(), json!(e.hosts));
    }
    if let (Some(ca), Some(cert), Some(key)) = (&e.tls_ca, &e.tls_cert, &e.tls_key) {
        new.insert("tlsverify".into(), json!(true));
        new.insert("tlscacert".into(), json!(ca));
        new.insert("tlscert".into(), json!(cert));
        new.insert("tlskey".into(), json!(key));
    }
    if !e.insecure_registries.is_empty() {
        new.insert("insecure-registries".into(), json!(e.insecure_registries));
    }
    if !e.registry_mirrors.is_empty() {
        new.insert("registry-mirrors".into(), json!(e.registry_mirrors));
    }
    for (k, v) in &e.daemon_json {
        new.insert(k.clone(), v.clone());
    }
    // The result, whoever set it, must not expose an unauthenticated API to the network.
    let hosts: Vec<String> = new
        .get("hosts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|h| h.as_str().map(str::to_string))
        .collect();
    let exposed = unauthenticated_tcp(&hosts, tlsverify_of(&new));
    guard_tcp(&exposed, "daemon.json", e, &mut warnings)?;
    Ok((new, warnings))
}

/// daemon.json's `tlsverify` (client certificates required). `tls` alone encrypts but lets anyone in.
fn tlsverify_of(m: &Map<String, Value>) -> bool {
    m.get("tlsverify").and_then(Value::as_bool) == Some(true)
}

/// Refuses (or, with `allow_insecure_tcp`, warns about) listeners anyone on the network can use.
fn guard_tcp(exposed: &[String], by: &str, e: &Engine, warnings: &mut Vec<String>) -> Result<()> {
    for h in exposed {
        if e.allow_insecure_tcp {
            warnings.push(format!(
                "dockerd listens on {h} without tlsverify (allow_insecure_tcp, set by {by}): anyone \
                 who can reach it is root on this node"
            ));
        } else {
            return Err(Error::Refused(format!(
                "engine: {by} would make dockerd listen on {h} without tlsverify, which gives root to \
                 anyone who can reach it (TLS without tlsverify checks no client); set \
                 engine.tls_ca/tls_cert/tls_key (tlsverify, port 2376), or use SSH, or set \
                 engine.allow_insecure_tcp to accept the risk. nothing was changed"
            )));
        }
    }
    Ok(())
}

/// The listeners among `hosts` that accept TCP from beyond this host without client certificates.
pub fn unauthenticated_tcp(hosts: &[String], tlsverify: bool) -> Vec<String> {
    if tlsverify {
        return Vec::new();
    }
    hosts
        .iter()
        .filter(|h| tcp_host(h).is_some_and(|host| !is_loopback(&host)))
        .cloned()
        .collect()
}

/// The host part of a TCP listener as dockerd reads `hosts` and `-H` (opts.ParseHost): surrounding
/// spaces trimmed, no scheme means tcp, `tcp://:2375` (empty host) is every address. `None` for
/// unix://, fd:// and the rest.
pub fn tcp_host(h: &str) -> Option<String> {
    let h = h.trim();
    let addr = match h.split_once("://") {
        Some(("tcp", addr)) => addr,
        Some(_) => return None,
        None if h.is_empty() => return None,
        None => h,
    };
    let hostport = addr.split('/').next().unwrap_or_default();
    let host = match hostport.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => hostport.rsplit_once(':').map_or(hostport, |(h, _)| h),
    };
    Some(host.to_string())
}

/// localhost, 127.0.0.0/8 and ::1. An empty host is every address; a name other than localhost
/// may resolve anywhere.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback())
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

/// The daemon.json text: pretty, keys sorted, newline-terminated.
pub fn render(m: &Map<String, Value>) -> String {
    serde_json::to_string_pretty(m).expect("serializable") + "\n"
}

/// Checks PEM certificate blocks: at least one, each BEGIN with its END and base64 in between.
pub fn check_pem(text: &str) -> std::result::Result<usize, String> {
    let mut n = 0;
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        match line {
            "-----BEGIN CERTIFICATE-----" if !inside => inside = true,
            "-----END CERTIFICATE-----" if inside => {
                inside = false;
                n += 1;
            }
            l if inside
                && !l
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c)) =>
            {
                return Err(format!("line '{l}' inside a certificate is not base64"));
            }
            l if l.starts_with("-----") => return Err(format!("unexpected '{l}'")),
            _ => {}
        }
    }
    if inside {
        return Err("a certificate has no END line".into());
    }
    if n == 0 {
        return Err("no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into());
    }
    Ok(n)
}

// ---- systemd units

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

/// The engine step's view of docker.service.
struct Units {
    /// docker.service's path, if installed.
    unit: Option<String>,
    /// Drop-ins in effect, sorted by name as systemd applies them: (name, path, text).
    dropins: Vec<(String, String, String)>,
}

fn read_units(host: &Host) -> Result<Units> {
    let mut unit = None;
    let mut by_name: BTreeMap<String, (String, String)> = BTreeMap::new();
    for d in UNIT_DIRS {
        let u = format!("{d}/docker.service");
        if unit.is_none() && host.read_text(&u)?.is_some() {
            unit = Some(u);
        }
        let dd = format!("{d}/docker.service.d");
        let Ok(rd) = std::fs::read_dir(host.path(&dd)) else {
            continue;
        };
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".conf"))
            .collect();
        names.sort();
        for n in names {
            // A drop-in of the same name in a higher-priority directory masks this one.
            if by_name.contains_key(&n) {
                continue;
            }
            let path = format!("{dd}/{n}");
            if let Some(text) = host.read_text(&path)? {
                by_name.insert(n, (path, text));
            }
        }
    }
    Ok(Units {
        unit,
        dropins: by_name.into_iter().map(|(n, (p, t))| (n, p, t)).collect(),
    })
}

/// The effective ExecStart= and EnvironmentFile= of the unit plus the given drop-ins.
fn effective(
    host: &Host,
    unit_text: &str,
    dropins: &[&(String, String, String)],
) -> Result<(Option<String>, BTreeMap<String, String>)> {
    let base = parse_unit(unit_text);
    let mut exec: Vec<String> = base.exec_start;
    let mut envs = base.environment_files;
    for (_, _, t) in dropins {
        let s = parse_unit(t);
        for e in s.exec_start {
            if e.is_empty() {
                exec.clear();
            } else {
                exec.push(e);
            }
        }
        envs.extend(s.environment_files);
    }
    let mut env = BTreeMap::new();
    for f in envs {
        let path = f.trim_start_matches('-');
        if let Some(t) = host.read_text(path)? {
            env.extend(parse_env(&t));
        }
    }
    Ok((exec.pop(), env))
}

/// Observes the host and plans the engine step. `driver` is what the storage step chose.
pub fn plan(
    host: &Host,
    e: &Engine,
    driver: Option<Driver>,
    pool: &str,
    version: Option<&EngineVersion>,
) -> Result<StepPlan> {
    let mut p = StepPlan::new("engine");
    let mut changed_config = false;
    // daemon.json
    let old_text = host.read_text(DAEMON_JSON)?;
    let old: Map<String, Value> = match old_text.as_deref().map(str::trim) {
        None | Some("") => Map::new(),
        Some(t) => match serde_json::from_str::<Value>(t) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(Error::Refused(format!(
                    "engine: {DAEMON_JSON} is not a JSON object; fix or remove it. nothing was changed"
                )));
            }
            Err(err) => {
                return Err(Error::Refused(format!(
                    "engine: {DAEMON_JSON} is not valid JSON ({err}); swarmnode merges into it and will not guess: fix or remove it. nothing was changed"
                )));
            }
        },
    };
    match driver {
        Some(d) => p
            .facts
            .push(format!("storage driver {d} (from the storage step)")),
        None => p
            .facts
            .push("no storage step recorded: storage-driver left as it is".into()),
    }
    let (new, warnings) = merge(&old, e, driver, pool)?;
    p.warnings.extend(warnings);
    let text = render(&new);
    if old_text.as_deref() != Some(text.as_str()) {
        if let Some(v) = version.filter(|v| v.major >= VALIDATE_FROM) {
            validate(host, &text, v)?;
        }
        let keys: Vec<&String> = new.keys().filter(|k| old.get(*k) != new.get(*k)).collect();
        let why = if keys.is_empty() {
            "normalize the layout".to_string()
        } else {
            format!(
                "set {}",
                keys.iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        p.actions.push(Action::write(
            "engine.daemon-json",
            why,
            DAEMON_JSON,
            0o644,
            text,
            old_text,
        ));
        changed_config = true;
    }
    // Registry CAs
    for r in &e.registries {
        let Some(ca) = &r.ca_file else { continue };
        // Offline (kickstart %post) the CA often lives on NFS that is not mounted yet.
        if host.offline().is_some() && !host.path(ca).exists() {
            p.facts.push(format!(
                "offline: the CA of registry {} ({ca}) is not there yet (on NFS?): installed at \
                 first boot",
                r.host
            ));
            continue;
        }
        let bytes = std::fs::read(host.path(ca)).map_err(|err| {
            Error::Refused(format!(
                "engine: the CA of registry {} ({ca}) cannot be read: {err}. nothing was changed",
                r.host
            ))
        })?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let n = check_pem(&text).map_err(|m| Error::Refused(format!("engine: {ca} (CA of registry {}) is not a PEM certificate: {m}. nothing was changed", r.host)))?;
        if let Some(pin) = &r.ca_sha256 {
            let got = sha256_hex(&bytes);
            if !got.eq_ignore_ascii_case(pin) {
                return Err(Error::Refused(format!(
                    "engine: {ca} (CA of registry {}) has sha256 {got}, but the profile pins {pin}; not trusting it. nothing was changed",
                    r.host
                )));
            }
        }
        let target = format!("{CERTS_D}/{}/ca.crt", r.host);
        let prev = host.read_text(&target)?;
        if prev.as_deref() != Some(text.as_str()) {
            p.actions.push(Action::write(
                "engine.registry-ca",
                format!("trust registry {} ({n} certificate(s))", r.host),
                &target,
                0o644,
                text,
                prev,
            ));
            changed_config = true;
        }
    }
    // docker.service and its drop-ins
    let units = read_units(host)?;
    let mut changed_units = false;
    match &units.unit {
        None => p
            .facts
            .push("docker.service is not installed: no drop-ins to check".into()),
        Some(unit) => {
            let unit_text = host.read_text(unit)?.unwrap_or_default();
            let keys: Vec<String> = new.keys().cloned().collect();
            // systemd pools EnvironmentFile= from the unit and every drop-in.
            let all: Vec<&(String, String, String)> =
                units.dropins.iter().filter(|d| d.1 != DROPIN).collect();
            let (_, env) = effective(host, &unit_text, &all)?;
            let mut kept: Vec<&(String, String, String)> = Vec::new();
            for d in all {
                let s = parse_unit(&d.2);
                let conflicts: Vec<String> = s
                    .exec_start
                    .iter()
                    .filter(|x| !x.is_empty())
                    .flat_map(|x| {
                        let words = expand(x, &env);
                        strip_conflicts(words.get(1..).unwrap_or_default(), &keys).1
                    })
                    .collect();
                if !conflicts.is_empty() && d.1.starts_with("/etc/") {
                    p.actions.push(Action::rename(
                        "engine.dropin-aside",
                        format!(
                            "legacy drop-in passes {} which daemon.json sets too",
                            conflicts.join(" ")
                        ),
                        &d.1,
                        &format!("{}.bk", d.1),
                    ));
                    changed_units = true;
                } else {
                    kept.push(d);
                }
            }
            let (exec, env) = effective(host, &unit_text, &kept)?;
            let exec = exec.ok_or_else(|| {
                Error::Failed(format!("engine: {unit} and its drop-ins have no ExecStart"))
            })?;
            let prefix: String = exec.chars().take_while(|c| "-@+!:".contains(*c)).collect();
            let words = expand(&exec[prefix.len()..], &env);
            let (args, dropped) = strip_conflicts(words.get(1..).unwrap_or_default(), &keys);
            // Listeners the unit itself opens (-H flags daemon.json does not override).
            let (flag_hosts, flag_verify) = host_flags(&args);
            let exposed = unauthenticated_tcp(&flag_hosts, flag_verify || tlsverify_of(&new));
            let mut w = Vec::new();
            guard_tcp(
                &exposed,
                &format!("{unit} and its drop-ins (-H)"),
                e,
                &mut w,
            )?;
            p.warnings.extend(w);
            let want = (!dropped.is_empty()).then(|| {
                format!(
                    "# written by swarmnode: dockerd refuses flags that daemon.json also sets ({})\n[Service]\nExecStart=\nExecStart={prefix}{} {}\n",
                    dropped.join(", "),
                    words[0],
                    args.join(" ")
                )
            });
            let have = host.read_text(DROPIN)?;
            match (want, have) {
                (Some(w), h) if h.as_deref() != Some(w.as_str()) => {
                    p.actions.push(Action::write(
                        "engine.dropin",
                        format!("run dockerd without {}", dropped.join(", ")),
                        DROPIN,
                        0o644,
                        w,
                        h,
                    ));
                    changed_units = true;
                }
                (None, Some(_)) => {
                    p.actions.push(Action::rename(
                        "engine.dropin-aside",
                        "no longer needed",
                        DROPIN,
                        &format!("{DROPIN}.bk"),
                    ));
                    changed_units = true;
                }
                _ => {}
            }
        }
    }
    if changed_units && host.systemd_running() {
        p.actions.push(Action::run(
            "engine.daemon-reload",
            "docker.service changed",
            Cmd::new("systemctl").arg("daemon-reload"),
        ));
    }
    // Offline (kickstart %post): nothing runs yet; enabled, docker starts at boot.
    if host.offline().is_some() {
        p.facts.push(
            "offline: docker is not reloaded, started or restarted now; it starts at boot".into(),
        );
    }
    if host.offline().is_some() && units.unit.is_some() && e.start {
        let enabled = host
            .runner
            .output(&crate::steps::firstboot::systemctl_is_enabled(
                host,
                "docker.service",
            ))?
            .stdout
            .trim()
            == "enabled";
        if !enabled {
            p.actions.push(Action::run(
                "engine.enable",
                "offline: docker starts at boot (the profile asks for a running docker)",
                crate::steps::firstboot::systemctl(host, &["enable", "docker.service"]),
            ));
        }
    }
    // Restart only what changed, only when running; start when asked.
    if host.systemd_running() && units.unit.is_some() {
        let active = host
            .runner
            .output(&Cmd::new("systemctl").args(["is-active", "docker"]))?
            .stdout
            .trim()
            == "active";
        if active && (changed_config || changed_units) {
            let undo = undo_of(&p.actions, changed_units);
            p.actions.push(
                Action::run(
                    "engine.restart",
                    "docker's configuration changed",
                    Cmd::new("systemctl").args(["restart", "docker"]),
                )
                .or_else_undo(undo),
            );
        } else if !active && e.start {
            p.actions.push(Action::run(
                "engine.start",
                "the profile asks for a running docker",
                Cmd::new("systemctl").args(["start", "docker"]),
            ));
        } else if active {
            p.facts
                .push("docker is running and its configuration is unchanged: not restarted".into());
        }
    }
    Ok(p)
}

/// What puts back the files this step changes, last change first (then a daemon-reload when
/// units changed): the running docker must never be left unable to start.
fn undo_of(actions: &[Action], units_changed: bool) -> Vec<Action> {
    use crate::host::Effect;
    let mut undo: Vec<Action> = actions
        .iter()
        .rev()
        .filter_map(|a| match &a.effect {
            Effect::Write {
                path,
                mode,
                previous: Some(old),
                ..
            } => Some(Action::write(
                "engine.undo",
                "put back",
                path,
                *mode,
                old.clone(),
                None,
            )),
            Effect::Write { path, .. } => Some(Action::remove("engine.undo", "put back", path)),
            Effect::Rename { from, to } => {
                Some(Action::rename("engine.undo", "put back", to, from))
            }
            _ => None,
        })
        .collect();
    if units_changed {
        undo.push(Action::run(
            "engine.undo",
            "put back",
            Cmd::new("systemctl").arg("daemon-reload"),
        ));
    }
    // docker.service restarts itself after a failure (Restart=always) and soon hits its start
    // limit ("start of the service was attempted too often"): clear it before the next restart.
    undo.push(Action::run(
        "engine.undo",
        "clear the start limit",
        Cmd::new("systemctl").args(["reset-failed", "docker.service"]),
    ));
    undo
}

/// `dockerd --validate` on the candidate file, before anything is written.
fn validate(host: &Host, text: &str, v: &EngineVersion) -> Result<()> {
    let mut f = tempfile::Builder::new()
        .prefix("swarmnode-daemon-")
        .suffix(".json")
        .tempfile()
        .map_err(|e| Error::io("engine: cannot make a temporary file", e))?;
    std::io::Write::write_all(&mut f, text.as_bytes())
        .map_err(|e| Error::io("engine: cannot write a temporary file", e))?;
    let path = f.path().to_string_lossy().into_owned();
    let out =
        host.runner
            .output(&Cmd::new("dockerd").args(["--validate", "--config-file", &path]))?;
    if out.code != 0 {
        return Err(Error::Refused(format!(
            "engine: dockerd {} rejects the daemon.json swarmnode would write: {}; {DAEMON_JSON} was left as it is",
            v.version,
            out.stderr.trim().replace('\n', " / ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn merge_keeps_foreign_keys_and_sets_managed_ones() {
        let old = obj(
            json!({"log-driver": "journald", "storage-driver": "overlay2", "live-restore": true}),
        );
        let e = Engine {
            insecure_registries: vec!["reg:5000".into()],
            ..Default::default()
        };
        let (new, w) = merge(
            &old,
            &e,
            Some(Driver::Devicemapper),
            "/dev/mapper/docker-thinpool",
        )
        .unwrap();
        assert!(w.is_empty());
        assert_eq!(new["log-driver"], "journald");
        assert_eq!(new["live-restore"], true);
        assert_eq!(new["storage-driver"], "devicemapper");
        assert_eq!(
            new["storage-opts"][0],
            "dm.thinpooldev=/dev/mapper/docker-thinpool"
        );
        assert_eq!(new["insecure-registries"], json!(["reg:5000"]));
    }

    #[test]
    fn overlay2_drops_dm_options_only() {
        let old = obj(
            json!({"storage-driver": "devicemapper", "storage-opts": ["dm.thinpooldev=/dev/mapper/x", "overlay2.size=20G"]}),
        );
        let (new, _) = merge(&old, &Engine::default(), Some(Driver::Overlay2), "").unwrap();
        assert_eq!(new["storage-opts"], json!(["overlay2.size=20G"]));
        let old = obj(json!({"storage-opts": ["dm.basesize=20G"]}));
        let (new, _) = merge(&old, &Engine::default(), Some(Driver::Overlay2), "").unwrap();
        assert!(!new.contains_key("storage-opts"));
    }

    #[test]
    fn plaintext_tcp_needs_tls_or_the_opt_in() {
        let seed = obj(json!({"hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]}));
        let e = merge(&seed, &Engine::default(), None, "").unwrap_err();
        assert_eq!(e.exit_code(), 65);
        assert!(
            e.to_string()
                .contains("tcp://0.0.0.0:2375 without tlsverify"),
            "{e}"
        );
        let allow = Engine {
            allow_insecure_tcp: true,
            ..Default::default()
        };
        let (new, w) = merge(&seed, &allow, None, "").unwrap();
        assert_eq!(new["hosts"][1], "tcp://0.0.0.0:2375");
        assert_eq!(w.len(), 1);
        let tls = Engine {
            hosts: vec![
                "unix:///var/run/docker.sock".into(),
                "tcp://0.0.0.0:2376".into(),
            ],
            tls_ca: Some("/etc/docker/ca.pem".into()),
            tls_cert: Some("/etc/docker/cert.pem".into()),
            tls_key: Some("/etc/docker/key.pem".into()),
            ..Default::default()
        };
        let (new, w) = merge(&Map::new(), &tls, None, "").unwrap();
        assert!(w.is_empty());
        assert_eq!(new["tlsverify"], true);
        let local = Engine {
            hosts: vec!["tcp://127.0.0.1:2375".into()],
            ..Default::default()
        };
        assert!(merge(&Map::new(), &local, None, "").is_ok());
    }

    #[test]
    fn tcp_listeners_are_read_as_dockerd_reads_them() {
        let open = |h: &str| !unauthenticated_tcp(&[h.to_string()], false).is_empty();
        for h in [
            "tcp://0.0.0.0:2375",
            "0.0.0.0:2375",
            " tcp://0.0.0.0:2375 ",
            "tcp://:2375",
            ":2375",
            "tcp://[::]:2375",
            "tcp://10.0.0.5:2375",
            "tcp://node1.example.org:2375",
            "tcp://0.0.0.0",
            "tcp://127.0.0.1.example.org:2375",
        ] {
            assert!(open(h), "{h:?} is off loopback");
        }
        for h in [
            "unix:///var/run/docker.sock",
            "fd://",
            "tcp://127.0.0.1:2375",
            "127.0.0.2:2375",
            "tcp://localhost:2375",
            "tcp://[::1]:2375",
            "",
        ] {
            assert!(!open(h), "{h:?} is not");
        }
        assert!(unauthenticated_tcp(&["tcp://0.0.0.0:2376".into()], true).is_empty());
        let args: Vec<String> = [
            "-H",
            "fd://",
            "-Htcp://0.0.0.0:2375",
            "--host=unix:///x",
            "-H=:2375",
            "--host",
            "1.2.3.4:2375",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            host_flags(&args),
            (
                vec![
                    "fd://".to_string(),
                    "tcp://0.0.0.0:2375".into(),
                    "unix:///x".into(),
                    ":2375".into(),
                    "1.2.3.4:2375".into()
                ],
                false
            )
        );
    }

    #[test]
    fn tls_without_tlsverify_is_not_enough() {
        let m = obj(
            json!({"hosts": ["tcp://0.0.0.0:2376"], "tls": true, "tlscert": "/c", "tlskey": "/k"}),
        );
        let e = merge(&m, &Engine::default(), None, "").unwrap_err();
        assert!(e.to_string().contains("without tlsverify"), "{e}");
        let m = obj(json!({"hosts": [" 0.0.0.0:2375"]}));
        assert_eq!(
            merge(&m, &Engine::default(), None, "")
                .unwrap_err()
                .exit_code(),
            65
        );
    }

    #[test]
    fn render_is_stable_and_sorted() {
        let m = obj(json!({"b": 1, "a": [1, 2]}));
        assert_eq!(
            render(&m),
            "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": 1\n}\n"
        );
    }

    #[test]
    fn pem_checks() {
        let good =
            "-----BEGIN CERTIFICATE-----\nMIIB+zCCAWSgAwIBAgIUY=\n-----END CERTIFICATE-----\n";
        assert_eq!(check_pem(good).unwrap(), 1);
        assert!(check_pem("hello").is_err());
        assert!(check_pem("-----BEGIN CERTIFICATE-----\nMIIB\n").is_err());
        assert!(
            check_pem("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
                .is_err()
        );
        assert!(
            check_pem("-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n")
                .is_err()
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn unit_parsing_and_expansion() {
        let u = "[Unit]\nDescription=x\n[Service]\nEnvironmentFile=-/etc/sysconfig/docker\nExecStart=/usr/bin/dockerd-current \\\n  --add-runtime docker-runc=/usr/libexec/docker/docker-runc-current \\\n  $OPTIONS \\\n  $DOCKER_STORAGE_OPTIONS\n";
        let s = parse_unit(u);
        assert_eq!(s.environment_files, ["-/etc/sysconfig/docker"]);
        let env = parse_env(
            "OPTIONS='--selinux-enabled --log-driver=journald'\nDOCKER_STORAGE_OPTIONS=\"--storage-driver devicemapper --storage-opt dm.thinpooldev=/dev/mapper/x\"\n",
        );
        let w = expand(&s.exec_start[0], &env);
        assert_eq!(w[0], "/usr/bin/dockerd-current");
        assert!(w.contains(&"--selinux-enabled".to_string()));
        let (kept, dropped) =
            strip_conflicts(&w[1..], &["storage-driver".into(), "storage-opts".into()]);
        assert_eq!(
            dropped,
            [
                "--storage-driver devicemapper",
                "--storage-opt dm.thinpooldev=/dev/mapper/x"
            ]
        );
        assert!(kept.contains(&"--log-driver=journald".to_string()));
    }

    proptest::proptest! {
        #[test]
        fn no_unit_file_makes_the_unit_parsers_panic(
            unit in "(\\[Service\\]\n)?([A-Za-z]{0,12}=?[ -~$éß{}\\\\]{0,30}\n){0,8}",
            t in "\\PC{0,200}",
        ) {
            for text in [&unit, &t] {
                let s = parse_unit(text);
                let env = parse_env(text);
                for e in &s.exec_start {
                    let words = expand(e, &env);
                    let _ = strip_conflicts(&words, &["hosts".into(), "storage-opts".into()]);
                }
                let _ = expand(text, &env);
            }
        }
    }

    #[test]
    fn conflicting_flag_forms() {
        let args: Vec<String> = [
            "-H",
            "fd://",
            "--containerd=/run/containerd/containerd.sock",
            "-Htcp://0.0.0.0:2375",
            "--host=unix:///x",
            "--tlsverify",
            "-D",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (kept, dropped) = strip_conflicts(&args, &["hosts".into(), "tlsverify".into()]);
        assert_eq!(kept, ["--containerd=/run/containerd/containerd.sock", "-D"]);
        assert_eq!(
            dropped,
            [
                "-H fd://",
                "-Htcp://0.0.0.0:2375",
                "--host=unix:///x",
                "--tlsverify"
            ]
        );
    }
}
