//! Lesson 2 end to end: the three cases of a restart on a port whose last
//! connection waits in TIME_WAIT. Each test takes its port from a first run
//! on port 0, so the tests run in parallel without clashing.

use course::{Stage, bins};

fn stage() -> Stage {
    Stage::new(bins!["reuse-addr-server"])
}

#[test]
fn the_demo_plays() -> anyhow::Result<()> {
    // The demo borrows lesson 1's client, which Cargo builds for lesson 1's
    // tests only; the server's own peer stands in for it in the tests below.
    let bins =
        bins!["reuse-addr-server"].with_neighbour("reuse-addr-server", "tcp-hello-client")?;
    course::play_demo(env!("CARGO_MANIFEST_DIR"), bins)
}

/// Runs the server once on port 0, serves one client so that the server
/// closes first, and returns the port, now held by a connection in TIME_WAIT.
fn first_run(stage: &mut Stage, option: &str) -> anyhow::Result<String> {
    let addr = stage
        .serve("first", &format!("reuse-addr-server {option}"))?
        .to_string();
    // A client like lesson 1's: send, read the answer, wait for the
    // server's FIN, and only then close.
    stage.connect("client", &addr)?;
    stage.send("client", "hello!")?;
    stage.recv("client", "hi")?;
    stage.closed("client")?;
    stage.expect("first", "closed the connection first")?;
    stage.exit("first", 0)?;
    Ok(addr)
}

fn restart(stage: &mut Stage, addr: &str, option: &str) -> anyhow::Result<()> {
    stage.start(
        "restart",
        &format!("reuse-addr-server --addr {addr} {option}"),
    )
}

#[test]
fn without_the_option_the_restart_fails_with_a_hint() -> anyhow::Result<()> {
    let mut stage = stage();
    let addr = first_run(&mut stage, "")?;
    restart(&mut stage, &addr, "")?;
    stage.expect(
        "restart",
        &format!("error: cannot bind {addr} with SO_REUSEADDR off: Address already in use"),
    )?;
    stage.expect(
        "restart",
        "or a connection of an earlier run waiting in TIME_WAIT",
    )?;
    stage.absent("restart", "listening on 127.0.0.1")?;
    stage.exit("restart", 1)
}

#[test]
fn with_the_option_on_both_runs_the_restart_binds() -> anyhow::Result<()> {
    let mut stage = stage();
    let addr = first_run(&mut stage, "--reuse-addr")?;
    let bound = stage.serve(
        "restart",
        &format!("reuse-addr-server --reuse-addr --addr {addr}"),
    )?;
    anyhow::ensure!(bound.to_string() == addr, "bound {bound}, not {addr}");
    stage.expect("restart", "SO_REUSEADDR is on")?;
    // And it serves: a new client gets its answer on the same port.
    stage.connect("next", &addr)?;
    stage.send("next", "again")?;
    stage.recv("next", "hi")?;
    stage.exit("restart", 0)
}

#[test]
fn with_the_option_on_the_restart_only_it_still_fails() -> anyhow::Result<()> {
    let mut stage = stage();
    let addr = first_run(&mut stage, "")?;
    restart(&mut stage, &addr, "--reuse-addr")?;
    stage.expect(
        "restart",
        &format!("error: cannot bind {addr} with SO_REUSEADDR on: Address already in use"),
    )?;
    stage.exit("restart", 1)
}

#[test]
fn ctrl_c_stops_a_waiting_server_cleanly() -> anyhow::Result<()> {
    let mut stage = stage();
    stage.serve("server", "reuse-addr-server")?;
    stage.interrupt("server")?;
    stage.expect("server", "server stopped (Ctrl-C)")?;
    stage.exit("server", 0)
}

#[test]
fn the_binaries_keep_the_course_contract() -> anyhow::Result<()> {
    course::keeps_the_contract(2, &bins!["reuse-addr-server"])
}
