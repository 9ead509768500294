//! Lesson 9 end to end: an unframed stream glues and splits messages (from
//! the lesson's client and from a Python client written as the Python course
//! writes them); lines and a length prefix carry 10,000 random messages both
//! ways at once, intact and in order; every way a peer can break the framing
//! gets its message, and the server goes on with the next client.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, ensure};
use course::{Stage, bins};

fn stage() -> Stage {
    Stage::new(bins!["framing-server", "framing-client"])
}

#[test]
fn the_demo_plays() -> anyhow::Result<()> {
    course::play_demo(
        env!("CARGO_MANIFEST_DIR"),
        bins!["framing-server", "framing-client"],
    )
}

/// The numbers of the unframed server's reads (`read N: B bytes: TEXT`),
/// each with its text.
fn reads(stage: &mut Stage, count: usize) -> anyhow::Result<Vec<String>> {
    let mut texts = Vec::new();
    for _ in 0..count {
        stage.type_line("server", "")?;
        let line = stage.expect("server", "read ")?;
        let text = line
            .split_once(" bytes: ")
            .map(|(_, text)| text.to_owned())
            .with_context(|| format!("a read line without its text: {line}"))?;
        texts.push(text);
    }
    Ok(texts)
}

#[test]
fn unframed_five_writes_glue_and_one_long_write_splits() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "framing-server --framing none")?;
    stage.start(
        "client",
        &format!("framing-client --framing none --addr {server}"),
    )?;
    stage.expect("server", "connection from")?;
    for word in ["alpha", "beta", "gamma", "delta", "epsilon"] {
        stage.type_line("client", word)?;
        stage.expect("client", "the server's kernel acknowledged them")?;
    }
    // What must hold, whatever the kernel did: some read carried more than
    // one message.
    let glued = reads(&mut stage, 1)?;
    ensure!(
        glued[0].contains("alphabeta"),
        "the first read should hold several messages glued: {glued:?}"
    );
    stage.type_line("client", "/long")?;
    stage.expect("client", "sent 3000 bytes in one write")?;
    let long = reads(&mut stage, 2)?;
    // The 3,000 bytes did not fit one read of 1024, and the first read ended
    // inside a character.
    ensure!(
        long[0].ends_with('\u{fffd}'),
        "a read of 1024 bytes of 3-byte characters ends inside one: {long:?}"
    );
    stage.close_stdin("client")?;
    stage.exit("client", 0)
}

/// `python3`, if this machine has one.
fn python() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("python3"))
        .find(|candidate| candidate.is_file())
}

