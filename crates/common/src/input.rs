//! Reading what the user types, one message a line, on a thread of its own.
//!
//! A server that waits in `accept` or `recv` cannot also wait for its
//! keyboard: one thread, one blocking call. So the lines are read by a second
//! thread and handed over through a channel, and [`Typed::wait_for`] waits
//! for a socket *or* the keyboard with `poll()`, the system call that waits
//! on several file descriptors at once. That is how Ctrl-D or the quit word
//! act at once, even while the other side has the turn.

use std::collections::VecDeque;
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

use anyhow::Context;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::QuitWord;

/// The longest line a user may type, in bytes. A longer one is refused with a
/// message; the cap also keeps `server < /dev/zero` from filling memory.
pub const MAX_TYPED_LINE: usize = 64 * 1024;

/// How much of one overlong line is thrown away before the input is taken as
/// having no line ends at all (`/dev/zero`), and reading stops.
const MAX_DISCARDED: usize = 16 * 1024 * 1024;

/// What the reading thread hands over.
#[derive(Debug)]
enum Item {
    /// One line, without its line ending, byte for byte as typed.
    Line(Vec<u8>),
    /// A line longer than [`MAX_TYPED_LINE`], thrown away.
    TooLong,
    /// End of input (Ctrl-D on a terminal, the end of a pipe), or stdin
    /// failed.
    End,
}

/// Why the user left while the other side had the turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quit {
    /// They typed the quit word.
    Word,
    /// Their input ended: Ctrl-D on a terminal, or the end of a pipe.
    EndOfInput,
}

/// The end of input, in a chat: says (on stdout) that it counts as the quit
/// word, and returns the word, to be sent to the peer as if typed. The
/// Python course's peers know no other way for a chat to end.
pub fn end_of_input_says(quit: &QuitWord) -> anyhow::Result<Vec<u8>> {
    writeln!(crate::out(), "end of input: it counts as {quit}")?;
    Ok(quit.as_str().as_bytes().to_vec())
}

/// What [`Typed::wait_for`] saw first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// The socket has something: data, a connection, or its end. A read (or
    /// `accept`) will not block.
    Readable,
    /// The user left (see [`Quit`]); lines typed before are dropped.
    Quit(Quit),
    /// Nothing happened within the time given.
    TimedOut,
}

/// Lines typed on stdin. The prompt is shown only when stdin is a terminal,
/// so a piped run (a test, the demo, `echo hi | ...`) prints a clean
/// transcript.
pub struct Typed {
    /// What to show before each line, or `None` when stdin is not a terminal.
    prompt: Option<String>,
    /// Lines from the reading thread.
    lines: Receiver<Item>,
    /// One byte arrives here for each item sent on `lines`, so that `poll()`
    /// can wait for the keyboard beside a socket.
    wake: UnixStream,
    /// Items taken off `lines` while waiting for a socket, not yet used.
    ahead: VecDeque<Item>,
}

impl Typed {
    /// Starts reading stdin on a thread of its own, showing `prompt` (for
    /// example `"client> "`) before each line when stdin is a terminal.
    pub fn new(prompt: &str) -> anyhow::Result<Self> {
        let prompt = io::stdin().is_terminal().then(|| prompt.to_owned());
        let (sender, lines) = sync_channel(16);
        let (wake, waker) =
            UnixStream::pair().context("cannot make the keyboard's wake-up pair")?;
        std::thread::Builder::new()
            .name("stdin".to_owned())
            .spawn(move || read_lines(io::stdin().lock(), &sender, waker))
            .context("cannot start the thread that reads stdin")?;
        Ok(Typed {
            prompt,
            lines,
            wake,
            ahead: VecDeque::new(),
        })
    }

