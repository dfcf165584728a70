//! `swarmnode reset`: the guarded teardown, the node as it was before the first `apply`. Four
//! phases, each a step of its own (observe → plan → apply, skipped when there is nothing to do),
//! in this order:
//!
//! - [`swarm`]: out of the swarm (a manager demoted first when the others keep quorum), and the
//!   node's entry removed on a manager;
//! - [`plan_engine`]: docker stopped (devicemapper: its data root moved aside with the pool);
//!   daemon.json and every other file swarmnode changed put back from the administrator's original
//!   (`NAME.swarmnode.orig`), the files it created removed, the drop-ins it moved aside put back;
//! - [`storage`]: unmounted, the fstab entry removed, swarmnode's tagged volumes removed, the VG
//!   and PV only when nothing foreign is left (not with `--keep-storage`);
//! - [`plan_state`]: the first-boot unit and stamp, the profile copy, the directories swarmnode
//!   made, `daemon-reload`, and last its own records.
//!
//! What swarmnode made is known from its records (`/var/lib/swarmnode/created`, `moved`) and its
//! tags, never guessed from names. Each phase plans from what is there now, so a reset killed
//! anywhere converges when run again.

pub mod storage;
pub mod swarm;

use std::path::Path;

use crate::error::{Refusal, Result};
use crate::host::fs::{self, ASIDE, BAK, Kind, ORIG};
use crate::host::state::{self, CREATED, MOVED};
use crate::host::{Action, Host, places, systemd};
use crate::steps::Run;
use crate::steps::plan::StepPlan;

/// Where each phase's files live: the engine's (docker's configuration and its unit's drop-ins).
const ENGINE_DIRS: [&str; 2] = ["/etc/docker/", "/etc/systemd/system/docker.service."];

/// What swarmnode wrote, as its records say.
pub struct Records {
    /// Files swarmnode created (host paths).
    pub files: Vec<String>,
    /// Directories swarmnode created (host paths, without the trailing `/`), deepest first.
    pub dirs: Vec<String>,
    /// Files swarmnode moved aside to NAME.bk.
    pub moved: Vec<String>,
    /// Files swarmnode changed: those with an administrator's original (`NAME.swarmnode.orig`)
    /// in the directories swarmnode writes to.
    pub changed: Vec<String>,
}

/// How deep the directories swarmnode writes to ([`places::WRITTEN_DIRS`]) are searched for
/// originals.
const WRITTEN_DEPTH: usize = 3;

