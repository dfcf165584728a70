//! The swarm's managers as a manager's engine sees them: how many, which answer, who leads,
//! whose turn a scheduled backup is; and the quorum rule a backup keeps.

use crate::host::swarm::node::{ManagerStatus, Node};

/// The swarm's managers as this manager's engine sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Managers {
    /// Every manager, this one too.
    pub total: usize,
    /// The others that are reachable.
    pub reachable_others: usize,
    /// The leader's node ID, when there is one.
    pub leader: Option<String>,
    /// The reachable managers that do not lead, this one too when it is: (ID, name, address),
    /// by ID.
    pub followers: Vec<(String, String, String)>,
    /// Every manager's address.
    pub addrs: Vec<String>,
}

impl Managers {
    pub fn of(nodes: &[Node], me: &str) -> Managers {
        let managers: Vec<(&Node, &ManagerStatus)> = nodes
            .iter()
            .filter_map(|n| Some((n, n.manager_status.as_ref()?)))
            .collect();
        let reachable = |m: &ManagerStatus| m.reachability == "reachable";
        let mut followers: Vec<(String, String, String)> = managers
            .iter()
            .filter(|(_, m)| reachable(m) && !m.leader)
            .map(|(n, m)| (n.id.clone(), n.description.hostname.clone(), m.addr.clone()))
            .collect();
        followers.sort();
        Managers {
            total: managers.len(),
            reachable_others: managers
                .iter()
                .filter(|(n, m)| n.id != me && reachable(m))
                .count(),
            leader: managers
                .iter()
                .find(|(_, m)| m.leader)
                .map(|(n, _)| n.id.clone()),
            followers,
            addrs: managers.iter().map(|(_, m)| m.addr.clone()).collect(),
        }
    }

    /// Whether the swarm keeps quorum while this manager is stopped (nothing is demoted: the
    /// others that answer must be a majority of all managers, this one counted).
    pub fn keep_quorum_without_me(&self) -> bool {
        self.reachable_others * 2 > self.total
    }

    /// The follower a scheduled backup runs on: the first by ID.
    pub fn chosen(&self) -> Option<&str> {
        self.followers.first().map(|(id, _, _)| id.as_str())
    }
}
