//! The stage a scenario is played on: lesson binaries run as child processes
//! with piped stdin, stdout and stderr, and raw TCP or UDP peers talk to them
//! from this process.
//!
//! Nothing here sleeps to wait. Every wait is for an event (a line of output,
//! a stream closing, bytes on a socket) and ends at a deadline, and a failure
//! says what every actor printed. Dropping the stage kills every process it
//! started, so a failing test leaves no server behind.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};

use crate::scenario::{Action, Step, unescape};

/// How long a step may wait unless the scenario says otherwise.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(5);

/// Where the lesson binaries are: each name maps to a path, or else is
/// looked up in one folder (the demo player uses the folder it runs from).
#[derive(Debug, Clone, Default)]
pub struct Bins {
    named: HashMap<String, PathBuf>,
    folder: Option<PathBuf>,
}

impl Bins {
    /// No binaries yet: add them with [`Bins::with`], or use [`crate::bins!`].
    pub fn new() -> Self {
        Bins::default()
    }

    /// Every binary in `folder` (such as `target/debug`).
    pub fn in_folder(folder: impl Into<PathBuf>) -> Self {
        Bins {
            named: HashMap::new(),
            folder: Some(folder.into()),
        }
    }

    /// Adds one binary by name and path.
    pub fn with(mut self, name: &str, path: impl Into<PathBuf>) -> Self {
        self.named.insert(name.to_owned(), path.into());
        self
    }

    /// Adds a binary of another lesson's package, found beside `own` (a
    /// binary of this one): Cargo gives a test only its own package's
    /// binaries, and `cargo build --workspace --bins` (which `make test`
    /// runs) puts the others in the same folder.
    pub fn with_neighbour(self, own: &str, name: &str) -> anyhow::Result<Self> {
        let path = self.path(own)?.with_file_name(name);
        if !path.exists() {
            bail!(
                "{} is missing: run `cargo build --workspace --bins` (make test does) first",
                path.display()
            );
        }
        Ok(self.with(name, path))
    }

    /// The path of binary `name`.
    pub fn path(&self, name: &str) -> anyhow::Result<PathBuf> {
        if let Some(path) = self.named.get(name) {
            return Ok(path.clone());
        }
        let Some(folder) = &self.folder else {
            bail!("no binary called `{name}` was given to the stage (see course::bins!)");
        };
        let path = folder.join(name);
        if !path.exists() {
            bail!(
                "{} does not exist: build it first with `cargo build --workspace --bins`",
                path.display()
            );
        }
        Ok(path)
    }
}

/// A command line for [`Stage::start`] and [`Stage::serve`]: a `&str` is
/// split at white space, as a scenario line is (`"tcp-hello-server --reply
/// hi"`); a list of words is taken as it is, so one word may hold spaces.
pub trait CommandLine {
    /// The program's name and its arguments, one word each.
    fn words(self) -> Vec<String>;
}

