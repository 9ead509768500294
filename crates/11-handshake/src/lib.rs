//! Lesson 11's capture: every TCP segment on the lab's `lo`, read from an
//! AF_PACKET socket, and drawn as a sequence diagram in the terminal.
//!
//! A packet socket receives a copy of every frame that crosses an
//! interface, before any firewall and any TCP: what tcpdump and Wireshark
//! read. On `lo` each frame crosses twice (it leaves, and it arrives), so the
//! copies marked "outgoing" are skipped and each segment is seen once. Only
//! root may open one, which inside the lab this process is.

use std::fmt::Write as _;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::socket::{
    AddressFamily, LinkAddr, SockFlag, SockProtocol, SockType, recvfrom, setsockopt, socket,
    sockopt,
};

/// One TCP segment, as seen on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Sent by the client (true) or the server (false).
    pub from_client: bool,
    pub seq: u32,
    pub ack: u32,
    pub syn: bool,
    pub ack_flag: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    /// Payload bytes.
    pub len: u32,
}

impl Segment {
    /// The flags as Wireshark writes them: `SYN`, `SYN+ACK`, `FIN+ACK`...
    pub fn flags(&self) -> String {
        let names = [
            (self.syn, "SYN"),
            (self.fin, "FIN"),
            (self.rst, "RST"),
            (self.psh, "PSH"),
            (self.ack_flag, "ACK"),
        ];
        let set: Vec<&str> = names
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, name)| *name)
            .collect();
        set.join("+")
    }

    /// How far the segment moves its sender's sequence number: its payload,
    /// plus one for a SYN and one for a FIN, which each count as a byte.
    pub fn span(&self) -> u32 {
        self.len + u32::from(self.syn) + u32::from(self.fin)
    }
}

/// The packet socket.
pub struct Capture {
    socket: OwnedFd,
}

// ANCHOR: capture
impl Capture {
    /// socket(AF_PACKET, SOCK_RAW, ETH_P_ALL): a copy of every frame, of
    /// every protocol, on every interface of this network namespace (in the
    /// lab, only `lo`).
    pub fn open() -> anyhow::Result<Capture> {
        let socket = socket(
            AddressFamily::Packet,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::EthAll,
        )
        .context("cannot open a packet socket (AF_PACKET)")?;
        Ok(Capture { socket })
    }

    /// The segments to or from `port` until the connection has ended (both
    /// FINs acknowledged, or a RST), `enough` says it has seen enough, or
    /// `deadline` passes. Returns them, and whether the end was seen.
    pub fn segments(
        &self,
        port: u16,
        deadline: Instant,
        enough: impl Fn(&[Segment]) -> bool,
    ) -> anyhow::Result<(Vec<Segment>, bool)> {
        let mut segments = Vec::new();
        let mut frame = [0_u8; 65_536];
        loop {
            if enough(&segments) {
                return Ok((segments, true));
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Ok((segments, false));
            };
            let wait = nix::sys::time::TimeVal::new(
                i64::try_from(left.as_secs()).unwrap_or(1),
                i64::from(left.subsec_micros().max(1000)),
            );
            setsockopt(&self.socket, sockopt::ReceiveTimeout, &wait)?;
            // recvfrom(): one frame, and where it was seen: its interface
            // and its direction (PACKET_OUTGOING is 4).
            let (n, from) = match recvfrom::<LinkAddr>(self.socket.as_raw_fd(), &mut frame) {
                Ok(got) => got,
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => continue,
                Err(err) => return Err(err).context("cannot read the capture"),
            };
            if from.is_some_and(|link| link.pkttype() == 4) {
                continue;
            }
            if let Some(segment) = parse(&frame[..n], port) {
                segments.push(segment);
            }
        }
    }
}
// ANCHOR_END: capture

/// The TCP segment in an Ethernet frame, if it is one to or from `port`
/// (the server's): Ethernet, then IPv4, then TCP headers, which etherparse
/// reads.
pub fn parse(frame: &[u8], port: u16) -> Option<Segment> {
    let packet = etherparse::SlicedPacket::from_ethernet(frame).ok()?;
    let Some(etherparse::TransportSlice::Tcp(tcp)) = packet.transport else {
        return None;
    };
    let from_client = tcp.destination_port() == port;
    if !from_client && tcp.source_port() != port {
        return None;
    }
    Some(Segment {
        from_client,
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        syn: tcp.syn(),
        ack_flag: tcp.ack(),
        fin: tcp.fin(),
        rst: tcp.rst(),
        psh: tcp.psh(),
        len: u32::try_from(tcp.payload().len()).unwrap_or(u32::MAX),
    })
}

/// Whether the connection has ended on the wire: a RST, or a FIN from each
/// side, each acknowledged by the other.
pub fn ended(segments: &[Segment]) -> bool {
    segments.iter().any(|s| s.rst) || (acked_fin(segments, true) && acked_fin(segments, false))
}

