//! Root's commands on a manager for the broker's keys: `bootstrap` makes a key that expires,
//! `keys` lists them, `revoke` removes one. They act at once, like `generate`: the keys through
//! the local Engine API (kept in the swarm, so every manager has them at once), the files in the
//! folder named on the command line.

use std::path::Path;

use crate::error::{Error, Refusal, Result, exit};
use crate::host::Host;
use crate::host::clock;
use crate::host::cmd::Cmd;
use crate::host::engine_api::DockerApi;
use crate::host::swarm::keys::{self, Created, Kind, NewKey, Stored};
use crate::vocab::PublicKey;
use crate::vocab::sshkey::fingerprint_ok;

/// One engine request's bound.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The shortest and the longest life of a bootstrap key.
const MIN_TTL: u64 = 60;
const MAX_TTL: u64 = 30 * 86_400;

/// The files `bootstrap` writes in its folder.
pub const KEY_FILE: &str = "bootstrap_key";
pub const KNOWN_HOSTS_FILE: &str = "known_hosts";
pub const KICKSTART_FILE: &str = "bootstrap.ks";
/// Where the kickstart lines put them on the node (the profile's swarm.token names them).
pub const NODE_KEY_PATH: &str = "/etc/swarmnode/bootstrap_key";
pub const NODE_KNOWN_HOSTS_PATH: &str = "/etc/swarmnode/known_hosts";

fn refused(subject: impl Into<String>, why: impl Into<String>, remedy: &str) -> Error {
    Refusal::new("broker", subject.into(), why)
        .remedy(remedy)
        .into()
}

/// The local engine, which must be a manager's (the keys are the swarm's).
fn manager_api(h: &Host) -> Result<DockerApi> {
    let api = h.docker_api()?;
    let info: crate::host::swarm::Info = api.get_json_within("/info", TIMEOUT)?;
    if !info.swarm.control_available {
        return Err(refused(
            "this node",
            format!(
                "it is not a manager of a swarm (local state: {})",
                info.swarm.local_node_state
            ),
            "run it on a manager",
        ));
    }
    Ok(api)
}

/// `swarmnode broker bootstrap --ttl DURATION --out DIR`.
pub fn bootstrap(h: &Host, ttl: &str, out: &Path) -> Result<i32> {
    let secs = ttl_seconds(ttl)?;
    let api = manager_api(h)?;
    let (stored, _) = keys::list(&api, TIMEOUT)?;
    let hosts = known_hosts(&stored);
    if hosts.is_empty() {
        return Err(refused(
            "the managers' host keys",
            "no manager has published its ssh host keys, so a node could not trust any",
            "run `swarmnode apply` with the profile's broker section on each manager first",
        ));
    }
    let (key, private) = make_key(h, out)?;
    let now = clock::now();
    clear_expired(&api, &stored, now)?;
    let new = NewKey::bootstrap(&key, now, now + secs);
    if keys::create(&api, &new, TIMEOUT)? == Created::Exists {
        return Err(Error::Failed(format!(
            "{} exists in the swarm already",
            new.name
        )));
    }
    let write = |name: &str, text: &str, mode: u32| {
        let p = out.join(name);
        crate::host::fs::replace(&p, text.as_bytes(), mode)
            .map_err(|e| Error::io(format!("cannot write {}", p.display()), e))
    };
    write(KNOWN_HOSTS_FILE, &hosts, 0o644)?;
    let header = format!(
        "swarmnode bootstrap key {}, valid until {} ({ttl})",
        key.fingerprint(),
        clock::utc(now + secs)
    );
    write(
        KICKSTART_FILE,
        &kickstart_lines(&header, &private, &hosts),
        0o600,
    )?;
    println!("{header}");
    println!(
        "{}: the private key (0600); {}: the managers' host keys; {}: the kickstart %post lines \
         that write both on a node (0600: it holds the private key).",
        out.join(KEY_FILE).display(),
        out.join(KNOWN_HOSTS_FILE).display(),
        out.join(KICKSTART_FILE).display()
    );
    println!(
        "Put {KICKSTART_FILE} in the kickstart's %post before swarmnode runs; the profile's \
         swarm.token names {NODE_KEY_PATH} as bootstrap_identity_file and {NODE_KNOWN_HOSTS_PATH} \
         as known_hosts_file."
    );
    Ok(exit::OK)
}

