//! Reset's last phase: the first-boot unit and stamp, the check timer, everything else swarmnode
//! created or moved aside outside docker's configuration and the storage's files, the
//! directories it made, `daemon-reload`, and last its own records.

use std::path::Path;

use crate::error::Result;
use crate::host::fs::{self, ASIDE, BAK, Kind};
use crate::host::state::{self, CREATED};
use crate::host::{Action, Host, systemd};
use crate::steps::Run;
use crate::steps::plan::StepPlan;

use super::engine::in_engine;
use super::{Records, add_put_back, add_restore, storage};

/// The last phase: the first-boot unit and stamp, everything else swarmnode created, the
/// directories it made, and its records.
pub fn plan(h: &Host, run: &Run) -> Result<StepPlan> {
    use crate::steps::firstboot::{UNIT_NAME, UNIT_PATH, WANTS_PATH};
    let mut p = StepPlan::new("state");
    let rec = Records::read(h)?;
    let kept = storage::kept_files(run);
    if h.exists(WANTS_PATH)? {
        p.actions.push(Action::run(
            "reset.firstboot-disable",
            "the first-boot unit must not run again",
            systemd::offline(h, &["disable", UNIT_NAME]),
        ));
    }
    p.actions.extend(crate::steps::check_timer::disable(
        h,
        "reset.check-disable",
    )?);
    {
        use crate::steps::backup::timer::{TIMER_NAME, WANTS_PATH};
        p.actions.extend(crate::steps::check_timer::disable_timer(
            h,
            "reset.backup-disable",
            TIMER_NAME,
            WANTS_PATH,
        )?);
    }
    let mut unit = add_restore(h, &rec, UNIT_PATH, &mut p)?;
    let storage_files = storage::files();
    for path in rec.written().iter().filter(|f| {
        !in_engine(f)
            && !super::broker::in_broker(f)
            && *f != UNIT_PATH
            && !storage_files.contains(&f.as_str())
    }) {
        unit |= add_restore(h, &rec, path, &mut p)? && path.starts_with("/etc/systemd/");
    }
    for path in rec.moved.iter().filter(|m| !in_engine(m)) {
        unit |= add_put_back(h, &rec, path, &mut p)?;
    }
    for r in state::ALL.iter().filter(|r| r.reset == state::Reset::State) {
        if r.exists(h)? {
            p.actions.push(r.remove("reset.state", "swarmnode's state"));
        }
    }
    add_dirs(h, &rec, &kept, &mut p)?;
    // The records last: until everything above is done, they say what is swarmnode's (and that
    // systemd still has to be told: the reload comes just before them, so it is never lost).
    let records = removals(h, &rec, &kept)?;
    if (unit || !records.is_empty()) && h.systemd_running() {
        p.actions.push(Action::run(
            "reset.daemon-reload",
            "unit files and drop-ins changed",
            systemd::daemon_reload(),
        ));
    }
    p.actions.extend(records);
    if p.actions.is_empty() {
        p.facts.push("nothing of swarmnode's state is left".into());
    }
    Ok(p)
}

/// swarmnode's records removed; with --keep-storage, `created` keeps what stays.
fn removals(h: &Host, rec: &Records, kept: &[&str]) -> Result<Vec<Action>> {
    let mut out = Vec::new();
    let mut stays: Vec<String> = Vec::new();
    for f in rec.files.iter().filter(|f| kept.contains(&f.as_str())) {
        if h.exists(f)? {
            let dirs = rec.dirs.iter().filter(|d| f.starts_with(&format!("{d}/")));
            stays.extend(dirs.map(|d| format!("{d}/")));
            stays.push(f.clone());
        }
    }
    stays.sort();
    stays.dedup();
    for r in state::ALL
        .iter()
        .filter(|r| r.reset == state::Reset::Last)
        .map(|r| r.path)
    {
        if !h.exists(r)? {
            continue;
        }
        if r == CREATED.path && !stays.is_empty() {
            let text = stays.join("\n") + "\n";
            if h.read_text(r)?.as_deref() != Some(text.as_str()) {
                out.push(Action::write(
                    "reset.records",
                    "what stays (--keep-storage)",
                    r,
                    0o600,
                    text,
                    None,
                ));
            }
        } else {
            out.push(Action::remove("reset.records", "swarmnode's records", r));
        }
    }
    Ok(out)
}

/// The directories swarmnode made, removed when nothing but what this reset removes is in them.
fn add_dirs(h: &Host, rec: &Records, kept: &[&str], p: &mut StepPlan) -> Result<()> {
    let mut going: Vec<String> = rec
        .files
        .iter()
        .filter(|f| !kept.contains(&f.as_str()))
        .flat_map(|f| [f.clone(), format!("{f}{BAK}"), format!("{f}{ASIDE}")])
        .collect();
    for d in &rec.dirs {
        let real = h.path_nofollow(d)?;
        if fs::kind_of(&real) != Some(Kind::Dir) {
            continue;
        }
        let all_going = fs::entries(&real).iter().all(|(name, _)| {
            let name = Path::new(d).join(name);
            going.contains(&name.to_string_lossy().into_owned())
        });
        if all_going {
            p.actions.push(Action::remove(
                "reset.rmdir",
                "swarmnode made it, and nothing else is in it",
                &format!("{d}/"),
            ));
            going.push(d.clone());
        }
    }
    Ok(())
}
