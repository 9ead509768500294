//! The stage a scenario is played on: lesson binaries run as child processes
//! ([`process`]), raw TCP or UDP peers talk to them from this process
//! ([`peers`]), and everything they print reaches one transcript in the
//! order it happened ([`output`]).
//!
//! Nothing here sleeps to wait. Every wait is for an event (a line of output,
//! an exit, bytes on a socket) and ends at a deadline, and a failure says
//! what every actor printed. Dropping the stage kills every process it
//! started, so a failing test leaves no server behind; so do a panic, an
//! error and (in the demo player) Ctrl-C or SIGTERM, and a player killed
//! outright takes its programs with it (see `common::stage_child`).

mod bins;
mod output;
mod peers;
mod process;

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};

pub use bins::{Bins, check_fresh};
pub use process::kill_every_child;

use crate::escape::{preview, unescape};
use output::{Event, Stream, Tap};
use peers::Peer;
use process::Process;

/// How long a step may wait unless the scenario says otherwise.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(5);

/// A command line for [`Stage::start`] and [`Stage::serve`]: a `&str` is
/// split into words as a scenario line is (at white space, with `'...'` or
/// `"..."` holding spaces: `sh -c 'echo hi'`); a list of words is taken as
/// it is.
pub trait CommandLine {
    /// The program's name and its arguments, one word each.
    fn words(self) -> Vec<String>;
}

impl CommandLine for &str {
    fn words(self) -> Vec<String> {
        split_words(self)
    }
}

/// Splits a command line into words: at white space, except inside single
/// or double quotes, which are removed. No escapes: a scenario needs none.
pub fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(open), c) if c == open => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

impl CommandLine for &String {
    fn words(self) -> Vec<String> {
        self.as_str().words()
    }
}

impl CommandLine for &[String] {
    fn words(self) -> Vec<String> {
        self.to_vec()
    }
}

impl CommandLine for &Vec<String> {
    fn words(self) -> Vec<String> {
        self.clone()
    }
}

impl<const N: usize> CommandLine for &[String; N] {
    fn words(self) -> Vec<String> {
        self.to_vec()
    }
}

impl<const N: usize> CommandLine for [&str; N] {
    fn words(self) -> Vec<String> {
        self.map(str::to_owned).to_vec()
    }
}

/// The command line that runs `program` with `args` on a pseudo-terminal of
/// its own (util-linux's `script`), as in a learner's window: its stdin and
/// stdout are then a terminal, so prompts and colour show, while the stage
/// still types into it and reads what it prints (with `\r\n` line ends,
/// which the stage trims). Give it to [`Stage::serve`] or [`Stage::start`];
/// leading `NAME=value` words may go before it.
pub fn on_a_terminal(program: &str, args: &str) -> anyhow::Result<Vec<String>> {
    const SCRIPT: &str = "/usr/bin/script";
    if !std::path::Path::new(SCRIPT).exists() {
        bail!("{SCRIPT} (util-linux) is needed to give a program a terminal");
    }
    Ok(
        [SCRIPT, "-qfec", &format!("'{program}' {args}"), "/dev/null"]
            .map(str::to_owned)
            .to_vec(),
    )
}

/// An actor of the scenario.
enum Actor {
    Process(Box<Process>),
    Peer(Peer),
}

/// Runs a scenario's actors. See the module documentation.
pub struct Stage {
    bins: Bins,
    deadline: Duration,
    /// Every actor's output and exits, in order.
    tap: Tap,
    /// In order of appearance, so transcripts list them as the scenario does.
    actors: Vec<(String, Actor)>,
    /// `{name}` placeholders: a server's address and port.
    vars: HashMap<String, String>,
    /// `{dir}`: a folder of this stage's own, for socket files (made when a
    /// step first names it, removed with the stage).
    dir: Option<std::path::PathBuf>,
    /// Everything that happened, for failure reports and transcripts.
    log: Vec<String>,
    /// Print events as they happen (the demo) rather than only log them.
    echo: bool,
    /// Pause before each typed or sent message so a person can follow (the demo only).
    pace: Duration,
    /// Set when printing the transcript failed (the demo's stdout closed):
    /// the play stops at the next step.
    echo_failed: Option<std::io::Error>,
}

