//! Lesson 6 end to end: one chat server, two clients taking turns, replies
//! that reach only their sender, colour only on a terminal, and a client's
//! escape sequences defused.

use std::net::UdpSocket;
use std::time::Duration;

use assert_cmd::Command;
use course::{Stage, bins};
use predicates::str::contains;

fn stage() -> Stage {
    Stage::new(bins!["udp-chat-server", "udp-chat-client"])
}

/// The highlight the server puts around a message: bold on blue, as the
/// Python course meant with `\033[1;44m`.
const HIGHLIGHT: &str = "\x1b[1;44m";

#[test]
fn the_demo_plays() -> anyhow::Result<()> {
    course::play_demo(
        env!("CARGO_MANIFEST_DIR"),
        bins!["udp-chat-server", "udp-chat-client"],
    )
}

/// Starts a client and returns the address it sends from, as it says.
fn client(stage: &mut Stage, name: &str, server: &str) -> anyhow::Result<String> {
    stage.start(name, &format!("udp-chat-client --addr {server}"))?;
    let line = stage.expect(name, &format!("chatting with {server} from "))?;
    let (_, local) = line
        .rsplit_once(" from ")
        .ok_or_else(|| anyhow::anyhow!("no address in `{line}`"))?;
    Ok(local.to_owned())
}

#[test]
fn two_clients_interleaved_each_reply_reaches_only_its_sender() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "udp-chat-server")?.to_string();
    let alice = client(&mut stage, "alice", &server)?;
    let bob = client(&mut stage, "bob", &server)?;

    stage.type_line("alice", "one from alice")?;
    stage.expect("server", &format!("message from [{alice}]: one from alice"))?;
    // Bob's message waits in the server's queue while the operator types.
    stage.type_line("bob", "one from bob")?;
    stage.type_line("server", "for alice")?;
    stage.expect("alice", &format!("reply from {server}: for alice"))?;
    stage.expect("server", &format!("message from [{bob}]: one from bob"))?;
    stage.type_line("server", "for bob")?;
    stage.expect("bob", &format!("reply from {server}: for bob"))?;
    // And once more, the other way round.
    stage.type_line("bob", "two from bob")?;
    stage.expect("server", &format!("message from [{bob}]: two from bob"))?;
    stage.type_line("alice", "two from alice")?;
    stage.type_line("server", "again for bob")?;
    stage.expect("bob", "again for bob")?;
    stage.expect("server", &format!("message from [{alice}]: two from alice"))?;
    stage.type_line("server", "again for alice")?;
    stage.expect("alice", "again for alice")?;

    for name in ["alice", "bob"] {
        stage.close_stdin(name)?;
        stage.exit(name, 0)?;
    }
    stage.absent("alice", "for bob")?;
    stage.absent("bob", "for alice")
}

#[test]
fn piped_output_has_no_colour_and_escapes_from_a_client_are_shown_escaped() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "udp-chat-server")?;
    stage.udp("peer", &server.to_string())?;
    // A client tries to clear the operator's screen and recolour it.
    stage.send("peer", r"\e[2J\e[31mred alert\x07")?;
    stage.expect("server", r"]: \x1b[2J\x1b[31mred alert\x07")?;
    stage.type_line("server", "nice try")?;
    stage.recv("peer", "nice try")?;
    // Nothing raw got through, and a pipe gets no colour of ours either.
    stage.absent("server", "\x1b")?;
    stage.absent("server", HIGHLIGHT)
}

#[test]
fn the_quit_word_stops_the_server_and_tells_the_client() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage
        .serve("server", "udp-chat-server --quit q")?
        .to_string();
    client(&mut stage, "client", &server)?;
    stage.type_line("client", "anyone?")?;
    stage.expect("server", "]: anyone?")?;
    stage.type_line("server", "Q")?;
    stage.expect("server", "server stopped")?;
    stage.exit("server", 0)?;
    // The client's quit word is still `bye`: the server's `Q` is a reply.
    stage.expect("client", &format!("reply from {server}: Q"))?;
    stage.type_line("client", "bye")?;
    stage.expect("client", "you said bye: leaving")?;
    stage.exit("client", 0)
}

#[test]
fn the_end_of_input_stops_the_server_like_the_quit_word() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "udp-chat-server")?.to_string();
    client(&mut stage, "client", &server)?;
    stage.type_line("client", "hello?")?;
    stage.expect("server", "]: hello?")?;
    stage.close_stdin("server")?;
    stage.expect("server", "server stopped: bye said to")?;
    stage.exit("server", 0)?;
    stage.expect("client", "the server said bye: leaving")?;
    stage.exit("client", 0)
}

#[test]
fn the_end_of_input_while_no_message_waits_stops_the_server_at_once() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "udp-chat-server")?.to_string();
    stage.close_stdin("server")?;
    stage.expect(
        "server",
        "server stopped while no message waited: nothing sent to anyone",
    )?;
    stage.exit("server", 0)?;
    // A client that writes next is not answered `bye`: nothing listens.
    client(&mut stage, "client", &server)?;
    stage.type_line("client", "hello?")?;
    stage.expect("client", &format!("error: nothing listens on {server}"))?;
    stage.exit("client", 1)
}

#[test]
fn the_quit_word_while_no_message_waits_stops_the_server_at_once() -> anyhow::Result<()> {
    let mut stage = stage();
    stage.serve("server", "udp-chat-server --quit q")?;
    stage.type_line("server", "Q")?;
    stage.expect("server", "server stopped while no message waited")?;
    stage.exit("server", 0)
}

