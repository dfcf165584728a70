//! Engine health: docker answers, on the driver and pool (or volume) storage recorded; its
//! configuration is what apply would write (every difference is apply's plan, named); the running
//! daemon has loaded the file (a changed file that was never applied is named key by key).

use serde_json::{Map, Value};

use crate::check::{INFO_TIMEOUT, Item, Metric, Status, driver_status};
use crate::host::Host;
use crate::host::docker::DAEMON_JSON;
use crate::host::state::StorageRecord;
use crate::host::state::{ENGINE_PENDING, Owed};
use crate::profile::{Driver, Profile};
use crate::steps::engine;
use crate::steps::storage::volumes::DOCKER_ROOT;

pub fn check(h: &Host, profile: &Profile) -> Vec<Item> {
    if profile.engine.is_none() && profile.storage.is_none() && profile.swarm.is_none() {
        return vec![Item::absent("engine", "engine, storage or swarm")];
    }
    let rec = StorageRecord::read(h).ok().flatten();
    let info = h
        .docker_api()
        .and_then(|e| Ok(e.get_json_within::<Value>("/info", INFO_TIMEOUT)?));
    let mut items = vec![running(&info, rec.as_ref())];
    if let Some(e) = &profile.engine {
        items.push(config(h, e, rec.as_ref()));
    }
    if let Ok(info) = &info {
        // daemon.json as it is on disk (not JSON: empty; engine.config says why).
        let file = h
            .read_text(DAEMON_JSON)
            .ok()
            .flatten()
            .and_then(|t| serde_json::from_str::<Map<String, Value>>(&t).ok())
            .unwrap_or_default();
        items.push(applied(h, info, &file));
        items.push(super::future::check(h, info, &file));
    }
    items
}

fn running(info: &crate::error::Result<Value>, rec: Option<&StorageRecord>) -> Item {
    const CHECK: &str = "engine.running";
    let up = |v: bool| {
        Metric::flag(
            "swarmnode_docker_up",
            "1 when docker answers on its socket",
            v,
        )
    };
    let info = match info {
        Ok(i) => i,
        Err(e) => {
            return Item::new(
                CHECK,
                Status::Red,
                format!("docker does not answer: {}", crate::error::chain(e)),
            )
            .detail("`systemctl status docker`; `journalctl -u docker`")
            .metric(up(false));
        }
    };
    let (driver, version, root) = (
        text(info.get("Driver")),
        text(info.get("ServerVersion")),
        text(info.get("DockerRootDir")),
    );
    let mut item = Item::new(
        CHECK,
        Status::Green,
        format!("docker {version} answers, storage driver {driver}, root {root}"),
    )
    .metric(up(true));
    let wrong = rec.map(|r| not_as_recorded(info, r)).unwrap_or_default();
    if !wrong.is_empty() {
        item.status = Status::Red;
        item.summary = format!("docker {version} answers, but {}", wrong.join("; "));
        item =
            item.detail("`swarmnode plan` shows what apply would change; restart docker after it");
    }
    item
}

/// Where the running docker's storage is not what storage recorded: its driver, its pool
/// (devicemapper) or its root (overlay2).
fn not_as_recorded(info: &Value, rec: &StorageRecord) -> Vec<String> {
    let (driver, root) = (text(info.get("Driver")), text(info.get("DockerRootDir")));
    let mut wrong = Vec::new();
    if driver != rec.driver.to_string() {
        wrong.push(format!(
            "docker runs on {driver}, storage set up {}",
            rec.driver
        ));
    }
    match rec.driver {
        Driver::Devicemapper => {
            let pool = driver_status(info, "Pool Name");
            let want = rec.volume.rsplit('/').next().unwrap_or_default();
            if driver == "devicemapper" && pool.as_deref() != Some(want) {
                wrong.push(format!(
                    "docker's thin pool is {}, storage set up {}",
                    pool.as_deref().unwrap_or("none (loopback files?)"),
                    rec.volume
                ));
            }
        }
        _ => {
            if root != DOCKER_ROOT {
                wrong.push(format!(
                    "docker's root is {root}, not {DOCKER_ROOT} on {}",
                    rec.volume
                ));
            }
        }
    }
    wrong
}

