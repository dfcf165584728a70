//! Text that came from outside (an engine, a manager, the mount table, a request) made safe to
//! show: control characters escaped, so nothing it holds moves a terminal's cursor, starts a new
//! log line or forges one, and the characters that reorder or break what follows them (bidi
//! overrides and isolates, line and paragraph separators) escaped too.

use std::borrow::Cow;

/// Is this a character that must not reach a terminal or a log as it is?
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{2028}' | '\u{2029}'
                | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

fn escape_where(s: &str, escape: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(&escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if escape(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` with every control character (newlines, escapes, DEL, C1) and every bidi or separator
/// character written as Rust escapes it (`\n`, `\u{1b}`, `\u{202e}`); everything else as it is.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    escape_where(s, unsafe_char)
}

/// The same, but newlines kept: for a message of several lines of swarmnode's own.
pub fn escape_controls_but_newlines(s: &str) -> Cow<'_, str> {
    escape_where(s, |c| c != '\n' && unsafe_char(c))
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
        assert_eq!(
            escape_controls("a\u{202e}b\u{2066}c\u{2028}"),
            "a\\u{202e}b\\u{2066}c\\u{2028}"
        );
        assert_eq!(escape_controls_but_newlines("a\nb\u{1b}"), "a\nb\\u{1b}");
    }

    proptest::proptest! {
        #[test]
        fn no_control_character_is_left(s in "\\PC{0,20}[\\x00-\\x1f\\x7f-\\x9f]{0,5}\\PC{0,20}") {
            proptest::prop_assert!(!escape_controls(&s).chars().any(unsafe_char));
            proptest::prop_assert!(!escape_controls_but_newlines(&s).chars().any(|c| c != '\n' && unsafe_char(c)));
        }
    }
}