    /// The next line, byte for byte as typed, without its line ending; or
    /// `None` when stdin has ended (Ctrl-D on a terminal, the end of a pipe),
    /// which every lesson takes as the quit word. A line over
    /// [`MAX_TYPED_LINE`] bytes is refused with a message.
    pub fn next_line(&mut self) -> anyhow::Result<Option<Vec<u8>>> {
        loop {
            if let Some(prompt) = &self.prompt {
                let mut out = crate::out();
                out.write_all(prompt.as_bytes())?;
                out.flush()?;
            }
            match self.next_item()? {
                Item::Line(line) => return Ok(Some(line)),
                Item::TooLong => writeln!(
                    crate::out(),
                    "(not sent: a typed line holds at most {MAX_TYPED_LINE} bytes)"
                )?,
                Item::End => {
                    if self.prompt.is_some() {
                        writeln!(crate::out())?;
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// The next line that is not empty, or `None` when stdin has ended.
    ///
    /// An empty line is refused with a note, because sending it would put
    /// no bytes on the wire: TCP has nothing to deliver, the peer's `recv`
    /// does not return, and both sides wait for each other forever.
    pub fn next_message(&mut self) -> anyhow::Result<Option<Vec<u8>>> {
        loop {
            match self.next_line()? {
                Some(line) if line.is_empty() => writeln!(
                    crate::out(),
                    "(not sent: an empty message puts no bytes on the wire, and both sides \
                     would wait forever; type something)"
                )?,
                other => return Ok(other),
            }
        }
    }

    /// Waits until `socket` can be read (or accepted from) without blocking,
    /// or the user types `quit` or ends their input, or `timeout` passes;
    /// says which came first. Other lines typed meanwhile are kept for
    /// [`Typed::next_line`], as a terminal keeps what is typed ahead.
    pub fn wait_for(
        &mut self,
        socket: &impl AsFd,
        quit: &QuitWord,
        timeout: Option<Duration>,
    ) -> anyhow::Result<Waited> {
        let timeout = match timeout {
            None => PollTimeout::NONE,
            Some(limit) => PollTimeout::try_from(limit).unwrap_or(PollTimeout::MAX),
        };
        loop {
            if let Some(quit) = self.quit_ahead(quit) {
                self.ahead.clear();
                return Ok(Waited::Quit(quit));
            }
            let (socket_ready, keyboard_ready) =
                wait_either(socket.as_fd(), self.wake.as_fd(), timeout)?;
            if keyboard_ready {
                let item = self.next_item()?;
                self.ahead.push_back(item);
            } else if socket_ready {
                return Ok(Waited::Readable);
            } else {
                return Ok(Waited::TimedOut);
            }
        }
    }

    /// Whether a line typed ahead is the quit word, or the input ended.
    fn quit_ahead(&self, quit: &QuitWord) -> Option<Quit> {
        self.ahead.iter().find_map(|item| match item {
            Item::Line(line) if quit.matches(line) => Some(Quit::Word),
            Item::End => Some(Quit::EndOfInput),
            _ => None,
        })
    }

    /// The next item: one typed ahead, or the next from the reading thread.
    fn next_item(&mut self) -> anyhow::Result<Item> {
        if let Some(item) = self.ahead.pop_front() {
            return Ok(item);
        }
        // The thread sends the item, then its wake-up byte: take both, so
        // that one byte waits in `wake` for each item waiting in `lines`.
        let item = self.lines.recv().unwrap_or(Item::End);
        let mut byte = [0; 1];
        // A missing byte means the thread has ended; the item is still good.
        let _ = self.wake.read(&mut byte);
        Ok(item)
    }
}

/// `poll()` on two file descriptors: which of them can be read now. Both
/// false means the timeout passed.
fn wait_either(
    socket: BorrowedFd<'_>,
    keyboard: BorrowedFd<'_>,
    timeout: PollTimeout,
) -> anyhow::Result<(bool, bool)> {
    let mut fds = [
        PollFd::new(socket, PollFlags::POLLIN),
        PollFd::new(keyboard, PollFlags::POLLIN),
    ];
    loop {
        match poll(&mut fds, timeout) {
            Ok(_) => break,
            // A signal arrived while waiting: wait again.
            Err(nix::errno::Errno::EINTR) => continue,
            Err(err) => return Err(err).context("cannot wait for the socket and the keyboard"),
        }
    }
    // Readable, or closed, or failed: in each case a read returns at once.
    let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|events| !events.is_empty());
    Ok((ready(&fds[0]), ready(&fds[1])))
}

/// The reading thread: hands over each line, then the end of input.
fn read_lines(mut stdin: impl BufRead, lines: &SyncSender<Item>, mut waker: UnixStream) {
    let mut send = |item: Item| lines.send(item).is_ok() && waker.write_all(&[1]).is_ok();
    loop {
        let item = match read_line(&mut stdin) {
            Ok(Some(item)) => item,
            Ok(None) | Err(_) => {
                send(Item::End);
                return;
            }
        };
        if !send(item) {
            return;
        }
    }
}

/// One line of at most [`MAX_TYPED_LINE`] bytes, or `TooLong` after
/// throwing the rest of a longer one away; `None` at the end of input.
fn read_line(stdin: &mut impl BufRead) -> io::Result<Option<Item>> {
    let mut line = Vec::new();
    let read = stdin
        .by_ref()
        .take(MAX_TYPED_LINE as u64 + 1)
        .read_until(b'\n', &mut line)?;
    if read == 0 {
        return Ok(None);
    }
    let ended = line.last() == Some(&b'\n');
    if !ended && line.len() > MAX_TYPED_LINE {
        // Throw away the rest of the line, a buffer at a time.
        let mut discarded = 0;
        loop {
            let buffer = stdin.fill_buf()?;
            if buffer.is_empty() {
                break;
            }
            if let Some(at) = buffer.iter().position(|&b| b == b'\n') {
                stdin.consume(at + 1);
                break;
            }
            let len = buffer.len();
            stdin.consume(len);
            discarded += len;
            if discarded > MAX_DISCARDED {
                return Ok(None);
            }
        }
        return Ok(Some(Item::TooLong));
    }
    let line = crate::show::trim_line_ending(&line).to_vec();
    if line.len() > MAX_TYPED_LINE {
        return Ok(Some(Item::TooLong));
    }
    Ok(Some(Item::Line(line)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(input: &[u8]) -> io::Result<Vec<String>> {
        let mut input = input;
        let mut out = Vec::new();
        while let Some(item) = read_line(&mut input)? {
            out.push(match item {
                Item::Line(line) => String::from_utf8_lossy(&line).into_owned(),
                Item::TooLong => "(too long)".to_owned(),
                Item::End => "(end)".to_owned(),
            });
        }
        Ok(out)
    }

    #[test]
    fn lines_keep_their_bytes_and_lose_their_endings() -> io::Result<()> {
        assert_eq!(
            lines_of(b"hi\r\nthere\n\nlast")?,
            ["hi", "there", "", "last"]
        );
        let mut input: &[u8] = b"caf\xe9\n";
        let Some(Item::Line(line)) = read_line(&mut input)? else {
            return Err(io::Error::other("no line"));
        };
        assert_eq!(line, b"caf\xe9", "typed bytes leave as typed");
        Ok(())
    }

    #[test]
    fn an_overlong_line_is_refused_and_the_next_one_read() -> io::Result<()> {
        let mut input = vec![b'x'; MAX_TYPED_LINE];
        input.extend_from_slice(b"\n");
        input.extend(vec![b'y'; MAX_TYPED_LINE + 1]);
        input.extend_from_slice(b"\nnext\n");
        let got = lines_of(&input)?;
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].len(), MAX_TYPED_LINE, "a line at the limit is kept");
        assert_eq!(got[1..], ["(too long)", "next"]);
        Ok(())
    }

    #[test]
    fn input_without_line_ends_stops_being_read() -> io::Result<()> {
        let mut zeros = io::BufReader::new(io::repeat(0));
        assert!(read_line(&mut zeros)?.is_none(), "no line end in 16 MiB");
        Ok(())
    }
}
