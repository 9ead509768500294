//! Text as a scenario writes it, and bytes as a transcript shows them.

use anyhow::{Context, bail};

/// Resolves the escapes of scenario text: `\n`, `\r`, `\t`, `\e`, `\0`,
/// `\xHH`, `\\`.
pub fn unescape(text: &str) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut utf8 = [0; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => bytes.push(b'\n'),
            Some('r') => bytes.push(b'\r'),
            Some('t') => bytes.push(b'\t'),
            Some('e') => bytes.push(0x1b),
            Some('0') => bytes.push(0),
            Some('\\') => bytes.push(b'\\'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 2)
                    .with_context(|| format!("`\\x{hex}` is not a byte: write \\xHH"))?;
                bytes.push(byte);
            }
            other => bail!(
                "unknown escape `\\{}`",
                other.map(String::from).unwrap_or_default()
            ),
        }
    }
    Ok(bytes)
}

/// At most 80 characters of bytes, shown safely.
pub fn preview(bytes: &[u8]) -> String {
    let shown = common::show(bytes).to_string();
    match shown.char_indices().nth(80) {
        Some((at, _)) => format!("{}...", &shown[..at]),
        None => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_become_bytes() -> anyhow::Result<()> {
        assert_eq!(
            unescape(r"a\nb\e[1m\x00\\中\r\t\0")?,
            b"a\nb\x1b[1m\x00\\\xe4\xb8\xad\r\t\x00"
        );
        for bad in [r"\q", r"\xZZ", r"\x4", r"\"] {
            assert!(unescape(bad).is_err(), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn previews_stop_at_80_characters() {
        assert_eq!(preview(b"hi\n"), "hi");
        let long = "é".repeat(81);
        let shown = preview(long.as_bytes());
        assert_eq!(shown, format!("{}...", "é".repeat(80)));
        assert_eq!(preview("é".repeat(80).as_bytes()), "é".repeat(80));
    }
}
