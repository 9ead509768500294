//! Lesson 10, the client: joins the server's lab, sends numbered datagrams
//! over UDP and numbered messages over TCP, and reports what arrived, what
//! the kernel sent again, and how long it took.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use common::lab::{PATIENCE, snmp};
use socket2::{Domain, Socket, Type};

/// The most a TCP segment carries over Ethernet: 1500 bytes, less 20 of IP
/// header and 20 of TCP header.
const ETHERNET_MSS: u32 = 1460;

/// Lesson 10 (the loss lab), the client: enters the private network of a
/// running loss-lab-server, sends it numbered UDP datagrams, asks how many
/// arrived (asking again when the answer is lost), then sends numbered
/// messages over one TCP connection and reads the kernel's count of
/// retransmitted segments.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// The server's address inside its lab.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9010",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// How many UDP datagrams to send.
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    count: u32,
    /// How many messages to send over TCP.
    #[arg(long, value_name = "N", default_value_t = 60,
          value_parser = clap::value_parser!(u32).range(0..=100_000))]
    messages: u32,
    /// The size of each TCP message, in bytes (a numbered line, padded).
    #[arg(long, value_name = "BYTES", default_value_t = 1000,
          value_parser = clap::value_parser!(u16).range(16..=1024))]
    size: u16,
    /// The lab to join: the server's process id (found by itself when not given).
    #[arg(long, value_name = "PID")]
    lab: Option<u32>,
}

fn main() -> ExitCode {
    common::run(10, talk)
}

fn talk(args: Args) -> anyhow::Result<()> {
    // Into the server's lab, before any thread starts: what `nsenter
    // --target PID --user --net --preserve-credentials` does.
    let pid = common::lab::join(10, args.addr, "udp", args.lab)?;
    let mut out = common::out();
    writeln!(out, "joined the lab of process {pid}")?;
    send_datagrams(&args)?;
    if args.messages > 0 {
        send_messages(&args)?;
    }
    Ok(())
}

// ANCHOR: udp
fn send_datagrams(args: &Args) -> anyhow::Result<()> {
    let mut out = common::out();
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    // The lab's kernel counts the datagrams it had to drop because the
    // receiving socket's buffer was full: a second way to lose a datagram,
    // which no firewall is needed for.
    let overflows_before = snmp("Udp", "RcvbufErrors")?;
    // The datagrams of this run carry its number: the server counts each
    // run apart.
    let round = std::process::id();
    for seq in 1..=args.count {
        // sendto() succeeds when the datagram has left: whether it arrives,
        // nobody tells the sender.
        socket.send_to(format!("udp {round} {seq}").as_bytes(), args.addr)?;
        // A short pause, so that the server's receive buffer never fills:
        // then every loss is the lab's, none the buffer's.
        std::thread::sleep(Duration::from_micros(50));
    }
    writeln!(
        out,
        "udp: sent {} datagrams, numbered 1 to {}",
        args.count, args.count
    )?;

    // How many arrived? The question and its answer cross the same lossy
    // network, so the client does what lesson 5's client does: it waits a
    // while for the answer, and asks again when none comes.
    let question = format!("count {round} {}", args.count);
    let mut buf = [0; common::BUFFER_SIZE];
    socket.set_read_timeout(Some(Duration::from_millis(200)))?;
    for attempt in 1..=20 {
        socket.send_to(question.as_bytes(), args.addr)?;
        match socket.recv_from(&mut buf) {
            Ok((n, _)) => {
                let answer = String::from_utf8_lossy(&buf[..n]);
                // Only the answer to this question (a late answer to an
                // earlier run's would name that run).
                let Some(count) = answer.strip_prefix(&format!("counted {round}: ")) else {
                    continue;
                };
                writeln!(
                    out,
                    "udp: asked how many arrived; answered at try {attempt}"
                )?;
                writeln!(out, "udp: the server says {count}")?;
                let overflows = snmp("Udp", "RcvbufErrors")? - overflows_before;
                writeln!(
                    out,
                    "udp: dropped by the kernel for a full receive buffer: {overflows}"
                )?;
                return Ok(());
            }
            Err(err) if common::is_timeout(&err) => continue,
            Err(err) => return Err(err).context("cannot receive the answer"),
        }
    }
    bail!("no answer from {} after 20 tries", args.addr)
}
// ANCHOR_END: udp

// ANCHOR: tcp
fn send_messages(args: &Args) -> anyhow::Result<()> {
    let mut out = common::out();
    // The lab's own kernel counters: every TCP segment sent, and every one
    // sent again, in this network namespace only.
    let (sent_before, again_before) = (snmp("Tcp", "OutSegs")?, snmp("Tcp", "RetransSegs")?);
    let start = Instant::now();

    // connect(): the handshake crosses the lossy network too. A lost SYN
    // is sent again after 1 s, then 2 s, 4 s...
    // On a real network a segment carries at most about 1460 bytes (an
    // Ethernet frame); on lo, up to 64 KB. The lab's client asks for the
    // Ethernet size, so that the messages travel in as many segments as
    // they would between two machines.
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_tcp_mss(ETHERNET_MSS)?;
    socket
        .connect_timeout(&args.addr.into(), PATIENCE)
        .with_context(|| format!("cannot connect to {}", args.addr))?;
    let mut conn = TcpStream::from(socket);
    conn.set_read_timeout(Some(PATIENCE))?;
    conn.set_write_timeout(Some(PATIENCE))?;
    // Each message leaves in a segment of its own when it can.
    conn.set_nodelay(true)?;
    let size = usize::from(args.size);
    for seq in 1..=args.messages {
        let mut message = format!("tcp {seq} ");
        message.extend(std::iter::repeat_n(
            '.',
            size.saturating_sub(message.len() + 1),
        ));
        message.push('\n');
        // send(): the kernel keeps a copy of these bytes until the server's
        // kernel acknowledges them, and sends them again when the
        // acknowledgement does not come in time.
        conn.write_all(message.as_bytes())
            .context("cannot send a message")?;
        // The same pause as for the datagrams: the same traffic, over TCP.
        std::thread::sleep(Duration::from_micros(50));
    }
    // Our FIN: no more messages. Then read the server's verdict until its FIN.
    conn.shutdown(std::net::Shutdown::Write)?;
    let mut verdict = String::new();
    (&mut conn)
        .take(1024)
        .read_to_string(&mut verdict)
        .context("no verdict from the server")?;
    let took = start.elapsed();

    let sent = snmp("Tcp", "OutSegs")? - sent_before;
    let again = snmp("Tcp", "RetransSegs")? - again_before;
    writeln!(
        out,
        "tcp: sent {} messages of {size} bytes over one connection",
        args.messages
    )?;
    writeln!(out, "tcp: the server {verdict}")?;
    writeln!(
        out,
        "tcp: the lab's kernel sent {sent} segments (both sides), and {again} retransmissions; \
         it took {:.2} s",
        took.as_secs_f64()
    )?;
    Ok(())
}
// ANCHOR_END: tcp