/// `--ttl`: from 1m to 30d.
fn ttl_seconds(ttl: &str) -> Result<u64> {
    clock::parse_duration(ttl)
        .filter(|s| (MIN_TTL..=MAX_TTL).contains(s))
        .ok_or_else(|| {
            refused(
                format!("--ttl {ttl}"),
                "it is not a duration from 1m to 30d (90s, 30m, 24h, 7d)",
                "a day (24h, the default) covers one provisioning run",
            )
        })
}

/// A new ed25519 key in `out` (made 0700; a key there already is refused): its public half and
/// the private key's text.
fn make_key(h: &Host, out: &Path) -> Result<(PublicKey, String)> {
    for f in [KEY_FILE, KICKSTART_FILE] {
        if out.join(f).exists() {
            return Err(refused(
                out.join(f).display().to_string(),
                "it exists: a bootstrap key is never written over",
                "give a new folder for each key (--out)",
            ));
        }
    }
    crate::host::fs::private_dir(out)
        .map_err(|e| Error::io(format!("cannot make {}", out.display()), e))?;
    // A folder made before (by anyone): the private key goes in it only when it is root's alone.
    if let Some(why) = crate::host::fs::not_private_dir(out)
        .map_err(|e| Error::io(format!("cannot read {}", out.display()), e))?
    {
        return Err(refused(
            out.display().to_string(),
            why,
            "give --out a new folder (it is made 0700), or make this one root's and 0700",
        ));
    }
    let key_path = out.join(KEY_FILE);
    let path = key_path.to_string_lossy();
    h.runner
        .run(&Cmd::ssh_keygen("swarmnode-bootstrap", &path))?;
    let read = |p: &Path| {
        crate::host::fs::read(p)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| Error::io(format!("cannot read {}", p.display()), e))
    };
    let public = read(&out.join(format!("{KEY_FILE}.pub")))?;
    let key = PublicKey::ed25519(public.trim()).map_err(Error::Failed)?;
    Ok((key, read(&key_path)?))
}

/// known_hosts lines for every manager's published host keys: its address and hostname (in
/// brackets with the port when sshd is not on 22).
pub fn known_hosts(stored: &[Stored]) -> String {
    let mut out = String::new();
    for s in stored {
        let Kind::HostKeys { port, .. } = s.kind else {
            continue;
        };
        let names: Vec<String> = [&s.addr, &s.hostname]
            .into_iter()
            .filter(|n| {
                !n.is_empty()
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".:-".contains(c))
            })
            .map(|n| {
                if port == 22 {
                    n.clone()
                } else {
                    format!("[{n}]:{port}")
                }
            })
            .collect();
        if names.is_empty() {
            continue;
        }
        for k in &s.keys {
            out.push_str(&format!("{} {}\n", names.join(","), k.text()));
        }
    }
    out
}

/// The kickstart's lines: the key and the known hosts written on the node, root's, 0600.
fn kickstart_lines(header: &str, private: &str, hosts: &str) -> String {
    format!(
        "# {header}\n\
         # Written by `swarmnode broker bootstrap`; goes in the kickstart's %post before swarmnode\n\
         # runs. It holds a private key: keep this file and the kickstart 0600.\n\
         install -d -m 0700 /etc/swarmnode\n\
         ( umask 077\n\
         cat > {NODE_KEY_PATH} <<'SWARMNODE_BOOTSTRAP_KEY'\n\
         {}\n\
         SWARMNODE_BOOTSTRAP_KEY\n\
         cat > {NODE_KNOWN_HOSTS_PATH} <<'SWARMNODE_KNOWN_HOSTS'\n\
         {}\n\
         SWARMNODE_KNOWN_HOSTS\n\
         )\n\
         chmod 0600 {NODE_KEY_PATH} {NODE_KNOWN_HOSTS_PATH}\n",
        private.trim_end(),
        hosts.trim_end()
    )
}

/// Bootstrap keys past their expiry, removed (sshd refuses them already).
fn clear_expired(api: &DockerApi, stored: &[Stored], now: u64) -> Result<usize> {
    let mut n = 0;
    for s in stored {
        if matches!(s.kind, Kind::Bootstrap { expires } if expires <= now) {
            keys::remove(api, &s.id, TIMEOUT)?;
            n += 1;
        }
    }
    Ok(n)
}

/// The columns of `keys`.
const HEAD: [&str; 7] = [
    "KIND",
    "NODE",
    "HOSTNAME",
    "ADDRESS",
    "FINGERPRINT",
    "CREATED",
    "EXPIRES",
];

