//! The check as people, Xymon and Prometheus read it. Pure functions of [`Checked`].

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::check::{Checked, Status};
use crate::host::text::escape_controls;
use crate::profile::Check;

/// A short table: the verdict, then one line per item (details indented below). What an
/// engine, a manager or the mount table said is shown with its control characters escaped: it
/// cannot add lines nor drive the terminal.
pub fn text(c: &Checked) -> String {
    let mut out = format!("{}: {}\n", escape_controls(&c.host), verdict(c));
    let width = c.items.iter().map(|i| i.check.len()).max().unwrap_or(0);
    for i in &c.items {
        let _ = writeln!(
            out,
            "{:<6}  {:<width$}  {}",
            i.status.as_str(),
            escape_controls(&i.check),
            escape_controls(&i.summary)
        );
        for d in &i.details {
            let _ = writeln!(out, "{:<6}  {:<width$}    {}", "", "", escape_controls(d));
        }
    }
    out
}

/// `red: 1 red, 2 yellow, 9 green (12 checks) in 0.21 s`.
pub fn verdict(c: &Checked) -> String {
    let mut counts = Vec::new();
    for s in [Status::Red, Status::Yellow, Status::Green, Status::Clear] {
        let n = c.count(s);
        if n > 0 {
            counts.push(format!("{n} {}", s.as_str()));
        }
    }
    format!(
        "{} ({}) in {:.2} s",
        c.status.as_str(),
        counts.join(", "),
        c.duration_ms as f64 / 1000.0
    )
}

pub fn json(c: &Checked) -> String {
    serde_json::to_string_pretty(c).expect("the check serializes")
}

/// The status message as xymon(1) defines it: `status+LIFETIME HOST.COLUMN COLOR TEXT`, the host
/// name's dots as commas; the first line is the date and a summary, the details follow, one line
/// per item with its color as `&COLOR`. The lifetime (minutes) is three check intervals, so one
/// late run does not turn the column purple.
pub fn xymon(c: &Checked, cfg: &Check) -> String {
    let lifetime = cfg.interval_minutes.get().saturating_mul(3).max(10);
    let mut out = format!(
        "status+{lifetime} {}.{} {} {} - {}\n\n",
        xymon_host(&c.host),
        cfg.xymon_column,
        c.status.as_str(),
        date(c.time),
        summary(c)
    );
    for i in &c.items {
        let _ = writeln!(
            out,
            "&{} {}: {}",
            i.status.as_str(),
            markup_free(&i.check),
            markup_free(&i.summary)
        );
        for d in &i.details {
            let _ = writeln!(out, "    {}", markup_free(d));
        }
    }
    let _ = writeln!(
        out,
        "\nswarmnode {} checked in {} ms",
        env!("CARGO_PKG_VERSION"),
        c.duration_ms
    );
    out
}

/// The host as Xymon names it: dots as commas; anything but letters, digits, `-` and `_` as `_`
/// (the kernel's host name is not trusted to be a word).
fn xymon_host(h: &str) -> String {
    h.chars()
        .map(|c| match c {
            '.' => ',',
            c if c.is_ascii_alphanumeric() || c == '-' || c == '_' => c,
            _ => '_',
        })
        .collect()
}

/// The first line's summary: all well, or the worst item.
fn summary(c: &Checked) -> String {
    match c
        .items
        .iter()
        .filter(|i| i.status >= Status::Yellow)
        .max_by_key(|i| i.status)
    {
        None => format!("swarmnode: all {} checks OK", c.count(Status::Green)),
        Some(worst) => format!(
            "swarmnode: {} red, {} yellow; {}: {}",
            c.count(Status::Red),
            c.count(Status::Yellow),
            markup_free(&worst.check),
            markup_free(&worst.summary)
        ),
    }
}

