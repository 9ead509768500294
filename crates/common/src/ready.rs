//! The ready line: a server's first line on stdout.

use std::io::Write;
use std::net::SocketAddr;

/// Prints `listening on IP:PORT` with the address the kernel actually bound
/// (port 0 resolved to the real port) and flushes it at once.
///
/// Whoever started the server (a learner, a test, the demo player) waits for
/// this line instead of sleeping: once it is printed, the socket exists and
/// connections or datagrams sent to it are queued by the kernel.
pub fn announce(addr: SocketAddr) -> std::io::Result<()> {
    let mut out = crate::out();
    writeln!(out, "listening on {addr}")?;
    out.flush()
}
