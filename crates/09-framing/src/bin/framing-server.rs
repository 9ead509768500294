//! Lesson 9, the server: the same TCP stream read three ways. Without
//! framing, one read() each time its operator presses Enter, to show where
//! the bytes of the client's messages really fall; then with lines, and with
//! a length prefix, one whole message at a time, each echoed back. (In the
//! Python course every server does one `recv(1024)` per message: this lesson
//! shows why that only works by luck.)

use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use common::framing::{self, FrameError};
use common::{Quit, QuitWord, Typed, Waited, tcp_state};

/// Lesson 9 (framing a byte stream), the server. `--framing none`: press
/// Enter to make one read() of up to 1024 bytes, and see how the client's
/// messages were glued or split. `--framing lines` or `length`: reads whole
/// messages and echoes each back in the same framing; a message over
/// --max bytes, or one cut by the end of the stream, is refused and the
/// server goes on with the next client. Ctrl-C stops it.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// Where to listen (port 0 lets the kernel pick a free port).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8900",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// How the stream is cut into messages.
    #[arg(long, value_enum, default_value_t = Framing::None)]
    framing: Framing,
    /// The longest message accepted, in bytes (without the newline or the
    /// 4-byte prefix).
    #[arg(long, value_name = "BYTES", default_value_t = framing::MAX_MESSAGE)]
    max: usize,
    /// With `--framing none`: the word that drops the client (the end of
    /// your input stops the server).
    #[arg(long, value_name = "WORD", default_value_t)]
    quit: QuitWord,
}

/// The three ways of reading the stream.
#[derive(Clone, Copy, ValueEnum)]
enum Framing {
    /// No framing: one read() at a time, as the Python course does.
    None,
    /// Each message ends with a newline.
    Lines,
    /// Each message is its length in 4 bytes, big-endian, then its bytes.
    Length,
}

fn main() -> ExitCode {
    common::run(9, serve)
}

fn serve(args: Args) -> anyhow::Result<()> {
    common::stop_on_ctrl_c("server")?;
    let listener =
        TcpListener::bind(args.addr).with_context(|| format!("cannot listen on {}", args.addr))?;
    common::announce(listener.local_addr()?)?;
    match args.framing {
        Framing::None => read_unframed(&listener, &args.quit),
        Framing::Lines | Framing::Length => loop {
            // One client at a time, as in lesson 4: lesson 13 serves many.
            let (conn, client) = listener.accept().context("accept failed")?;
            writeln!(common::out(), "connection from {client}")?;
            // TCP_NODELAY: send each echo at once. Nagle's algorithm would
            // hold a small echo back while an earlier one is unacknowledged,
            // and the client's kernel may delay its ACK by up to 40 ms. Each
            // echo is written whole, so there is nothing worth waiting for.
            conn.set_nodelay(true).context("cannot set TCP_NODELAY")?;
            let framed = match args.framing {
                // A newline after each message.
                Framing::Lines => Framed {
                    read: framing::read_line,
                    write: framing::write_line,
                    name: "line",
                },
                // Its length in 4 bytes before each message.
                _ => Framed {
                    read: framing::read_frame,
                    write: framing::write_frame,
                    name: "frame",
                },
            };
            echo(conn, client, args.max, &framed)?;
        },
    }
}

// ANCHOR: unframed
/// No framing: each Enter makes one read() of up to 1024 bytes, and shows
/// what the kernel had collected for it.
fn read_unframed(listener: &TcpListener, quit: &QuitWord) -> anyhow::Result<()> {
    let mut out = common::out();
    let mut typed = Typed::new("Enter reads once> ")?;
    let mut buf = [0; common::BUFFER_SIZE];
    loop {
        writeln!(out, "waiting for a client")?;
        if let Waited::Quit(Quit::EndOfInput) = typed.wait_for(listener, quit, None)? {
            writeln!(out, "end of input: the server stops")?;
            return Ok(());
        }
        let (mut conn, client) = listener.accept().context("accept failed")?;
        let local = conn.local_addr()?;
        writeln!(out, "connection from {client}: press Enter to read once")?;
        for reads in 1.. {
            match typed.next_line()? {
                None => {
                    writeln!(out, "end of input: the server stops")?;
                    return Ok(());
                }
                Some(line) if quit.matches(&line) => {
                    writeln!(out, "you said {quit}: dropping {client}")?;
                    break;
                }
                Some(_) => {}
            }
            // What the client's bytes became is decided before we read: the
            // kernel has been acknowledging them into this connection's
            // receive queue, one after the other, with no marks between.
            if let Some(queues) = tcp_state::queues_of(local, client)? {
                writeln!(out, "the receive queue holds {} bytes", queues.unread)?;
            }
            // Nothing there yet: read() would block, so wait for the socket
            // (or the keyboard) first.
            if let Waited::Quit(Quit::EndOfInput) = typed.wait_for(&conn, quit, None)? {
                writeln!(out, "end of input: the server stops")?;
                return Ok(());
            }
            // recv(1024): whatever is queued, up to 1024 bytes. Not "one
            // message": the kernel does not know where a message ends.
            let n = match conn.read(&mut buf) {
                Ok(n) => n,
                Err(err) if err.kind() == ErrorKind::ConnectionReset => {
                    writeln!(out, "read {reads}: {client} reset the connection")?;
                    break;
                }
                Err(err) => {
                    writeln!(
                        out,
                        "read {reads}: cannot receive ({err}); dropping {client}"
                    )?;
                    break;
                }
            };
            if n == 0 {
                writeln!(out, "read {reads}: 0 bytes: {client} closed the connection")?;
                break;
            }
            // A character of UTF-8 is up to 4 bytes; a read can end in the
            // middle of one, and decoding that read alone shows U+FFFD.
            let text = common::show::ends(&buf[..n], 16);
            writeln!(out, "read {reads}: {n} bytes: {text}")?;
        }
    }
}
// ANCHOR_END: unframed

