//! The state the kernel keeps for one TCP connection (ESTABLISHED,
//! FIN_WAIT2, TIME_WAIT, ...), read from `/proc/net/tcp` and
//! `/proc/net/tcp6`, as `ss -tan` reads it.
//!
//! A program cannot ask its socket for this (`getsockopt(TCP_INFO)` works
//! only while the socket is open, and a socket in TIME_WAIT has already been
//! closed by its program). The kernel lists every TCP socket it still holds
//! in those two files, one line each, including the ones in TIME_WAIT:
//!
//! ```text
//!   sl  local_address rem_address   st tx_queue rx_queue ...
//!    0: 0100007F:22C3 0100007F:D4A2 06 00000000:00000000 ...
//! ```
//!
//! An address is the IP's bytes as the kernel stores them, printed as
//! 32-bit words in hexadecimal in this machine's byte order (so 127.0.0.1
//! reads `0100007F` on a little-endian machine), then `:` and the port in
//! hexadecimal; `st` is the state's number from the kernel's
//! `include/net/tcp_states.h`. IPv6 sockets are in `tcp6`, an IPv4 peer of
//! theirs written as `::ffff:127.0.0.1`.

use std::fmt;
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A TCP state, named as the kernel names it (`include/net/tcp_states.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    Established,
    SynSent,
    SynRecv,
    FinWait1,
    FinWait2,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Closing,
    NewSynRecv,
}

impl TcpState {
    /// The state numbered `number` in `/proc/net/tcp`'s `st` column.
    pub fn from_number(number: u8) -> Option<Self> {
        use TcpState::*;
        Some(match number {
            0x01 => Established,
            0x02 => SynSent,
            0x03 => SynRecv,
            0x04 => FinWait1,
            0x05 => FinWait2,
            0x06 => TimeWait,
            0x07 => Close,
            0x08 => CloseWait,
            0x09 => LastAck,
            0x0A => Listen,
            0x0B => Closing,
            0x0C => NewSynRecv,
            _ => return None,
        })
    }

    /// The kernel's name for the state: `TIME_WAIT`, `FIN_WAIT2`, ...
    pub fn name(self) -> &'static str {
        use TcpState::*;
        match self {
            Established => "ESTABLISHED",
            SynSent => "SYN_SENT",
            SynRecv => "SYN_RECV",
            FinWait1 => "FIN_WAIT1",
            FinWait2 => "FIN_WAIT2",
            TimeWait => "TIME_WAIT",
            Close => "CLOSE",
            CloseWait => "CLOSE_WAIT",
            LastAck => "LAST_ACK",
            Listen => "LISTEN",
            Closing => "CLOSING",
            NewSynRecv => "NEW_SYN_RECV",
        }
    }

    /// What the state means for the side of a closing connection that is
    /// in it, in a sentence.
    pub fn meaning(self) -> &'static str {
        use TcpState::*;
        match self {
            Established => "the connection is open both ways",
            FinWait1 => "our FIN is sent and not yet acknowledged",
            FinWait2 => "our FIN is acknowledged; the peer has not closed its side yet",
            TimeWait => {
                "both sides have closed, and the side that closed first keeps the \
                 connection's addresses for about 60 s, so that no late segment of it \
                 is taken for part of a new connection"
            }
            Closing => "both sides sent FIN at once; waiting for the last ACK",
            CloseWait => "the peer closed its side first; we have not closed ours yet",
            LastAck => "the peer closed first, then we did; waiting for its last ACK",
            _ => "not a state of a closing connection",
        }
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The state of the connection from `local` to `remote`, as the kernel
/// lists it now, or `None` when the kernel holds no such connection any
/// more (it ended, or never was). Connections in TIME_WAIT are listed.
pub fn state_of(local: SocketAddr, remote: SocketAddr) -> io::Result<Option<TcpState>> {
    Ok(find(local, remote)?.map(|entry| entry.state))
}

/// How many bytes the kernel holds for one open connection, in its two
/// queues (the `tx_queue` and `rx_queue` columns of `/proc/net/tcp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queues {
    /// Sent by the program, not yet acknowledged by the peer's kernel.
    pub unacknowledged: u32,
    /// Arrived and acknowledged, not yet read by the program.
    pub unread: u32,
}

/// The queues of the open connection from `local` to `remote`, or `None`
/// when the kernel holds no such connection.
pub fn queues_of(local: SocketAddr, remote: SocketAddr) -> io::Result<Option<Queues>> {
    Ok(find(local, remote)?.map(|entry| {
        let mut queues = entry.queues;
        // The kernel counts the unread part as sequence numbers, and the
        // peer's FIN takes one: once it has come, one of them is no byte.
        if matches!(
            entry.state,
            TcpState::CloseWait | TcpState::LastAck | TcpState::Closing
        ) {
            queues.unread = queues.unread.saturating_sub(1);
        }
        queues
    }))
}

/// Waits until the peer's kernel has acknowledged every byte sent on the
/// connection from `local` to `remote` (so that they wait in its receive
/// queue), or `limit` has passed. Says whether they were.
pub fn wait_acknowledged(
    local: SocketAddr,
    remote: SocketAddr,
    limit: std::time::Duration,
) -> io::Result<bool> {
    let queues = wait_for_queues(local, remote, limit, |queues| queues.unacknowledged == 0)?;
    Ok(queues.is_some_and(|queues| queues.unacknowledged == 0))
}

/// Waits until the queues of the connection from `local` to `remote` are
/// as `wanted` says, or `limit` has passed, and gives them as they were
/// last seen (`None` once the kernel holds no such connection).
///
/// The kernel sends no event when a queue changes, so this reads its table
/// every millisecond: a wait bounded by `limit`, not a guess at how long.
pub fn wait_for_queues(
    local: SocketAddr,
    remote: SocketAddr,
    limit: std::time::Duration,
    wanted: impl Fn(Queues) -> bool,
) -> io::Result<Option<Queues>> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        match queues_of(local, remote)? {
            Some(queues) if !wanted(queues) && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            seen => return Ok(seen),
        }
    }
}

