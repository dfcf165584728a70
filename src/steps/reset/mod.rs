//! `swarmnode reset`: the guarded teardown, the node as it was before the first `apply`. Five
//! phases, each a step of its own (observe → plan → apply, skipped when there is nothing to do),
//! in this order:
//!
//! - [`swarm`]: out of the swarm (a manager demoted first when the others keep quorum), and the
//!   node's entry removed on a manager (a manager's published host keys taken out first);
//! - [`broker`]: on a manager, the broker's setup taken away (sshd's configuration for its
//!   user, its configuration, the user swarmnode made);
//! - [`engine`]: docker stopped (devicemapper: its data root moved aside with the pool);
//!   daemon.json and every other file swarmnode changed put back from the administrator's original
//!   (`NAME.swarmnode.orig`), the files it created removed, the drop-ins it moved aside put back;
//! - [`storage`]: unmounted, the fstab entry removed, swarmnode's tagged volumes removed, the VG
//!   and PV only when nothing foreign is left (not with `--keep-storage`);
//! - [`state`]: the first-boot unit and stamp, the profile copy, the directories swarmnode
//!   made, `daemon-reload`, and last its own records.
//!
//! What swarmnode made is known from its records (`/var/lib/swarmnode/created`, `moved`) and its
//! tags, never guessed from names. Each phase plans from what is there now, so a reset killed
//! anywhere converges when run again.

pub mod broker;
pub mod engine;
pub mod state;
pub mod storage;
pub mod swarm;

use crate::error::{Refusal, Result};
use crate::host::fs::{self, ASIDE, BAK, Kind, ORIG};
use crate::host::state::{CREATED, MOVED, RESET_NODE, StorageRecord, node_id};
use crate::host::{Action, Host, places};
use crate::steps::Run;
use crate::steps::plan::StepPlan;

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
        StorageRecord::read(h)?;
    }
    node_id(h, &RESET_NODE, "reset")?;
    Ok(())
}

/// Puts one file back as it was before swarmnode: removed when swarmnode created it, its
/// original renamed back over it when swarmnode changed it; its `.swarmnode.bak` removed.
/// True when something is planned.
pub fn add_restore(h: &Host, rec: &Records, path: &str, p: &mut StepPlan) -> Result<bool> {
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
fn add_put_back(h: &Host, rec: &Records, path: &str, p: &mut StepPlan) -> Result<bool> {
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
