//! Datagrams, for the UDP lessons: a receive that says when a datagram was
//! cut to fit the buffer, and a client's question that waits with a timeout
//! and sends again a bounded number of times, since UDP never retransmits.
//!
//! Both need a little more than `std::net::UdpSocket` offers, so they live
//! here and a lesson calls each in one line.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::socket::{MsgFlags, SockaddrStorage, recv, recvmsg};

/// One datagram received into a buffer: how much of it the buffer holds, how
/// long it really was, and who sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram {
    /// How many bytes are now in the buffer: the datagram, or as much of it
    /// as fitted.
    pub len: usize,
    /// How many bytes the sender put in the datagram. More than `len` when
    /// the buffer was too small: the kernel then threw the rest away.
    pub size: usize,
    /// The sender's address, where an answer goes.
    pub from: SocketAddr,
}

impl Datagram {
    /// Whether the datagram was longer than the buffer and was cut.
    pub fn is_truncated(&self) -> bool {
        self.size > self.len
    }

    /// How many bytes were thrown away because the buffer was too small.
    pub fn lost(&self) -> usize {
        self.size.saturating_sub(self.len)
    }

    /// What every lesson prints about a cut datagram, in the same words:
    /// `the datagram had 2000 bytes, the buffer holds 1024: 976 bytes lost`.
    /// (A cut datagram filled the buffer, so `len` is the buffer's size.)
    pub fn cut_note(&self) -> String {
        format!(
            "the datagram had {}, the buffer holds {}: {} lost",
            bytes(self.size),
            self.len,
            bytes(self.lost())
        )
    }
}

/// A datagram's bytes, ready to print: as [`crate::show`] shows them, or
/// `(an empty datagram)` when there are none. A datagram of 0 bytes is still
/// a datagram: on TCP a read of 0 bytes means "the peer closed", but UDP has
/// nothing to close. Every lesson shows one the same way.
pub fn show(bytes: &[u8]) -> ShownDatagram<'_> {
    ShownDatagram(bytes)
}

/// A datagram's bytes, ready to print: see [`show`].
#[derive(Debug, Clone, Copy)]
pub struct ShownDatagram<'a>(&'a [u8]);

impl std::fmt::Display for ShownDatagram<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            f.write_str("(an empty datagram)")
        } else {
            crate::show(self.0).fmt(f)
        }
    }
}

/// `1 byte`, `2 bytes`.
fn bytes(count: usize) -> String {
    match count {
        1 => "1 byte".to_owned(),
        _ => format!("{count} bytes"),
    }
}

/// `recvfrom`, but knowing the datagram's real size: waits for the next
/// datagram, copies as much of it as `buf` holds, and says how long it was.
///
/// Python's `recvfrom(1024)` (and Rust's `UdpSocket::recv_from`) cut a longer
/// datagram silently. Here one `recvmsg` call with the `MSG_TRUNC` flag takes
/// the datagram and makes Linux return its real length, even when that is
/// more than the buffer held. It waits as the socket says
/// (`set_read_timeout`), and an empty datagram is received like any other:
/// `len` and `size` are 0.
pub fn recv_from(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<Datagram> {
    // nix's recvmsg takes an initialised buffer; socket2's flagged receives
    // take `MaybeUninit` memory, which only `unsafe` code could read back.
    let capacity = buf.len();
    let mut parts = [io::IoSliceMut::new(buf)];
    let received =
        recvmsg::<SockaddrStorage>(socket.as_raw_fd(), &mut parts, None, MsgFlags::MSG_TRUNC)?;
    let from = received
        .address
        .as_ref()
        .and_then(ip_address)
        .ok_or_else(|| io::Error::other("a datagram came without an IP sender address"))?;
    Ok(Datagram {
        len: received.bytes.min(capacity),
        size: received.bytes,
        from,
    })
}

/// The sender's address as the standard library's type.
fn ip_address(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    address
        .as_sockaddr_in6()
        .map(|v6| SocketAddr::V6((*v6).into()))
}

/// The address a client binds before it sends, port 0 so that the kernel
/// picks a free port: the loopback address when the server is on this
/// machine's loopback, as every lesson's is, and otherwise "any address" of
/// the server's family, as Python's first `sendto` binds implicitly.
pub fn local_for(server: SocketAddr) -> SocketAddr {
    let ip = match server.ip() {
        ip if ip.is_loopback() => ip,
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, 0)
}

/// How long a client waits for an answer, and how many times it asks: the
/// `--timeout` and `--tries` options of the UDP clients
/// (`#[command(flatten)] patience: Patience`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct Patience {
    /// How many seconds to wait for each answer (fractions allowed: 0.5).
    #[arg(long = "timeout", value_name = "SECONDS", default_value = "1",
          value_parser = parse_seconds)]
    pub wait: Duration,
    /// How many times to send a message before giving up on an answer.
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub tries: u32,
}

