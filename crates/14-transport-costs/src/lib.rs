//! What lesson 14's server and client agree on: where the server's Unix
//! sockets are, and how a request travels over a byte stream.
//!
//! A datagram (UDP, Unix datagram) carries one request whole: the server
//! sends the same bytes back. A stream (TCP, Unix stream) has no messages
//! (lesson 9), so each request is framed: a 4-byte big-endian length, then
//! that many bytes; the server answers with the same frame. A length of
//! [`BULK`] asks for the throughput test instead: an 8-byte count follows,
//! then that many bytes, which the server reads and drops before it answers
//! one byte, [`BULK_DONE`].

use std::io::{self, Read};

/// The largest request a stream frame may carry (the lesson sends 64 KiB).
pub const MAX_FRAME: usize = 1 << 20;

/// The frame length that asks for the bulk throughput test.
pub const BULK: u32 = u32::MAX;

/// The byte that ends a bulk transfer: all of it was read.
pub const BULK_DONE: u8 = b'k';

/// The abstract name of the server's Unix stream socket, from its port: a
/// port is held by one live server at a time, so the name is too.
pub fn unix_stream_name(port: u16) -> String {
    format!("transport-echo-{port}.stream")
}

/// The abstract name of the server's Unix datagram socket.
pub fn unix_datagram_name(port: u16) -> String {
    format!("transport-echo-{port}.dgram")
}

/// Reads one frame's length: `None` when the peer closed cleanly first.
pub fn read_length(stream: &mut impl Read) -> io::Result<Option<u32>> {
    let mut header = [0; 4];
    match stream.read_exact(&mut header) {
        Ok(()) => Ok(Some(u32::from_be_bytes(header))),
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(err) => Err(err),
    }
}

/// A request of `size` bytes as a stream frame: its length, then the bytes.
pub fn frame(size: usize) -> Vec<u8> {
    let mut frame = Vec::with_capacity(4 + size);
    frame.extend_from_slice(&(size as u32).to_be_bytes());
    frame.resize(4 + size, b'x');
    frame
}

pub mod chart;
pub mod stats;
