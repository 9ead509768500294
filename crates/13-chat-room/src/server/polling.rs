//! The room with one thread and readiness polling (`mio`, which is epoll on
//! Linux).
//!
//! Every socket is non-blocking: a `read` or `write` that cannot go ahead at
//! once returns `WouldBlock` instead of waiting. The one thread waits in a
//! single place, `poll`, for the kernel to say which sockets are ready, and
//! then reads and writes only those. Each client has a read buffer (the
//! framing's `LineDecoder`, holding an unfinished line) and a bounded queue
//! of lines to write; a write that takes only part of what it was given is
//! finished when the kernel says the socket is writable again.

use std::collections::{HashMap, VecDeque};
use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;

use crate::{Id, Leaving, Line, MAX_LINE, Next, Outbox, QUEUE_LINES, Room};
use anyhow::Context;
use common::framing::LineDecoder;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

/// The listening socket's token; a client's token is its `Id`.
const LISTENER: Token = Token(usize::MAX);

/// One connected client, as the loop sees it.
struct Connection {
    socket: TcpStream,
    /// Bytes read but not yet a whole line.
    decoder: LineDecoder,
    /// Whether the kernel is asked to say when the socket is writable: only
    /// while a write is unfinished, or every idle client would wake the loop.
    waiting_to_write: bool,
}

/// A client's queue of lines, and how much of the first is written.
#[derive(Default)]
struct Queue {
    lines: VecDeque<Line>,
    written: usize,
}

impl Outbox for Queue {
    fn offer(&mut self, line: &Line) -> bool {
        if self.lines.len() >= QUEUE_LINES {
            return false;
        }
        self.lines.push_back(Line::clone(line));
        true
    }
}

// ANCHOR: loop
pub fn serve(listener: std::net::TcpListener, log: bool, max_clients: usize) -> anyhow::Result<()> {
    listener.set_nonblocking(true)?;
    let mut listener = TcpListener::from_std(listener);
    // epoll_create(): the kernel's list of sockets this thread waits on.
    let mut poll = Poll::new().context("cannot create the poll")?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    let mut connections: HashMap<Id, Connection> = HashMap::new();
    let mut room = Room::noting_deliveries(log, max_clients);
    let mut next_id: Id = 0;
    // One read buffer for every client: a client's own memory is only the
    // unfinished line its decoder holds.
    let mut buf = vec![0; 4 * 1024];

    loop {
        // epoll_wait(): the only place this thread ever waits.
        if let Err(err) = poll.poll(&mut events, None) {
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err).context("poll failed");
        }
        for event in &events {
            if event.token() == LISTENER {
                accept_all(&listener, &poll, &mut connections, &mut room, &mut next_id);
                continue;
            }
            let id = event.token().0 as Id;
            let mut gone = None;
            if event.is_readable() || event.is_read_closed() || event.is_error() {
                gone = read_lines(id, &mut connections, &poll, &mut room, &mut buf);
            }
            if gone.is_none() && event.is_writable() {
                // Writable again: write what is left of its queue.
                if let Some(conn) = connections.get_mut(&id) {
                    gone = write_queue(id, conn, &poll, &mut room).err();
                }
            }
            if let Some(why) = gone {
                close(id, &mut connections, &poll, &mut room, why);
            }
        }
        // Everyone given lines in this round gets them written now: one
        // write() per client for all its lines, not one per line.
        flush_delivered(&mut connections, &poll, &mut room);
    }
}
// ANCHOR_END: loop

// ANCHOR: accept
/// Accepts every client waiting: the kernel reports the listener readable
/// once for a burst of connections, so accept() is called until it would
/// block.
fn accept_all(
    listener: &TcpListener,
    poll: &Poll,
    connections: &mut HashMap<Id, Connection>,
    room: &mut Room<Queue>,
    next_id: &mut Id,
) {
    loop {
        let mut socket = match listener.accept() {
            Ok((socket, _)) => socket,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                // Out of file descriptors, say. The client waits in the
                // queue; the next connection wakes the loop again.
                common::output::say_on_stderr(format_args!("accept failed: {err}"));
                return;
            }
        };
        if room.is_full() {
            // Say so and close (the write fits in the empty send buffer).
            let _ = socket.write(crate::ROOM_FULL);
            continue;
        }
        let id = *next_id;
        *next_id += 1;
        let token = Token(id as usize);
        if poll
            .registry()
            .register(&mut socket, token, Interest::READABLE)
            .is_err()
        {
            continue;
        }
        connections.insert(
            id,
            Connection {
                socket,
                decoder: LineDecoder::new(MAX_LINE),
                waiting_to_write: false,
            },
        );
        room.arrive(id, Queue::default());
    }
}
// ANCHOR_END: accept