impl Stage {
    /// A stage with no actors yet, quiet (for tests).
    ///
    /// # Panics
    /// Never for a person's input: only when this machine cannot make a Unix
    /// datagram socket or a thread, which [`Stage::try_new`] reports instead.
    pub fn new(bins: Bins) -> Self {
        match Stage::try_new(bins) {
            Ok(stage) => stage,
            Err(err) => panic!("cannot set up the stage: {err:#}"),
        }
    }

    /// A stage with no actors yet, quiet.
    pub fn try_new(bins: Bins) -> anyhow::Result<Self> {
        Ok(Stage {
            bins,
            deadline: DEFAULT_DEADLINE,
            tap: Tap::new()?,
            actors: Vec::new(),
            vars: HashMap::new(),
            dir: None,
            log: Vec::new(),
            echo: false,
            pace: Duration::ZERO,
            echo_failed: None,
        })
    }

    /// Prints every event as it happens, as a labelled transcript, pausing
    /// `pace` before each message an actor types or sends.
    pub fn echoing(mut self, pace: Duration) -> Self {
        self.echo = true;
        self.pace = pace;
        self
    }

    /// Sets how long each later step may wait.
    pub fn set_deadline(&mut self, deadline: Duration) {
        self.deadline = deadline;
    }

    /// How long each step may wait.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Shows narration in the demo (and in failure transcripts), after every
    /// line already written: narration comes before the steps it
    /// introduces, and after what happened before it.
    pub fn narrate(&mut self, text: &str) -> anyhow::Result<()> {
        self.drain()?;
        self.pause();
        self.record(format!("── {text}"));
        Ok(())
    }

    /// The value of a `{name}` placeholder, such as a server's address.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Everything logged so far, one line per event: what each side printed,
    /// typed, sent and received, in the order it happened.
    pub fn log(&mut self) -> &[String] {
        let _ = self.drain();
        &self.log
    }

    /// [`Stage::log`] as a failure message.
    pub fn transcript(&mut self) -> String {
        let mut out = String::from("transcript so far:\n");
        for line in self.log() {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
        if self.log.is_empty() {
            out.push_str("  (nothing)\n");
        }
        out
    }

    /// Whether printing the demo's transcript failed (its stdout closed):
    /// the error, once, so the player can stop.
    pub fn echo_failure(&mut self) -> Option<std::io::Error> {
        self.echo_failed.take()
    }

    /// Starts a server, on 127.0.0.1:0 unless the command line names an
    /// `--addr`, and waits for its ready line (`listening on IP:PORT`);
    /// returns the address it bound. `{ACTOR}` then stands for that address
    /// and `{ACTOR.port}` for its port. A wrapper command works too (`script
    /// -qfec "server --addr 127.0.0.1:0" /dev/null`): the first line that
    /// holds a ready line is taken.
    pub fn serve(&mut self, actor: &str, command: impl CommandLine) -> anyhow::Result<SocketAddr> {
        let result = self.serve_now(actor, &command.words()).and_then(|addr| {
            addr.parse()
                .with_context(|| format!("{actor}'s ready line names {addr}, not IP:PORT"))
        });
        self.explained(result)
    }

    /// Starts a Unix-domain server (its command line names `--addr PATH`,
    /// or `--addr @NAME` for an abstract name) and waits for its ready line,
    /// `listening on PATH`; returns the path (or `@NAME`). `{ACTOR}` then
    /// stands for it.
    pub fn serve_unix(&mut self, actor: &str, command: impl CommandLine) -> anyhow::Result<String> {
        let result = self.serve_now(actor, &command.words());
        self.explained(result)
    }

    /// The stage's own folder, `{dir}` in a scenario: made on first use,
    /// removed with the stage. Socket files go there, so that parallel runs
    /// never meet at one path.
    pub fn dir(&mut self) -> anyhow::Result<std::path::PathBuf> {
        if let Some(dir) = &self.dir {
            return Ok(dir.clone());
        }
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("course-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot make the folder {}", dir.display()))?;
        self.dir = Some(dir.clone());
        Ok(dir)
    }

    /// The stage's folder if a step has used it.
    pub fn dir_if_made(&self) -> Option<&std::path::Path> {
        self.dir.as_deref()
    }

