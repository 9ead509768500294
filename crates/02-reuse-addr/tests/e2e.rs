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
    // server's FIN, and only then close its own side.
    stage.connect("client", &addr)?;
    stage.send("client", "hello!")?;
    stage.recv("client", "hi")?;
    stage.closed("client")?;
    stage.expect("first", "closed the connection first")?;
    stage.shutdown("client")?;
    // Both sides have closed, the server first: the kernel says so.
    let state = stage.expect("first", "the kernel shows this connection in ")?;
    anyhow::ensure!(
        state.starts_with("the kernel shows this connection in TIME_WAIT: "),
        "the server's side should be in TIME_WAIT: {state}"
    );
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
fn a_client_that_does_not_close_leaves_the_server_in_fin_wait2() -> anyhow::Result<()> {
    let mut stage = stage();
    let addr = stage.serve("server", "reuse-addr-server")?.to_string();
    stage.connect("client", &addr)?;
    stage.send("client", "hello!")?;
    stage.recv("client", "hi")?;
    stage.closed("client")?;
    // The client keeps its side open: the server waits 3 s for its FIN,
    // then reports the state the kernel shows, and says why.
    stage.expect(
        "server",
        "the kernel shows this connection in FIN_WAIT2: our FIN is acknowledged",
    )?;
    stage.expect("server", "(the client had not closed its side within 3 s)")?;
    stage.exit("server", 0)
}

#[test]
fn a_client_that_closes_at_once_is_reported_as_the_kernel_sees_it() -> anyhow::Result<()> {
    // What the Python client or nc may do: close as soon as it can, here
    // right after sending. Its FIN may reach the server before the server's
    // own close (then the client closed first: LAST_ACK, or no connection
    // left on the server's side) or cross it (a simultaneous close, which
    // leaves both sides in TIME_WAIT). The server says which, from the
    // kernel, rather than assuming.
    let mut stage = stage();
    let addr = stage.serve("server", "reuse-addr-server")?.to_string();
    stage.connect("client", &addr)?;
    stage.send("client", "hello!")?;
    stage.shutdown("client")?;
    stage.recv("client", "hi")?;
    let state = stage.expect("server", "the kernel ")?;
    let honest = [
        "the kernel no longer lists this connection: the client closed",
        "the kernel shows this connection in LAST_ACK: ",
        "the kernel shows this connection in TIME_WAIT: ",
    ];
    anyhow::ensure!(
        honest.iter().any(|start| state.starts_with(start)),
        "not a state a close by both sides leaves: {state}"
    );
    stage.exit("server", 0)?;
    // The client's FIN had arrived: the server did not wait for it.
    stage.absent("server", "had not closed its side")
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
