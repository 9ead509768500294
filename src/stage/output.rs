//! The one channel every actor's output travels on, so that the transcript
//! lists lines in the order they were written.
//!
//! One reader per pipe cannot know which of two pipes was written first: two
//! threads race to report their lines. Here every process's stdout and
//! stderr is a Unix datagram socket connected to one receiving socket. The
//! kernel queues datagrams in the order the `write` calls happened, whoever
//! made them, and each datagram arrives with its sender's address, which
//! names the actor and the stream. A server's "received hello!" therefore
//! always comes after the client's "sending: hello!": the client wrote that
//! line before it sent the bytes the server received.
//!
//! A process's exit is queued on the same socket, by a thread that waits for
//! the exit and then sends one datagram: everything the process wrote was
//! queued before it exited, so its lines always come before its exit.
//!
//! One thread moves datagrams from the socket to a channel as they arrive
//! (a full socket queue would block the writers), and [`Tap::drain`] finds
//! the end of what is queued *now* by sending itself a marker and reading up
//! to it.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use nix::unistd::Pid;

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// What arrives on the channel, in the order it happened.
#[derive(Debug)]
pub enum Event {
    /// A whole line an actor wrote (its line ending removed).
    Line {
        actor: String,
        stream: Stream,
        text: String,
    },
    /// The actor's process has exited; all its lines came before this.
    Exited { actor: String },
    /// A marker sent by [`Tap::drain`].
    Marker(u64),
}

/// What a sender's address stands for.
#[derive(Debug, Clone)]
enum Source {
    Output { actor: String, stream: Stream },
    Exit { actor: String },
    Marker,
    Stop,
}

/// The largest datagram read at once: more than a process writes in one
/// `write` to its stdout (Rust's stdout writes a line at a time).
const MAX_DATAGRAM: usize = 256 * 1024;

/// The receiving end, see the module documentation.
pub struct Tap {
    /// Abstract socket names start with this: unique to this process and
    /// this tap.
    prefix: String,
    /// The receiving socket's address, for the senders to connect to.
    receiver: SocketAddr,
    /// Sender names and what they stand for, shared with the reading thread.
    sources: Arc<Mutex<HashMap<Vec<u8>, Source>>>,
    /// Events from the reading thread.
    events: Receiver<Event>,
    /// Sends the markers (and the final stop).
    marker: UnixDatagram,
    /// The next marker's number.
    next_marker: u64,
    /// Numbers the sender sockets.
    next_sender: u64,
}

/// Numbers the taps of this process (tests run many stages at once).
static TAPS: AtomicU64 = AtomicU64::new(0);

