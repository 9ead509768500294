//! Lesson 12, the server: lesson 1's hello over a Unix-domain socket. It
//! listens on a socket file (or an abstract name), asks the kernel who each
//! client is, and removes its file when it stops.

use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{Context, bail};
use clap::Parser;
use common::{Hint, UnixAddr};
use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};

/// Lesson 12 (Unix-domain sockets), the server: listens on a socket file,
/// tells who connected (pid, uid, gid, from the kernel), answers `hi` to the
/// first client that says something, then stops and removes the file.
/// Ctrl-C removes it too.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// The socket file to create, or @NAME for an abstract name (no file).
    /// The default is in $XDG_RUNTIME_DIR when it is set (private to you),
    /// else /tmp/unix-hello-UID.sock.
    #[arg(long, value_name = "PATH",
          default_value_t = common::unix_addr::default_unix_path("unix-hello"),
          value_parser = common::parse_unix_addr)]
    addr: UnixAddr,
    /// The socket file's permission bits, in octal (600: only you may
    /// connect; 666: everyone). Unset, they are what your umask leaves.
    #[arg(long, value_name = "OCTAL", value_parser = parse_mode)]
    mode: Option<u32>,
    /// Remove a socket file left behind by a server that was killed, but
    /// only if nothing listens on it: a live server's path is never taken.
    #[arg(long)]
    force: bool,
    /// What to answer.
    #[arg(long, default_value = "hi")]
    reply: String,
}

fn main() -> ExitCode {
    common::run(12, serve)
}

/// The socket file this process created, for the Ctrl-C handler to remove.
static OUR_FILE: Mutex<Option<PathBuf>> = Mutex::new(None);

