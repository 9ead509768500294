//! Lesson 2, the server: lesson 1's server, but the socket is built call by
//! call so that `SO_REUSEADDR` is ours to set or leave off.
//! (In the Python course: the `setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)` fix.)

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use socket2::{Domain, Protocol, Socket, Type};

/// Lesson 2 (reuse the address), the server: serves one client as lesson 1
/// does and closes first, so that the connection ends in TIME_WAIT on its
/// side, and says the state the kernel shows. Run it twice
/// on the same port to see the restart fail, unless both runs set
/// SO_REUSEADDR.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// Where to listen (port 0 lets the kernel pick a free port).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8899",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// Set SO_REUSEADDR before bind, so the port can be bound while an old
    /// connection on it waits in TIME_WAIT, if the run that left that
    /// connection set it too.
    #[arg(long)]
    reuse_addr: bool,
}

fn main() -> ExitCode {
    common::run(2, serve)
}

// ANCHOR: bind
fn serve(args: Args) -> anyhow::Result<()> {
    common::stop_on_ctrl_c("server")?;
    let mut out = common::out();

    // socket(): a TCP socket for IPv4 or IPv6, whichever the address is.
    // `TcpListener::bind` would do this, bind and listen in one call, and on
    // Unix it also sets SO_REUSEADDR on every listener: the failure this
    // lesson shows would never happen. socket2 gives us each call alone.
    let socket = Socket::new(
        Domain::for_address(args.addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .context("cannot create a socket")?;

    // setsockopt(SOL_SOCKET, SO_REUSEADDR, 1): must come before bind().
    socket
        .set_reuse_address(args.reuse_addr)
        .context("cannot set SO_REUSEADDR")?;
    let reuse = if socket.reuse_address()? { "on" } else { "off" };

    // bind(): the kernel refuses an address that another socket holds,
    // including a connection of a previous run still in TIME_WAIT, unless
    // that connection and this socket both have SO_REUSEADDR.
    socket
        .bind(&args.addr.into())
        .with_context(|| format!("cannot bind {} with SO_REUSEADDR {reuse}", args.addr))?;
    // listen(128): from here the kernel accepts connections for us.
    socket.listen(128).context("cannot listen")?;
    let listener: TcpListener = socket.into();
    common::announce(listener.local_addr()?)?;
    writeln!(out, "SO_REUSEADDR is {reuse}")?;
    // ANCHOR_END: bind

    // The rest is lesson 1: one client, one message, one answer.
    let (mut conn, client) = listener.accept().context("accept failed")?;
    let local = conn.local_addr()?;
    writeln!(out, "connection from {client}")?;
    let mut buf = [0; common::BUFFER_SIZE];
    let n = conn.read(&mut buf).context("cannot receive")?;
    if n == 0 {
        // The client closed first: the TIME_WAIT is on its side, not ours.
        writeln!(
            out,
            "{client} closed first, without sending anything: no TIME_WAIT here"
        )?;
        return Ok(());
    }
    writeln!(out, "received {n} bytes: {}", common::show(&buf[..n]))?;
    conn.write_all(b"hi").context("cannot send the reply")?;
    writeln!(out, "sent: hi")?;

    // ANCHOR: close
    // shutdown(SHUT_WR): the server closes its side first, and the kernel
    // sends FIN. Its side goes FIN_WAIT1, then FIN_WAIT2 once the client's
    // kernel acknowledges, then, once the client closes too, TIME_WAIT for
    // 60 seconds (on Linux). The connection it accepted inherits the
    // listener's SO_REUSEADDR flag, and the kernel reads that flag when a
    // new socket tries to bind the port.
    conn.shutdown(Shutdown::Write).context("cannot close")?;
    writeln!(out, "closed the connection first")?;
    // Wait (a few seconds at most) for the client to close its side: a read
    // returns 0 bytes when its FIN arrives. A client that closed before our
    // FIN went out was the first to close, and the TIME_WAIT is its own.
    conn.set_read_timeout(Some(Duration::from_secs(3)))?;
    let client_closed = matches!(conn.read(&mut buf), Ok(0));
    drop(conn);

    // Ask the kernel what became of the connection: it lists every TCP
    // connection it still holds, TIME_WAIT ones included, in /proc/net/tcp.
    match common::tcp_state::state_of(local, client)? {
        Some(state) => writeln!(
            out,
            "the kernel shows this connection in {state}: {}",
            state.meaning()
        )?,
        None => writeln!(
            out,
            "the kernel no longer lists this connection: the client closed (or \
             reset) it first, so there is no TIME_WAIT on this side"
        )?,
    }
    if !client_closed {
        writeln!(out, "(the client had not closed its side within 3 s)")?;
    }
    // ANCHOR_END: close
    Ok(())
}
