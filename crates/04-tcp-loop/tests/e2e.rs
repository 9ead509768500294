//! Lesson 4 end to end: clients served one after another, whichever way
//! each one leaves, and messages larger than the buffer.

use course::{Stage, bins};

fn stage() -> Stage {
    Stage::new(bins!["tcp-loop-server"])
}

fn serve(stage: &mut Stage) -> anyhow::Result<String> {
    let addr = stage.serve("server", "tcp-loop-server")?;
    stage.expect("server", "waiting for a client")?;
    Ok(addr.to_string())
}

#[test]
fn the_demo_plays() -> anyhow::Result<()> {
    // The demo borrows lesson 3's client, built by `cargo build --workspace`.
    let bins = bins!["tcp-loop-server"].with_neighbour("tcp-loop-server", "tcp-chat-client")?;
    course::play_demo(env!("CARGO_MANIFEST_DIR"), bins)
}

#[test]
fn three_clients_are_served_in_a_row_whichever_way_they_leave() -> anyhow::Result<()> {
    let mut stage = stage();
    let addr = serve(&mut stage)?;

    // The first leaves with the quit word, as the Python client does.
    stage.connect("first", &addr)?;
    stage.send("first", "hi")?;
    stage.expect("server", "says: hi")?;
    stage.type_line("server", "hello first")?;
    stage.recv("first", "hello first")?;
    stage.send("first", "bye")?;
    stage.expect("server", "said bye: next client")?;

    // The second closes without a word: recv returns 0 bytes.
    stage.connect("second", &addr)?;
    stage.send("second", "hi again")?;
    stage.expect("server", "says: hi again")?;
    stage.type_line("server", "hello second")?;
    stage.recv("second", "hello second")?;
    stage.shutdown("second")?;
    stage.expect("server", "left: it closed the connection")?;

    // The third vanishes mid-chat: a reset (SO_LINGER 0).
    stage.connect("third", &addr)?;
    stage.send("third", "and me")?;
    stage.expect("server", "says: and me")?;
    stage.type_line("server", "hello third")?;
    stage.recv("third", "hello third")?;
    stage.reset("third")?;
    stage.expect("server", "left abruptly: the connection was reset")?;

    // And the server is still there for a fourth.
    stage.connect("fourth", &addr)?;
    stage.send("fourth", "still up?")?;
    stage.expect("server", "says: still up?")?;
    // The end of input stops the server, and the client hears `bye` first.
    stage.close_stdin("server")?;
    stage.expect("server", "end of input: said bye to 127.0.0.1:")?;
    stage.recv("fourth", "bye")?;
    stage.closed("fourth")?;
    stage.exit("server", 0)
}

#[test]
fn ctrl_d_while_waiting_for_a_client_stops_the_server_at_once() -> anyhow::Result<()> {
    let mut stage = stage();
    serve(&mut stage)?;
    stage.close_stdin("server")?;
    stage.expect("server", "end of input: the server stops")?;
    stage.exit("server", 0)
}

#[test]
fn the_quit_word_while_the_client_has_the_turn_ends_that_chat_at_once() -> anyhow::Result<()> {
    let mut stage = stage();
    let addr = serve(&mut stage)?;
    stage.connect("first", &addr)?;
    stage.send("first", "hi")?;
    stage.expect("server", "says: hi")?;
    stage.type_line("server", "hello")?;
    stage.recv("first", "hello")?;
    // The client has the turn and says nothing; the operator types `bye`.
    stage.type_line("server", "bye")?;
    stage.recv("first", "bye")?;
    stage.closed("first")?;
    stage.expect("server", "you said bye to 127.0.0.1:")?;
    stage.expect("server", "waiting for a client")?;
    // Ctrl-D while the next client has the turn: it hears `bye`, and the
    // server stops.
    stage.connect("second", &addr)?;
    stage.send("second", "me now")?;
    stage.expect("server", "says: me now")?;
    stage.type_line("server", "go on")?;
    stage.recv("second", "go on")?;
    stage.close_stdin("server")?;
    stage.recv("second", "bye")?;
    stage.expect("server", "end of input: said bye to 127.0.0.1:")?;
    stage.exit("server", 0)
}

