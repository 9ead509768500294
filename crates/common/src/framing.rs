//! Framing: getting messages back out of a TCP byte stream.
//!
//! TCP delivers bytes, in order, and nothing else: not where one `send`
//! ended and the next began. A program that wants messages must mark their
//! ends in the bytes themselves. Lesson 9 shows the two usual ways, and this
//! module holds them so that later lessons (the chat room) use the same code:
//!
//! - **lines**: every message ends with `\n`, and the message may not
//!   contain one. [`read_line`] reads up to the next `\n` from a buffered
//!   reader; [`LineDecoder`] does the same for a program that gets its bytes
//!   in pieces of its own choosing (a non-blocking server).
//! - **a length prefix**: every message is sent as its length in 4 bytes,
//!   big-endian, then the message. [`write_frame`] and [`read_frame`].
//!
//! Both refuse a message over a maximum length before they store it, so
//! that a peer cannot make the program allocate what it likes, and both say
//! when the stream ended in the middle of a message.

use std::fmt;
use std::io::{self, BufRead, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// The longest message the course's framed lessons accept by default:
/// 64 KiB, not counting the `\n` or the 4-byte prefix.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// The size of the length prefix: a `u32`, big-endian ("network byte order").
pub const PREFIX_LEN: usize = 4;

/// What can go wrong while reading one framed message.
#[derive(Debug)]
pub enum FrameError {
    /// More than `limit` bytes came without a `\n`. The rest of the line is
    /// still in the stream: the reader cannot find the next message's start.
    LineTooLong { limit: usize },
    /// The stream ended after `got` bytes of a line, before its `\n`.
    LineCut { got: usize },
    /// A prefix announced `announced` bytes, more than `limit`. Nothing of
    /// that size was allocated.
    FrameTooLong { announced: u64, limit: usize },
    /// The stream ended inside a frame: of the `expected` bytes (the prefix,
    /// or the payload it announced), only `got` came.
    FrameCut {
        part: FramePart,
        expected: usize,
        got: usize,
    },
    /// The socket itself failed (a reset, say).
    Io(io::Error),
}

/// Which part of a length-prefixed frame the stream ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramePart {
    Prefix,
    Payload,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::LineTooLong { limit } => {
                write!(f, "line too long: no newline in the first {limit} bytes")
            }
            FrameError::LineCut { got } => {
                write!(
                    f,
                    "line cut: the stream ended after {got} bytes, before a newline"
                )
            }
            FrameError::FrameTooLong { announced, limit } => write!(
                f,
                "frame too long: the prefix announces {announced} bytes, the limit is {limit}"
            ),
            FrameError::FrameCut {
                part,
                expected,
                got,
            } => {
                let part = match part {
                    FramePart::Prefix => "length prefix",
                    FramePart::Payload => "payload",
                };
                write!(
                    f,
                    "frame cut: the stream ended {} bytes short ({got} of the {expected}-byte {part} came)",
                    expected - got
                )
            }
            FrameError::Io(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FrameError::Io(err) => Some(err),
            _ => None,
        }
    }
}

impl From<io::Error> for FrameError {
    fn from(err: io::Error) -> Self {
        FrameError::Io(err)
    }
}

// ANCHOR: read_line
/// Reads one line into `line` (emptied first), without its `\n`.
///
/// `Ok(false)` means the stream ended cleanly, between two lines. A line
/// longer than `max` bytes is refused once `max + 1` bytes have come
/// without a newline: no more than that is ever stored.
///
/// Only `\n` is taken off: a `\r` before it (from a peer such as `telnet`)
/// is part of the message, as any other byte is.
pub fn read_line(
    reader: &mut impl BufRead,
    max: usize,
    line: &mut Vec<u8>,
) -> Result<bool, FrameError> {
    line.clear();
    // read_until copies bytes out of the reader's buffer (refilled by one
    // read() at a time) until it copies a `\n`. `take` stops it after
    // max + 1 bytes, so a peer that never sends a newline cannot make the
    // line grow without end.
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let n = reader.by_ref().take(limit).read_until(b'\n', line)?;
    if n == 0 {
        return Ok(false);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        return Ok(true);
    }
    if line.len() > max {
        Err(FrameError::LineTooLong { limit: max })
    } else {
        Err(FrameError::LineCut { got: line.len() })
    }
}
// ANCHOR_END: read_line