impl CommandLine for &str {
    fn words(self) -> Vec<String> {
        self.split_whitespace().map(str::to_owned).collect()
    }
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

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

/// What the reader threads report.
enum Event {
    Line {
        actor: String,
        stream: Stream,
        text: String,
    },
    Closed {
        actor: String,
    },
}

/// A lesson binary running as a child process.
struct Process {
    child: Child,
    /// `None` once the scenario closed it (`eof`).
    stdin: Option<ChildStdin>,
    /// Lines printed but not yet consumed by an `expect`.
    pending: VecDeque<(Stream, String)>,
    /// Every line printed so far, for `absent`.
    seen: Vec<String>,
    /// How many of stdout and stderr are still open.
    open_streams: u8,
    /// The exit status, once known.
    status: Option<ExitStatus>,
}

/// An actor of the scenario.
enum Actor {
    Process(Box<Process>),
    Tcp {
        /// `None` once closed by `reset`.
        stream: Option<TcpStream>,
        /// Bytes received and not yet consumed by a `recv`.
        received: Vec<u8>,
    },
    Udp {
        socket: UdpSocket,
    },
}

/// Runs a scenario's actors. See the module documentation.
pub struct Stage {
    bins: Bins,
    deadline: Duration,
    events: Receiver<Event>,
    sender: Sender<Event>,
    /// In order of appearance, so transcripts list them as the scenario does.
    actors: Vec<(String, Actor)>,
    /// `{name}` placeholders: a server's address and port.
    vars: HashMap<String, String>,
    /// Everything that happened, for failure reports.
    log: Vec<String>,
    /// Print events as they happen (the demo) rather than only log them.
    echo: bool,
    /// Pause before each typed or sent message so a person can follow (the demo only).
    pace: Duration,
}

impl Stage {
    /// A stage with no actors yet, quiet (for tests).
    pub fn new(bins: Bins) -> Self {
        let (sender, events) = mpsc::channel();
        Stage {
            bins,
            deadline: DEFAULT_DEADLINE,
            events,
            sender,
            actors: Vec::new(),
            vars: HashMap::new(),
            log: Vec::new(),
            echo: false,
            pace: Duration::ZERO,
        }
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

    /// Shows narration in the demo (and in failure transcripts).
    pub fn narrate(&mut self, text: &str) {
        self.pause();
        self.record(format!("── {text}"));
    }

    /// The value of a `{name}` placeholder, such as a server's address.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Everything that happened so far, one line per event, for a failure
    /// message: what each side printed, typed, sent and received.
    pub fn transcript(&mut self) -> String {
        self.drain();
        let mut out = String::from("transcript so far:\n");
        for line in &self.log {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
        if self.log.is_empty() {
            out.push_str("  (nothing)\n");
        }
        out
    }

    /// Plays one step.
    pub fn play(&mut self, step: &Step) -> anyhow::Result<()> {
        let actor = step.actor.as_str();
        match &step.action {
            Action::Serve(words) => self.serve_now(actor, words).map(drop),
            Action::Start(words) => self.start_words(actor, words),
            Action::Type(text) => self.type_line(actor, text),
            Action::Eof => self.close_stdin(actor),
            Action::Expect(text) => self.expect_now(actor, text).map(drop),
            Action::Absent(text) => self.absent_now(actor, text),
            Action::Exit(code) => self.exit_now(actor, *code),
            Action::Interrupt => self.interrupt(actor),
            Action::Connect(addr) => self.connect(actor, addr),
            Action::Send(text) => self.send(actor, text),
            Action::Recv(text) => self.recv_now(actor, text),
            Action::Closed => self.closed_now(actor),
            Action::Shutdown => self.shutdown(actor),
            Action::Reset => self.reset(actor),
            Action::Udp(addr) => self.udp(actor, addr),
        }
    }

    /// Starts a server, on 127.0.0.1:0 unless `words` has `--addr`, and
    /// waits for its ready line; returns the address it bound.
    pub fn serve(&mut self, actor: &str, command: impl CommandLine) -> anyhow::Result<SocketAddr> {
        let result = self.serve_now(actor, &command.words());
        self.explained(result)
    }

    fn serve_now(&mut self, actor: &str, words: &[String]) -> anyhow::Result<SocketAddr> {
        let mut words = words.to_vec();
        if !words
            .iter()
            .any(|word| word == "--addr" || word.starts_with("--addr="))
        {
            words.extend(["--addr".to_owned(), "127.0.0.1:0".to_owned()]);
        }
        self.start_words(actor, &words)?;
        let deadline = Instant::now() + self.deadline;
        let line = loop {
            match self.process(actor)?.pending.pop_front() {
                Some((Stream::Stdout, line)) => break line,
                Some((Stream::Stderr, _)) => continue,
                None => {}
            }
            if self.process(actor)?.open_streams == 0 {
                bail!("{actor} ended before printing its ready line (`listening on IP:PORT`)");
            }
            if !self.pump(deadline)? {
                bail!("{actor} printed no ready line within {:?}", self.deadline);
            }
        };
        let addr: SocketAddr = line
            .strip_prefix("listening on ")
            .and_then(|addr| addr.trim().parse().ok())
            .with_context(|| {
                format!("{actor}'s first line should be `listening on IP:PORT`, not `{line}`")
            })?;
        self.vars.insert(actor.to_owned(), addr.to_string());
        self.vars
            .insert(format!("{actor}.port"), addr.port().to_string());
        Ok(addr)
    }

    /// Starts a binary. Leading `NAME=value` words set its environment.
    pub fn start(&mut self, actor: &str, command: impl CommandLine) -> anyhow::Result<()> {
        self.start_words(actor, &command.words())
    }

    fn start_words(&mut self, actor: &str, words: &[String]) -> anyhow::Result<()> {
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
        let mut command = Command::new(&path);
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for pair in env {
            if let Some((key, value)) = pair.split_once('=') {
                command.env(key, value);
            }
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", path.display()))?;
        self.record(format!("[{actor}] $ {}", words.join(" ")));
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let stderr = child.stderr.take().context("no stderr pipe")?;
        self.read_lines(actor, Stream::Stdout, stdout);
        self.read_lines(actor, Stream::Stderr, stderr);
        let stdin = child.stdin.take();
        self.actors.push((
            actor.to_owned(),
            Actor::Process(Box::new(Process {
                child,
                stdin,
                pending: VecDeque::new(),
                seen: Vec::new(),
                open_streams: 2,
                status: None,
            })),
        ));
        Ok(())
    }

    /// Types a line on a process's stdin.
    pub fn type_line(&mut self, actor: &str, text: &str) -> anyhow::Result<()> {
        let mut bytes = unescape(&self.substitute(text)?)?;
        self.pause();
        if bytes.is_empty() {
            self.record(format!("[{actor}] > (Enter, on an empty line)"));
        } else {
            self.record(format!("[{actor}] > {}", common::show(&bytes)));
        }
        bytes.push(b'\n');
        let process = self.process(actor)?;
        let stdin = process
            .stdin
            .as_mut()
            .with_context(|| format!("{actor}'s stdin is already closed"))?;
        stdin
            .write_all(&bytes)
            .and_then(|()| stdin.flush())
            .with_context(|| format!("cannot type into {actor}: has it exited?"))
    }

    /// Closes a process's stdin: end of input, as Ctrl-D on a terminal.
    pub fn close_stdin(&mut self, actor: &str) -> anyhow::Result<()> {
        self.record(format!("[{actor}] > (end of input)"));
        self.process(actor)?.stdin = None;
        Ok(())
    }

    /// Waits for a line from `actor` containing `text`; lines before it are
    /// passed over. Returns the whole line.
    pub fn expect(&mut self, actor: &str, text: &str) -> anyhow::Result<String> {
        let result = self.expect_now(actor, text);
        self.explained(result)
    }

    fn expect_now(&mut self, actor: &str, text: &str) -> anyhow::Result<String> {
        let text = self.substitute(text)?;
        let deadline = Instant::now() + self.deadline;
        loop {
            let process = self.process(actor)?;
            while let Some((_, line)) = process.pending.pop_front() {
                if line.contains(&text) {
                    return Ok(line);
                }
            }
            if process.open_streams == 0 {
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

    fn absent_now(&mut self, actor: &str, text: &str) -> anyhow::Result<()> {
        let text = self.substitute(text)?;
        self.drain();
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

    fn exit_now(&mut self, actor: &str, code: i32) -> anyhow::Result<()> {
        let deadline = Instant::now() + self.deadline;
        // First its output: a process closes its pipes as it exits.
        while self.process(actor)?.open_streams > 0 {
            if !self.pump(deadline)? {
                bail!("{actor} did not exit within {:?}", self.deadline);
            }
        }
        let status = loop {
            let process = self.process(actor)?;
            if let Some(status) = process.child.try_wait()? {
                process.status = Some(status);
                break status;
            }
            // Its pipes are closed, so it is exiting: check again shortly.
            if Instant::now() >= deadline {
                bail!(
                    "{actor} closed its output but did not exit within {:?}",
                    self.deadline
                );
            }
            match self.events.recv_timeout(Duration::from_millis(5)) {
                Ok(event) => self.take(event),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => bail!("the stage lost its event channel"),
            }
        };
        self.record(format!("[{actor}] (exited: {status})"));
        match status.code() {
            Some(actual) if actual == code => Ok(()),
            Some(actual) => bail!("{actor} exited with status {actual}, expected {code}"),
            None => bail!("{actor} was killed by a signal ({status}), expected status {code}"),
        }
    }

    /// Sends SIGINT to a process, as Ctrl-C in its terminal would.
    pub fn interrupt(&mut self, actor: &str) -> anyhow::Result<()> {
        let pid = self.process(actor)?.child.id().to_string();
        self.record(format!("[{actor}] > (Ctrl-C)"));
        let status = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .context("cannot run kill")?;
        if !status.success() {
            bail!("kill -INT {pid} failed: {status}");
        }
        Ok(())
    }

    /// Connects a raw TCP peer to `addr`.
    pub fn connect(&mut self, actor: &str, addr: &str) -> anyhow::Result<()> {
        let addr: SocketAddr = self.substitute(addr)?.parse().context("expected IP:PORT")?;
        let stream = TcpStream::connect_timeout(&addr, self.deadline)
            .with_context(|| format!("{actor} cannot connect to {addr}"))?;
        self.record(format!("[{actor}] connected to {addr}"));
        self.actors.push((
            actor.to_owned(),
            Actor::Tcp {
                stream: Some(stream),
                received: Vec::new(),
            },
        ));
        Ok(())
    }

    /// Binds a raw UDP peer on loopback and connects it to `addr`.
    pub fn udp(&mut self, actor: &str, addr: &str) -> anyhow::Result<()> {
        let addr: SocketAddr = self.substitute(addr)?.parse().context("expected IP:PORT")?;
        let local: SocketAddr = if addr.is_ipv4() {
            "127.0.0.1:0"
        } else {
            "[::1]:0"
        }
        .parse()?;
        let socket = UdpSocket::bind(local)?;
        socket.connect(addr)?;
        self.record(format!(
            "[{actor}] UDP socket {} -> {addr}",
            socket.local_addr()?
        ));
        self.actors.push((actor.to_owned(), Actor::Udp { socket }));
        Ok(())
    }

    /// Sends bytes from a raw peer: on TCP, into the stream; on UDP, as one
    /// datagram.
    pub fn send(&mut self, actor: &str, text: &str) -> anyhow::Result<()> {
        let bytes = unescape(&self.substitute(text)?)?;
        self.send_bytes(actor, &bytes)
    }

    /// Sends raw bytes from a peer (see [`Stage::send`]).
    pub fn send_bytes(&mut self, actor: &str, bytes: &[u8]) -> anyhow::Result<()> {
        self.pause();
        let shown = format!("[{actor}] sends {} bytes: {}", bytes.len(), preview(bytes));
        self.record(shown);
        match self.peer(actor)? {
            Actor::Tcp { stream, .. } => stream
                .as_mut()
                .context("the connection is closed")?
                .write_all(bytes)
                .with_context(|| format!("{actor} cannot send")),
            Actor::Udp { socket } => {
                let sent = socket
                    .send(bytes)
                    .with_context(|| format!("{actor} cannot send"))?;
                anyhow::ensure!(
                    sent == bytes.len(),
                    "only {sent} bytes of the datagram sent"
                );
                Ok(())
            }
            Actor::Process(_) => unreachable!("peer() returns peers only"),
        }
    }

    /// Waits until a raw peer has received bytes containing `text`. On TCP the
    /// bytes may arrive in any number of reads; on UDP each datagram is
    /// checked on its own.
    pub fn recv(&mut self, actor: &str, text: &str) -> anyhow::Result<()> {
        let result = self.recv_now(actor, text);
        self.explained(result)
    }

    fn recv_now(&mut self, actor: &str, text: &str) -> anyhow::Result<()> {
        let needle = unescape(&self.substitute(text)?)?;
        let deadline = Instant::now() + self.deadline;
        let limit = self.deadline;
        let mut buf = vec![0; 65_536];
        loop {
            let left = deadline
                .checked_duration_since(Instant::now())
                .filter(|left| !left.is_zero())
                .ok_or_else(|| anyhow!("{actor} received no `{text}` within {limit:?}"))?;
            let (got, datagram) = match self.peer(actor)? {
                Actor::Tcp { stream, received } => {
                    if let Some(at) = find(received, &needle) {
                        received.drain(..at + needle.len());
                        return Ok(());
                    }
                    let stream = stream.as_mut().context("the connection is closed")?;
                    stream.set_read_timeout(Some(left))?;
                    let n = read_or_timeout(stream.read(&mut buf), actor, text, limit)?;
                    if n == 0 {
                        bail!("{actor}'s connection was closed before `{text}` arrived");
                    }
                    received.extend_from_slice(&buf[..n]);
                    (n, false)
                }
                Actor::Udp { socket } => {
                    socket.set_read_timeout(Some(left))?;
                    let n = read_or_timeout(socket.recv(&mut buf), actor, text, limit)?;
                    (n, true)
                }
                Actor::Process(_) => unreachable!("peer() returns peers only"),
            };
            self.record(format!(
                "[{actor}] received {got} bytes: {}",
                preview(&buf[..got])
            ));
            if datagram && find(&buf[..got], &needle).is_some() {
                return Ok(());
            }
        }
    }

    /// Waits for the other side of a TCP peer's connection to close it.
    pub fn closed(&mut self, actor: &str) -> anyhow::Result<()> {
        let result = self.closed_now(actor);
        self.explained(result)
    }

    fn closed_now(&mut self, actor: &str) -> anyhow::Result<()> {
        let limit = self.deadline;
        let Actor::Tcp { stream, received } = self.peer(actor)? else {
            bail!("{actor} is not a TCP peer");
        };
        let stream = stream.as_mut().context("the connection is closed")?;
        stream.set_read_timeout(Some(limit))?;
        let mut buf = [0; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
                Err(err) if common::is_timeout(&err) => {
                    bail!("{actor}'s connection was not closed within {limit:?}")
                }
                Err(err) => return Err(err).context(format!("{actor}'s connection failed")),
            }
        }
        self.record(format!("[{actor}] the other side closed the connection"));
        Ok(())
    }

    /// Closes a TCP peer abruptly: with `SO_LINGER` set to 0, `close` makes
    /// the kernel drop any unsent data and send RST, so the other side reads
    /// "connection reset" instead of end of stream.
    pub fn reset(&mut self, actor: &str) -> anyhow::Result<()> {
        let Actor::Tcp { stream, .. } = self.peer(actor)? else {
            bail!("{actor} is not a TCP peer");
        };
        let stream = stream.take().context("the connection is already closed")?;
        socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
        drop(stream);
        self.record(format!("[{actor}] reset the connection (RST)"));
        Ok(())
    }

    /// Half-closes a TCP peer: it sends FIN, and can still read.
    pub fn shutdown(&mut self, actor: &str) -> anyhow::Result<()> {
        let Actor::Tcp { stream, .. } = self.peer(actor)? else {
            bail!("{actor} is not a TCP peer");
        };
        stream
            .as_ref()
            .context("the connection is closed")?
            .shutdown(Shutdown::Write)?;
        self.record(format!("[{actor}] closed its side (FIN)"));
        Ok(())
    }

    /// Adds the transcript to a failed wait, so that the failure says what
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

    fn peer(&mut self, actor: &str) -> anyhow::Result<&mut Actor> {
        match self.find(actor) {
            Some(Actor::Process(_)) => bail!("{actor} is a process, not a socket peer"),
            Some(peer) => Ok(peer),
            None => bail!("no peer called {actor} has connected"),
        }
    }

    fn substitute(&self, text: &str) -> anyhow::Result<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..]
                .find('}')
                .with_context(|| format!("unclosed `{{` in `{text}`"))?;
            let name = &rest[open + 1..open + close];
            let value = self.vars.get(name).with_context(|| {
                format!("`{{{name}}}` is unknown: serve a server called {name} first")
            })?;
            out.push_str(value);
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn read_lines(&self, actor: &str, stream: Stream, pipe: impl Read + Send + 'static) {
        let sender = self.sender.clone();
        let actor = actor.to_owned();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(common::show::trim_line_ending(&line))
                            .into_owned();
                        let event = Event::Line {
                            actor: actor.clone(),
                            stream,
                            text,
                        };
                        if sender.send(event).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = sender.send(Event::Closed { actor });
        });
    }

    /// Waits for the next event until `deadline`; false if none came.
    fn pump(&mut self, deadline: Instant) -> anyhow::Result<bool> {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return Ok(false);
        };
        match self.events.recv_timeout(left) {
            Ok(event) => {
                self.take(event);
                Ok(true)
            }
            Err(RecvTimeoutError::Timeout) => Ok(false),
            Err(RecvTimeoutError::Disconnected) => bail!("the stage lost its event channel"),
        }
    }

    /// Takes every event already waiting, without blocking.
    fn drain(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            self.take(event);
        }
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
            Event::Closed { actor } => {
                if let Some(Actor::Process(process)) = self.find(&actor) {
                    process.open_streams = process.open_streams.saturating_sub(1);
                }
            }
        }
    }

    fn record(&mut self, line: String) {
        if self.echo {
            println!("{}", colour_label(&line));
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
                if process.status.is_none() {
                    let _ = process.child.kill();
                }
                let _ = process.child.wait();
            }
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

fn read_or_timeout(
    result: std::io::Result<usize>,
    actor: &str,
    text: &str,
    limit: Duration,
) -> anyhow::Result<usize> {
    match result {
        Ok(n) => Ok(n),
        Err(err) if common::is_timeout(&err) => {
            bail!("{actor} received no `{text}` within {limit:?}")
        }
        Err(err) => Err(err).context(format!("{actor} failed while waiting for `{text}`")),
    }
}

/// At most 80 characters of bytes, shown safely.
fn preview(bytes: &[u8]) -> String {
    let shown = common::show(bytes).to_string();
    match shown.char_indices().nth(80) {
        Some((at, _)) => format!("{}...", &shown[..at]),
        None => shown,
    }
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
