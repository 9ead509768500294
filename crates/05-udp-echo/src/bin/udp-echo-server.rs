//! Lesson 5, the server: take datagrams from anyone, print each with its
//! sender's address, and send it straight back to that address.
//! (In the Python course: udp_server.py, which answers one datagram with
//! `hi` and stops; this one loops.)

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use clap::builder::RangedU64ValueParser;
use common::datagram;

/// Lesson 5 (UDP echo), the server: receives datagrams from any number of
/// clients, prints each as `[IP:PORT] message`, and sends it back to the
/// address it came from. There are no connections: every datagram stands
/// alone, and the server runs until Ctrl-C.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// Where to listen (port 0 lets the kernel pick a free port).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9000",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// Answer every datagram with this text instead of echoing it (the
    /// Python server answers `hi`).
    #[arg(long, value_name = "TEXT")]
    reply: Option<String>,
    /// How many bytes one recvfrom takes, as Python's `recvfrom(1024)`: a
    /// longer datagram is cut to this size and the rest is lost.
    #[arg(long, value_name = "BYTES", default_value_t = common::BUFFER_SIZE,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=65_536))]
    buffer: usize,
}

fn main() -> ExitCode {
    common::run(5, serve)
}

// ANCHOR: serve
fn serve(args: Args) -> anyhow::Result<()> {
    common::stop_on_ctrl_c("server")?;

    // socket(AF_INET, SOCK_DGRAM) + bind(): the kernel creates a UDP socket
    // and from now on queues every datagram sent to this address, whoever
    // sends it. No listen(), no accept(): UDP has no connections to accept.
    let socket =
        UdpSocket::bind(args.addr).with_context(|| format!("cannot bind {}", args.addr))?;
    common::announce(socket.local_addr()?)?;

    // One buffer and one lock on stdout for the whole run: the loop below
    // allocates nothing, and each line it prints is one write.
    let mut buf = vec![0; args.buffer];
    let mut out = common::out().lock();
    loop {
        // recvfrom(1024): wait for the next datagram, copy it into the
        // buffer, and learn the address of the socket that sent it. One call
        // takes exactly one datagram; whatever did not fit is thrown away.
        let datagram = datagram::recv_from(&socket, &mut buf).context("cannot receive")?;
        let (message, client) = (&buf[..datagram.len], datagram.from);
        // ANCHOR: print
        // Shown safely; a datagram of 0 bytes is still a datagram, and
        // says so. (On TCP a read of 0 bytes means "the peer closed"; UDP
        // has nothing to close.)
        writeln!(out, "[{client}] {}", datagram::show(message))?;
        if datagram.is_truncated() {
            writeln!(out, "[{client}] cut: {}", datagram.cut_note())?;
        }
        // ANCHOR_END: print

        // sendto(): one datagram back to the address this one came from.
        // The kernel sends it at once; nobody tells us if it arrives.
        let reply = match &args.reply {
            Some(text) => text.as_bytes(),
            None => message,
        };
        if let Err(err) = socket.send_to(reply, client) {
            writeln!(out, "[{client}] cannot answer: {err}")?;
        }
    }
}
// ANCHOR_END: serve
