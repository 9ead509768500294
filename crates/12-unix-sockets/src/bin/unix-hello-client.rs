//! Lesson 12, the client: lesson 1's client over a Unix-domain socket.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::Parser;
use common::{Hint, UnixAddr};

/// Lesson 12 (Unix-domain sockets), the client: connects to the server's
/// socket file (or abstract name), sends `hello!`, prints the answer, and
/// waits for the server to close.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// The server's socket file, or @NAME for an abstract name. The default
    /// is the server's: in $XDG_RUNTIME_DIR when it is set, else
    /// /tmp/unix-hello-UID.sock.
    #[arg(long, value_name = "PATH",
          default_value_t = common::unix_addr::default_unix_path("unix-hello"),
          value_parser = common::parse_unix_addr)]
    addr: UnixAddr,
    /// What to say.
    #[arg(long, default_value = "hello!")]
    message: String,
    /// How many seconds to wait for the server to answer, then to close.
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
}

fn main() -> ExitCode {
    common::run(12, talk)
}

// ANCHOR: talk
fn talk(args: Args) -> anyhow::Result<()> {
    let mut out = common::out();
    // socket(AF_UNIX, SOCK_STREAM) + connect(): no handshake on the wire,
    // no port: the kernel finds the listening socket by the file (checking
    // that we may write to it) or by the abstract name, and queues us there.
    let mut stream = match UnixStream::connect_addr(&args.addr.to_socket_addr()?) {
        Ok(stream) => stream,
        Err(err) => return cannot_connect(err, &args.addr),
    };
    writeln!(out, "connected to {}", args.addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(args.timeout)))?;

    writeln!(out, "sending: {}", args.message)?;
    stream
        .write_all(args.message.as_bytes())
        .context("cannot send")?;

    let mut buf = [0; common::BUFFER_SIZE];
    let n = stream
        .read(&mut buf)
        .map_err(|err| failed_read(err, "answer", args.timeout))?;
    if n == 0 {
        bail!("the server closed the connection without answering");
    }
    writeln!(out, "received {n} bytes: {}", common::show(&buf[..n]))?;

    // Wait for the server to close its side: a read returns 0 bytes.
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

/// What a failed connect means for a Unix socket, with what to do.
fn cannot_connect(err: std::io::Error, addr: &UnixAddr) -> anyhow::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let is_socket = |path: &std::path::Path| {
        std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_socket())
    };
    let hint = match (err.kind(), addr) {
        (ErrorKind::NotFound, UnixAddr::File(path))
            if path.to_string_lossy().parse::<SocketAddr>().is_ok() =>
        {
            "a Unix socket's address is a file path (or @name), not IP:PORT: \
             `make client L=12` uses the server's default path"
        }
        (ErrorKind::NotFound, _) => {
            "no socket file there: is the server running? Start it with `make server L=12`, \
             and give both sides the same --addr"
        }
        (ErrorKind::ConnectionRefused, UnixAddr::File(path)) if !is_socket(path) => {
            "that file is not a socket: --addr must name the file a server's bind() made"
        }
        (ErrorKind::ConnectionRefused, UnixAddr::File(_)) => {
            "the file is there but nothing listens on it: a server that was killed left it \
             behind. Start the server with `make server L=12 ARGS='--force'` to replace it"
        }
        (ErrorKind::ConnectionRefused, UnixAddr::Abstract(_)) => {
            "nothing holds that abstract name: is the server running, with the same --addr?"
        }
        (ErrorKind::PermissionDenied, _) => {
            "connect() needs write permission on the socket file (and search permission on \
             its folders): `ls -l` shows its mode, and the server's --mode sets it"
        }
        _ => return Err(err).with_context(|| format!("cannot connect to {addr}")),
    };
    Err(err)
        .with_context(|| format!("cannot connect to {addr}"))
        .hint(hint)
}

/// Names what went wrong while waiting for the server's `answer` or `close`.
fn failed_read(err: std::io::Error, waiting_for: &str, timeout: u64) -> anyhow::Error {
    if common::is_timeout(&err) {
        anyhow!("no {waiting_for} from the server within {timeout} s")
    } else {
        anyhow::Error::new(err).context(format!("waiting for the server's {waiting_for}"))
    }
}
