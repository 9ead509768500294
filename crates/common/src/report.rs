//! How a lesson binary ends: `error: ...` on one line, a hint where one
//! helps, and a non-zero exit status. Never a panic or a backtrace for
//! anything a user or a peer can do.

use std::io;
use std::process::ExitCode;

use clap::Parser;

use crate::output::say_on_stderr;
// "Message too long": what `send` says of a datagram larger than the
// protocol allows; the standard library has no error kind for it.
use nix::errno::Errno;

/// The largest UDP payload over IPv4: 65,535 bytes of IP packet, less 20 of
/// IP header and 8 of UDP header.
pub const MAX_UDP_PAYLOAD: usize = 65_507;

/// Runs a lesson's body with its parsed arguments.
///
/// `lesson` is the lesson's number, used in hints such as "start the server
/// with `make server L=1`". Bad arguments end the process here with clap's
/// own message and status 2; an error from `body` is printed by [`report`]
/// and gives status 1, except a closed stdout (`... | head`), which ends the
/// program quietly with status 0, as `ls | head` does.
pub fn run<A: Parser>(lesson: u8, body: impl FnOnce(A) -> anyhow::Result<()>) -> ExitCode {
    crate::stage_child::die_with_the_stage();
    let args = A::parse();
    match body(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if crate::output::is_closed_stdout(&err) => ExitCode::SUCCESS,
        Err(err) => {
            report(lesson, &err);
            ExitCode::FAILURE
        }
    }
}

/// Prints `error: <what failed>: <why>` on stderr, and on the next line
/// `hint: ...` when the error carries one ([`Hinted`]) or its cause is one a
/// learner meets often. A failure to write to stderr is ignored: there is
/// nowhere left to report it.
pub fn report(lesson: u8, err: &anyhow::Error) {
    say_on_stderr(format_args!("error: {err:#}"));
    if let Some(hint) = hint(lesson, err) {
        say_on_stderr(format_args!("hint: {hint}"));
    }
}

/// An error that carries its own hint: what the learner can do about it.
/// Made with [`Hint::hint`]; [`report`] prints the hint on its own line.
#[derive(Debug)]
pub struct Hinted {
    /// The error, shown as `error: ...`.
    error: anyhow::Error,
    /// What to do about it, shown as `hint: ...`.
    hint: String,
}

impl std::fmt::Display for Hinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

// No `source`: the message above already holds the whole chain.
impl std::error::Error for Hinted {}

