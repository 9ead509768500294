//! Lesson 11, the server: lesson 1's server, in a private network whose
//! every TCP segment it captures, then draws.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, ValueEnum};
use common::TcpState;
use handshake::{CAPTURE_PATIENCE, Capture, Segment, acked_fin, diagram, ended};

/// Lesson 11 (the handshake on the wire), the server: makes a private
/// network (no sudo needed), captures every TCP segment on its loopback,
/// serves one client as lesson 1's server does (read, answer, close), then
/// draws the exchange and says what state the kernel holds each side in.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// Where to listen inside the lab (port 0 lets the kernel pick a free port).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8911",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// What to answer.
    #[arg(long, default_value = "hi")]
    reply: String,
    /// How the server ends the connection.
    #[arg(long, value_enum, default_value_t = Close::First)]
    close: Close,
}

/// How the server ends the connection.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Close {
    /// Answer, then close at once, as lesson 1 does: the server closes first.
    First,
    /// Answer, wait for the client to close, then close.
    Second,
    /// Answer, and never close (until the program ends).
    Never,
    /// Do not answer: close with SO_LINGER 0, which sends RST instead of FIN.
    Reset,
}

fn main() -> ExitCode {
    common::run(11, serve)
}

// ANCHOR: serve
fn serve(args: Args) -> anyhow::Result<()> {
    // Into a private network of our own, before any thread starts; there
    // we are root, which a packet socket needs.
    common::lab::enter()?;
    let capture = Capture::open()?;
    common::stop_on_ctrl_c("server")?;
    let mut out = common::out();

    let listener =
        TcpListener::bind(args.addr).with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    common::announce(addr)?;
    writeln!(
        out,
        "lab: a private network of process {}; every TCP segment on its lo is captured",
        std::process::id()
    )?;

    let (conn, client) = listener.accept().context("accept failed")?;
    writeln!(out, "connection from {client}")?;
    let held = talk(&args, conn)?;

    // The capture: what crossed the wire while we talked, until the
    // connection has ended (or, when we never close, until the client's FIN
    // is acknowledged).
    let deadline = Instant::now() + CAPTURE_PATIENCE;
    let never = args.close == Close::Never;
    let (segments, whole) = capture.segments(addr.port(), deadline, |wire: &[Segment]| {
        ended(wire) || (never && acked_fin(wire, true))
    })?;
    writeln!(out, "captured {} segments:", segments.len())?;
    for line in diagram(
        &segments,
        &format!("client {client}"),
        &format!("server {addr}"),
    ) {
        writeln!(out, "{line}")?;
    }
    if !whole {
        writeln!(out, "(the capture stopped at its deadline, before the end)")?;
    }
    report_states(addr, client, args.close)?;
    drop(held);
    Ok(())
}
// ANCHOR_END: serve

// ANCHOR: talk
/// Lesson 1's conversation, ended as `--close` says. Returns the connection
/// when it must stay open.
fn talk(args: &Args, mut conn: TcpStream) -> anyhow::Result<Option<TcpStream>> {
    let mut out = common::out();
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut buf = [0; common::BUFFER_SIZE];
    let n = conn.read(&mut buf).context("cannot receive")?;
    writeln!(out, "received {n} bytes: {}", common::show(&buf[..n]))?;
    if args.close == Close::Reset {
        // SO_LINGER with a time of 0: close() throws away what is unsent and
        // sends RST; the connection ends at once, on both sides.
        socket2::SockRef::from(&conn).set_linger(Some(Duration::ZERO))?;
        drop(conn);
        writeln!(out, "reset the connection (SO_LINGER 0)")?;
        return Ok(None);
    }
    conn.write_all(args.reply.as_bytes())
        .context("cannot send the reply")?;
    writeln!(out, "sent: {}", args.reply)?;
    if args.close == Close::First {
        // close(): the kernel sends FIN; we close first.
        drop(conn);
        writeln!(out, "closed the connection")?;
        return Ok(None);
    }
    // Wait for the client's FIN: a read that returns 0 bytes.
    while conn.read(&mut buf).context("cannot receive")? > 0 {}
    writeln!(out, "the client closed its side")?;
    if args.close == Close::Second {
        drop(conn);
        writeln!(out, "closed the connection")?;
        return Ok(None);
    }
    writeln!(out, "never closing: the connection stays half open")?;
    Ok(Some(conn))
}
// ANCHOR_END: talk

// ANCHOR: states
/// What the kernel's table of TCP sockets (`/proc/net/tcp`, the lab's own)
/// says of each side of the connection, once the close has settled: the
/// state each side must reach is waited for, within a deadline, because the
/// last segment on the wire may still be on its way to its socket.
fn report_states(server: SocketAddr, client: SocketAddr, close: Close) -> anyhow::Result<()> {
    use TcpState::{CloseWait, FinWait2, TimeWait};
    let expected = match close {
        Close::First => (Some(TimeWait), None),
        Close::Second => (None, Some(TimeWait)),
        Close::Never => (Some(CloseWait), Some(FinWait2)),
        Close::Reset => (None, None),
    };
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut now = (None, None);
    while Instant::now() < deadline {
        now = (
            common::tcp_state::state_of(server, client)?,
            common::tcp_state::state_of(client, server)?,
        );
        if now == expected {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let name = |state: Option<TcpState>| state.map_or("gone (no socket left)", TcpState::name);
    let mut out = common::out();
    writeln!(out, "kernel: server side {}", name(now.0))?;
    writeln!(out, "kernel: client side {}", name(now.1))?;
    Ok(())
}
// ANCHOR_END: states