// ANCHOR: read
/// Reads everything client `id` has sent, and hands each whole line to the
/// room. `Some(why)` when the client is gone.
fn read_lines(
    id: Id,
    connections: &mut HashMap<Id, Connection>,
    poll: &Poll,
    room: &mut Room<Queue>,
    buf: &mut [u8],
) -> Option<Leaving> {
    let mut lines_said = 0;
    loop {
        let conn = connections.get_mut(&id)?;
        // read() on a non-blocking socket: what the kernel has, at once.
        let n = match conn.socket.read(buf) {
            // 0 bytes: the client closed its side.
            Ok(0) if conn.decoder.pending() > 0 => return Some(Leaving::Cut),
            Ok(0) => return Some(Leaving::Left),
            Ok(n) => n,
            // Nothing more for now: the kernel will say when there is.
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return None,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Some(Leaving::Failed),
        };
        conn.decoder.push(&buf[..n]);
        loop {
            let line = match connections.get_mut(&id)?.decoder.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(_) => return Some(Leaving::TooLong),
            };
            if room.said(id, &line) == Next::Close {
                return Some(Leaving::Left);
            }
            // One read can bring hundreds of lines: write the queues out
            // now and then, before they fill up, rather than only at the
            // end of the round.
            lines_said += 1;
            if lines_said % 64 == 0 {
                flush_delivered(connections, poll, room);
            }
        }
    }
}
// ANCHOR_END: read

// ANCHOR: write
/// Writes as much of the client's queue as the kernel takes. When it takes
/// only part, the rest stays queued and the kernel is asked to say when the
/// socket is writable again. `Err(why)` when the socket failed.
fn write_queue(
    id: Id,
    conn: &mut Connection,
    poll: &Poll,
    room: &mut Room<Queue>,
) -> Result<(), Leaving> {
    let Some(queue) = room.outbox_mut(id) else {
        return Ok(());
    };
    while !queue.lines.is_empty() {
        // writev(): several queued lines in one call, the first one from
        // where the last write stopped.
        let mut slices = Vec::with_capacity(queue.lines.len().min(64));
        for (at, line) in queue.lines.iter().take(64).enumerate() {
            let from = if at == 0 { queue.written } else { 0 };
            slices.push(IoSlice::new(&line[from..]));
        }
        let mut n = match conn.socket.write_vectored(&slices) {
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(Leaving::Failed),
        };
        // A partial write: drop the lines written whole, remember how far
        // into the next one the kernel got.
        while let Some(first) = queue.lines.front() {
            let left = first.len() - queue.written;
            if n < left {
                queue.written += n;
                break;
            }
            n -= left;
            queue.written = 0;
            queue.lines.pop_front();
        }
    }
    // Ask for WRITABLE only while something is left to write.
    let want = !queue.lines.is_empty();
    if want != conn.waiting_to_write {
        let interest = if want {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        let token = Token(id as usize);
        if poll
            .registry()
            .reregister(&mut conn.socket, token, interest)
            .is_err()
        {
            return Err(Leaving::Failed);
        }
        conn.waiting_to_write = want;
    }
    Ok(())
}
// ANCHOR_END: write

/// Writes the queues of every client given lines since the last call, and
/// closes those the room dropped as too slow.
fn flush_delivered(connections: &mut HashMap<Id, Connection>, poll: &Poll, room: &mut Room<Queue>) {
    loop {
        let mut delivered = room.take_delivered();
        let dropped = room.take_dropped();
        if delivered.is_empty() && dropped.is_empty() {
            return;
        }
        for (id, _) in dropped {
            if let Some(mut conn) = connections.remove(&id) {
                let _ = poll.registry().deregister(&mut conn.socket);
                let _ = conn.socket.shutdown(Shutdown::Both);
            }
        }
        delivered.sort_unstable();
        delivered.dedup();
        for id in delivered {
            let Some(conn) = connections.get_mut(&id) else {
                continue;
            };
            if conn.waiting_to_write {
                // The kernel will say when it takes more.
                continue;
            }
            if let Err(why) = write_queue(id, conn, poll, room) {
                close(id, connections, poll, room, why);
            }
        }
    }
}

/// Takes client `id` out of the room and closes its socket, after one last
/// try at writing what is queued for it (a `* bye`).
fn close(
    id: Id,
    connections: &mut HashMap<Id, Connection>,
    poll: &Poll,
    room: &mut Room<Queue>,
    why: Leaving,
) {
    let queue = room.leave(id, why);
    let Some(mut conn) = connections.remove(&id) else {
        return;
    };
    if let Some(queue) = queue {
        for line in queue.lines.iter().take(4) {
            let from = if Line::ptr_eq(line, &queue.lines[0]) {
                queue.written
            } else {
                0
            };
            if conn.socket.write_all(&line[from..]).is_err() {
                break;
            }
        }
    }
    let _ = poll.registry().deregister(&mut conn.socket);
    // Dropping the socket closes it: the kernel sends FIN.
}
