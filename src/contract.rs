//! The contract every lesson binary keeps (see the README), checked on the
//! binaries of one lesson: `--help` names the lesson, `--version` names the
//! binary, a bad `--addr` is refused with exit status 2, a server's ready
//! line is printed only once its socket is really listening (or bound, for
//! UDP) on the address it names, and Ctrl-C stops it cleanly (and removes
//! its socket file, for a Unix-domain server).

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use crate::{Bins, Lesson, Stage};

/// Checks every binary of lesson `number` found in `bins`: its own server
/// and client (a client borrowed from another lesson is checked there).
pub fn keeps_the_contract(number: u8, bins: &Bins) -> anyhow::Result<()> {
    let lesson = Lesson::find(number).with_context(|| format!("no lesson {number}"))?;
    let own = [lesson.server, lesson.client]
        .into_iter()
        .filter(|bin| bin.package == lesson.package);
    for bin in own {
        let path = bins.path(bin.name)?;
        let run = |args: &[&str]| {
            Command::new(&path)
                .args(args)
                .stdin(Stdio::null())
                .output()
                .with_context(|| format!("cannot run {}", path.display()))
        };

        let help = run(&["--help"])?;
        let text = String::from_utf8_lossy(&help.stdout);
        ensure!(help.status.success(), "{} --help failed", bin.name);
        let title = format!("Lesson {number} (");
        ensure!(
            text.contains(&title),
            "{} --help should start with `{title}`: {text}",
            bin.name
        );
        // A Unix-domain lesson's address is a socket file's path.
        let unix = lesson.transport == "unix";
        let (addr_option, bad_addr, refusal) = if unix {
            (
                "--addr <PATH>",
                format!("/tmp/{}", "x".repeat(200)),
                "at most 107 bytes",
            )
        } else {
            (
                "--addr <HOST:PORT>",
                "nowhere".to_owned(),
                "expected HOST:PORT",
            )
        };
        ensure!(
            text.contains(addr_option),
            "{} --help lists no {addr_option}: {text}",
            bin.name
        );

        let version = run(&["--version"])?;
        let text = String::from_utf8_lossy(&version.stdout);
        ensure!(
            text.starts_with(bin.name),
            "{} --version says `{text}`",
            bin.name
        );

        let bad = run(&["--addr", &bad_addr])?;
        let text = String::from_utf8_lossy(&bad.stderr);
        ensure!(
            bad.status.code() == Some(2),
            "{} --addr {bad_addr}: {}",
            bin.name,
            bad.status
        );
        ensure!(
            text.contains(refusal),
            "{} --addr {bad_addr} says: {text}",
            bin.name
        );
    }
    if lesson.server.package == lesson.package && lesson.transport == "unix" {
        let path = bins.path(lesson.server.name)?;
        ready_line_means_ready_unix(&path)
            .with_context(|| format!("{}: the ready line", lesson.server.name))?;
        // Ctrl-C stops it, and removes its socket file.
        let mut stage = Stage::try_new(bins.clone())?;
        let file = stage.dir()?.join("contract.sock");
        stage.serve_unix(
            "server",
            [lesson.server.name, "--addr", &file.to_string_lossy()],
        )?;
        stage.interrupt("server")?;
        stage.expect("server", "stopped (Ctrl-C)")?;
        stage.exit("server", 0)?;
        ensure!(
            !file.exists(),
            "{} left its socket file {} behind after Ctrl-C",
            lesson.server.name,
            file.display()
        );
    } else if lesson.server.package == lesson.package {
        let path = bins.path(lesson.server.name)?;
        ready_line_means_ready(&path, lesson.transport)
            .with_context(|| format!("{}: the ready line", lesson.server.name))?;
        let mut stage = Stage::try_new(bins.clone())?;
        stage.serve("server", lesson.server.name)?;
        stage.interrupt("server")?;
        stage.expect("server", "stopped (Ctrl-C)")?;
        stage.exit("server", 0)?;
    }
    Ok(())
}

