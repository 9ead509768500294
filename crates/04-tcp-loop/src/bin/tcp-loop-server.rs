//! Lesson 4, the server: lesson 3's chat inside a second loop, so that when
//! one client leaves, gracefully or not, the server accepts the next. (In the
//! Python course: the server with `while True` around `accept()`, and its
//! "optimised" version that catches a client's errors.)

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use common::{Quit, QuitWord, Typed, Waited, show};

/// Lesson 4 (a server that loops), the server: chats with one client at a
/// time, as in lesson 3, and when that client leaves (quit word, closed
/// connection, reset, or silence longer than --idle-timeout) or you type the
/// quit word, accepts the next. The end of your input (Ctrl-D) stops the
/// server, at once, even while it waits; a client it was chatting with is
/// told with the quit word first.
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
    /// Drop a client that says nothing for this many seconds (fractions
    /// allowed) and take the next. Without it, a client whose machine or
    /// network vanished without a FIN or a reset is waited for forever.
    #[arg(long, value_name = "SECONDS", value_parser = common::datagram::parse_seconds)]
    idle_timeout: Option<Duration>,
}

fn main() -> ExitCode {
    common::run(4, serve)
}

// ANCHOR: serve
fn serve(args: Args) -> anyhow::Result<()> {
    common::stop_on_ctrl_c("server")?;
    let mut out = common::out();
    let listener =
        TcpListener::bind(args.addr).with_context(|| format!("cannot listen on {}", args.addr))?;
    common::announce(listener.local_addr()?)?;
    let quit = args.quit.as_str().as_bytes();

    let mut typed = Typed::new("server> ")?;
    let mut buf = [0; common::BUFFER_SIZE];
    'clients: loop {
        // The outer loop: one turn per client. poll() waits for the next
        // connection and for the keyboard at once, so Ctrl-D stops the
        // server now rather than after the next client.
        writeln!(out, "waiting for a client")?;
        match typed.wait_for(&listener, &args.quit, None)? {
            Waited::Quit(Quit::EndOfInput) => {
                writeln!(out, "end of input: the server stops")?;
                break 'clients;
            }
            Waited::Quit(Quit::Word) => {
                writeln!(out, "(no client to say {} to)", args.quit)?;
                continue 'clients;
            }
            Waited::Readable | Waited::TimedOut => {}
        }
        // accept(): a connection is in the queue; take it.
        let (mut conn, client) = listener.accept().context("accept failed")?;
        writeln!(out, "{client} connected")?;

        // The inner loop: lesson 3's chat. Every way it can end is one
        // `break`, and only the end of the operator's input ends the server.
        loop {
            // The client's turn: wait for its bytes, the keyboard, or the
            // idle timeout, whichever comes first.
            match typed.wait_for(&conn, &args.quit, args.idle_timeout)? {
                Waited::Readable => {}
                Waited::Quit(why) => {
                    // Say the quit word: the client then knows the chat is
                    // over. (It may have gone already: then nobody hears it.)
                    let _ = conn.write_all(quit);
                    if why == Quit::EndOfInput {
                        writeln!(
                            out,
                            "end of input: said {} to {client}; the server stops",
                            args.quit
                        )?;
                        break 'clients;
                    }
                    writeln!(out, "you said {} to {client}: next client", args.quit)?;
                    break;
                }
                // Silence: no FIN, no reset, no bytes. Only a timeout (or
                // TCP keepalive) notices a client whose machine is gone.
                Waited::TimedOut => {
                    let idle = args.idle_timeout.unwrap_or_default().as_secs_f64();
                    writeln!(out, "{client} said nothing for {idle} s: dropping it")?;
                    break;
                }
            }
            // ANCHOR: recv
            let n = match conn.read(&mut buf) {
                // recv returned 0 bytes: the client closed its side (FIN).
                Ok(0) => {
                    writeln!(out, "{client} left: it closed the connection")?;
                    break;
                }
                Ok(n) => n,
                // The client's kernel sent RST: it closed with SO_LINGER 0,
                // or with our data unread. (A client killed by Ctrl-C closes
                // normally: its kernel sends FIN.) Python raises
                // ConnectionResetError here.
                Err(err) if err.kind() == ErrorKind::ConnectionReset => {
                    writeln!(out, "{client} left abruptly: the connection was reset")?;
                    break;
                }
                Err(err) => {
                    writeln!(out, "{client}: cannot receive ({err}); dropping it")?;
                    break;
                }
            };
            // ANCHOR_END: recv
            // Up to 1024 bytes: a longer message arrives in several reads,
            // and a character can be cut at the edge (shown as U+FFFD).
            writeln!(out, "{client} says: {}", show(&buf[..n]))?;
            if args.quit.matches(&buf[..n]) {
                writeln!(out, "{client} said {}: next client", args.quit)?;
                break;
            }

            let Some(reply) = typed.next_message()? else {
                // The end of input stops the server; the client hears the
                // quit word first, the one end the Python client knows.
                let _ = conn.write_all(quit);
                writeln!(
                    out,
                    "end of input: said {} to {client}; the server stops",
                    args.quit
                )?;
                break 'clients;
            };
            if let Err(err) = conn.write_all(&reply) {
                // Writing to a connection the client reset gives an error
                // (EPIPE or ECONNRESET) instead of killing the process.
                writeln!(out, "{client} left abruptly: cannot send ({err})")?;
                break;
            }
            if args.quit.matches(&reply) {
                writeln!(out, "you said {} to {client}: next client", args.quit)?;
                break;
            }
        }
        // close() this client's socket; the listener stays open.
        drop(conn);
    }
    Ok(())
}
// ANCHOR_END: serve