fn script(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn a_python_client_one_send_per_message_sees_the_same_gluing() -> anyhow::Result<()> {
    let Some(python) = python() else {
        eprintln!("skipped: no python3 on PATH to run the Python course's kind of client");
        return Ok(());
    };
    let mut stage = stage();
    let server = stage.serve("server", "framing-server --framing none")?;
    let python = python.display().to_string();
    let port = server.port().to_string();
    let script = script("seed_style_client.py");
    let command: Vec<String> = [
        &python,
        &script,
        "127.0.0.1",
        &port,
        "你好",
        "hello",
        "world",
    ]
    .map(str::to_owned)
    .to_vec();
    stage.start("python", &command)?;
    stage.expect("python", "sent 3 messages, one send() each")?;
    let line = stage.expect("server", "connection from ")?;
    let client = line
        .split_whitespace()
        .nth(2)
        .and_then(|addr| addr.trim_end_matches(':').parse().ok())
        .with_context(|| format!("no client address in: {line}"))?;
    // Python's send() returns before the bytes reach the server: wait until
    // the server's kernel holds all 16 of them.
    let queued = common::tcp_state::wait_for_queues(server, client, Duration::from_secs(5), |q| {
        q.unread == 16
    })?
    .map(|q| q.unread);
    ensure!(
        queued == Some(16),
        "the server's kernel holds {queued:?} bytes of 16 after 5 s"
    );
    let glued = reads(&mut stage, 1)?;
    ensure!(
        glued[0] == "你好helloworld",
        "three send() calls should be one recv(): {glued:?}"
    );
    stage.close_stdin("python")?;
    stage.expect("python", "closed")?;
    stage.exit("python", 0)
}

#[test]
fn a_plain_python_client_speaks_the_line_framing() -> anyhow::Result<()> {
    let Some(python) = python() else {
        eprintln!("skipped: no python3 on PATH");
        return Ok(());
    };
    let mut stage = stage();
    let server = stage.serve("server", "framing-server --framing lines")?;
    let python = python.display().to_string();
    let port = server.port().to_string();
    let script = script("lines_client.py");
    let command: Vec<String> = [&python, &script, "127.0.0.1", &port, "one", "", "三"]
        .map(str::to_owned)
        .to_vec();
    stage.start("python", &command)?;
    // One sendall() of all three: the server still finds each line.
    stage.expect("server", "line 1: 3 bytes: one")?;
    stage.expect("server", "line 2: 0 bytes: (an empty line)")?;
    stage.expect("server", "line 3: 3 bytes: 三")?;
    stage.expect("python", "echo: one")?;
    stage.expect("python", "echo: ")?;
    stage.expect("python", "echo: 三")?;
    stage.expect("python", "the server closed the connection")?;
    stage.exit("python", 0)
}

/// 10,000 messages of seeded random sizes (0 to 64 KiB) and bytes, sent
/// while the echoes come back, over one connection.
fn round_trip(framing: &str) -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", &format!("framing-server --framing {framing}"))?;
    stage.set_deadline(Duration::from_secs(60));
    stage.start(
        "client",
        &format!("framing-client --framing {framing} --random 10000 --addr {server}"),
    )?;
    let line = stage.expect("client", "10000 messages, ")?;
    ensure!(
        line.contains("every echo intact and in order"),
        "the round trip failed: {line}"
    );
    eprintln!("{framing}: {line}");
    stage.exit("client", 0)?;
    let unit = if framing == "lines" {
        "lines"
    } else {
        "frames"
    };
    stage.expect(
        "server",
        &format!("closed the connection after 10000 {unit}"),
    )?;
    Ok(())
}

#[test]
fn ten_thousand_lines_round_trip_both_ways_at_once() -> anyhow::Result<()> {
    round_trip("lines")
}

#[test]
fn ten_thousand_frames_round_trip_both_ways_at_once() -> anyhow::Result<()> {
    round_trip("length")
}

/// The server's peak memory so far, in KiB (VmHWM in /proc/PID/status).
fn peak_memory_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/PID/status")
}

/// The server still echoes a frame from a new client.
fn still_serves_frames(stage: &mut Stage, server: std::net::SocketAddr) -> anyhow::Result<()> {
    stage.connect("next", &server.to_string())?;
    stage.send_bytes("next", b"\0\0\0\x04next")?;
    stage.recv("next", "next")?;
    stage.shutdown("next")?;
    stage.closed("next")
}

/// The server still echoes a line from a new client.
fn still_serves_lines(stage: &mut Stage, server: std::net::SocketAddr) -> anyhow::Result<()> {
    stage.connect("next", &server.to_string())?;
    stage.send("next", "next\n")?;
    stage.recv("next", "next\n")?;
    stage.shutdown("next")?;
    stage.closed("next")
}

#[test]
fn a_prefix_of_four_gibibytes_is_refused_before_any_allocation() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "framing-server --framing length")?;
    stage.connect("greedy", &server.to_string())?;
    stage.send_bytes("greedy", &[0xFF, 0xFF, 0xFF, 0xFF])?;
    stage.expect(
        "server",
        "frame too long: the prefix announces 4294967295 bytes, the limit is 65536; dropping it",
    )?;
    stage.recv("greedy", "error: frame too long")?;
    stage.closed("greedy")?;
    let pid = stage.pid("server")?;
    let peak = peak_memory_kib(pid)?;
    ensure!(
        peak < 64 * 1024,
        "the server's peak memory is {peak} KiB: it allocated for the prefix"
    );
    still_serves_frames(&mut stage, server)
}

