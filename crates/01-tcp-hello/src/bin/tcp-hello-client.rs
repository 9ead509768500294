//! Lesson 1, the client: connect, say `hello!`, print the answer.
//! (In the Python course: tcp_client.py.)

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::Parser;
use common::Hint;

/// Lesson 1 (TCP hello), the client, also used in lesson 2 (reuse the
/// address): connects to the server, sends `hello!`, prints the answer, and
/// waits for the server to close.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// The server's address (`make client L=2` points it at lesson 2's).
    #[arg(long, value_name = "HOST:PORT",
          default_value_t = common::args::default_addr(8898),
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// What to say.
    #[arg(long, default_value = "hello!")]
    message: String,
    /// How many seconds to wait for the handshake, then for the server to
    /// answer, then for it to close.
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
}

fn main() -> ExitCode {
    common::run(1, talk)
}

// ANCHOR: talk
fn talk(args: Args) -> anyhow::Result<()> {
    let mut out = common::out();
    let timeout = Duration::from_secs(args.timeout);
    // socket() + connect(): the kernel picks a free local port, sends SYN,
    // and returns once the server's kernel has answered SYN-ACK and it has
    // sent the final ACK: the three-way handshake. A server whose queue is
    // full drops our SYN without a word, so the wait has a deadline too.
    let mut stream = match TcpStream::connect_timeout(&args.addr, timeout) {
        Ok(stream) => stream,
        Err(err) if common::is_timeout(&err) => {
            return Err(err)
                .with_context(|| format!("cannot connect to {}", args.addr))
                .hint(format!(
                    "no answer to the handshake within {} s: the server's queue of \
                     connections may be full (lesson 8), or a firewall drops the SYN",
                    args.timeout
                ));
        }
        Err(err) => return Err(err).with_context(|| format!("cannot connect to {}", args.addr)),
    };
    writeln!(
        out,
        "connected to {} from {}",
        args.addr,
        stream.local_addr()?
    )?;
    // Never wait forever for a server that does not answer.
    stream.set_read_timeout(Some(timeout))?;

    // send(): the bytes of the message and nothing else; no newline.
    writeln!(out, "sending: {}", args.message)?;
    stream
        .write_all(args.message.as_bytes())
        .context("cannot send")?;

    // recv(1024): wait for the answer.
    let mut buf = [0; common::BUFFER_SIZE];
    let n = stream
        .read(&mut buf)
        .map_err(|err| failed_read(err, "answer", args.timeout))?;
    if n == 0 {
        bail!("the server closed the connection without answering");
    }
    writeln!(out, "received {n} bytes: {}", common::show(&buf[..n]))?;

    // Wait for the server to close its side (a read returns 0 bytes) before
    // closing ours, so the server is the side that closes first.
    loop {
        let n = stream
            .read(&mut buf)
            .map_err(|err| failed_read(err, "close", args.timeout))?;
        if n == 0 {
            break;
        }
        writeln!(out, "received {n} more bytes: {}", common::show(&buf[..n]))?;
    }
    writeln!(out, "the server closed the connection")?;
    Ok(())
}
// ANCHOR_END: talk

/// Names what went wrong while waiting for the server's `answer` or
/// `close`: the read timeout expired (Linux says EAGAIN, which Rust calls
/// WouldBlock), or the connection failed, for example with a reset.
fn failed_read(err: std::io::Error, waiting_for: &str, timeout: u64) -> anyhow::Error {
    if common::is_timeout(&err) {
        anyhow!("no {waiting_for} from the server within {timeout} s")
    } else {
        anyhow::Error::new(err).context(format!("waiting for the server's {waiting_for}"))
    }
}
