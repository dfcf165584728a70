//! The time: now, in seconds since 1970; a moment written for people (UTC), and as sshd's
//! `expiry-time=` reads it (the system's time zone: OpenSSH before 8.9 has no `Z`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since 1970.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// (year, month, day, hour, minute, second) of a moment in UTC.
fn civil(epoch: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (secs / 3600) as u32,
        (secs % 3600 / 60) as u32,
        (secs % 60) as u32,
    )
}

/// Seconds since 1970 of a moment in UTC: `civil` backwards (Howard Hinnant's
/// days-from-civil).
pub fn epoch_of(y: i64, m: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * 86_400 + h * 3600 + mi * 60 + s
}

/// `2026-12-05 11:30 UTC`.
pub fn utc(epoch: u64) -> String {
    let (y, mo, d, h, mi, _) = civil(epoch as i64);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC")
}

/// `20261205T113000Z`: a moment in UTC as a file name takes it (sorts as time does).
pub fn stamp(epoch: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(epoch as i64);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// The moment of a [`stamp`], or None when it is not one.
pub fn parse_stamp(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let (y, mo, d) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (h, mi, sec) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    u64::try_from(epoch_of(y, mo, d, h, mi, sec)).ok()
}

/// `YYYYMMDDHHMMSS` in the system's time zone, as sshd reads `expiry-time=` without a `Z`
/// (OpenSSH 7.7 on). The zone's offset comes from the C library (TZ, /etc/localtime).
pub fn sshd_expiry(epoch: u64) -> String {
    let offset = local_offset(epoch as i64);
    let (y, mo, d, h, mi, s) = civil(epoch as i64 + offset);
    format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}")
}

/// The system time zone's offset from UTC at that moment, in seconds.
fn local_offset(epoch: i64) -> i64 {
    use nix::libc;
    let t: libc::time_t = epoch as libc::time_t;
    // SAFETY: localtime_r writes the struct it is given and reads `t`; both live here.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if ok { tm.tm_gmtoff as i64 } else { 0 }
}

/// A duration as people write it: `90s`, `30m`, `24h`, `7d`; seconds.
pub fn parse_duration(s: &str) -> Option<u64> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = n.parse().ok()?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_of_is_civil_backwards() {
        for e in [0i64, 1_796_476_560, 2_524_607_999, 951_782_400] {
            let (y, mo, d, h, mi, se) = civil(e);
            assert_eq!(
                epoch_of(y, mo.into(), d.into(), h.into(), mi.into(), se.into()),
                e
            );
        }
    }

    #[test]
    fn moments_as_people_and_sshd_write_them() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        // `date -u -d @1796470200` says Sat Dec 5 11:30:00 UTC 2026.
        assert_eq!(utc(1_796_470_200), "2026-12-05 11:30 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(sshd_expiry(0).len(), 14);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Some(90));
        assert_eq!(parse_duration("1m"), Some(60));
        assert_eq!(parse_duration("24h"), Some(86_400));
        assert_eq!(parse_duration("7d"), Some(604_800));
        for bad in [
            "",
            "h",
            "10",
            "1.5h",
            "-1h",
            "1w",
            "1h30m",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn no_text_or_moment_panics(t in "\\PC{0,20}", e in 0u64..=253_402_300_799) {
            let _ = parse_duration(&t);
            proptest::prop_assert_eq!(utc(e).len(), 20);
            proptest::prop_assert_eq!(sshd_expiry(e).len(), 14);
        }
    }
}
