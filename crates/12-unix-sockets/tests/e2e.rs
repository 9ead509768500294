//! Lesson 12 end to end: hello over a socket file and an abstract name, the
//! file's life (removed on a clean exit and on Ctrl-C, a stale one refused
//! then taken with --force, a live server's never), the 107-byte limit, the
//! peer's credentials, and the file's mode deciding who may connect.

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, ensure};
use course::{Stage, bins};

fn bins() -> course::Bins {
    bins![
        "unix-hello-server",
        "unix-hello-client",
        "unix-datagram-pair"
    ]
}

/// A stage and a socket path in its own folder, unique to this test.
fn stage_and_path() -> anyhow::Result<(Stage, PathBuf)> {
    let mut stage = Stage::try_new(bins())?;
    let path = stage.dir()?.join("hello.sock");
    Ok((stage, path))
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[test]
fn the_demo_plays() -> anyhow::Result<()> {
    course::play_demo(env!("CARGO_MANIFEST_DIR"), bins())
}

#[test]
fn hello_round_trips_over_a_file_and_the_clean_exit_removes_it() -> anyhow::Result<()> {
    let (mut stage, path) = stage_and_path()?;
    let named = stage.serve_unix("server", ["unix-hello-server", "--addr", &text(&path)])?;
    ensure!(named == text(&path), "the ready line names {named}");
    ensure!(path.exists(), "bind() made no file at {}", path.display());
    stage.start(
        "client",
        [
            "unix-hello-client",
            "--addr",
            &text(&path),
            "--message",
            "你好",
        ],
    )?;
    stage.expect("server", "received 6 bytes: 你好")?;
    stage.expect("client", "received 2 bytes: hi")?;
    stage.exit("client", 0)?;
    stage.expect("server", &format!("removed {}", path.display()))?;
    stage.exit("server", 0)?;
    ensure!(!path.exists(), "the file is still there after a clean exit");
    Ok(())
}

#[test]
fn hello_round_trips_over_an_abstract_name_without_a_file() -> anyhow::Result<()> {
    let (mut stage, path) = stage_and_path()?;
    let name = format!("@{}", text(&path));
    stage.serve_unix("server", ["unix-hello-server", "--addr", &name])?;
    ensure!(!path.exists(), "an abstract name made a file");
    stage.start("client", ["unix-hello-client", "--addr", &name])?;
    stage.expect("server", "received 6 bytes: hello!")?;
    stage.expect("client", "received 2 bytes: hi")?;
    stage.exit("client", 0)?;
    stage.exit("server", 0)
}

#[test]
fn ctrl_c_removes_the_file() -> anyhow::Result<()> {
    let (mut stage, path) = stage_and_path()?;
    stage.serve_unix("server", ["unix-hello-server", "--addr", &text(&path)])?;
    ensure!(path.exists(), "bind() made no file");
    stage.interrupt("server")?;
    stage.expect("server", "server stopped (Ctrl-C)")?;
    stage.exit("server", 0)?;
    ensure!(!path.exists(), "Ctrl-C left {} behind", path.display());
    Ok(())
}

#[test]
fn a_stale_file_gets_a_hint_and_force_takes_it() -> anyhow::Result<()> {
    let (mut stage, path) = stage_and_path()?;
    // What a killed server leaves: a socket file nobody listens on (closing
    // a listener never removes its file).
    drop(UnixListener::bind(&path)?);
    ensure!(path.exists(), "no stale file to test with");
    stage.start("refused", ["unix-hello-server", "--addr", &text(&path)])?;
    stage.expect("refused", "Address already in use")?;
    stage.expect("refused", "a server that was killed left its file behind")?;
    stage.exit("refused", 1)?;

    stage.serve_unix(
        "forced",
        ["unix-hello-server", "--addr", &text(&path), "--force"],
    )?;
    stage.expect("forced", "removed a stale socket file")?;
    stage.start("client", ["unix-hello-client", "--addr", &text(&path)])?;
    stage.expect("client", "received 2 bytes: hi")?;
    stage.exit("client", 0)?;
    stage.exit("forced", 0)
}

#[test]
fn force_never_takes_a_live_servers_path() -> anyhow::Result<()> {
    let (mut stage, path) = stage_and_path()?;
    stage.serve_unix("live", ["unix-hello-server", "--addr", &text(&path)])?;
    stage.start(
        "thief",
        ["unix-hello-server", "--addr", &text(&path), "--force"],
    )?;
    stage.expect("thief", "a server is listening on it right now")?;
    stage.exit("thief", 1)?;
    // The probe that found it alive was an empty connection: the live
    // server said so, and serves the next client as before.
    stage.expect("live", "left without sending anything")?;
    stage.start("client", ["unix-hello-client", "--addr", &text(&path)])?;
    stage.expect("client", "received 2 bytes: hi")?;
    stage.exit("client", 0)?;
    stage.exit("live", 0)
}

#[test]
fn a_path_over_107_bytes_is_refused_clearly() -> anyhow::Result<()> {
    let long = format!("/tmp/{}.sock", "x".repeat(100));
    ensure!(long.len() == 110);
    let mut stage = Stage::try_new(bins())?;
    for (actor, bin) in [
        ("server", "unix-hello-server"),
        ("client", "unix-hello-client"),
    ] {
        stage.start(actor, [bin, "--addr", &long])?;
        stage.expect(actor, "holds at most 107 bytes")?;
        stage.seen(actor, "this one has 110")?;
        stage.exit(actor, 2)?;
    }
    ensure!(!Path::new(&long).exists(), "a file was made anyway");
    Ok(())
}

#[test]
fn no_server_and_a_dead_file_are_told_apart() -> anyhow::Result<()> {
    let (mut stage, path) = stage_and_path()?;
    stage.start("nothing", ["unix-hello-client", "--addr", &text(&path)])?;
    stage.expect("nothing", "no socket file there: is the server running?")?;
    stage.exit("nothing", 1)?;
    drop(UnixListener::bind(&path)?);
    stage.start("dead", ["unix-hello-client", "--addr", &text(&path)])?;
    stage.expect("dead", "Connection refused")?;
    stage.expect("dead", "nothing listens on it")?;
    stage.exit("dead", 1)
}

#[test]
fn the_peers_credentials_are_this_tests_own() -> anyhow::Result<()> {
    let (mut stage, path) = stage_and_path()?;
    stage.serve_unix("server", ["unix-hello-server", "--addr", &text(&path)])?;
    // This test connects itself: the kernel must name this process.
    let mut conn = UnixStream::connect(&path)?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    conn.write_all(b"hello!")?;
    let mut reply = Vec::new();
    conn.read_to_end(&mut reply)?;
    ensure!(reply == b"hi", "the reply: {reply:?}");
    let me = std::fs::metadata("/proc/self")?;
    stage.expect(
        "server",
        &format!(
            "connection from pid {}, uid {}, gid {}",
            std::process::id(),
            me.uid(),
            me.gid()
        ),
    )?;
    stage.exit("server", 0)
}

/// Runs the client as user 65534 (nobody), which needs root: `setpriv`
/// (util-linux) changes the uid and gid, then runs the client.
fn as_nobody(stage: &mut Stage, actor: &str, client: &Path, path: &Path) -> anyhow::Result<()> {
    stage.start(
        actor,
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            &text(client),
            "--addr",
            &text(path),
        ],
    )
}