/// The configuration as the engine step would leave it: every action of its plan is a difference.
fn config(h: &Host, e: &crate::profile::Engine, rec: Option<&StorageRecord>) -> Item {
    const CHECK: &str = "engine.config";
    let driver = rec.map(|r| r.driver);
    let pool = rec.map(|r| r.volume.clone()).unwrap_or_default();
    // No version: apply validates a changed daemon.json with `dockerd --validate` (a temporary
    // file, a process); check only names the difference.
    let plan = match engine::plan(h, e, driver, &pool, &|| Ok(None)) {
        Ok(p) => p,
        Err(err) => {
            return Item::new(CHECK, Status::Red, crate::error::chain(&err))
                .detail("apply would refuse this too: fix what it names");
        }
    };
    // What apply would change, daemon.json first; the restart note is bookkeeping.
    let mut what: Vec<String> = Vec::new();
    for a in &plan.actions {
        match a.id.as_str() {
            "engine.pending" | "engine.pending-done" => {}
            "engine.daemon-json" => what.insert(
                0,
                format!(
                    "{DAEMON_JSON} differs from what swarmnode writes: {}",
                    a.why.trim_start_matches("set ")
                ),
            ),
            _ => {
                // The plan's own line for it, without its padding: `rename A -> B`, `run ...`.
                let head = a.to_string();
                let head = head.lines().next().unwrap_or_default();
                let head = head.split_whitespace().collect::<Vec<_>>().join(" ");
                what.push(format!("{}: apply would {head}", a.why));
            }
        }
    }
    if what.is_empty() {
        return Item::new(
            CHECK,
            Status::Green,
            "daemon.json, registry CAs and docker.service drop-ins are as swarmnode writes them",
        );
    }
    let mut item = Item::new(CHECK, Status::Yellow, what.remove(0));
    for w in what {
        item = item.detail(w);
    }
    item.detail("`swarmnode plan` shows the changes; `swarmnode apply` makes them")
}

/// The running daemon against the file it was started with: keys whose value differs.
fn applied(h: &Host, info: &Value, file: &Map<String, Value>) -> Item {
    const CHECK: &str = "engine.applied";
    let mut diffs = unapplied(file, info);
    if let Ok(owed) = Owed::read(h).inspect_err(|e| diffs.push(crate::error::chain(e)))
        && owed.any()
    {
        diffs.push(format!(
            "swarmnode still owes docker a {} ({})",
            owed.text().lines().collect::<Vec<_>>().join(" and "),
            ENGINE_PENDING.path
        ));
    }
    if diffs.is_empty() {
        return Item::new(
            CHECK,
            Status::Green,
            format!("the running docker has loaded {DAEMON_JSON}"),
        );
    }
    let mut item = Item::new(
        CHECK,
        Status::Yellow,
        format!(
            "{DAEMON_JSON} has settings docker has not loaded: {}",
            diffs[0]
        ),
    );
    for d in diffs.iter().skip(1) {
        item = item.detail(d.clone());
    }
    item.detail("`systemctl restart docker` loads them (`swarmnode engine` does it when it changes the file)")
}

/// A string of docker's JSON; empty when it is none.
fn text(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or_default().to_string()
}

/// A boolean of docker's JSON as text; `false` when it is none.
fn flag(v: Option<&Value>) -> String {
    v.and_then(Value::as_bool).unwrap_or(false).to_string()
}

/// A list of strings of docker's JSON, sorted, without trailing slashes.
fn sorted(v: Option<&Value>) -> Vec<String> {
    let mut l: Vec<String> = v
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(|s| s.trim_end_matches('/').to_string()))
        .collect();
    l.sort();
    l
}

/// A key whose value in the file is not the running daemon's, named with both.
fn differ(out: &mut Vec<String>, key: &str, want: String, have: String) {
    if want != have {
        out.push(format!("{key} (file: {want}, running: {have})"));
    }
}

