//! sshd's configuration for the broker's user alone: one `Match User` block, in a drop-in where
//! the distribution's sshd_config includes sshd_config.d (Debian, EL9) and at the end of
//! sshd_config where it does not (EL8). The block:
//!
//! ```text
//! Match User swarmnode-broker
//!     AuthorizedKeysFile none
//!     AuthorizedKeysCommand /usr/sbin/swarmnode broker authorized-keys %u
//!     AuthorizedKeysCommandUser swarmnode-broker
//!     AuthenticationMethods publickey
//!     AllowTcpForwarding no   (and no agent, X11, stream-local forwarding, tunnel or tty)
//! ```
//!
//! (`PermitUserEnvironment` is not allowed in a Match block; it is checked to be `no`, its
//! default.) A changed configuration is tried first: the whole of it, with the candidate in its
//! place, in a folder of its own, through `sshd -T` for the broker user, which must parse it
//! and must give that user exactly these settings (another Match block that wins is named).
//! Only then is it written; sshd is reloaded after (through systemd), and the reload is owed
//! across a stop ([`state::SSHD_PENDING`]).

use std::collections::BTreeMap;

use crate::error::{Error, Refusal, Result};
use crate::host::cmd::Cmd;
use crate::host::state;
use crate::host::{Action, Host, systemd};
use crate::steps::plan::{StepPlan, add_write};

pub const MAIN: &str = "/etc/ssh/sshd_config";
pub const DROPIN_DIR: &str = "/etc/ssh/sshd_config.d";
pub const DROPIN: &str = "/etc/ssh/sshd_config.d/50-swarmnode-broker.conf";
const BEGIN: &str = "# BEGIN swarmnode broker: the broker's user (swarmnode writes this block)";
const END: &str = "# END swarmnode broker";

/// What the broker's user must get, as `sshd -T` writes it (keyword, value).
fn wanted(user: &str, command: &str) -> Vec<(&'static str, String)> {
    let no = |k: &'static str| (k, "no".to_string());
    vec![
        ("authorizedkeysfile", "none".into()),
        (
            "authorizedkeyscommand",
            format!("{command} broker authorized-keys %u"),
        ),
        ("authorizedkeyscommanduser", user.into()),
        ("authenticationmethods", "publickey".into()),
        ("pubkeyauthentication", "yes".into()),
        no("allowtcpforwarding"),
        no("allowagentforwarding"),
        no("allowstreamlocalforwarding"),
        no("x11forwarding"),
        no("permittunnel"),
        no("permittty"),
        no("permituserenvironment"),
    ]
}

/// The Match block (the keywords as sshd_config spells them).
pub fn block(user: &str, command: &str) -> String {
    format!(
        "Match User {user}\n\
         \x20   AuthorizedKeysFile none\n\
         \x20   AuthorizedKeysCommand {command} broker authorized-keys %u\n\
         \x20   AuthorizedKeysCommandUser {user}\n\
         \x20   AuthenticationMethods publickey\n\
         \x20   PubkeyAuthentication yes\n\
         \x20   AllowTcpForwarding no\n\
         \x20   AllowAgentForwarding no\n\
         \x20   AllowStreamLocalForwarding no\n\
         \x20   X11Forwarding no\n\
         \x20   PermitTunnel no\n\
         \x20   PermitTTY no\n"
    )
}

fn dropin_text(block: &str) -> String {
    format!(
        "# written by swarmnode (the profile's broker section): the broker's user logs in with the\n\
         # keys kept in the swarm, and can run the broker only. `swarmnode reset` takes it away.\n\
         {block}"
    )
}

/// sshd_config with swarmnode's block at its end (an earlier one taken out first).
pub fn main_with_block(main: &str, block: &str) -> String {
    let mut out = main_without_block(main);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("{BEGIN}\n{block}{END}\n"));
    out
}

/// sshd_config without swarmnode's block: what reset leaves.
pub fn main_without_block(main: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in main.split_inclusive('\n') {
        match line.trim_end() {
            l if l == BEGIN => inside = true,
            l if l == END && inside => inside = false,
            _ if inside => {}
            _ => out.push_str(line),
        }
    }
    out
}

