//! Command-line values every lesson shares: the `--addr HOST:PORT` parser and
//! the quit word.

use std::net::{SocketAddr, ToSocketAddrs};
use std::str::FromStr;

/// Parses `--addr HOST:PORT`. `127.0.0.1:8898` and `[::1]:8898` are taken as
/// they are; a host name such as `localhost:8898` is looked up, and its first
/// IPv4 address is preferred, so that it means the same as `127.0.0.1`.
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let hint = "expected HOST:PORT, for example 127.0.0.1:8898 (port 0 picks a free port)";
    if !text.contains(':') {
        return Err(format!("no port in '{text}': {hint}"));
    }
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|err| format!("cannot resolve '{text}' ({err}): {hint}"))?
        .collect();
    addrs
        .iter()
        .find(|addr| addr.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("'{text}' resolves to no address: {hint}"))
}

/// The variable in which `make client` gives a client that two lessons share
/// the server address of the lesson being followed.
pub const DEFAULT_ADDR_VARIABLE: &str = "COURSE_DEFAULT_ADDR";

/// A client's default `--addr`: `127.0.0.1:PORT`, its own lesson's server,
/// unless `make client` names another lesson's server in
/// `COURSE_DEFAULT_ADDR` (lesson 2 borrows lesson 1's client, lesson 4
/// lesson 3's), so that `--help` tells the truth about where the client
/// connects. For `#[arg(default_value_t = common::args::default_addr(8898))]`.
pub fn default_addr(port: u16) -> SocketAddr {
    std::env::var(DEFAULT_ADDR_VARIABLE)
        .ok()
        .and_then(|addr| parse_addr(&addr).ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], port)))
}

/// The word that ends a conversation (`bye` unless `--quit` says otherwise).
///
/// It is compared with a line after trimming the line ending, ignoring case,
/// so `BYE`, `bye\n` (what `nc` sends) and `bye\r\n` all match `bye`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuitWord(String);

impl QuitWord {
    /// Whether `message` (typed, or received from a peer) is the quit word.
    pub fn matches(&self, message: impl AsRef<[u8]>) -> bool {
        let message = crate::show::trim_line_ending(message.as_ref());
        message.eq_ignore_ascii_case(self.0.as_bytes())
            || std::str::from_utf8(message)
                .is_ok_and(|text| text.to_lowercase() == self.0.to_lowercase())
    }

    /// The word itself, as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for QuitWord {
    fn default() -> Self {
        QuitWord("bye".to_owned())
    }
}

impl FromStr for QuitWord {
    type Err = String;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        let word = word.trim();
        if word.is_empty() {
            return Err("the quit word cannot be empty".to_owned());
        }
        Ok(QuitWord(word.to_owned()))
    }
}

impl std::fmt::Display for QuitWord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_or_explain() -> Result<(), std::net::AddrParseError> {
        assert_eq!(parse_addr("127.0.0.1:8898"), Ok("127.0.0.1:8898".parse()?));
        assert_eq!(parse_addr("[::1]:0"), Ok("[::1]:0".parse()?));
        assert!(parse_addr("localhost:9").is_ok_and(|addr| addr.port() == 9));
        let no_host = parse_addr("8898");
        assert!(
            no_host.as_ref().is_err_and(|err| err.contains("HOST:PORT")),
            "{no_host:?}"
        );
        assert!(parse_addr("127.0.0.1:99999").is_err());
        Ok(())
    }

    #[test]
    fn the_quit_word_ignores_case_and_line_endings() -> Result<(), String> {
        let bye = QuitWord::default();
        for said in ["bye", "BYE", "bye\n", "Bye\r\n"] {
            assert!(bye.matches(said), "{said:?} should quit");
        }
        for said in ["byebye", "bye bye", "", "\n"] {
            assert!(!bye.matches(said), "{said:?} should not quit");
        }
        let word: QuitWord = "Q".parse()?;
        assert!(word.matches("q"));
        assert!("  ".parse::<QuitWord>().is_err());
        Ok(())
    }

    #[test]
    fn a_quit_word_beyond_ascii_ignores_case_too() -> Result<(), String> {
        let word: QuitWord = "Ende-Ü".parse()?;
        for said in ["ende-ü", "ENDE-Ü\n", "Ende-ü\r\n"] {
            assert!(word.matches(said), "{said:?} should quit");
        }
        assert!(!word.matches("ende-u"));
        Ok(())
    }

    #[test]
    fn the_quit_word_is_kept_as_given_without_spaces() -> Result<(), String> {
        let word: QuitWord = "  Quit ".parse()?;
        assert_eq!(word.as_str(), "Quit");
        assert_eq!(word.to_string(), "Quit");
        assert_eq!(QuitWord::default().to_string(), "bye");
        Ok(())
    }

    #[test]
    fn a_clients_default_address_is_its_own_unless_make_names_another() {
        let given = std::env::var(DEFAULT_ADDR_VARIABLE).ok();
        let default = default_addr(8898).to_string();
        match given.filter(|addr| parse_addr(addr).is_ok()) {
            Some(addr) => assert_eq!(default, addr),
            None => assert_eq!(default, "127.0.0.1:8898"),
        }
    }
}
