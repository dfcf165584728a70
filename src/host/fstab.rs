//! /etc/fstab as data: its entries (what, where, which type, which options) read from its text,
//! and its text with one line added or some taken out, every other line kept byte for byte.
//! Pure: text in, text out; the file itself is read and written through the host like any other.
//! The mounts step, `check`, the overlay2 layout, the installation scan and reset use this one
//! reading of it.

/// Where the table lives (under the root).
pub const PATH: &str = "/etc/fstab";

/// The options that turn on XFS project quotas (overlay2's size limits): either in fstab; the
/// kernel's mount table says `prjquota`.
pub const PROJECT_QUOTA: [&str; 2] = ["pquota", "prjquota"];

/// One line that mounts something: its fields as written (the mount point without a trailing
/// `/`, so `/project/` is `/project`; `/` stays `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub source: String,
    pub mount_point: String,
    /// Empty when the line has no third field.
    pub fstype: String,
    /// Empty when the line has no fourth field.
    pub options: String,
}

impl Entry {
    /// The line's entry; `None` for a blank line, a comment, or a line with fewer than two fields.
    pub fn of(line: &str) -> Option<Entry> {
        let mut f = line.split_whitespace();
        let source = f.next().filter(|s| !s.starts_with('#'))?;
        let at = f.next()?;
        let trimmed = at.trim_end_matches('/');
        Some(Entry {
            source: source.to_string(),
            mount_point: if trimmed.is_empty() { "/" } else { trimmed }.to_string(),
            fstype: f.next().unwrap_or_default().to_string(),
            options: f.next().unwrap_or_default().to_string(),
        })
    }

    /// Whether one of its options is one of `any`.
    pub fn has_option(&self, any: &[&str]) -> bool {
        self.options.split(',').any(|o| any.contains(&o))
    }
}

/// Every entry, in the file's order.
pub fn entries(text: &str) -> Vec<Entry> {
    text.lines().filter_map(Entry::of).collect()
}

/// The text with `line` appended (a missing final newline supplied first).
pub fn with_line(text: &str, line: &str) -> String {
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(line.trim_end_matches('\n'));
    out.push('\n');
    out
}

/// The text without the lines whose entry `goes` says go; comments, blank lines and every other
/// line as they are.
pub fn without(text: &str, goes: impl Fn(&Entry) -> bool) -> String {
    text.split_inclusive('\n')
        .filter(|line| !Entry::of(line).is_some_and(|e| goes(&e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_as_written() {
        let t = "# comment\n/dev/vda / ext4 defaults 0 1\n\nfs1:/home  /home nfs4 defaults,_netdev 0 0\n\
                 127.0.0.1:/srv/project /project/ nfs vers=3 0 0\n  # indented comment\n/dev/x /y\n";
        let e = entries(t);
        assert_eq!(e.len(), 4);
        assert_eq!(e[0].mount_point, "/");
        assert_eq!(
            e[1],
            Entry {
                source: "fs1:/home".into(),
                mount_point: "/home".into(),
                fstype: "nfs4".into(),
                options: "defaults,_netdev".into(),
            }
        );
        assert!(e[1].has_option(&["_netdev"]));
        assert!(!e[1].has_option(&["netdev"]));
        assert_eq!(e[2].mount_point, "/project");
        assert_eq!((e[3].fstype.as_str(), e[3].options.as_str()), ("", ""));
    }

    #[test]
    fn a_line_goes_in_and_out_and_nothing_else_moves() {
        let t = "# keep me\n/dev/vda / ext4 defaults 0 1";
        let with = with_line(t, "/dev/mapper/d /var/lib/docker xfs defaults,pquota 0 0\n");
        assert_eq!(
            with,
            "# keep me\n/dev/vda / ext4 defaults 0 1\n/dev/mapper/d /var/lib/docker xfs defaults,pquota 0 0\n"
        );
        assert_eq!(with_line("", "a b"), "a b\n");
        let back = without(&with, |e| e.mount_point == "/var/lib/docker");
        assert_eq!(back, "# keep me\n/dev/vda / ext4 defaults 0 1\n");
        assert_eq!(without(t, |_| false), t);
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_reader_panic_and_without_keeps_what_stays(t in "\\PC{0,200}") {
            let _ = entries(&t);
            proptest::prop_assert_eq!(without(&t, |_| false), t.clone());
        }
    }
}