/// Text for Xymon, which shows status messages as HTML: one line, no control characters, and
/// `&`, `<`, `>` escaped, so nothing an engine, a manager or the mount table says becomes markup.
fn markup_free(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `Sun Nov 22 10:15:00 UTC 2026`, as date(1) prints it in UTC.
pub fn date(unix: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} UTC {y}",
        DAYS[(days % 7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// node_exporter's textfile format: every metric a gauge with HELP and TYPE once, `swarmnode_`
/// names with their unit; `swarmnode_check_status{check}` is 0 green, 1 yellow, 2 red (clear
/// items are left out).
pub fn prometheus(c: &Checked) -> String {
    let mut families: BTreeMap<&str, (&str, Vec<String>)> = BTreeMap::new();
    let mut add = |name: &'static str, help: &'static str, labels: &[(&str, String)], v: f64| {
        let l: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
            .collect();
        let sample = if l.is_empty() {
            format!("{name} {}", number(v))
        } else {
            format!("{name}{{{}}} {}", l.join(","), number(v))
        };
        families
            .entry(name)
            .or_insert((help, Vec::new()))
            .1
            .push(sample);
    };
    const STATUS_HELP: &str = "status of one check: 0 green, 1 yellow, 2 red";
    for i in &c.items {
        if i.status != Status::Clear {
            let v = f64::from(i.status.exit_code());
            add(
                "swarmnode_check_status",
                STATUS_HELP,
                &[("check", i.check.clone())],
                v,
            );
        }
        for m in &i.metrics {
            add(m.name, m.help, &m.labels, m.value);
        }
    }
    add(
        "swarmnode_status",
        "the worst status of all checks: 0 green, 1 yellow, 2 red",
        &[],
        f64::from(c.status.exit_code()),
    );
    add(
        "swarmnode_check_timestamp_seconds",
        "when the check ran (seconds since the epoch)",
        &[],
        c.time as f64,
    );
    add(
        "swarmnode_check_duration_seconds",
        "how long the check took",
        &[],
        c.duration_ms as f64 / 1000.0,
    );
    let mut out = String::new();
    for (name, (help, samples)) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for s in samples {
            let _ = writeln!(out, "{s}");
        }
    }
    out
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Item, Metric};

    fn checked() -> Checked {
        Checked {
            host: "node7.dccn.nl".into(),
            status: Status::Yellow,
            time: 1_795_342_500, // 2026-11-22 10:15:00 UTC, a Sunday
            duration_ms: 210,
            items: vec![
                Item::new(
                    "storage.thinpool",
                    Status::Green,
                    "metadata 4.1%, data 12.0%",
                )
                .metric(Metric::new("swarmnode_thinpool_data_ratio", "data", 0.12)),
                Item::new(
                    "engine.config",
                    Status::Yellow,
                    "daemon.json differs: live-restore",
                )
                .detail("`swarmnode apply`"),
                Item::new("mounts:/home", Status::Green, "answered")
                    .metric(Metric::new("swarmnode_nfs_up", "up", 1.0).label("path", "/ho\"me")),
                Item::new("swarm", Status::Clear, "no swarm section"),
            ],
        }
    }

    #[test]
    fn dates_as_date_prints_them() {
        assert_eq!(date(0), "Thu Jan  1 00:00:00 UTC 1970");
        assert_eq!(date(1_795_342_500), "Sun Nov 22 10:15:00 UTC 2026");
        assert_eq!(date(951_782_400), "Tue Feb 29 00:00:00 UTC 2000");
    }

    #[test]
    fn text_escapes_what_came_from_outside() {
        let mut c = checked();
        c.host = "node\u{1b}[2J".into();
        c.items[1].summary = "boom\nred    swarm.node  forged\u{1b}[31m".into();
        c.items[1].details = vec!["a\rb".into()];
        let t = text(&c);
        assert!(t.starts_with("node\\u{1b}[2J: "), "{t}");
        assert!(
            t.contains("boom\\nred    swarm.node  forged\\u{1b}[31m"),
            "{t}"
        );
        assert!(t.contains("a\\rb"), "{t}");
        assert!(!t.chars().any(|ch| ch.is_control() && ch != '\n'), "{t:?}");
        assert_eq!(
            t.lines().count(),
            1 + c.items.len() + c.items.iter().map(|i| i.details.len()).sum::<usize>()
        );
    }

    #[test]
    fn xymon_status_message() {
        let x = xymon(&checked(), &Check::default());
        let first = x.lines().next().unwrap();
        assert_eq!(
            first,
            "status+15 node7,dccn,nl.swarmnode yellow Sun Nov 22 10:15:00 UTC 2026 - swarmnode: \
             0 red, 1 yellow; engine.config: daemon.json differs: live-restore"
        );
        assert_eq!(x.lines().nth(1), Some(""));
        assert!(x.contains("\n&yellow engine.config: daemon.json differs: live-restore\n    `swarmnode apply`\n"), "{x}");
        assert!(x.contains("\n&clear swarm: no swarm section\n"), "{x}");
        let mut hostile = checked();
        hostile.host = "evil host.x".into();
        hostile.items[0].details = vec!["\u{1b}]0;owned\u{7}\nred fake".into()];
        hostile.items[1].summary = "<script>&\nstatus+1 other.swarmnode green".into();
        let x = xymon(&hostile, &Check::default());
        assert!(
            x.starts_with("status+15 evil_host,x.swarmnode yellow "),
            "{x}"
        );
        assert!(
            x.contains("&lt;script&gt;&amp; status+1 other.swarmnode green"),
            "{x}"
        );
        assert_eq!(
            x.lines().filter(|l| l.starts_with("status")).count(),
            1,
            "{x}"
        );
    }

    #[test]
    fn prometheus_textfile() {
        let p = prometheus(&checked());
        assert!(p.contains("# TYPE swarmnode_check_status gauge\n"), "{p}");
        assert!(
            p.contains("swarmnode_check_status{check=\"engine.config\"} 1\n"),
            "{p}"
        );
        assert!(
            !p.contains("check=\"swarm\""),
            "clear items are left out: {p}"
        );
        assert!(
            p.contains("swarmnode_nfs_up{path=\"/ho\\\"me\"} 1\n"),
            "{p}"
        );
        assert!(p.contains("swarmnode_thinpool_data_ratio 0.12\n"), "{p}");
        assert!(p.contains("swarmnode_status 1\n"), "{p}");
        assert_eq!(p.matches("# HELP swarmnode_check_status").count(), 1);
        // Every sample line is NAME[{...}] VALUE.
        for l in p.lines().filter(|l| !l.starts_with('#')) {
            let (_, v) = l.rsplit_once(' ').unwrap();
            assert!(v.parse::<f64>().is_ok(), "{l}");
        }
    }

    #[test]
    fn text_table() {
        let t = text(&checked());
        assert!(
            t.starts_with("node7.dccn.nl: yellow (1 yellow, 2 green, 1 clear) in 0.21 s\n"),
            "{t}"
        );
        assert!(
            t.contains("yellow  engine.config     daemon.json differs: live-restore\n"),
            "{t}"
        );
    }
}
