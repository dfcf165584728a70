//! `swarm.certificate`: the node's swarm certificate (`swarm-node.crt`), read from its DER: how
//! many days are left of its lifetime, and whether the swarm's current root CA issued it. Swarm
//! renews a node's certificate when between half and four-fifths of its lifetime is gone; one
//! with less than a fifth left has not renewed (its managers out of reach, a CA rotation it did
//! not follow), and when it expires the node is cut off from its managers.

use crate::check::{Item, Metric, Status};

pub const CHECK: &str = "swarm.certificate";
const DAY: i64 = 86_400;

/// What the item needs of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cert {
    pub not_before: i64,
    pub not_after: i64,
    /// The issuer's distinguished name, as DER.
    pub issuer: Vec<u8>,
    /// The subject's distinguished name, as DER.
    pub subject: Vec<u8>,
    /// The authority key identifier, when the certificate has one.
    pub authority_key: Option<Vec<u8>>,
    /// The subject key identifier, when the certificate has one.
    pub subject_key: Option<Vec<u8>>,
}

/// One DER element: (tag, its content, the rest after it).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |v, &x| (v << 8) | usize::from(x));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// Every element of a constructed value's content.
fn elements(mut b: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let (t, c, rest) = tlv(b)?;
        out.push((t, c));
        b = rest;
    }
    Some(out)
}

/// A UTCTime (0x17, `YYMMDDHHMMSSZ`) or GeneralizedTime (0x18, `YYYYMMDDHHMMSSZ`), as seconds
/// since the epoch.
fn time(tag: u8, c: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(c).ok()?.strip_suffix('Z')?;
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (y, rest) = match (tag, s.len()) {
        (0x17, 12) => {
            let yy: i64 = s[..2].parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &s[2..])
        }
        (0x18, 14) => (s[..4].parse().ok()?, &s[4..]),
        _ => return None,
    };
    let n = |i: usize| rest[i..i + 2].parse::<i64>().ok();
    let (mo, d, h, mi, se) = (n(0)?, n(2)?, n(4)?, n(6)?, n(8)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(crate::host::clock::epoch_of(y, mo, d, h, mi, se))
}

/// The key identifier inside an extension's value: the AKI's `[0] keyIdentifier`, the SKI's
/// OCTET STRING.
fn key_id(oid_last: u8, value: &[u8]) -> Option<Vec<u8>> {
    let (t, c, _) = tlv(value)?;
    match (oid_last, t) {
        (0x23, 0x30) => elements(c)?
            .into_iter()
            .find(|(t, _)| *t == 0x80)
            .map(|(_, c)| c.to_vec()),
        (0x0e, 0x04) => Some(c.to_vec()),
        _ => None,
    }
}

/// A certificate from its DER.
pub fn parse_der(der: &[u8]) -> Option<Cert> {
    let (0x30, cert, _) = tlv(der)? else {
        return None;
    };
    let (0x30, tbs, _) = tlv(cert)? else {
        return None;
    };
    let mut f = elements(tbs)?.into_iter().peekable();
    if f.peek().is_some_and(|(t, _)| *t == 0xa0) {
        f.next();
    }
    let _serial = f.next().filter(|(t, _)| *t == 0x02)?;
    let _alg = f.next().filter(|(t, _)| *t == 0x30)?;
    let issuer = f.next().filter(|(t, _)| *t == 0x30)?.1;
    let validity = elements(f.next().filter(|(t, _)| *t == 0x30)?.1)?;
    let subject = f.next().filter(|(t, _)| *t == 0x30)?.1;
    let [(t0, c0), (t1, c1)] = validity.as_slice() else {
        return None;
    };
    let mut out = Cert {
        not_before: time(*t0, c0)?,
        not_after: time(*t1, c1)?,
        issuer: issuer.to_vec(),
        subject: subject.to_vec(),
        authority_key: None,
        subject_key: None,
    };
    // [3] extensions: SEQUENCE OF { OID, critical?, OCTET STRING value }.
    if let Some((_, ext)) = f.find(|(t, _)| *t == 0xa3) {
        let (0x30, list, _) = tlv(ext)? else {
            return None;
        };
        for (_, e) in elements(list)? {
            let parts = elements(e)?;
            let Some((0x06, [0x55, 0x1d, last])) = parts.first().map(|(t, c)| (*t, *c)) else {
                continue;
            };
            let Some((_, value)) = parts.iter().rev().find(|(t, _)| *t == 0x04) else {
                continue;
            };
            match last {
                0x23 => out.authority_key = key_id(0x23, value),
                0x0e => out.subject_key = key_id(0x0e, value),
                _ => {}
            }
        }
    }
    Some(out)
}

/// The first certificate of a PEM text, as DER.
pub fn pem_der(text: &str) -> Option<Vec<u8>> {
    let body = text.split("-----BEGIN CERTIFICATE-----").nth(1)?;
    let body = body.split("-----END CERTIFICATE-----").next()?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    crate::vocab::sshkey::unbase64(&b64)
}

/// Whether `root` issued `node`: by key identifiers when both have them, else by name.
fn issued_by(node: &Cert, root: &Cert) -> bool {
    match (&node.authority_key, &root.subject_key) {
        (Some(a), Some(s)) => a == s,
        _ => node.issuer == root.subject,
    }
}

