//! Lesson 7, the server: every datagram is a strftime format such as
//! `%Y %m %d`; the answer is the current time in that format.
//! (In the Python course: the time server whose client asks
//! "enter a time format (e.g. %Y %m %d)".)

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;

use anyhow::Context;
use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, FixedOffset, Local, Utc};
use clap::Parser;
use common::datagram;

/// Lesson 7 (the time-format server), the server: answers each datagram, a
/// strftime format such as `%Y %m %d`, with the current local time in that
/// format (`2025 06 01`). An empty datagram asks for the default format,
/// `%Y-%m-%d %H:%M:%S`. A format that cannot be rendered gets an answer that
/// starts with `error:` and says why. Runs until Ctrl-C.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// Where to listen (port 0 lets the kernel pick a free port).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9001",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// Answer with the time in UTC instead of this machine's time zone.
    #[arg(long)]
    utc: bool,
}

/// The format an empty request gets: the date and the time,
/// `2025-06-01 14:30:00`.
const DEFAULT_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The longest answer sent: what the clients read with one `recvfrom(1024)`,
/// and far below the 65,507 bytes a datagram can carry. A format such as
/// `%c` repeated a hundred times asks for more, and gets an error instead.
const MAX_REPLY: usize = common::BUFFER_SIZE;

/// Room for a usual printed line: the client, the format and the answer.
/// (A longer line is still printed whole; its buffer grows.)
const MAX_LINE: usize = 4 * 1024;

fn main() -> ExitCode {
    common::run(7, serve)
}

// ANCHOR: serve
fn serve(args: Args) -> anyhow::Result<()> {
    common::stop_on_ctrl_c("server")?;

    // socket(AF_INET, SOCK_DGRAM) + bind(): datagrams sent to this address
    // now wait in this socket's queue until we take them.
    let socket =
        UdpSocket::bind(args.addr).with_context(|| format!("cannot bind {}", args.addr))?;
    common::announce(socket.local_addr()?)?;

    // Everything the loop writes goes into buffers made once, here, so a
    // request allocates nothing; a new format and a new client's address
    // are worked out once and kept (`LastFormat`, `LastClient`).
    let mut buf = [0; common::BUFFER_SIZE];
    let mut reply = String::with_capacity(MAX_REPLY);
    let mut line = Vec::with_capacity(MAX_LINE);
    let mut last_format = LastFormat::new();
    let mut last_client = LastClient::new();
    let mut out = common::out().lock();
    loop {
        // recvfrom(1024): the next request, whole or cut, and its sender.
        let request = datagram::recv_from(&socket, &mut buf).context("cannot receive")?;
        let (format, client) = (&buf[..request.len], request.from);

        // The answer is text: the time, or `error: ...`. A bad request never
        // stops the server; its sender is told what is wrong.
        reply.clear();
        if request.is_truncated() {
            write!(
                reply,
                "error: the format has {} bytes; this server reads at most {}",
                request.size,
                buf.len()
            )?;
        } else {
            match std::str::from_utf8(format) {
                Err(_) => reply.push_str("error: the format is not UTF-8 text"),
                Ok("") => time_in(DEFAULT_FORMAT, args.utc, &mut last_format, &mut reply)?,
                Ok(format) => time_in(format, args.utc, &mut last_format, &mut reply)?,
            }
        }

        // The printed line is put together in `line`, then written at once:
        // one `write` per request, as a C server makes.
        let who = last_client.text(client);
        let answer = common::show(reply.as_bytes());
        line.clear();
        if format.is_empty() {
            writeln!(line, "[{who}] (empty: the default format) -> {answer}")?;
        } else {
            writeln!(line, "[{who}] {} -> {answer}", common::show(format))?;
        }
        out.write_all(&line)?;

        // sendto(): the answer, as one datagram, to whoever asked.
        if let Err(err) = socket.send_to(reply.as_bytes(), client) {
            writeln!(out, "[{client}] cannot answer: {err}")?;
        }
    }
}
// ANCHOR_END: serve

