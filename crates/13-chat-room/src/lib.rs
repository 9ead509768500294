//! Lesson 13: the chat room that all three servers share.
//!
//! The three servers (`src/server/`) differ in one thing only: who
//! waits where. A thread per client, one thread polling every socket, or
//! tasks on a runtime. What the room *does* is the same for all three, so it
//! lives here, once: [`Room`] knows who is in the room, what each line a
//! client sends means, and where each resulting line must go. A server hands
//! it the lines it read and gives each client an [`Outbox`]: a bounded
//! queue of lines waiting to be written to that client's socket.
//!
//! The protocol is lesson 9's line framing (`common::framing`): UTF-8 lines
//! ending in `\n`, at most [`MAX_LINE`] bytes each.
//!
//! | a client sends | the room does |
//! | --- | --- |
//! | its first line, or `/nick NAME` | takes NAME as its nickname, or refuses it with a reason |
//! | `/who` | answers `* here: alice, bob` |
//! | `/quit` | answers `* bye` and closes |
//! | any other line | sends `[alice] the line` to every other client |
//!
//! and it announces `* alice joined`, `* alice is now alicia`, `* bob left`,
//! `* carol was dropped: too slow`.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::sync::Arc;

pub mod bench;
pub mod fds;
pub mod safe;
pub mod server;

/// The longest line a client may send, not counting its `\n`. A longer one
/// ends the connection: the framing cannot tell where the next line starts.
pub const MAX_LINE: usize = 1024;

/// How many lines may wait in one client's queue. A client whose queue is
/// full has stopped reading (or reads far slower than the room talks): it
/// is dropped, so that it costs the server at most this many lines and
/// never holds anyone else up.
pub const QUEUE_LINES: usize = 1024;

/// What a client that finds the room full is told before it is closed.
pub const ROOM_FULL: &[u8] = b"* the room is full: try again later\n";

/// The longest nickname, in characters.
pub const MAX_NICK: usize = 16;

/// One line on its way out, `\n` included. It is built once and shared by
/// every queue it waits in: a line said to 10,000 clients is one allocation
/// and 10,000 reference counts, not 10,000 copies.
pub type Line = Arc<[u8]>;

/// A client's number, unique for the server's lifetime.
pub type Id = u64;

// ANCHOR: outbox
/// A client's queue of lines to write, as each server builds it.
pub trait Outbox {
    /// Puts `line` at the end of the queue; `false` when the queue is full.
    fn offer(&mut self, line: &Line) -> bool;
}
// ANCHOR_END: outbox

/// What the server should do with a client after its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Keep reading.
    Stay,
    /// Close the connection once its queue is written: it said `/quit`.
    Close,
}

/// Why a client leaves, as the room announces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaving {
    /// It said `/quit`, or closed its side (a read returned 0 bytes).
    Left,
    /// The connection failed: a reset, for example.
    Failed,
    /// It sent a line longer than [`MAX_LINE`].
    TooLong,
    /// It ended the stream in the middle of a line.
    Cut,
}

/// A client in the room.
struct Member<O> {
    /// `None` until it has picked a nickname; until then it hears nothing
    /// said in the room, and nobody hears it.
    nick: Option<String>,
    /// Its queue of lines to write.
    outbox: O,
}

/// Who is in the room, and what their lines mean.
pub struct Room<O> {
    /// Every connected client, named or not, by number (in arrival order).
    members: BTreeMap<Id, Member<O>>,
    /// The nicknames in use, to refuse a taken one at once.
    nicks: HashSet<String>,
    /// Clients dropped because their queue was full: the server takes them
    /// with [`Room::take_dropped`] and closes their sockets.
    dropped: Vec<(Id, O)>,
    /// Who was given a line since the server last asked
    /// ([`Room::take_delivered`]); kept only for a server that writes every
    /// queue itself (the polling one).
    delivered: Option<Vec<Id>>,
    /// Whether to print what happens (joins, leaves, drops) on stdout.
    log: bool,
    /// Whether joins and leaves are announced to the room (see
    /// [`Room::new`]).
    announce: bool,
    /// How many clients may be connected at once.
    max: usize,
}

