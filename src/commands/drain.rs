//! `drain` and `activate`: one step each (steps/swarm/drain.rs), under the lock, with
//! report.json. A drain's wait is an action of its own: the report says how long it took.

use crate::cli::Cli;
use crate::error::Result;
use crate::runner::Step;
use crate::steps::{self, Options};

use super::{Spec, Steps};

pub fn run(cli: &Cli, name: &'static str, seconds: u64) -> Result<i32> {
    let spec = Spec {
        name,
        steps: Steps::Table(if name == "drain" { DRAIN } else { ACTIVATE }),
        plans_only: false,
        doer: name,
    };
    let opts = Options {
        drain_seconds: seconds,
        ..Options::default()
    };
    super::run_steps(cli, &spec, opts)
}

const DRAIN: &[Step] = &[Step {
    name: "drain",
    section: "",
    wanted: |_| true,
    plan: steps::swarm::drain::plan_drain,
    explain: steps::swarm::explain,
}];

const ACTIVATE: &[Step] = &[Step {
    name: "activate",
    section: "",
    wanted: |_| true,
    plan: steps::swarm::drain::plan_activate,
    explain: steps::swarm::explain,
}];
