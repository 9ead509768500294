//! Showing bytes that came from the network, safely.
//!
//! A peer can send anything: invalid UTF-8, an escape sequence that would
//! recolour or clear the terminal, a bell, a carriage return that hides the
//! start of a line. [`show`] turns any bytes into text that is safe to print,
//! without allocating, so a server can show every message it receives.

use std::fmt;

/// Removes one trailing `\n` or `\r\n`, the line ending that `nc` and other
/// line-based peers add to what their user typed.
pub fn trim_line_ending(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

/// Bytes from a peer, ready to print: see [`show`].
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a>(&'a [u8]);

/// Wraps received bytes for display: they are read as UTF-8, each invalid
/// sequence shows as U+FFFD (`�`), control characters show escaped (`\n`,
/// `\r`, `\t`, `\x1b`, ...), and so do the Unicode controls that reorder
/// text on screen (right-to-left overrides and isolates, `\u{202e}`: a peer
/// could otherwise make a line read differently from what it holds), a
/// backslash shows doubled (`\\`, so that the
/// four characters `\x1b` sent as text never look like an escaped ESC), and
/// one trailing line ending is dropped.
///
/// ```
/// assert_eq!(common::show(b"hi\n").to_string(), "hi");
/// assert_eq!(common::show(b"\x1b[31mred").to_string(), "\\x1b[31mred");
/// assert_eq!(common::show(b"ok\xff").to_string(), "ok\u{fffd}");
/// ```
pub fn show(bytes: &[u8]) -> Shown<'_> {
    Shown(trim_line_ending(bytes))
}

/// Like [`show`], for text that may be long: when it shows as more than
/// `2 * keep + 5` characters, only its first and last `keep` characters are
/// kept, with ` … ` between them.
///
/// ```
/// assert_eq!(common::show::ends(b"short", 4), "short");
/// assert_eq!(common::show::ends(b"abcdefghijklmnopqrstuvwxyz", 4), "abcd … wxyz");
/// ```
pub fn ends(bytes: &[u8], keep: usize) -> String {
    // A character is at most 4 bytes: the first and last `4 * window` bytes
    // hold more than enough characters, and a long message is never
    // formatted whole.
    let window = 4 * (keep + 3);
    if bytes.len() <= 2 * window {
        let text = show(bytes).to_string();
        let count = text.chars().count();
        if count <= 2 * keep + 5 {
            return text;
        }
        let head: String = text.chars().take(keep).collect();
        let tail: String = text.chars().skip(count - keep).collect();
        return format!("{head} … {tail}");
    }
    let bytes = trim_line_ending(bytes);
    let head: String = show(&bytes[..window])
        .to_string()
        .chars()
        .take(keep)
        .collect();
    let tail = show(&bytes[bytes.len() - window..]).to_string();
    let tail: String = tail
        .chars()
        .skip(tail.chars().count().saturating_sub(keep))
        .collect();
    format!("{head} … {tail}")
}

/// A count and its noun, in the singular for one: `count(1, "read")` is
/// `1 read`, `count(3, "read")` is `3 reads`.
///
/// ```
/// assert_eq!(common::show::count(1, "frame"), "1 frame");
/// assert_eq!(common::show::count(0, "byte"), "0 bytes");
/// ```
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            let text = chunk.valid();
            let mut start = 0;
            for (at, c) in text.char_indices() {
                if must_escape(c) {
                    f.write_str(&text[start..at])?;
                    write_escaped(f, c)?;
                    start = at + c.len_utf8();
                }
            }
            f.write_str(&text[start..])?;
            if !chunk.invalid().is_empty() {
                f.write_str("\u{fffd}")?;
            }
        }
        Ok(())
    }
}

/// Whether a character is shown as an escape rather than as itself.
fn must_escape(c: char) -> bool {
    c.is_control() || c == '\\' || is_bidi_control(c)
}

