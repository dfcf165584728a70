//! What a drain waits for: the swarm tasks that run here (the local engine's containers, read
//! by docker's own labels), what the managers say of the slots that ran here (lines of `docker
//! service ps --format '{{json .}}'`, or the broker's `tasks` answer in the same shape), and
//! the wait itself, bounded.
//!
//! A drain stops the tasks here at once; what it does not do is wait until they run elsewhere.
//! That is the wait: every replicated task that ran here must run on another node (its slot's
//! task wanted running, running, and not one of the tasks that were here). A global service's
//! task stops with the drain and moves nowhere; a container no service started is never moved.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::host::engine_api::DockerApi;
use crate::host::managers::{self, ManagerCmd};
use crate::host::signals::pause;
use crate::host::text::escape_controls;

use super::SwarmHost;

/// The desired states of a task swarm wants to run: running, ready (a replacement waiting for
/// the task it replaces to stop), complete (a job's).
const WANTED: [&str; 3] = ["running", "ready", "complete"];

/// How often a drain looks again.
const POLL: Duration = Duration::from_secs(2);
/// One call to the local engine while a drain waits.
const ENGINE_CALL: Duration = Duration::from_secs(10);
/// The least a call is given, however little of the wait is left.
const MIN_CALL: Duration = Duration::from_secs(2);

/// A task of a service that runs here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub service: String,
    /// The replica's slot; none for a global service's task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<u64>,
    pub task_id: String,
}

impl Task {
    /// `web.2`, as `docker service ps` names the slot (a global task: the service's name).
    pub fn name(&self) -> String {
        match self.slot {
            Some(s) => format!("{}.{s}", self.service),
            None => self.service.clone(),
        }
    }
}

/// What runs on this node, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Here {
    /// Tasks of replicated services: a drain moves them.
    pub replicated: Vec<Task>,
    /// Tasks of global services: a drain stops them; they move nowhere.
    pub global: Vec<Task>,
    /// Containers no service started (or whose labels are not docker's): never moved.
    pub standalone: Vec<String>,
}

/// A container as `GET /containers/json` lists it (the running ones).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Container {
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

/// A service name as swarm allows it: letters, digits, `-` and `_`, at most 63.
pub fn service_name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && s.as_bytes()[0].is_ascii_alphanumeric()
}

fn swarm_id_ok(s: &str) -> bool {
    crate::vocab::NodeId::parse(s).is_ok()
}

/// What runs here, from the local engine's running containers and docker's labels on them
/// (`com.docker.swarm.task.name` is `SERVICE.SLOT.TASK` for a replica, `SERVICE.NODE.TASK`
/// for a global task).
pub fn here(api: &DockerApi) -> Result<Here> {
    here_within(api, ENGINE_CALL)
}

fn here_within(api: &DockerApi, limit: Duration) -> Result<Here> {
    let list: Vec<Container> = api.get_json_within("/containers/json", limit)?;
    Ok(classify(list))
}

fn classify(list: Vec<Container>) -> Here {
    let mut h = Here::default();
    for c in list {
        let labels = c.labels.unwrap_or_default();
        let name = c
            .names
            .first()
            .map(|n| escape_controls(n.trim_start_matches('/')).into_owned())
            .unwrap_or_default();
        match task_of(&labels) {
            Some(t) if t.slot.is_some() => h.replicated.push(t),
            Some(t) => h.global.push(t),
            None => h.standalone.push(name),
        }
    }
    h.replicated.sort_by_key(Task::name);
    h.global.sort_by_key(Task::name);
    h.standalone.sort();
    h
}

/// The task a container's labels say it is, when they say it in docker's words.
fn task_of(labels: &BTreeMap<String, String>) -> Option<Task> {
    let service = labels.get("com.docker.swarm.service.name")?;
    let task_id = labels.get("com.docker.swarm.task.id")?;
    let full = labels.get("com.docker.swarm.task.name")?;
    let rest = full.strip_prefix(service.as_str())?.strip_prefix('.')?;
    let (middle, id) = rest.split_once('.')?;
    if !service_name_ok(service) || !swarm_id_ok(task_id) || id != task_id {
        return None;
    }
    let slot = match middle.parse::<u64>() {
        Ok(n) if n > 0 && !middle.starts_with('0') => Some(n),
        _ if swarm_id_ok(middle) => None,
        _ => return None,
    };
    Some(Task {
        service: service.clone(),
        slot,
        task_id: task_id.clone(),
    })
}

