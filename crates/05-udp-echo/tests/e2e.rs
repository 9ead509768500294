//! Lesson 5 end to end: the echo server and its client as a learner runs
//! them, the Python-style peers they must work with, and what UDP does with
//! empty, oversized and unanswered datagrams.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use course::{Stage, bins};
use predicates::prelude::*;
use predicates::str::contains;

fn stage() -> Stage {
    Stage::new(bins!["udp-echo-server", "udp-echo-client"])
}

#[test]
fn the_demo_plays() -> anyhow::Result<()> {
    course::play_demo(
        env!("CARGO_MANIFEST_DIR"),
        bins!["udp-echo-server", "udp-echo-client"],
    )
}

#[test]
fn two_clients_at_once_each_get_their_own_echo() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "udp-echo-server")?;
    let client = format!("udp-echo-client --addr {server}");
    stage.start("alice", &client)?;
    stage.start("bob", &client)?;
    stage.type_line("alice", "from alice")?;
    stage.type_line("bob", "from bob")?;
    stage.type_line("alice", "alice again")?;
    stage.expect("alice", &format!("reply from {server}: from alice"))?;
    stage.expect("alice", &format!("reply from {server}: alice again"))?;
    stage.expect("bob", &format!("reply from {server}: from bob"))?;
    stage.close_stdin("alice")?;
    stage.close_stdin("bob")?;
    stage.exit("alice", 0)?;
    stage.exit("bob", 0)?;
    stage.absent("alice", "from bob")?;
    stage.absent("bob", "alice")
}

#[test]
fn the_server_tells_senders_apart_by_address() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "udp-echo-server")?;
    let first = python_style_socket()?;
    let second = python_style_socket()?;
    first.send_to(b"one", server)?;
    second.send_to(b"two", server)?;
    assert_eq!(receive(&first)?, (b"one".to_vec(), server));
    assert_eq!(receive(&second)?, (b"two".to_vec(), server));
    stage.expect("server", &format!("[{}] one", first.local_addr()?))?;
    stage.expect("server", &format!("[{}] two", second.local_addr()?))?;
    Ok(())
}

#[test]
fn a_datagram_larger_than_the_buffer_is_reported_as_cut() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "udp-echo-server")?;
    let peer = python_style_socket()?;
    peer.send_to(&[b'x'; 2000], server)?;
    stage.expect(
        "server",
        "cut: the datagram had 2000 bytes, the buffer holds 1024: 976 bytes lost",
    )?;
    // The echo is what the server kept: the first 1024 bytes.
    let (echo, _) = receive(&peer)?;
    assert_eq!(echo.len(), 1024);
    // The rest is gone for good: the next datagram is the next one sent.
    peer.send_to(b"next", server)?;
    assert_eq!(receive(&peer)?.0, b"next");
    Ok(())
}

#[test]
fn the_client_says_when_a_reply_was_cut() -> anyhow::Result<()> {
    let mut stage = stage();
    let long_reply = "y".repeat(1500);
    let server = stage.serve(
        "server",
        &[
            "udp-echo-server".to_owned(),
            "--reply".to_owned(),
            long_reply,
        ],
    )?;
    stage.start("client", &format!("udp-echo-client --addr {server}"))?;
    stage.type_line("client", "hello")?;
    stage.expect(
        "client",
        "(the reply was cut: the datagram had 1500 bytes, the buffer holds 1024: 476 bytes lost)",
    )?;
    stage.close_stdin("client")?;
    stage.exit("client", 0)
}

#[test]
fn an_empty_datagram_is_echoed_not_taken_for_the_end() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "udp-echo-server")?;
    let peer = python_style_socket()?;
    peer.send_to(b"", server)?;
    assert_eq!(receive(&peer)?, (Vec::new(), server));
    stage.expect(
        "server",
        &format!("[{}] (an empty datagram)", peer.local_addr()?),
    )?;
    // The server goes on: the same peer is answered again.
    peer.send_to(b"still there", server)?;
    assert_eq!(receive(&peer)?.0, b"still there");

    // From the client: an empty line is an empty datagram.
    stage.start("client", &format!("udp-echo-client --addr {server}"))?;
    stage.type_line("client", "")?;
    stage.expect(
        "client",
        &format!("reply from {server}: (an empty datagram)"),
    )?;
    stage.type_line("client", "bye")?;
    stage.exit("client", 0)
}

#[test]
fn a_line_over_65507_bytes_is_refused_clearly() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "udp-echo-server")?;
    stage.start("client", &format!("udp-echo-client --addr {server}"))?;
    // The largest payload IPv4 allows goes through (the server keeps 1024 bytes).
    stage.type_line("client", &"z".repeat(65_507))?;
    stage.expect(
        "server",
        "cut: the datagram had 65507 bytes, the buffer holds 1024: 64483 bytes lost",
    )?;
    stage.expect("client", &format!("reply from {server}: zzz"))?;
    // One byte more and the kernel refuses to send it.
    stage.type_line("client", &"z".repeat(65_508))?;
    stage.expect(
        "client",
        &format!("error: cannot send 65508 bytes to {server}: Message too long"),
    )?;
    stage.expect(
        "client",
        "hint: a UDP datagram carries at most 65507 bytes over IPv4",
    )?;
    stage.exit("client", 1)
}

