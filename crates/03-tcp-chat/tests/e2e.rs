//! Lesson 3 end to end: a whole chat, quitting from either side, the end of
//! input on either side, and a second client that is never served.

use assert_cmd::Command;
use course::{Stage, bins};
use predicates::str::contains;

fn stage() -> Stage {
    Stage::new(bins!["tcp-chat-server", "tcp-chat-client"])
}

/// A server and one client, after the client's first message arrived.
fn chatting(quit: &str) -> anyhow::Result<Stage> {
    let mut stage = stage();
    let server = stage.serve("server", &format!("tcp-chat-server --quit {quit}"))?;
    stage.start(
        "client",
        &format!("tcp-chat-client --addr {server} --quit {quit}"),
    )?;
    stage.expect("client", "connected to")?;
    stage.type_line("client", "hello")?;
    stage.expect("server", "says: hello")?;
    Ok(stage)
}

#[test]
fn the_demo_plays() -> anyhow::Result<()> {
    course::play_demo(
        env!("CARGO_MANIFEST_DIR"),
        bins!["tcp-chat-server", "tcp-chat-client"],
    )
}

#[test]
fn the_client_quits_and_both_end() -> anyhow::Result<()> {
    let mut stage = chatting("bye")?;
    stage.type_line("server", "hi")?;
    stage.expect("client", "server says: hi")?;
    stage.type_line("client", "BYE")?;
    stage.expect("client", "you said bye: leaving")?;
    stage.expect("server", "said bye: the chat is over")?;
    stage.exit("client", 0)?;
    stage.exit("server", 0)
}

#[test]
fn the_server_quits_with_its_own_word() -> anyhow::Result<()> {
    let mut stage = chatting("q")?;
    stage.type_line("server", "q")?;
    stage.expect("server", "you said q: the chat is over")?;
    stage.expect("client", "the server said q: leaving")?;
    stage.exit("server", 0)?;
    stage.exit("client", 0)
}

#[test]
fn the_end_of_the_clients_input_says_the_quit_word() -> anyhow::Result<()> {
    let mut stage = chatting("bye")?;
    stage.type_line("server", "hi")?;
    stage.expect("client", "server says: hi")?;
    stage.close_stdin("client")?;
    stage.expect("client", "end of input: it counts as bye")?;
    stage.expect("client", "you said bye: leaving")?;
    // The server hears the word, as a Python server needs to.
    stage.expect("server", "says: bye")?;
    stage.expect("server", "said bye: the chat is over")?;
    stage.exit("client", 0)?;
    stage.exit("server", 0)
}

#[test]
fn the_end_of_the_servers_input_says_the_quit_word() -> anyhow::Result<()> {
    let mut stage = chatting("bye")?;
    stage.close_stdin("server")?;
    stage.expect("server", "end of input: it counts as bye")?;
    stage.expect("server", "you said bye: the chat is over")?;
    stage.expect("client", "server says: bye")?;
    stage.expect("client", "the server said bye: leaving")?;
    stage.exit("server", 0)?;
    stage.exit("client", 0)
}

#[test]
fn ctrl_d_while_the_server_waits_for_the_client_acts_at_once() -> anyhow::Result<()> {
    let mut stage = chatting("bye")?;
    stage.type_line("server", "your turn")?;
    stage.expect("client", "server says: your turn")?;
    // The client has the turn and types nothing; the server's operator
    // presses Ctrl-D. The server leaves now, saying the quit word.
    stage.close_stdin("server")?;
    stage.expect("server", "end of input: it counts as bye")?;
    stage.expect("server", "you said bye: the chat is over")?;
    stage.exit("server", 0)?;
    // The client learns it once it speaks: the answer waiting is `bye`.
    stage.type_line("client", "still there?")?;
    stage.expect("client", "the server said bye: leaving")?;
    stage.exit("client", 0)
}

#[test]
fn the_quit_word_while_the_server_waits_for_the_client_acts_at_once() -> anyhow::Result<()> {
    let mut stage = chatting("q")?;
    stage.type_line("server", "your turn")?;
    stage.expect("client", "server says: your turn")?;
    stage.type_line("server", "Q")?;
    stage.expect("server", "you said q: the chat is over")?;
    stage.exit("server", 0)?;
    stage.absent("server", "end of input")
}