/// One task as `docker service ps --no-trunc --format '{{json .}}'` prints it (the broker's
/// `tasks` prints the same keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Line {
    #[serde(rename = "ID")]
    pub id: String,
    /// `SERVICE.SLOT`.
    pub name: String,
    /// `Running`, `Ready`, `Shutdown` (the broker: lowercase, as the API says).
    #[serde(default)]
    pub desired_state: String,
    /// `Running 5 seconds ago`, `Pending 3 seconds ago` (the broker: the state alone).
    #[serde(default)]
    pub current_state: String,
    #[serde(default)]
    pub error: String,
    /// The hostname of the node the task is on (the broker: the caller's, or empty for any
    /// other node).
    #[serde(default)]
    pub node: String,
}

impl Line {
    /// Whether swarm wants this task to run: `Running`, `Ready` (a replacement waiting for the
    /// task it replaces to stop), or `Complete` (a job's).
    pub fn wanted(&self) -> bool {
        WANTED
            .iter()
            .any(|d| self.desired_state.eq_ignore_ascii_case(d))
    }

    /// The state's first word, lowercase: `running`, `pending`, `rejected`.
    pub fn state(&self) -> String {
        self.current_state
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    }
}

/// The lines of a manager's answer; a line that is not one (not JSON, no task ID) is left out:
/// a slot it would have told of is then not proven moved, and the wait goes on.
pub fn parse_lines(text: &str) -> Vec<Line> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<Line>(l.trim()).ok())
        .filter(|l| swarm_id_ok(&l.id))
        .collect()
}

/// The replica slots the managers' lines name (`SERVICE.SLOT`), each with the task that was
/// here when a line says so (`here`: this node's hostname): what a drain watches besides the
/// replicas running here, so that a drain run again, or one that finds the tasks already
/// stopped, still waits for them to run elsewhere.
pub fn slots_of(lines: &[Line], here: &str) -> Vec<Task> {
    let mut out: Vec<Task> = Vec::new();
    for l in lines {
        let Some((service, slot)) = l.name.rsplit_once('.') else {
            continue;
        };
        let Ok(n) = slot.parse::<u64>() else { continue };
        if n == 0 || slot.starts_with('0') || !service_name_ok(service) {
            continue;
        }
        let task_id = if l.node == here {
            l.id.clone()
        } else {
            String::new()
        };
        match out
            .iter_mut()
            .find(|t| t.service == service && t.slot == Some(n))
        {
            Some(t) if t.task_id.is_empty() => t.task_id = task_id,
            Some(_) => {}
            None => out.push(Task {
                service: service.to_string(),
                slot: Some(n),
                task_id,
            }),
        }
    }
    out
}

/// The replicas running here and the slots the managers name, each once.
pub fn watch(here: &Here, named: Vec<Task>) -> Vec<Task> {
    let mut out = here.replicated.clone();
    for t in named {
        if !out
            .iter()
            .any(|w| w.service == t.service && w.slot == t.slot)
        {
            out.push(t);
        }
    }
    out.sort_by_key(Task::name);
    out
}

/// A task that ran here and does not run elsewhere yet, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Left {
    pub task: Task,
    pub why: String,
}

/// The tasks of `watch` (replicas that ran here) not yet running elsewhere, given what runs
/// here now and the managers' lines; a replica here that was not watched counts too.
pub fn left(watch: &[Task], here: &Here, lines: &[Line], me: &str) -> Vec<Left> {
    let mut out: Vec<Left> = watch
        .iter()
        .filter_map(|t| {
            why_left(t, watch, here, lines, me).map(|why| Left {
                task: t.clone(),
                why: escape_controls(&why).into_owned(),
            })
        })
        .collect();
    for h in &here.replicated {
        if !watch
            .iter()
            .any(|t| t.service == h.service && t.slot == h.slot)
        {
            out.push(Left {
                task: h.clone(),
                why: "still running here".into(),
            });
        }
    }
    out
}

