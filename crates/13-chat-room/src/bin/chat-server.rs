//! Lesson 13, the server: one chat room, built three ways. `--model` picks
//! the way; each lives in its own file and reads top to bottom:
//!
//! - `src/server/threads.rs`: a thread per client (std only);
//! - `src/server/polling.rs`: one thread, and readiness polling with `mio`;
//! - `src/server/tasks.rs`: a task per client on `tokio`'s runtime.
//!
//! What the room does with each line is the same for all three: that is the
//! crate's `Room`. (The Python course's last TCP script promised a chat for
//! many and served one client at a time; this is what the title promised.)

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, ValueEnum};

/// Lesson 13 (a chat room for many), the server: every line a client sends
/// goes to every other client, with joins, leaves and nicknames; a client
/// that stops reading is dropped rather than stalling the room. Talk to it
/// with `chat-client` or `nc 127.0.0.1 8013`.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// Where to listen (port 0 lets the kernel pick a free port).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8013",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// How the server waits for its clients.
    #[arg(long, value_enum, default_value_t = Model::Threads)]
    model: Model,
    /// How many clients may be connected at once; the next is told the
    /// room is full. (The thread-per-client server may allow fewer: see
    /// src/server/threads.rs.)
    #[arg(long, value_name = "N", default_value_t = 16_000)]
    max_clients: usize,
    /// Print nothing after the ready line, and announce no joins and
    /// leaves to the room: for the benchmark, where 10,000 clients joining
    /// would otherwise be 50 million notices.
    #[arg(long)]
    quiet: bool,
}

/// The three ways to serve many clients at once.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Model {
    /// A thread per client, blocked in `read` (and one more to write).
    Threads,
    /// One thread, waiting on every socket at once with epoll (`mio`).
    Poll,
    /// A task per client on the `tokio` runtime.
    Tokio,
}

fn main() -> ExitCode {
    common::run(13, serve)
}

// ANCHOR: serve
fn serve(args: Args) -> anyhow::Result<()> {
    common::stop_on_ctrl_c("server")?;
    // One socket per client: thousands of clients need thousands of file
    // descriptors, more than the usual soft limit of 1,024.
    chat_room::fds::raise_limit().context("cannot raise the limit on open files")?;

    // socket() + bind() + listen(), with a longer queue of finished
    // handshakes than std's 128: when hundreds of clients connect at once,
    // a full queue makes the kernel drop their SYNs, and each then waits a
    // second to try again (lesson 8).
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(args.addr),
        socket2::Type::STREAM,
        None,
    )?;
    socket.set_reuse_address(true)?;
    socket
        .bind(&args.addr.into())
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    socket.listen(4096)?;
    let listener = TcpListener::from(socket);
    common::announce(listener.local_addr()?)?;
    if !args.quiet {
        let model = match args.model {
            Model::Threads => "a thread per client",
            Model::Poll => "one thread polling every socket (mio)",
            Model::Tokio => "a task per client (tokio)",
        };
        writeln!(common::out(), "serving the room with {model}")?;
    }
    let log = !args.quiet;
    match args.model {
        Model::Threads => chat_room::server::threads::serve(listener, log, args.max_clients),
        Model::Poll => chat_room::server::polling::serve(listener, log, args.max_clients),
        Model::Tokio => chat_room::server::tasks::serve(listener, log, args.max_clients),
    }
}
// ANCHOR_END: serve
