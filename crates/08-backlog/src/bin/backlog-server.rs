//! Lesson 8, the server: listen with a chosen backlog and never accept on
//! its own, so the kernel's queue of connections fills up.
//! (In the Python course: `server.listen(5)`, the "half-connection pool".)

use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use common::Typed;
use socket2::{Domain, Protocol, Socket, Type};

/// Lesson 8 (the listen backlog), the server: listens with `--backlog N`
/// and accepts nothing until you press Enter, so connections pile up in the
/// kernel's queue. Run backlog-probe to count how many fit.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// Where to listen (port 0 lets the kernel pick a free port).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// The backlog given to listen(): on Linux, the queue holds this many
    /// completed connections plus one.
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(i32).range(0..=4096))]
    backlog: i32,
}

fn main() -> ExitCode {
    common::run(8, serve)
}

// ANCHOR: listen
fn serve(args: Args) -> anyhow::Result<()> {
    common::stop_on_ctrl_c("server")?;
    let mut out = common::out();
    // socket() + bind() + listen(backlog), one call each: the standard
    // library's TcpListener::bind always asks for a backlog of 128.
    let socket = Socket::new(
        Domain::for_address(args.addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .context("cannot create a socket")?;
    socket
        .bind(&args.addr.into())
        .with_context(|| format!("cannot bind {}", args.addr))?;
    // From here the kernel answers every SYN with SYN-ACK and moves each
    // finished handshake to the accept queue, while the queue has room.
    // When it is full (more than `backlog` waiting, on Linux), it drops new
    // SYNs: the client hears nothing, retries, and its connect times out.
    socket.listen(args.backlog).context("cannot listen")?;
    let listener: TcpListener = socket.into();
    common::announce(listener.local_addr()?)?;
    writeln!(
        out,
        "backlog {}: accepting nothing; press Enter to accept one connection",
        args.backlog
    )?;
    // ANCHOR_END: listen

    // ANCHOR: accept
    // accept() must not block here: with the queue empty it would wait for
    // a client instead of for the next Enter.
    listener.set_nonblocking(true)?;
    let mut typed = Typed::new("press Enter to accept> ")?;
    while typed.next_line()?.is_some() {
        match listener.accept() {
            Ok((_conn, client)) => writeln!(out, "accepted {client} from the queue")?,
            Err(err) if err.kind() == ErrorKind::WouldBlock => {
                writeln!(out, "the queue is empty: no connection to accept")?
            }
            Err(err) => return Err(err).context("accept failed"),
        }
    }
    writeln!(out, "end of input: the server stops")?;
    Ok(())
    // ANCHOR_END: accept
}