/// Writes `line` and its `\n`, in one write. A line that contains a `\n`
/// would arrive as two: it is refused.
pub fn write_line(writer: &mut impl Write, line: &[u8]) -> io::Result<()> {
    if line.contains(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a line cannot contain a newline: it would arrive as two lines",
        ));
    }
    write_all_of(writer, &mut [IoSlice::new(line), IoSlice::new(b"\n")])
}

// ANCHOR: write_frame
/// Writes `payload` as one frame: its length in 4 bytes, big-endian, then
/// the payload itself.
pub fn write_frame(writer: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "a frame carries at most 4 GiB - 1 bytes",
        )
    })?;
    // to_be_bytes: the most significant byte first, the order every
    // network protocol uses, whatever this machine's own order is.
    let prefix = len.to_be_bytes();
    // Prefix and payload leave in one write: written apart, the 4 bytes
    // would go out alone, and Nagle's algorithm would hold the payload back
    // until the peer acknowledged them (up to 40 ms, with delayed ACKs).
    write_all_of(writer, &mut [IoSlice::new(&prefix), IoSlice::new(payload)])
}
// ANCHOR_END: write_frame

/// Writes every byte of `parts`, in order, with as few write() calls as the
/// kernel allows: `writev()` takes several buffers in one call.
///
/// A write may take fewer bytes than it was given (the kernel's send buffer
/// was nearly full) and says how many it took: the loop goes on with the
/// rest, as `write_all` does for one buffer.
fn write_all_of(writer: &mut impl Write, mut parts: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut parts, 0);
    while !parts.is_empty() {
        match writer.write_vectored(parts) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut parts, n),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

// ANCHOR: read_frame
/// Reads one frame's payload into `payload` (emptied first).
///
/// `Ok(false)` means the stream ended cleanly, between two frames. A prefix
/// that announces more than `max` bytes is refused before anything is
/// allocated for it; a stream that ends inside a frame says how much of it
/// came.
pub fn read_frame(
    reader: &mut impl Read,
    max: usize,
    payload: &mut Vec<u8>,
) -> Result<bool, FrameError> {
    payload.clear();
    let mut prefix = [0; PREFIX_LEN];
    match read_full(reader, &mut prefix)? {
        0 => return Ok(false),
        PREFIX_LEN => {}
        got => {
            return Err(FrameError::FrameCut {
                part: FramePart::Prefix,
                expected: PREFIX_LEN,
                got,
            });
        }
    }
    let announced = u32::from_be_bytes(prefix);
    // Check the length before allocating: a prefix of 0xFFFFFFFF would
    // otherwise ask for 4 GiB of memory on one peer's word.
    let len = match usize::try_from(announced) {
        Ok(len) if len <= max => len,
        _ => {
            return Err(FrameError::FrameTooLong {
                announced: announced.into(),
                limit: max,
            });
        }
    };
    payload.resize(len, 0);
    let got = read_full(reader, payload)?;
    if got < len {
        payload.truncate(got);
        return Err(FrameError::FrameCut {
            part: FramePart::Payload,
            expected: len,
            got,
        });
    }
    Ok(true)
}

/// Fills `buf` with as many read() calls as it takes, and returns how many
/// bytes came: `buf.len()`, or fewer if the stream ended first. This is
/// std's `read_exact`, except that `read_exact` does not say how far it got
/// before the end.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}
// ANCHOR_END: read_frame

