//! Lessons 3 and 4, the client: chat with the server, taking turns, you
//! first, until either side says the quit word. (In the Python course: the
//! chat client, and its "optimised" version that refuses empty messages.)

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use clap::Parser;
use common::{QuitWord, Typed, show};

/// Lesson 3 (chat with one client), the client, also used in lesson 4:
/// connects, then you and the server take turns, you first, until either
/// side types the quit word or your input ends.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// The server's address.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8090",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// The word that ends the chat, from either side.
    #[arg(long, value_name = "WORD", default_value_t)]
    quit: QuitWord,
}

fn main() -> ExitCode {
    common::run(3, chat)
}

// ANCHOR: chat
fn chat(args: Args) -> anyhow::Result<()> {
    // connect(): returns once the handshake is done, which the server's
    // kernel does by itself, even if the server's code is busy elsewhere.
    let mut stream = TcpStream::connect(args.addr)
        .with_context(|| format!("cannot connect to {}", args.addr))?;
    println!(
        "connected to {}; you speak first ('{}' to leave)",
        args.addr, args.quit
    );

    let mut typed = Typed::new("client> ");
    let mut buf = [0; common::BUFFER_SIZE];
    loop {
        // An empty line is refused: it would send nothing, and we would
        // wait forever for an answer to it.
        let Some(message) = typed.next_message()? else {
            println!("end of input: leaving");
            break;
        };
        stream.write_all(message.as_bytes()).map_err(server_gone)?;
        if args.quit.matches(&message) {
            println!("you said {}: leaving", args.quit);
            break;
        }

        // recv(1024): wait for the server's turn.
        let n = stream.read(&mut buf).map_err(server_gone)?;
        if n == 0 {
            println!("the server closed the connection");
            break;
        }
        println!("server says: {}", show(&buf[..n]));
        if args.quit.matches(&buf[..n]) {
            println!("the server said {}: leaving", args.quit);
            break;
        }
    }
    Ok(())
}
// ANCHOR_END: chat

/// Says plainly what a reset means here: the server's kernel threw the
/// connection away (its process ended before accepting us, or it closed the
/// connection with our message unread),
/// whether we learn it while sending (EPIPE) or while waiting (ECONNRESET).
fn server_gone(err: std::io::Error) -> anyhow::Error {
    match err.kind() {
        ErrorKind::ConnectionReset | ErrorKind::BrokenPipe => anyhow!(
            "the server reset the connection without answering: it ended before accepting \
             us, or closed the connection with our message unread"
        ),
        _ => anyhow::Error::new(err).context("the connection failed"),
    }
}
