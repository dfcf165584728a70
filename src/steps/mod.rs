//! The steps. Each one observes the host, plans the actions that would bring it to the wanted
//! state, and `apply` carries them out through [`Host::execute`]. `plan` is the same code path
//! minus the effects. Which steps a command runs, and how each is planned from the run, is the
//! command's (src/commands/).

pub mod backup;
pub mod broker_setup;
pub mod check_timer;
pub mod engine;
pub mod firstboot;
pub mod migrate;
pub mod mounts;
pub mod plan;
pub mod reset;
pub mod storage;
pub mod swarm;

pub use plan::{StepPlan, add_write};

use crate::error::Result;
use crate::host::Host;
use crate::host::docker::EngineVersion;
use crate::host::state::StorageRecord;
use crate::profile::{Profile, StorageOverrides};

/// What one run of a command is: the profile, what the command line asked (its options), and
/// what the run learns once and shares between its steps (its memo).
pub struct Run<'a> {
    pub profile: &'a Profile,
    pub opts: Options,
    pub memo: Memo,
}

/// What the command line asked of this run: one command's options (the others' are false).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Where the profile was read from (`--profile`, or the default path).
    pub profile_path: String,
    /// `plan` (or `reset` without --yes): nothing is applied.
    pub planning: bool,
    /// Why running services are out of reach (kickstart %post), when they are.
    pub offline: Option<String>,
    /// The profile's storage settings the command line overrides (`--device`, `--driver`).
    pub storage_overrides: StorageOverrides,
    pub wipe: bool,
    pub move_data: bool,
    /// `--reprovision`: a previous installation's own volumes may be made again.
    pub reprovision: bool,
    /// `--force`: reset takes out the last manager (or one whose going loses quorum) anyway;
    /// migrate-storage stops such a manager; backup stops the only manager or an autolocked one
    /// (never the leader of several); restore goes on while an old manager answers.
    pub force: bool,
    /// `reset --keep-storage`: the volumes, the fstab entry and the storage record stay.
    pub keep_storage: bool,
    /// The run's command is one step alone (`storage`, `engine`, `mounts`, `join`).
    pub alone: bool,
    /// How long a drain waits for the replicas here to run elsewhere (`drain --timeout`,
    /// `reset --drain-timeout`).
    pub drain_seconds: u64,
    /// `reset --no-drain`: the node leaves without draining first.
    pub no_drain: bool,
    /// `backup --scheduled` (the timer): a node that is not the one to back up says so and
    /// changes nothing.
    pub scheduled: bool,
    /// `restore ARCHIVE`: the archive (a path as given, made absolute).
    pub archive: Option<String>,
    /// `restore --advertise-addr`: the address the re-formed swarm's manager advertises.
    pub advertise_addr: Option<String>,
}

/// What one run learns once and shares between its steps.
#[derive(Default)]
pub struct Memo {
    /// The installed engine, read at most once, when a step first needs it (see [`Run::engine`]).
    engine: std::cell::OnceCell<Option<EngineVersion>>,
    /// What the storage step decided in this run (planned or applied), for the engine step.
    pub storage: std::cell::RefCell<Option<StorageRecord>>,
    /// This run planned a backup's manifest: one found later is its own, not an earlier run's.
    pub backup_begun: std::cell::Cell<bool>,
    /// This run planned docker's start on a restored state: a locked docker found later is this
    /// run's doing (so not a refusal: something was changed).
    pub restore_started: std::cell::Cell<bool>,
}

impl Run<'_> {
    /// The installed engine's version (`None`: no engine installed), read on first use only.
    pub fn engine(&self, host: &Host) -> Result<Option<EngineVersion>> {
        if let Some(v) = self.memo.engine.get() {
            return Ok(v.clone());
        }
        let v = crate::host::docker::engine_version(host)?;
        let _ = self.memo.engine.set(v.clone());
        Ok(v)
    }
}

/// How a step reads the engine version when it needs it.
pub type EngineLookup<'a> = &'a dyn Fn() -> Result<Option<EngineVersion>>;
