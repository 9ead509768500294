//! Lesson 1 end to end: the server and the client as a learner runs them,
//! and the peers they must also work with.

use assert_cmd::Command;
use course::{Stage, bins};
use predicates::str::contains;

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
    stage.expect("server", r"received 14 bytes: \x1b[2Jhi there")?;
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