impl Tap {
    /// Binds the receiving socket and starts the thread that reads it.
    pub fn new() -> anyhow::Result<Tap> {
        let prefix = format!(
            "course-stage-{}-{}",
            std::process::id(),
            TAPS.fetch_add(1, Ordering::Relaxed)
        );
        let receiver = SocketAddr::from_abstract_name(format!("{prefix}-in"))?;
        let socket =
            UnixDatagram::bind_addr(&receiver).context("cannot bind the transcript's socket")?;
        let sources = Arc::new(Mutex::new(HashMap::new()));
        let (sender, events) = mpsc::channel();
        let marker_name = format!("{prefix}-marker");
        let stop_name = format!("{prefix}-stop");
        {
            let mut map = sources.lock().unwrap_or_else(PoisonError::into_inner);
            map.insert(marker_name.clone().into_bytes(), Source::Marker);
            map.insert(stop_name.into_bytes(), Source::Stop);
        }
        let marker = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(&marker_name)?)?;
        marker.connect_addr(&receiver)?;
        let shared = Arc::clone(&sources);
        std::thread::Builder::new()
            .name("transcript".to_owned())
            .spawn(move || read_events(&socket, &shared, &sender))
            .context("cannot start the transcript's thread")?;
        Ok(Tap {
            prefix,
            receiver,
            sources,
            events,
            marker,
            next_marker: 0,
            next_sender: 0,
        })
    }

    /// A socket for one output stream of `actor`, to give a child process
    /// as its stdout or stderr.
    pub fn output(&mut self, actor: &str, stream: Stream) -> anyhow::Result<OwnedFd> {
        let source = Source::Output {
            actor: actor.to_owned(),
            stream,
        };
        Ok(self.sender(source)?.into())
    }

    /// Watches process `pid` of `actor` and queues its exit after its output.
    pub fn watch_exit(&mut self, actor: &str, pid: u32) -> anyhow::Result<()> {
        let socket = self.sender(Source::Exit {
            actor: actor.to_owned(),
        })?;
        let pid = Pid::from_raw(i32::try_from(pid)?);
        std::thread::Builder::new()
            .name(format!("wait-{actor}"))
            .spawn(move || {
                // WNOWAIT: learn of the exit but leave the process for the
                // stage to collect, with its status, in `exit`.
                let _ = waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT);
                let _ = socket.send(b"exited");
            })
            .context("cannot start a thread to wait for the process")?;
        Ok(())
    }

    /// A new sender socket standing for `source`, connected to the receiver.
    fn sender(&mut self, source: Source) -> anyhow::Result<UnixDatagram> {
        let name = format!("{}-{}", self.prefix, self.next_sender);
        self.next_sender += 1;
        self.sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.clone().into_bytes(), source);
        let socket = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(&name)?)
            .context("cannot bind an output socket")?;
        socket.connect_addr(&self.receiver)?;
        Ok(socket)
    }

    /// The next event, waiting until `deadline`; `None` if none came.
    pub fn next(&mut self, deadline: Instant) -> anyhow::Result<Option<Event>> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                // A marker whose drain gave up: nothing to report.
                Ok(Event::Marker(_)) => continue,
                Ok(event) => return Ok(Some(event)),
                Err(RecvTimeoutError::Timeout) => return Ok(None),
                Err(RecvTimeoutError::Disconnected) => {
                    bail!("the transcript's thread has stopped")
                }
            }
        }
    }

    /// Every event queued up to now, in order: the marker sent here is
    /// queued after all of them, so reading up to it reads exactly them.
    pub fn drain(&mut self) -> anyhow::Result<Vec<Event>> {
        let number = self.next_marker;
        self.next_marker += 1;
        self.marker.send(&number.to_le_bytes())?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut events = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(Event::Marker(seen)) if seen == number => return Ok(events),
                Ok(Event::Marker(_)) => {}
                Ok(event) => events.push(event),
                Err(_) => bail!("the transcript's marker did not come back"),
            }
        }
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        // Ends the reading thread; the senders' sockets die with their
        // processes and threads.
        let stop = SocketAddr::from_abstract_name(format!("{}-stop", self.prefix))
            .and_then(|name| UnixDatagram::bind_addr(&name));
        if let Ok(stop) = stop {
            let _ = stop.send_to_addr(b"stop", &self.receiver);
        }
    }
}

/// The reading thread: datagrams in, events out, lines put together.
fn read_events(
    socket: &UnixDatagram,
    sources: &Mutex<HashMap<Vec<u8>, Source>>,
    events: &Sender<Event>,
) {
    let mut buf = vec![0; MAX_DATAGRAM];
    // Bytes of a line not yet ended, per sender name.
    let mut partial: HashMap<Vec<u8>, (String, Stream, Vec<u8>)> = HashMap::new();
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            return;
        };
        let Some(name) = from.as_abstract_name().map(<[u8]>::to_vec) else {
            continue;
        };
        let source = sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&name)
            .cloned();
        let sent = match source {
            Some(Source::Output { actor, stream }) => {
                let (_, _, bytes) = partial
                    .entry(name)
                    .or_insert_with(|| (actor.clone(), stream, Vec::new()));
                bytes.extend_from_slice(&buf[..n]);
                let mut ok = true;
                while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = bytes.drain(..=end).collect();
                    ok &= send_line(events, &actor, stream, &line);
                }
                ok
            }
            Some(Source::Exit { actor }) => {
                // A last line without its line ending still counts.
                let mut ok = true;
                for (_, (owner, stream, bytes)) in partial.iter_mut() {
                    if *owner == actor && !bytes.is_empty() {
                        ok &= send_line(events, owner, *stream, bytes);
                        bytes.clear();
                    }
                }
                ok && events.send(Event::Exited { actor }).is_ok()
            }
            Some(Source::Marker) => {
                let number = buf[..n]
                    .try_into()
                    .map(u64::from_le_bytes)
                    .unwrap_or(u64::MAX);
                events.send(Event::Marker(number)).is_ok()
            }
            Some(Source::Stop) => return,
            None => true,
        };
        if !sent {
            return;
        }
    }
}

fn send_line(events: &Sender<Event>, actor: &str, stream: Stream, line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(common::show::trim_line_ending(line)).into_owned();
    events
        .send(Event::Line {
            actor: actor.to_owned(),
            stream,
            text,
        })
        .is_ok()
}
