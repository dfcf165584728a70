//! Reset's engine phase: docker stopped (when there is anything to undo under it; devicemapper:
//! its data root moved aside with the pool), daemon.json and every other file swarmnode changed
//! under docker's configuration put back from the administrator's original, the files it created
//! removed, the drop-ins it moved aside put back.

use crate::error::Result;
use crate::host::{Host, systemd};
use crate::steps::Run;
use crate::steps::plan::StepPlan;

use super::{Records, add_put_back, add_restore, storage};

/// Where the engine's files live: docker's configuration and its unit's drop-ins.
const ENGINE_DIRS: [&str; 2] = ["/etc/docker/", "/etc/systemd/system/docker.service."];

/// Whether a file is the engine's (the state phase leaves it to this one).
pub fn in_engine(path: &str) -> bool {
    ENGINE_DIRS.iter().any(|d| path.starts_with(d))
}

/// The engine phase: docker stopped (when there is anything to undo under it), its files put back.
pub fn plan(h: &Host, run: &Run) -> Result<StepPlan> {
    let mut p = StepPlan::new("engine");
    let rec = Records::read(h)?;
    let mut paths: Vec<String> = rec.written().into_iter().filter(|f| in_engine(f)).collect();
    let daemon = crate::host::docker::DAEMON_JSON.to_string();
    if !paths.contains(&daemon) {
        paths.push(daemon);
    }
    for path in &paths {
        add_restore(h, &rec, path, &mut p)?;
    }
    for path in rec.moved.iter().filter(|m| in_engine(m)) {
        add_put_back(h, &rec, path, &mut p)?;
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
        storage::add_data_root_aside(h, &mut p)?;
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
                systemd::docker(
                    "reset.docker-stop",
                    "docker runs on what is being taken away",
                    &args,
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
