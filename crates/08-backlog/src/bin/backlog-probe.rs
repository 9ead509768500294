//! Lesson 8, the probe: open connection after connection to a server that
//! does not accept, and report which ones complete the handshake.

use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;

/// Lesson 8 (the listen backlog), the probe: opens `--count` connections
/// one after another, each with a short connect timeout, keeps them open,
/// and reports for each whether the handshake completed and how long it
/// took, then a summary.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// The server's address.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// How many connections to open (at most 64).
    #[arg(long, value_name = "M", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    count: u16,
    /// How long each connect may wait, in milliseconds. A dropped SYN is
    /// first sent again after one second, so less than 1000 shows a full
    /// queue as a timeout rather than as a slow connection.
    #[arg(long, value_name = "MS", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    timeout_ms: u64,
}

fn main() -> ExitCode {
    common::run(8, probe)
}

// ANCHOR: probe
fn probe(args: Args) -> anyhow::Result<()> {
    let mut out = common::out();
    let timeout = Duration::from_millis(args.timeout_ms);
    // Every connection that completes stays open until the probe ends. It
    // would hold its place in the server's queue even closed (until accept()
    // takes it), but open, `ss -tn` shows each one ESTABLISHED meanwhile.
    let mut open = Vec::new();
    let (mut timed_out, mut refused) = (0, 0);
    for number in 1..=args.count {
        let started = Instant::now();
        // connect() with a deadline: SYN out, then wait for SYN-ACK.
        match TcpStream::connect_timeout(&args.addr, timeout) {
            Ok(stream) => {
                let took = started.elapsed().as_secs_f64() * 1000.0;
                writeln!(
                    out,
                    "connection {number}: handshake completed in {took:.2} ms"
                )?;
                open.push(stream);
            }
            Err(err) if err.kind() == ErrorKind::TimedOut => {
                writeln!(
                    out,
                    "connection {number}: timed out after {} ms (no SYN-ACK: the queue is full)",
                    args.timeout_ms
                )?;
                timed_out += 1;
            }
            Err(err) if err.kind() == ErrorKind::ConnectionRefused => {
                writeln!(out, "connection {number}: refused (nothing listens there)")?;
                refused += 1;
            }
            Err(err) => return Err(err).with_context(|| format!("connection {number} failed")),
        }
    }
    writeln!(
        out,
        "summary: {} of {} completed the handshake, {timed_out} timed out, {refused} refused",
        open.len(),
        args.count
    )?;
    if refused == args.count {
        writeln!(
            out,
            "(nothing listens on {}: start the server with `make server L=8`)",
            args.addr
        )?;
    }
    Ok(())
}
// ANCHOR_END: probe