#[test]
fn the_files_mode_decides_whether_another_uid_may_connect() -> anyhow::Result<()> {
    let setpriv = Path::new("/usr/bin/setpriv");
    if common::unix_addr::own_uid() != 0 || !setpriv.exists() {
        // Printed, so a run that did not check says so.
        eprintln!(
            "SKIPPED the_files_mode_decides_whether_another_uid_may_connect: it runs the \
             client as another user with setpriv, which needs root and /usr/bin/setpriv"
        );
        return Ok(());
    }
    let mut stage = Stage::try_new(bins().with("setpriv", setpriv))?;
    let dir = stage.dir()?;
    // The other user must be able to run the client and reach the folder.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
    let client = dir.join("unix-hello-client");
    std::fs::copy(env!("CARGO_BIN_EXE_unix-hello-client"), &client)
        .context("cannot copy the client where another user may run it")?;
    std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o755))?;

    // 600: only the owner (root, which the kernel never refuses) may write.
    let private = dir.join("private.sock");
    stage.serve_unix(
        "private",
        [
            "unix-hello-server",
            "--addr",
            &text(&private),
            "--mode",
            "600",
        ],
    )?;
    as_nobody(&mut stage, "nobody", &client, &private)?;
    stage.expect("nobody", "Permission denied")?;
    stage.expect("nobody", "needs write permission on the socket file")?;
    stage.exit("nobody", 1)?;
    stage.absent("private", "connection from")?;

    // 666: the same user is let in, and the kernel names it.
    let open = dir.join("open.sock");
    stage.serve_unix(
        "open",
        ["unix-hello-server", "--addr", &text(&open), "--mode", "666"],
    )?;
    as_nobody(&mut stage, "welcome", &client, &open)?;
    stage.expect("open", "uid 65534, gid 65534")?;
    stage.expect("welcome", "received 2 bytes: hi")?;
    stage.exit("welcome", 0)?;
    stage.exit("open", 0)?;
    stage.interrupt("private")?;
    stage.exit("private", 0)
}

#[test]
fn a_datagram_socket_keeps_boundaries_and_loses_nothing_when_full() -> anyhow::Result<()> {
    let mut stage = Stage::try_new(bins())?;
    stage.start("pair", ["unix-datagram-pair", "--size", "100"])?;
    stage.expect("pair", "received 3 bytes: one")?;
    stage.expect("pair", "received 17 bytes: two, a longer one")?;
    stage.expect("pair", "received 5 bytes: three")?;
    let full = stage.expect("pair", "datagrams of 100 bytes; the next send would block")?;
    let queued: u32 = full
        .split_whitespace()
        .nth(3)
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no count in `{full}`"))?;
    ensure!(queued > 0, "{full}");
    stage.expect(
        "pair",
        &format!("received {queued} of {queued}: none was lost"),
    )?;
    stage.exit("pair", 0)
}