    /// The server's address as its ready line printed it: `IP:PORT` (then
    /// `{ACTOR.port}` is set too), or a Unix socket's path or `@NAME`.
    pub(crate) fn serve_now(&mut self, actor: &str, words: &[String]) -> anyhow::Result<String> {
        let mut words = words.to_vec();
        if !words.iter().any(|word| word.contains("--addr")) {
            words.extend(["--addr".to_owned(), "127.0.0.1:0".to_owned()]);
        }
        self.start_now(actor, &words)?;
        let deadline = Instant::now() + self.deadline;
        let line = loop {
            let process = self.process(actor)?;
            if let Some(at) = process.pending.iter().position(|(stream, line)| {
                *stream == Stream::Stdout && line.contains("listening on ")
            }) {
                let (_, line) = process.pending.remove(at).context("the line just found")?;
                break line;
            }
            if process.exited {
                bail!("{actor} ended before printing its ready line (`listening on IP:PORT`)");
            }
            if !self.pump(deadline)? {
                bail!("{actor} printed no ready line within {:?}", self.deadline);
            }
        };
        let addr = line
            .split_once("listening on ")
            .map(|(_, addr)| addr.trim().to_owned())
            .unwrap_or_default();
        if let Ok(ip) = addr.parse::<SocketAddr>() {
            self.vars
                .insert(format!("{actor}.port"), ip.port().to_string());
        } else if !addr.starts_with(['/', '@']) {
            bail!(
                "{actor}'s ready line should be `listening on IP:PORT` (or a socket's path), not `{line}`"
            );
        }
        self.vars.insert(actor.to_owned(), addr.clone());
        Ok(addr)
    }

    /// Starts a binary. Leading `NAME=value` words set its environment.
    pub fn start(&mut self, actor: &str, command: impl CommandLine) -> anyhow::Result<()> {
        let result = self.start_now(actor, &command.words());
        self.explained(result)
    }

    pub(crate) fn start_now(&mut self, actor: &str, words: &[String]) -> anyhow::Result<()> {
        if self.find(actor).is_some() {
            bail!("there is already an actor called {actor}");
        }
        let words = words
            .iter()
            .map(|word| self.substitute(word))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let split = words
            .iter()
            .position(|word| !word.contains('=') || word.starts_with('-'))
            .context("no binary named")?;
        let (env, words) = words.split_at(split);
        let (name, args) = words.split_first().context("no binary named")?;
        let path = self.bins.path(name)?;
        self.drain()?;
        self.record(format!("[{actor}] $ {}", words.join(" ")));
        let process = Process::spawn(actor, &path, args, env, &mut self.tap)?;
        self.actors
            .push((actor.to_owned(), Actor::Process(Box::new(process))));
        Ok(())
    }

    /// Types a line on a process's stdin.
    pub fn type_line(&mut self, actor: &str, text: &str) -> anyhow::Result<()> {
        let result = self.type_now(actor, text);
        self.explained(result)
    }

    pub(crate) fn type_now(&mut self, actor: &str, text: &str) -> anyhow::Result<()> {
        let mut bytes = unescape(&self.substitute(text)?)?;
        self.process(actor)?;
        self.drain()?;
        self.pause();
        if bytes.is_empty() {
            self.record(format!("[{actor}] > (Enter, on an empty line)"));
        } else {
            self.record(format!("[{actor}] > {}", common::show(&bytes)));
        }
        bytes.push(b'\n');
        self.process(actor)?.type_bytes(&bytes)
    }

    /// Closes a process's stdin: end of input, as Ctrl-D on a terminal.
    pub fn close_stdin(&mut self, actor: &str) -> anyhow::Result<()> {
        self.process(actor)?;
        self.drain()?;
        self.record(format!("[{actor}] > (end of input)"));
        self.process(actor)?.stdin = None;
        Ok(())
    }

    /// Waits for a line from `actor` containing `text`; lines before it are
    /// passed over (consumed). Returns the whole line.
    pub fn expect(&mut self, actor: &str, text: &str) -> anyhow::Result<String> {
        let result = self.expect_now(actor, text);
        self.explained(result)
    }

    pub(crate) fn expect_now(&mut self, actor: &str, text: &str) -> anyhow::Result<String> {
        self.wait_for_line(actor, text, |process, text| {
            // Lines before the one looked for are passed over for good.
            while let Some((_, line)) = process.pending.pop_front() {
                if line.contains(text) {
                    return Some(line);
                }
            }
            None
        })
    }

    /// Waits until `actor` has printed a line containing `text`, at any
    /// time since it started, and consumes nothing: later `expect`s still
    /// see every line not yet consumed.
    pub fn seen(&mut self, actor: &str, text: &str) -> anyhow::Result<String> {
        let result = self.seen_now(actor, text);
        self.explained(result)
    }

