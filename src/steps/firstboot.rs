//! The first-boot step, planned only offline (kickstart %post): what the first boot needs to
//! finish the node. The binary at /usr/local/sbin/swarmnode (or, installed from the RPM, the
//! packaged /usr/sbin/swarmnode, which is not copied), the effective profile (with the
//! command line's --device and --driver in it) at /etc/swarmnode/profile.json, and the unit
//! `swarmnode-firstboot.service` (kickstart/; the RPM's own under /usr/lib/systemd/system when
//! there is one), enabled. The unit runs `swarmnode apply` once the
//! network, remote file systems and docker are up, and writes the stamp
//! /var/lib/swarmnode/firstboot.done only when it exits 0.

use crate::error::{Error, Result};
use crate::host::cmd::Cmd;
use crate::host::state;
use crate::host::systemd;
use crate::host::{Action, Host};
use crate::profile::{DEFAULT_PATH, Profile};
use crate::steps::plan::StepPlan;

pub const UNIT: &str = include_str!("../../kickstart/swarmnode-firstboot.service");
pub const UNIT_NAME: &str = "swarmnode-firstboot.service";
pub const UNIT_PATH: &str = "/etc/systemd/system/swarmnode-firstboot.service";
pub const WANTS_PATH: &str =
    "/etc/systemd/system/multi-user.target.wants/swarmnode-firstboot.service";
pub const BIN_PATH: &str = "/usr/local/sbin/swarmnode";
/// Where the RPM installs the binary, and its first-boot unit.
pub const PACKAGED_BIN: &str = "/usr/sbin/swarmnode";
pub const PACKAGED_UNIT_PATH: &str = "/usr/lib/systemd/system/swarmnode-firstboot.service";

/// The first-boot unit, running the binary at `bin`.
pub fn unit_text(bin: &str) -> String {
    UNIT.replace(
        &format!("ExecStart={BIN_PATH} "),
        &format!("ExecStart={bin} "),
    )
}

pub fn plan(h: &Host, effective: &Profile) -> Result<StepPlan> {
    let mut p = StepPlan::new("firstboot");
    let bin = add_binary(
        h,
        &mut p,
        "firstboot.binary",
        "the first-boot unit runs this binary",
    )?;
    add_profile(h, effective, &mut p)?;
    if bin == PACKAGED_BIN && h.exists(PACKAGED_UNIT_PATH)? {
        p.facts.push(format!(
            "the packaged unit {PACKAGED_UNIT_PATH} runs {PACKAGED_BIN}"
        ));
        add_unpackaged_leftovers(h, &mut p)?;
    } else {
        crate::steps::plan::add_write(
            h,
            &mut p,
            "firstboot.unit",
            "finishes the node at first boot",
            UNIT_PATH,
            0o644,
            unit_text(bin),
        )?;
    }
    if !h.exists(WANTS_PATH)? {
        p.actions.push(Action::run(
            "firstboot.enable",
            "run at the next boot",
            systemd::offline(h, &["enable", UNIT_NAME]),
        ));
    }
    if state::FIRSTBOOT_DONE.exists(h)? {
        p.warnings.push(format!(
            "{} exists: the first-boot unit will not run; remove it to run it again",
            state::FIRSTBOOT_DONE.path
        ));
    } else {
        p.facts
            .push(format!("{UNIT_NAME} finishes the node at the next boot"));
    }
    Ok(p)
}

/// The binary the units run. Installed from the RPM (this is /usr/sbin/swarmnode under the
/// root), that one, left where it is; else this one, copied to /usr/local/sbin unless it is there
/// already.
pub fn add_binary(h: &Host, p: &mut StepPlan, id: &str, why: &str) -> Result<&'static str> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::io("firstboot: cannot find swarmnode's own binary", e))?;
    if crate::host::fs::same_file(&exe, &h.path(PACKAGED_BIN)?) {
        p.facts.push(format!(
            "{PACKAGED_BIN} is this binary (installed from the package)"
        ));
        return Ok(PACKAGED_BIN);
    }
    let installed = h.path(BIN_PATH)?;
    if !crate::host::fs::same_content(&exe, &installed) {
        p.actions.push(Action::run(
            id,
            why,
            Cmd::new("install").args([
                "-D",
                "-m",
                "0755",
                &exe.to_string_lossy(),
                &installed.to_string_lossy(),
            ]),
        ));
    }
    Ok(BIN_PATH)
}

/// Installed from the package over an earlier curl install: the unit that install wrote to
/// /etc/systemd/system (exactly swarmnode's, running /usr/local/sbin/swarmnode) would override the
/// package's, so it goes and the package's is enabled in its place; the old binary, which comes
/// first in root's PATH, is named.
fn add_unpackaged_leftovers(h: &Host, p: &mut StepPlan) -> Result<()> {
    if h.read_text(UNIT_PATH)?.as_deref() == Some(unit_text(BIN_PATH).as_str()) {
        p.actions.push(Action::remove(
            "firstboot.old-unit",
            "an earlier install's unit, which would override the package's",
            UNIT_PATH,
        ));
        p.actions.push(Action::run(
            "firstboot.reenable",
            "the package's unit enabled in its place",
            systemd::offline(h, &["reenable", UNIT_NAME]),
        ));
    }
    if h.exists(BIN_PATH)? {
        p.warnings.push(format!(
            "{BIN_PATH} (an earlier install) comes before {PACKAGED_BIN} in root's PATH: remove it"
        ));
    }
    Ok(())
}

/// The profile of this run, saved for the first boot; compared as a profile, not as text.
fn add_profile(h: &Host, effective: &Profile, p: &mut StepPlan) -> Result<()> {
    let text = serde_json::to_string_pretty(effective).expect("a profile serializes") + "\n";
    let old = h.read_text(DEFAULT_PATH)?;
    let same = old.as_deref().is_some_and(|o| {
        Profile::parse(std::path::Path::new(DEFAULT_PATH), o).is_ok_and(|p| p == *effective)
    });
    if !same {
        p.actions.push(Action::write(
            "firstboot.profile",
            "the profile of this run, --device and --driver included, for the first boot",
            DEFAULT_PATH,
            0o600,
            text,
            old,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_writes_and_reads_the_state_s_stamp() {
        assert_eq!(
            UNIT.matches(state::FIRSTBOOT_DONE.path).count(),
            2,
            "{UNIT}"
        );
    }
}
