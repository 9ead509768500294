//! Lesson 13, the load generator: many clients against one room.
//!
//! `chat-load flood` is one client that talks far faster than anyone reads
//! (the demo's way to fill a slow client's queue). `chat-load bench` starts
//! each of the three servers in turn and measures what it holds and costs:
//! see `src/bench.rs` and the lesson's page.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use chat_room::bench;

/// Lesson 13 (a chat room for many), the load generator: `flood` floods the
/// room from one client until a given notice comes; `bench` measures the
/// three servers with thousands of clients.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// The room's address (for `flood`).
    #[arg(long, value_name = "HOST:PORT",
          default_value_t = common::args::default_addr(8013),
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// Join as NICK and send up to LINES lines of 200 bytes, RATE a second,
    /// until a line containing UNTIL comes back.
    Flood {
        #[arg(long, default_value = "flood")]
        nick: String,
        #[arg(long, default_value_t = 200_000)]
        lines: usize,
        /// Lines a second: fast enough to fill a client that reads nothing
        /// within a second or two, slow enough for every client that does
        /// read to keep up, even a debug build on a busy machine.
        #[arg(long, default_value_t = 40_000,
              value_parser = clap::value_parser!(u32).range(1..))]
        rate: u32,
        #[arg(long, default_value = "was dropped: too slow")]
        until: String,
    },
    /// Measure the three servers (`make bench-chat`).
    Bench(bench::Options),
}

fn main() -> ExitCode {
    common::run(13, |args: Args| match args.what {
        What::Flood {
            nick,
            lines,
            rate,
            until,
        } => flood(args.addr, &nick, lines, rate, &until),
        What::Bench(options) => bench::run(&options),
    })
}

fn flood(addr: SocketAddr, nick: &str, lines: usize, rate: u32, until: &str) -> anyhow::Result<()> {
    let mut out = common::out();
    let mut socket = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .with_context(|| format!("cannot connect to {addr}"))?;
    socket.write_all(format!("{nick}\n").as_bytes())?;
    let heard = Arc::new(AtomicBool::new(false));
    let reader = {
        let heard = Arc::clone(&heard);
        let until = until.to_owned();
        let socket = socket.try_clone()?;
        std::thread::spawn(move || -> Option<String> {
            for line in BufReader::new(socket).lines() {
                let line = line.ok()?;
                if line.contains(&until) {
                    heard.store(true, Ordering::Relaxed);
                    return Some(line);
                }
            }
            None
        })
    };
    writeln!(
        out,
        "{nick}: sending lines of 200 bytes until the room says `{until}`"
    )?;
    let padding = "-".repeat(180);
    let started = Instant::now();
    for at in 0..lines {
        if heard.load(Ordering::Relaxed) {
            break;
        }
        socket.write_all(format!("{at:>8} {padding}\n").as_bytes())?;
        // Every 100 lines, wait until the time line `at` was due at RATE.
        if at % 100 == 99 {
            let due = started + Duration::from_secs_f64((at + 1) as f64 / f64::from(rate));
            if let Some(early) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(early);
            }
        }
    }
    socket.write_all(b"/quit\n")?;
    match reader.join() {
        Ok(Some(line)) => writeln!(
            out,
            "{nick}: heard `{}`",
            chat_room::safe::shown(line.as_bytes())
        )?,
        _ => bail!("sent {lines} lines and never heard `{until}`"),
    }
    Ok(())
}
