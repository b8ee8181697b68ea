//! Text from outside (a server's banner, error text or certificate, a value
//! or a path read from a file) made safe to print on a terminal: every
//! control character (C0, DEL, C1) and every bidirectional override prints
//! as a visible escape (`\x1b`, `\u{202e}`), so a hostile server cannot move
//! the cursor, retitle the window, write to the clipboard or reorder what the
//! admin reads. Human output only: `--json` stays exact (serde escapes it).
//! This module imports nothing of ours, so every layer can use it.

use std::borrow::Cow;
use std::fmt::Write as _;

/// One value (a name, a line, a path) as it may be printed: control
/// characters and bidi overrides escaped, the line break and the tab too, so
/// a value cannot forge a line of output.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_keeping(text, &[])
}

/// Several lines (a diff, a checker's output): like `escape`, but line
/// breaks and tabs are kept.
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    escape_keeping(text, &['\n', '\t'])
}

fn escape_keeping<'a>(text: &'a str, keep: &[char]) -> Cow<'a, str> {
    if !text.chars().any(|c| unsafe_char(c) && !keep.contains(&c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !unsafe_char(c) || keep.contains(&c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// Control characters (Unicode category Cc: C0, DEL, C1), the bidi marks,
/// embeddings, overrides and isolates, and the line and paragraph separators.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_character_and_bidi_override_is_visible() {
        assert_eq!(escape("CN=a\x1b]0;x\x07b"), "CN=a\\x1b]0;x\\x07b");
        assert_eq!(escape("del\x7f c1\u{9b}31m"), "del\\x7f c1\\u{9b}31m");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape("two\nlines\r\tand a tab"), "two\\x0alines\\x0d\\x09and a tab");
        assert_eq!(escape_lines("two\nlines\r\tkept"), "two\nlines\\x0d\tkept");
    }

    #[test]
    fn plain_text_is_borrowed_and_escaping_twice_changes_nothing() {
        assert!(matches!(escape("CN=mail.example.org, Ünïcode"), Cow::Borrowed(_)));
        let once = escape("\x1b[2J\u{2066}").into_owned();
        assert_eq!(escape(&once), once);
    }
}