    pub(crate) fn seen_now(&mut self, actor: &str, text: &str) -> anyhow::Result<String> {
        self.wait_for_line(actor, text, |process, text| {
            process
                .seen
                .iter()
                .find(|line| line.contains(text))
                .cloned()
        })
    }

    /// Waits until `find` finds the line containing `text` among what
    /// `actor` has printed, taking each new line as it comes, until the
    /// process ends or the deadline passes.
    fn wait_for_line(
        &mut self,
        actor: &str,
        text: &str,
        find: impl Fn(&mut Process, &str) -> Option<String>,
    ) -> anyhow::Result<String> {
        let text = self.substitute(text)?;
        let deadline = Instant::now() + self.deadline;
        loop {
            let process = self.process(actor)?;
            if let Some(line) = find(process, &text) {
                return Ok(line);
            }
            if process.exited {
                bail!("{actor} ended without printing a line containing `{text}`");
            }
            if !self.pump(deadline)? {
                bail!(
                    "{actor} printed no line containing `{text}` within {:?}",
                    self.deadline
                );
            }
        }
    }

    /// Checks that no line `actor` printed so far contains `text`.
    pub fn absent(&mut self, actor: &str, text: &str) -> anyhow::Result<()> {
        let result = self.absent_now(actor, text);
        self.explained(result)
    }

    pub(crate) fn absent_now(&mut self, actor: &str, text: &str) -> anyhow::Result<()> {
        let text = self.substitute(text)?;
        self.drain()?;
        if let Some(line) = self
            .process(actor)?
            .seen
            .iter()
            .find(|line| line.contains(&text))
        {
            bail!("{actor} printed `{line}`, which should not contain `{text}`");
        }
        Ok(())
    }

    /// Waits for a process to exit, and checks its status.
    pub fn exit(&mut self, actor: &str, code: i32) -> anyhow::Result<()> {
        let result = self.exit_now(actor, code);
        self.explained(result)
    }

    pub(crate) fn exit_now(&mut self, actor: &str, code: i32) -> anyhow::Result<()> {
        let deadline = Instant::now() + self.deadline;
        // Its exit comes on the transcript's channel, after all its output.
        while !self.process(actor)?.exited {
            if !self.pump(deadline)? {
                bail!("{actor} did not exit within {:?}", self.deadline);
            }
        }
        let status = self.process(actor)?.collect()?;
        self.record(format!("[{actor}] (exited: {status})"));
        match status.code() {
            Some(actual) if actual == code => Ok(()),
            Some(actual) => bail!("{actor} exited with status {actual}, expected {code}"),
            None => bail!("{actor} was killed by a signal ({status}), expected status {code}"),
        }
    }

    /// The process id of a process, to read what the kernel says of it in
    /// `/proc/PID` (its memory, its sockets).
    pub fn pid(&mut self, actor: &str) -> anyhow::Result<u32> {
        Ok(self.process(actor)?.pid())
    }

    /// Sends SIGINT to a process, as Ctrl-C in its terminal would.
    pub fn interrupt(&mut self, actor: &str) -> anyhow::Result<()> {
        self.process(actor)?;
        self.drain()?;
        self.record(format!("[{actor}] > (Ctrl-C)"));
        self.process(actor)?.interrupt()
    }

    /// Connects a raw TCP peer to `addr`.
    pub fn connect(&mut self, actor: &str, addr: &str) -> anyhow::Result<()> {
        let addr: SocketAddr = self.substitute(addr)?.parse().context("expected IP:PORT")?;
        self.new_peer(actor)?;
        self.record(format!("[{actor}] connects to {addr}"));
        let peer = Peer::connect(addr, self.deadline)
            .with_context(|| format!("{actor} cannot connect to {addr}"))?;
        self.actors.push((actor.to_owned(), Actor::Peer(peer)));
        Ok(())
    }

    /// Binds a raw UDP peer on loopback and connects it to `addr`.
    pub fn udp(&mut self, actor: &str, addr: &str) -> anyhow::Result<()> {
        let addr: SocketAddr = self.substitute(addr)?.parse().context("expected IP:PORT")?;
        self.new_peer(actor)?;
        let (peer, local) = Peer::udp(addr)?;
        self.record(format!("[{actor}] UDP socket {local} -> {addr}"));
        self.actors.push((actor.to_owned(), Actor::Peer(peer)));
        Ok(())
    }

