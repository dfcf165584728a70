//! One change to the host ([`Action`]: what, why, and what puts it back when it fails) as a plan
//! shows it and a report records it. [`super::Host::execute`] carries it out.

use std::fmt;

use serde::Serialize;

use super::cmd::Cmd;
use super::{fs, swarm};

/// One change to the host, as planned and as applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    /// Stable id: `storage.pvcreate`. Used by fail points and in reports.
    pub id: String,
    /// Why it is needed, in a few words.
    pub why: String,
    #[serde(flatten)]
    pub effect: Effect,
    /// When this action fails: what puts back the state it started from (carried out in order),
    /// after which the action runs once more, so the host is as it was before the step (a docker
    /// that does not start with a new daemon.json gets the previous one back).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub on_failure: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Effect {
    /// Run a command; with `limit_seconds` it is stopped (and the action fails) after that long.
    Run {
        argv: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        limit_seconds: Option<u64>,
    },
    /// Write a whole file atomically (host path), keeping the previous version as a backup. An
    /// existing file keeps its mode and owner; `mode` is for a new one. Reports show the size and
    /// sha256 of the content, never the content.
    Write {
        path: String,
        #[serde(serialize_with = "octal")]
        mode: u32,
        #[serde(skip)]
        content: String,
        size: usize,
        sha256: String,
        #[serde(skip)]
        previous: Option<String>,
    },
    /// Rename a file or directory (same filesystem), e.g. to move a conflicting file aside.
    Rename { from: String, to: String },
    /// Remove a file (one swarmnode created, when what it depends on is put back), or an empty
    /// directory (a path ending in `/`).
    Remove { path: String },
    /// Create a directory (and its parents).
    Mkdir {
        path: String,
        #[serde(serialize_with = "octal")]
        mode: u32,
    },
    /// Join or leave a swarm through the local Engine API.
    Swarm(swarm::SwarmOp),
}

fn octal<S: serde::Serializer>(m: &u32, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{m:04o}"))
}

impl Action {
    pub fn run(id: &str, why: impl Into<String>, cmd: Cmd) -> Action {
        Action {
            id: id.to_string(),
            why: why.into(),
            on_failure: Vec::new(),
            effect: Effect::Run {
                argv: cmd.argv,
                limit_seconds: None,
            },
        }
    }
    pub fn write(
        id: &str,
        why: impl Into<String>,
        path: &str,
        mode: u32,
        content: String,
        previous: Option<String>,
    ) -> Action {
        Action {
            id: id.to_string(),
            why: why.into(),
            on_failure: Vec::new(),
            effect: Effect::Write {
                path: path.to_string(),
                mode,
                size: content.len(),
                sha256: fs::sha256_hex(content.as_bytes()),
                content,
                previous,
            },
        }
    }
    /// A file moved aside to NAME.bk ([`fs::ASIDE`]): recorded when carried out, for `reset`.
    pub fn move_aside(id: &str, why: impl Into<String>, path: &str) -> Action {
        Action::rename(id, why, path, &format!("{path}{}", fs::ASIDE))
    }
    pub fn rename(id: &str, why: impl Into<String>, from: &str, to: &str) -> Action {
        Action {
            id: id.to_string(),
            why: why.into(),
            on_failure: Vec::new(),
            effect: Effect::Rename {
                from: from.to_string(),
                to: to.to_string(),
            },
        }
    }
    pub fn swarm(id: &str, why: impl Into<String>, op: swarm::SwarmOp) -> Action {
        Action {
            id: id.to_string(),
            why: why.into(),
            on_failure: Vec::new(),
            effect: Effect::Swarm(op),
        }
    }
    pub fn remove(id: &str, why: impl Into<String>, path: &str) -> Action {
        Action {
            id: id.to_string(),
            why: why.into(),
            on_failure: Vec::new(),
            effect: Effect::Remove {
                path: path.to_string(),
            },
        }
    }

    /// The same command, stopped after `seconds` (a wait with a bound): the action then fails.
    pub fn within(mut self, seconds: u64) -> Action {
        if let Effect::Run { limit_seconds, .. } = &mut self.effect {
            *limit_seconds = Some(seconds);
        }
        self
    }

    /// The same action, undone by `undo` (then run again) when it fails.
    pub fn or_else_undo(mut self, undo: Vec<Action>) -> Action {
        self.on_failure = undo;
        self
    }

