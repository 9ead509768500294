//! The room with a task per client, on `tokio`'s runtime.
//!
//! A task is a function that can stop in the middle (at each `.await`) and
//! be resumed later: while one waits for its socket, the runtime's few
//! threads run the others. Underneath, the runtime does what `polling.rs`
//! does by hand: non-blocking sockets and one epoll, waking each task when
//! its socket is ready. Each client's queue is a bounded `mpsc` channel,
//! and the room puts lines in it the way tokio's own chat example does,
//! walking the list of clients, except that it never waits and never grows
//! a queue without limit: a full queue gets its client dropped.

use std::net::TcpListener as StdListener;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::{Id, Leaving, Line, MAX_LINE, Next, Outbox, QUEUE_LINES, Room};
use anyhow::Context;
use common::framing::LineDecoder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::task::AbortHandle;

/// Shorthand for the room, shared by every task.
type Shared = Arc<Mutex<Room<Queue>>>;

/// A client's queue, as the room sees it: the sending half of a bounded
/// channel, and a handle to stop the client's task if it stops reading.
struct Queue {
    lines: mpsc::Sender<Line>,
    task: Option<AbortHandle>,
}

impl Outbox for Queue {
    fn offer(&mut self, line: &Line) -> bool {
        match self.lines.try_send(Line::clone(line)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => false,
            // The task has ended and is leaving the room by itself.
            Err(TrySendError::Closed(_)) => true,
        }
    }
}

// ANCHOR: accept
pub fn serve(listener: StdListener, log: bool, max_clients: usize) -> anyhow::Result<()> {
    // The runtime: a few threads (one per CPU) that run every task.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async move {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let room: Shared = Arc::new(Mutex::new(Room::new(log, max_clients)));
        for id in 0.. {
            // accept().await: this task sleeps until a client connects; the
            // runtime's threads run the clients' tasks meanwhile.
            let (socket, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    common::output::say_on_stderr(format_args!("accept failed: {err}"));
                    tokio::task::yield_now().await;
                    continue;
                }
            };
            if lock(&room).is_full() {
                // Say so and close (the write fits in the empty send buffer).
                let _ = socket.try_write(crate::ROOM_FULL);
                continue;
            }
            let (lines, queued) = mpsc::channel(QUEUE_LINES);
            lock(&room).arrive(id, Queue { lines, task: None });
            let task = tokio::spawn(serve_client(id, socket, queued, Arc::clone(&room)));
            if let Some(queue) = lock(&room).outbox_mut(id) {
                queue.task = Some(task.abort_handle());
            }
        }
        Ok(())
    })
}
// ANCHOR_END: accept

// ANCHOR: client
/// One client's task: reads its lines and writes its queue, whichever is
/// ready first, until it leaves.
async fn serve_client(id: Id, socket: TcpStream, mut queued: mpsc::Receiver<Line>, room: Shared) {
    let (mut reader, mut writer) = socket.into_split();
    // Lesson 9's framing, fed with whatever each read brings.
    let mut decoder = LineDecoder::new(MAX_LINE);
    let mut buf = vec![0; 1024];
    let mut batch = Vec::new();
    let why = 'serving: loop {
        tokio::select! {
            // A line to write: take whatever else is queued too, and write
            // it all. If the client does not read, this waits: only this
            // task waits, and the room drops it once its queue is full.
            Some(line) = queued.recv() => {
                batch.clear();
                batch.extend_from_slice(&line);
                while let Ok(more) = queued.try_recv() {
                    batch.extend_from_slice(&more);
                }
                if writer.write_all(&batch).await.is_err() {
                    break Leaving::Failed;
                }
            }
            // Bytes from the client.
            read = reader.read(&mut buf) => {
                let n = match read {
                    Ok(0) if decoder.pending() > 0 => break Leaving::Cut,
                    Ok(0) => break Leaving::Left,
                    Ok(n) => n,
                    Err(_) => break Leaving::Failed,
                };
                decoder.push(&buf[..n]);
                loop {
                    let line = match decoder.next_line() {
                        Ok(Some(line)) => line,
                        Ok(None) => break,
                        Err(_) => break 'serving Leaving::TooLong,
                    };
                    let next = said(&room, id, &line);
                    if next == Next::Close {
                        break 'serving Leaving::Left;
                    }
                    // Let the clients just given lines write them before
                    // this one says more.
                    tokio::task::yield_now().await;
                }
            }
        }
    };
    let queue = {
        let mut room = lock(&room);
        let queue = room.leave(id, why);
        abort_the_dropped(&mut room);
        queue
    };
    // Write what is left (a `* bye`), then close: dropping the halves
    // closes the socket.
    drop(queue);
    while let Ok(line) = queued.try_recv() {
        if writer.write_all(&line).await.is_err() {
            break;
        }
    }
}
// ANCHOR_END: client

/// Hands one line to the room.
fn said(room: &Shared, id: Id, line: &[u8]) -> Next {
    let mut room = lock(room);
    let next = room.said(id, line);
    abort_the_dropped(&mut room);
    next
}

/// Stops the tasks of clients the room dropped as too slow: the task stops
/// at its next `.await` (the write it is stuck in), and its socket closes.
fn abort_the_dropped(room: &mut Room<Queue>) {
    for (_, queue) in room.take_dropped() {
        if let Some(task) = queue.task {
            task.abort();
        }
    }
}

/// The room. The lock is never held across an `.await`, so a plain std
/// `Mutex` is right here (tokio's docs say the same).
fn lock(room: &Shared) -> MutexGuard<'_, Room<Queue>> {
    room.lock().unwrap_or_else(PoisonError::into_inner)
}