    fn new_peer(&mut self, actor: &str) -> anyhow::Result<()> {
        if self.find(actor).is_some() {
            bail!("there is already an actor called {actor}");
        }
        self.drain()
    }

    /// Sends bytes from a raw peer: on TCP, into the stream; on UDP, as one
    /// datagram.
    pub fn send(&mut self, actor: &str, text: &str) -> anyhow::Result<()> {
        let bytes = unescape(&self.substitute(text)?)?;
        self.send_bytes(actor, &bytes)
    }

    /// Sends raw bytes from a peer (see [`Stage::send`]).
    pub fn send_bytes(&mut self, actor: &str, bytes: &[u8]) -> anyhow::Result<()> {
        self.peer(actor)?;
        self.drain()?;
        self.pause();
        self.record(format!(
            "[{actor}] sends {} bytes: {}",
            bytes.len(),
            preview(bytes)
        ));
        self.peer(actor)?
            .send(bytes)
            .with_context(|| format!("{actor} cannot send"))
    }

    /// Waits until a raw peer has received bytes containing `text`. On TCP the
    /// bytes may arrive in any number of reads; on UDP each datagram is
    /// checked on its own.
    pub fn recv(&mut self, actor: &str, text: &str) -> anyhow::Result<()> {
        let result = self.recv_now(actor, text);
        self.explained(result)
    }

    pub(crate) fn recv_now(&mut self, actor: &str, text: &str) -> anyhow::Result<()> {
        let needle = unescape(&self.substitute(text)?)?;
        self.receive(actor, &format!("`{text}`"), |got| {
            find(got, &needle).map(|at| at + needle.len())
        })
    }

    /// Waits until a raw UDP peer receives an empty datagram: a datagram of
    /// no bytes, which UDP delivers like any other.
    pub fn recv_empty(&mut self, actor: &str) -> anyhow::Result<()> {
        let result = self.recv_empty_now(actor);
        self.explained(result)
    }

    pub(crate) fn recv_empty_now(&mut self, actor: &str) -> anyhow::Result<()> {
        if !self.peer(actor)?.is_udp() {
            bail!("{actor} is not a UDP peer: only a datagram can be empty");
        }
        self.receive(actor, "an empty datagram", |got| {
            got.is_empty().then_some(0)
        })
    }

    /// Receives on a raw peer until `wanted` finds what it looks for in the
    /// bytes received (on UDP, in one datagram), recording each receipt.
    fn receive(
        &mut self,
        actor: &str,
        what: &str,
        wanted: impl Fn(&[u8]) -> Option<usize>,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + self.deadline;
        let limit = self.deadline;
        loop {
            if self.peer(actor)?.take_buffered(&wanted) {
                return Ok(());
            }
            let Some(received) = self.peer(actor)?.receive(deadline)? else {
                bail!("{actor} received no {what} within {limit:?}");
            };
            self.drain()?;
            self.record(format!(
                "[{actor}] received {} bytes: {}",
                received.len(),
                preview(&received)
            ));
            if self.peer(actor)?.is_udp() && wanted(&received).is_some() {
                return Ok(());
            }
        }
    }

    /// Waits for the other side of a TCP peer's connection to close it.
    pub fn closed(&mut self, actor: &str) -> anyhow::Result<()> {
        let result = self.closed_now(actor);
        self.explained(result)
    }

    pub(crate) fn closed_now(&mut self, actor: &str) -> anyhow::Result<()> {
        let limit = self.deadline;
        self.peer(actor)?.wait_closed(limit)?;
        self.drain()?;
        self.record(format!("[{actor}] the other side closed the connection"));
        Ok(())
    }

    /// Closes a TCP peer abruptly: with `SO_LINGER` set to 0, `close` makes
    /// the kernel drop any unsent data and send RST, so the other side reads
    /// "connection reset" instead of end of stream.
    pub fn reset(&mut self, actor: &str) -> anyhow::Result<()> {
        self.peer(actor)?;
        self.drain()?;
        self.record(format!("[{actor}] resets the connection (RST)"));
        self.peer(actor)?.reset()
    }

