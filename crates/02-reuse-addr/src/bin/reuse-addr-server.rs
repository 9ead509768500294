//! Lesson 2, the server: lesson 1's server, but the socket is built call by
//! call so that `SO_REUSEADDR` is ours to set or leave off.
//! (In the Python course: the `setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)` fix.)

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use socket2::{Domain, Protocol, Socket, Type};

/// Lesson 2 (reuse the address), the server: serves one client as lesson 1
/// does and closes first, leaving the connection in TIME_WAIT. Run it twice
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
    println!("SO_REUSEADDR is {reuse}");
    // ANCHOR_END: bind

    // The rest is lesson 1: one client, one message, one answer.
    let (mut conn, client) = listener.accept().context("accept failed")?;
    println!("connection from {client}");
    let mut buf = [0; common::BUFFER_SIZE];
    let n = conn.read(&mut buf).context("cannot receive")?;
    if n == 0 {
        // The client closed first: the TIME_WAIT is on its side, not ours.
        println!("{client} closed first, without sending anything: no TIME_WAIT here");
        return Ok(());
    }
    println!("received {n} bytes: {}", common::show(&buf[..n]));
    conn.write_all(b"hi").context("cannot send the reply")?;
    println!("sent: hi");

    // ANCHOR: close
    // The server closes first: its side goes FIN_WAIT_1, FIN_WAIT_2, and,
    // once the client closes too, TIME_WAIT for 60 seconds (on Linux). The
    // connection it accepted inherits the listener's SO_REUSEADDR flag, and
    // the kernel reads that flag when a new socket tries to bind the port.
    drop(conn);
    println!("closed the connection first: it now waits in TIME_WAIT");
    // ANCHOR_END: close
    Ok(())
}
