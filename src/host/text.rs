//! Text that came from outside (an engine, a manager, the mount table, a request) made safe to
//! show: control characters escaped, so nothing it holds moves a terminal's cursor, starts a new
//! log line or forges one.

use std::borrow::Cow;

/// `s` with every control character (newlines, escapes, DEL, C1) written as Rust escapes it
/// (`\n`, `\u{1b}`); everything else as it is.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .flat_map(|c| {
                let e: Vec<char> = if c.is_control() {
                    c.escape_default().collect()
                } else {
                    vec![c]
                };
                e
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_nothing_else() {
        assert_eq!(escape_controls("node psw-n2: ready"), "node psw-n2: ready");
        assert_eq!(
            escape_controls("a\nb\u{1b}[2Jc\rd\u{7f}e\u{9b}"),
            "a\\nb\\u{1b}[2Jc\\rd\\u{7f}e\\u{9b}"
        );
        assert_eq!(escape_controls("é ünïcode"), "é ünïcode");
    }

    proptest::proptest! {
        #[test]
        fn no_control_character_is_left(s in "\\PC{0,20}[\\x00-\\x1f\\x7f-\\x9f]{0,5}\\PC{0,20}") {
            proptest::prop_assert!(!escape_controls(&s).chars().any(char::is_control));
        }
    }
}
