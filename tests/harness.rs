//! The harness checked against itself: every verb of the scenario format
//! passes when what it waits for happens, and fails, saying what it saw,
//! when it does not. A verb that cannot fail would let every test that
//! relies on it pass whatever the lessons do.
//!
//! The actors are the lesson binaries (built beside this test's `course`
//! binary by `cargo build --workspace --bins`) and `/bin/sh`.

use std::path::Path;

use anyhow::{Context, ensure};
use course::{Bins, Scenario, Stage};

fn bins() -> anyhow::Result<Bins> {
    let course = Path::new(env!("CARGO_BIN_EXE_course"));
    let folder = course.parent().context("no target folder")?;
    Ok(Bins::in_folder(folder).with("sh", "/bin/sh"))
}

/// Plays scenario text.
fn play(text: &str) -> anyhow::Result<()> {
    let scenario = Scenario::parse(Path::new("harness.scenario"), text)?;
    let mut stage = Stage::try_new(bins()?)?;
    scenario.play(&mut stage)
}

/// Plays scenario text that must pass.
fn passes(text: &str) -> anyhow::Result<()> {
    play(text).with_context(|| format!("this scenario should pass:\n{text}"))
}

/// Plays scenario text that must fail with a message containing `why`.
fn fails(text: &str, why: &str) -> anyhow::Result<()> {
    let Err(err) = play(text) else {
        anyhow::bail!("this scenario should fail ({why}), but it passed:\n{text}");
    };
    let message = format!("{err:#}");
    ensure!(
        message.contains(why),
        "this scenario failed, but not with `{why}`:\n{text}\n{message}"
    );
    ensure!(
        message.contains("transcript so far:"),
        "a failure must show the transcript: {message}"
    );
    Ok(())
}

const HELLO: &str = "server: serve tcp-hello-server\n";

#[test]
fn serve_waits_for_the_ready_line_or_says_why_not() -> anyhow::Result<()> {
    passes(&format!("{HELLO}server: interrupt\nserver: exit 0\n"))?;
    fails(
        "server: serve sh -c 'echo starting'\n",
        "ended before printing its ready line",
    )?;
    fails(
        "deadline 0.3\nserver: serve sh -c 'echo starting; exec sleep 5' --addr x\n",
        "printed no ready line within",
    )
}

#[test]
fn start_refuses_an_unknown_binary_and_a_second_actor_of_one_name() -> anyhow::Result<()> {
    fails("client: start no-such-binary\n", "does not exist")?;
    fails(
        &format!("{HELLO}server: start tcp-hello-client\n"),
        "already an actor called server",
    )
}

#[test]
fn expect_passes_on_the_line_and_fails_without_it() -> anyhow::Result<()> {
    passes("shell: start sh -c 'echo one; echo two'\nshell: expect two\nshell: exit 0\n")?;
    fails(
        "shell: start sh -c 'echo one'\nshell: expect two\n",
        "ended without printing a line containing `two`",
    )?;
    fails(
        "deadline 0.3\nshell: start sh -c 'echo one; exec sleep 5'\nshell: expect two\n",
        "printed no line containing `two` within",
    )?;
    // expect consumes: a line matched once is not matched again.
    fails(
        "shell: start sh -c 'echo one'\nshell: expect one\nshell: expect one\n",
        "ended without printing a line containing `one`",
    )
}

#[test]
fn seen_finds_a_consumed_line_and_consumes_nothing() -> anyhow::Result<()> {
    passes(
        "shell: start sh -c 'echo one; echo two'\nshell: expect two\nshell: seen one\n\
         shell: exit 0\n",
    )?;
    passes(
        "shell: start sh -c 'echo one; echo two'\nshell: seen two\nshell: expect one\nshell: expect two\n",
    )?;
    fails(
        "shell: start sh -c 'echo one'\nshell: seen two\n",
        "ended without printing a line containing `two`",
    )
}

#[test]
fn absent_fails_when_the_text_was_printed() -> anyhow::Result<()> {
    passes("shell: start sh -c 'echo one'\nshell: exit 0\nshell: absent two\n")?;
    fails(
        "shell: start sh -c 'echo one two'\nshell: exit 0\nshell: absent two\n",
        "printed `one two`, which should not contain `two`",
    )?;
    // Lines on stderr count, and lines already consumed too.
    fails(
        "shell: start sh -c 'echo oops >&2'\nshell: expect oops\nshell: exit 0\nshell: absent oops\n",
        "should not contain `oops`",
    )
}

