//! The installed Docker engine as seen without a running daemon. Its version decides the storage
//! driver (devicemapper was removed in 25) and whether `dockerd --validate` exists (23). It is read
//! from the package that owns the dockerd on PATH (dpkg's files; `rpm -qf`), which costs a few
//! file reads or one small command; `dockerd --version` (a 100 MB Go program that is slow to start
//! on small machines) only when no package owns it. Read at most once per run, and only when a
//! step needs it.

use std::path::Path;

use crate::error::{Error, Result};
use crate::host::Host;
use crate::host::cmd::Cmd;

/// The installed engine's version, and where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineVersion {
    pub version: String,
    pub major: u32,
}

/// Parses `Docker version 20.10.24+dfsg1, build 5d6db84`.
pub fn parse_dockerd_version(text: &str) -> Option<EngineVersion> {
    let rest = text.trim().strip_prefix("Docker version ")?;
    let version = rest.split([',', ' ']).next()?.to_string();
    version_of(&version)
}

fn version_of(version: &str) -> Option<EngineVersion> {
    let major = version.split('.').next()?.parse().ok()?;
    Some(EngineVersion {
        version: version.to_string(),
        major,
    })
}

/// A package version as the engine names itself: no epoch, no packaging revision
/// (`5:24.0.7-1~debian.12~bookworm` → `24.0.7`, `20.10.24+dfsg1-1+deb12u1` → `20.10.24+dfsg1`).
pub fn upstream_version(pkg: &str) -> &str {
    let v = pkg.split_once(':').map_or(pkg, |(_, v)| v);
    v.rsplit_once('-').map_or(v, |(u, _)| u)
}

/// Packages that ship dockerd, by the names distributions give them.
/// The engine's configuration file (the engine step writes it; storage reads its data root).
pub const DAEMON_JSON: &str = "/etc/docker/daemon.json";

const PACKAGES: [&str; 5] = [
    "docker-ce",
    "docker.io",
    "moby-engine",
    "docker-engine",
    "docker",
];

/// `None` when no engine is installed (no dockerd on PATH).
pub fn engine_version(host: &Host) -> Result<Option<EngineVersion>> {
    let Some(exe) = host.runner.path_of("dockerd") else {
        return Ok(None);
    };
    // The binary as a host path (under --root in tests), both as found and with links resolved.
    let rel = exe
        .strip_prefix(host.root())
        .map_or(exe.clone(), |r| Path::new("/").join(r));
    let real = std::fs::canonicalize(&exe)
        .ok()
        .and_then(|r| {
            r.strip_prefix(host.root())
                .ok()
                .map(|r| Path::new("/").join(r))
        })
        .unwrap_or_else(|| rel.clone());
    let names = [
        rel.to_string_lossy().into_owned(),
        real.to_string_lossy().into_owned(),
    ];
    if let Some(v) = from_dpkg(host, &names)? {
        return Ok(Some(v));
    }
    if let Some(v) = from_rpm(host, &names[1])? {
        return Ok(Some(v));
    }
    from_dockerd(host)
}

/// dpkg's own files: the package whose file list has the binary, its version in the status file.
fn from_dpkg(host: &Host, names: &[String; 2]) -> Result<Option<EngineVersion>> {
    for pkg in PACKAGES {
        for list in [format!("{pkg}.list"), format!("{pkg}:amd64.list")] {
            let Some(files) = host.read_text(&format!("/var/lib/dpkg/info/{list}"))? else {
                continue;
            };
            if !files.lines().any(|l| names.iter().any(|n| n == l)) {
                continue;
            }
            let status = host.read_text("/var/lib/dpkg/status")?.unwrap_or_default();
            return Ok(dpkg_version(&status, pkg).and_then(|v| version_of(upstream_version(&v))));
        }
    }
    Ok(None)
}