/// The socket, read through a buffer, and written through one.
type Reader = BufReader<TcpStream>;
type Writer = BufWriter<TcpStream>;

// ANCHOR: echo
/// One framing, as the echo loop uses it: how to read one message, how to
/// write one, and what a message is called.
struct Framed {
    /// `framing::read_line` or `framing::read_frame`.
    read: fn(&mut Reader, usize, &mut Vec<u8>) -> Result<bool, FrameError>,
    /// `framing::write_line` or `framing::write_frame`.
    write: fn(&mut Writer, &[u8]) -> std::io::Result<()>,
    /// `line` or `frame`.
    name: &'static str,
}

/// Reads one message at a time in the client's framing, and echoes each
/// back in the same framing, until the client closes or breaks the framing.
fn echo(conn: TcpStream, client: SocketAddr, max: usize, framed: &Framed) -> anyhow::Result<()> {
    let mut out = common::out();
    // BufReader reads the socket in pieces of 8 KiB and hands out messages
    // from them; BufWriter gathers our echoes into few write() calls.
    let mut reader = BufReader::new(conn.try_clone().context("cannot clone the socket")?);
    let mut writer = BufWriter::new(conn);
    let mut message = Vec::new();
    for number in 1_u64.. {
        match (framed.read)(&mut reader, max, &mut message) {
            Ok(true) => {}
            Ok(false) => {
                let got = common::show::count(number - 1, framed.name);
                writeln!(out, "{client} closed the connection after {got}")?;
                break;
            }
            Err(err) => return refuse(writer, client, &err, framed.write),
        }
        let shown = describe(&message, framed.name);
        writeln!(out, "{} {number}: {shown}", framed.name)?;
        // Flush before the next read() could block: every echo of what has
        // arrived is on its way before we wait for more.
        let sent = (framed.write)(&mut writer, &message).and_then(|()| {
            if reader.buffer().is_empty() {
                writer.flush()
            } else {
                Ok(())
            }
        });
        if let Err(err) = sent {
            writeln!(out, "{client}: cannot send the echo ({err}); dropping it")?;
            break;
        }
    }
    Ok(())
}
// ANCHOR_END: echo

/// How a message is shown: its size and its text, or what it is when it has
/// none. Bytes that are not UTF-8 show as U+FFFD and controls escaped, so
/// nothing a client sends reaches the terminal raw.
fn describe(message: &[u8], name: &str) -> String {
    if message.is_empty() {
        return format!("0 bytes: (an empty {name})");
    }
    let utf8 = if std::str::from_utf8(message).is_ok() {
        ""
    } else {
        " (not valid UTF-8)"
    };
    let text = common::show::ends(message, 16);
    format!("{} bytes{utf8}: {text}", message.len())
}

/// The client broke the framing (or the connection broke): say so, tell the
/// client why in its own framing, and close, so the server can go on.
fn refuse(
    mut writer: Writer,
    client: SocketAddr,
    err: &FrameError,
    write: fn(&mut Writer, &[u8]) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    writeln!(common::out(), "{client}: {err}; dropping it")?;
    if let FrameError::Io(_) = err {
        return Ok(());
    }
    // Best effort: the client may be gone already.
    let _ = write(&mut writer, format!("error: {err}").as_bytes()).and_then(|()| writer.flush());
    if let Ok(conn) = writer.into_inner() {
        framing::close_gently(conn);
    }
    Ok(())
}
