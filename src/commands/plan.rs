//! `plan`: apply's steps, observed and planned, nothing changed: no lock, no report.json. It
//! shows exactly what `apply` would do (the same code path, minus the effects).

use crate::cli::{Cli, StorageArgs};
use crate::error::Result;
use crate::host::Host;

use super::{Spec, Steps};

pub fn run(cli: &Cli, a: &StorageArgs) -> Result<i32> {
    let spec = Spec {
        name: "plan",
        steps: Steps::Every,
        plans_only: true,
        doer: "apply",
    };
    let offline = Host::new(&cli.root).offline().map(str::to_string);
    super::run_steps(cli, &spec, super::apply::options(a, offline, false))
}