/// Sends `message` to `server` as one datagram and waits for the answer,
/// sending it again when none comes within `patience.wait`, at most
/// `patience.tries` times in all. The answer is received into `buf` with
/// [`recv_from`], so a cut answer is known.
///
/// UDP has no acknowledgements: a datagram or its answer may be lost, and
/// only the sender can notice, by waiting. Each retry is said on stdout.
/// Answers to an earlier question that arrived too late (after its last try)
/// are dropped before the question is sent, so they are never taken for the
/// answer to this one.
///
/// On a connected socket (see `UdpSocket::connect`), a closed port on the
/// server's machine comes back as a `ConnectionRefused` error: the kernel
/// there answered with an ICMP "port unreachable", which the kernel here
/// reports to a connected socket only. That ends the question at once.
pub fn ask(
    socket: &UdpSocket,
    server: SocketAddr,
    message: &[u8],
    buf: &mut [u8],
    patience: Patience,
) -> anyhow::Result<Datagram> {
    ask_for(socket, server, message, buf, patience, |_, _| true).map(|(answer, _)| answer)
}

/// [`ask`], taking as the answer only a datagram for which
/// `is_answer(&datagram, bytes)` holds: any other is dropped, saying so, and
/// the wait goes on until the same deadline. An echo client uses it to tell
/// the echo of this message from a late echo of an earlier one. Returns the
/// answer and how many times the message was sent: each try but the one
/// answered may still have an answer on its way.
pub fn ask_for(
    socket: &UdpSocket,
    server: SocketAddr,
    message: &[u8],
    buf: &mut [u8],
    patience: Patience,
    is_answer: impl Fn(&Datagram, &[u8]) -> bool,
) -> anyhow::Result<(Datagram, u32)> {
    let mut out = crate::out();
    let late = drop_late_answers(socket);
    if late > 0 {
        writeln!(out, "(dropped {late} late answer(s) to an earlier message)")?;
    }
    let tries = patience.tries.max(1);
    for attempt in 1..=tries {
        if attempt > 1 {
            writeln!(
                out,
                "no answer within {}: sending again (try {attempt} of {tries})",
                seconds(patience.wait)
            )?;
        }
        // sendto(): the kernel adds a UDP header and an IP header and hands
        // the packet to the network at once. No connection, no
        // acknowledgement: success means it left, not that it arrived.
        socket
            .send_to(message, server)
            .with_context(|| format!("cannot send {} bytes to {server}", message.len()))?;
        let deadline = Instant::now() + patience.wait;
        // Wait until the deadline for the answer, dropping anything else.
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if left.is_zero() {
                break;
            }
            socket.set_read_timeout(Some(left))?;
            match recv_from(socket, buf) {
                Ok(answer) if is_answer(&answer, &buf[..answer.len]) => {
                    return Ok((answer, attempt));
                }
                Ok(other) => writeln!(
                    out,
                    "(dropped a datagram from {} that does not answer this message: {}; \
                     still waiting)",
                    other.from,
                    crate::show(&buf[..other.len])
                )?,
                Err(err) if crate::is_timeout(&err) => break,
                Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => {
                    return Err(err).with_context(|| {
                        format!(
                            "nothing listens on {server}: the kernel answered \"port unreachable\""
                        )
                    });
                }
                Err(err) => return Err(err).context("cannot receive the answer"),
            }
        }
    }
    let why = io::Error::new(
        io::ErrorKind::TimedOut,
        "UDP does not retransmit, so a lost datagram, a lost answer, a server that is \
         stopped, busy or never answers, or a firewall that drops the \"port unreachable\" \
         all look the same: silence",
    );
    let wait = seconds(patience.wait);
    Err(why).with_context(|| match tries {
        1 => format!("no answer from {server} within {wait}"),
        _ => format!("no answer from {server} after {tries} tries, {wait} each"),
    })
}

