//! What a node may ask the broker, as one line (ssh's `SSH_ORIGINAL_COMMAND`): a fixed grammar,
//! read without a shell, every word checked. Anything else is refused with one line saying why.
//!
//! ```text
//! join-token worker|manager
//! self NODE_ID
//! label NODE_ID KEY=VALUE [KEY=VALUE ...]
//! remove-stale NODE_ID
//! enroll NODE_ID ssh-ed25519 BASE64
//! leave-entry NODE_ID
//! availability NODE_ID active|drain
//! tasks NODE_ID
//! ```
//!
//! Who may ask what is the key's (see [`crate::broker`]): a bootstrap key `join-token` and
//! `enroll`; a node's own key `self`, `label`, `remove-stale`, `leave-entry`, `availability`
//! and `tasks` for its node.

use std::collections::BTreeMap;
use std::fmt;

/// The longest request line read; a longer one is refused unread.
pub const MAX_LINE: usize = 1024;
/// The most labels one request sets.
pub const MAX_LABELS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// The join token for a role.
    JoinToken(Role),
    /// The caller's own node entry, as `docker node inspect` prints it.
    Self_(NodeId),
    /// Labels on the caller's own node.
    Label(NodeId, BTreeMap<String, String>),
    /// `Down` worker entries with the caller's hostname and another ID, removed.
    RemoveStale(NodeId),
    /// This node's own public key bound to its node ID (a bootstrap key asks).
    Enroll(NodeId, PublicKey),
    /// The caller's own entry removed, once it is Down (reset's last step; its own key asks).
    LeaveEntry(NodeId),
    /// The caller's own availability: `drain` (its tasks move away) or `active`.
    Availability(NodeId, Availability),
    /// The tasks wanted running in the slots that ran on the caller's node (a drain's wait).
    Tasks(NodeId),
}

/// What a node may set its own availability to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Active,
    Drain,
}

impl Availability {
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Active => "active",
            Availability::Drain => "drain",
        }
    }
}

/// The role a token is for.
pub use crate::vocab::Role;

/// A swarm node ID (the shared vocabulary's).
pub use crate::vocab::NodeId;

/// A public key (the shared vocabulary's).
pub use crate::vocab::PublicKey;

/// The label rules (the shared vocabulary's).
pub use crate::vocab::{label_key_ok, label_value_ok};

impl fmt::Display for Request {
    /// The request as sent: the line the node writes and the broker logs (it holds no secret).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::JoinToken(r) => write!(f, "join-token {}", r.as_str()),
            Request::Self_(id) => write!(f, "self {id}"),
            Request::Label(id, labels) => {
                write!(f, "label {id}")?;
                for (k, v) in labels {
                    write!(f, " {k}={v}")?;
                }
                Ok(())
            }
            Request::RemoveStale(id) => write!(f, "remove-stale {id}"),
            Request::Enroll(id, key) => write!(f, "enroll {id} {}", key.text()),
            Request::LeaveEntry(id) => write!(f, "leave-entry {id}"),
            Request::Availability(id, a) => write!(f, "availability {id} {}", a.as_str()),
            Request::Tasks(id) => write!(f, "tasks {id}"),
        }
    }
}

/// At most 60 characters of what was sent, control characters shown escaped: for messages and
/// the log, never the whole of a hostile line.
pub fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(60).flat_map(char::escape_debug).collect();
    if s.chars().count() > 60 {
        out.push('…');
    }
    out
}

/// A label request's KEY=VALUE words: each a key and a value the broker carries, no key twice.
fn labels(pairs: &[&str]) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    for p in pairs {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| format!("{:?} is not KEY=VALUE", shown(p)))?;
        if !label_key_ok(k) {
            return Err(format!(
                "{:?} is not a label key (letters, digits, . _ -; at most 64)",
                shown(k)
            ));
        }
        if !label_value_ok(v) {
            return Err(format!(
                "{:?} is not a label value the broker carries (letters, digits, \
                 . _ - : / @ +; at most 128)",
                shown(v)
            ));
        }
        if labels.insert(k.to_string(), v.to_string()).is_some() {
            return Err(format!("the label {k} is given twice"));
        }
    }
    Ok(labels)
}

