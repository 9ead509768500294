//! Where a Unix-domain socket lives: a path in the file system, or (Linux
//! only) an abstract name, written `@name`, that no file stands for.
//!
//! The kernel keeps the address in `struct sockaddr_un`, whose `sun_path`
//! has 108 bytes; the standard library keeps the last one for the closing
//! NUL, so a path (or a name) holds at most 107 bytes. [`parse_unix_addr`]
//! refuses a longer one before any socket is made, with a message that says
//! so, rather than the kernel's bare "invalid argument".

use std::os::linux::net::SocketAddrExt;
use std::path::PathBuf;

/// The most bytes a socket path (or an abstract name) may hold.
pub const MAX_UNIX_PATH: usize = 107;

/// A Unix-domain socket's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnixAddr {
    /// A socket file: `bind` creates it, and whoever may write to it may
    /// connect.
    File(PathBuf),
    /// An abstract name (`@name`): no file, gone with the last socket that
    /// holds it, open to every process in the same network namespace.
    Abstract(String),
}

impl UnixAddr {
    /// The address as the standard library's `UnixListener::bind_addr`,
    /// `UnixStream::connect_addr` and `UnixDatagram` take it.
    pub fn to_socket_addr(&self) -> std::io::Result<std::os::unix::net::SocketAddr> {
        match self {
            UnixAddr::File(path) => std::os::unix::net::SocketAddr::from_pathname(path),
            UnixAddr::Abstract(name) => {
                std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
            }
        }
    }

    /// The socket file, if there is one.
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            UnixAddr::File(path) => Some(path),
            UnixAddr::Abstract(_) => None,
        }
    }
}

impl std::fmt::Display for UnixAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnixAddr::File(path) => write!(f, "{}", path.display()),
            UnixAddr::Abstract(name) => write!(f, "@{name}"),
        }
    }
}

/// Parses `--addr PATH` or `--addr @NAME` for a Unix-domain socket.
pub fn parse_unix_addr(text: &str) -> Result<UnixAddr, String> {
    let hint = "expected a socket path (or @NAME for an abstract name)";
    let (kind, bytes) = match text.strip_prefix('@') {
        Some(name) => ("an abstract name", name.len()),
        None => ("a socket path", text.len()),
    };
    if bytes == 0 {
        return Err(format!("{hint}, not an empty one"));
    }
    if text.contains('\0') {
        return Err(format!("{hint} without NUL bytes"));
    }
    if bytes > MAX_UNIX_PATH {
        return Err(format!(
            "{kind} holds at most {MAX_UNIX_PATH} bytes (the kernel's sun_path is 108, one \
             kept for the closing NUL); this one has {bytes}: {hint} that is shorter, \
             for example under /tmp"
        ));
    }
    Ok(match text.strip_prefix('@') {
        Some(name) => UnixAddr::Abstract(name.to_owned()),
        None => UnixAddr::File(PathBuf::from(text)),
    })
}

/// A learner's default socket path for `name`: in `$XDG_RUNTIME_DIR` (on a
/// desktop, `/run/user/UID`: private to the user, emptied at logout) when it
/// is set, else `/tmp/NAME-UID.sock`, so two users of one machine never
/// meet at one path.
pub fn default_unix_path(name: &str) -> UnixAddr {
    let in_tmp = PathBuf::from(format!("/tmp/{name}-{}.sock", own_uid()));
    let path = match std::env::var_os("XDG_RUNTIME_DIR").filter(|dir| !dir.is_empty()) {
        Some(dir) => PathBuf::from(dir).join(format!("{name}.sock")),
        None => in_tmp.clone(),
    };
    match parse_unix_addr(&path.to_string_lossy()) {
        Ok(addr) => addr,
        // A runtime folder too deep for a socket path: /tmp is short.
        Err(_) => UnixAddr::File(in_tmp),
    }
}

/// This process's user id: the owner of `/proc/self`.
pub fn own_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or(0, |meta| meta.uid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_names_parse_or_explain() {
        assert_eq!(
            parse_unix_addr("/tmp/a.sock"),
            Ok(UnixAddr::File("/tmp/a.sock".into()))
        );
        assert_eq!(
            parse_unix_addr("@hello"),
            Ok(UnixAddr::Abstract("hello".into()))
        );
        let long = format!("/tmp/{}", "x".repeat(103));
        assert_eq!(long.len(), 108);
        assert!(parse_unix_addr(&long).is_err_and(|err| err.contains("at most 107 bytes")));
        assert!(parse_unix_addr(&long[1..]).is_ok());
        assert!(parse_unix_addr("").is_err());
        assert!(parse_unix_addr("@").is_err());
        assert_eq!(
            parse_unix_addr("@hello").map(|addr| addr.to_string()),
            Ok("@hello".to_owned())
        );
    }

    #[test]
    fn the_default_path_fits() {
        let addr = default_unix_path("unix-hello");
        assert!(addr.to_string().len() <= MAX_UNIX_PATH, "{addr}");
        assert!(addr.to_string().ends_with(".sock"), "{addr}");
    }
}
