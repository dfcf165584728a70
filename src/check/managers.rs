//! On a manager: the swarm's managers (how many, how many reachable, the leader) and, with a
//! `backup` section, the age of the newest backup on the manager whose turn it is.

use crate::check::{INFO_TIMEOUT, Item, Metric, Status, unobservable};
use crate::host::Host;
use crate::host::clock;
use crate::host::swarm::Info;
use crate::host::swarm::backup::taken_of;
use crate::host::swarm::node::Node;
use crate::profile::Profile;
use crate::steps::backup::Managers;

const CHECK: &str = "swarm.managers";

/// The item, for a manager's engine.
pub fn item(h: &Host, profile: &Profile, info: &Info) -> Item {
    let nodes: Vec<Node> = match h
        .docker_api()
        // As slow as /info while the swarm loses its leader.
        .and_then(|e| Ok(e.get_json_within("/nodes", INFO_TIMEOUT)?))
    {
        Ok(n) => n,
        Err(e) => return no_answer(info, &e),
    };
    let me = info.swarm.node_id.as_str();
    let v = Managers::of(&nodes, me);
    let reachable = v.reachable_others + 1;
    let need = v.total / 2 + 1;
    let (status, mut why_yellow) = judge(&v);
    let leader = match &v.leader {
        Some(l) if l == me => "this one leads".to_string(),
        Some(l) => format!("the leader is {l}"),
        None => "no leader".to_string(),
    };
    let summary = format!(
        "{} managers, {reachable} reachable (quorum {need}); {leader}",
        v.total
    );
    let mut item = Item::new(CHECK, status, summary)
        .metric(Metric::new(
            "swarmnode_swarm_managers",
            "the swarm's managers",
            v.total as f64,
        ))
        .metric(Metric::new(
            "swarmnode_swarm_managers_reachable",
            "the swarm's managers reachable (this one counted)",
            reachable as f64,
        ))
        .metric(Metric::flag(
            "swarmnode_swarm_leader",
            "1 when the swarm has a leader",
            v.leader.is_some(),
        ));
    if status == Status::Red {
        item = item.detail(
            "the swarm has lost quorum or has no leader: bring managers back; with a majority \
             lost for good, restore a backup (docs/backup.md)",
        );
    }
    if let Some(b) = &profile.backup {
        backup_age(h, b, &v, me, &mut item, &mut why_yellow);
    }
    if item.status == Status::Green && !why_yellow.is_empty() {
        item.status = Status::Yellow;
    }
    for w in why_yellow {
        item = item.detail(w);
    }
    item
}

/// The managers' list not given: red. When docker says the swarm has no leader (quorum lost),
/// that is said with the gauges known from this engine: the count of managers, no leader.
fn no_answer(info: &Info, e: &crate::error::Error) -> Item {
    let why = crate::error::chain(e);
    if !why.contains("does not have a leader") {
        return unobservable(CHECK, e);
    }
    // Without a leader docker counts no managers (`Managers` 0); the managers this one knows
    // of (`RemoteManagers`, itself among them) are still listed.
    let known = match info.swarm.managers {
        Some(n) if n > 0 => n as usize,
        _ => info.swarm.remote_managers.as_ref().map_or(0, Vec::len),
    };
    let mut item = Item::new(
        CHECK,
        Status::Red,
        format!(
            "{known} managers; no leader: the swarm has lost quorum (too few managers reachable)"
        ),
    )
    .metric(Metric::flag(
        "swarmnode_swarm_leader",
        "1 when the swarm has a leader",
        false,
    ))
    .detail(why)
    .detail(
        "bring managers back until more than half answer; with a majority lost for good, restore \
         a backup (docs/backup.md)",
    );
    if known > 0 {
        item = item.metric(Metric::new(
            "swarmnode_swarm_managers",
            "the swarm's managers",
            known as f64,
        ));
    }
    item
}

/// Red when quorum is lost or there is no leader; otherwise green, with what makes it yellow.
pub fn judge(v: &Managers) -> (Status, Vec<String>) {
    let reachable = v.reachable_others + 1;
    if v.leader.is_none() || reachable < v.total / 2 + 1 {
        return (Status::Red, Vec::new());
    }
    let mut yellow = Vec::new();
    if v.total.is_multiple_of(2) {
        yellow.push(format!(
            "{} managers is an even number: it tolerates no more managers away than {} do",
            v.total,
            v.total - 1
        ));
    }
    if reachable < v.total {
        yellow.push(format!(
            "{} of {} managers unreachable: one more away loses quorum",
            v.total - reachable,
            v.total
        ));
    }
    (Status::Green, yellow)
}

/// docker does not answer, and a backup left its record: docker was stopped for it (red).
pub fn unfinished(h: &Host) -> Option<Item> {
    let m = crate::host::state::backup_under_way(h).ok()??;
    Some(
        Item::new(
            CHECK,
            Status::Red,
            format!(
                "docker is stopped: a backup started at {} has not finished",
                clock::utc(m.taken)
            ),
        )
        .detail("`swarmnode backup` finishes it and starts docker"),
    )
}

/// The newest archive's age on the manager whose turn it is (or the only one); elsewhere, who
/// takes them. A backup left unfinished is said.
fn backup_age(
    h: &Host,
    b: &crate::profile::Backup,
    v: &Managers,
    me: &str,
    item: &mut Item,
    yellow: &mut Vec<String>,
) {
    match crate::host::state::backup_under_way(h) {
        Ok(Some(m)) => yellow.push(format!(
            "a backup started at {} has not finished (`swarmnode backup` finishes it)",
            clock::utc(m.taken)
        )),
        Ok(None) => {}
        Err(e) => yellow.push(crate::error::chain(&e)),
    }
    let taker = if v.total == 1 { Some(me) } else { v.chosen() };
    if taker != Some(me) {
        let who = taker.map_or("no follower is reachable".into(), |t| {
            format!("scheduled backups are taken on manager {t}")
        });
        item.summary.push_str(&format!("; {who}"));
        return;
    }
    let dir = h.path(&b.directory).ok();
    let newest = dir
        .map(|d| crate::host::fs::entries(&d))
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, kind)| *kind == crate::host::fs::Kind::File)
        .filter_map(|(n, _)| taken_of(&n, None))
        .max();
    let limit = b.interval.secs() * 2;
    match newest {
        Some(t) => {
            let age = clock::now().saturating_sub(t);
            item.summary.push_str(&format!(
                "; newest backup {} ({} h old)",
                clock::utc(t),
                age / 3600
            ));
            item.metrics.push(Metric::new(
                "swarmnode_backup_age_seconds",
                "the age of the newest swarm backup on this manager",
                age as f64,
            ));
            if age > limit {
                yellow.push(format!(
                    "the newest backup is older than twice backup.interval ({} h): see \
                     `systemctl status swarmnode-backup.service`",
                    limit / 3600
                ));
            }
        }
        None => yellow.push(format!(
            "no backup in {} yet, and it is this manager's turn: `swarmnode backup`",
            b.directory
        )),
    }
}
