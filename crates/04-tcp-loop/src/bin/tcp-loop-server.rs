//! Lesson 4, the server: lesson 3's chat inside a second loop, so that when
//! one client leaves, gracefully or not, the server accepts the next. (In the
//! Python course: the server with `while True` around `accept()`, and its
//! "optimised" version that catches a client's errors.)

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use common::{QuitWord, Typed, show};

/// Lesson 4 (a server that loops), the server: chats with one client at a
/// time, as in lesson 3, and when that client leaves (quit word, closed
/// connection, reset) or you type the quit word, accepts the next. The end
/// of your input stops the server.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// Where to listen (port 0 lets the kernel pick a free port).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8001",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// The word that ends a chat with one client, from either side.
    #[arg(long, value_name = "WORD", default_value_t)]
    quit: QuitWord,
}

fn main() -> ExitCode {
    common::run(4, serve)
}

// ANCHOR: serve
fn serve(args: Args) -> anyhow::Result<()> {
    common::stop_on_ctrl_c("server")?;
    let listener =
        TcpListener::bind(args.addr).with_context(|| format!("cannot listen on {}", args.addr))?;
    common::announce(listener.local_addr()?)?;

    let mut typed = Typed::new("server> ");
    let mut buf = [0; common::BUFFER_SIZE];
    'clients: loop {
        // The outer loop: one turn per client. accept() takes the next
        // connection from the queue, waiting for one if it is empty.
        println!("waiting for a client");
        let (mut conn, client) = listener.accept().context("accept failed")?;
        println!("{client} connected");

        // The inner loop: lesson 3's chat. Every way it can end is one
        // `break`, and none of them ends the server.
        loop {
            // ANCHOR: recv
            let n = match conn.read(&mut buf) {
                // recv returned 0 bytes: the client closed its side (FIN).
                Ok(0) => {
                    println!("{client} left: it closed the connection");
                    break;
                }
                Ok(n) => n,
                // The client's kernel sent RST: it closed with SO_LINGER 0,
                // or with our data unread. (A client killed by Ctrl-C closes
                // normally: its kernel sends FIN.) Python raises
                // ConnectionResetError here.
                Err(err) if err.kind() == ErrorKind::ConnectionReset => {
                    println!("{client} left abruptly: the connection was reset");
                    break;
                }
                Err(err) => {
                    println!("{client}: cannot receive ({err}); dropping it");
                    break;
                }
            };
            // ANCHOR_END: recv
            // Up to 1024 bytes: a longer message arrives in several reads,
            // and a character can be cut at the edge (shown as U+FFFD).
            println!("{client} says: {}", show(&buf[..n]));
            if args.quit.matches(&buf[..n]) {
                println!("{client} said {}: next client", args.quit);
                break;
            }

            let Some(reply) = typed.next_message()? else {
                println!("end of input: the server stops");
                break 'clients;
            };
            if let Err(err) = conn.write_all(reply.as_bytes()) {
                // Writing to a connection the client reset gives an error
                // (EPIPE or ECONNRESET) instead of killing the process.
                println!("{client} left abruptly: cannot send ({err})");
                break;
            }
            if args.quit.matches(&reply) {
                println!("you said {} to {client}: next client", args.quit);
                break;
            }
        }
        // close() this client's socket; the listener stays open.
        drop(conn);
    }
    Ok(())
}
// ANCHOR_END: serve