/// The keys of daemon.json that `/info` shows, where the running daemon differs from the file.
pub fn unapplied(file: &Map<String, Value>, info: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(v) = file.get("storage-driver") {
        differ(
            &mut out,
            "storage-driver",
            text(Some(v)),
            text(info.get("Driver")),
        );
    }
    if let Some(pool) = sorted(file.get("storage-opts"))
        .iter()
        .find_map(|o| o.strip_prefix("dm.thinpooldev=").map(str::to_string))
    {
        let want = pool.rsplit('/').next().unwrap_or_default().to_string();
        differ(
            &mut out,
            "storage-opts dm.thinpooldev",
            want,
            driver_status(info, "Pool Name").unwrap_or_default(),
        );
    }
    if let Some(v) = file.get("data-root") {
        differ(
            &mut out,
            "data-root",
            text(Some(v)).trim_end_matches('/').into(),
            text(info.get("DockerRootDir")),
        );
    }
    for (key, field) in [("live-restore", "LiveRestoreEnabled"), ("debug", "Debug")] {
        if let Some(v) = file.get(key) {
            differ(&mut out, key, flag(Some(v)), flag(info.get(field)));
        }
    }
    out.extend(unapplied_registries(file, info));
    if file.contains_key("labels") {
        let want = sorted(file.get("labels")).join(",");
        differ(
            &mut out,
            "labels",
            want,
            sorted(info.get("Labels")).join(","),
        );
    }
    out
}

/// The registry keys of daemon.json the running daemon has not loaded: its mirrors, and each
/// insecure registry (a CIDR, or a name docker does not call insecure).
fn unapplied_registries(file: &Map<String, Value>, info: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let reg = info.get("RegistryConfig");
    if file.contains_key("registry-mirrors") {
        let want = sorted(file.get("registry-mirrors")).join(",");
        let have = sorted(reg.and_then(|r| r.get("Mirrors"))).join(",");
        differ(&mut out, "registry-mirrors", want, have);
    }
    for r in sorted(file.get("insecure-registries")) {
        let known = if r.contains('/') {
            sorted(reg.and_then(|x| x.get("InsecureRegistryCIDRs"))).contains(&r)
        } else {
            reg.and_then(|x| x.get("IndexConfigs"))
                .and_then(|x| x.get(&r))
                .and_then(|x| x.get("Secure"))
                .and_then(Value::as_bool)
                == Some(false)
        };
        if !known {
            out.push(format!(
                "insecure-registries (file: {r}, running: not insecure)"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unapplied_names_each_key_the_running_daemon_differs_on() {
        let info = json!({
            "Driver": "devicemapper",
            "DriverStatus": [["Pool Name", "docker-thinpool"]],
            "DockerRootDir": "/var/lib/docker",
            "LiveRestoreEnabled": false,
            "RegistryConfig": {
                "Mirrors": ["https://mirror.local:5000/"],
                "InsecureRegistryCIDRs": ["127.0.0.0/8"],
                "IndexConfigs": {"reg:5000": {"Secure": false}, "docker.io": {"Secure": true}}
            },
            "Labels": ["a=1"]
        });
        let same = json!({
            "storage-driver": "devicemapper",
            "storage-opts": ["dm.thinpooldev=/dev/mapper/docker-thinpool"],
            "registry-mirrors": ["https://mirror.local:5000"],
            "insecure-registries": ["reg:5000", "127.0.0.0/8"],
            "labels": ["a=1"],
            "log-driver": "journald"
        });
        assert_eq!(
            unapplied(same.as_object().unwrap(), &info),
            Vec::<String>::new()
        );
        let edited = json!({
            "storage-driver": "overlay2",
            "live-restore": true,
            "insecure-registries": ["other:5000"],
            "labels": ["a=2"]
        });
        assert_eq!(
            unapplied(edited.as_object().unwrap(), &info),
            [
                "storage-driver (file: overlay2, running: devicemapper)",
                "live-restore (file: true, running: false)",
                "insecure-registries (file: other:5000, running: not insecure)",
                "labels (file: a=2, running: a=1)"
            ]
        );
    }

    proptest::proptest! {
        #[test]
        fn no_engine_answer_makes_the_comparison_panic(file in "\\PC{0,120}", info in "\\PC{0,160}") {
            let f: Map<String, Value> = serde_json::from_str(&file).unwrap_or_default();
            let i: Value = serde_json::from_str(&info).unwrap_or(Value::Null);
            let _ = unapplied(&f, &i);
            let _ = driver_status(&i, "Pool Name");
        }
    }
}