#[test]
fn empty_and_cut_datagrams_are_shown_as_such() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "udp-chat-server")?;
    stage.udp("peer", &server.to_string())?;
    stage.send("peer", "")?;
    let line = stage.expect("server", "message from [")?;
    anyhow::ensure!(line.ends_with("]: (an empty datagram)"), "{line}");
    stage.type_line("server", "got nothing")?;
    stage.recv("peer", "got nothing")?;
    stage.send_bytes("peer", &[b'x'; 1025])?;
    stage.expect(
        "server",
        "(the message was cut: the datagram had 1025 bytes, the buffer holds 1024: 1 byte lost)",
    )?;
    stage.type_line("server", "too long")?;
    stage.recv("peer", "too long")
}

#[test]
fn the_client_says_when_a_reply_was_cut() -> anyhow::Result<()> {
    let server = UdpSocket::bind("127.0.0.1:0")?;
    server.set_read_timeout(Some(Duration::from_secs(5)))?;
    let addr = server.local_addr()?;
    let mut stage = stage();
    client(&mut stage, "client", &addr.to_string())?;
    stage.type_line("client", "tell me everything")?;
    let mut buf = [0; 1024];
    let (_, from) = server.recv_from(&mut buf)?;
    server.send_to(&[b'y'; 1500], from)?;
    stage.expect(
        "client",
        "(the reply was cut: the datagram had 1500 bytes, the buffer holds 1024: 476 bytes lost)",
    )?;
    stage.close_stdin("client")?;
    stage.expect("client", "end of input: leaving")?;
    stage.exit("client", 0)
}

#[test]
fn a_python_style_client_gets_its_reply() -> anyhow::Result<()> {
    // What the Python chat client does: sendto(line), recvfrom(1024).
    let mut stage = stage();
    let server = stage.serve("server", "udp-chat-server")?;
    let peer = UdpSocket::bind("127.0.0.1:0")?;
    peer.set_read_timeout(Some(Duration::from_secs(5)))?;
    peer.send_to("你好".as_bytes(), server)?;
    stage.expect(
        "server",
        &format!("message from [{}]: 你好", peer.local_addr()?),
    )?;
    stage.type_line("server", "收到")?;
    let mut buf = [0; 1024];
    let (n, from) = peer.recv_from(&mut buf)?;
    assert_eq!((&buf[..n], from), ("收到".as_bytes(), server));
    Ok(())
}

#[test]
fn the_rust_client_talks_to_a_python_style_server() -> anyhow::Result<()> {
    let server = UdpSocket::bind("127.0.0.1:0")?;
    server.set_read_timeout(Some(Duration::from_secs(5)))?;
    let addr = server.local_addr()?;
    let mut stage = stage();
    client(&mut stage, "client", &addr.to_string())?;
    stage.type_line("client", "hello")?;
    let mut buf = [0; 1024];
    let (n, from) = server.recv_from(&mut buf)?;
    assert_eq!(&buf[..n], b"hello");
    server.send_to(b"hi", from)?;
    stage.expect("client", &format!("reply from {addr}: hi"))?;
    stage.close_stdin("client")?;
    stage.exit("client", 0)
}

#[test]
fn without_a_server_the_client_says_the_port_is_closed() -> anyhow::Result<()> {
    let unreachable = course::UnreachableUdpPort::new()?;
    let addr = unreachable.addr()?;
    Command::cargo_bin("udp-chat-client")?
        .args(["--addr", &addr.to_string()])
        .write_stdin("hello\n")
        .timeout(Duration::from_secs(10))
        .assert()
        .code(1)
        .stderr(contains(format!("error: nothing listens on {addr}")))
        .stderr(contains("make server L=6"));
    Ok(())
}

#[test]
fn help_names_the_lesson() -> anyhow::Result<()> {
    for bin in ["udp-chat-server", "udp-chat-client"] {
        Command::cargo_bin(bin)?
            .arg("--help")
            .assert()
            .success()
            .stdout(contains("Lesson 6 (QQ-style UDP chat)"))
            .stdout(contains("--quit <WORD>"));
    }
    Ok(())
}

/// Starts the server on a pseudo-terminal of its own, so its stdout is a
/// terminal, as in a learner's window, while the test still reads it.
/// Without one the colour rules would go unproven, so that fails.
fn serve_on_a_terminal(stage: &mut Stage, env: &[&str]) -> anyhow::Result<String> {
    let server = env!("CARGO_BIN_EXE_udp-chat-server");
    let mut words: Vec<String> = env.iter().map(|word| (*word).to_owned()).collect();
    words.extend(course::on_a_terminal(server, "--addr 127.0.0.1:0")?);
    Ok(stage.serve("server", &words)?.to_string())
}

#[test]
fn on_a_terminal_messages_are_bold_on_blue() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = serve_on_a_terminal(&mut stage, &[])?;
    stage.udp("peer", &server)?;
    stage.send("peer", r"hello \e[5mblink")?;
    // Our highlight is there, and the client's own escape is still escaped.
    stage.expect("server", &format!(r"{HIGHLIGHT}hello \x1b[5mblink"))?;
    stage.absent("server", "\x1b[5m")?;
    stage.type_line("server", "bye")?;
    stage.recv("peer", "bye")?;
    stage.exit("server", 0)
}

#[test]
fn on_a_terminal_no_color_turns_the_highlight_off() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = serve_on_a_terminal(&mut stage, &["NO_COLOR=1"])?;
    stage.udp("peer", &server)?;
    stage.send("peer", "hello")?;
    stage.expect("server", "]: hello")?;
    stage.absent("server", HIGHLIGHT)?;
    stage.type_line("server", "bye")?;
    stage.exit("server", 0)
}

#[test]
fn the_binaries_keep_the_course_contract() -> anyhow::Result<()> {
    course::keeps_the_contract(6, &bins!["udp-chat-server", "udp-chat-client"])
}