/// [`ready_line_means_ready`] for a Unix-domain stream server: while it is
/// blocked writing its ready line, the kernel's table of Unix sockets
/// (`/proc/PID/net/unix`) must show one of its sockets listening (flag
/// `__SO_ACCEPTCON`, `00010000`) at the path the line then names.
pub fn ready_line_means_ready_unix(server: &Path) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("course-ready-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join(format!(
        "{}.sock",
        server.file_name().unwrap_or_default().to_string_lossy()
    ));
    let result = (|| {
        let (mut reader, writer) = full_pipe()?;
        let child = Command::new(server)
            .arg("--addr")
            .arg(&file)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", server.display()))?;
        let child = KillOnDrop(child);
        let pid = child.0.id();
        wait_until_writing(pid)?;
        let listening = read_a_few_times(|| unix_listeners_of(pid), |found| !found.is_empty())?;
        ensure!(
            std::fs::read_to_string(format!("/proc/{pid}/wchan"))?.contains("pipe_write"),
            "it stopped waiting to write its ready line while it was being checked"
        );
        ensure!(
            !listening.is_empty(),
            "it was printing its ready line while the kernel showed no listening Unix socket \
             of it: the line must come after listen()"
        );
        let mut filler = vec![0; PIPE_SIZE];
        reader.read_exact(&mut filler)?;
        let line = read_line(&mut reader)?;
        let named = line
            .strip_prefix("listening on ")
            .with_context(|| format!("its first line is `{line}`, not `listening on PATH`"))?;
        ensure!(
            listening.iter().any(|path| path == named),
            "its ready line names {named}, but it listens on {listening:?}"
        );
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The paths of the listening Unix sockets of process `pid`, from
/// `/proc/PID/net/unix` (`Num RefCount Protocol Flags Type St Inode Path`),
/// matched to the process through the inodes of its file descriptors.
fn unix_listeners_of(pid: u32) -> anyhow::Result<Vec<String>> {
    let inodes = socket_inodes(pid)?;
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/unix"))?;
    let mut found = Vec::new();
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(flags), Some(inode), Some(path)) = (fields.get(3), fields.get(6), fields.get(7))
        else {
            continue;
        };
        if *flags == "00010000" && inodes.iter().any(|mine| mine == inode) {
            found.push((*path).to_owned());
        }
    }
    Ok(found)
}

/// The inode numbers of the sockets process `pid` holds open.
fn socket_inodes(pid: u32) -> anyhow::Result<Vec<String>> {
    let mut inodes = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        let target = std::fs::read_link(entry?.path()).unwrap_or_default();
        let target = target.to_string_lossy();
        if let Some(inode) = target
            .strip_prefix("socket:[")
            .and_then(|rest| rest.strip_suffix(']'))
        {
            inodes.push(inode.to_owned());
        }
    }
    Ok(inodes)
}

/// The ready line promises that the socket is already listening (TCP) or
/// bound (UDP) on the address it names. Checked without a race: the server's
/// stdout is a pipe filled to the brim, so its `write` of the ready line
/// blocks; while it is blocked there, the kernel's own tables
/// (`/proc/PID/net/tcp`) must show a socket of this process in the promised
/// state; then the pipe is read, and the line must name that socket's
/// address.
pub fn ready_line_means_ready(server: &Path, transport: &str) -> anyhow::Result<()> {
    let (mut reader, writer) = full_pipe()?;
    let child = Command::new(server)
        .args(["--addr", "127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", server.display()))?;
    let child = KillOnDrop(child);
    let pid = child.0.id();
    wait_until_writing(pid)?;
    let ready_state = if transport == "tcp" { "0A" } else { "07" };
    // Blocked in that write, the server cannot open a socket: what the
    // tables show now is what it had before it printed. They are read a few
    // times while it stays blocked, so a read of /proc that races with
    // another process's change of the same table cannot fail the check.
    let sockets = read_a_few_times(
        || sockets_of(pid, transport),
        |found| found.iter().any(|(_, state)| state == ready_state),
    )?;
    ensure!(
        std::fs::read_to_string(format!("/proc/{pid}/wchan"))?.contains("pipe_write"),
        "it stopped waiting to write its ready line while it was being checked"
    );
    let ready: Vec<&(SocketAddr, String)> = sockets
        .iter()
        .filter(|(_, state)| state == ready_state)
        .collect();
    ensure!(
        !ready.is_empty(),
        "it was printing its ready line while the kernel showed no {} socket of it \
         (its sockets: {sockets:?}): the line must come after {}",
        if transport == "tcp" {
            "listening"
        } else {
            "bound"
        },
        if transport == "tcp" {
            "listen()"
        } else {
            "bind()"
        },
    );
    // Unblock it, and read the line.
    let mut filler = vec![0; PIPE_SIZE];
    reader.read_exact(&mut filler)?;
    let line = read_line(&mut reader)?;
    let addr: SocketAddr = line
        .strip_prefix("listening on ")
        .and_then(|addr| addr.parse().ok())
        .with_context(|| format!("its first line is `{line}`, not `listening on IP:PORT`"))?;
    ensure!(
        ready.iter().any(|(bound, _)| *bound == addr),
        "its ready line names {addr}, but its {transport} socket is bound to {:?}",
        ready.iter().map(|(bound, _)| bound).collect::<Vec<_>>()
    );
    Ok(())
}

/// The pipe's size once shrunk: one page, the smallest Linux allows.
const PIPE_SIZE: usize = 4096;