/// Attaches a hint to an error: `socket.send(..).hint("is the server up?")?`.
pub trait Hint<T> {
    /// The error of `self`, if any, now carrying `hint`.
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> Hint<T> for Result<T, E> {
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T> {
        self.map_err(|err| {
            anyhow::Error::new(Hinted {
                error: err.into(),
                hint: hint.into(),
            })
        })
    }
}

/// Whether an I/O error means "the read timeout expired" (Linux says
/// `EAGAIN`, which Rust calls `WouldBlock`).
pub fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The hint for an error, found from the first I/O error in its chain.
pub fn hint(lesson: u8, err: &anyhow::Error) -> Option<String> {
    // `make server`/`make client` say which lesson is being followed: a
    // client that serves two lessons then names the right one.
    let lesson = std::env::var("COURSE_LESSON")
        .ok()
        .and_then(|number| number.parse().ok())
        .unwrap_or(lesson);
    if let Some(hinted) = err.downcast_ref::<Hinted>() {
        return Some(hinted.hint.clone());
    }
    let io = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<io::Error>())?;
    let hint = match io.kind() {
        io::ErrorKind::AddrInUse if lesson == 2 => "a server still listening on this port, \
            or a connection of an earlier run waiting in TIME_WAIT (about a minute; `ss -tan \
            state time-wait` shows it); stop the other server, or run both with --reuse-addr"
            .to_owned(),
        io::ErrorKind::AddrInUse => "another socket holds this address: is a server already \
            running on this port, perhaps in another terminal? Stop it, or pick another port \
            with --addr (port 0 picks a free one)"
            .to_owned(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "nothing arrived in time: is \
            the other side running, and does it answer?"
            .to_owned(),
        io::ErrorKind::ConnectionRefused => format!(
            "is the server running? Start it in another terminal with `make server L={lesson}`, \
             and give both sides the same --addr"
        ),
        io::ErrorKind::AddrNotAvailable => {
            "that IP address is not one of this machine's; use 127.0.0.1".to_owned()
        }
        io::ErrorKind::PermissionDenied => {
            "ports below 1024 need administrator rights on Linux; pick a port above 1023".to_owned()
        }
        io::ErrorKind::ConnectionReset => {
            "the peer closed the connection abruptly (a reset): it closed with SO_LINGER 0, or \
             with unread data"
                .to_owned()
        }
        _ if io.raw_os_error() == Some(Errno::EMSGSIZE as i32) => format!(
            "a UDP datagram carries at most {MAX_UDP_PAYLOAD} bytes over IPv4; \
             send a shorter message"
        ),
        _ => return None,
    };
    Some(hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    fn failed(kind: io::ErrorKind) -> anyhow::Error {
        anyhow::Error::new(io::Error::from(kind)).context("cannot do the thing")
    }

    #[test]
    fn common_socket_errors_get_hints() {
        let refused = hint(3, &failed(io::ErrorKind::ConnectionRefused)).unwrap_or_default();
        assert!(refused.contains("make server L=3"), "{refused}");
        let in_use = hint(1, &failed(io::ErrorKind::AddrInUse)).unwrap_or_default();
        assert!(in_use.contains("already running"), "{in_use}");
        let in_lesson_2 = hint(2, &failed(io::ErrorKind::AddrInUse)).unwrap_or_default();
        assert!(in_lesson_2.contains("--reuse-addr"), "{in_lesson_2}");
        assert!(in_lesson_2.contains("still listening"), "{in_lesson_2}");
        let too_big = anyhow::Error::new(io::Error::from_raw_os_error(Errno::EMSGSIZE as i32));
        let too_big = hint(5, &too_big).unwrap_or_default();
        assert!(too_big.contains("65507"), "{too_big}");
    }

    #[test]
    fn an_error_can_carry_its_own_hint() {
        let result: anyhow::Result<()> =
            Err(io::Error::from(io::ErrorKind::TimedOut)).hint("ask again later");
        let err = result
            .context("no answer")
            .err()
            .unwrap_or_else(|| anyhow::anyhow!("an error was expected"));
        assert_eq!(hint(5, &err).as_deref(), Some("ask again later"));
        assert_eq!(format!("{err:#}"), "no answer: timed out");
    }

    #[test]
    fn every_hinted_kind_says_what_to_do() {
        for (kind, advice) in [
            (io::ErrorKind::WouldBlock, "nothing arrived in time"),
            (io::ErrorKind::TimedOut, "nothing arrived in time"),
            (io::ErrorKind::AddrNotAvailable, "use 127.0.0.1"),
            (io::ErrorKind::PermissionDenied, "ports below 1024"),
            (io::ErrorKind::ConnectionReset, "a reset"),
        ] {
            let said = hint(1, &failed(kind)).unwrap_or_default();
            assert!(said.contains(advice), "{kind:?}: {said}");
        }
        // Lesson 2's own hint for an address in use is for lesson 2 only.
        let in_use = hint(3, &failed(io::ErrorKind::AddrInUse)).unwrap_or_default();
        assert!(!in_use.contains("TIME_WAIT"), "{in_use}");
    }

    #[test]
    fn timeouts_are_told_from_other_errors() {
        assert!(is_timeout(&io::Error::from(io::ErrorKind::WouldBlock)));
        assert!(is_timeout(&io::Error::from(io::ErrorKind::TimedOut)));
        assert!(!is_timeout(&io::Error::from(
            io::ErrorKind::ConnectionRefused
        )));
    }

    #[test]
    fn other_errors_get_none() {
        assert_eq!(hint(1, &failed(io::ErrorKind::Other)), None);
        assert_eq!(hint(1, &anyhow::anyhow!("no io error here")), None);
    }
}
