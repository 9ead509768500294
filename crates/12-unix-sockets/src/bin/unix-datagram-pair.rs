//! Lesson 12, the datagram pair: two connected Unix datagram sockets in one
//! process show that a datagram socket keeps message boundaries, and that a
//! full queue makes the sender wait instead of dropping what it sends.

use std::io::{ErrorKind, Write};
use std::os::unix::net::UnixDatagram;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

/// Lesson 12 (Unix-domain sockets), the datagram pair: sends three messages
/// of different sizes and receives them as three, then fills the queue
/// between the two sockets until the kernel says the next send would block,
/// and counts that every datagram is still there.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// The size of each datagram that fills the queue, in bytes.
    #[arg(long, default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    size: u32,
}

fn main() -> ExitCode {
    common::run(12, pair)
}

// ANCHOR: pair
fn pair(args: Args) -> anyhow::Result<()> {
    let mut out = common::out();
    // socketpair(AF_UNIX, SOCK_DGRAM): two sockets already connected to each
    // other, no address at all. (A server would bind a path, as with
    // streams, and a client bind its own to be answered.)
    let (sender, receiver) = UnixDatagram::pair().context("cannot make a socket pair")?;

    // Three send() calls are three datagrams: each recv() returns exactly
    // one of them, whole, never two glued together (compare lesson 9).
    for message in ["one", "two, a longer one", "three"] {
        sender.send(message.as_bytes())?;
        writeln!(out, "sent {} bytes: {message}", message.len())?;
    }
    let mut buf = [0; common::BUFFER_SIZE];
    for _ in 0..3 {
        let n = receiver.recv(&mut buf)?;
        writeln!(out, "received {n} bytes: {}", common::show(&buf[..n]))?;
    }

    // Now fill the queue. A blocking send() would wait here until the
    // receiver reads; non-blocking, the kernel says "would block" instead.
    // UDP on a network would drop the datagrams it has no room for.
    sender.set_nonblocking(true)?;
    let datagram = vec![b'x'; args.size as usize];
    let mut queued = 0u32;
    while queued < 1_000_000 {
        match sender.send(&datagram) {
            Ok(_) => queued += 1,
            Err(err) if err.kind() == ErrorKind::WouldBlock => break,
            Err(err) => return Err(err).context("cannot send"),
        }
    }
    writeln!(
        out,
        "the queue took {queued} datagrams of {} bytes; the next send would block",
        args.size
    )?;

    // Read them all back: every one is there, nothing was dropped.
    receiver.set_nonblocking(true)?;
    let mut buf = vec![0; datagram.len()];
    let mut received = 0u32;
    loop {
        match receiver.recv(&mut buf) {
            Ok(_) => received += 1,
            Err(err) if err.kind() == ErrorKind::WouldBlock => break,
            Err(err) => return Err(err).context("cannot receive"),
        }
    }
    writeln!(out, "received {received} of {queued}: none was lost")?;
    Ok(())
}
// ANCHOR_END: pair