/// Throws away every datagram already waiting on `socket` (at most 64, so a
/// flood cannot keep the caller here) and returns how many there were.
fn drop_late_answers(socket: &UdpSocket) -> usize {
    let mut dropped = 0;
    while dropped < 64 {
        // recv with no buffer takes the whole datagram off the queue and
        // discards it; MSG_DONTWAIT makes it return at once when none waits.
        // Anything but a datagram (nothing waiting, or an error left by an
        // earlier datagram) ends the loop.
        match recv(socket.as_raw_fd(), &mut [], MsgFlags::MSG_DONTWAIT) {
            Ok(_) => dropped += 1,
            Err(_) => break,
        }
    }
    dropped
}

/// Parses `--timeout SECONDS`: a positive number of seconds, fractions
/// allowed (`0.5`).
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds, such as 2 or 0.5"))?;
    if !(0.001..=3600.0).contains(&seconds) {
        return Err(format!(
            "'{text}' is out of range: give between 0.001 and 3600 seconds"
        ));
    }
    Duration::try_from_secs_f64(seconds).map_err(|err| format!("'{text}': {err}"))
}

/// A duration as a person writes it: `1 s`, `0.25 s`.
fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_datagram_is_shown_as_one() {
        assert_eq!(show(b"").to_string(), "(an empty datagram)");
        assert_eq!(show(b"hi\n").to_string(), "hi");
        // A datagram of one newline is not empty: it shows as nothing.
        assert_eq!(show(b"\n").to_string(), "");
    }

    fn pair() -> anyhow::Result<(UdpSocket, UdpSocket)> {
        let a = UdpSocket::bind("127.0.0.1:0")?;
        let b = UdpSocket::bind("127.0.0.1:0")?;
        a.set_read_timeout(Some(Duration::from_secs(5)))?;
        b.set_read_timeout(Some(Duration::from_secs(5)))?;
        Ok((a, b))
    }

    #[test]
    fn a_datagram_that_fits_is_whole() -> anyhow::Result<()> {
        let (a, b) = pair()?;
        a.send_to(b"hello", b.local_addr()?)?;
        let mut buf = [0; 16];
        let got = recv_from(&b, &mut buf)?;
        assert_eq!((got.len, got.size, got.from), (5, 5, a.local_addr()?));
        assert!(!got.is_truncated());
        assert_eq!(&buf[..got.len], b"hello");
        Ok(())
    }

    #[test]
    fn a_datagram_larger_than_the_buffer_is_cut_and_measured() -> anyhow::Result<()> {
        let (a, b) = pair()?;
        a.send_to(&[b'x'; 2000], b.local_addr()?)?;
        a.send_to(b"next", b.local_addr()?)?;
        let mut buf = [0; 1024];
        let got = recv_from(&b, &mut buf)?;
        assert_eq!((got.len, got.size, got.lost()), (1024, 2000, 976));
        assert!(got.is_truncated());
        // The rest is gone: the next datagram is the next one sent.
        let next = recv_from(&b, &mut buf)?;
        assert_eq!(&buf[..next.len], b"next");
        Ok(())
    }

    #[test]
    fn an_empty_datagram_is_a_datagram() -> anyhow::Result<()> {
        let (a, b) = pair()?;
        a.send_to(b"", b.local_addr()?)?;
        let mut buf = [0; 16];
        let got = recv_from(&b, &mut buf)?;
        assert_eq!((got.len, got.size, got.from), (0, 0, a.local_addr()?));
        Ok(())
    }

    #[test]
    fn ask_gives_up_after_its_tries_and_says_why() -> anyhow::Result<()> {
        let (client, silent) = pair()?;
        let patience = Patience {
            wait: Duration::from_millis(50),
            tries: 3,
        };
        let asked = ask(
            &client,
            silent.local_addr()?,
            b"anyone?",
            &mut [0; 16],
            patience,
        );
        let Err(err) = asked else {
            anyhow::bail!("a silent socket answered: {asked:?}");
        };
        let text = format!("{err:#}");
        assert!(text.contains("after 3 tries"), "{text}");
        assert!(text.contains("UDP does not retransmit"), "{text}");
        // All three tries arrived at the silent socket, and no fourth.
        let mut buf = [0; 16];
        for _ in 0..3 {
            assert_eq!(recv_from(&silent, &mut buf)?.len, 7);
        }
        silent.set_nonblocking(true)?;
        let fourth = recv_from(&silent, &mut buf);
        assert!(
            fourth.as_ref().is_err_and(crate::is_timeout),
            "a fourth try arrived: {fourth:?}"
        );
        Ok(())
    }

    #[test]
    fn late_answers_are_not_taken_for_the_next_one() -> anyhow::Result<()> {
        let (client, server) = pair()?;
        server.send_to(b"late", client.local_addr()?)?;
        // Wait until the late answer is queued at the client.
        let mut buf = [0; 16];
        let queued = client.peek_from(&mut buf)?;
        assert_eq!(queued.0, 4);
        let patience = Patience {
            wait: Duration::from_secs(5),
            tries: 1,
        };
        let server_addr = server.local_addr()?;
        let answering = std::thread::spawn(move || -> anyhow::Result<()> {
            let mut buf = [0; 16];
            let got = recv_from(&server, &mut buf)?;
            server.send_to(b"fresh", got.from)?;
            Ok(())
        });
        let answer = ask(&client, server_addr, b"question", &mut buf, patience)?;
        assert_eq!(&buf[..answer.len], b"fresh");
        answering
            .join()
            .map_err(|_| anyhow::anyhow!("the answering thread panicked"))??;
        Ok(())
    }

    #[test]
    fn an_answer_that_does_not_fit_is_dropped_and_the_wait_goes_on() -> anyhow::Result<()> {
        let (client, server) = pair()?;
        let server_addr = server.local_addr()?;
        let answering = std::thread::spawn(move || -> anyhow::Result<()> {
            let mut buf = [0; 16];
            let got = recv_from(&server, &mut buf)?;
            server.send_to(b"stale", got.from)?;
            server.send_to(b"question", got.from)?;
            Ok(())
        });
        let patience = Patience {
            wait: Duration::from_secs(5),
            tries: 1,
        };
        let mut buf = [0; 16];
        let (answer, tries) = ask_for(
            &client,
            server_addr,
            b"question",
            &mut buf,
            patience,
            |_, got| got == b"question",
        )?;
        assert_eq!(&buf[..answer.len], b"question");
        assert_eq!(tries, 1);
        answering
            .join()
            .map_err(|_| anyhow::anyhow!("the answering thread panicked"))??;
        Ok(())
    }

    #[test]
    fn a_cut_datagram_is_described_with_plurals_that_agree() {
        let from = SocketAddr::from(([127, 0, 0, 1], 9));
        let cut = Datagram {
            len: 1024,
            size: 1025,
            from,
        };
        assert_eq!(
            cut.cut_note(),
            "the datagram had 1025 bytes, the buffer holds 1024: 1 byte lost"
        );
        let tiny = Datagram {
            len: 1,
            size: 3,
            from,
        };
        assert_eq!(
            tiny.cut_note(),
            "the datagram had 3 bytes, the buffer holds 1: 2 bytes lost"
        );
    }

    #[test]
    fn clients_bind_loopback_for_a_loopback_server() {
        let local = |server: &str| server.parse().map(local_for).map(|a| a.to_string());
        assert_eq!(local("127.0.0.1:9000"), Ok("127.0.0.1:0".to_owned()));
        assert_eq!(local("[::1]:9000"), Ok("[::1]:0".to_owned()));
        assert_eq!(local("192.0.2.7:9000"), Ok("0.0.0.0:0".to_owned()));
    }

    #[test]
    fn seconds_parse_or_explain() {
        assert_eq!(parse_seconds("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_seconds("0.25"), Ok(Duration::from_millis(250)));
        for bad in ["0", "-1", "1e-12", "soon", "NaN", "inf", "1e9"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_try_gives_up_within_its_wait() -> anyhow::Result<()> {
        let (client, silent) = pair()?;
        let patience = Patience {
            wait: Duration::from_millis(50),
            tries: 1,
        };
        let server = silent.local_addr()?;
        let asked = ask(&client, server, b"anyone?", &mut [0; 16], patience);
        let Err(err) = asked else {
            anyhow::bail!("a silent socket answered: {asked:?}");
        };
        let text = format!("{err:#}");
        assert!(
            text.starts_with(&format!("no answer from {server} within 0.05 s: ")),
            "{text}"
        );
        Ok(())
    }

    #[test]
    fn a_closed_port_ends_the_question_at_once() -> anyhow::Result<()> {
        let (client, closed) = pair()?;
        let addr = closed.local_addr()?;
        // Keep the port taken, but deaf: connected to itself, it matches no
        // datagram from the client, so the kernel answers "port unreachable".
        closed.connect(addr)?;
        client.connect(addr)?;
        let patience = Patience {
            wait: Duration::from_secs(5),
            tries: 3,
        };
        let asked = ask(&client, addr, b"anyone?", &mut [0; 16], patience);
        let Err(err) = asked else {
            anyhow::bail!("a closed port answered: {asked:?}");
        };
        let text = format!("{err:#}");
        assert!(
            text.starts_with(&format!("nothing listens on {addr}: ")),
            "{text}"
        );
        assert!(text.contains("port unreachable"), "{text}");
        Ok(())
    }

    #[test]
    fn a_failed_receive_ends_the_question_at_once() -> anyhow::Result<()> {
        let (client, server) = pair()?;
        client.connect(server.local_addr()?)?;
        // Shut for reading, the socket takes no more datagrams: a receive
        // returns at once with nothing, not even a sender.
        nix::sys::socket::shutdown(client.as_raw_fd(), nix::sys::socket::Shutdown::Read)?;
        let patience = Patience {
            wait: Duration::from_secs(5),
            tries: 3,
        };
        let asked = ask(
            &client,
            server.local_addr()?,
            b"anyone?",
            &mut [0; 16],
            patience,
        );
        let Err(err) = asked else {
            anyhow::bail!("a shut socket received: {asked:?}");
        };
        let text = format!("{err:#}");
        assert!(text.starts_with("cannot receive the answer: "), "{text}");
        // Asked once: no retry.
        let mut buf = [0; 16];
        assert_eq!(recv_from(&server, &mut buf)?.len, 7);
        server.set_nonblocking(true)?;
        let again = recv_from(&server, &mut buf);
        assert!(again.as_ref().is_err_and(crate::is_timeout), "{again:?}");
        Ok(())
    }

    #[test]
    fn late_answers_are_dropped_64_at_a_time() -> anyhow::Result<()> {
        let (client, server) = pair()?;
        assert_eq!(drop_late_answers(&client), 0);
        for _ in 0..3 {
            server.send_to(b"late", client.local_addr()?)?;
        }
        // On loopback a datagram is queued at the receiver before send_to
        // returns.
        assert_eq!(drop_late_answers(&client), 3);
        assert_eq!(drop_late_answers(&client), 0);
        for _ in 0..70 {
            server.send_to(b"flood", client.local_addr()?)?;
        }
        assert_eq!(drop_late_answers(&client), 64);
        assert_eq!(drop_late_answers(&client), 6);
        Ok(())
    }

    #[test]
    fn ask_says_on_stdout_what_it_drops_and_when_it_sends_again() -> anyhow::Result<()> {
        // What `ask` prints goes to this process's own stdout.
        let ran =
            crate::rerun::run_alone("datagram::tests::asking_twice_with_a_late_answer_queued")?;
        let stdout = String::from_utf8_lossy(&ran.stdout);
        // The harness prints `test NAME ... ` before the test's first line.
        let said: Vec<&str> = stdout
            .lines()
            .filter_map(|line| {
                let at = line.find("(dropped").or_else(|| line.find("no answer"))?;
                Some(&line[at..])
            })
            .collect();
        assert_eq!(
            said,
            [
                "(dropped 1 late answer(s) to an earlier message)",
                "no answer within 0.05 s: sending again (try 2 of 2)",
            ],
            "{stdout}"
        );
        Ok(())
    }

    /// Run by the test above, in a process of its own; passes at once
    /// otherwise. Asks a silent socket twice: first with a late answer
    /// queued and two tries, then with nothing queued and one try.
    #[test]
    fn asking_twice_with_a_late_answer_queued() -> anyhow::Result<()> {
        if !crate::rerun::in_child() {
            return Ok(());
        }
        let (client, silent) = pair()?;
        silent.send_to(b"late", client.local_addr()?)?;
        let wait = Duration::from_millis(50);
        let server = silent.local_addr()?;
        let first = ask(
            &client,
            server,
            b"one",
            &mut [0; 16],
            Patience { wait, tries: 2 },
        );
        let second = ask(
            &client,
            server,
            b"two",
            &mut [0; 16],
            Patience { wait, tries: 1 },
        );
        assert!(first.is_err() && second.is_err(), "{first:?} {second:?}");
        Ok(())
    }
}