/// The version of an installed package in dpkg's status file.
pub fn dpkg_version(status: &str, pkg: &str) -> Option<String> {
    status.split("\n\n").find_map(|stanza| {
        let field = |k: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
        };
        (field("Package:")? == pkg && field("Status:")?.ends_with(" installed"))
            .then(|| field("Version:"))
            .flatten()
    })
}

/// `rpm -qf --qf %{VERSION} BINARY` where rpm is there (EL): the owning package's version.
fn from_rpm(host: &Host, binary: &str) -> Result<Option<EngineVersion>> {
    if !host.runner.has("rpm") {
        return Ok(None);
    }
    let cmd = Cmd::new("rpm")
        .arg(format!("--root={}", host.root().display()))
        .args(["-qf", "--qf", "%{VERSION}\\n", binary]);
    let out = host.runner.output(&cmd)?;
    Ok((out.code == 0)
        .then(|| out.stdout.lines().next().and_then(version_of))
        .flatten())
}

fn from_dockerd(host: &Host) -> Result<Option<EngineVersion>> {
    let cmd = Cmd::new("dockerd").arg("--version");
    let out = host.runner.run(&cmd)?;
    parse_dockerd_version(&out.stdout).map(Some).ok_or_else(|| {
        Error::Failed(format!(
            "cannot read the engine version from `{cmd}`: {:?}",
            out.stdout.trim()
        ))
    })
}

/// docker's data root: `data-root` (or the old `graph`) in docker's configuration file (daemon.json,
/// or the file docker.service's `--config-file` names), else `--data-root` (or `-g`/`--graph`) on
/// the command line docker.service runs (its unit and drop-ins, with their environment), else
/// /var/lib/docker. Only an absolute path without `..` is taken.
pub fn data_root(host: &crate::host::Host) -> Result<String> {
    let argv = unit_argv(host)?.unwrap_or_default();
    let config = flag_value(&argv, &["--config-file"])
        .filter(|c| c.starts_with('/'))
        .unwrap_or_else(|| DAEMON_JSON.to_string());
    let text = host.read_text(&config)?.unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let from_json = ["data-root", "graph"]
        .iter()
        .find_map(|k| v.get(*k).and_then(|r| r.as_str()).map(str::to_string));
    Ok(from_json
        .or_else(|| flag_value(&argv, &["--data-root", "--graph", "-g"]))
        .filter(|r| r.starts_with('/') && !r.split('/').any(|c| c == ".."))
        .unwrap_or_else(|| "/var/lib/docker".to_string())
        .trim_end_matches('/')
        .to_string())
}

/// The command line docker.service's effective ExecStart= runs, expanded, when it has one.
fn unit_argv(host: &crate::host::Host) -> Result<Option<Vec<String>>> {
    use crate::host::systemd;
    let svc = systemd::read_service(host, "docker.service")?;
    let Some((_, unit)) = &svc.unit else {
        return Ok(None);
    };
    let dropins: Vec<&systemd::Dropin> = svc.dropins.iter().collect();
    let Some(line) = systemd::exec_start(unit, &dropins) else {
        return Ok(None);
    };
    let env = systemd::environment(host, unit, &dropins)?;
    Ok(Some(systemd::expand(&line, &env)))
}

/// The thin pool a running docker uses, as its `GET /info` says (`Pool Name` of the devicemapper
/// driver), asked within `limit`; None when docker does not answer or runs another driver.
pub fn running_pool(host: &crate::host::Host, limit: std::time::Duration) -> Option<String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Info {
        #[serde(default)]
        driver: String,
        #[serde(default)]
        driver_status: Vec<Vec<String>>,
    }
    let r = host
        .docker_api()
        .ok()?
        .request("GET", "/info", None, limit)
        .ok()?;
    let i: Info = serde_json::from_slice(&r.body)
        .ok()
        .filter(|_| r.status == 200)?;
    (i.driver == "devicemapper")
        .then(|| {
            i.driver_status
                .iter()
                .find(|kv| kv.first().is_some_and(|k| k == "Pool Name"))
                .and_then(|kv| kv.get(1).cloned())
        })
        .flatten()
}