#[test]
fn without_a_server_the_client_says_the_port_is_closed() -> anyhow::Result<()> {
    let unreachable = course::UnreachableUdpPort::new()?;
    let addr = unreachable.addr()?;
    let started = Instant::now();
    Command::cargo_bin("udp-echo-client")?
        .args(["--addr", &addr.to_string(), "--timeout", "2"])
        .write_stdin("hello\n")
        .timeout(Duration::from_secs(10))
        .assert()
        .failure()
        .code(1)
        .stderr(contains(format!("error: nothing listens on {addr}")))
        .stderr(contains("port unreachable"))
        .stderr(contains("Connection refused"))
        .stderr(contains("hint: is the server running?"))
        .stderr(contains("make server L=5"));
    // The "port unreachable" comes straight back: well within the first
    // 2 s timeout, let alone three tries of it.
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "the client took {took:?}");
    Ok(())
}

#[test]
fn unconnected_the_client_hears_only_silence_and_gives_up() -> anyhow::Result<()> {
    let unreachable = course::UnreachableUdpPort::new()?;
    let addr = unreachable.addr()?;
    Command::cargo_bin("udp-echo-client")?
        .args(["--addr", &addr.to_string(), "--unconnected"])
        .args(["--timeout", "0.2", "--tries", "2"])
        .write_stdin("hello\n")
        .timeout(Duration::from_secs(10))
        .assert()
        .code(1)
        .stdout(contains(
            "no answer within 0.2 s: sending again (try 2 of 2)",
        ))
        .stderr(contains(format!(
            "error: no answer from {addr} after 2 tries, 0.2 s each"
        )))
        .stderr(contains("UDP does not retransmit"));
    Ok(())
}

#[test]
fn a_server_that_never_answers_gets_each_try() -> anyhow::Result<()> {
    // A socket that receives and never answers: to the client, a server that
    // lost every datagram.
    let silent = python_style_socket()?;
    let addr = silent.local_addr()?;
    Command::cargo_bin("udp-echo-client")?
        .args([
            "--addr",
            &addr.to_string(),
            "--timeout",
            "0.1",
            "--tries",
            "3",
        ])
        .write_stdin("anyone?\n")
        .timeout(Duration::from_secs(10))
        .assert()
        .code(1)
        .stdout(contains("(try 3 of 3)"))
        .stdout(contains("try 4").not())
        .stderr(contains(format!(
            "error: no answer from {addr} after 3 tries"
        )));
    // The client has exited: every datagram it sent is queued here. Three,
    // and not one more.
    for _ in 0..3 {
        assert_eq!(receive(&silent)?.0, b"anyone?");
    }
    silent.set_nonblocking(true)?;
    let fourth = silent.recv_from(&mut [0; 16]);
    assert!(fourth.is_err(), "a fourth datagram arrived: {fourth:?}");
    Ok(())
}

#[test]
fn a_late_echo_of_the_previous_message_is_dropped_and_the_wait_goes_on() -> anyhow::Result<()> {
    // A raw peer plays a slow echo server: it answers the first message
    // only after the client has sent it again, so the answer to the first
    // try is still on its way when the client asks its next question.
    let server = python_style_socket()?;
    let addr = server.local_addr()?;
    let mut stage = stage();
    stage.start(
        "client",
        &format!("udp-echo-client --addr {addr} --timeout 0.3"),
    )?;
    stage.type_line("client", "one")?;
    let (message, client) = receive(&server)?;
    assert_eq!(message, b"one");
    assert_eq!(receive(&server)?.0, b"one", "the client's second try");
    server.send_to(b"one", client)?;
    stage.expect("client", &format!("reply from {addr}: one"))?;
    stage.type_line("client", "two")?;
    assert_eq!(receive(&server)?.0, b"two");
    // The answer to the first try arrives now, then the echo of `two`.
    server.send_to(b"one", client)?;
    server.send_to(b"two", client)?;
    stage.expect(
        "client",
        &format!(
            "(dropped a datagram from {addr} that does not answer this message: one; still waiting)"
        ),
    )?;
    let line = stage.expect("client", "reply from ")?;
    anyhow::ensure!(line == format!("reply from {addr}: two"), "{line}");
    stage.close_stdin("client")?;
    stage.exit("client", 0)
}

#[test]
fn a_server_that_answers_with_its_own_text_is_heard() -> anyhow::Result<()> {
    // The Python server answers `hi` to everything: an answer that is not
    // an echo is taken as the answer, even when it repeats an earlier
    // message (`hi`) of the client.
    let mut stage = stage();
    let server = stage.serve("server", "udp-echo-server --reply hi")?;
    stage.start("client", &format!("udp-echo-client --addr {server}"))?;
    stage.type_line("client", "hi")?;
    stage.expect("client", &format!("reply from {server}: hi"))?;
    stage.type_line("client", "hello")?;
    let line = stage.expect("client", "reply from ")?;
    anyhow::ensure!(line == format!("reply from {server}: hi"), "{line}");
    stage.close_stdin("client")?;
    stage.exit("client", 0)?;
    stage.absent("client", "dropped")
}

