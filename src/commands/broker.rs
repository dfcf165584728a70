//! `broker`: on a manager. Alone, the forced command sshd runs for the broker user: one request
//! of a fixed grammar answered or refused for the caller its key names, and logged (the journal).
//! `authorized-keys` is what sshd asks at each login; `bootstrap`, `keys` and `revoke` are root's.
//! No profile, no lock, no report.json.

use crate::broker::{self, Caller};
use crate::cli::{BrokerArgs, BrokerCommand, Cli};
use crate::error::Result;
use crate::host::Host;

pub fn run(cli: &Cli, a: &BrokerArgs) -> Result<i32> {
    let host = Host::new(&cli.root);
    let mut out = std::io::stdout().lock();
    match &a.command {
        None => {
            let caller = Caller::from_args(
                a.bootstrap.as_deref(),
                a.expires,
                a.node.as_deref(),
                a.key.as_deref(),
            );
            let env = |k: &str| std::env::var(k).ok();
            Ok(broker::run(&host, caller, &env, &mut out))
        }
        Some(BrokerCommand::AuthorizedKeys { user }) => {
            Ok(broker::authorized::run(&host, user, &mut out))
        }
        Some(BrokerCommand::Bootstrap { ttl, out }) => broker::admin::bootstrap(&host, ttl, out),
        Some(BrokerCommand::Keys) => broker::admin::keys(&host, cli.json),
        Some(BrokerCommand::Revoke { what }) => broker::admin::revoke(&host, what),
    }
}