#[test]
fn frames_cut_empty_and_not_utf8_each_get_their_message() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "framing-server --framing length")?;

    // An empty frame is a message of no bytes, echoed as one.
    stage.connect("empty", &server.to_string())?;
    stage.send_bytes("empty", &[0, 0, 0, 0])?;
    stage.expect("server", "frame 1: 0 bytes: (an empty frame)")?;
    // Bytes that are not UTF-8, and an escape sequence: shown safely, echoed
    // as they came.
    stage.send_bytes("empty", b"\0\0\0\x06\xff\xfe\x1b[2J")?;
    stage.expect(
        "server",
        "frame 2: 6 bytes (not valid UTF-8): \u{fffd}\u{fffd}\\x1b[2J",
    )?;
    stage.recv("empty", "\0\0\0\0\0\0\0\x06")?;
    stage.recv("empty", "\x1b[2J")?;
    stage.shutdown("empty")?;
    stage.expect("server", "closed the connection after 2 frames")?;
    stage.closed("empty")?;

    // A payload cut by the end of the stream: 3 of 10 bytes came.
    stage.connect("cut", &server.to_string())?;
    stage.send_bytes("cut", b"\0\0\0\x0aabc")?;
    stage.shutdown("cut")?;
    stage.expect(
        "server",
        "frame cut: the stream ended 7 bytes short (3 of the 10-byte payload came); dropping it",
    )?;
    stage.closed("cut")?;

    // A prefix cut by the end of the stream: 2 of its 4 bytes came.
    stage.connect("short", &server.to_string())?;
    stage.send_bytes("short", b"\0\0")?;
    stage.shutdown("short")?;
    stage.expect(
        "server",
        "frame cut: the stream ended 2 bytes short (2 of the 4-byte length prefix came)",
    )?;
    stage.closed("short")?;
    still_serves_frames(&mut stage, server)
}

#[test]
fn lines_too_long_cut_and_empty_each_get_their_message() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "framing-server --framing lines --max 16")?;

    stage.connect("empty", &server.to_string())?;
    stage.send("empty", "\n")?;
    stage.expect("server", "line 1: 0 bytes: (an empty line)")?;
    stage.recv("empty", "\n")?;
    stage.shutdown("empty")?;
    stage.closed("empty")?;

    // 17 bytes and still no newline: refused once the 17th came, and the
    // peer is told in a line of its own.
    stage.connect("long", &server.to_string())?;
    stage.send("long", &"x".repeat(5000))?;
    stage.expect(
        "server",
        "line too long: no newline in the first 16 bytes; dropping it",
    )?;
    stage.recv(
        "long",
        "error: line too long: no newline in the first 16 bytes\n",
    )?;
    stage.closed("long")?;

    stage.connect("cut", &server.to_string())?;
    stage.send("cut", "no end")?;
    stage.shutdown("cut")?;
    stage.expect(
        "server",
        "line cut: the stream ended after 6 bytes, before a newline; dropping it",
    )?;
    stage.closed("cut")?;

    // A peer that resets in the middle of a line.
    stage.connect("reset", &server.to_string())?;
    stage.send("reset", "half a li")?;
    stage.reset("reset")?;
    stage.expect("server", "reset")?;
    still_serves_lines(&mut stage, server)
}

#[test]
fn the_client_refuses_random_messages_without_framing() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "framing-server --framing lines")?;
    stage.start(
        "client",
        &format!("framing-client --framing none --random 10 --addr {server}"),
    )?;
    stage.expect("client", "error: --random needs --framing lines or length")?;
    stage.exit("client", 1)
}
