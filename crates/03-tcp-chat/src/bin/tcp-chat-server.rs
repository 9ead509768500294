//! Lesson 3, the server: chat with one client, taking turns, until either
//! side says the quit word. (In the Python course: the server that "can only
//! talk to the first client".)

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use common::{Quit, QuitWord, Typed, Waited, end_of_input_says, show};

/// Lesson 3 (chat with one client), the server: accepts one client, then
/// you and the client take turns, the client first, until either side types
/// the quit word or its input ends (which says the quit word for it). The
/// quit word or Ctrl-D act at once, even while the server waits.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// Where to listen (port 0 lets the kernel pick a free port).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8090",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// The word that ends the chat, from either side.
    #[arg(long, value_name = "WORD", default_value_t)]
    quit: QuitWord,
}

fn main() -> ExitCode {
    common::run(3, serve)
}

// ANCHOR: serve
fn serve(args: Args) -> anyhow::Result<()> {
    common::stop_on_ctrl_c("server")?;
    let mut out = common::out();
    let listener =
        TcpListener::bind(args.addr).with_context(|| format!("cannot listen on {}", args.addr))?;
    common::announce(listener.local_addr()?)?;
    let mut typed = Typed::new("server> ")?;

    // Wait for a client, and for the keyboard at the same time: poll()
    // watches both, so the quit word or Ctrl-D stop the server at once.
    if let Waited::Quit(_) = typed.wait_for(&listener, &args.quit, None)? {
        writeln!(out, "you left before any client came: the server stops")?;
        return Ok(());
    }
    // accept() once: this server talks to its first client only. Others can
    // still connect, because the kernel completes their handshakes and
    // queues them, but no code of ours will ever read from them.
    let (mut conn, client) = listener.accept().context("accept failed")?;
    writeln!(
        out,
        "chatting with {client}; it speaks first ('{}' ends the chat)",
        args.quit
    )?;

    let mut buf = [0; common::BUFFER_SIZE];
    loop {
        // The client's turn. poll() waits for its bytes and for the
        // keyboard at once: the quit word or Ctrl-D typed now end the chat
        // now, and the client is told with the quit word.
        if let Waited::Quit(why) = typed.wait_for(&conn, &args.quit, None)? {
            if why == Quit::EndOfInput {
                end_of_input_says(&args.quit)?;
            }
            conn.write_all(args.quit.as_str().as_bytes())
                .context("cannot send")?;
            writeln!(out, "you said {}: the chat is over", args.quit)?;
            break;
        }
        // recv(1024): the client's bytes are there. 0 bytes means it closed.
        let n = conn.read(&mut buf).context("cannot receive")?;
        if n == 0 {
            writeln!(out, "{client} left: it closed the connection")?;
            break;
        }
        writeln!(out, "{client} says: {}", show(&buf[..n]))?;
        if args.quit.matches(&buf[..n]) {
            writeln!(out, "{client} said {}: the chat is over", args.quit)?;
            break;
        }

        // Our turn. What the operator types goes back as it is, without a
        // newline. An empty line is refused: send(b"") puts no bytes on the
        // wire, so both sides would wait for each other forever. The end of
        // input is said as the quit word, the one end the client knows.
        let reply = match typed.next_message()? {
            Some(reply) => reply,
            None => end_of_input_says(&args.quit)?,
        };
        conn.write_all(&reply).context("cannot send")?;
        if args.quit.matches(&reply) {
            writeln!(out, "you said {}: the chat is over", args.quit)?;
            break;
        }
    }
    // close(): the kernel sends FIN to the client. When the process exits,
    // the listener closes too, and every connection still waiting in its
    // queue, never accepted, is reset.
    drop(conn);
    writeln!(out, "closed the connection")?;
    Ok(())
}
// ANCHOR_END: serve
