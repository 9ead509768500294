//! Colour, only where a person will see it: when stdout is a terminal and the
//! user has not asked for none with `NO_COLOR` (see <https://no-color.org>).

use std::fmt;
use std::io::IsTerminal;
use std::sync::OnceLock;

/// Whether this process may colour what it prints on stdout.
pub fn colour_enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        !no_color && std::io::stdout().is_terminal()
    })
}

/// Text shown bold, white on blue (`ESC[1;44m` ... `ESC[0m`) when colour is
/// enabled, and plain otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Highlight<T>(pub T);

impl<T: fmt::Display> fmt::Display for Highlight<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if colour_enabled() {
            write!(f, "\x1b[1;44m{}\x1b[0m", self.0)
        } else {
            self.0.fmt(f)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_where_a_person_sees_it() {
        let asked_for_none = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        let terminal = std::io::stdout().is_terminal();
        assert_eq!(colour_enabled(), terminal && !asked_for_none);
        let shown = Highlight("hi").to_string();
        if colour_enabled() {
            assert_eq!(shown, "\x1b[1;44mhi\x1b[0m");
        } else {
            assert_eq!(shown, "hi");
        }
    }
}
