//! Lesson 7, the client: send each typed strftime format to the time
//! server and print the time it answers.
//! (In the Python course: the client that asks "enter a time format
//! (e.g. %Y %m %d)".)

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use common::QuitWord;
use common::datagram::{self, Patience};

/// Lesson 7 (the time-format server), the client: sends each line you type,
/// a strftime format such as `%Y %m %d`, to the time server and prints its
/// answer. An empty line asks for the server's default format. Like lesson
/// 5's client it waits --timeout seconds and sends again, --tries times in
/// all. The quit word or the end of input (Ctrl-D) ends it.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// The server's address.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9001",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// The line that ends the client (compared ignoring case). It is not
    /// sent.
    #[arg(long, value_name = "WORD", default_value = "bye")]
    quit: QuitWord,
    #[command(flatten)]
    patience: Patience,
}

fn main() -> ExitCode {
    common::run(7, ask_the_time)
}

// ANCHOR: ask
fn ask_the_time(args: Args) -> anyhow::Result<()> {
    let mut out = common::out();
    // socket(AF_INET, SOCK_DGRAM) on a free port, connected to the server
    // so that a closed port is reported (lesson 5 explains why).
    let socket =
        UdpSocket::bind(datagram::local_for(args.addr)).context("cannot create a UDP socket")?;
    socket
        .connect(args.addr)
        .with_context(|| format!("cannot connect to {}", args.addr))?;
    writeln!(
        out,
        "asking {} for the time from {}",
        args.addr,
        socket.local_addr()?
    )?;

    let mut typed = common::Typed::new("format (e.g. %Y %m %d)> ")?;
    let mut buf = [0; common::BUFFER_SIZE];
    loop {
        let Some(format) = typed.next_line()? else {
            writeln!(out, "end of input: leaving")?;
            break;
        };
        if args.quit.matches(&format) {
            writeln!(out, "you said {}: leaving", args.quit)?;
            break;
        }
        // The format goes as it was typed, byte for byte, without a
        // newline: the server renders every byte of it.
        let answer = datagram::ask(&socket, args.addr, &format, &mut buf, args.patience)?;
        writeln!(
            out,
            "reply from {}: {}",
            answer.from,
            datagram::show(&buf[..answer.len])
        )?;
        if answer.is_truncated() {
            writeln!(out, "(the reply was cut: {})", answer.cut_note())?;
        }
    }
    Ok(())
}
// ANCHOR_END: ask