/// The value of the last of these flags in argv (`--flag V`, `--flag=V`, and a short flag's
/// attached `-gV`), as dockerd takes it.
fn flag_value(argv: &[String], flags: &[&str]) -> Option<String> {
    let mut found = None;
    let mut words = argv.iter();
    while let Some(w) = words.next() {
        for f in flags {
            if w == f {
                found = words.next().cloned();
            } else if let Some(v) = w.strip_prefix(&format!("{f}=")) {
                found = Some(v.to_string());
            } else if f.len() == 2
                && let Some(v) = w.strip_prefix(f).filter(|v| !v.is_empty())
            {
                found = Some(v.to_string());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_versions() {
        let v = parse_dockerd_version("Docker version 20.10.24+dfsg1, build 5d6db84\n").unwrap();
        assert_eq!((v.version.as_str(), v.major), ("20.10.24+dfsg1", 20));
        assert_eq!(
            parse_dockerd_version("Docker version 26.1.5+dfsg1, build a72d7cd")
                .unwrap()
                .major,
            26
        );
        assert_eq!(
            parse_dockerd_version("Docker version 27.3.1, build 41ca978")
                .unwrap()
                .major,
            27
        );
        assert!(parse_dockerd_version("dockerd: command not found").is_none());
    }

    #[test]
    fn the_data_root_flag_as_dockerd_reads_it() {
        let argv = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        let f = ["--data-root", "--graph", "-g"];
        assert_eq!(flag_value(&argv("/usr/bin/dockerd -H fd://"), &f), None);
        assert_eq!(
            flag_value(
                &argv("/usr/bin/dockerd --data-root /srv/docker -H fd://"),
                &f
            )
            .as_deref(),
            Some("/srv/docker")
        );
        assert_eq!(
            flag_value(&argv("/usr/bin/dockerd -g /a --data-root=/b"), &f).as_deref(),
            Some("/b")
        );
        assert_eq!(flag_value(&argv("/usr/bin/dockerd --data-root"), &f), None);
        assert_eq!(
            flag_value(&argv("/usr/bin/dockerd -g/srv/d -H fd://"), &f).as_deref(),
            Some("/srv/d")
        );
        assert_eq!(
            flag_value(
                &argv("/usr/bin/dockerd --config-file /etc/d.json"),
                &["--config-file"]
            )
            .as_deref(),
            Some("/etc/d.json")
        );
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_version_parser_panic(t in "(Docker version )?\\PC{0,40}") {
            let _ = parse_dockerd_version(&t);
        }
    }

    #[test]
    fn package_versions_as_the_engine_names_itself() {
        assert_eq!(upstream_version("5:24.0.7-1~debian.12~bookworm"), "24.0.7");
        assert_eq!(
            upstream_version("20.10.24+dfsg1-1+deb12u1"),
            "20.10.24+dfsg1"
        );
        assert_eq!(upstream_version("26.1.5+dfsg1-9+b3"), "26.1.5+dfsg1");
        assert_eq!(upstream_version("24.0.7"), "24.0.7");
        let status = "Package: docker.io\nStatus: install ok installed\nVersion: 20.10.24+dfsg1-1+deb12u1\n\nPackage: docker-ce\nStatus: deinstall ok config-files\nVersion: 5:24.0.7-1\n";
        assert_eq!(
            dpkg_version(status, "docker.io").as_deref(),
            Some("20.10.24+dfsg1-1+deb12u1")
        );
        assert_eq!(
            dpkg_version(status, "docker-ce"),
            None,
            "only an installed package counts"
        );
    }

    #[test]
    fn fixture_version_is_parsed() {
        let t = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/bookworm/dockerd-version.txt"
        ))
        .unwrap();
        assert_eq!(parse_dockerd_version(&t).unwrap().major, 20);
    }
}