/// Whether the side `client` (or the server) has sent a FIN that the other
/// side has acknowledged (an ACK one past the FIN's sequence number).
pub fn acked_fin(segments: &[Segment], client: bool) -> bool {
    segments
        .iter()
        .filter(|s| s.from_client == client && s.fin)
        .any(|fin| {
            let next = fin.seq.wrapping_add(fin.span());
            segments
                .iter()
                .any(|s| s.from_client != client && s.ack_flag && s.ack == next)
        })
}

/// The width of the diagram between the two lifelines.
const WIDTH: usize = 40;

// ANCHOR: diagram
/// The segments as a sequence diagram: one line each, an arrow from the
/// side that sent it, its flags, its sequence and acknowledgement numbers
/// relative to each side's first (as Wireshark shows them), its payload
/// length, and the absolute numbers at the end; a line names each phase.
pub fn diagram(segments: &[Segment], client: &str, server: &str) -> Vec<String> {
    // Each side's initial sequence number: the one in its SYN.
    let first = |from_client: bool| {
        segments
            .iter()
            .find(|s| s.from_client == from_client)
            .map_or(0, |s| s.seq)
    };
    let (client_isn, server_isn) = (first(true), first(false));
    // The two names above the two lifelines.
    let width = (WIDTH + 2)
        .saturating_sub(client.len())
        .max(server.len() + 2);
    let mut lines = vec![format!("  {client}{server:>width$}")];
    let mut phase = "";
    for s in segments {
        let (own, other) = if s.from_client {
            (client_isn, server_isn)
        } else {
            (server_isn, client_isn)
        };
        let mut text = format!("{} seq={}", s.flags(), s.seq.wrapping_sub(own));
        if s.ack_flag {
            let _ = write!(text, " ack={}", s.ack.wrapping_sub(other));
        }
        if s.len > 0 {
            let _ = write!(text, " len={}", s.len);
        }
        let arrow = if s.from_client {
            format!(
                " {text} {}",
                "─".repeat(WIDTH.saturating_sub(text.len() + 3)) + ">"
            )
        } else {
            format!(
                "<{} {text} ",
                "─".repeat(WIDTH.saturating_sub(text.len() + 3))
            )
        };
        let now = if s.syn || (phase == "handshake" && s.len == 0 && !s.fin && !s.rst) {
            "handshake"
        } else if s.fin || s.rst || phase == "close" {
            "close"
        } else {
            "data"
        };
        if now != phase {
            lines.push(format!("  {now}:"));
        }
        phase = now;
        lines.push(format!("  |{arrow}|  (seq {} ack {})", s.seq, s.ack));
    }
    lines
}
// ANCHOR_END: diagram

/// How long the capture waits at most for a connection to end.
pub const CAPTURE_PATIENCE: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(from_client: bool, seq: u32, ack: u32, flags: &str, len: u32) -> Segment {
        Segment {
            from_client,
            seq,
            ack,
            syn: flags.contains("SYN"),
            ack_flag: flags.contains("ACK"),
            fin: flags.contains("FIN"),
            rst: flags.contains("RST"),
            psh: flags.contains("PSH"),
            len,
        }
    }

    #[test]
    fn a_close_ends_when_both_fins_are_acknowledged() {
        let mut wire = vec![
            segment(true, 100, 0, "SYN", 0),
            segment(false, 500, 101, "SYN+ACK", 0),
            segment(true, 101, 501, "ACK", 0),
            segment(false, 501, 101, "FIN+ACK", 0),
        ];
        assert!(!ended(&wire));
        wire.push(segment(true, 101, 502, "FIN+ACK", 0));
        assert!(acked_fin(&wire, false) && !acked_fin(&wire, true));
        assert!(!ended(&wire));
        wire.push(segment(false, 502, 102, "ACK", 0));
        assert!(ended(&wire));
        let lines = diagram(&wire, "client", "server");
        assert_eq!(lines[1], "  handshake:");
        assert!(lines[2].contains(" SYN seq=0 ─"), "{}", lines[2]);
        assert!(lines[3].contains("<─"), "{}", lines[3]);
        assert!(lines[3].contains("SYN+ACK seq=0 ack=1"), "{}", lines[3]);
        assert_eq!(lines[5], "  close:");
        assert!(lines[6].contains("FIN+ACK seq=1 ack=1 "), "{}", lines[6]);
        assert!(lines[8].contains("(seq 502 ack 102)"), "{}", lines[8]);
    }

    #[test]
    fn a_frame_that_is_not_tcp_to_the_port_is_not_a_segment() {
        assert_eq!(parse(&[0; 10], 80), None);
        assert_eq!(parse(&[0; 64], 80), None);
    }
}