// ANCHOR: serve
fn serve(args: Args) -> anyhow::Result<()> {
    remove_the_file_on_ctrl_c()?;
    let mut out = common::out();

    // socket(AF_UNIX, SOCK_STREAM) + bind() + listen(): bind() creates the
    // socket file; from then on the kernel queues connections to it.
    let (listener, stale) = bind(&args.addr, args.force)?;
    let file = args.addr.file().map(SocketFile::new);
    if let (Some(file), Some(mode)) = (&file, args.mode) {
        // Who may connect is decided by the file's permissions: connect()
        // needs write permission on it, as open() would for writing.
        std::fs::set_permissions(&file.0, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set the mode of {}", file.0.display()))?;
    }
    writeln!(out, "listening on {}", args.addr)?;
    out.flush()?;
    if stale {
        writeln!(out, "removed a stale socket file left by a killed server")?;
    }
    if let Some(file) = &file {
        let mode = std::fs::metadata(&file.0)?.permissions().mode() & 0o777;
        writeln!(
            out,
            "the file's mode is {mode:o}: {}",
            who_may_connect(mode)
        )?;
    }

    // accept(), until a client says something: one that connects and leaves
    // without a word does not take the server down.
    loop {
        let (mut conn, _) = listener.accept().context("accept failed")?;
        // SO_PEERCRED: the kernel tells who is at the other end, as it was
        // when that process called connect(). No TCP server can know this.
        let peer = getsockopt(&conn, PeerCredentials).context("cannot ask who connected")?;
        writeln!(
            out,
            "connection from pid {}, uid {}, gid {}",
            peer.pid(),
            peer.uid(),
            peer.gid()
        )?;

        // recv(1024): a Unix stream socket is a byte stream, as TCP is.
        let mut buf = [0; common::BUFFER_SIZE];
        let n = conn.read(&mut buf).context("cannot receive")?;
        if n == 0 {
            writeln!(out, "pid {} left without sending anything", peer.pid())?;
            continue;
        }
        writeln!(out, "received {n} bytes: {}", common::show(&buf[..n]))?;
        conn.write_all(args.reply.as_bytes())
            .context("cannot send the reply")?;
        writeln!(out, "sent: {}", args.reply)?;
        drop(conn);
        writeln!(out, "closed the connection")?;
        break;
    }

    // close() does not remove the file: the server must unlink() it.
    drop(listener);
    if let Some(file) = file {
        drop(file);
        writeln!(out, "removed {}", args.addr)?;
    }
    Ok(())
}
// ANCHOR_END: serve

// ANCHOR: bind
/// Binds `addr`. A path already taken is looked at: a server that answers
/// there is never disturbed; a file nobody answers at is a leftover of a
/// killed server, removed with `--force`. Returns whether one was removed.
fn bind(addr: &UnixAddr, force: bool) -> anyhow::Result<(UnixListener, bool)> {
    let where_ = addr.to_socket_addr()?;
    let err = match UnixListener::bind_addr(&where_) {
        Ok(listener) => return Ok((listener, false)),
        Err(err) => err,
    };
    if err.kind() != std::io::ErrorKind::AddrInUse {
        return Err(err)
            .with_context(|| format!("cannot listen on {addr}"))
            .hint("is the folder there, and may you write to it?");
    }
    // Is anyone listening there? Connecting is the one sure way to know.
    if UnixStream::connect_addr(&where_).is_ok() {
        return Err(err)
            .with_context(|| format!("cannot listen on {addr}"))
            .hint(
                "a server is listening on it right now: stop that one first, or pick \
                 another --addr (--force never takes a live server's path)",
            );
    }
    let Some(path) = addr.file() else {
        return Err(err)
            .with_context(|| format!("cannot listen on {addr}"))
            .hint("another socket holds this abstract name; pick another one");
    };
    if !force {
        return Err(err)
            .with_context(|| format!("cannot listen on {addr}"))
            .hint(format!(
                "nothing listens on it: a server that was killed left its file behind \
                 (only a clean exit removes it). Remove it with `rm {}`, or run the server with --force \
                 (`make server L=12 ARGS='--force'`)",
                path.display()
            ));
    }
    let kind = std::fs::symlink_metadata(path)?.file_type();
    if !kind.is_socket() {
        bail!(
            "{} is not a socket file; --force removes only those",
            path.display()
        );
    }
    std::fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
    let listener =
        UnixListener::bind_addr(&where_).with_context(|| format!("cannot listen on {addr}"))?;
    Ok((listener, true))
}
// ANCHOR_END: bind

/// Says who the permission bits let connect.
fn who_may_connect(mode: u32) -> &'static str {
    match (mode & 0o002 != 0, mode & 0o020 != 0) {
        (true, _) => "anyone may connect",
        (false, true) => "its owner and group may connect",
        (false, false) => "only its owner may connect",
    }
}

/// The socket file this process created, removed when dropped: on a clean
/// exit and on an error alike.
struct SocketFile(PathBuf);

impl SocketFile {
    fn new(path: &Path) -> Self {
        if let Ok(mut ours) = OUR_FILE.lock() {
            *ours = Some(path.to_owned());
        }
        SocketFile(path.to_owned())
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Ctrl-C: remove the socket file this process made (the kernel never
/// does), say so, exit 0.
fn remove_the_file_on_ctrl_c() -> anyhow::Result<()> {
    ctrlc::set_handler(|| {
        if let Ok(Some(path)) = OUR_FILE.lock().as_deref() {
            let _ = std::fs::remove_file(path);
        }
        // On a terminal, "^C" was just echoed mid-line: start a fresh one.
        let newline = if std::io::stderr().is_terminal() {
            "\n"
        } else {
            ""
        };
        common::output::say_on_stderr(format_args!("{newline}server stopped (Ctrl-C)"));
        std::process::exit(0);
    })
    .map_err(|err| anyhow::anyhow!("cannot install the Ctrl-C handler: {err}"))
}

fn parse_mode(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|mode| *mode <= 0o777)
        .ok_or_else(|| format!("expected permission bits in octal, such as 600, not '{text}'"))
}