#[test]
fn ctrl_d_while_the_client_waits_for_the_server_acts_at_once() -> anyhow::Result<()> {
    // chatting() leaves the server with the turn: the client waits.
    let mut stage = chatting("bye")?;
    stage.close_stdin("client")?;
    stage.expect("client", "end of input: it counts as bye")?;
    stage.expect("client", "you said bye: leaving")?;
    stage.exit("client", 0)?;
    // The server reads the word at its next turn.
    stage.type_line("server", "sorry, I was away")?;
    stage.expect("server", "said bye: the chat is over")?;
    stage.exit("server", 0)
}

#[test]
fn ctrl_d_before_any_client_stops_the_server() -> anyhow::Result<()> {
    let mut stage = stage();
    stage.serve("server", "tcp-chat-server")?;
    stage.close_stdin("server")?;
    stage.expect(
        "server",
        "you left before any client came: the server stops",
    )?;
    stage.exit("server", 0)
}

#[test]
fn piped_stdin_shows_no_prompt() -> anyhow::Result<()> {
    let mut stage = chatting("bye")?;
    stage.type_line("server", "hi")?;
    stage.expect("client", "server says: hi")?;
    stage.type_line("client", "bye")?;
    stage.exit("server", 0)?;
    stage.exit("client", 0)?;
    stage.absent("server", "server> ")?;
    stage.absent("client", "client> ")
}

#[test]
fn a_terminal_shows_the_prompt() -> anyhow::Result<()> {
    // The server on a pseudo-terminal, as in a learner's window, while the
    // test still types and reads.
    let mut stage = stage();
    let server = env!("CARGO_BIN_EXE_tcp-chat-server");
    let addr = stage.serve(
        "server",
        &course::on_a_terminal(server, "--addr 127.0.0.1:0")?,
    )?;
    stage.connect("peer", &addr.to_string())?;
    stage.send("peer", "hello")?;
    stage.expect("server", "says: hello")?;
    // The prompt has no newline: the line it starts ends with whatever
    // comes next (the terminal's echo of the typing, or the next message).
    stage.type_line("server", "hi")?;
    stage.recv("peer", "hi")?;
    stage.send("peer", "bye")?;
    stage.expect("server", "server> ")?;
    stage.exit("server", 0)
}

#[test]
fn an_empty_line_is_not_sent() -> anyhow::Result<()> {
    let mut stage = chatting("bye")?;
    stage.type_line("server", "")?;
    stage.expect(
        "server",
        "not sent: an empty message puts no bytes on the wire",
    )?;
    stage.type_line("server", "now something")?;
    stage.expect("client", "server says: now something")?;
    stage.type_line("client", "")?;
    stage.expect("client", "not sent")?;
    stage.type_line("client", "bye")?;
    stage.exit("server", 0)?;
    stage.exit("client", 0)
}

#[test]
fn a_second_client_is_not_served_while_the_first_chats() -> anyhow::Result<()> {
    let mut stage = chatting("bye")?;
    let server = stage.var("server").unwrap_or_default().to_owned();
    // A raw peer: its handshake completes, its bytes reach the server's
    // kernel, and still the server prints nothing of them.
    stage.connect("second", &server)?;
    stage.send("second", "me too?")?;
    stage.type_line("server", "one at a time")?;
    stage.expect("client", "server says: one at a time")?;
    stage.type_line("client", "and a third message")?;
    stage.expect("server", "says: and a third message")?;
    // When the server goes, the connection it never accepted is reset.
    stage.type_line("server", "bye")?;
    stage.exit("server", 0)?;
    // From its first line to its last, the server never printed it.
    stage.absent("server", "me too?")?;
    let Err(err) = stage.recv("second", "never arrives") else {
        anyhow::bail!("the second client got an answer");
    };
    anyhow::ensure!(
        format!("{err:#}").contains("Connection reset"),
        "expected a reset, got: {err:#}"
    );
    Ok(())
}

#[test]
fn the_client_without_a_server_says_connection_refused() -> anyhow::Result<()> {
    let refusing = course::RefusingTcpPort::new()?;
    let port = refusing.addr()?;
    Command::cargo_bin("tcp-chat-client")?
        .args(["--addr", &port.to_string()])
        .timeout(std::time::Duration::from_secs(10))
        .assert()
        .code(1)
        .stderr(contains("Connection refused"))
        .stderr(contains("hint: is the server running?"));
    Ok(())
}

#[test]
fn the_binaries_keep_the_course_contract() -> anyhow::Result<()> {
    course::keeps_the_contract(3, &bins!["tcp-chat-server", "tcp-chat-client"])
}
