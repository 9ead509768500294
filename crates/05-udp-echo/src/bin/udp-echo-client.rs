//! Lesson 5, the client: send each typed line as one datagram, print the
//! answer and who sent it, and send again if no answer comes.
//! (In the Python course: udp_client.py, which sends `hello` once.)

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use common::QuitWord;
use common::datagram::{self, Patience};

/// Lesson 5 (UDP echo), the client: sends each line you type to the server
/// as one datagram and prints the answer. It waits --timeout seconds for an
/// answer and sends again, --tries times in all, because UDP never
/// retransmits. The quit word or the end of input (Ctrl-D) ends it.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// The server's address.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9000",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// The line that ends the client (compared ignoring case). It is not
    /// sent.
    #[arg(long, value_name = "WORD", default_value = "bye")]
    quit: QuitWord,
    #[command(flatten)]
    patience: Patience,
    /// Leave the socket unconnected, as the Python client does: answers are
    /// taken from anyone, and a closed port looks like silence.
    #[arg(long)]
    unconnected: bool,
}

fn main() -> ExitCode {
    common::run(5, talk)
}

// ANCHOR: socket
fn talk(args: Args) -> anyhow::Result<()> {
    let mut out = common::out();
    // socket(AF_INET, SOCK_DGRAM) + bind(port 0): the kernel picks a free
    // port for us. It is the return address on every datagram we send, so
    // the server's answers come back to this socket.
    let socket =
        UdpSocket::bind(datagram::local_for(args.addr)).context("cannot create a UDP socket")?;

    // connect() on a UDP socket sends nothing. The kernel only notes the
    // server's address: datagrams from anyone else are dropped, and an ICMP
    // "port unreachable" from the server's machine is reported to us as
    // ECONNREFUSED instead of being ignored.
    if !args.unconnected {
        socket
            .connect(args.addr)
            .with_context(|| format!("cannot connect to {}", args.addr))?;
    }
    writeln!(
        out,
        "talking to {} from {}",
        args.addr,
        socket.local_addr()?
    )?;
    // ANCHOR_END: socket

    // ANCHOR: talk
    let mut typed = common::Typed::new("client> ")?;
    let mut buf = [0; common::BUFFER_SIZE];
    // The message before this one, if it was sent more than once: the echo
    // of a try that was not the one answered may still come, late.
    let mut resent: Option<Vec<u8>> = None;
    loop {
        let Some(line) = typed.next_line()? else {
            writeln!(out, "end of input: leaving")?;
            break;
        };
        if args.quit.matches(&line) {
            writeln!(out, "you said {}: leaving", args.quit)?;
            break;
        }
        // sendto() the line as one datagram (an empty line is an empty
        // datagram), then recvfrom(1024) the answer, sending again if none
        // comes in time. An echo equals what was sent (or its first 1024
        // bytes, if cut): a datagram that instead echoes the previous
        // message, sent more than once, is the late answer to one of its
        // tries, and is dropped while the wait for this one goes on. Any
        // other answer is taken as it is: the Python server answers `hi`.
        let is_answer = |answer: &datagram::Datagram, bytes: &[u8]| {
            let late = resent
                .as_ref()
                .is_some_and(|earlier| is_echo(earlier, answer, bytes));
            is_echo(&line, answer, bytes) || !late
        };
        let (answer, tries) = datagram::ask_for(
            &socket,
            args.addr,
            &line,
            &mut buf,
            args.patience,
            is_answer,
        )?;
        let reply = &buf[..answer.len];
        writeln!(out, "reply from {}: {}", answer.from, datagram::show(reply))?;
        if answer.is_truncated() {
            writeln!(out, "(the reply was cut: {})", answer.cut_note())?;
        }
        resent = (tries > 1).then_some(line);
    }
    // close(): nothing goes on the wire. The server never learns we left.
    writeln!(out, "closing the socket: UDP sends nothing to say so")?;
    Ok(())
}
// ANCHOR_END: talk

/// Whether `bytes`, received as `answer`, is the echo of `message`: the
/// same bytes, or the first of them when the buffer cut the echo.
fn is_echo(message: &[u8], answer: &datagram::Datagram, bytes: &[u8]) -> bool {
    answer.size == message.len() && message.starts_with(bytes)
}