/// The first word of a config line, lowercased, and the rest.
fn keyword(line: &str) -> Option<(String, &str)> {
    let l = line.trim();
    if l.is_empty() || l.starts_with('#') {
        return None;
    }
    let (k, rest) = l
        .split_once(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or((l, ""));
    Some((
        k.to_ascii_lowercase(),
        rest.trim_start_matches(['=', ' ', '\t']),
    ))
}

/// Whether sshd_config includes swarmnode's drop-in folder (`dir` as sshd names it) before any
/// Match block: an Include inside a Match block is conditional, so it does not count.
pub fn includes_dropins(main: &str, dir: &str) -> bool {
    for line in main.lines() {
        match keyword(line) {
            Some((k, _)) if k == "match" => return false,
            Some((k, rest))
                if k == "include"
                    && rest
                        .split_whitespace()
                        .any(|p| p.trim_matches('"') == format!("{dir}/*.conf")) =>
            {
                return true;
            }
            _ => {}
        }
    }
    false
}

/// `sshd -T` output: each keyword (lowercase) with its values, in order.
pub fn parse_effective(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once(' ') {
            m.entry(k.to_ascii_lowercase())
                .or_default()
                .push(v.trim().to_string());
        }
    }
    m
}

/// Settings that would let the broker's user in another way than its keys' forced command
/// (a certificate, principals, another forced command): none, or not written at all (older
/// sshd -T leaves some out).
const NONE_OR_UNSET: &[&str] = &[
    "forcecommand",
    "trustedusercakeys",
    "authorizedprincipalsfile",
    "authorizedprincipalscommand",
];

/// The environment the broker reads (the local engine's address): never from the client.
const BROKER_ENV: &str = "DOCKER_HOST";