#[test]
fn a_silent_client_is_dropped_after_the_idle_timeout() -> anyhow::Result<()> {
    let mut stage = stage();
    let addr = stage.serve("server", "tcp-loop-server --idle-timeout 0.3")?;
    let addr = addr.to_string();
    stage.expect("server", "waiting for a client")?;
    // Connected, and then nothing: no bytes, no FIN, no reset, as when the
    // client's machine or the path to it is gone.
    stage.connect("silent", &addr)?;
    stage.expect("server", "connected")?;
    stage.expect("server", "said nothing for 0.3 s: dropping it")?;
    stage.closed("silent")?;
    stage.expect("server", "waiting for a client")?;
    stage.connect("next", &addr)?;
    stage.send("next", "hello")?;
    stage.expect("server", "says: hello")?;
    Ok(())
}

#[test]
fn a_reset_while_the_operator_types_is_reported_either_way() -> anyhow::Result<()> {
    let mut stage = stage();
    let addr = serve(&mut stage)?;
    stage.connect("gone", &addr)?;
    stage.send("gone", "hello")?;
    stage.expect("server", "says: hello")?;
    // The client vanishes while the server waits for its operator. If the
    // RST has reached the server's kernel when the reply is written, the
    // write fails ("cannot send"); if not, the write succeeds and the next
    // read reports the reset. Both are "left abruptly", and both go on.
    stage.reset("gone")?;
    stage.type_line("server", "are you there?")?;
    let line = stage.expect("server", "left abruptly")?;
    anyhow::ensure!(
        line.contains("cannot send") || line.contains("the connection was reset"),
        "{line}"
    );
    stage.expect("server", "waiting for a client")?;
    stage.connect("next", &addr)?;
    stage.send("next", "next!")?;
    stage.expect("server", "says: next!")?;
    Ok(())
}

#[test]
fn a_3000_byte_chinese_message_does_not_take_the_server_down() -> anyhow::Result<()> {
    let mut stage = stage();
    let addr = serve(&mut stage)?;
    stage.connect("long", &addr)?;
    // 1000 characters of 3 bytes: 1024 bytes hold 341 of them and a third
    // of the next, which shows as U+FFFD.
    stage.send_bytes("long", "中".repeat(1000).as_bytes())?;
    let first = stage.expect("server", "says: 中中中")?;
    anyhow::ensure!(first.ends_with("中\u{fffd}"), "the first read: {first}");
    anyhow::ensure!(
        first.matches('中').count() == 341,
        "341 characters in: {first}"
    );
    // The rest is still in the stream: each turn of the chat reads more.
    stage.type_line("server", "that was long")?;
    stage.recv("long", "that was long")?;
    let second = stage.expect("server", "says: ")?;
    anyhow::ensure!(second.contains("\u{fffd}中"), "the second read: {second}");
    // The third turn reads the last 952 bytes: nothing is lost on the way.
    stage.type_line("server", "go on")?;
    stage.recv("long", "go on")?;
    let third = stage.expect("server", "says: ")?;
    anyhow::ensure!(third.ends_with('中'), "the third read: {third}");
    let characters = [&first, &second, &third]
        .iter()
        .map(|line| line.matches('中').count())
        .sum::<usize>();
    anyhow::ensure!(
        characters == 998,
        "998 whole characters and two cut ones, not {characters}"
    );
    // Every byte read and answered: the server waits in recv when the reset
    // comes, and reports it.
    stage.type_line("server", "ok")?;
    stage.recv("long", "ok")?;
    stage.reset("long")?;
    stage.expect("server", "left abruptly: the connection was reset")?;
    stage.expect("server", "waiting for a client")?;
    // Served all the same: the next client gets its turn.
    stage.connect("next", &addr)?;
    stage.send("next", "short")?;
    stage.expect("server", "says: short")?;
    Ok(())
}

#[test]
fn ctrl_c_stops_the_server_cleanly() -> anyhow::Result<()> {
    let mut stage = stage();
    serve(&mut stage)?;
    stage.interrupt("server")?;
    stage.expect("server", "server stopped (Ctrl-C)")?;
    stage.exit("server", 0)
}

#[test]
fn the_binaries_keep_the_course_contract() -> anyhow::Result<()> {
    course::keeps_the_contract(4, &bins!["tcp-loop-server"])
}
