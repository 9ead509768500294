//! Lesson 1, the server: accept one client, print what it says, answer `hi`,
//! close. (In the Python course: tcp_server.py.)

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

/// Lesson 1 (TCP hello), the server: waits for one client, prints what it
/// sends, answers `hi` and closes the connection.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// Where to listen (port 0 lets the kernel pick a free port).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8898",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// What to answer.
    #[arg(long, default_value = "hi")]
    reply: String,
}

fn main() -> ExitCode {
    common::run(1, serve)
}

// ANCHOR: serve
fn serve(args: Args) -> anyhow::Result<()> {
    common::stop_on_ctrl_c("server")?;
    let mut out = common::out();

    // socket() + bind() + listen() in one call: the kernel creates a TCP
    // socket, gives it this address, and from now on completes handshakes
    // with clients by itself, queueing each finished connection for accept().
    let listener =
        TcpListener::bind(args.addr).with_context(|| format!("cannot listen on {}", args.addr))?;
    common::announce(listener.local_addr()?)?;

    // accept(): wait until a client has connected, then take its connection
    // off the queue. `conn` is a new socket for this one client; `listener`
    // stays free for others (this lesson never asks for another).
    let (mut conn, client) = listener.accept().context("accept failed")?;
    writeln!(out, "connection from {client}")?;

    // recv(1024): wait for bytes from the client and take what has arrived,
    // up to 1024 of them. TCP is a stream of bytes: one read returns whatever
    // is there, and 0 means the client closed its side without sending.
    let mut buf = [0; common::BUFFER_SIZE];
    let n = conn.read(&mut buf).context("cannot receive")?;
    if n == 0 {
        writeln!(
            out,
            "{client} closed the connection without sending anything"
        )?;
        return Ok(());
    }
    writeln!(out, "received {n} bytes: {}", common::show(&buf[..n]))?;

    // send(): hand the bytes to the kernel, which sends them and retransmits
    // them until the client's kernel acknowledges them.
    conn.write_all(args.reply.as_bytes())
        .context("cannot send the reply")?;
    writeln!(out, "sent: {}", args.reply)?;

    // close(): dropping the socket closes it, and the kernel sends FIN. The
    // server closes first, so its side of this connection now waits in
    // TIME_WAIT for a minute: lesson 2 is about what that does to a restart.
    drop(conn);
    writeln!(out, "closed the connection")?;
    Ok(())
}
// ANCHOR_END: serve