/// Host paths of the files that have a `NAME.swarmnode.orig` under `dir` (links not followed:
/// a directory that is a link, or that a link leads to, is refused, as a record naming it is).
fn originals(h: &Host, dir: &str, depth: usize, out: &mut Vec<String>) -> Result<()> {
    let real = h.path_nofollow(dir)?;
    match fs::kind_of(&real) {
        Some(Kind::Link) => return Err(link_refusal(dir, dir)),
        Some(_) => {}
        None => return Ok(()),
    }
    if let Some(link) = places::link_on_the_way(h.root(), dir).map_err(|e| io_err(dir, e))? {
        return Err(link_refusal(dir, &link));
    }
    for (name, kind) in fs::entries(&real) {
        let path = format!("{}/{name}", dir.trim_end_matches('/'));
        match kind {
            Kind::Dir if depth > 1 => originals(h, &path, depth - 1, out)?,
            Kind::File => {
                // Only the original of a file swarmnode writes: any other is not its to put back.
                if let Some(p) = path.strip_suffix(ORIG)
                    && places::outside(p).is_none()
                {
                    out.push(p.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A directory swarmnode writes to is a link, or is reached through one.
fn link_refusal(dir: &str, link: &str) -> crate::error::Error {
    Refusal::new(
        "reset",
        dir.to_string(),
        format!(
            "{link} is a symbolic link: swarmnode puts files back only where no link is followed"
        ),
    )
    .remedy(format!(
        "replace the link with the directory it leads to, or put back what swarmnode changed under \
         {dir} by hand (its NAME.swarmnode.orig files), then run reset again"
    ))
    .into()
}

fn io_err(path: &str, e: std::io::Error) -> crate::error::Error {
    crate::error::Error::io(format!("reset: cannot examine the way to {path}"), e)
}

/// The entries of one of swarmnode's records (`created`, `moved`), each checked before
/// anything acts on it: a normalised absolute path inside the places swarmnode writes to
/// ([`places::FILES`]; `moved` names files only), reached under the root without a symbolic
/// link on the way. The first that is not is refused, with its record and line.
pub fn entries(h: &Host, record: &str, dirs: bool) -> Result<Vec<String>> {
    let text = h.read_record(record)?.unwrap_or_default();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let bad = |why: String| Refusal::record("reset", record, Some(i + 1), line, why).into();
        if let Some(why) = places::outside(line) {
            return Err(bad(why));
        }
        if !dirs && line.ends_with('/') {
            return Err(bad("it names a directory; this record names files".into()));
        }
        if let Some(link) = places::link_on_the_way(h.root(), line).map_err(|e| io_err(line, e))? {
            return Err(bad(format!(
                "{link} on its way is a symbolic link: acting on it would follow the link"
            )));
        }
        // A directory swarmnode made is removed with rmdir: a link there is not what it made.
        if line.ends_with('/')
            && fs::kind_of(&h.path_nofollow(line.trim_end_matches('/'))?) == Some(Kind::Link)
        {
            return Err(bad(
                "it is a symbolic link now, not the directory swarmnode made".into(),
            ));
        }
        out.push(line.to_string());
    }
    Ok(out)
}

impl Records {
    pub fn read(h: &Host) -> Result<Records> {
        let created = entries(h, CREATED.path, true)?;
        let mut dirs: Vec<String> = created
            .iter()
            .filter_map(|c| c.strip_suffix('/').map(str::to_string))
            .collect();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.len()));
        let mut changed = Vec::new();
        for d in places::WRITTEN_DIRS {
            originals(h, d, WRITTEN_DEPTH, &mut changed)?;
        }
        changed.sort();
        Ok(Records {
            files: created.into_iter().filter(|c| !c.ends_with('/')).collect(),
            dirs,
            moved: entries(h, MOVED.path, false)?,
            changed,
        })
    }
    fn created(&self, path: &str) -> bool {
        self.files.iter().any(|f| f == path)
    }
    /// Every file swarmnode created or changed, once each.
    fn written(&self) -> Vec<String> {
        let mut all: Vec<String> = self.files.iter().chain(&self.changed).cloned().collect();
        all.sort();
        all.dedup();
        all
    }
}

/// Every record reset acts on, read and checked before its first phase plans anything (each
/// phase reads them again, through the same checks): one that fails is refused before anything
/// changes. The storage record is not acted on with --keep-storage.
pub fn check_records(h: &Host, run: &Run) -> Result<()> {
    Records::read(h)?;
    if !run.opts.keep_storage {
        crate::host::state::StorageRecord::read(h)?;
    }
    state::node_id(h, &state::RESET_NODE, "reset")?;
    Ok(())
}

/// Puts one file back as it was before swarmnode: removed when swarmnode created it, its
/// original renamed back over it when swarmnode changed it; its `.swarmnode.bak` removed.
/// True when something is planned.
pub fn plan_restore(h: &Host, rec: &Records, path: &str, p: &mut StepPlan) -> Result<bool> {
    let before = p.actions.len();
    let orig = format!("{path}{ORIG}");
    if rec.created(path) {
        if h.exists(path)? {
            p.actions
                .push(Action::remove("reset.remove", "swarmnode created it", path));
        }
    } else if h.exists(&orig)? {
        p.actions.push(Action::rename(
            "reset.restore",
            "put back the administrator's original",
            &orig,
            path,
        ));
    }
    // Its previous version, and swarmnode's own file moved aside.
    let mut extras = vec![format!("{path}{BAK}")];
    if rec.created(path) {
        extras.push(format!("{path}{ASIDE}"));
    }
    for extra in extras {
        if h.exists(&extra)? {
            p.actions
                .push(Action::remove("reset.remove", "swarmnode's copy", &extra));
        }
    }
    Ok(p.actions.len() > before)
}

/// A drop-in (or other file) swarmnode moved aside to NAME.bk, put back (when nothing took its
/// place). True when something is planned.
fn plan_put_back(h: &Host, rec: &Records, path: &str, p: &mut StepPlan) -> Result<bool> {
    let aside = format!("{path}{ASIDE}");
    if rec.created(path) || !h.exists(&aside)? {
        return Ok(false);
    }
    if h.exists(path)? {
        p.warnings.push(format!(
            "{aside} was moved aside by swarmnode, but {path} exists again: both left as they are"
        ));
        return Ok(false);
    }
    p.actions.push(Action::rename(
        "reset.put-back",
        "swarmnode moved it aside",
        &aside,
        path,
    ));
    Ok(true)
}

fn in_engine(path: &str) -> bool {
    ENGINE_DIRS.iter().any(|d| path.starts_with(d))
}

/// The engine phase: docker stopped (when there is anything to undo under it), its files put back.
pub fn plan_engine(h: &Host, run: &Run) -> Result<StepPlan> {
    let mut p = StepPlan::new("engine");
    let rec = Records::read(h)?;
    let mut paths: Vec<String> = rec.written().into_iter().filter(|f| in_engine(f)).collect();
    let daemon = crate::host::docker::DAEMON_JSON.to_string();
    if !paths.contains(&daemon) {
        paths.push(daemon);
    }
    for path in &paths {
        plan_restore(h, &rec, path, &mut p)?;
    }
    for path in rec.moved.iter().filter(|m| in_engine(m)) {
        plan_put_back(h, &rec, path, &mut p)?;
    }
    let recorded = match run.opts.keep_storage {
        true => None,
        false => crate::host::state::StorageRecord::read(h)?,
    };
    // Only this node's volumes go (the storage phase's judgement): docker's data root is moved
    // aside, and docker stopped, for those alone.
    let storage_to_remove = recorded.is_some() && storage::ours_to_remove(h)?;
    // devicemapper: docker's data root describes the pool that goes. Moved aside here, while
    // daemon.json still names it (the storage phase runs after it is put back).
    if storage_to_remove
        && recorded.is_some_and(|r| r.driver == crate::profile::Driver::Devicemapper)
    {
        let restores = std::mem::take(&mut p.actions);
        storage::plan_data_root_aside(h, &mut p)?;
        p.actions.extend(restores);
    }
    if h.systemd_running() && (!p.actions.is_empty() || storage_to_remove) {
        let active: Vec<&str> = ["docker.socket", "docker.service"]
            .into_iter()
            .filter(|u| systemd::is_active(h, u).unwrap_or(false))
            .collect();
        if !active.is_empty() {
            let mut args = vec!["stop"];
            args.extend(&active);
            p.actions.insert(
                0,
                Action::run(
                    "reset.docker-stop",
                    "docker runs on what is being taken away",
                    systemd::online(&args),
                ),
            );
        }
    }
    if p.actions.is_empty() {
        p.facts
            .push("nothing of swarmnode's in docker's configuration".into());
    } else {
        p.facts.push(
            "docker is left stopped: `systemctl start docker` starts it on its own configuration"
                .into(),
        );
    }
    Ok(p)
}

/// The last phase: the first-boot unit and stamp, everything else swarmnode created, the
/// directories it made, and its records.
pub fn plan_state(h: &Host, run: &Run) -> Result<StepPlan> {
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
    let mut unit = plan_restore(h, &rec, UNIT_PATH, &mut p)?;
    for path in rec
        .written()
        .iter()
        .filter(|f| !in_engine(f) && *f != UNIT_PATH && !storage::FILES.contains(&f.as_str()))
    {
        unit |= plan_restore(h, &rec, path, &mut p)? && path.starts_with("/etc/systemd/");
    }
    for path in rec.moved.iter().filter(|m| !in_engine(m)) {
        unit |= plan_put_back(h, &rec, path, &mut p)?;
    }
    for r in state::ALL.iter().filter(|r| r.reset == state::Reset::State) {
        if r.exists(h)? {
            p.actions.push(r.remove("reset.state", "swarmnode's state"));
        }
    }
    plan_dirs(h, &rec, &kept, &mut p)?;
    // The records last: until everything above is done, they say what is swarmnode's (and that
    // systemd still has to be told: the reload comes just before them, so it is never lost).
    let records = plan_records(h, &rec, &kept)?;
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
fn plan_records(h: &Host, rec: &Records, kept: &[&str]) -> Result<Vec<Action>> {
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
fn plan_dirs(h: &Host, rec: &Records, kept: &[&str], p: &mut StepPlan) -> Result<()> {
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
