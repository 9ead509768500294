//! Lesson 10, the server: in a private network that drops a share of its
//! packets, count the numbered UDP datagrams that arrive, and check that the
//! numbered TCP messages all arrive, in order.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

/// Lesson 10 (the loss lab), the server: makes a private network (no sudo
/// needed), has the kernel drop a share of the packets on its loopback,
/// and counts what a loss-lab-client sends it over UDP and over TCP.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// Where to listen, UDP and TCP, inside the lab (port 0 lets the kernel
    /// pick a free port).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9010",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// The share of packets to drop, from 0 (none) to 0.9.
    #[arg(long, value_name = "SHARE", default_value = "0.2", value_parser = parse_loss)]
    loss: f64,
}

fn main() -> ExitCode {
    common::run(10, serve)
}

// ANCHOR: serve
fn serve(args: Args) -> anyhow::Result<()> {
    // Into a private network of our own, before any thread starts: what
    // `unshare -rn` does, then `ip link set lo up`.
    common::lab::enter()?;
    common::stop_on_ctrl_c("server")?;
    let mut out = common::out();

    // One UDP socket and one TCP listener, on the same port number: a port
    // belongs to a protocol, so the two do not collide.
    let udp = UdpSocket::bind(args.addr).with_context(|| format!("cannot bind {}", args.addr))?;
    // A larger receive buffer (as large as the kernel allows), so that a
    // moment when this process does not run loses no datagram.
    socket2::SockRef::from(&udp).set_recv_buffer_size(1 << 20)?;
    let addr = udp.local_addr()?;
    let tcp = TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    // iptables drops the chosen share of the packets sent to that port.
    common::lab::drop_packets(args.loss, addr.port())?;
    common::announce(addr)?;
    writeln!(
        out,
        "lab: a private network of process {}; iptables drops {:.0}% of the packets sent to \
         port {}",
        std::process::id(),
        args.loss * 100.0,
        addr.port()
    )?;

    // TCP connections on a thread of their own, datagrams here.
    std::thread::spawn(move || {
        for conn in tcp.incoming() {
            let result = conn.map_err(Into::into).and_then(check_messages);
            if let Err(err) = result {
                let _ = writeln!(common::out(), "tcp: {err:#}");
            }
        }
    });
    count_datagrams(&udp)
}
// ANCHOR_END: serve

// ANCHOR: udp
/// Datagrams `udp ROUND SEQ` are counted; `count ROUND N` asks how many of
/// the N of that round arrived, and is answered (again, if asked again: the
/// answer too may be lost).
fn count_datagrams(udp: &UdpSocket) -> anyhow::Result<()> {
    let mut out = common::out();
    let mut round = String::new();
    let mut arrived: Vec<bool> = Vec::new();
    let mut reported = false;
    let mut buf = [0; common::BUFFER_SIZE];
    loop {
        // recvfrom(): the next datagram that reached this socket. One that
        // iptables dropped never does: nothing here can tell it was sent.
        let (n, from) = udp.recv_from(&mut buf).context("cannot receive")?;
        let text = String::from_utf8_lossy(&buf[..n]);
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["udp", id, seq] => {
                if *id != round {
                    (round, arrived, reported) = (id.to_string(), Vec::new(), false);
                }
                let Ok(seq) = seq.parse::<usize>() else {
                    continue;
                };
                if (1..=1_000_000).contains(&seq) {
                    arrived.resize(arrived.len().max(seq), false);
                    arrived[seq - 1] = true;
                }
            }
            ["count", id, total] if *id == round || arrived.is_empty() => {
                let total: usize = total.parse().unwrap_or(0).min(1_000_000);
                arrived.resize(arrived.len().max(total), false);
                let got = arrived.iter().filter(|&&yes| yes).count();
                let lost: Vec<String> = (1..=total)
                    .filter(|seq| !arrived[seq - 1])
                    .map(|seq| seq.to_string())
                    .collect();
                if !reported {
                    writeln!(
                        out,
                        "udp: {got} of {total} datagrams arrived, {} lost",
                        lost.len()
                    )?;
                    let first: Vec<&str> = lost.iter().take(10).map(String::as_str).collect();
                    let first = if first.is_empty() {
                        "none".to_owned()
                    } else {
                        first.join(", ")
                    };
                    writeln!(out, "udp: the first lost: {first}")?;
                    reported = true;
                }
                let answer = format!("counted {id}: {got} of {total} arrived");
                udp.send_to(answer.as_bytes(), from)
                    .context("cannot answer")?;
            }
            _ => writeln!(
                out,
                "udp: ignored a datagram from {from}: {}",
                common::show(&buf[..n])
            )?,
        }
    }
}
// ANCHOR_END: udp

// ANCHOR: tcp
/// Reads lines `tcp SEQ ...` until the client closes its side, checks that
/// they are 1, 2, 3... with none missing, and says so to the client.
fn check_messages(conn: TcpStream) -> anyhow::Result<()> {
    let mut out = common::out();
    let client = conn.peer_addr()?;
    conn.set_read_timeout(Some(common::lab::PATIENCE))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let (mut count, mut bytes, mut line) = (0_u64, 0_usize, String::new());
    let verdict = loop {
        line.clear();
        // Each read returns bytes in the order they were sent: the kernel
        // holds back what came after a lost segment until its retransmission
        // fills the gap. A line is at most a kilobyte, so a bad peer cannot
        // make it grow without end.
        let n = (&mut reader)
            .take(1024)
            .read_line(&mut line)
            .with_context(|| format!("cannot read from {client}"))?;
        if n == 0 {
            break format!("received {count} messages in order, {bytes} bytes");
        }
        bytes += n;
        let seq = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u64>().ok());
        if !line.starts_with("tcp ") || seq != Some(count + 1) {
            break format!("message {} is out of order or garbled", count + 1);
        }
        count += 1;
    };
    writeln!(out, "tcp: from {client}: {verdict}")?;
    // The answer, then close(): the client reads until our FIN.
    (&conn).write_all(verdict.as_bytes())?;
    Ok(())
}
// ANCHOR_END: tcp

/// `--loss`: a share between 0 and 0.9.
fn parse_loss(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(share) if (0.0..=0.9).contains(&share) => Ok(share),
        _ => Err(format!(
            "'{text}' is not a share between 0 and 0.9, such as 0.2"
        )),
    }
}
