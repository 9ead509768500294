//! Lesson 11, the client: lesson 1's client, in the server's private
//! network, saying what state the kernel holds its side of the connection in.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use common::tcp_state::state_of;

/// Lesson 11 (the handshake on the wire), the client: enters the private
/// network of a running handshake-server, says hello!, reads the answer and
/// closes, reporting the state of its side of the connection on the way.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// The server's address inside its lab.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8911",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// What to send.
    #[arg(long, default_value = "hello!")]
    message: String,
    /// Close as soon as the answer is read, before the server closes.
    #[arg(long)]
    close_first: bool,
    /// The lab to join: the server's process id (found by itself when not given).
    #[arg(long, value_name = "PID")]
    lab: Option<u32>,
}

fn main() -> ExitCode {
    common::run(11, talk)
}

// ANCHOR: talk
fn talk(args: Args) -> anyhow::Result<()> {
    // Into the server's lab, before any thread starts.
    let pid = common::lab::join(11, args.addr, "tcp", args.lab)?;
    let mut out = common::out();
    writeln!(out, "joined the lab of process {pid}")?;

    // connect(): the kernel sends SYN and waits for SYN+ACK, then ACKs it.
    let mut conn = TcpStream::connect_timeout(&args.addr, Duration::from_secs(10))
        .with_context(|| format!("cannot connect to {}", args.addr))?;
    let (me, server) = (conn.local_addr()?, args.addr);
    let state = || -> anyhow::Result<&'static str> {
        Ok(state_of(me, server)?.map_or("gone", common::TcpState::name))
    };
    writeln!(out, "connected to {server} from {me}")?;
    writeln!(out, "kernel: this side {}", state()?)?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;

    conn.write_all(args.message.as_bytes())
        .context("cannot send")?;
    writeln!(out, "sent: {}", args.message)?;
    let mut buf = [0; common::BUFFER_SIZE];
    match conn.read(&mut buf) {
        Ok(n) => writeln!(out, "received {n} bytes: {}", common::show(&buf[..n]))?,
        // A RST from the server: the connection is gone at once, no close
        // to take part in.
        Err(err) if err.kind() == ErrorKind::ConnectionReset => {
            writeln!(out, "the server reset the connection")?;
            writeln!(out, "kernel: this side {}", state()?)?;
            return Ok(());
        }
        Err(err) => return Err(err).context("cannot receive"),
    }

    if !args.close_first {
        // Wait for the server's FIN: a read that returns 0 bytes.
        while conn.read(&mut buf).context("cannot receive")? > 0 {}
        writeln!(out, "the server closed the connection")?;
        writeln!(out, "kernel: this side {}", state()?)?;
    }
    // close(): our FIN.
    drop(conn);
    writeln!(out, "closed the connection")?;
    Ok(())
}
// ANCHOR_END: talk
