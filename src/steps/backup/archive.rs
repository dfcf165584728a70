//! A backup's second phase: the archive written with docker stopped, made 0600 before anything
//! is in it, read back whole, and named only once it is.

use crate::error::{Error, Result};
use crate::host::cmd::Cmd;
use crate::host::state::{self, BACKUP};
use crate::host::swarm::backup::{self, Manifest};
use crate::host::{Action, Host};
use crate::steps::Run;
use crate::steps::plan::StepPlan;

use super::{TAR_SECONDS, engine_info, not_under_way, under_way};

/// The archive and the name it has until it is whole.
pub(super) fn partial_of(archive: &str) -> String {
    format!("{archive}.partial")
}

const ARCHIVE_TEXT: &str = "once docker is stopped: docker's swarm/ and the manifest archived into \
     the backup directory (0600), under a name of its own until it is whole";
/// Phase 2: the archive written with docker stopped.
pub fn plan_archive(h: &Host, run: &Run) -> Result<StepPlan> {
    let mut p = StepPlan::new("archive");
    let Some(m) = under_way(h, run)? else {
        return Ok(not_under_way(run, "archive", ARCHIVE_TEXT));
    };
    if h.path(&m.archive)?.is_file() {
        p.facts.push(format!("{} is written", m.archive));
        return Ok(p);
    }
    if engine_info(h)?.is_some() {
        if run.opts.planning {
            // The first phase's plan drops this record and starts afresh.
            return Ok(not_under_way(run, "archive", ARCHIVE_TEXT));
        }
        return Err(Error::Failed(format!(
            "backup: docker runs again (someone started it) before the archive was written: the \
             state is never copied while docker runs; run backup again ({} is removed then)",
            BACKUP.path
        )));
    }
    let partial = partial_of(&m.archive);
    if h.path_nofollow(&partial)?.symlink_metadata().is_ok() {
        p.actions.push(Action::remove(
            "backup.partial-remove",
            "an archive a stopped run left unfinished",
            &partial,
        ));
    }
    add_archive(h, &m, &partial, &mut p)?;
    Ok(p)
}

/// The archive written: its file made 0600, tar into it, read back whole, renamed.
fn add_archive(h: &Host, m: &Manifest, partial: &str, p: &mut StepPlan) -> Result<()> {
    let records = state::DIR.trim_end_matches('/');
    p.actions.push(
        Action::run(
            "backup.partial-create",
            "the archive's file, made 0600 before anything is in it",
            Cmd::new("install").args(["-m", "0600", "/dev/null", &h.tool_path(partial)?]),
        )
        .within(TAR_SECONDS),
    );
    p.actions.push(
        Action::run(
            "backup.archive",
            "docker's swarm state (raft log, keys, certificates) and the manifest",
            Cmd::new("tar").args([
                "--create",
                "--gzip",
                "--file",
                &h.tool_path(partial)?,
                "--directory",
                &h.tool_path(&m.docker_root)?,
                "swarm",
                "--directory",
                &h.tool_path(records)?,
                backup::MANIFEST,
            ]),
        )
        .within(TAR_SECONDS),
    );
    p.actions.push(
        Action::run(
            "backup.verify",
            "the archive reads back whole (gzip and tar) before it counts",
            Cmd::new("tar").args(["--list", "--gzip", "--file", &h.tool_path(partial)?]),
        )
        .within(TAR_SECONDS),
    );
    p.actions.push(Action::rename(
        "backup.archive-done",
        "the archive is whole",
        partial,
        &m.archive,
    ));
    Ok(())
}