/// The kernel's line for the connection from `local` to `remote`.
fn find(local: SocketAddr, remote: SocketAddr) -> io::Result<Option<Entry>> {
    let wanted = (canonical(local), canonical(remote));
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let table = match fs::read_to_string(file) {
            Ok(table) => table,
            // A kernel without IPv6 has no tcp6.
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        let found = table
            .lines()
            .filter_map(parse_entry)
            .find(|entry| (canonical(entry.local), canonical(entry.remote)) == wanted);
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// One line of the kernel's table, the columns this module reads.
struct Entry {
    local: SocketAddr,
    remote: SocketAddr,
    state: TcpState,
    queues: Queues,
}

/// An address with an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) turned
/// into the IPv4 address it stands for, so that both spellings compare equal.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

/// One line of `/proc/net/tcp` or `tcp6`: local address, remote address,
/// state. `None` for the header line or anything else unexpected.
#[cfg(test)]
fn parse_line(line: &str) -> Option<(SocketAddr, SocketAddr, TcpState)> {
    parse_entry(line).map(|entry| (entry.local, entry.remote, entry.state))
}

/// One line of `/proc/net/tcp` or `tcp6`, or `None` for the header line or
/// anything else unexpected.
fn parse_entry(line: &str) -> Option<Entry> {
    let mut fields = line.split_whitespace();
    let _slot = fields.next()?;
    let local = parse_address(fields.next()?)?;
    let remote = parse_address(fields.next()?)?;
    let state = TcpState::from_number(u8::from_str_radix(fields.next()?, 16).ok()?)?;
    let (tx, rx) = fields.next()?.split_once(':')?;
    let queues = Queues {
        unacknowledged: u32::from_str_radix(tx, 16).ok()?,
        unread: u32::from_str_radix(rx, 16).ok()?,
    };
    Some(Entry {
        local,
        remote,
        state,
        queues,
    })
}

/// `0100007F:1F90` (IPv4) or 32 hexadecimal digits and a port (IPv6).
fn parse_address(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    // Each 8 digits are one 32-bit word of the address, printed as this
    // machine reads it: its native byte order gives back the bytes as stored.
    let word = |digits: &str| u32::from_str_radix(digits, 16).ok().map(u32::to_ne_bytes);
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(ip)?)),
        32 => {
            let mut bytes = [0; 16];
            for (chunk, at) in bytes.chunks_mut(4).zip((0..32).step_by(8)) {
                chunk.copy_from_slice(&word(ip.get(at..at + 8)?)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::{Shutdown, TcpListener, TcpStream};

    /// How the kernel writes `ip`'s bytes: native-order 32-bit words.
    fn hex_words(bytes: &[u8]) -> String {
        bytes
            .chunks(4)
            .map(|chunk| {
                let word = [chunk[0], chunk[1], chunk[2], chunk[3]];
                format!("{:08X}", u32::from_ne_bytes(word))
            })
            .collect()
    }

    #[test]
    fn lines_of_both_tables_parse() -> Result<(), std::net::AddrParseError> {
        let v4 = format!(
            "   3: {}:1F90 {}:D4A2 06 00000000:00000000 03:00000f2a 00000000     0        0 0 3 0",
            hex_words(&[127, 0, 0, 1]),
            hex_words(&[127, 0, 0, 1])
        );
        assert_eq!(
            parse_line(&v4),
            Some((
                "127.0.0.1:8080".parse()?,
                "127.0.0.1:54434".parse()?,
                TcpState::TimeWait
            ))
        );
        let mapped: Ipv6Addr = "::ffff:127.0.0.1".parse()?;
        let v6 = format!(
            "   0: {}:0050 {}:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1",
            hex_words(&mapped.octets()),
            hex_words(&Ipv6Addr::UNSPECIFIED.octets())
        );
        let (local, remote, state) = parse_line(&v6).unwrap_or_else(|| panic!("{v6}"));
        assert_eq!(canonical(local), "127.0.0.1:80".parse()?);
        assert_eq!(remote, "[::]:0".parse()?);
        assert_eq!(state, TcpState::Listen);
        let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when";
        assert_eq!(parse_line(header), None);
        Ok(())
    }

    #[test]
    fn every_state_number_has_the_kernels_name() {
        let names: Vec<_> = (0..=13)
            .filter_map(TcpState::from_number)
            .map(TcpState::name)
            .collect();
        assert_eq!(names.len(), 12);
        assert_eq!(
            TcpState::from_number(6).map(TcpState::name),
            Some("TIME_WAIT")
        );
        assert_eq!(
            TcpState::from_number(5).map(TcpState::name),
            Some("FIN_WAIT2")
        );
    }

    #[test]
    fn a_real_connection_is_found_through_its_close() -> anyhow::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let server_addr = listener.local_addr()?;
        let client = TcpStream::connect(server_addr)?;
        let client_addr = client.local_addr()?;
        let (server, _) = listener.accept()?;
        assert_eq!(
            state_of(server_addr, client_addr)?,
            Some(TcpState::Established)
        );
        // The listener is found too, with no remote address.
        assert_eq!(
            state_of(server_addr, "0.0.0.0:0".parse()?)?,
            Some(TcpState::Listen)
        );

        // The server closes first: FIN_WAIT (1 or 2) while the client has
        // not closed.
        server.shutdown(Shutdown::Write)?;
        let mut client = client;
        client.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
        assert_eq!(client.read(&mut [0; 8])?, 0, "the server's FIN");
        let waiting = state_of(server_addr, client_addr)?;
        assert!(
            matches!(waiting, Some(TcpState::FinWait1 | TcpState::FinWait2)),
            "{waiting:?}"
        );
        assert_eq!(
            state_of(client_addr, server_addr)?,
            Some(TcpState::CloseWait)
        );

        // Then the client: once its FIN has reached the server (the
        // server's read returns 0), the server's side is in TIME_WAIT.
        client.shutdown(Shutdown::Write)?;
        let mut server = server;
        server.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
        assert_eq!(server.read(&mut [0; 8])?, 0, "the client's FIN");
        drop(server);
        assert_eq!(
            state_of(server_addr, client_addr)?,
            Some(TcpState::TimeWait)
        );
        drop(client);
        Ok(())
    }

    #[test]
    fn a_connection_that_never_was_is_not_found() -> anyhow::Result<()> {
        let nowhere = "127.0.0.1:1".parse()?;
        assert_eq!(state_of(nowhere, nowhere)?, None);
        Ok(())
    }

    #[test]
    fn the_queues_show_bytes_acknowledged_but_not_read() -> anyhow::Result<()> {
        use std::io::Write;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let server_addr = listener.local_addr()?;
        let mut client = TcpStream::connect(server_addr)?;
        let client_addr = client.local_addr()?;
        let (mut server, _) = listener.accept()?;
        client.write_all(b"twelve bytes")?;
        assert!(wait_acknowledged(
            client_addr,
            server_addr,
            std::time::Duration::from_secs(5)
        )?);
        assert_eq!(
            queues_of(server_addr, client_addr)?,
            Some(Queues {
                unacknowledged: 0,
                unread: 12
            })
        );
        let mut buf = [0; 64];
        assert_eq!(server.read(&mut buf)?, 12);
        assert_eq!(
            queues_of(server_addr, client_addr)?.map(|q| q.unread),
            Some(0)
        );
        Ok(())
    }
}
