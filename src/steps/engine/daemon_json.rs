//! /etc/docker/daemon.json: read (refused when it is not a JSON object), merged with what the
//! profile and the storage step want (every other key kept), checked for listeners that would give
//! the API to the network, validated by `dockerd --validate` where the engine has it, and written
//! only when it changes.

use serde_json::{Map, Value, json};

use crate::error::{Error, Refusal, Result};
use crate::host::Host;
use crate::host::cmd::Cmd;
use crate::host::docker::EngineVersion;
use crate::profile::{Driver, Engine};
use crate::steps::plan::StepPlan;

pub use crate::host::docker::DAEMON_JSON;
/// `dockerd --validate` exists from Docker Engine 23.
const VALIDATE_FROM: u32 = 23;
const THINPOOL_OPTS: [&str; 3] = [
    "dm.thinpooldev=/dev/mapper/docker-thinpool",
    "dm.use_deferred_removal=true",
    "dm.use_deferred_deletion=true",
];

/// The daemon.json the step wants, and whether it differs from the file.
pub struct Wanted {
    pub map: Map<String, Value>,
    pub changed: bool,
}

/// Plans daemon.json: the write when it changes (checked by `dockerd --validate` first on an
/// engine that has it).
pub fn add(
    host: &Host,
    e: &Engine,
    driver: Option<Driver>,
    pool: &str,
    version: crate::steps::EngineLookup,
    p: &mut StepPlan,
) -> Result<Wanted> {
    let old_text = host.read_text(DAEMON_JSON)?;
    let old = parse(old_text.as_deref())?;
    p.facts.push(match driver {
        Some(d) => format!("storage driver {d} (from the storage step)"),
        None => "no storage step recorded: storage-driver left as it is".into(),
    });
    let (new, warnings) = merge(&old, e, driver, pool)?;
    p.warnings.extend(warnings);
    let text = render(&new);
    let changed = old_text.as_deref() != Some(text.as_str());
    if changed {
        if let Some(v) = version()?.filter(|v| v.major >= VALIDATE_FROM) {
            validate(host, &text, &v)?;
        }
        let keys: Vec<&str> = new
            .keys()
            .filter(|k| old.get(*k) != new.get(*k))
            .map(String::as_str)
            .collect();
        let why = if keys.is_empty() {
            "normalize the layout".to_string()
        } else {
            format!("set {}", keys.join(", "))
        };
        p.actions.push(crate::host::Action::write(
            "engine.daemon-json",
            why,
            DAEMON_JSON,
            0o644,
            text,
            old_text,
        ));
    }
    Ok(Wanted { map: new, changed })
}

/// The file's keys; an absent or empty file has none. Anything but a JSON object is refused.
fn parse(text: Option<&str>) -> Result<Map<String, Value>> {
    let refuse = |why: String, remedy: &str| {
        Error::from(Refusal::new("engine", DAEMON_JSON, why).remedy(remedy))
    };
    match text.map(str::trim) {
        None | Some("") => Ok(Map::new()),
        Some(t) => match serde_json::from_str::<Value>(t) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(refuse("it is not a JSON object".into(), "fix or remove it")),
            Err(err) => Err(refuse(
                format!("it is not valid JSON ({err})"),
                "swarmnode merges into it and will not guess: fix or remove it",
            )),
        },
    }
}

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
    set_storage(&mut new, driver, pool);
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

/// The storage keys for the driver the storage step chose; nothing when it has not run.
fn set_storage(new: &mut Map<String, Value>, driver: Option<Driver>, pool: &str) {
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
}

/// daemon.json's `tlsverify` (client certificates required). `tls` alone encrypts but lets anyone in.
pub fn tlsverify_of(m: &Map<String, Value>) -> bool {
    m.get("tlsverify").and_then(Value::as_bool) == Some(true)
}

/// Refuses (or, with `allow_insecure_tcp`, warns about) listeners anyone on the network can use.
pub fn guard_tcp(
    exposed: &[String],
    by: &str,
    e: &Engine,
    warnings: &mut Vec<String>,
) -> Result<()> {
    for h in exposed {
        if !e.allow_insecure_tcp {
            return Err(Refusal::new(
                "engine",
                format!("dockerd listening on {h}"),
                format!(
                    "{by} would make dockerd listen on {h} without tlsverify, which gives root to \
                     anyone who can reach it (TLS without tlsverify checks no client)"
                ),
            )
            .remedy(
                "set engine.tls_ca/tls_cert/tls_key (tlsverify, port 2376), or use SSH, or set \
                 engine.allow_insecure_tcp to accept the risk",
            )
            .into());
        }
        warnings.push(format!(
            "dockerd listens on {h} without tlsverify (allow_insecure_tcp, set by {by}): anyone \
             who can reach it is root on this node"
        ));
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

/// The daemon.json text: pretty, keys sorted, newline-terminated.
pub fn render(m: &Map<String, Value>) -> String {
    serde_json::to_string_pretty(m).expect("serializable") + "\n"
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
        return Err(Refusal::new(
            "engine",
            DAEMON_JSON,
            format!(
                "dockerd {} rejects the daemon.json swarmnode would write: {}",
                v.version,
                out.stderr.trim().replace('\n', " / ")
            ),
        )
        .remedy("the file was left as it is; fix the profile's engine section")
        .into());
    }
    Ok(())
}
