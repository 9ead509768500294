//! Lesson 9, the client: sends each typed line as one message, unframed (one
//! write of its bytes, as the Python course's clients do), as a line, or
//! with a length prefix; or sends thousands of random messages and checks
//! that every echo comes back whole and in order.

use std::io::{BufReader, BufWriter, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use common::framing::{self, FrameError};
use common::{Hint, QuitWord, tcp_state};

/// Lesson 9 (framing a byte stream), the client: connects, then sends each
/// line you type as one message in the chosen framing; `/long` sends a
/// message of --long-size bytes of Chinese text. With `lines` or `length`
/// it prints the server's echoes as they come. `--random N` sends N random
/// messages instead and checks the echoes.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// The server's address.
    #[arg(long, value_name = "HOST:PORT",
          default_value_t = common::args::default_addr(8900),
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// How each message is marked in the stream: as the server expects.
    #[arg(long, value_enum, default_value_t = Framing::None)]
    framing: Framing,
    /// The size of the message `/long` sends, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 3000)]
    long_size: usize,
    /// Send N messages of random sizes (0 to --max bytes) and random bytes
    /// (no newline with `lines`), all at once, while reading the echoes;
    /// check that each comes back intact and in order.
    #[arg(long, value_name = "N")]
    random: Option<u64>,
    /// The seed of --random's messages: the same seed, the same messages.
    #[arg(long, default_value_t = 9)]
    seed: u64,
    /// The longest random message, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = framing::MAX_MESSAGE)]
    max: usize,
    /// The word that ends the client (so does the end of your input).
    #[arg(long, value_name = "WORD", default_value_t)]
    quit: QuitWord,
}

/// The three ways of marking messages in the stream.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Framing {
    /// None: each message is one write of its bytes.
    None,
    /// Each message is followed by a newline.
    Lines,
    /// Each message is preceded by its length in 4 bytes, big-endian.
    Length,
}

fn main() -> ExitCode {
    common::run(9, talk)
}

fn talk(args: Args) -> anyhow::Result<()> {
    let stream = TcpStream::connect(args.addr)
        .with_context(|| format!("cannot connect to {}", args.addr))?;
    writeln!(common::out(), "connected to {}", args.addr)?;
    // Framed messages leave whole, each in one write: Nagle's algorithm
    // could only delay their tails (see the server).
    if args.framing != Framing::None {
        stream.set_nodelay(true).context("cannot set TCP_NODELAY")?;
    }
    match args.random {
        Some(count) => round_trip(stream, &args, count),
        None => send_typed(stream, &args),
    }
}

// ANCHOR: send_typed
/// Sends each typed line as one message; prints the echoes as they come.
fn send_typed(stream: TcpStream, args: &Args) -> anyhow::Result<()> {
    let mut out = common::out();
    let (local, server) = (stream.local_addr()?, stream.peer_addr()?);
    // The echoes are read on a thread of their own, so that they are shown
    // as they arrive, whatever the keyboard is doing.
    let echoes = match args.framing {
        Framing::None => None,
        framing => {
            let reader = stream.try_clone().context("cannot clone the socket")?;
            Some(std::thread::spawn(move || print_echoes(reader, framing)))
        }
    };
    let mut writer = &stream;
    let mut typed = common::Typed::new("client> ")?;
    while let Some(line) = typed.next_line()? {
        if args.quit.matches(&line) {
            break;
        }
        if echoes.as_ref().is_some_and(|echoes| echoes.is_finished()) {
            writeln!(out, "(not sent: the server has closed the connection)")?;
            break;
        }
        let message = if line == b"/long" {
            long_text(args.long_size).into_bytes()
        } else {
            line
        };
        match args.framing {
            // One write() of the bytes: nothing marks where they end.
            Framing::None => writer.write_all(&message),
            Framing::Lines => framing::write_line(&mut writer, &message),
            Framing::Length => framing::write_frame(&mut writer, &message),
        }
        .context("cannot send")
        .hint("the server has closed the connection; is it still running?")?;
        let n = message.len();
        if args.framing == Framing::None {
            // write() returned once the kernel had the bytes; wait until the
            // server's kernel acknowledges them too, so they are all in its
            // receive queue before its operator reads.
            let acked = tcp_state::wait_acknowledged(local, server, Duration::from_secs(2))?;
            if !acked && tcp_state::state_of(local, server)?.is_none() {
                // The kernel no longer has the connection: the server's
                // kernel answered these bytes with a reset.
                return Err(anyhow::anyhow!(
                    "the connection is gone: the server has closed it"
                ))
                .hint("is the server still running? `make server L=9` starts it");
            }
            let state = if acked {
                "acknowledged"
            } else {
                "not yet acknowledged"
            };
            let sent = common::show::count(n as u64, "byte");
            writeln!(
                out,
                "sent {sent} in one write; the server's kernel {state} them"
            )?;
        }
        // (With framing, the echo shows what was sent.)
    }
    // shutdown(Write) sends FIN: the server reads the end of the stream
    // after our last message, echoes what it had, and closes.
    writeln!(
        out,
        "closing our side: the server reads the end of the stream"
    )?;
    stream.shutdown(Shutdown::Write).context("cannot close")?;
    if let Some(echoes) = echoes {
        match echoes.join() {
            Ok(result) => result?,
            Err(_) => bail!("the thread reading the echoes failed"),
        }
    }
    Ok(())
}
// ANCHOR_END: send_typed

