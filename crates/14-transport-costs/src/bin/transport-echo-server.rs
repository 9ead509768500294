//! Lesson 14, the server: one echo server on every transport the lesson
//! measures, so that the client compares transports and nothing else.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use clap::Parser;
use common::UnixAddr;
use transport_costs::{BULK, BULK_DONE, MAX_FRAME, read_length};

/// Lesson 14 (what each transport costs), the server: echoes every request
/// over UDP and TCP on the same port, and over a Unix stream and a Unix
/// datagram socket with abstract names taken from that port. The
/// `transport-costs` client measures it.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// Where to listen: UDP and TCP on this address (port 0 lets the kernel
    /// pick a free port for both).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9014",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
}

fn main() -> ExitCode {
    common::run(14, serve)
}

/// Stream connections served at once: more are closed at once, so no
/// client can make the server start threads without end.
const MAX_CONNECTIONS: usize = 64;

static CONNECTIONS: AtomicUsize = AtomicUsize::new(0);

// ANCHOR: serve
fn serve(args: Args) -> anyhow::Result<()> {
    common::stop_on_ctrl_c("server")?;
    let mut out = common::out();
    let (tcp, udp) = bind_tcp_and_udp(args.addr)?;
    let port = udp.local_addr()?.port();
    // Abstract names: no file to remove, gone when the server is.
    let stream_name = UnixAddr::Abstract(transport_costs::unix_stream_name(port));
    let datagram_name = UnixAddr::Abstract(transport_costs::unix_datagram_name(port));
    let unix_stream = UnixListener::bind_addr(&stream_name.to_socket_addr()?)
        .with_context(|| format!("cannot listen on {stream_name}"))?;
    let unix_datagram = UnixDatagram::bind_addr(&datagram_name.to_socket_addr()?)
        .with_context(|| format!("cannot bind {datagram_name}"))?;
    common::announce(udp.local_addr()?)?;
    writeln!(
        out,
        "also on tcp {}, unix stream {stream_name}, unix datagram {datagram_name}",
        tcp.local_addr()?
    )?;

    // One thread per socket; the stream listeners start one per connection.
    std::thread::scope(|scope| {
        scope.spawn(|| echo_udp(&udp));
        scope.spawn(|| echo_unix_datagram(&unix_datagram));
        scope.spawn(|| {
            for conn in tcp.incoming().flatten() {
                // Requests are small and answered at once: Nagle's wait
                // would only delay them (the client chooses for its side).
                let _ = conn.set_nodelay(true);
                serve_stream(conn);
            }
        });
        for conn in unix_stream.incoming().flatten() {
            serve_stream(conn);
        }
    });
    Ok(())
}

/// UDP: each datagram is one request, sent straight back to its sender.
fn echo_udp(socket: &UdpSocket) {
    let mut buf = vec![0; 65_536];
    loop {
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to(&buf[..n], from);
        }
    }
}

/// A Unix datagram socket: the same, to the sender's own bound name.
fn echo_unix_datagram(socket: &UnixDatagram) {
    let mut buf = vec![0; 1 << 17];
    loop {
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to_addr(&buf[..n], &from);
        }
    }
}

/// A stream connection (TCP or Unix), on a thread of its own: frames
/// echoed until the peer closes, or a bulk transfer read and acknowledged.
fn serve_stream<S: Read + Write + Send + 'static>(mut conn: S) {
    if CONNECTIONS.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
        CONNECTIONS.fetch_sub(1, Ordering::SeqCst);
        return; // dropped: closed at once
    }
    std::thread::spawn(move || {
        let _ = echo_frames(&mut conn);
        CONNECTIONS.fetch_sub(1, Ordering::SeqCst);
    });
}

fn echo_frames(conn: &mut (impl Read + Write)) -> std::io::Result<()> {
    let mut frame = Vec::new();
    while let Some(length) = read_length(conn)? {
        if length == BULK {
            let mut count = [0; 8];
            conn.read_exact(&mut count)?;
            let count = u64::from_be_bytes(count);
            let copied = std::io::copy(&mut Read::by_ref(conn).take(count), &mut std::io::sink())?;
            if copied < count {
                return Ok(()); // the peer left mid-transfer
            }
            conn.write_all(&[BULK_DONE])?;
            continue;
        }
        let length = length as usize;
        if length > MAX_FRAME {
            return Ok(()); // not a request of this protocol: close
        }
        // Answer with one write: the length and the bytes together. The
        // buffer only grows, so a request costs no allocation.
        if frame.len() < 4 + length {
            frame.resize(4 + length, 0);
        }
        frame[..4].copy_from_slice(&(length as u32).to_be_bytes());
        conn.read_exact(&mut frame[4..4 + length])?;
        conn.write_all(&frame[..4 + length])?;
    }
    Ok(())
}
// ANCHOR_END: serve

/// TCP and UDP on one port: TCP takes the address first (with port 0, the
/// kernel picks), then UDP takes the same port. Another program may hold
/// that UDP port already: then try another, a few times.
fn bind_tcp_and_udp(addr: SocketAddr) -> anyhow::Result<(TcpListener, UdpSocket)> {
    let mut last = None;
    for _ in 0..20 {
        let tcp =
            TcpListener::bind(addr).with_context(|| format!("cannot listen on tcp {addr}"))?;
        let bound = tcp.local_addr()?;
        match UdpSocket::bind(bound) {
            Ok(udp) => return Ok((tcp, udp)),
            Err(err) if addr.port() == 0 => last = Some(err),
            Err(err) => return Err(err).with_context(|| format!("cannot bind udp {addr}")),
        }
    }
    Err(last.map_or_else(|| anyhow::anyhow!("no port"), anyhow::Error::new))
        .context("no port free for both tcp and udp after 20 tries")
}