    /// Half-closes a TCP peer: it sends FIN, and can still read.
    pub fn shutdown(&mut self, actor: &str) -> anyhow::Result<()> {
        self.peer(actor)?;
        self.drain()?;
        self.record(format!("[{actor}] closes its side (FIN)"));
        self.peer(actor)?.shutdown()
    }

    /// Adds the transcript to a failed step, so that the failure says what
    /// every actor printed.
    fn explained<T>(&mut self, result: anyhow::Result<T>) -> anyhow::Result<T> {
        result.map_err(|err| {
            let transcript = self.transcript();
            anyhow!("{err:#}\n{transcript}")
        })
    }

    fn find(&mut self, actor: &str) -> Option<&mut Actor> {
        self.actors
            .iter_mut()
            .find(|(name, _)| name == actor)
            .map(|(_, actor)| actor)
    }

    fn process(&mut self, actor: &str) -> anyhow::Result<&mut Process> {
        match self.find(actor) {
            Some(Actor::Process(process)) => Ok(process),
            Some(_) => bail!("{actor} is a socket peer, not a process"),
            None => bail!("no actor called {actor} has been started"),
        }
    }

    fn peer(&mut self, actor: &str) -> anyhow::Result<&mut Peer> {
        match self.find(actor) {
            Some(Actor::Process(_)) => bail!("{actor} is a process, not a socket peer"),
            Some(Actor::Peer(peer)) => Ok(peer),
            None => bail!("no peer called {actor} has connected"),
        }
    }

    fn substitute(&mut self, text: &str) -> anyhow::Result<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..]
                .find('}')
                .with_context(|| format!("unclosed `{{` in `{text}`"))?;
            let name = &rest[open + 1..open + close];
            if name == "dir" {
                let dir = self.dir()?;
                out.push_str(&dir.to_string_lossy());
                rest = &rest[open + close + 1..];
                continue;
            }
            let value = self.vars.get(name).with_context(|| {
                format!("`{{{name}}}` is unknown: serve a server called {name} first")
            })?;
            out.push_str(value);
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Waits for the next event until `deadline`; false if none came.
    fn pump(&mut self, deadline: Instant) -> anyhow::Result<bool> {
        match self.tap.next(deadline)? {
            Some(event) => {
                self.take(event);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Takes every event already queued, in order, so that what this stage
    /// records next comes after everything that has happened.
    fn drain(&mut self) -> anyhow::Result<()> {
        for event in self.tap.drain()? {
            self.take(event);
        }
        Ok(())
    }

    fn take(&mut self, event: Event) {
        match event {
            Event::Line {
                actor,
                stream,
                text,
            } => {
                self.record(format!("[{actor}] {text}"));
                if let Some(Actor::Process(process)) = self.find(&actor) {
                    process.seen.push(text.clone());
                    process.pending.push_back((stream, text));
                }
            }
            Event::Exited { actor } => {
                if let Some(Actor::Process(process)) = self.find(&actor) {
                    process.exited = true;
                }
            }
            Event::Marker(_) => {}
        }
    }

    fn record(&mut self, line: String) {
        if self.echo && self.echo_failed.is_none() {
            let mut out = common::out();
            if let Err(err) = writeln!(out, "{}", colour_label(&line)) {
                self.echo_failed = Some(err);
            }
        }
        self.log.push(line);
    }

    fn pause(&self) {
        if !self.pace.is_zero() {
            // The demo only: give the person watching time to read.
            std::thread::sleep(self.pace);
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        for (_, actor) in &mut self.actors {
            if let Actor::Process(process) = actor {
                process.kill();
            }
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn colour_label(line: &str) -> String {
    if !common::colour_enabled() {
        return line.to_owned();
    }
    if let Some(rest) = line.strip_prefix("── ") {
        return format!("\x1b[1;33m── {rest}\x1b[0m");
    }
    match line.split_once("] ") {
        Some((label, rest)) if label.starts_with('[') => {
            let colour = if label.contains("server") { 36 } else { 35 };
            format!("\x1b[1;{colour}m{label}]\x1b[0m {rest}")
        }
        _ => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::split_words;

    #[test]
    fn words_split_at_spaces_outside_quotes() {
        assert_eq!(split_words("a  b\tc"), ["a", "b", "c"]);
        assert_eq!(
            split_words("sh -c 'echo one; echo two' \"x y\" ''"),
            ["sh", "-c", "echo one; echo two", "x y", ""]
        );
        assert!(split_words("  ").is_empty());
    }
}
