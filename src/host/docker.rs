//! The installed Docker engine as seen without a running daemon: `dockerd --version` works offline
//! (in a kickstart %post chroot too). Read once per run and shared by the steps.

use crate::error::{Error, Result};
use crate::host::Host;
use crate::host::cmd::Cmd;

/// The installed engine's version, from `dockerd --version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineVersion {
    pub version: String,
    pub major: u32,
}

/// Parses `Docker version 20.10.24+dfsg1, build 5d6db84`.
pub fn parse_dockerd_version(text: &str) -> Option<EngineVersion> {
    let rest = text.trim().strip_prefix("Docker version ")?;
    let version = rest.split([',', ' ']).next()?.to_string();
    let major = version.split('.').next()?.parse().ok()?;
    Some(EngineVersion { version, major })
}

/// `None` when no engine is installed (no dockerd on PATH).
pub fn engine_version(host: &Host) -> Result<Option<EngineVersion>> {
    if !host.runner.has("dockerd") {
        return Ok(None);
    }
    let cmd = Cmd::new("dockerd").arg("--version");
    let out = host.runner.run(&cmd)?;
    parse_dockerd_version(&out.stdout).map(Some).ok_or_else(|| {
        Error::Failed(format!(
            "cannot read the engine version from `{cmd}`: {:?}",
            out.stdout.trim()
        ))
    })
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

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_version_parser_panic(t in "(Docker version )?\\PC{0,40}") {
            let _ = parse_dockerd_version(&t);
        }
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