// ANCHOR: time_in
/// Writes the current time in `format` into `reply`, or `error: ...` naming
/// the part of the format that cannot be rendered. (Writing into a String
/// never fails: the `fmt::Result` is there for `write!`.)
fn time_in(
    format: &str,
    utc: bool,
    last_format: &mut LastFormat,
    reply: &mut String,
) -> fmt::Result {
    let now: DateTime<FixedOffset> = if utc {
        Utc::now().fixed_offset()
    } else {
        Local::now().fixed_offset()
    };
    // chrono reads the format into items (see `LastFormat`), and refuses a
    // format with an unknown specifier (`%Q`) or a lone `%`. Printing such
    // a format with `to_string()`, `format!` or `println!` would panic, so
    // the time is written into our own String, where a formatting error is
    // an Err: `%#z`, which chrono can read but not print, comes out so.
    let Some(items) = last_format.items(format) else {
        return explain(format, now, reply);
    };
    if now.format_with_items(items.iter()).write_to(reply).is_err() {
        reply.clear();
        return explain(format, now, reply);
    }
    // A short format can ask for a long answer (`%c` is 24 characters).
    if reply.len() > MAX_REPLY {
        let len = reply.len();
        reply.clear();
        write!(
            reply,
            "error: the time in this format takes {len} bytes, more than the {MAX_REPLY} an answer may carry"
        )?;
    }
    Ok(())
}
// ANCHOR_END: time_in

/// The last format asked for, as chrono's items. Reading a format into
/// items is a quarter of the work of an answer, and a client tends to ask
/// the same question again and again (a clock asks every second), so the
/// server reads each new format once and keeps the items for the requests
/// that follow.
struct LastFormat {
    /// The format as the client sent it.
    text: String,
    /// Its items, or `None` when chrono cannot read it.
    items: Option<Vec<Item<'static>>>,
}

impl LastFormat {
    /// Nothing asked yet: the empty format, which reads as no items.
    fn new() -> Self {
        LastFormat {
            text: String::new(),
            items: Some(Vec::new()),
        }
    }

    /// The items of `format`, read now unless it is the last one again.
    fn items(&mut self, format: &str) -> Option<&[Item<'static>]> {
        if format != self.text {
            self.text.clear();
            self.text.push_str(format);
            self.items = StrftimeItems::new(format).parse_to_owned().ok();
        }
        self.items.as_deref()
    }
}

/// The client of the last request, with its address written out as text
/// (`127.0.0.1:50000`) for the printed line. Writing an address out takes a
/// fifth of the work of an answer, and a client tends to ask more than once,
/// so the server writes each new client's address once.
struct LastClient {
    /// The client's address, `None` before the first request.
    addr: Option<SocketAddr>,
    /// The same address as text.
    text: String,
}

impl LastClient {
    /// No client yet.
    fn new() -> Self {
        LastClient {
            addr: None,
            text: String::new(),
        }
    }

    /// `client`'s address as text, written now unless it asked last time.
    fn text(&mut self, client: SocketAddr) -> &str {
        if self.addr != Some(client) {
            self.addr = Some(client);
            self.text = client.to_string();
        }
        &self.text
    }
}

/// Says what chrono cannot render in `format`: the first specifier that
/// fails on its own, such as `%Q` (unknown), `%#z` (for parsing only) or a
/// `%` with nothing after it. Only an invalid format comes here.
fn explain(format: &str, now: DateTime<FixedOffset>, reply: &mut String) -> fmt::Result {
    let renders = |spec: &str| {
        let items = StrftimeItems::new(spec);
        !items.clone().any(|item| matches!(item, Item::Error))
            && write!(String::new(), "{}", now.format_with_items(items)).is_ok()
    };
    let mut rest = format;
    while let Some(at) = rest.find('%') {
        // A specifier: `%`, any modifiers (`-`, `_`, `0`, `#`, `.`, `:`,
        // digits), then one character.
        let spec = &rest[at..];
        let modifiers = spec[1..]
            .find(|c: char| !"-_#.:0123456789".contains(c))
            .map_or(spec.len(), |i| i + 1);
        let end = spec[modifiers..]
            .chars()
            .next()
            .map_or(modifiers, |c| modifiers + c.len_utf8());
        let spec = &spec[..end];
        if spec == "%" {
            reply.push_str(
                "error: `%` at the end of the format has no specifier after it \
                 (write %% for a percent sign)",
            );
            return Ok(());
        }
        if !renders(spec) {
            return write!(
                reply,
                "error: `{spec}` is not a strftime specifier chrono can render \
                 (try %Y %m %d %H %M %S)"
            );
        }
        rest = &rest[at + end..];
    }
    reply.push_str("error: chrono cannot render this format");
    Ok(())
}
