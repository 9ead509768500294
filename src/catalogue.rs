//! The lesson catalogue: the one list of the course's lessons.
//!
//! Adding a lesson means adding its crate under `crates/`, its page under
//! `docs/src/lessons/`, and an entry here; `tests/course.rs` checks that the
//! three agree, and the Makefile, the demo player and the lesson lists read
//! this table rather than repeating it.

/// One lesson of the course.
#[derive(Debug, Clone, Copy)]
pub struct Lesson {
    /// Its place in the course, from 1.
    pub number: u8,
    /// The title used in the book, the README and `make lessons`.
    pub title: &'static str,
    /// One line on what the learner sees and learns.
    pub summary: &'static str,
    /// The crate's folder, relative to the workspace root.
    pub dir: &'static str,
    /// The Cargo package of the lesson's own binaries.
    pub package: &'static str,
    /// The server binary (`make server L=N`).
    pub server: Bin,
    /// The client binary (`make client L=N`).
    pub client: Bin,
    /// The server's default port on 127.0.0.1, as in the Python course where
    /// no two lessons collide (0 for a Unix-domain server, which has none).
    pub port: u16,
    /// The transport the server listens on: "tcp", "udp", or "unix" (a
    /// Unix-domain stream socket: `--addr PATH`, ready line
    /// `listening on PATH`).
    pub transport: &'static str,
    /// The book page, relative to the workspace root.
    pub page: &'static str,
}

/// A binary and the package that builds it.
#[derive(Debug, Clone, Copy)]
pub struct Bin {
    /// The Cargo package.
    pub package: &'static str,
    /// The binary's name, unique across the workspace.
    pub name: &'static str,
}

impl Lesson {
    /// The demo scenario, relative to the workspace root.
    pub fn demo(&self) -> String {
        format!("{}/demo.scenario", self.dir)
    }

    /// The address `make client` gives a client borrowed from another
    /// lesson (as its default, which `--help` shows): this lesson's server.
    /// `None` when the client is the lesson's own.
    pub fn client_addr(&self) -> Option<String> {
        (self.client.package != self.package).then(|| format!("127.0.0.1:{}", self.port))
    }

    /// Finds a lesson by number.
    pub fn find(number: u8) -> Option<&'static Lesson> {
        LESSONS.iter().find(|lesson| lesson.number == number)
    }
}

const fn bin(package: &'static str, name: &'static str) -> Bin {
    Bin { package, name }
}