/// A pipe whose buffer is full: the next write to it blocks.
fn full_pipe() -> anyhow::Result<(std::fs::File, OwnedFd)> {
    use nix::fcntl::{FcntlArg, fcntl};
    let (reader, writer) = nix::unistd::pipe().context("cannot make a pipe")?;
    let size = fcntl(&writer, FcntlArg::F_SETPIPE_SZ(PIPE_SIZE as i32))
        .context("cannot shrink the pipe")?;
    ensure!(
        usize::try_from(size) == Ok(PIPE_SIZE),
        "the pipe holds {size} bytes"
    );
    let mut writer = std::fs::File::from(writer);
    writer.write_all(&[b'.'; PIPE_SIZE])?;
    Ok((std::fs::File::from(reader), writer.into()))
}

/// Waits until process `pid` is blocked writing to a pipe, which the kernel
/// shows in `/proc/PID/wchan` (the function it sleeps in). The kernel offers
/// no event for this, so it is looked at every millisecond, until a
/// deadline.
fn wait_until_writing(pid: u32) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let path = format!("/proc/{pid}/wchan");
    loop {
        let wchan = std::fs::read_to_string(&path).unwrap_or_default();
        if wchan.contains("pipe_write") {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("it did not write its ready line within 5 s (it waits in `{wchan}`)");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Reads a kernel table with `read` until `found` is satisfied, up to 100
/// times 2 ms apart, and gives the last reading. While the server is
/// blocked writing its ready line, its own sockets cannot change; the
/// readings are repeated only because a read of /proc can race with another
/// process's change of the same table.
fn read_a_few_times<T>(
    read: impl Fn() -> anyhow::Result<T>,
    found: impl Fn(&T) -> bool,
) -> anyhow::Result<T> {
    let mut reading = read()?;
    for _ in 1..100 {
        if found(&reading) {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
        reading = read()?;
    }
    Ok(reading)
}

/// The sockets of process `pid` in the kernel's table for `transport`
/// (`/proc/PID/net/tcp` or `udp`): local address and state (`0A` is
/// LISTEN, `07` is a bound UDP socket), matched to the process through the
/// inode numbers of its open file descriptors.
fn sockets_of(pid: u32, transport: &str) -> anyhow::Result<Vec<(SocketAddr, String)>> {
    let inodes = socket_inodes(pid)?;
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/{transport}"))?;
    let mut found = Vec::new();
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(state), Some(inode)) = (fields.get(1), fields.get(3), fields.get(9))
        else {
            continue;
        };
        if inodes.iter().any(|mine| mine == inode) {
            found.push((ipv4_address(local)?, (*state).to_owned()));
        }
    }
    Ok(found)
}

/// `0100007F:1F90` (the kernel's hex, address in host byte order) as
/// `127.0.0.1:8080`.
fn ipv4_address(hex: &str) -> anyhow::Result<SocketAddr> {
    let (ip, port) = hex.split_once(':').context("no port")?;
    let ip = u32::from_str_radix(ip, 16)?;
    let port = u16::from_str_radix(port, 16)?;
    let ip = std::net::Ipv4Addr::from(ip.to_le_bytes());
    Ok(SocketAddr::new(ip.into(), port))
}

fn read_line(reader: &mut impl Read) -> anyhow::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0; 1];
    while line.len() < 200 {
        if reader.read(&mut byte)? == 0 || byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// A child killed when the check ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_addresses_read_as_people_write_them() -> anyhow::Result<()> {
        assert_eq!(ipv4_address("0100007F:1F90")?, "127.0.0.1:8080".parse()?);
        assert!(ipv4_address("nonsense").is_err());
        Ok(())
    }

    /// A shell script that says `ready` (a ready line) and then sleeps,
    /// listening on nothing: a server that lies.
    fn liar(name: &str, ready: &str) -> anyhow::Result<std::path::PathBuf> {
        let script = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        std::fs::write(&script, format!("#!/bin/sh\n{ready}\nexec sleep 5\n"))?;
        let mut permissions = std::fs::metadata(&script)?.permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&script, permissions)?;
        Ok(script)
    }

    #[test]
    fn a_unix_ready_line_printed_before_listen_is_caught() -> anyhow::Result<()> {
        // It names a socket file but listens on nothing.
        let script = liar("early-unix", "echo \"listening on $2\"")?;
        let result = ready_line_means_ready_unix(&script);
        std::fs::remove_file(&script)?;
        let err = result
            .err()
            .context("a ready line without a listening socket passed")?;
        assert!(
            format!("{err:#}").contains("no listening Unix socket"),
            "{err:#}"
        );
        Ok(())
    }

    #[test]
    fn a_line_printed_before_listen_is_caught() -> anyhow::Result<()> {
        // A "server" that prints its ready line, then binds: python would
        // do, but the shell is enough: it prints and never listens at all.
        let script = liar("early-ready", "echo 'listening on 127.0.0.1:9'")?;
        let result = ready_line_means_ready(&script, "tcp");
        std::fs::remove_file(&script)?;
        let err = result
            .err()
            .context("a ready line without a listening socket passed")?;
        assert!(
            format!("{err:#}").contains("no listening socket"),
            "{err:#}"
        );
        Ok(())
    }
}