/// Reads one request line. Words are separated by single spaces; there is no quoting.
pub fn parse(line: &str) -> Result<Request, String> {
    if line.len() > MAX_LINE {
        return Err(format!("the request is longer than {MAX_LINE} bytes"));
    }
    if !line.bytes().all(|b| (0x21..0x7f).contains(&b) || b == b' ') {
        return Err(format!(
            "the request {:?} has characters other than printable ASCII and spaces",
            shown(line)
        ));
    }
    let words: Vec<&str> = line.split(' ').collect();
    if words.iter().any(|w| w.is_empty()) {
        return Err(format!(
            "the request {:?} has empty words (one space between words, none around)",
            shown(line)
        ));
    }
    let id = |w: Option<&&str>| -> Result<NodeId, String> {
        NodeId::parse(w.ok_or_else(|| "a node ID is missing".to_string())?)
    };
    match words.as_slice() {
        ["join-token", "worker"] => Ok(Request::JoinToken(Role::Worker)),
        ["join-token", "manager"] => Ok(Request::JoinToken(Role::Manager)),
        ["join-token", ..] => Err("join-token takes one word: worker or manager".into()),
        ["self", rest @ ..] if rest.len() == 1 => Ok(Request::Self_(id(rest.first())?)),
        ["remove-stale", rest @ ..] if rest.len() == 1 => {
            Ok(Request::RemoveStale(id(rest.first())?))
        }
        ["leave-entry", rest @ ..] if rest.len() == 1 => Ok(Request::LeaveEntry(id(rest.first())?)),
        ["tasks", rest @ ..] if rest.len() == 1 => Ok(Request::Tasks(id(rest.first())?)),
        ["availability", node, to] => {
            let node = NodeId::parse(node)?;
            match *to {
                "active" => Ok(Request::Availability(node, Availability::Active)),
                "drain" => Ok(Request::Availability(node, Availability::Drain)),
                _ => Err(format!(
                    "{:?} is not an availability a node sets (active or drain)",
                    shown(to)
                )),
            }
        }
        ["enroll", node, kind, key] => Ok(Request::Enroll(
            NodeId::parse(node)?,
            PublicKey::ed25519(&format!("{kind} {key}"))?,
        )),
        ["label", node, pairs @ ..] if !pairs.is_empty() => {
            let node = NodeId::parse(node)?;
            if pairs.len() > MAX_LABELS {
                return Err(format!("at most {MAX_LABELS} labels in one request"));
            }
            Ok(Request::Label(node, labels(pairs)?))
        }
        [verb, ..] => Err(format!(
            "{:?} is not something the broker does (join-token, enroll, self, label, \
             remove-stale, leave-entry, availability, tasks, each with its arguments)",
            shown(verb)
        )),
        [] => Err("the request is empty".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "l8s526d06sna2jckb05a27o7r";
    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHP4NVXQOzetSTmtlHWvak0XNxsW7bROPPkR4m3kISSq";

    #[test]
    fn every_request_is_read_and_written_back_the_same() {
        for line in [
            "join-token worker".to_string(),
            "join-token manager".to_string(),
            format!("self {ID}"),
            format!("label {ID} function=production rack=b2"),
            format!("remove-stale {ID}"),
            format!("enroll {ID} {KEY}"),
            format!("leave-entry {ID}"),
            format!("availability {ID} drain"),
            format!("availability {ID} active"),
            format!("tasks {ID}"),
        ] {
            let r = parse(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(r.to_string(), line);
        }
        let Ok(Request::Label(_, l)) = parse(&format!("label {ID} rack=b2 function=test")) else {
            panic!()
        };
        assert_eq!(l.len(), 2);
    }

    #[test]
    fn anything_else_is_refused_with_a_reason() {
        for (line, why) in [
            ("", "empty"),
            ("docker ps", "\"docker\" is not something the broker does"),
            ("docker service ls", "not something the broker does"),
            ("join-token", "takes one word"),
            ("join-token worker extra", "takes one word"),
            ("join-token -q worker", "takes one word"),
            ("self", "not something"),
            ("self ../../etc", "is not a node ID"),
            ("self L8S526D06SNA2JCKB05A27O7R", "is not a node ID"),
            (&format!("self {ID} {ID}"), "not something"),
            (&format!("self  {ID}"), "empty words"),
            (&format!(" self {ID}"), "empty words"),
            (&format!("self {ID};id"), "is not a node ID"),
            (&format!("self {ID}\nid"), "printable ASCII"),
            (&format!("label {ID}"), "not something"),
            (&format!("label {ID} function"), "is not KEY=VALUE"),
            (&format!("label {ID} =x"), "is not a label key"),
            (&format!("label {ID} f=$(id)"), "is not a label value"),
            (&format!("label {ID} f=`id`"), "is not a label value"),
            (&format!("label {ID} f=a f=b"), "given twice"),
            (&format!("label {ID} f='x'"), "is not a label value"),
            (&format!("remove-stale {ID} now"), "not something"),
            (&format!("enroll {ID}"), "not something"),
            (&format!("enroll {ID} {KEY} comment"), "not something"),
            (
                &format!("enroll {ID} {}", KEY.replace("ssh-ed25519", "ssh-rsa")),
                "not a key type",
            ),
            (
                &format!("enroll {ID} ssh-ed25519 AAAA"),
                "not a ssh-ed25519 key",
            ),
            (&format!("enroll zz {KEY}"), "is not a node ID"),
            (&format!("leave-entry {ID} {ID}"), "not something"),
            ("leave-entry", "not something"),
            (&format!("availability {ID} pause"), "not an availability"),
            (&format!("availability {ID}"), "not something"),
            (&format!("availability {ID} drain now"), "not something"),
            (&format!("availability x {ID}"), "is not a node ID"),
            (&format!("tasks {ID} web"), "not something"),
            ("tasks", "not something"),
        ] {
            let e = parse(line).expect_err(line);
            assert!(e.contains(why), "{line:?}: {e}");
        }
        assert!(
            parse(&"x".repeat(2000))
                .unwrap_err()
                .contains("longer than")
        );
        let many: Vec<String> = (0..17).map(|i| format!("k{i}=v")).collect();
        assert!(
            parse(&format!("label {ID} {}", many.join(" ")))
                .unwrap_err()
                .contains("at most 16")
        );
    }

    proptest::proptest! {
        /// No line makes the parser panic, and whatever it accepts is one of the four forms,
        /// written back as exactly the line that was sent (nothing else can slip through).
        #[test]
        fn only_the_grammar_is_accepted(line in "\\PC{0,300}") {
            if let Ok(r) = parse(&line) {
                let back = r.to_string();
                proptest::prop_assert!(
                    back.starts_with("join-token ") || back.starts_with("self ")
                        || back.starts_with("label ") || back.starts_with("remove-stale ")
                        || back.starts_with("enroll ") || back.starts_with("leave-entry ")
                        || back.starts_with("availability ") || back.starts_with("tasks ")
                );
                // Label order may differ; the words are the same.
                let mut a: Vec<&str> = line.split(' ').collect();
                let mut b: Vec<&str> = back.split(' ').collect();
                a.sort();
                b.sort();
                proptest::prop_assert_eq!(a, b);
            }
        }

        #[test]
        fn near_misses_of_the_grammar_never_panic(
            verb in "(join-token|self|label|remove-stale|enroll|leave-entry|availability|tasks|docker)",
            rest in "[ a-z0-9=._;$`'\"|&-]{0,80}",
        ) {
            let _ = parse(&format!("{verb} {rest}"));
        }
    }
}
