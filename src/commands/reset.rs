//! `reset`: the node taken apart again, in five phases (steps/reset/). Alone it plans only
//! (prints what `reset --yes` would do: no lock, no report.json); with `--yes` it acts, under the
//! lock, and writes report.json.

use crate::cli::{Cli, ResetArgs};
use crate::error::Result;
use crate::runner::Step;
use crate::steps::{self, Options};

use super::{Spec, Steps};

pub fn run(cli: &Cli, r: &ResetArgs) -> Result<i32> {
    let spec = Spec {
        name: "reset",
        steps: Steps::Table(PHASES),
        plans_only: !r.yes,
        doer: "reset --yes",
    };
    let opts = Options {
        force: r.force,
        keep_storage: r.keep_storage,
        no_drain: r.no_drain,
        drain_seconds: r.drain_timeout,
        ..Options::default()
    };
    super::run_steps(cli, &spec, opts)
}

/// The phases of `reset`, in the order they run: the node's state built by apply's steps, undone.
pub const PHASES: &[Step] = &[
    Step {
        name: "swarm",
        section: "",
        wanted: |_| true,
        plan: steps::reset::swarm::plan,
        explain: steps::swarm::explain,
    },
    Step {
        name: "broker",
        section: "",
        wanted: |_| true,
        plan: steps::reset::broker::plan,
        explain: |e| e,
    },
    Step {
        name: "engine",
        section: "",
        wanted: |_| true,
        plan: steps::reset::engine::plan,
        explain: |e| e,
    },
    Step {
        name: "storage",
        section: "",
        wanted: |r| !r.opts.keep_storage,
        plan: steps::reset::storage::plan,
        explain: |e| e,
    },
    Step {
        name: "state",
        section: "",
        wanted: |_| true,
        plan: steps::reset::state::plan,
        explain: |e| e,
    },
];