/// `swarmnode broker keys`: one line a key (`--json`: an array).
pub fn keys(h: &Host, json: bool) -> Result<i32> {
    let api = manager_api(h)?;
    let (stored, skipped) = keys::list(&api, TIMEOUT)?;
    let rows = rows(&stored, clock::now());
    if json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                HEAD.iter()
                    .zip(r)
                    .map(|(k, v)| (k.to_lowercase(), serde_json::Value::String(v.clone())))
                    .collect::<serde_json::Map<_, _>>()
                    .into()
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&v).expect("JSON serializes")
        );
    } else {
        print!("{}", table(&rows));
    }
    if skipped > 0 {
        eprintln!(
            "warning: {skipped} config(s) labelled {} are not whole and were skipped (never used)",
            keys::KIND
        );
    }
    Ok(exit::OK)
}

/// One row a key the broker's user may log in with (not the managers' host keys).
fn rows(stored: &[Stored], now: u64) -> Vec<[String; 7]> {
    // The hostname and address come from the swarm's configs (a node named them): as data,
    // never as control sequences for root's terminal.
    let or_dash = |v: &str| {
        if v.is_empty() {
            "-".to_string()
        } else {
            crate::host::text::escape_controls(v).into_owned()
        }
    };
    stored
        .iter()
        .filter(|s| !matches!(s.kind, Kind::HostKeys { .. }))
        .map(|s| {
            let (node, expiry) = match &s.kind {
                Kind::Bootstrap { expires } if *expires <= now => (
                    "-".to_string(),
                    format!("{} (expired)", clock::utc(*expires)),
                ),
                Kind::Bootstrap { expires } => ("-".to_string(), clock::utc(*expires)),
                Kind::Node { node } | Kind::HostKeys { node, .. } => {
                    (node.to_string(), "-".to_string())
                }
            };
            [
                s.kind.word().to_string(),
                node,
                or_dash(&s.hostname),
                or_dash(&s.addr),
                s.keys
                    .first()
                    .map(PublicKey::fingerprint)
                    .unwrap_or_default(),
                clock::utc(s.created),
                expiry,
            ]
        })
        .collect()
}

/// The rows under [`HEAD`], in columns.
fn table(rows: &[[String; 7]]) -> String {
    let head = HEAD.map(String::from);
    let mut w = [0usize; 7];
    for r in std::iter::once(&head).chain(rows) {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&head).chain(rows) {
        let cells: Vec<String> = r.iter().zip(w).map(|(c, n)| format!("{c:<n$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `swarmnode broker revoke ID|FINGERPRINT`: the node's key, or the bootstrap key, removed; the
/// expired bootstrap keys with it.
pub fn revoke(h: &Host, what: &str) -> Result<i32> {
    let by_node = crate::vocab::NodeId::parse(what).ok();
    if by_node.is_none() && !fingerprint_ok(what) {
        return Err(refused(
            crate::host::text::escape_controls(what),
            "it is neither a node ID nor a key fingerprint (SHA256:...)",
            "`swarmnode broker keys` lists both",
        ));
    }
    let api = manager_api(h)?;
    let (stored, _) = keys::list(&api, TIMEOUT)?;
    let hit = |s: &&Stored| match (&s.kind, &by_node) {
        (Kind::Node { node }, Some(id)) => node == id,
        (Kind::Node { .. } | Kind::Bootstrap { .. }, None) => {
            s.keys.iter().any(|k| k.fingerprint() == what)
        }
        _ => false,
    };
    let gone: Vec<&Stored> = stored.iter().filter(hit).collect();
    if gone.is_empty() {
        return Err(refused(
            what.to_string(),
            "no key of the broker's is that node's or has that fingerprint",
            "`swarmnode broker keys` lists them",
        ));
    }
    for s in &gone {
        keys::remove(&api, &s.id, TIMEOUT)?;
        println!(
            "revoked: {} key {}{}",
            s.kind.word(),
            s.keys
                .first()
                .map(PublicKey::fingerprint)
                .unwrap_or_default(),
            match &s.kind {
                Kind::Node { node } => format!(" (node {node})"),
                _ => String::new(),
            }
        );
    }
    let cleared = clear_expired(
        &api,
        &stored
            .iter()
            .filter(|s| !gone.contains(s))
            .cloned()
            .collect::<Vec<_>>(),
        clock::now(),
    )?;
    if cleared > 0 {
        println!("cleared: {cleared} expired bootstrap key(s)");
    }
    Ok(exit::OK)
}
