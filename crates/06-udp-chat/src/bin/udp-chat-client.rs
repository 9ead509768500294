//! Lesson 6, the client: send each typed line to the chat server and print
//! the reply its operator types. (In the Python course: the UDP chat
//! clients that go with the QQ-style server.)

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use common::QuitWord;
use common::datagram::{self, Patience};

/// Lesson 6 (QQ-style UDP chat), the client: sends each line you type to
/// the chat server and waits for the reply a person types there. The quit
/// word or the end of input (Ctrl-D) ends it; so does the server's quit
/// word as a reply.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// The server's address.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8081",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// The line that ends the client (compared ignoring case). It is not
    /// sent. The same word as a reply means the server has stopped.
    #[arg(long, value_name = "WORD", default_value = "bye")]
    quit: QuitWord,
    /// How many seconds to wait for a reply. A person types it, so the
    /// message is sent once and never again: a second copy would be read
    /// as a second message.
    #[arg(long, value_name = "SECONDS", default_value = "600",
          value_parser = datagram::parse_seconds)]
    timeout: Duration,
}

fn main() -> ExitCode {
    common::run(6, chat)
}

// ANCHOR: chat
fn chat(args: Args) -> anyhow::Result<()> {
    let mut out = common::out();
    // A UDP socket on a free port, connected to the server: its replies
    // come back here, and a closed port is reported (see lesson 5).
    let socket =
        UdpSocket::bind(datagram::local_for(args.addr)).context("cannot create a UDP socket")?;
    socket
        .connect(args.addr)
        .with_context(|| format!("cannot connect to {}", args.addr))?;
    writeln!(
        out,
        "chatting with {} from {}",
        args.addr,
        socket.local_addr()?
    )?;

    // One try: sendto() the line, then recvfrom() until the reply comes.
    let patience = Patience {
        wait: args.timeout,
        tries: 1,
    };
    let mut typed = common::Typed::new("you> ")?;
    let mut buf = [0; common::BUFFER_SIZE];
    loop {
        let Some(line) = typed.next_line()? else {
            writeln!(out, "end of input: leaving")?;
            break;
        };
        if args.quit.matches(&line) {
            writeln!(out, "you said {}: leaving", args.quit)?;
            break;
        }
        let reply = datagram::ask(&socket, args.addr, &line, &mut buf, patience)?;
        let text = &buf[..reply.len];
        // An empty line typed at the server comes as a datagram of 0 bytes.
        writeln!(out, "reply from {}: {}", reply.from, datagram::show(text))?;
        if reply.is_truncated() {
            writeln!(out, "(the reply was cut: {})", reply.cut_note())?;
        }
        if args.quit.matches(text) {
            writeln!(out, "the server said {}: leaving", args.quit)?;
            break;
        }
    }
    Ok(())
}
// ANCHOR_END: chat