/// Why the watched replica `t` does not run elsewhere yet; none when it does: its slot's task
/// wanted running is running, and is none of the tasks that were here or are here.
fn why_left(t: &Task, watch: &[Task], here: &Here, lines: &[Line], me: &str) -> Option<String> {
    let same_slot = |h: &&Task| h.service == t.service && h.slot == t.slot;
    if here.replicated.iter().any(|h| same_slot(&h)) {
        return Some("still running here".into());
    }
    let name = t.name();
    // Running wanted first; else a replacement that waits (Ready).
    let mut of_slot: Vec<&Line> = lines
        .iter()
        .filter(|l| l.name == name && l.wanted())
        .collect();
    of_slot.sort_by_key(|l| !l.desired_state.eq_ignore_ascii_case("running"));
    let Some(l) = of_slot.first() else {
        return Some("swarm has no task to run in its place yet".into());
    };
    let ours = l.node == me
        || watch
            .iter()
            .chain(&here.replicated)
            .any(|w| !w.task_id.is_empty() && w.task_id == l.id);
    let runs = l.state() == "running" && l.desired_state.eq_ignore_ascii_case("running");
    let done = l.state() == "complete" && l.desired_state.eq_ignore_ascii_case("complete");
    if (runs || done) && !ours {
        return None;
    }
    let state = if l.state().is_empty() {
        "no state"
    } else {
        &l.current_state
    };
    Some(match l.error.trim_matches('"') {
        "" => state.to_string(),
        e => format!("{state}: {e}"),
    })
}