/// sshd's AcceptEnv pattern matching (`*` and `?`), for one name.
fn env_pattern_matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// Where the effective settings for the broker's user are not what it must get.
pub fn not_as_wanted(
    eff: &BTreeMap<String, Vec<String>>,
    user: &str,
    command: &str,
) -> Vec<String> {
    let first = |k: &str| {
        eff.get(k)
            .and_then(|vs| vs.first())
            .map(String::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut wrong: Vec<String> = wanted(user, command)
        .into_iter()
        .filter_map(|(k, v)| {
            let have = first(k);
            (!have.eq_ignore_ascii_case(&v)).then(|| format!("{k} is {have:?}, not {v:?}"))
        })
        .collect();
    for k in NONE_OR_UNSET {
        let have = first(k);
        if !have.is_empty() && !have.eq_ignore_ascii_case("none") {
            wrong.push(format!("{k} is {have:?}, not \"none\""));
        }
    }
    // `acceptenv A B` and `setenv N=V` lines: none may give the broker its DOCKER_HOST.
    let words = |k: &str| -> Vec<String> {
        eff.get(k)
            .into_iter()
            .flatten()
            .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .collect()
    };
    if let Some(p) = words("acceptenv")
        .into_iter()
        .find(|p| env_pattern_matches(p, BROKER_ENV))
    {
        wrong.push(format!(
            "acceptenv {p:?} takes {BROKER_ENV} from the client"
        ));
    }
    if let Some(v) = words("setenv")
        .into_iter()
        .find(|v| v.trim_matches('"').starts_with(&format!("{BROKER_ENV}=")))
    {
        wrong.push(format!("setenv {v:?} sets {BROKER_ENV}"));
    }
    wrong
}

/// `sshd -T` for the broker's user on the configuration `main` (as sshd names it).
fn effective(h: &Host, main: &str, user: &str) -> Result<BTreeMap<String, Vec<String>>> {
    let o = h.runner.output(&Cmd::new("sshd").args([
        "-T",
        "-f",
        main,
        "-C",
        &format!("user={user},host=localhost,addr=127.0.0.1"),
    ]))?;
    if o.code != 0 {
        return Err(Refusal::new(
            "broker",
            MAIN,
            format!(
                "sshd does not take the configuration: {}",
                o.stderr.trim().replace('\n', " / ")
            ),
        )
        .remedy("the file was left as it is; fix what sshd names")
        .into());
    }
    Ok(parse_effective(&o.stdout))
}

/// The candidate configuration, tried whole in a folder of its own: sshd_config (its drop-in
/// Include pointed there when the candidate is a drop-in), the drop-ins there now, the
/// candidate. Its settings for the broker's user.
fn try_candidate(
    h: &Host,
    main: &str,
    dropin: Option<&str>,
    user: &str,
) -> Result<BTreeMap<String, Vec<String>>> {
    let io = |e| {
        Error::io(
            "broker: cannot make a folder to try sshd's configuration in",
            e,
        )
    };
    let t = tempfile::Builder::new()
        .prefix("swarmnode-sshd-")
        .tempdir()
        .map_err(io)?;
    let tried = t.path().join("sshd_config");
    let mut text = main.to_string();
    if let Some(d) = dropin {
        let real_dir = h.tool_path(DROPIN_DIR)?;
        let dir = t.path().join("sshd_config.d");
        for (name, kind) in crate::host::fs::entries(&h.path(DROPIN_DIR)?) {
            if kind == crate::host::fs::Kind::File && name.ends_with(".conf") {
                let body = h
                    .read_text(&format!("{DROPIN_DIR}/{name}"))?
                    .unwrap_or_default();
                crate::host::fs::write_generated(&dir.join(&name), body.as_bytes()).map_err(io)?;
            }
        }
        let name = DROPIN.rsplit('/').next().expect("a file name");
        crate::host::fs::write_generated(&dir.join(name), d.as_bytes()).map_err(io)?;
        text = text.replace(
            &format!("{real_dir}/*.conf"),
            &format!("{}/*.conf", dir.display()),
        );
    }
    crate::host::fs::write_generated(&tried, text.as_bytes()).map_err(io)?;
    effective(h, &tried.to_string_lossy(), user)
}

/// Refused (65) when sshd, with swarmnode's block, still gives the user other settings.
fn refuse_wrong(
    eff: &BTreeMap<String, Vec<String>>,
    user: &str,
    command: &str,
    path: &str,
) -> Result<()> {
    let wrong = not_as_wanted(eff, user, command);
    if wrong.is_empty() {
        return Ok(());
    }
    Err(Refusal::new(
        "broker",
        format!("sshd's configuration for {user}"),
        format!(
            "with swarmnode's block in {path}, sshd still gives {user}: {} (an earlier Match \
             block, or a global setting, wins)",
            wrong.join("; ")
        ),
    )
    .remedy(format!(
        "change the other setting, or make it not apply to {user}; `sshd -T -C \
         user={user},host=localhost,addr=127.0.0.1` shows what sshd gives"
    ))
    .into())
}

/// sshd's configuration for the broker's user, tried before it is written; the reload after it,
/// and one still owed. What sshd gives the broker's user with it.
pub fn add_config(
    h: &Host,
    user: &str,
    command: &str,
    p: &mut StepPlan,
) -> Result<BTreeMap<String, Vec<String>>> {
    let main = h.read_text(MAIN)?.ok_or_else(|| {
        Error::from(
            Refusal::new("broker", MAIN, "it does not exist: sshd is not installed")
                .remedy("install openssh-server"),
        )
    })?;
    let b = block(user, command);
    let dropins = includes_dropins(&main, &h.tool_path(DROPIN_DIR)?);
    let (path, text) = if dropins {
        (DROPIN, dropin_text(&b))
    } else {
        (MAIN, main_with_block(&main, &b))
    };
    let same = h.read_text(path)?.as_deref() == Some(text.as_str());
    let eff = if same {
        effective(h, &h.tool_path(MAIN)?, user)?
    } else if dropins {
        try_candidate(h, &main, Some(&text), user)?
    } else {
        try_candidate(h, &text, None, user)?
    };
    refuse_wrong(&eff, user, command, path)?;
    p.facts.push(format!(
        "sshd's configuration for {user}: {}",
        if dropins {
            "a drop-in (sshd_config includes sshd_config.d)"
        } else {
            "a block at the end of sshd_config (no drop-in folder included)"
        }
    ));
    add_write_and_reload(h, same, path, text, p)?;
    Ok(eff)
}

/// The file written (a reload owed first, so a stop in between still reloads), sshd reloaded, the
/// debt paid; or only the reload a stopped run owes.
fn add_write_and_reload(
    h: &Host,
    same: bool,
    path: &str,
    text: String,
    p: &mut StepPlan,
) -> Result<()> {
    let owed = state::SSHD_PENDING.exists(h)?;
    if !same {
        if !owed {
            p.actions.push(state::SSHD_PENDING.write(
                "broker.sshd-pending",
                "a reload is owed until it is done",
                "reload\n".into(),
                None,
            ));
        }
        add_write(
            h,
            p,
            "broker.sshd",
            "the broker's user, for sshd",
            path,
            0o600,
            text,
        )?;
    }
    if !same || owed {
        add_reload(h, p)?;
        p.actions
            .push(state::SSHD_PENDING.remove("broker.sshd-done", "sshd reloaded"));
    }
    Ok(())
}

/// sshd reloaded through systemd (`try-reload-or-restart`: nothing when sshd is not running);
/// offline, nothing (sshd starts at boot with the file as it is).
pub fn add_reload(h: &Host, p: &mut StepPlan) -> Result<()> {
    if let Some(why) = h.offline() {
        p.facts.push(format!(
            "sshd is not reloaded ({why}): it reads the file when it starts"
        ));
        return Ok(());
    }
    let debian = [
        "/usr/lib/systemd/system/ssh.service",
        "/lib/systemd/system/ssh.service",
    ];
    let mut unit = "sshd.service";
    for u in debian {
        if h.exists(u)? {
            unit = "ssh.service";
        }
    }
    p.actions.push(Action::run(
        "broker.sshd-reload",
        "sshd reads its configuration again",
        systemd::online(&["try-reload-or-restart", unit]),
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: &str = "/usr/sbin/swarmnode";

    #[test]
    fn the_block_goes_at_the_end_once_and_comes_out_whole() {
        let main = "Port 22\n# a comment\nUsePAM yes\n";
        let b = block("swarmnode-broker", CMD);
        let with = main_with_block(main, &b);
        assert!(
            with.starts_with(main) && with.ends_with(&format!("{b}{END}\n")),
            "{with}"
        );
        assert_eq!(main_with_block(&with, &b), with, "written once");
        assert_eq!(main_without_block(&with), main);
        assert_eq!(main_without_block(main), main);
        assert!(
            b.contains("AuthorizedKeysCommand /usr/sbin/swarmnode broker authorized-keys %u\n")
        );
    }

    #[test]
    fn only_an_include_before_any_match_block_counts() {
        let dir = "/etc/ssh/sshd_config.d";
        assert!(includes_dropins(
            "Include /etc/ssh/sshd_config.d/*.conf\nPort 22\n",
            dir
        ));
        assert!(includes_dropins(
            "include=/etc/ssh/sshd_config.d/*.conf\n",
            dir
        ));
        // EL8: no Include; one inside a Match block is conditional.
        assert!(!includes_dropins("Port 22\nUsePAM yes\n", dir));
        assert!(!includes_dropins(
            "Match User x\n  Include /etc/ssh/sshd_config.d/*.conf\n",
            dir
        ));
        assert!(!includes_dropins(
            "#Include /etc/ssh/sshd_config.d/*.conf\n",
            dir
        ));
    }

    #[test]
    fn what_sshd_gives_the_user_is_held_against_what_it_must_get() {
        // `sshd -T -C user=...` of OpenSSH 9.2 with the block in place, in part.
        let mut out = String::from(
            "port 22\npidfile /run/sshd.pid\nauthorizedkeysfile none\n\
             authorizedkeyscommand /usr/sbin/swarmnode broker authorized-keys %u\n\
             authorizedkeyscommanduser swarmnode-broker\nauthenticationmethods publickey\n\
             pubkeyauthentication yes\nallowtcpforwarding no\nallowagentforwarding no\n\
             allowstreamlocalforwarding no\nx11forwarding no\npermittunnel no\npermittty no\n\
             permituserenvironment no\nhostkey /etc/ssh/ssh_host_ed25519_key\n",
        );
        let eff = parse_effective(&out);
        assert!(not_as_wanted(&eff, "swarmnode-broker", CMD).is_empty());
        // What OpenSSH 9.2 also writes by default, and Debian's and EL's AcceptEnv: all well.
        let defaults = "forcecommand none\ntrustedusercakeys none\nauthorizedprincipalsfile none\n\
                        authorizedprincipalscommand none\nacceptenv LANG\nacceptenv LC_*\n";
        let with = format!("{out}{defaults}");
        assert!(not_as_wanted(&parse_effective(&with), "swarmnode-broker", CMD).is_empty());
        // A review's finding: another way in (a user CA, a forced command of its own), or the
        // client's DOCKER_HOST, is named.
        for (line, named) in [
            (
                "trustedusercakeys /etc/ssh/user_ca.pub\n",
                "trustedusercakeys is \"/etc/ssh/user_ca.pub\"",
            ),
            ("forcecommand /bin/sh\n", "forcecommand is \"/bin/sh\""),
            ("acceptenv *\n", "acceptenv \"*\" takes DOCKER_HOST"),
            (
                "acceptenv DOCKER_*\n",
                "acceptenv \"DOCKER_*\" takes DOCKER_HOST",
            ),
            (
                "setenv DOCKER_HOST=tcp://evil:2375\n",
                "setenv \"DOCKER_HOST=tcp://evil:2375\" sets",
            ),
        ] {
            let wrong = not_as_wanted(
                &parse_effective(&format!("{out}{line}")),
                "swarmnode-broker",
                CMD,
            );
            assert!(
                wrong.iter().any(|w| w.starts_with(named)),
                "{line}: {wrong:?}"
            );
        }
        out = out.replace("allowtcpforwarding no", "allowtcpforwarding yes");
        let wrong = not_as_wanted(&parse_effective(&out), "swarmnode-broker", CMD);
        assert_eq!(wrong, ["allowtcpforwarding is \"yes\", not \"no\""]);
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_readers_panic(t in "\\PC{0,200}") {
            let _ = includes_dropins(&t, "/etc/ssh/sshd_config.d");
            let _ = parse_effective(&t);
            // Taking the block out again leaves what was there (a final newline supplied).
            let without = main_without_block(&t);
            let back = main_without_block(&main_with_block(&t, "x\n"));
            proptest::prop_assert_eq!(back.trim_end_matches('\n'), without.trim_end_matches('\n'));
        }
    }
}