#[test]
fn exit_checks_the_status() -> anyhow::Result<()> {
    passes("shell: start sh -c 'exit 3'\nshell: exit 3\n")?;
    fails(
        "shell: start sh -c 'exit 3'\nshell: exit 0\n",
        "exited with status 3, expected 0",
    )?;
    fails(
        "deadline 0.3\nshell: start sh -c 'exec sleep 5'\nshell: exit 0\n",
        "did not exit within",
    )
}

#[test]
fn type_and_eof_reach_the_process() -> anyhow::Result<()> {
    passes(
        "shell: start sh -c 'read line; echo got $line'\nshell: type hello\nshell: expect got hello\n",
    )?;
    passes("shell: start sh -c 'cat; echo done'\nshell: eof\nshell: expect done\n")?;
    fails(
        "shell: start sh -c 'cat'\nshell: eof\nshell: type late\n",
        "stdin is already closed",
    )
}

#[test]
fn interrupt_sends_ctrl_c() -> anyhow::Result<()> {
    passes(&format!(
        "{HELLO}server: interrupt\nserver: expect stopped (Ctrl-C)\nserver: exit 0\n"
    ))?;
    fails(
        "shell: start sh -c 'exit 0'\nshell: exit 0\nshell: interrupt\n",
        "already exited",
    )
}

#[test]
fn tcp_peers_connect_send_receive_and_see_the_close() -> anyhow::Result<()> {
    passes(&format!(
        "{HELLO}peer: connect {{server}}\npeer: send hello!\npeer: recv hi\npeer: closed\n\
         server: expect received 6 bytes: hello!\n"
    ))?;
    fails(
        &format!(
            "{HELLO}deadline 0.5\npeer: connect {{server}}\npeer: send hello!\npeer: recv nope\n"
        ),
        "the connection was closed by the other side",
    )?;
    fails(
        &format!("{HELLO}deadline 0.3\npeer: connect {{server}}\npeer: recv hi\n"),
        "received no `hi` within",
    )?;
    fails(
        &format!("{HELLO}deadline 0.3\npeer: connect {{server}}\npeer: closed\n"),
        "was not closed within",
    )
}

#[test]
fn connect_fails_where_nothing_listens() -> anyhow::Result<()> {
    let refusing = course::RefusingTcpPort::new()?;
    fails(
        &format!("peer: connect {}\n", refusing.addr()?),
        "cannot connect",
    )
}

#[test]
fn shutdown_and_reset_are_seen_as_fin_and_rst() -> anyhow::Result<()> {
    passes(
        "server: serve tcp-loop-server\na: connect {server}\nserver: expect connected\n\
         a: shutdown\nserver: expect left: it closed the connection\n\
         b: connect {server}\nserver: expect connected\nb: reset\n\
         server: expect the connection was reset\n",
    )?;
    fails(
        &format!("{HELLO}peer: connect {{server}}\npeer: reset\npeer: send more\n"),
        "cannot send",
    )
}

#[test]
fn udp_peers_send_and_receive_datagrams_empty_ones_too() -> anyhow::Result<()> {
    passes(
        "server: serve udp-echo-server\npeer: udp {server}\npeer: send ping\npeer: recv ping\n\
         peer: send \npeer: recv-empty\n",
    )?;
    fails(
        "deadline 0.3\nserver: serve udp-echo-server\npeer: udp {server}\npeer: send ping\n\
         peer: recv-empty\n",
        "received no an empty datagram within",
    )?;
    fails(
        &format!("{HELLO}peer: connect {{server}}\npeer: recv-empty\n"),
        "not a UDP peer",
    )
}

#[test]
fn the_transcript_is_in_the_order_things_happened() -> anyhow::Result<()> {
    // The client says what it sends before it sends it; the server can only
    // print what it received after that. Played many times, the transcript
    // must never show it the other way round.
    for _ in 0..20 {
        let mut stage = Stage::try_new(bins()?)?;
        let server = stage.serve("server", "tcp-hello-server")?;
        stage.start("client", &format!("tcp-hello-client --addr {server}"))?;
        stage.exit("client", 0)?;
        stage.exit("server", 0)?;
        let log = stage.log().to_vec();
        let at = |text: &str| log.iter().position(|line| line.contains(text));
        let (sending, received) = (
            at("[client] sending: hello!"),
            at("[server] received 6 bytes"),
        );
        ensure!(
            sending.is_some() && received.is_some() && sending < received,
            "the server's receipt came before the client's send:\n{}",
            log.join("\n")
        );
    }
    Ok(())
}
