//! Printing to stdout without ever panicking.
//!
//! `println!` panics when stdout is gone: `server | head -1` closes the pipe
//! after one line, and the next `println!` dies with "failed printing to
//! stdout: Broken pipe". A lesson prints through [`out`] instead, with
//! `writeln!(out, ...)?`, so a failed write is an error like any other: the
//! error says it was stdout, and [`crate::run`] ends the program quietly with
//! status 0 when the reader has simply gone (as `ls | head` does), or with
//! one `error:` line when something else failed (a full disk).

use std::error::Error;
use std::fmt;
use std::io::{self, Write};

/// Stdout, for `writeln!(out, ...)?`: see the module documentation.
///
/// Rust's stdout is line-buffered, so each `writeln!` is one `write` system
/// call. Each call takes stdout's lock for that line only; [`Out::lock`]
/// keeps it for a loop that prints a line per datagram.
#[derive(Debug)]
pub struct Out<W = io::Stdout>(W);

/// Stdout, held locked by this thread: see [`Out::lock`].
pub type OutLock = Out<io::StdoutLock<'static>>;

/// The stdout of this process, for printing with `writeln!(out, ...)?`.
pub fn out() -> Out {
    Out(io::stdout())
}

impl Out {
    /// Takes stdout's lock until the returned value is dropped: a server's
    /// loop that prints a line per request saves a lock and unlock each time.
    /// Another thread that prints waits until then.
    pub fn lock(&self) -> OutLock {
        Out(self.0.lock())
    }
}

/// A write to stdout that failed. It travels inside an [`io::Error`] of the
/// same kind, so that `?` works in any function returning `io::Result` or
/// `anyhow::Result`, and [`crate::run`] can tell it from a socket's error.
#[derive(Debug)]
pub struct StdoutFailed(io::Error);

impl fmt::Display for StdoutFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot write to stdout: {}", self.0)
    }
}

// No `source`: the message above already says what the system said.
impl Error for StdoutFailed {}

fn failed(err: io::Error) -> io::Error {
    io::Error::new(err.kind(), StdoutFailed(err))
}

/// A failed write to stdout made by other means than [`out`] (such as a
/// program that prints its own way), as the error [`crate::run`] knows.
pub fn closed_stdout(err: io::Error) -> anyhow::Error {
    anyhow::Error::new(failed(err))
}

/// Whether `err` is a failed write to stdout whose reader has gone away (a
/// closed pipe): the one failure that ends a program quietly.
pub fn is_closed_stdout(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<StdoutFailed>())
            .is_some_and(|failed| failed.0.kind() == io::ErrorKind::BrokenPipe)
    })
}

impl<W: Write> Write for Out<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(failed)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf).map_err(failed)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(failed)
    }
}

/// Writes one line to stderr, ignoring a failure: a closed or full stderr
/// must never keep a program from stopping, and there is nowhere left to
/// report it.
pub fn say_on_stderr(line: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(line).and_then(|()| err.write_all(b"\n"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_stdout_is_told_from_other_failures() {
        let closed = anyhow::Error::new(failed(io::Error::from(io::ErrorKind::BrokenPipe)));
        assert!(is_closed_stdout(&closed.context("cannot print")));
        let full = anyhow::Error::new(failed(io::Error::from_raw_os_error(28)));
        assert!(!is_closed_stdout(&full));
        assert!(format!("{full:#}").starts_with("cannot write to stdout: "));
        // A socket's broken pipe is not stdout's.
        let socket = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(!is_closed_stdout(&socket));
    }

    #[test]
    fn out_and_its_lock_print_at_once_and_stderr_gets_its_line() -> io::Result<()> {
        // Written to this process's own stdout and stderr.
        let ran = crate::rerun::run_alone("output::tests::printing_every_way")?;
        let stdout = String::from_utf8_lossy(&ran.stdout);
        // A flushed line comes out before anything written after it.
        assert!(
            stdout.contains("one\ntwo\nthree|after\nfour\nfive|after\n"),
            "{stdout}"
        );
        let stderr = String::from_utf8_lossy(&ran.stderr);
        assert!(stderr.contains("a line on stderr\n"), "{stderr}");
        Ok(())
    }

    /// Run by the test above, in a process of its own; passes at once
    /// otherwise.
    #[test]
    fn printing_every_way() -> io::Result<()> {
        if !crate::rerun::in_child() {
            return Ok(());
        }
        // Stdout again, without the standard library's buffer.
        let mut raw = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/stdout")?;
        let mut out = out();
        out.write_all(b"\n")?;
        assert_eq!(out.write(b"one\n")?, 4);
        out.write_all(b"two\nthree")?;
        out.flush()?;
        raw.write_all(b"|after\n")?;
        let mut lock = out.lock();
        assert_eq!(lock.write(b"four\n")?, 5);
        lock.write_all(b"five")?;
        lock.flush()?;
        raw.write_all(b"|after\n")?;
        drop(lock);
        say_on_stderr(format_args!("a line on {}", "stderr"));
        Ok(())
    }
}