/// `web: 2 left (still running here); db.1: pending: no suitable node` — progress, by service.
pub fn progress(left: &[Left]) -> String {
    let mut by: BTreeMap<&str, Vec<&Left>> = BTreeMap::new();
    for l in left {
        by.entry(l.task.service.as_str()).or_default().push(l);
    }
    by.into_iter()
        .map(|(svc, ls)| {
            let whys: BTreeSet<&str> = ls.iter().map(|l| l.why.as_str()).collect();
            format!(
                "{svc}: {} left ({})",
                ls.len(),
                whys.into_iter().collect::<Vec<_>>().join("; ")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where the managers' view of the slots comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "lowercase")]
pub enum TasksFrom {
    /// This node is a manager: its own engine.
    Local,
    /// Asked of the managers through the profile's channel, each call within `budget_seconds`.
    Managers {
        calls: Vec<ManagerCmd>,
        budget_seconds: u64,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ApiTask {
    #[serde(rename = "ID", default)]
    id: String,
    #[serde(rename = "ServiceID", default)]
    service_id: String,
    #[serde(default)]
    slot: u64,
    #[serde(rename = "NodeID", default)]
    node_id: String,
    #[serde(default)]
    desired_state: String,
    #[serde(default)]
    status: ApiStatus,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ApiStatus {
    #[serde(default)]
    state: String,
    #[serde(default)]
    err: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ApiService {
    #[serde(rename = "ID", default)]
    id: String,
    #[serde(default)]
    spec: ApiServiceSpec,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ApiServiceSpec {
    #[serde(default)]
    name: String,
}

/// `GET /WHAT?filters=JSON`, the filters encoded.
fn filtered<T: serde::de::DeserializeOwned>(
    api: &DockerApi,
    what: &str,
    filters: serde_json::Value,
    timeout: Duration,
) -> Result<T> {
    let path = format!("/{what}?filters={}", percent(&filters.to_string()));
    Ok(api.get_json_within(&path, timeout)?)
}

/// The lines of the slots that ran on `node`, from a manager's engine (the broker's `tasks`,
/// and a manager draining itself): every task ever on the node (its history) gives a service
/// and a slot; the tasks of those slots swarm wants to run (`running`, or `ready`: a
/// replacement waiting) are the answer. Nothing of other
/// services, and no node's name or address.
pub fn slots_on_manager(
    api: &DockerApi,
    node: &str,
    name: &str,
    timeout: Duration,
) -> Result<Vec<Line>> {
    let mine: Vec<ApiTask> =
        filtered(api, "tasks", serde_json::json!({ "node": [node] }), timeout)?;
    let slots: BTreeSet<(&str, u64)> = mine
        .iter()
        .filter(|t| t.slot > 0 && swarm_id_ok(&t.service_id))
        .map(|t| (t.service_id.as_str(), t.slot))
        .collect();
    let services: BTreeSet<&str> = slots.iter().map(|(s, _)| *s).collect();
    if services.is_empty() {
        return Ok(Vec::new());
    }
    let named: Vec<ApiService> = filtered(
        api,
        "services",
        serde_json::json!({ "id": services }),
        timeout,
    )?;
    let name_of: BTreeMap<&str, &str> = named
        .iter()
        .map(|s| (s.id.as_str(), s.spec.name.as_str()))
        .collect();
    let wanted: Vec<ApiTask> = filtered(
        api,
        "tasks",
        serde_json::json!({ "service": services }),
        timeout,
    )?;
    Ok(wanted
        .into_iter()
        .filter(|t| slots.contains(&(t.service_id.as_str(), t.slot)))
        .filter(|t| WANTED.contains(&t.desired_state.as_str()))
        .filter_map(|t| {
            let svc = name_of.get(t.service_id.as_str())?;
            Some(Line {
                id: t.id,
                name: format!("{svc}.{}", t.slot),
                desired_state: capital(&t.desired_state),
                current_state: capital(&t.status.state),
                error: t.status.err,
                node: if t.node_id == node {
                    name.to_string()
                } else {
                    String::new()
                },
            })
        })
        .collect())
}

/// `running` → `Running`, as the docker CLI words a state.
fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// A query value percent-encoded (every byte but letters and digits).
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The wait of a drain: until every watched replica runs elsewhere, or `seconds` pass (75,
/// naming each task left and why, as the managers say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrainWait {
    pub node_id: String,
    /// This node's hostname, as the managers' lines name the node a task is on.
    pub me: String,
    pub watch: Vec<Task>,
    pub from: TasksFrom,
    pub seconds: u64,
}

pub(super) fn wait(host: &SwarmHost, w: &DrainWait) -> Result<()> {
    let started = Instant::now();
    let until = started + Duration::from_secs(w.seconds);
    let mut last = String::new();
    loop {
        let left_time = until.saturating_duration_since(Instant::now());
        // One poll that fails (a manager away, an election) is a round not known: the wait
        // goes on to its bound, and says the last failure if it ends there.
        match poll(host, w, left_time) {
            Ok(left) if left.is_empty() => {
                tracing::info!(
                    "drain: every task that ran here runs elsewhere (waited {:.0} s)",
                    started.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            Ok(left) => {
                let now = progress(&left);
                if now != last {
                    tracing::info!("drain: {} task(s) left: {now}", left.len());
                    last = now;
                }
                if Instant::now() >= until {
                    return Err(timed_out(w, &left));
                }
            }
            Err(e @ Error::Interrupted { .. }) => return Err(e),
            Err(e) => {
                let said = crate::error::chain(&e);
                tracing::info!("drain: this round is not known: {said}; trying on");
                if Instant::now() >= until {
                    return Err(Error::Temporary(format!(
                        "drain: after {} s it is not known whether the tasks that ran on node \
                         {} run elsewhere: {said}; the node stays drained; run `swarmnode drain` \
                         again once the managers answer",
                        w.seconds, w.node_id
                    )));
                }
            }
        }
        pause(
            POLL.min(
                until
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(100)),
            ),
        )?;
    }
}

/// One round: what runs here and what the managers say, within what is left of the wait (at
/// least [`MIN_CALL`] a call).
fn poll(host: &SwarmHost, w: &DrainWait, left_time: Duration) -> Result<Vec<Left>> {
    let here = here_within(host.api(), ENGINE_CALL.min(left_time.max(MIN_CALL)))?;
    let lines = lines_from(host, &w.from, &w.node_id, &w.me, left_time)?;
    Ok(left(&w.watch, &here, &lines, &w.me))
}

/// The lines of the slots that ran on `node`: from this manager's engine, or asked of the
/// managers (each call within `left_time`, at least 2 s).
pub fn lines_from(
    host: &SwarmHost,
    from: &TasksFrom,
    node: &str,
    me: &str,
    left_time: Duration,
) -> Result<Vec<Line>> {
    let bound = |b: Duration| b.min(left_time.max(MIN_CALL));
    match from {
        TasksFrom::Local => slots_on_manager(host.api(), node, me, bound(ENGINE_CALL)),
        TasksFrom::Managers {
            calls,
            budget_seconds,
        } => {
            let what = format!("the tasks of node {node}");
            let budget = bound(Duration::from_secs(*budget_seconds));
            let (_, o) = managers::call(host.runner, &what, calls, budget, &|_| false)?;
            Ok(parse_lines(&o.stdout))
        }
    }
}

fn timed_out(w: &DrainWait, left: &[Left]) -> Error {
    let each: Vec<String> = left
        .iter()
        .map(|l| match l.task.task_id.as_str() {
            "" => format!("{}: {}", l.task.name(), l.why),
            id => format!("{} (task {id}): {}", l.task.name(), l.why),
        })
        .collect();
    Error::Temporary(format!(
        "drain: after {} s, {} task(s) that ran on node {} do not run elsewhere: {}; the node \
         stays drained. See why on a manager (`docker service ps --no-trunc SERVICE`), then run \
         `swarmnode drain` again; or `swarmnode activate` to let them run here again (reset and \
         migrate-storage: run them again, or with --no-drain to go on without waiting)",
        w.seconds,
        left.len(),
        w.node_id,
        each.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE: &str = "l8s526d06sna2jckb05a27o7r";
    const T1: &str = "a1b2c3d4e5f6g7h8i9j0k1l2m";
    const T2: &str = "zyxwvutsrqponmlkjihgfedcb";

    fn labels(service: &str, task: &str, full: &str) -> Option<BTreeMap<String, String>> {
        Some(BTreeMap::from([
            ("com.docker.swarm.service.name".into(), service.into()),
            ("com.docker.swarm.task.id".into(), task.into()),
            ("com.docker.swarm.task.name".into(), full.into()),
        ]))
    }

    fn container(name: &str, labels: Option<BTreeMap<String, String>>) -> Container {
        Container {
            names: vec![format!("/{name}")],
            labels,
        }
    }

    #[test]
    fn docker_s_labels_tell_replicas_global_tasks_and_plain_containers_apart() {
        let h = classify(vec![
            container("w", labels("web", T1, &format!("web.3.{T1}"))),
            container("g", labels("agent", T2, &format!("agent.{NODE}.{T2}"))),
            container("job", None),
            // Labels that do not agree with each other are not docker's: listed apart.
            container("odd", labels("web", T1, &format!("api.1.{T1}"))),
            container("odd2", labels("web", T1, &format!("web.1.{T2}"))),
            container("odd3", labels("web;rm", T1, &format!("web;rm.1.{T1}"))),
            container("odd4", labels("web", T1, &format!("web.01.{T1}"))),
        ]);
        assert_eq!(
            h.replicated,
            [Task {
                service: "web".into(),
                slot: Some(3),
                task_id: T1.into()
            }]
        );
        assert_eq!(h.global[0].name(), "agent");
        assert_eq!(h.standalone, ["job", "odd", "odd2", "odd3", "odd4"]);
    }

    fn line(id: &str, state: &str, error: &str) -> Line {
        Line {
            id: id.into(),
            name: "web.3".into(),
            desired_state: "Running".into(),
            current_state: format!("{state} 3 seconds ago"),
            error: error.into(),
            node: "psw-n3".into(),
        }
    }

    #[test]
    fn a_replica_has_moved_when_another_task_of_its_slot_runs() {
        let w = vec![Task {
            service: "web".into(),
            slot: Some(3),
            task_id: T1.into(),
        }];
        let none = Here::default();
        let here = Here {
            replicated: w.clone(),
            ..Here::default()
        };
        assert!(left(&w, &none, &[line(T2, "Running", "")], "psw-n2").is_empty());
        assert_eq!(
            left(&w, &here, &[line(T2, "Running", "")], "psw-n2")[0].why,
            "still running here"
        );
        // The old task still said to run (the node is cut off from its managers): not moved.
        assert!(!left(&w, &none, &[line(T1, "Running", "")], "psw-n2").is_empty());
        assert_eq!(
            left(
                &w,
                &none,
                &[line(T2, "Pending", "no suitable node")],
                "psw-n2"
            )[0]
            .why,
            "Pending 3 seconds ago: no suitable node"
        );
        assert_eq!(
            left(&w, &none, &[], "psw-n2")[0].why,
            "swarm has no task to run in its place yet"
        );
        let mut other = line(T2, "Running", "");
        other.name = "web.4".into();
        assert!(
            !left(&w, &none, &[other], "psw-n2").is_empty(),
            "another slot proves nothing"
        );
        assert_eq!(
            progress(&left(&w, &none, &[], "psw-n2")),
            "web: 1 left (swarm has no task to run in its place yet)"
        );
    }

    #[test]
    fn lines_as_docker_prints_them_parse_and_others_are_left_out() {
        // docker 26.1's `service ps --no-trunc --format '{{json .}}'`.
        let t = format!(
            "{{\"CurrentState\":\"Running 5 seconds ago\",\"DesiredState\":\"Running\",\"Error\":\"\",\"ID\":\"{T2}\",\"Image\":\"busybox:latest\",\"Name\":\"web.3\",\"Node\":\"psw-n3\",\"Ports\":\"\"}}\nnot json\n{{\"ID\":\"short\",\"Name\":\"web.3\"}}\n"
        );
        let l = parse_lines(&t);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].state(), "running");
    }

    /// docker 28.2's `service ps --no-trunc --format '{{json .}}' pinned` a few seconds after
    /// the node it is pinned to was drained (captured in the tier-3 bed): the replacement waits
    /// as Ready, its error quoted.
    #[test]
    fn a_replacement_that_waits_is_what_the_slot_says() {
        let t = r#"{"CurrentState":"Pending 4 seconds ago","DesiredState":"Ready","Error":"\"no suitable node (scheduling constraints not satisfied on 2 nodes; 1 node not available for new tasks)\"","ID":"bvvpvgp06m4bsdwjw3walecho","Image":"psw-sleep:1","Name":"pinned.1","Node":"","Ports":""}
{"CurrentState":"Running 3 seconds ago","DesiredState":"Shutdown","Error":"","ID":"dwaskvminy5oj2rzj45pxulg9","Image":"psw-sleep:1","Name":"pinned.1","Node":"psw-n2","Ports":""}
"#;
        let w = vec![Task {
            service: "pinned".into(),
            slot: Some(1),
            task_id: "dwaskvminy5oj2rzj45pxulg9".into(),
        }];
        let l = left(&w, &Here::default(), &parse_lines(t), "psw-n2");
        assert_eq!(
            l[0].why,
            "Pending 4 seconds ago: no suitable node (scheduling constraints not satisfied on 2 \
             nodes; 1 node not available for new tasks)"
        );
        // Running on another node, yet still wanted only as Ready: not moved yet.
        let ready = t.replace("Pending 4", "Running 1");
        assert!(!left(&w, &Here::default(), &parse_lines(&ready), "psw-n2").is_empty());
    }

    /// Review finding H1: a drain run again after its tasks stopped still watches their slots.
    #[test]
    fn the_managers_history_names_the_slots_that_ran_here() {
        // `docker node ps --no-trunc --format '{{json .}}' ID` after a drain: the task here
        // was shut down, an older one failed; a global task has no slot.
        let mut a = line(T1, "Shutdown", "");
        a.desired_state = "Shutdown".into();
        a.node = "psw-n2".into();
        let mut b = a.clone();
        b.id = T2.into();
        let mut g = a.clone();
        g.name = "agent".into();
        let named = slots_of(&[a, b, g], "psw-n2");
        assert_eq!(
            named,
            [Task {
                service: "web".into(),
                slot: Some(3),
                task_id: T1.into()
            }]
        );
        let w = watch(&Here::default(), named);
        // Nothing runs here, and the slot's replacement waits: not done.
        assert!(!left(&w, &Here::default(), &[line(T2, "Pending", "")], "psw-n2").is_empty());
        assert!(
            left(
                &w,
                &Here::default(),
                &[line("x1x2x3x4x5x6x7x8x9x0x1x2x", "Running", "")],
                "psw-n2"
            )
            .is_empty()
        );
        // A task on this very node never counts as moved, whatever its ID.
        let mut mine = line("x1x2x3x4x5x6x7x8x9x0x1x2x", "Running", "");
        mine.node = "psw-n2".into();
        assert!(!left(&w, &Here::default(), &[mine], "psw-n2").is_empty());
    }

    /// Review finding M4: a replicated job's task that completed elsewhere is done.
    #[test]
    fn a_job_done_elsewhere_counts_as_moved() {
        let w = vec![Task {
            service: "web".into(),
            slot: Some(3),
            task_id: T1.into(),
        }];
        let mut l = line(T2, "Complete", "");
        l.desired_state = "Complete".into();
        assert!(left(&w, &Here::default(), &[l], "psw-n2").is_empty());
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            percent(r#"{"node":["x"]}"#),
            "%7B%22node%22%3A%5B%22x%22%5D%7D"
        );
    }

    proptest::proptest! {
        #[test]
        fn no_answer_makes_the_line_parser_panic(t in "\\PC{0,300}") {
            let _ = parse_lines(&t);
        }

        #[test]
        fn no_labels_make_the_classifier_panic(
            service in "\\PC{0,20}", task in "[a-z0-9]{0,30}", full in "\\PC{0,80}",
        ) {
            let h = classify(vec![container("x", labels(&service, &task, &full))]);
            for t in h.replicated.iter().chain(&h.global) {
                proptest::prop_assert!(service_name_ok(&t.service) && swarm_id_ok(&t.task_id));
            }
        }
    }
}