#[test]
fn a_python_style_peer_talks_to_the_rust_server() -> anyhow::Result<()> {
    // What udp_client.py does: sendto(b'hello'), recvfrom(1024).
    let mut stage = stage();
    let server = stage.serve("server", "udp-echo-server --reply hi")?;
    stage.udp("peer", &server.to_string())?;
    stage.send("peer", "hello")?;
    stage.recv("peer", "hi")?;
    stage.expect("server", "] hello")?;
    // And nc's way: a line with its newline, escape sequences defused, and
    // the newline trimmed: the whole line is checked, so a `\n` shown at its
    // end would fail.
    stage.send("peer", r"\e[2Jhi there\n")?;
    let line = stage.expect("server", r"] \x1b[2Jhi there")?;
    anyhow::ensure!(line.ends_with(r"] \x1b[2Jhi there"), "{line:?}");
    Ok(())
}

#[test]
fn the_rust_client_talks_to_a_python_style_server() -> anyhow::Result<()> {
    // What udp_server.py does: recvfrom(1024), print, sendto(b'hi', addr).
    let server = python_style_socket()?;
    let addr = server.local_addr()?;
    let mut stage = stage();
    stage.start("client", &format!("udp-echo-client --addr {addr}"))?;
    stage.type_line("client", "hello")?;
    let (message, client) = receive(&server)?;
    assert_eq!(message, b"hello", "the client sends the line, no newline");
    server.send_to(b"hi", client)?;
    stage.expect("client", &format!("reply from {addr}: hi"))?;
    stage.close_stdin("client")?;
    stage.exit("client", 0)
}

#[test]
fn the_quit_word_and_the_end_of_input_end_the_client() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "udp-echo-server")?;
    stage.start(
        "quitter",
        &format!("udp-echo-client --addr {server} --quit Q"),
    )?;
    stage.type_line("quitter", "q")?;
    stage.expect("quitter", "you said Q: leaving")?;
    stage.exit("quitter", 0)?;
    stage.start("ender", &format!("udp-echo-client --addr {server}"))?;
    stage.close_stdin("ender")?;
    stage.expect("ender", "end of input: leaving")?;
    stage.exit("ender", 0)?;
    // Neither said anything to the server: the quit word is not sent.
    stage.absent("server", "] q")
}

#[test]
fn ctrl_c_stops_the_server_cleanly() -> anyhow::Result<()> {
    let mut stage = stage();
    stage.serve("server", "udp-echo-server")?;
    stage.interrupt("server")?;
    stage.expect("server", "server stopped (Ctrl-C)")?;
    stage.exit("server", 0)
}

#[test]
fn a_port_in_use_is_explained() -> anyhow::Result<()> {
    let taken = python_style_socket()?;
    let addr = taken.local_addr()?.to_string();
    Command::cargo_bin("udp-echo-server")?
        .args(["--addr", &addr])
        .timeout(Duration::from_secs(10))
        .assert()
        .code(1)
        .stderr(contains(format!("error: cannot bind {addr}")))
        .stderr(contains("hint: another socket holds this address"));
    Ok(())
}

#[test]
fn bad_options_are_refused_clearly() -> anyhow::Result<()> {
    for bin in ["udp-echo-server", "udp-echo-client"] {
        Command::cargo_bin(bin)?
            .args(["--addr", "9000"])
            .assert()
            .code(2)
            .stderr(contains("expected HOST:PORT"));
    }
    Command::cargo_bin("udp-echo-client")?
        .args(["--timeout", "soon"])
        .assert()
        .code(2)
        .stderr(contains("not a number of seconds"));
    Command::cargo_bin("udp-echo-server")?
        .args(["--buffer", "0"])
        .assert()
        .code(2)
        .stderr(contains(
            "invalid value '0' for '--buffer <BYTES>': 0 is not in 1..=65536",
        ));
    Ok(())
}

#[test]
fn help_names_the_lesson() -> anyhow::Result<()> {
    for bin in ["udp-echo-server", "udp-echo-client"] {
        Command::cargo_bin(bin)?
            .arg("--help")
            .assert()
            .success()
            .stdout(contains("Lesson 5 (UDP echo)"))
            .stdout(contains("--addr <HOST:PORT>"));
    }
    Ok(())
}

/// A UDP socket as the Python course makes one, on loopback, with a
/// deadline on every receive so that no test can hang.
fn python_style_socket() -> anyhow::Result<UdpSocket> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.set_read_timeout(Some(Duration::from_secs(5)))?;
    Ok(socket)
}

/// `recvfrom(1024)`, as the Python scripts call it.
fn receive(socket: &UdpSocket) -> anyhow::Result<(Vec<u8>, SocketAddr)> {
    let mut buf = [0; 1024];
    let (n, from) = socket.recv_from(&mut buf)?;
    Ok((buf[..n].to_vec(), from))
}

#[test]
fn the_binaries_keep_the_course_contract() -> anyhow::Result<()> {
    course::keeps_the_contract(5, &bins!["udp-echo-server", "udp-echo-client"])
}
