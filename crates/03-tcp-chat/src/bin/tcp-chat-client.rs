//! Lessons 3 and 4, the client: chat with the server, taking turns, you
//! first, until either side says the quit word. (In the Python course: the
//! chat client, and its "optimised" version that refuses empty messages.)

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use clap::Parser;
use common::{Quit, QuitWord, Typed, Waited, end_of_input_says, show};

/// Lesson 3 (chat with one client), the client, also used in lesson 4 (a
/// server that loops): connects, then you and the server take turns, you
/// first, until either side types the quit word or your input ends (which
/// says the quit word for you).
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// The server's address (`make client L=4` points it at lesson 4's).
    #[arg(long, value_name = "HOST:PORT",
          default_value_t = common::args::default_addr(8090),
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
    let mut out = common::out();
    // connect(): returns once the handshake is done, which the server's
    // kernel does by itself, even if the server's code is busy elsewhere.
    let mut stream = TcpStream::connect(args.addr)
        .with_context(|| format!("cannot connect to {}", args.addr))?;
    writeln!(
        out,
        "connected to {}; you speak first ('{}' to leave)",
        args.addr, args.quit
    )?;

    let mut typed = Typed::new("client> ")?;
    let mut buf = [0; common::BUFFER_SIZE];
    loop {
        // An empty line is refused: it would send nothing, and we would
        // wait forever for an answer to it.
        let message = match typed.next_message()? {
            Some(message) => message,
            // End of input counts as the quit word, and is said as one: the
            // Python server knows no other way for a chat to end.
            None => end_of_input_says(&args.quit)?,
        };
        stream.write_all(&message).map_err(server_gone)?;
        if args.quit.matches(&message) {
            writeln!(out, "you said {}: leaving", args.quit)?;
            break;
        }

        // The server's turn. poll() waits for two things at once: bytes (or
        // the end) on the connection, and the keyboard, so that the quit
        // word or Ctrl-D typed now leave at once, not after the answer.
        if let Waited::Quit(why) = typed.wait_for(&stream, &args.quit, None)? {
            if why == Quit::EndOfInput {
                end_of_input_says(&args.quit)?;
            }
            stream
                .write_all(args.quit.as_str().as_bytes())
                .map_err(server_gone)?;
            writeln!(out, "you said {}: leaving", args.quit)?;
            break;
        }
        // recv(1024): the server's answer is there; this read does not wait.
        let n = stream.read(&mut buf).map_err(server_gone)?;
        if n == 0 {
            writeln!(out, "the server closed the connection")?;
            break;
        }
        writeln!(out, "server says: {}", show(&buf[..n]))?;
        if args.quit.matches(&buf[..n]) {
            writeln!(out, "the server said {}: leaving", args.quit)?;
            break;
        }
    }
    // close(): dropping the stream sends FIN.
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
