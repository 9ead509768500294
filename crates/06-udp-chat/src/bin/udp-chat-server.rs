//! Lesson 6, the server: one UDP socket talks with any number of clients.
//! Each message is shown highlighted with its sender's address, and the
//! operator's answer goes back to that sender. (In the Python course: the
//! server "like QQ chat", and the multi-person UDP chat servers.)

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use common::{Highlight, QuitWord, Waited, datagram};

/// Lesson 6 (QQ-style UDP chat), the server: shows each message a client
/// sends, highlighted (bold on blue, on a terminal only) with the client's
/// address, and sends the reply you type back to that client, and to no
/// other. Messages from other clients wait in the socket's queue meanwhile.
/// The quit word or the end of input (Ctrl-D) stops the server: at once
/// while it waits for a message, or after sending the quit word to the
/// client it was answering.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// Where to listen (port 0 lets the kernel pick a free port).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8081",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// The reply that stops the server (compared ignoring case). It is
    /// sent to the client first, so that the client stops too.
    #[arg(long, value_name = "WORD", default_value = "bye")]
    quit: QuitWord,
}

fn main() -> ExitCode {
    common::run(6, serve)
}

// ANCHOR: serve
fn serve(args: Args) -> anyhow::Result<()> {
    common::stop_on_ctrl_c("server")?;
    let mut out = common::out();

    // socket(AF_INET, SOCK_DGRAM) + bind(): every client sends to this one
    // address, and the kernel queues their datagrams here, in arrival order.
    let socket =
        UdpSocket::bind(args.addr).with_context(|| format!("cannot bind {}", args.addr))?;
    common::announce(socket.local_addr()?)?;

    let mut typed = common::Typed::new("reply> ")?;
    let mut buf = [0; common::BUFFER_SIZE];
    loop {
        // Wait for a datagram and for the keyboard at once (poll): the
        // quit word or Ctrl-D typed while no message waits stop the server
        // now, and no client is sent anything.
        if let Waited::Quit(_) = typed.wait_for(&socket, &args.quit, None)? {
            writeln!(
                out,
                "server stopped while no message waited: nothing sent to anyone"
            )?;
            return Ok(());
        }
        // recvfrom(1024): the next message from any client, and its address.
        let message = datagram::recv_from(&socket, &mut buf).context("cannot receive")?;
        let client = message.from;
        // ANCHOR: show
        // The text is the client's, so it is shown escaped: an escape
        // sequence inside it cannot recolour or clear this terminal. Only
        // the highlight around it is ours.
        let text = datagram::show(&buf[..message.len]);
        writeln!(out, "message from [{client}]: {}", Highlight(text))?;
        // ANCHOR_END: show
        if message.is_truncated() {
            writeln!(out, "(the message was cut: {})", message.cut_note())?;
        }

        // input(): the operator's reply. End of input counts as the quit word.
        let reply = match typed.next_line()? {
            Some(reply) => reply,
            None => args.quit.as_str().as_bytes().to_vec(),
        };
        // sendto(): the reply goes to the address this message came from,
        // and to no other client.
        if let Err(err) = socket.send_to(&reply, client) {
            writeln!(out, "cannot send to {client}: {err}")?;
        }
        if args.quit.matches(&reply) {
            writeln!(out, "server stopped: {} said to {client}", args.quit)?;
            return Ok(());
        }
    }
}
// ANCHOR_END: serve