    pub fn mkdir(id: &str, why: impl Into<String>, path: &str, mode: u32) -> Action {
        Action {
            id: id.to_string(),
            why: why.into(),
            on_failure: Vec::new(),
            effect: Effect::Mkdir {
                path: path.to_string(),
                mode,
            },
        }
    }
}

/// Changed lines of a file shown in the text plan (`--json` has the whole content).
const SHOWN_LINES: usize = 24;

/// The plan's text form: one line per action, file changes shown line by line.
impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.effect {
            Effect::Run {
                argv,
                limit_seconds,
            } => {
                write!(f, "run    {}", Cmd { argv: argv.clone() })?;
                if let Some(s) = limit_seconds {
                    write!(f, " (stopped after {s} s)")?;
                }
            }
            Effect::Mkdir { path, mode } => write!(f, "mkdir  {path} ({mode:04o})")?,
            Effect::Rename { from, to } => write!(f, "rename {from} -> {to}")?,
            Effect::Remove { path } => write!(f, "remove {path}")?,
            Effect::Swarm(op) => write!(f, "swarm  {op}")?,
            Effect::Write {
                path,
                mode,
                content,
                previous,
                ..
            } => {
                write!(f, "write  {path} ({mode:04o})")?;
                let old: Vec<&str> = previous
                    .as_deref()
                    .map(|p| p.lines().collect())
                    .unwrap_or_default();
                let new: Vec<&str> = content.lines().collect();
                let removed = old.iter().filter(|l| !new.contains(l)).map(|l| ("-", l));
                let added = new.iter().filter(|l| !old.contains(l)).map(|l| ("+", l));
                let lines: Vec<_> = removed.chain(added).collect();
                for (sign, l) in lines.iter().take(SHOWN_LINES) {
                    write!(f, "\n         {sign} {l}")?;
                }
                if lines.len() > SHOWN_LINES {
                    write!(
                        f,
                        "\n         ... {} more changed line(s)",
                        lines.len() - SHOWN_LINES
                    )?;
                }
            }
        }
        write!(f, "    # {}", self.why)?;
        if !self.on_failure.is_empty() {
            let undo: Vec<String> = self.on_failure.iter().map(|u| u.undo_text()).collect();
            write!(
                f,
                "\n         if it fails: {}, then run it again",
                undo.join(", ")
            )?;
        }
        Ok(())
    }
}

impl Action {
    /// One line for an undo step: what it puts back.
    pub(super) fn undo_text(&self) -> String {
        match &self.effect {
            Effect::Write { path, .. } => format!("put back the previous {path}"),
            Effect::Remove { path } => format!("remove {path}"),
            Effect::Rename { from, to } => format!("rename {from} back to {to}"),
            Effect::Run { argv, .. } => format!("`{}`", Cmd { argv: argv.clone() }),
            Effect::Mkdir { path, .. } => format!("mkdir {path}"),
            Effect::Swarm(op) => op.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_text_shows_changed_lines_and_bounds_long_files() {
        let a = Action::write(
            "t",
            "why",
            "/etc/x",
            0o644,
            "a\nb\nc\n".into(),
            Some("a\nold\n".into()),
        );
        assert_eq!(
            a.to_string(),
            "write  /etc/x (0644)\n         - old\n         + b\n         + c    # why"
        );
        let long: String = (0..30).map(|i| format!("line {i}\n")).collect();
        let a = Action::write("t", "why", "/etc/y", 0o600, long, None);
        let s = a.to_string();
        assert!(s.contains("+ line 23\n") && !s.contains("line 24"), "{s}");
        assert!(s.contains("... 6 more changed line(s)"), "{s}");
        assert_eq!(
            Action::rename("t", "w", "/a", "/a.bk").to_string(),
            "rename /a -> /a.bk    # w"
        );
    }

    #[test]
    fn a_bounded_command_says_its_bound_in_the_plan_and_the_report() {
        let a = Action::run("t", "w", Cmd::new("tar").arg("--list")).within(900);
        assert_eq!(
            a.to_string(),
            "run    tar --list (stopped after 900 s)    # w"
        );
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["limit_seconds"], 900);
        let plain = serde_json::to_value(Action::run("t", "w", Cmd::new("true"))).unwrap();
        assert!(plain.get("limit_seconds").is_none(), "{plain}");
        // Only a command has a bound to say.
        assert_eq!(
            Action::remove("t", "w", "/x").within(5).to_string(),
            "remove /x    # w"
        );
    }
}
