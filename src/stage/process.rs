//! The lesson binaries a stage runs: each a child process whose stdin is a
//! pipe the stage types into, and whose stdout and stderr go to the
//! transcript's one channel.

use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Mutex, PoisonError};

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::output::{Stream, Tap};

/// The process ids of every child a stage of this process is running, so
/// that the demo player's Ctrl-C and SIGTERM handler can end them all.
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Kills every child process any stage of this process started and has not
/// collected. For a signal handler: it takes no lock a stage could hold for
/// long, and never fails.
pub fn kill_every_child() {
    let running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    for &pid in running.iter() {
        if let Ok(pid) = i32::try_from(pid) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// A lesson binary running as a child process.
pub struct Process {
    child: Child,
    /// `None` once the scenario closed it (`eof`).
    pub stdin: Option<ChildStdin>,
    /// Lines printed but not yet consumed by an `expect`.
    pub pending: VecDeque<(Stream, String)>,
    /// Every line printed so far, for `absent` and `seen`.
    pub seen: Vec<String>,
    /// Whether its exit has come through the transcript's channel.
    pub exited: bool,
    /// The exit status, once collected.
    status: Option<ExitStatus>,
}

impl Process {
    /// Starts `path` with `args` and the `NAME=value` pairs of `env`, its
    /// output going to `tap` under `actor`'s name.
    pub fn spawn(
        actor: &str,
        path: &Path,
        args: &[String],
        env: &[String],
        tap: &mut Tap,
    ) -> anyhow::Result<Process> {
        let mut command = Command::new(path);
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(tap.output(actor, Stream::Stdout)?))
            .stderr(Stdio::from(tap.output(actor, Stream::Stderr)?))
            .env(
                common::stage_child::PARENT_VARIABLE,
                std::process::id().to_string(),
            );
        for pair in env {
            if let Some((key, value)) = pair.split_once('=') {
                command.env(key, value);
            }
        }
        let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", path.display()))?;
        running.push(child.id());
        drop(running);
        tap.watch_exit(actor, child.id())?;
        let stdin = child.stdin.take();
        Ok(Process {
            child,
            stdin,
            pending: VecDeque::new(),
            seen: Vec::new(),
            exited: false,
            status: None,
        })
    }

    /// Writes bytes to its stdin.
    pub fn type_bytes(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        let stdin = self.stdin.as_mut().context("its stdin is already closed")?;
        stdin
            .write_all(bytes)
            .and_then(|()| stdin.flush())
            .context("cannot type into it: has it exited?")
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGINT, as Ctrl-C in its terminal would.
    pub fn interrupt(&mut self) -> anyhow::Result<()> {
        let pid = Pid::from_raw(i32::try_from(self.child.id())?);
        if self.status.is_some() {
            bail!("it has already exited");
        }
        kill(pid, Signal::SIGINT).context("cannot send SIGINT")
    }

    /// Its exit status, once it has exited (see `exited`).
    pub fn collect(&mut self) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let status = self
            .child
            .wait()
            .context("cannot collect its exit status")?;
        self.status = Some(status);
        forget(self.child.id());
        Ok(status)
    }

    /// Kills it if it still runs, and collects it.
    pub fn kill(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            forget(self.child.id());
        }
    }
}

fn forget(pid: u32) {
    RUNNING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(|&running| running != pid);
}