impl<O: Outbox> Room<O> {
    /// An empty room for at most `max` clients at once. With `log`, it
    /// prints what happens and announces joins and leaves to the room;
    /// without (the server's `--quiet`, for the benchmark), neither: 10,000
    /// clients joining would otherwise be 50 million notices.
    pub fn new(log: bool, max: usize) -> Self {
        Room {
            members: BTreeMap::new(),
            nicks: HashSet::new(),
            dropped: Vec::new(),
            delivered: None,
            log,
            announce: log,
            max,
        }
    }

    /// An empty room that notes who was given lines (see
    /// [`Room::take_delivered`]).
    pub fn noting_deliveries(log: bool, max: usize) -> Self {
        Room {
            delivered: Some(Vec::new()),
            ..Room::new(log, max)
        }
    }

    /// Whether one more client would be one too many: the server then
    /// writes [`ROOM_FULL`] to it and closes, instead of letting it in.
    pub fn is_full(&self) -> bool {
        self.members.len() >= self.max
    }

    /// A client has connected: it is greeted, and asked for a nickname.
    pub fn arrive(&mut self, id: Id, outbox: O) {
        self.members.insert(id, Member { nick: None, outbox });
        self.tell(
            id,
            "* welcome! type a nickname (or /nick NAME); /who lists the room, /quit leaves",
        );
    }

    /// Handles one line that client `id` sent.
    pub fn said(&mut self, id: Id, line: &[u8]) -> Next {
        let Some(member) = self.members.get(&id) else {
            return Next::Close;
        };
        let named = member.nick.is_some();
        let text = trim_cr(line);
        if let Some(rest) = text.strip_prefix(b"/nick") {
            if rest.is_empty() || rest.starts_with(b" ") {
                self.rename(id, String::from_utf8_lossy(rest).trim());
                return Next::Stay;
            }
        }
        match text {
            b"" => {}
            b"/who" => {
                let names: Vec<&str> = self
                    .members
                    .values()
                    .filter_map(|m| m.nick.as_deref())
                    .collect();
                let answer = if names.is_empty() {
                    "* here: nobody yet".to_owned()
                } else {
                    format!("* here: {}", names.join(", "))
                };
                self.tell(id, &answer);
            }
            b"/quit" => {
                // The server calls `leave` next, and writes the `* bye`
                // still queued before it closes.
                self.tell(id, "* bye");
                return Next::Close;
            }
            _ if text.starts_with(b"/") => {
                let word = text.split(|&b| b == b' ').next().unwrap_or_default();
                let answer = format!(
                    "* unknown command {}: try /nick NAME, /who or /quit",
                    common::show(word)
                );
                self.tell(id, &answer);
            }
            // Before it has a name, a client's first line is its name.
            _ if !named => self.rename(id, String::from_utf8_lossy(text).trim()),
            _ => {
                let nick = member.nick.as_deref().unwrap_or_default();
                // common::show: whatever the bytes, what goes out is valid
                // UTF-8 with every control character escaped, so no client
                // (nc included) ever receives a raw escape sequence.
                let said = format!("[{nick}] {}", common::show(text));
                self.broadcast(Some(id), &said);
            }
        }
        Next::Stay
    }

    /// Client `id` is gone (or is being closed): it is taken out of the
    /// room, the others are told if it had a name, and its outbox is given
    /// back to be dropped. `None` if it had already gone (dropped as too
    /// slow, say).
    pub fn leave(&mut self, id: Id, why: Leaving) -> Option<O> {
        if why == Leaving::TooLong {
            self.tell(id, &format!("* dropped: a line over {MAX_LINE} bytes"));
        }
        let member = self.members.remove(&id)?;
        let Some(nick) = member.nick else {
            return Some(member.outbox);
        };
        self.nicks.remove(&nick);
        let notice = match why {
            Leaving::Left => format!("* {nick} left"),
            Leaving::Failed => format!("* {nick} left (the connection failed)"),
            Leaving::TooLong => format!("* {nick} was dropped: a line over {MAX_LINE} bytes"),
            Leaving::Cut => format!("* {nick} left in the middle of a line"),
        };
        self.note(&notice);
        if self.announce {
            self.broadcast(None, &notice);
        }
        Some(member.outbox)
    }

