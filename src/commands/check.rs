//! `check`: the node's health, read-only: no lock, no report.json, nothing written but what
//! `--textfile` names. The exit code is the worst status's (0 green, 1 yellow, 2 red).

use crate::cli::{CheckArgs, Cli};
use crate::error::{Refusal, Result};
use crate::host::Host;
use crate::profile::StorageOverrides;

use crate::profile::DEFAULT_PATH;

pub fn run(cli: &Cli, a: &CheckArgs) -> Result<i32> {
    let (profile, read) = super::load_profile(cli, &StorageOverrides::default())?;
    if !read {
        return Err(Refusal::new(
            "check",
            "the node",
            format!("there is no profile at {DEFAULT_PATH}"),
        )
        .remedy("check reads what the node should be from its profile: give --profile FILE")
        .into());
    }
    let host = Host::new(&cli.root);
    let format = if cli.json {
        crate::check::Format::Json
    } else {
        a.format
    };
    let outputs = crate::check::Outputs {
        xymon: a.xymon.clone(),
        textfile: a.textfile.clone(),
    };
    crate::check::run(&host, &profile, format, cli.quiet, &outputs)
}
