//! Lesson 8 end to end: what the backlog bounds, counted.

use assert_cmd::Command;
use course::{Stage, bins};
use predicates::str::contains;

fn stage() -> Stage {
    Stage::new(bins!["backlog-server", "backlog-probe"])
}

#[test]
fn the_demo_plays() -> anyhow::Result<()> {
    course::play_demo(
        env!("CARGO_MANIFEST_DIR"),
        bins!["backlog-server", "backlog-probe"],
    )
}

/// Runs the probe against a fresh server and returns its summary line.
fn probe(backlog: u32, count: u32) -> anyhow::Result<String> {
    let mut stage = stage();
    let server = stage.serve("server", &format!("backlog-server --backlog {backlog}"))?;
    stage.start(
        "probe",
        &format!("backlog-probe --addr {server} --count {count} --timeout-ms 250"),
    )?;
    let summary = stage.expect("probe", "summary:")?;
    stage.exit("probe", 0)?;
    Ok(summary)
}

#[test]
fn backlog_2_lets_3_of_6_complete_and_the_rest_time_out() -> anyhow::Result<()> {
    let summary = probe(2, 6)?;
    anyhow::ensure!(
        summary == "summary: 3 of 6 completed the handshake, 3 timed out, 0 refused",
        "on Linux, backlog 2 should queue exactly 3: {summary}"
    );
    Ok(())
}

#[test]
fn backlog_0_still_queues_one() -> anyhow::Result<()> {
    let summary = probe(0, 3)?;
    anyhow::ensure!(
        summary.starts_with("summary: 1 of 3 completed"),
        "backlog 0 should queue one: {summary}"
    );
    Ok(())
}

#[test]
fn accepting_makes_room_for_one_more() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "backlog-server --backlog 1")?;
    stage.start(
        "first",
        &format!("backlog-probe --addr {server} --count 3 --timeout-ms 250"),
    )?;
    stage.expect("first", "summary: 2 of 3 completed")?;
    stage.exit("first", 0)?;
    // Enter: the server accepts one queued connection, which frees a place.
    stage.type_line("server", "")?;
    stage.expect("server", "accepted 127.0.0.1:")?;
    stage.start(
        "second",
        &format!("backlog-probe --addr {server} --count 2 --timeout-ms 250"),
    )?;
    stage.expect("second", "summary: 1 of 2 completed")?;
    stage.exit("second", 0)?;
    stage.close_stdin("server")?;
    stage.exit("server", 0)
}

#[test]
fn the_probe_without_a_server_reports_refusals() -> anyhow::Result<()> {
    let refusing = course::RefusingTcpPort::new()?;
    let addr = refusing.addr()?;
    Command::cargo_bin("backlog-probe")?
        .args(["--addr", &addr.to_string(), "--count", "2"])
        .timeout(std::time::Duration::from_secs(10))
        .assert()
        .success()
        .stdout(contains("connection 1: refused"))
        .stdout(contains(
            "summary: 0 of 2 completed the handshake, 0 timed out, 2 refused",
        ))
        .stdout(contains("start the server with `make server L=8`"));
    Ok(())
}

#[test]
fn the_probe_never_opens_more_than_64() -> anyhow::Result<()> {
    Command::cargo_bin("backlog-probe")?
        .args(["--count", "65"])
        .assert()
        .code(2)
        .stderr(contains("65 is not in 1..=64"));
    Ok(())
}

#[test]
fn the_binaries_keep_the_course_contract() -> anyhow::Result<()> {
    course::keeps_the_contract(8, &bins!["backlog-server", "backlog-probe"])
}