    /// The outbox of client `id`, for the server that writes it.
    pub fn outbox_mut(&mut self, id: Id) -> Option<&mut O> {
        self.members.get_mut(&id).map(|member| &mut member.outbox)
    }

    /// Clients dropped since the last call, because their queue was full:
    /// the server closes their connections.
    pub fn take_dropped(&mut self) -> Vec<(Id, O)> {
        std::mem::take(&mut self.dropped)
    }

    /// Who was given lines since the last call (with repeats), when the
    /// room was made with [`Room::noting_deliveries`].
    pub fn take_delivered(&mut self) -> Vec<Id> {
        self.delivered
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// How many clients are connected.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether nobody is connected.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Gives client `id` a nickname, or tells it why not.
    fn rename(&mut self, id: Id, wanted: &str) {
        if let Err(reason) = valid_nick(wanted) {
            self.tell(id, &format!("* nickname refused: {reason}"));
            return;
        }
        if self.nicks.contains(wanted) {
            let answer = format!("* nickname refused: {wanted} is taken");
            self.tell(id, &answer);
            return;
        }
        let Some(member) = self.members.get_mut(&id) else {
            return;
        };
        let old = member.nick.replace(wanted.to_owned());
        self.nicks.insert(wanted.to_owned());
        match old {
            Some(old) => {
                self.nicks.remove(&old);
                let notice = format!("* {old} is now {wanted}");
                self.note(&notice);
                self.broadcast(None, &notice);
            }
            None => {
                let count = self.nicks.len();
                self.tell(
                    id,
                    &format!("* you are {wanted}; {count} here (/who lists them)"),
                );
                let notice = format!("* {wanted} joined");
                self.note(&notice);
                if self.announce {
                    self.broadcast(Some(id), &notice);
                }
            }
        }
    }

    /// Sends `text` to one client.
    fn tell(&mut self, id: Id, text: &str) {
        let line = line_of(text);
        self.offer(&[id], &line);
    }

    /// Sends `text` to every named client but `except`.
    fn broadcast(&mut self, except: Option<Id>, text: &str) {
        let line = line_of(text);
        let to: Vec<Id> = self
            .members
            .iter()
            .filter(|(id, member)| Some(**id) != except && member.nick.is_some())
            .map(|(id, _)| *id)
            .collect();
        self.offer(&to, &line);
    }

    // ANCHOR: offer
    /// Puts `line` in each queue of `to`. A client whose queue is full is
    /// dropped, and the others are told; telling them may fill another
    /// queue, so this goes on until nobody more is dropped.
    fn offer(&mut self, to: &[Id], line: &Line) {
        let mut full = Vec::new();
        for id in to {
            let Some(member) = self.members.get_mut(id) else {
                continue;
            };
            if member.outbox.offer(line) {
                if let Some(delivered) = &mut self.delivered {
                    delivered.push(*id);
                }
            } else {
                full.push(*id);
            }
        }
        for id in full {
            let Some(member) = self.members.remove(&id) else {
                continue;
            };
            self.dropped.push((id, member.outbox));
            if let Some(nick) = member.nick {
                self.nicks.remove(&nick);
                let notice = format!("* {nick} was dropped: too slow");
                self.note(&notice);
                self.broadcast(None, &notice);
            }
        }
    }
    // ANCHOR_END: offer

    /// Prints what happened on the server's stdout.
    fn note(&self, text: &str) {
        if self.log {
            // A closed stdout must not stop the room: the note is best effort.
            let _ = writeln!(common::out(), "{text}");
        }
    }
}

/// `text` and its `\n`, ready to be shared by every queue.
pub fn line_of(text: &str) -> Line {
    let mut bytes = Vec::with_capacity(text.len() + 1);
    bytes.extend_from_slice(text.as_bytes());
    bytes.push(b'\n');
    bytes.into()
}

/// Takes off one `\r` before the `\n`, as `telnet` and some `nc` send.
fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A nickname is 1 to [`MAX_NICK`] letters, digits, `-` or `_` (letters of
/// any script: 小明 is a fine name).
pub fn valid_nick(nick: &str) -> Result<(), String> {
    let count = nick.chars().count();
    if count == 0 || count > MAX_NICK {
        return Err(format!("a nickname is 1 to {MAX_NICK} characters"));
    }
    if let Some(bad) = nick
        .chars()
        .find(|c| !(c.is_alphanumeric() || *c == '-' || *c == '_'))
    {
        let shown = common::show(bad.to_string().as_bytes()).to_string();
        return Err(format!(
            "a nickname is letters, digits, - and _ only, not `{shown}`"
        ));
    }
    if nick.starts_with('/') {
        return Err("a nickname cannot start with /".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An outbox that keeps its lines as text, and holds `room` of them.
    #[derive(Default)]
    struct Kept {
        lines: Vec<String>,
        room: usize,
    }

    impl Outbox for Kept {
        fn offer(&mut self, line: &Line) -> bool {
            if self.lines.len() >= self.room {
                return false;
            }
            self.lines
                .push(String::from_utf8_lossy(line).trim_end().to_owned());
            true
        }
    }

    fn kept(room: usize) -> Kept {
        Kept {
            lines: Vec::new(),
            room,
        }
    }

    fn heard(room: &mut Room<Kept>, id: Id) -> Vec<String> {
        room.outbox_mut(id)
            .map(|outbox| std::mem::take(&mut outbox.lines))
            .unwrap_or_default()
    }

    #[test]
    fn names_messages_and_leaves() {
        let mut room = Room::new(true, 100);
        room.arrive(1, kept(100));
        room.arrive(2, kept(100));
        assert_eq!(room.said(1, b"alice"), Next::Stay);
        assert_eq!(room.said(2, b"/nick alice"), Next::Stay);
        assert_eq!(
            heard(&mut room, 2).last().map(String::as_str),
            Some("* nickname refused: alice is taken")
        );
        room.said(2, b"/nick bob");
        assert_eq!(
            heard(&mut room, 1),
            [
                "* welcome! type a nickname (or /nick NAME); /who lists the room, /quit leaves",
                "* you are alice; 1 here (/who lists them)",
                "* bob joined"
            ]
        );
        room.said(2, b"hi \x1b[31m\xff");
        assert_eq!(heard(&mut room, 1), ["[bob] hi \\x1b[31m\u{fffd}"]);
        room.said(1, b"/who");
        assert_eq!(heard(&mut room, 1), ["* here: alice, bob"]);
        assert_eq!(room.said(2, b"/quit"), Next::Close);
        assert!(room.leave(2, Leaving::Left).is_some());
        assert_eq!(heard(&mut room, 1), ["* bob left"]);
    }

    #[test]
    fn bad_names_are_refused_with_a_reason() {
        assert!(valid_nick("小明").is_ok());
        assert!(valid_nick("").is_err());
        assert!(valid_nick("a b").is_err());
        assert!(valid_nick(&"x".repeat(17)).is_err());
        assert!(valid_nick("\x1b").is_err_and(|e| e.contains("\\x1b")));
    }

    #[test]
    fn a_full_queue_drops_its_client_and_the_room_is_told() {
        let mut room = Room::new(true, 100);
        room.arrive(1, kept(100));
        room.arrive(2, kept(3));
        room.said(1, b"alice");
        room.said(2, b"slow");
        for _ in 0..3 {
            room.said(1, b"spam");
        }
        let dropped = room.take_dropped();
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].0, 2);
        assert!(heard(&mut room, 1).contains(&"* slow was dropped: too slow".to_owned()));
        assert!(room.leave(2, Leaving::Left).is_none());
    }
}
