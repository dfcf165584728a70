//! `broker`: on a manager, as the forced command of the nodes' ssh key: one request of a fixed
//! grammar answered or refused, and logged (the journal). No profile, no lock, no report.json.

use crate::cli::Cli;
use crate::host::Host;

/// The request's exit status.
pub fn run(cli: &Cli) -> i32 {
    let host = Host::new(&cli.root);
    let env = |k: &str| std::env::var(k).ok();
    crate::broker::run(&host, &env, &mut std::io::stdout().lock())
}