/// Every lesson, in course order.
pub const LESSONS: &[Lesson] = &[
    Lesson {
        number: 1,
        title: "TCP hello",
        summary: "a server accepts one client, reads hello!, answers hi and closes",
        dir: "crates/01-tcp-hello",
        package: "tcp-hello",
        server: bin("tcp-hello", "tcp-hello-server"),
        client: bin("tcp-hello", "tcp-hello-client"),
        port: 8898,
        transport: "tcp",
        page: "docs/src/lessons/01-tcp-hello.md",
    },
    Lesson {
        number: 2,
        title: "Reuse the address",
        summary: "TIME_WAIT keeps a port busy after a server closes; SO_REUSEADDR lets a restart bind",
        dir: "crates/02-reuse-addr",
        package: "reuse-addr",
        server: bin("reuse-addr", "reuse-addr-server"),
        client: bin("tcp-hello", "tcp-hello-client"),
        port: 8899,
        transport: "tcp",
        page: "docs/src/lessons/02-reuse-addr.md",
    },
    Lesson {
        number: 3,
        title: "Chat with one client",
        summary: "client and server take turns typing; a second client connects but waits unserved",
        dir: "crates/03-tcp-chat",
        package: "tcp-chat",
        server: bin("tcp-chat", "tcp-chat-server"),
        client: bin("tcp-chat", "tcp-chat-client"),
        port: 8090,
        transport: "tcp",
        page: "docs/src/lessons/03-tcp-chat.md",
    },
    Lesson {
        number: 4,
        title: "A server that loops",
        summary: "the server serves clients one after another and survives those that leave or reset",
        dir: "crates/04-tcp-loop",
        package: "tcp-loop",
        server: bin("tcp-loop", "tcp-loop-server"),
        client: bin("tcp-chat", "tcp-chat-client"),
        port: 8001,
        transport: "tcp",
        page: "docs/src/lessons/04-tcp-loop.md",
    },
    Lesson {
        number: 5,
        title: "UDP echo",
        summary: "datagrams without a connection: echo, truncation, empty datagrams, retries",
        dir: "crates/05-udp-echo",
        package: "udp-echo",
        server: bin("udp-echo", "udp-echo-server"),
        client: bin("udp-echo", "udp-echo-client"),
        port: 9000,
        transport: "udp",
        page: "docs/src/lessons/05-udp-echo.md",
    },
    Lesson {
        number: 6,
        title: "QQ-style UDP chat",
        summary: "one UDP server chats with many clients at once, each reply to its sender",
        dir: "crates/06-udp-chat",
        package: "udp-chat",
        server: bin("udp-chat", "udp-chat-server"),
        client: bin("udp-chat", "udp-chat-client"),
        port: 8081,
        transport: "udp",
        page: "docs/src/lessons/06-udp-chat.md",
    },
    Lesson {
        number: 7,
        title: "The time-format server",
        summary: "the client sends a strftime format, the server answers the time in it",
        dir: "crates/07-time-server",
        package: "time-server",
        server: bin("time-server", "time-server"),
        client: bin("time-server", "time-client"),
        port: 9001,
        transport: "udp",
        page: "docs/src/lessons/07-time-server.md",
    },
    Lesson {
        number: 8,
        title: "The listen backlog",
        summary: "a server that never accepts, and a probe that counts how many handshakes complete",
        dir: "crates/08-backlog",
        package: "backlog",
        server: bin("backlog", "backlog-server"),
        client: bin("backlog", "backlog-probe"),
        port: 8080,
        transport: "tcp",
        page: "docs/src/lessons/08-backlog.md",
    },
    Lesson {
        number: 9,
        title: "A stream has no messages",
        summary: "five sends glued into one read, a long message split; then lines and a length prefix",
        dir: "crates/09-framing",
        package: "framing",
        server: bin("framing", "framing-server"),
        client: bin("framing", "framing-client"),
        port: 8900,
        transport: "tcp",
        page: "docs/src/lessons/09-framing.md",
    },
    Lesson {
        number: 10,
        title: "The loss lab",
        summary: "in a private network that drops packets, UDP loses its share and TCP sends them again, at a price",
        dir: "crates/10-loss-lab",
        package: "loss-lab",
        server: bin("loss-lab", "loss-lab-server"),
        client: bin("loss-lab", "loss-lab-client"),
        port: 9010,
        transport: "udp",
        page: "docs/src/lessons/10-loss-lab.md",
    },
    Lesson {
        number: 11,
        title: "The handshake on the wire",
        summary: "lesson 1's connection captured segment by segment: SYN, SYN+ACK, ACK, the data, the close, and the states the kernel reports",
        dir: "crates/11-handshake",
        package: "handshake",
        server: bin("handshake", "handshake-server"),
        client: bin("handshake", "handshake-client"),
        port: 8911,
        transport: "tcp",
        page: "docs/src/lessons/11-handshake.md",
    },
    Lesson {
        number: 12,
        title: "Unix-domain sockets",
        summary: "hello over a socket file and an abstract name; the file's life, permissions, the peer's credentials",
        dir: "crates/12-unix-sockets",
        package: "unix-sockets",
        server: bin("unix-sockets", "unix-hello-server"),
        client: bin("unix-sockets", "unix-hello-client"),
        port: 0,
        transport: "unix",
        page: "docs/src/lessons/12-unix-sockets.md",
    },
    Lesson {
        number: 13,
        title: "A chat room for many",
        summary: "one room built three ways (threads, mio, tokio); a slow client is dropped, never stalls the room",
        dir: "crates/13-chat-room",
        package: "chat-room",
        server: bin("chat-room", "chat-server"),
        client: bin("chat-room", "chat-client"),
        port: 8013,
        transport: "tcp",
        page: "docs/src/lessons/13-chat-room.md",
    },
    Lesson {
        number: 14,
        title: "What each transport costs",
        summary: "UDP, TCP kept or new per request, Unix sockets: round trips and throughput measured side by side",
        dir: "crates/14-transport-costs",
        package: "transport-costs",
        server: bin("transport-costs", "transport-echo-server"),
        client: bin("transport-costs", "transport-costs"),
        port: 9014,
        transport: "udp",
        page: "docs/src/lessons/14-transport-costs.md",
    },
];
