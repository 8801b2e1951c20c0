//! Making outside text safe to print on a terminal: file names, comments and
//! rater names come from users and may hold newlines, escape sequences or
//! bidirectional overrides that would forge lines, move the cursor or
//! recolour the screen. Every human-readable output passes them through
//! [`printable`]; `--json` output keeps the real text (serde escapes it).

use std::borrow::Cow;
use std::fmt::Write;
use std::path::Path;

/// `text` with every control character and bidirectional formatting
/// character replaced by a visible escape (`\n`, `\t`, `\u{1b}`, …), so it
/// prints as exactly one line of inert text. Borrowed when already safe.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A path as [`printable`] text (lossy for names that are not UTF-8).
pub fn path(path: &Path) -> String {
    printable(&path.to_string_lossy()).into_owned()
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_text_is_borrowed_unchanged() {
        assert!(matches!(
            printable("salón_final ñ.jpg"),
            Cow::Borrowed("salón_final ñ.jpg")
        ));
    }

    #[test]
    fn controls_escapes_and_bidi_overrides_become_visible() {
        assert_eq!(
            printable("a\nb\r\tc\u{1b}[31mred\u{7f}\u{9b}\u{202e}gpj.exe"),
            "a\\nb\\r\\tc\\u{1b}[31mred\\u{7f}\\u{9b}\\u{202e}gpj.exe"
        );
    }

    #[test]
    fn paths_are_printable() {
        assert_eq!(path(Path::new("/tmp/x\ny.jpg")), "/tmp/x\\ny.jpg");
    }
}
