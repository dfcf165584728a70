//! Registry CAs: each `engine.registries[].ca_file` must be PEM certificates (pinned by sha256 when
//! the profile says so) and is installed as /etc/docker/certs.d/HOST:PORT/ca.crt.

use crate::error::{Refusal, Result};
use crate::host::Host;
use crate::host::fs::sha256_hex;
use crate::profile::{Engine, Registry};
use crate::steps::plan::StepPlan;

pub const CERTS_D: &str = "/etc/docker/certs.d";

/// Plans the CA of every registry; true when one changes (docker must then restart).
pub fn add(host: &Host, e: &Engine, p: &mut StepPlan) -> Result<bool> {
    let mut changed = false;
    for r in &e.registries {
        let Some(ca) = &r.ca_file else { continue };
        // Offline (kickstart %post) the CA often lives on NFS that is not mounted yet.
        if host.offline().is_some() && !host.path(ca)?.exists() {
            p.facts.push(format!(
                "offline: the CA of registry {} ({ca}) is not there yet (on NFS?): installed at \
                 first boot",
                r.host
            ));
            continue;
        }
        let (text, n) = checked_ca(host, r, ca)?;
        changed |= crate::steps::plan::add_write(
            host,
            p,
            "engine.registry-ca",
            &format!("trust registry {} ({n} certificate(s))", r.host),
            &format!("{CERTS_D}/{}/ca.crt", r.host),
            0o644,
            text,
        )?;
    }
    Ok(changed)
}

/// The CA file's text and number of certificates, or the refusal that says what is wrong with it.
fn checked_ca(host: &Host, r: &Registry, ca: &str) -> Result<(String, usize)> {
    let subject = format!("{ca} (CA of registry {})", r.host);
    let bytes = crate::host::fs::read(&host.path(ca)?)
        .map_err(|err| Refusal::new("engine", &subject, format!("it cannot be read: {err}")))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let n = check_pem(&text).map_err(|m| {
        Refusal::new(
            "engine",
            &subject,
            format!("it is not a PEM certificate: {m}"),
        )
    })?;
    if let Some(pin) = &r.ca_sha256 {
        let got = sha256_hex(&bytes);
        if !got.eq_ignore_ascii_case(pin) {
            return Err(Refusal::new(
                "engine",
                &subject,
                format!("it has sha256 {got}, but the profile pins {pin}"),
            )
            .remedy("not trusting it")
            .into());
        }
    }
    Ok((text, n))
}

/// Checks PEM certificate blocks: at least one, each BEGIN with its END and base64 in between.
pub fn check_pem(text: &str) -> std::result::Result<usize, String> {
    let mut n = 0;
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        match line {
            "-----BEGIN CERTIFICATE-----" if !inside => inside = true,
            "-----END CERTIFICATE-----" if inside => {
                inside = false;
                n += 1;
            }
            l if inside
                && !l
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c)) =>
            {
                return Err(format!("line '{l}' inside a certificate is not base64"));
            }
            l if l.starts_with("-----") => return Err(format!("unexpected '{l}'")),
            _ => {}
        }
    }
    if inside {
        return Err("a certificate has no END line".into());
    }
    if n == 0 {
        return Err("no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into());
    }
    Ok(n)
}
