//! Showing the room's lines on the client's terminal.
//!
//! The servers of this lesson escape every control character in what a
//! client says before they pass it on. A client cannot count on that (it
//! may be talking to any server), so it checks again: a control character
//! or a bidirectional control still in a line is shown escaped, never
//! written raw. Backslashes pass as they are: the server already doubled
//! those that a peer sent.

/// `line` (one line from the server, without its `\n`) as text safe to
/// print: invalid UTF-8 as U+FFFD, control characters escaped.
pub fn shown(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if c.is_control() || is_bidi_control(c) => {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

/// The Unicode controls that reorder the text after them on screen.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_backslashes_kept() {
        assert_eq!(shown(b"[a] \\x1b ok"), "[a] \\x1b ok");
        assert_eq!(shown(b"[a] \x1b[2J\x07"), "[a] \\x1b[2J\\x07");
        assert_eq!(shown("\u{202e}x".as_bytes()), "\\u{202e}x");
        assert_eq!(shown(b"\xff"), "\u{fffd}");
        assert_eq!(shown(b"a\rb\n"), "a\\rb\\n");
    }
}