/// The Unicode bidirectional controls: marks (U+200E, U+200F, U+061C),
/// embeddings and overrides (U+202A-U+202E) and isolates (U+2066-U+2069).
/// A terminal that honours them shows the text after them reordered.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn write_escaped(f: &mut fmt::Formatter<'_>, c: char) -> fmt::Result {
    match c {
        '\n' => f.write_str("\\n"),
        '\r' => f.write_str("\\r"),
        '\t' => f.write_str("\\t"),
        '\\' => f.write_str("\\\\"),
        c if (c as u32) < 0x80 => write!(f, "\\x{:02x}", c as u32),
        c => write!(f, "\\u{{{:x}}}", c as u32),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ends_of_a_long_run_of_wide_characters_keep_as_many_as_asked() {
        let text = "一二三四五六七八九十".repeat(40);
        let shown = super::ends(text.as_bytes(), 16);
        let (head, tail) = shown.split_once(" … ").unwrap_or_default();
        assert_eq!(head, "一二三四五六七八九十一二三四五六");
        assert_eq!(tail, "五六七八九十一二三四五六七八九十");
        // Short enough to be formatted whole, too long to be shown whole.
        let middle = super::ends(b"abcdefghijklmnopqrstuvwxyz", 4);
        assert_eq!(middle, "abcd … wxyz");
    }

    #[test]
    fn ends_keeps_the_first_and_last_characters_of_long_text() {
        let text = "流里只有字节".repeat(100);
        assert_eq!(super::ends(text.as_bytes(), 3), "流里只 … 有字节");
        // Cut in the middle of a character at both ends: U+FFFD shows where.
        let cut = &text.as_bytes()[1..text.len() - 1];
        // Two stray continuation bytes show as two.
        assert_eq!(super::ends(cut, 3), "\u{fffd}\u{fffd}里 … 有字\u{fffd}");
        let mut long = vec![b'a'; 5000];
        long.extend_from_slice(b"\x1bz\n");
        assert_eq!(super::ends(&long, 6), "aaaaaa … a\\x1bz");
    }

    use super::*;

    #[test]
    fn text_passes_through() {
        assert_eq!(show("你好, world".as_bytes()).to_string(), "你好, world");
        assert_eq!(show(b"").to_string(), "");
    }

    #[test]
    fn one_line_ending_is_trimmed() {
        assert_eq!(show(b"bye\n").to_string(), "bye");
        assert_eq!(show(b"bye\r\n").to_string(), "bye");
        assert_eq!(show(b"two\n\n").to_string(), "two\\n");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            show(b"\x1b[2J\x07a\rb\tc\0").to_string(),
            "\\x1b[2J\\x07a\\rb\\tc\\x00"
        );
        assert_eq!(show("\u{85}".as_bytes()).to_string(), "\\u{85}");
    }

    #[test]
    fn ascii_controls_show_as_bytes_and_others_as_code_points() {
        // DEL is the last ASCII control, U+0080 the first beyond ASCII.
        assert_eq!(show(b"\x7f").to_string(), "\\x7f");
        assert_eq!(show("\u{80}".as_bytes()).to_string(), "\\u{80}");
    }

    #[test]
    fn bidirectional_controls_are_escaped() {
        for (c, shown) in [
            ('\u{061c}', "\\u{61c}"),
            ('\u{200e}', "\\u{200e}"),
            ('\u{200f}', "\\u{200f}"),
            ('\u{202a}', "\\u{202a}"),
            ('\u{202e}', "\\u{202e}"),
            ('\u{2066}', "\\u{2066}"),
            ('\u{2069}', "\\u{2069}"),
        ] {
            let text = format!("a{c}b");
            assert_eq!(show(text.as_bytes()).to_string(), format!("a{shown}b"));
        }
        // Their neighbours are ordinary text.
        for c in ['\u{200d}', '\u{2029}', '\u{206a}', '\u{2065}', '\u{061b}'] {
            let text = c.to_string();
            assert_eq!(show(text.as_bytes()).to_string(), text, "{c:?}");
        }
    }

    #[test]
    fn a_backslash_is_doubled_so_text_never_passes_for_an_escape() {
        assert_eq!(show(br"\x1b[31m").to_string(), r"\\x1b[31m");
        assert_eq!(show(b"\x1b[31m").to_string(), r"\x1b[31m");
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        // "中" is e4 b8 ad: cut after two bytes, as a 1024-byte buffer may.
        assert_eq!(show(b"ab\xe4\xb8").to_string(), "ab\u{fffd}");
        assert_eq!(show(b"\xff\xfeok").to_string(), "\u{fffd}\u{fffd}ok");
    }
}