/// Prints each echo, until the server closes the connection.
fn print_echoes(stream: TcpStream, framing: Framing) -> anyhow::Result<()> {
    let mut out = common::out();
    let mut reader = BufReader::new(stream);
    let mut message = Vec::new();
    loop {
        let read = match framing {
            Framing::Lines => framing::read_line(&mut reader, usize::MAX, &mut message),
            _ => framing::read_frame(&mut reader, usize::MAX, &mut message),
        };
        match read {
            // The server's last word when it refuses a message.
            Ok(true) if message.starts_with(b"error: ") => {
                writeln!(out, "the server refused: {}", common::show(&message))?;
            }
            Ok(true) => {
                let text = common::show::ends(&message, 16);
                writeln!(out, "received {} bytes: {text}", message.len())?;
            }
            Ok(false) => {
                writeln!(out, "the server closed the connection")?;
                return Ok(());
            }
            Err(FrameError::Io(err)) => bail!("the connection broke: {err}"),
            Err(err) => bail!("the server's reply: {err}"),
        }
    }
}

/// `size` bytes of Chinese text: every character is 3 bytes of UTF-8, so a
/// read of 1024 bytes ends inside one.
fn long_text(size: usize) -> String {
    "流里只有字节，没有消息的边界，也没有包。"
        .chars()
        .cycle()
        .take(size / 3)
        .collect()
}

// ANCHOR: round_trip
/// Sends `count` random messages while reading their echoes, and checks
/// that every echo is its message, in order.
fn round_trip(stream: TcpStream, args: &Args, count: u64) -> anyhow::Result<()> {
    if args.framing == Framing::None {
        bail!("--random needs --framing lines or length: unframed, no echo can be told apart");
    }
    let started = Instant::now();
    // Writing everything before reading anything would deadlock: the server
    // echoes as it reads, its echoes fill our receive buffer and then its
    // send buffer, it blocks in write() and stops reading, our messages
    // fill its receive buffer and our send buffer, and we block in write()
    // too. So one thread writes while this one reads.
    let writer = stream.try_clone().context("cannot clone the socket")?;
    let (framing, seed, max) = (args.framing, args.seed, args.max);
    let sending = std::thread::spawn(move || -> std::io::Result<u64> {
        let mut writer = BufWriter::new(writer);
        let mut messages = Messages::new(seed, max, framing);
        let mut bytes = 0;
        for _ in 0..count {
            let message = messages.next_message();
            bytes += message.len() as u64;
            match framing {
                Framing::Lines => framing::write_line(&mut writer, message)?,
                _ => framing::write_frame(&mut writer, message)?,
            }
        }
        writer.flush()?;
        // FIN after the last message: the server closes when it has echoed all.
        writer.get_ref().shutdown(Shutdown::Write)?;
        Ok(bytes)
    });

    let mut reader = BufReader::new(stream);
    let mut expected = Messages::new(seed, max, framing);
    let mut echo = Vec::new();
    for number in 1..=count {
        let more = match framing {
            Framing::Lines => framing::read_line(&mut reader, max, &mut echo),
            _ => framing::read_frame(&mut reader, max, &mut echo),
        }
        .with_context(|| format!("echo {number}"))?;
        if !more {
            bail!(
                "the server closed the connection after {} echoes of {count}",
                number - 1
            );
        }
        let message = expected.next_message();
        if echo != message {
            bail!(
                "echo {number} differs from message {number}: {} bytes came, {} were sent",
                echo.len(),
                message.len()
            );
        }
    }
    let bytes = match sending.join() {
        Ok(sent) => sent.context("cannot send")?,
        Err(_) => bail!("the sending thread failed"),
    };
    let seconds = started.elapsed().as_secs_f64();
    writeln!(
        common::out(),
        "{count} messages, {bytes} bytes each way: every echo intact and in order, in {seconds:.2} s"
    )?;
    Ok(())
}

/// The seeded random messages of `--random`: the sender and the checker
/// make the same ones from the same seed, so nothing is stored.
struct Messages {
    rng: fastrand::Rng,
    max: usize,
    framing: Framing,
    buf: Vec<u8>,
}

impl Messages {
    fn new(seed: u64, max: usize, framing: Framing) -> Self {
        let rng = fastrand::Rng::with_seed(seed);
        let buf = Vec::with_capacity(max);
        Messages {
            rng,
            max,
            framing,
            buf,
        }
    }

    fn next_message(&mut self) -> &[u8] {
        let len = self.rng.usize(0..=self.max);
        self.buf.resize(len, 0);
        self.rng.fill(&mut self.buf);
        if self.framing == Framing::Lines {
            // A newline inside a line would end it: lines carry every byte
            // but that one.
            for byte in &mut self.buf {
                if *byte == b'\n' {
                    *byte = self.rng.u8(11..);
                }
            }
        }
        &self.buf
    }
}
// ANCHOR_END: round_trip
