//! Lesson 13 end to end: one suite, run against each of the three servers
//! (`--model threads`, `poll`, `tokio`). The raw peers here are what `nc`
//! is: a socket that sends and receives lines.
//!
//! The heavy tests (500 clients, 10,000 idle connections, a flood of
//! messages past a client that never reads) open thousands of sockets in
//! this process: they raise the soft limit on open files first, and take
//! turns (one at a time, through a lock), so that together they never hold
//! more than one of them needs, whatever else runs beside them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use course::{Stage, bins};

/// Runs each listed test against each server model.
macro_rules! against_every_server {
    ($($test:ident),* $(,)?) => {
        mod threads { $( #[test] fn $test() -> anyhow::Result<()> { super::$test("threads") } )* }
        mod poll { $( #[test] fn $test() -> anyhow::Result<()> { super::$test("poll") } )* }
        mod tokio { $( #[test] fn $test() -> anyhow::Result<()> { super::$test("tokio") } )* }
    };
}

against_every_server!(
    three_clients_hear_each_other_in_order,
    leavers_are_announced_however_they_leave,
    garbage_is_shown_safely_and_stalls_no_one,
    a_client_that_never_reads_is_dropped_and_the_room_goes_on,
    five_hundred_clients_each_hear_all_the_others,
    ten_thousand_silent_connections_stall_no_one,
);

#[test]
fn the_demo_plays() -> anyhow::Result<()> {
    // The demo floods the room too: not beside the heavy tests, which would
    // starve its two readers of CPU.
    let _turn = heavy();
    course::play_demo(
        env!("CARGO_MANIFEST_DIR"),
        bins!["chat-server", "chat-client", "chat-load"],
    )
}

fn room(model: &str) -> anyhow::Result<(Stage, String)> {
    let mut stage = Stage::new(bins!["chat-server", "chat-client"]);
    let addr = stage.serve("server", format!("chat-server --model {model}").as_str())?;
    Ok((stage, addr.to_string()))
}

/// A raw peer connects and takes a nickname.
fn join(stage: &mut Stage, actor: &str, addr: &str) -> anyhow::Result<()> {
    stage.connect(actor, addr)?;
    stage.recv(actor, "* welcome")?;
    stage.send(actor, &format!("{actor}\\n"))?;
    stage.recv(actor, &format!("* you are {actor}"))
}

fn three_clients_hear_each_other_in_order(model: &str) -> anyhow::Result<()> {
    let (mut stage, addr) = room(model)?;
    join(&mut stage, "alice", &addr)?;
    join(&mut stage, "bob", &addr)?;
    stage.recv("alice", "* bob joined")?;
    join(&mut stage, "carol", &addr)?;
    stage.recv("alice", "* carol joined")?;
    stage.recv("bob", "* carol joined")?;

    // Each line in the order it was sent, to everyone but its sender.
    stage.send("alice", "one\\ntwo\\nthree\\n")?;
    for listener in ["bob", "carol"] {
        stage.recv(listener, "[alice] one\n[alice] two\n[alice] three\n")?;
    }
    stage.send("bob", "from bob\\n")?;
    stage.recv("alice", "[bob] from bob")?;
    stage.recv("carol", "[bob] from bob")?;

    stage.send("carol", "/who\\n")?;
    stage.recv("carol", "* here: alice, bob, carol")?;

    // A taken nickname, and a bad one, are refused; a free one is taken.
    stage.connect("dave", &addr)?;
    stage.send("dave", "/nick bob\\n")?;
    stage.recv("dave", "* nickname refused: bob is taken")?;
    stage.send("dave", "/nick d e\\n")?;
    stage.recv("dave", "* nickname refused: a nickname is letters, digits")?;
    stage.send("dave", "/nick dave\\n")?;
    stage.recv("dave", "* you are dave")?;
    stage.recv("alice", "* dave joined")?;
    stage.send("bob", "/nick robert\\n")?;
    stage.recv("alice", "* bob is now robert")?;
    stage.recv("dave", "* bob is now robert")?;

    stage.send("alice", "/quit\\n")?;
    stage.recv("alice", "* bye")?;
    stage.closed("alice")?;
    stage.recv("dave", "* alice left")?;
    stage.expect("server", "* alice left")?;
    Ok(())
}

fn leavers_are_announced_however_they_leave(model: &str) -> anyhow::Result<()> {
    let (mut stage, addr) = room(model)?;
    join(&mut stage, "alice", &addr)?;
    join(&mut stage, "bob", &addr)?;
    join(&mut stage, "carol", &addr)?;
    // bob vanishes: RST instead of FIN; the server's read fails.
    stage.reset("bob")?;
    stage.recv("alice", "* bob left")?;
    // carol half-closes: the server reads end of stream.
    stage.shutdown("carol")?;
    stage.recv("alice", "* carol left")?;
    stage.closed("carol")?;
    // And the room goes on.
    join(&mut stage, "dave", &addr)?;
    stage.recv("alice", "* dave joined")?;
    stage.send("alice", "still here\\n")?;
    stage.recv("dave", "[alice] still here")?;
    Ok(())
}

fn garbage_is_shown_safely_and_stalls_no_one(model: &str) -> anyhow::Result<()> {
    let (mut stage, addr) = room(model)?;
    join(&mut stage, "alice", &addr)?;
    join(&mut stage, "eve", &addr)?;
    // Invalid UTF-8, NUL, ESC: shown as U+FFFD and escapes, never raw.
    stage.send("eve", "bad \\xff\\xfe, nul \\0, esc \\e[2J, bell \\x07\\n")?;
    stage.recv(
        "alice",
        "[eve] bad \u{fffd}\u{fffd}, nul \\\\x00, esc \\\\x1b[2J, bell \\\\x07\n",
    )?;
    // A line over the limit: its sender is told and dropped.
    join(&mut stage, "mallory", &addr)?;
    stage.send("mallory", &format!("{}\\n", "x".repeat(2000)))?;
    stage.recv("mallory", "* dropped: a line over 1024 bytes")?;
    stage.closed("mallory")?;
    stage.recv("alice", "* mallory was dropped: a line over 1024 bytes")?;
    // A line sent a byte at a time, with the room talking between the
    // bytes: its unfinished line waits in the server (each byte is already
    // in the server's kernel when alice speaks), and the room talks on.
    join(&mut stage, "bob", &addr)?;
    stage.connect("zed", &addr)?;
    for (at, byte) in ["z", "e", "d", "\\n"].into_iter().enumerate() {
        stage.send("zed", byte)?;
        stage.send("alice", &format!("while zed types {at}\\n"))?;
        stage.recv("bob", &format!("[alice] while zed types {at}"))?;
    }
    stage.recv("zed", "* you are zed")?;
    stage.recv("alice", "* zed joined")?;
    Ok(())
}

// The heavy tests: servers started by hand, to know their process id and
// to read their output from a thread.

/// One heavy test at a time in this process.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A server started for one test, killed when the test ends.
struct Server {
    child: Child,
    addr: SocketAddr,
    /// Every line it printed after its ready line.
    lines: Receiver<String>,
}

impl Server {
    fn start(model: &str) -> anyhow::Result<Server> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chat-server"))
            .args(["--addr", "127.0.0.1:0", "--model", model])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = lines
            .recv_timeout(Duration::from_secs(10))
            .context("the server printed no ready line")?;
        let addr = ready
            .strip_prefix("listening on ")
            .context("not a ready line")?
            .parse()?;
        Ok(Server { child, addr, lines })
    }

    /// Waits for a line of its output containing `text`.
    fn expect(&self, text: &str, limit: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return Ok(()),
                Ok(_) => continue,
                Err(_) => bail!("the server did not print `{text}` within {limit:?}"),
            }
        }
    }

    /// Its resident memory now, in KiB (VmRSS).
    fn memory_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .context("no VmRSS")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain client: a socket, and lines read from it with a deadline.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> anyhow::Result<Client> {
        let writer = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
        Ok(Client {
            reader: BufReader::new(writer.try_clone()?),
            writer,
        })
    }

    fn join(addr: SocketAddr, nick: &str) -> anyhow::Result<Client> {
        let mut client = Client::connect(addr)?;
        client.say(nick)?;
        client.wait_for(&format!("* you are {nick}"), Duration::from_secs(10))?;
        Ok(client)
    }

    fn say(&mut self, line: &str) -> anyhow::Result<()> {
        self.writer.write_all(format!("{line}\n").as_bytes())?;
        Ok(())
    }

    /// The next line, waiting until `deadline`.
    fn line(&mut self, deadline: Instant) -> anyhow::Result<String> {
        let left = deadline.saturating_duration_since(Instant::now());
        ensure!(!left.is_zero(), "the deadline passed");
        self.reader.get_ref().set_read_timeout(Some(left))?;
        let mut line = String::new();
        let n = self.reader.read_line(&mut line)?;
        ensure!(n > 0, "the server closed the connection");
        Ok(line.trim_end().to_owned())
    }

    /// Reads lines until one contains `text`.
    fn wait_for(&mut self, text: &str, limit: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        let mut last = String::new();
        loop {
            match self.line(deadline) {
                Ok(line) if line.contains(text) => return Ok(()),
                Ok(line) => last = line,
                Err(err) => bail!("no `{text}` within {limit:?} ({err:#}; last line `{last}`)"),
            }
        }
    }
}

/// Lets this process hold as many sockets as its hard limit allows.
fn many_files() -> anyhow::Result<()> {
    chat_room::fds::raise_limit()?;
    Ok(())
}

fn a_client_that_never_reads_is_dropped_and_the_room_goes_on(model: &str) -> anyhow::Result<()> {
    let _turn = heavy();
    let server = Server::start(model)?;
    let mut alice = Client::join(server.addr, "alice")?;
    let mut readers = Vec::new();
    for nick in ["bob", "carol"] {
        readers.push(Client::join(server.addr, nick)?);
    }
    // slow: a small receive buffer, and it never reads again.
    let slow = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    slow.set_recv_buffer_size(4096)?;
    slow.connect_timeout(&server.addr.into(), Duration::from_secs(10))?;
    let mut slow = TcpStream::from(slow);
    slow.write_all(b"slow\n")?;
    server.expect("* slow joined", Duration::from_secs(10))?;
    let before = server.memory_kib()?;

    // bob and carol read on threads of their own, and count.
    let heard: Vec<_> = readers
        .into_iter()
        .map(|mut reader| {
            std::thread::spawn(move || -> anyhow::Result<Vec<String>> {
                let deadline = Instant::now() + Duration::from_secs(30);
                let mut lines = Vec::new();
                loop {
                    let line = reader.line(deadline)?;
                    let done = line == "[alice] after 999";
                    lines.push(line);
                    if done {
                        return Ok(lines);
                    }
                }
            })
        })
        .collect();

    // alice talks until slow's queue (and the kernel's buffers) are full.
    let text = "x".repeat(200);
    let mut sent = 0;
    loop {
        if sent == 20_000 {
            // 4 MB: far more than slow's queue and buffers hold. The
            // server may still be reading them.
            server.expect("* slow was dropped: too slow", Duration::from_secs(20))?;
            break;
        }
        for _ in 0..100 {
            alice.say(&format!("before {sent} {text}"))?;
            sent += 1;
        }
        if server
            .expect("* slow was dropped: too slow", Duration::from_millis(1))
            .is_ok()
        {
            break;
        }
    }
    // Then 1,000 more, which bob and carol must all get, in order.
    for at in 0..1000 {
        alice.say(&format!("after {at}"))?;
    }
    for reader in heard {
        let lines = reader
            .join()
            .map_err(|_| anyhow::anyhow!("a reader panicked"))??;
        ensure!(
            lines
                .iter()
                .any(|line| line == "* slow was dropped: too slow"),
            "no drop notice"
        );
        let after: Vec<&String> = lines
            .iter()
            .filter(|l| l.starts_with("[alice] after "))
            .collect();
        ensure!(
            after.len() == 1000,
            "{} of the 1,000 lines came",
            after.len()
        );
        for (at, line) in after.iter().enumerate() {
            ensure!(
                **line == format!("[alice] after {at}"),
                "line {at} is `{line}`"
            );
        }
    }
    // The server let go of slow's queue: its memory did not grow with it.
    let after = server.memory_kib()?;
    ensure!(
        after < before + 32 * 1024,
        "the server grew from {before} KiB to {after} KiB"
    );
    drop(slow);
    Ok(())
}

fn five_hundred_clients_each_hear_all_the_others(model: &str) -> anyhow::Result<()> {
    let _turn = heavy();
    many_files()?;
    let server = Server::start(model)?;
    let mut clients = Vec::new();
    for at in 0..500 {
        let mut client = Client::connect(server.addr)?;
        client.say(&format!("c{at}"))?;
        clients.push(client);
    }
    for (at, client) in clients.iter_mut().enumerate() {
        client.wait_for(&format!("* you are c{at}"), Duration::from_secs(20))?;
    }
    for (at, client) in clients.iter_mut().enumerate() {
        client.say(&format!("hello from c{at}"))?;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for (at, client) in clients.iter_mut().enumerate() {
        let mut heard = 0;
        while heard < 499 {
            let line = client
                .line(deadline)
                .with_context(|| format!("c{at} heard {heard} of the 499 others"))?;
            if line.starts_with("[c") && line.contains("] hello from c") {
                heard += 1;
            }
            ensure!(!line.contains("was dropped"), "c{at} heard `{line}`");
        }
    }
    Ok(())
}

fn ten_thousand_silent_connections_stall_no_one(model: &str) -> anyhow::Result<()> {
    let _turn = heavy();
    many_files()?;
    let server = Server::start(model)?;
    let mut alice = Client::join(server.addr, "alice")?;
    let mut bob = Client::join(server.addr, "bob")?;
    // Four threads connect 2,500 each. Each waits for the server's first
    // line before the next connect: connecting faster than the server
    // accepts would fill its queue of finished handshakes, and the kernel
    // would drop SYNs, each sent again only a second later (lesson 8).
    let addr = server.addr;
    let connecting: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || -> anyhow::Result<Vec<TcpStream>> {
                let mut sockets = Vec::with_capacity(2_500);
                let mut first = [0; 20];
                for _ in 0..2_500 {
                    let mut socket = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
                    socket.set_read_timeout(Some(Duration::from_secs(10)))?;
                    ensure!(socket.read(&mut first)? > 0, "closed at once");
                    sockets.push(socket);
                }
                Ok(sockets)
            })
        })
        .collect();
    let mut silent = Vec::with_capacity(10_000);
    for (at, thread) in connecting.into_iter().enumerate() {
        let sockets = thread
            .join()
            .map_err(|_| anyhow::anyhow!("a connecting thread panicked"))?
            .with_context(|| format!("connecting thread {at}"))?;
        silent.extend(sockets);
        alice.say(&format!("at {}", silent.len()))?;
        bob.wait_for(
            &format!("[alice] at {}", silent.len()),
            Duration::from_secs(10),
        )?;
    }
    alice.say("all connected")?;
    bob.wait_for("[alice] all connected", Duration::from_secs(10))?;
    // Past its limit, the thread-per-client server (which cannot have
    // 20,000 threads: see threads.rs) told the last ones the room is full.
    let mut last = BufReader::new(silent.pop().context("no connections")?);
    if model == "threads" {
        let mut told = String::new();
        last.read_line(&mut told)?;
        ensure!(
            told.contains("again later"),
            "the last was told `...{told}`"
        );
    }
    drop(silent);
    alice.say("after")?;
    bob.wait_for("[alice] after", Duration::from_secs(10))?;
    drop(last);
    Ok(())
}

#[test]
fn the_client_prints_the_room_while_lines_are_typed() -> anyhow::Result<()> {
    let (mut stage, addr) = room("poll")?;
    join(&mut stage, "bob", &addr)?;
    stage.start(
        "alice",
        format!("chat-client --addr {addr} --nick alice").as_str(),
    )?;
    stage.expect("alice", "* you are alice")?;
    stage.recv("bob", "* alice joined")?;
    stage.send("bob", "hi \\e[31malice\\n")?;
    stage.expect("alice", "[bob] hi \\x1b[31malice")?;
    stage.type_line("alice", "hello bob")?;
    stage.recv("bob", "[alice] hello bob")?;
    stage.type_line("alice", &"y".repeat(1100))?;
    stage.expect(
        "alice",
        "(not sent: the room takes lines of at most 1024 bytes)",
    )?;
    stage.close_stdin("alice")?;
    stage.expect("alice", "end of input: it counts as /quit")?;
    stage.expect("alice", "* bye")?;
    stage.expect("alice", "the server closed the connection")?;
    stage.exit("alice", 0)?;
    stage.recv("bob", "* alice left")
}

#[test]
fn no_server_is_a_clear_error() -> anyhow::Result<()> {
    let port = course::RefusingTcpPort::new()?;
    let mut stage = Stage::new(bins!["chat-client"]);
    stage.start(
        "client",
        format!("chat-client --addr {}", port.addr()?).as_str(),
    )?;
    stage.expect("client", "error: cannot connect to")?;
    stage.exit("client", 1)
}
