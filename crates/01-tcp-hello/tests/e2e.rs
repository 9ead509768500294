//! Lesson 1 end to end: the server and the client as a learner runs them,
//! and the peers they must also work with.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use assert_cmd::Command;
use course::{Stage, bins};
use predicates::str::contains;
use socket2::{Domain, Socket, Type};

fn stage() -> Stage {
    Stage::new(bins!["tcp-hello-server", "tcp-hello-client"])
}

#[test]
fn the_demo_plays() -> anyhow::Result<()> {
    course::play_demo(
        env!("CARGO_MANIFEST_DIR"),
        bins!["tcp-hello-server", "tcp-hello-client"],
    )
}

#[test]
fn chinese_text_round_trips_intact() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "tcp-hello-server --reply 收到，谢谢")?;
    stage.start(
        "client",
        &format!("tcp-hello-client --addr {server} --message 你好，世界"),
    )?;
    // 你好，世界 is five characters of three bytes each in UTF-8.
    stage.expect("server", "received 15 bytes: 你好，世界")?;
    stage.expect("client", "received 15 bytes: 收到，谢谢")?;
    stage.exit("server", 0)?;
    stage.exit("client", 0)
}

#[test]
fn a_raw_peer_without_newline_is_served() -> anyhow::Result<()> {
    // What the Python client does: send the bytes, no line ending, then recv.
    let mut stage = stage();
    let server = stage.serve("server", "tcp-hello-server")?;
    stage.connect("peer", &server.to_string())?;
    stage.send("peer", "hello!")?;
    stage.recv("peer", "hi")?;
    stage.closed("peer")?;
    stage.expect("server", "received 6 bytes: hello!")?;
    stage.exit("server", 0)
}

#[test]
fn a_peer_that_sends_nothing_is_reported() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "tcp-hello-server")?;
    stage.connect("peer", &server.to_string())?;
    stage.shutdown("peer")?;
    stage.expect("server", "closed the connection without sending anything")?;
    stage.exit("server", 0)
}

#[test]
fn a_line_from_nc_is_shown_without_its_newline_and_escapes_are_defused() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "tcp-hello-server")?;
    stage.connect("peer", &server.to_string())?;
    stage.send("peer", r"\e[2Jhi there\r\n")?;
    // The whole line, exactly: a `\r\n` shown escaped at its end would fail.
    let line = stage.expect("server", "received 14 bytes: ")?;
    anyhow::ensure!(
        line == r"received 14 bytes: \x1b[2Jhi there",
        "the line shown: {line:?}"
    );
    stage.exit("server", 0)
}

#[test]
fn the_client_without_a_server_says_connection_refused() -> anyhow::Result<()> {
    let refusing = course::RefusingTcpPort::new()?;
    let addr = refusing.addr()?.to_string();
    Command::cargo_bin("tcp-hello-client")?
        .args(["--addr", &addr])
        .timeout(std::time::Duration::from_secs(10))
        .assert()
        .failure()
        .code(1)
        .stderr(contains(format!("error: cannot connect to {addr}")))
        .stderr(contains("Connection refused"))
        .stderr(contains("hint: is the server running?"))
        .stderr(contains("make server L=1"));
    Ok(())
}

#[test]
fn the_client_gives_up_on_a_full_backlog_within_its_timeout() -> anyhow::Result<()> {
    // A listener with backlog 0 that never accepts: Linux queues one
    // connection, and then drops every SYN without an answer.
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    listener.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    listener.listen(0)?;
    let addr = listener
        .local_addr()?
        .as_socket()
        .context("no IP address")?;
    let _queued = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    let started = Instant::now();
    Command::cargo_bin("tcp-hello-client")?
        .args(["--addr", &addr.to_string(), "--timeout", "1"])
        .timeout(Duration::from_secs(10))
        .assert()
        .code(1)
        .stderr(contains(format!("error: cannot connect to {addr}")))
        .stderr(contains("hint: no answer to the handshake within 1 s"));
    let took = started.elapsed();
    // Without a deadline on connect, the kernel retries the SYN for about
    // two minutes.
    anyhow::ensure!(
        took < Duration::from_secs(4),
        "the client took {took:?} to give up"
    );
    Ok(())
}

/// A child's stderr, read to its end on a thread, and its exit status: both
/// within `deadline`, or an error that says what was printed.
fn finish(mut child: Child, deadline: Duration) -> anyhow::Result<(Option<i32>, String)> {
    let mut stderr = child.stderr.take().context("no stderr pipe")?;
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = sender.send(text);
    });
    // stderr ends when the process does.
    let stderr = match receiver.recv_timeout(deadline) {
        Ok(text) => text,
        Err(_) => {
            let _ = child.kill();
            anyhow::bail!("the program was still running after {deadline:?}");
        }
    };
    let status = child.wait()?;
    Ok((status.code(), stderr))
}