/// The item: days left against the lifetime; the issuer against the swarm's root CA (`root`,
/// when it could be read).
pub fn judge(node: &Cert, root: Option<&Cert>, now: i64) -> Item {
    let left = node.not_after - now;
    let life = (node.not_after - node.not_before).max(1);
    let days = |s: i64| s as f64 / DAY as f64;
    let expires = crate::host::clock::utc(node.not_after.max(0) as u64);
    let metric = Metric::new(
        "swarmnode_swarm_certificate_seconds_left",
        "seconds until the node's swarm certificate expires",
        left as f64,
    );
    let summary = format!(
        "the node's swarm certificate has {:.1} of its {:.1} days left (expires {expires})",
        days(left),
        days(life)
    );
    let way_out = "renewal needs the managers: when it has expired, the node is cut off; leave \
                   (`docker swarm leave`) and join again (`swarmnode join`)";
    let mut item = if left < 3 * DAY {
        let why = if left <= 0 {
            format!("the node's swarm certificate expired {expires}: its managers refuse it")
        } else {
            summary
        };
        Item::new(CHECK, Status::Red, why).detail(way_out)
    } else if left * 5 < life {
        Item::new(CHECK, Status::Yellow, summary).detail(
            "swarm renews a certificate when half to four-fifths of its life is gone: this one \
             has not renewed; check that the node reaches its managers",
        )
    } else {
        Item::new(CHECK, Status::Green, summary)
    };
    if let Some(r) = root
        && !issued_by(node, r)
    {
        let what = "it was not issued by the swarm's current root CA (a CA rotation this node has \
                    not followed)";
        if item.status == Status::Green {
            item.status = Status::Yellow;
            item.summary = format!("the node's swarm certificate: {what}");
        } else {
            item = item.detail(what);
        }
        item = item.detail("it follows once it reaches its managers; else leave and join again");
    }
    item.metric(metric)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTRY_CA: &str = include_str!("../../tests/fixtures/pki/registry-ca.crt");

    #[test]
    fn a_real_certificate_is_read() {
        let c = parse_der(&pem_der(REGISTRY_CA).unwrap()).unwrap();
        assert!(c.not_after > c.not_before, "{c:?}");
        assert!(!c.issuer.is_empty() && !c.subject.is_empty());
        // Self-signed: it issued itself.
        assert!(issued_by(&c, &c));
    }

    /// A node certificate and root CA swarmkit made (a tier-3 engine's, captured).
    #[test]
    fn a_certificate_swarmkit_made_is_read_and_its_issuer_found() {
        let node = include_str!("../../tests/fixtures/pki/swarm-node.crt");
        let root = include_str!("../../tests/fixtures/pki/swarm-root-ca.crt");
        let node = parse_der(&pem_der(node).unwrap()).unwrap();
        let root = parse_der(&pem_der(root).unwrap()).unwrap();
        // notBefore Dec  5 12:20:00 2026 GMT, notAfter Mar  5 13:20:00 2027 GMT.
        assert_eq!(node.not_before, 1_796_473_200);
        assert_eq!(node.not_after - node.not_before, 90 * DAY + 3600);
        assert!(node.authority_key.is_some() && root.subject_key.is_some());
        assert!(issued_by(&node, &root));
        let i = judge(&node, Some(&root), node.not_before + DAY);
        assert_eq!(i.status, Status::Green, "{}", i.summary);
    }

    #[test]
    fn times_are_read_in_both_forms() {
        assert_eq!(time(0x17, b"700101000000Z"), Some(0));
        assert_eq!(time(0x18, b"20261205131600Z"), Some(1_796_476_560));
        assert_eq!(time(0x17, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(time(0x17, b"701301000000Z"), None);
        assert_eq!(time(0x18, b"2026120513160Z"), None);
    }

    fn cert(not_before: i64, not_after: i64) -> Cert {
        Cert {
            not_before,
            not_after,
            issuer: b"ca".to_vec(),
            subject: b"node".to_vec(),
            authority_key: Some(vec![1, 2]),
            subject_key: None,
        }
    }

    #[test]
    fn fresh_near_expiry_expired_and_another_issuer() {
        let now = 1_000 * DAY;
        let root = Cert {
            subject: b"ca".to_vec(),
            subject_key: Some(vec![1, 2]),
            ..cert(0, 10_000 * DAY)
        };
        let other = Cert {
            subject_key: Some(vec![9]),
            ..root.clone()
        };
        // 90 days of life, 60 left: green.
        assert_eq!(
            judge(&cert(now - 30 * DAY, now + 60 * DAY), Some(&root), now).status,
            Status::Green
        );
        // 90 days, 10 left (under a fifth): yellow.
        assert_eq!(
            judge(&cert(now - 80 * DAY, now + 10 * DAY), Some(&root), now).status,
            Status::Yellow
        );
        // 2 days left: red; expired: red, saying so.
        assert_eq!(
            judge(&cert(now - 88 * DAY, now + 2 * DAY), Some(&root), now).status,
            Status::Red
        );
        let i = judge(&cert(now - 91 * DAY, now - DAY), Some(&root), now);
        assert_eq!(i.status, Status::Red);
        assert!(i.summary.contains("expired"), "{}", i.summary);
        // Fresh, but not issued by the current root CA: yellow.
        let i = judge(&cert(now - 30 * DAY, now + 60 * DAY), Some(&other), now);
        assert_eq!(i.status, Status::Yellow);
        assert!(
            i.summary
                .contains("not issued by the swarm's current root CA"),
            "{}",
            i.summary
        );
    }

    proptest::proptest! {
        #[test]
        fn no_input_makes_the_parser_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..400), t in "\\PC{0,300}") {
            let _ = parse_der(&b);
            let _ = pem_der(&t);
        }
    }
}