/// Closes a connection whose peer may still be sending, without losing what
/// we sent last (an error message, say).
///
/// Closing a socket while bytes from the peer wait unread in its receive
/// queue makes the kernel reset the connection at once, instead of ending
/// it: what we wrote and it has not sent yet is thrown away (a peer that
/// stopped reading has left it waiting), the peer's next read fails with
/// "connection reset" instead of seeing the end, and some systems drop what
/// the peer had received but not read. So: send FIN (`shutdown(Write)`)
/// after our last message, then read and discard what the peer still sends,
/// for at most 1 MiB or one second, then close.
pub fn close_gently(stream: TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut left: usize = 1 << 20;
    let mut sink = [0; 8192];
    while left > 0 {
        let Some(wait) = deadline.checked_duration_since(Instant::now()) else {
            break;
        };
        if wait.is_zero() || stream.set_read_timeout(Some(wait)).is_err() {
            break;
        }
        match (&stream).read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

/// Line framing for a program that reads bytes in pieces of its own (a
/// non-blocking server reads whatever a socket has, whenever it is ready):
/// [`push`](Self::push) what came, then take the complete lines out with
/// [`next_line`](Self::next_line).
///
/// It never holds more than `max + 1` bytes of an unfinished line: past
/// that, [`next_line`](Self::next_line) says the line is too long.
#[derive(Debug)]
pub struct LineDecoder {
    buf: Vec<u8>,
    /// How far `buf` has been searched for a `\n` already.
    searched: usize,
    max: usize,
}

impl LineDecoder {
    /// A decoder for lines of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        LineDecoder {
            buf: Vec::new(),
            searched: 0,
            max,
        }
    }

    /// Adds bytes that came from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete line, without its `\n`; `Ok(None)` when no complete
    /// line is buffered yet. After [`FrameError::LineTooLong`] the decoder
    /// cannot find where the next line begins: drop the connection.
    pub fn next_line(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        match self.buf[self.searched..].iter().position(|&b| b == b'\n') {
            Some(at) => {
                let end = self.searched + at;
                if end > self.max {
                    return Err(FrameError::LineTooLong { limit: self.max });
                }
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop();
                self.searched = 0;
                Ok(Some(line))
            }
            None if self.buf.len() > self.max => Err(FrameError::LineTooLong { limit: self.max }),
            None => {
                self.searched = self.buf.len();
                Ok(None)
            }
        }
    }

    /// How many bytes of an unfinished line are buffered.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Called at the end of the stream: an error if a line was left without
    /// its `\n`.
    pub fn finish(&self) -> Result<(), FrameError> {
        match self.buf.len() {
            0 => Ok(()),
            got => Err(FrameError::LineCut { got }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Cursor};

    /// A reader that returns at most `step` bytes per read, as a socket may.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn lines_of(data: &[u8], max: usize) -> (Vec<Vec<u8>>, Option<FrameError>) {
        let mut reader = BufReader::with_capacity(3, Trickle { data, step: 2 });
        let mut lines = Vec::new();
        let mut line = Vec::new();
        loop {
            match read_line(&mut reader, max, &mut line) {
                Ok(true) => lines.push(line.clone()),
                Ok(false) => return (lines, None),
                Err(err) => return (lines, Some(err)),
            }
        }
    }

    #[test]
    fn lines_come_back_whatever_the_reads_were() {
        let (lines, end) = lines_of(b"one\n\ntwo\r\nthree\n", 5);
        assert_eq!(lines, [&b"one"[..], b"", b"two\r", b"three"]);
        assert!(end.is_none());
    }

    #[test]
    fn a_line_of_exactly_max_bytes_passes_and_one_more_is_refused() {
        let (lines, end) = lines_of(b"12345\n123456\nnext\n", 5);
        assert_eq!(lines, [b"12345"]);
        assert!(matches!(end, Some(FrameError::LineTooLong { limit: 5 })));
    }

    #[test]
    fn a_line_without_its_newline_at_the_end_is_cut() {
        let (lines, end) = lines_of(b"one\ntw", 5);
        assert_eq!(lines, [b"one"]);
        assert!(matches!(end, Some(FrameError::LineCut { got: 2 })));
    }

    #[test]
    fn frames_round_trip_including_empty_ones() -> Result<(), FrameError> {
        let mut stream = Vec::new();
        for payload in [&b"hello"[..], b"", b"\n\0\xff"] {
            write_frame(&mut stream, payload)?;
        }
        let mut reader = Trickle {
            data: &stream,
            step: 3,
        };
        let mut payload = Vec::new();
        let mut got = Vec::new();
        while read_frame(&mut reader, 16, &mut payload)? {
            got.push(payload.clone());
        }
        assert_eq!(got, [&b"hello"[..], b"", b"\n\0\xff"]);
        Ok(())
    }

    #[test]
    fn a_huge_prefix_is_refused_before_anything_is_allocated() {
        let mut reader = Cursor::new([0xFF, 0xFF, 0xFF, 0xFF, b'x']);
        let mut payload = Vec::new();
        let err = read_frame(&mut reader, MAX_MESSAGE, &mut payload);
        assert!(matches!(
            err,
            Err(FrameError::FrameTooLong {
                announced: 0xFFFF_FFFF,
                limit: MAX_MESSAGE
            })
        ));
        assert_eq!(payload.capacity(), 0);
    }

    #[test]
    fn a_frame_cut_by_the_end_says_how_much_was_missing() {
        let mut payload = Vec::new();
        let err = read_frame(&mut Cursor::new([0, 0, 0, 10, 1, 2, 3]), 16, &mut payload);
        let Err(err) = err else {
            panic!("a cut frame was accepted");
        };
        assert_eq!(
            err.to_string(),
            "frame cut: the stream ended 7 bytes short (3 of the 10-byte payload came)"
        );
        let err = read_frame(&mut Cursor::new([0, 0]), 16, &mut payload);
        assert!(matches!(
            err,
            Err(FrameError::FrameCut {
                part: FramePart::Prefix,
                expected: 4,
                got: 2
            })
        ));
    }

    /// A writer whose every write takes at most 3 bytes, as a socket with a
    /// nearly full send buffer may.
    struct Stingy(Vec<u8>);

    impl Write for Stingy {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(3);
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let first = bufs.iter().find(|buf| !buf.is_empty());
            first.map_or(Ok(0), |buf| self.write(buf))
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn short_writes_are_continued_until_the_whole_message_is_out() -> io::Result<()> {
        let mut out = Stingy(Vec::new());
        write_frame(&mut out, b"hello")?;
        write_line(&mut out, b"line")?;
        assert_eq!(out.0, b"\0\0\0\x05helloline\n");
        Ok(())
    }

    /// A reader or writer whose first call is interrupted by a signal
    /// (`EINTR`), as a socket's may be: the call is simply made again.
    struct Interrupted<T> {
        inner: T,
        interrupted: bool,
    }

    impl<T> Interrupted<T> {
        fn new(inner: T) -> Self {
            Interrupted {
                inner,
                interrupted: false,
            }
        }

        fn once(&mut self) -> io::Result<()> {
            if std::mem::replace(&mut self.interrupted, true) {
                Ok(())
            } else {
                Err(io::ErrorKind::Interrupted.into())
            }
        }
    }

    impl<T: Read> Read for Interrupted<T> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.once()?;
            self.inner.read(buf)
        }
    }

    impl<T: Write> Write for Interrupted<T> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.once()?;
            self.inner.write(buf)
        }

        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.once()?;
            self.inner.write_vectored(bufs)
        }

        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }

    #[test]
    fn an_interrupted_call_is_made_again() -> Result<(), FrameError> {
        let mut out = Interrupted::new(Vec::new());
        write_frame(&mut out, b"hi")?;
        assert_eq!(out.inner, b"\0\0\0\x02hi");
        let mut payload = Vec::new();
        let mut reader = Interrupted::new(Cursor::new(out.inner));
        assert!(read_frame(&mut reader, 16, &mut payload)?);
        assert_eq!(payload, b"hi");
        Ok(())
    }

    /// A reader and writer whose every call fails as a reset socket's does.
    struct Broken;

    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::ErrorKind::ConnectionReset.into())
        }
    }

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failing_socket_is_an_error_not_a_retry() {
        let mut payload = Vec::new();
        assert!(matches!(
            read_frame(&mut Broken, 16, &mut payload),
            Err(FrameError::Io(_))
        ));
        assert!(write_frame(&mut Broken, b"x").is_err());
        assert!(write_line(&mut Broken, b"x").is_err());
    }

    #[test]
    fn a_socket_error_is_the_source_of_the_frame_error() {
        use std::error::Error;
        let err = FrameError::from(io::Error::from(io::ErrorKind::ConnectionReset));
        assert!(err.source().is_some());
        assert!(FrameError::LineCut { got: 1 }.source().is_none());
    }

    #[test]
    fn the_default_maximum_is_64_kib() {
        assert_eq!(MAX_MESSAGE, 65_536);
    }

    #[test]
    fn a_line_of_max_bytes_cut_by_the_end_is_cut_not_too_long() {
        let (lines, end) = lines_of(b"12345", 5);
        assert!(lines.is_empty());
        assert!(matches!(end, Some(FrameError::LineCut { got: 5 })));
    }

    #[test]
    fn the_decoder_waits_for_the_newline_of_a_line_of_max_bytes() {
        let mut decoder = LineDecoder::new(4);
        decoder.push(b"1234");
        assert!(matches!(decoder.next_line(), Ok(None)));
        assert_eq!(decoder.pending(), 4);
        decoder.push(b"\n");
        assert_eq!(decoder.next_line().ok().flatten(), Some(b"1234".to_vec()));
        assert_eq!(decoder.pending(), 0);
    }

    #[test]
    fn closing_gently_lets_the_peer_read_our_last_words() -> io::Result<()> {
        use std::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let mut peer = TcpStream::connect(listener.local_addr()?)?;
        let (mut conn, _) = listener.accept()?;
        // The peer sends what we will never read, then waits for our answer.
        peer.write_all(&[b'x'; 100_000])?;
        conn.write_all(b"error: no")?;
        peer.shutdown(Shutdown::Write)?;
        close_gently(conn);
        // A plain close with the 100,000 bytes unread would have sent RST,
        // and the peer's read would fail with "connection reset".
        peer.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut answer = Vec::new();
        peer.read_to_end(&mut answer)?;
        assert_eq!(answer, b"error: no");
        Ok(())
    }

    #[test]
    fn write_line_refuses_a_newline_inside() {
        let mut out = Vec::new();
        assert!(write_line(&mut out, b"a\nb").is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn the_decoder_finds_lines_across_pieces_and_bounds_its_buffer() {
        let mut decoder = LineDecoder::new(4);
        decoder.push(b"ab");
        assert!(matches!(decoder.next_line(), Ok(None)));
        decoder.push(b"\ncd\nef");
        assert_eq!(decoder.next_line().ok().flatten(), Some(b"ab".to_vec()));
        assert_eq!(decoder.next_line().ok().flatten(), Some(b"cd".to_vec()));
        assert!(matches!(decoder.next_line(), Ok(None)));
        assert!(matches!(
            decoder.finish(),
            Err(FrameError::LineCut { got: 2 })
        ));
        decoder.push(b"ghi");
        assert!(matches!(
            decoder.next_line(),
            Err(FrameError::LineTooLong { limit: 4 })
        ));
        let mut decoder = LineDecoder::new(4);
        decoder.push(b"12345\n");
        assert!(matches!(
            decoder.next_line(),
            Err(FrameError::LineTooLong { limit: 4 })
        ));
        let mut decoder = LineDecoder::new(4);
        decoder.push(b"1234\n");
        assert_eq!(decoder.next_line().ok().flatten(), Some(b"1234".to_vec()));
        assert!(decoder.finish().is_ok());
    }
}