#[test]
fn a_closed_stdout_ends_the_server_quietly() -> anyhow::Result<()> {
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_tcp-hello-server"))
        .args(["--addr", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Read the ready line, then close the pipe, as `server | head -1` does.
    let mut stdout = BufReader::new(server.stdout.take().context("no stdout pipe")?);
    let mut ready = String::new();
    stdout.read_line(&mut ready)?;
    drop(stdout);
    let addr = ready
        .trim()
        .strip_prefix("listening on ")
        .with_context(|| format!("not a ready line: {ready:?}"))?;
    // A client makes the server print its next line into the closed pipe.
    let mut client = TcpStream::connect(addr)?;
    client.write_all(b"hello!")?;
    let (code, stderr) = finish(server, Duration::from_secs(10))?;
    anyhow::ensure!(
        code == Some(0) && !stderr.contains("panicked"),
        "status {code:?}, stderr: {stderr}"
    );
    anyhow::ensure!(stderr.is_empty(), "nothing to say on stderr: {stderr}");
    Ok(())
}

#[test]
fn a_closed_stdout_ends_the_client_quietly() -> anyhow::Result<()> {
    let server = TcpListener::bind("127.0.0.1:0")?;
    let addr = server.local_addr()?;
    let mut client = std::process::Command::new(env!("CARGO_BIN_EXE_tcp-hello-client"))
        .args(["--addr", &addr.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let (mut conn, _) = server.accept()?;
    let mut stdout = BufReader::new(client.stdout.take().context("no stdout pipe")?);
    let mut first = String::new();
    stdout.read_line(&mut first)?;
    anyhow::ensure!(first.starts_with("connected to"), "first line: {first:?}");
    drop(stdout);
    // The client's next line goes into the closed pipe: `sending: hello!`
    // if it has not printed it yet, else the line about our answer.
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut buf = [0; 16];
    if conn.read(&mut buf)? > 0 {
        conn.write_all(b"hi")?;
    }
    drop(conn);
    let (code, stderr) = finish(client, Duration::from_secs(10))?;
    anyhow::ensure!(
        code == Some(0) && !stderr.contains("panicked") && stderr.is_empty(),
        "status {code:?}, stderr: {stderr}"
    );
    Ok(())
}

#[test]
fn a_full_stdout_is_one_error_line() -> anyhow::Result<()> {
    let server = TcpListener::bind("127.0.0.1:0")?;
    let addr = server.local_addr()?.to_string();
    for (bin, args) in [
        ("tcp-hello-server", ["--addr", "127.0.0.1:0"]),
        ("tcp-hello-client", ["--addr", addr.as_str()]),
    ] {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full")?;
        let child = std::process::Command::new(
            std::path::Path::new(env!("CARGO_BIN_EXE_tcp-hello-server")).with_file_name(bin),
        )
        .args(args)
        .stdin(Stdio::null())
        .stdout(full)
        .stderr(Stdio::piped())
        .spawn()?;
        let (code, stderr) = finish(child, Duration::from_secs(10))?;
        let lines: Vec<&str> = stderr.lines().collect();
        anyhow::ensure!(
            code == Some(1)
                && lines.len() == 1
                && lines[0].starts_with("error: cannot write to stdout: No space left on device"),
            "{bin}: status {code:?}, stderr: {stderr}"
        );
    }
    Ok(())
}

#[test]
fn a_bad_addr_is_refused_clearly() -> anyhow::Result<()> {
    for bin in ["tcp-hello-server", "tcp-hello-client"] {
        Command::cargo_bin(bin)?
            .args(["--addr", "8898"])
            .timeout(std::time::Duration::from_secs(10))
            .assert()
            .code(2)
            .stderr(contains("invalid value '8898' for '--addr <HOST:PORT>'"))
            .stderr(contains("expected HOST:PORT"));
    }
    Ok(())
}

#[test]
fn help_names_the_lesson() -> anyhow::Result<()> {
    for bin in ["tcp-hello-server", "tcp-hello-client"] {
        Command::cargo_bin(bin)?
            .arg("--help")
            .assert()
            .success()
            .stdout(contains("Lesson 1 (TCP hello)"))
            .stdout(contains("--addr <HOST:PORT>"));
    }
    Ok(())
}

#[test]
fn the_binaries_keep_the_course_contract() -> anyhow::Result<()> {
    course::keeps_the_contract(1, &bins!["tcp-hello-server", "tcp-hello-client"])
}
