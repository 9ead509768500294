//! The room with a thread per client (std only).
//!
//! Each client gets two threads: one blocked in `read` on its socket,
//! handing each line to the room; one blocked on the client's queue,
//! writing what arrives there to the socket. The room itself sits behind a
//! `Mutex`, so only one thread at a time changes it. A client's slow socket
//! blocks only its own writing thread: everyone else's lines go into their
//! own queues, and a queue that fills up gets its client dropped.

use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::{Id, Leaving, Line, MAX_LINE, Next, Outbox, QUEUE_LINES, Room};
use common::framing::{FrameError, read_line};

/// Each thread's stack. std's default is 2 MiB of address space (of which
/// only the pages touched cost memory); these threads need little.
const STACK: usize = 64 * 1024;

/// How many threads the kernel lets this process have, counting what each
/// costs it: std maps each thread's stack and a signal stack, each with a
/// guard page, which is 4 of the `vm.max_map_count` mappings (65,530 unless
/// the administrator changed it) a process may have. Past that, creating a
/// thread fails in a way std cannot report but by aborting the process, so
/// the server refuses clients well before.
fn threads_allowed() -> usize {
    let maps = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|text| text.trim().parse::<usize>().ok())
        .unwrap_or(65_530);
    (maps / 4).saturating_sub(1024)
}

/// A client's queue, as the room sees it: the sending end of a bounded
/// channel, and a handle on the socket to cut it off if it stops reading.
struct Queue {
    lines: SyncSender<Line>,
    socket: Arc<TcpStream>,
}

impl Outbox for Queue {
    fn offer(&mut self, line: &Line) -> bool {
        // try_send never waits: a full queue is the client's problem, not
        // the problem of the thread that is talking.
        match self.lines.try_send(Line::clone(line)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => false,
            // Its writing thread has ended (the socket failed): its reading
            // thread is about to take it out of the room.
            Err(TrySendError::Disconnected(_)) => true,
        }
    }
}

// ANCHOR: accept
pub fn serve(listener: TcpListener, log: bool, max_clients: usize) -> anyhow::Result<()> {
    let room = Arc::new(Mutex::new(Room::new(
        log,
        max_clients.min(threads_allowed() / 2),
    )));
    for id in 0.. {
        // accept(): wait for the next client. While this thread waits here,
        // every client already connected is served by threads of its own.
        let (stream, _) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors, say: this client is refused, and
                // the next may find one free.
                common::output::say_on_stderr(format_args!("accept failed: {err}"));
                std::thread::sleep(std::time::Duration::from_millis(10));
                continue;
            }
        };
        if lock(&room).is_full() {
            // No thread for it: say so and close (the write is small
            // enough to fit in the empty send buffer at once).
            let _ = (&stream).write_all(crate::ROOM_FULL);
            continue;
        }
        let room = Arc::clone(&room);
        let started = std::thread::Builder::new()
            .stack_size(STACK)
            .spawn(move || serve_client(id, stream, &room));
        if let Err(err) = started {
            common::output::say_on_stderr(format_args!("cannot start a thread: {err}"));
        }
    }
    Ok(())
}
// ANCHOR_END: accept

// ANCHOR: client
/// One client, on its own thread, from arrival to departure.
fn serve_client(id: Id, stream: TcpStream, room: &Mutex<Room<Queue>>) {
    // One socket, three users: this thread reads it, the writer writes it,
    // and the room may cut it off. An `Arc` shares it without a second
    // file descriptor (`try_clone` would dup() one).
    let stream = Arc::new(stream);
    // The queue: at most QUEUE_LINES lines wait for this client's writer.
    let (lines, queued) = sync_channel(QUEUE_LINES);
    let writer_socket = Arc::clone(&stream);
    let started = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || write_lines(&writer_socket, &queued));
    let Ok(writer) = started else {
        return;
    };
    let socket = Arc::clone(&stream);
    lock(room).arrive(id, Queue { lines, socket });

    // read(): this thread sleeps in the kernel until the client sends
    // something. read_line (lesson 9's framing) calls it until it has a
    // whole line, and refuses a line over MAX_LINE bytes.
    let mut reader = BufReader::new(&*stream);
    let mut line = Vec::new();
    let why = loop {
        match read_line(&mut reader, MAX_LINE, &mut line) {
            Ok(true) => {
                let mut room = lock(room);
                let next = room.said(id, &line);
                cut_off_the_dropped(&mut room);
                drop(room);
                if next == Next::Close {
                    break Leaving::Left;
                }
                // The writers of those just given a line may be waiting
                // for a CPU: give them a turn before saying more.
                std::thread::yield_now();
            }
            // 0 bytes: the client closed its side (or half-closed it).
            Ok(false) => break Leaving::Left,
            Err(FrameError::LineTooLong { .. }) => break Leaving::TooLong,
            Err(FrameError::LineCut { .. }) => break Leaving::Cut,
            Err(_) => break Leaving::Failed,
        }
    };
    // Out of the room. Dropping the queue's sending end lets the writer
    // finish what is queued (a last `* bye`), then close.
    let mut room_now = lock(room);
    drop(room_now.leave(id, why));
    cut_off_the_dropped(&mut room_now);
    drop(room_now);
    let _ = writer.join();
}
// ANCHOR_END: client

// ANCHOR: write
/// The writing thread: sleeps until the queue has lines, writes them, and
/// ends when the queue is closed (the client left) or the socket fails.
fn write_lines(mut socket: &TcpStream, queued: &Receiver<Line>) {
    let mut batch = Vec::new();
    while let Ok(line) = queued.recv() {
        // Take whatever else is waiting too: one write() for many lines.
        batch.clear();
        batch.extend_from_slice(&line);
        while let Ok(more) = queued.try_recv() {
            batch.extend_from_slice(&more);
            if batch.len() > 64 * 1024 {
                break;
            }
        }
        // write_all blocks while the client's receive window and our send
        // buffer are full: only this thread waits.
        if socket.write_all(&batch).is_err() {
            break;
        }
    }
    // Sends FIN once everything queued is written.
    let _ = socket.shutdown(Shutdown::Both);
}
// ANCHOR_END: write

/// Cuts the sockets of clients the room dropped as too slow: their writer
/// (stuck in a write that will never finish) and their reader both wake
/// with an error, and the reader's `leave` finds them already gone.
fn cut_off_the_dropped(room: &mut Room<Queue>) {
    for (_, queue) in room.take_dropped() {
        let _ = queue.socket.shutdown(Shutdown::Both);
    }
}

/// The room, even if a thread panicked while holding it (none should: the
/// room's code does not panic, and a poisoned lock would otherwise take the
/// whole server down with one client).
fn lock(room: &Mutex<Room<Queue>>) -> MutexGuard<'_, Room<Queue>> {
    room.lock().unwrap_or_else(PoisonError::into_inner)
}
