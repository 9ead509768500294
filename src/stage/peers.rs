//! Raw socket peers: a plain TCP connection or UDP socket in the stage's own
//! process, to talk to a lesson binary the way `nc` or a Python script would,
//! or to misbehave (send garbage, reset) as no lesson client does.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A raw peer.
pub enum Peer {
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

impl Peer {
    /// Connects to `addr`, waiting at most `limit` for the handshake.
    pub fn connect(addr: SocketAddr, limit: Duration) -> anyhow::Result<Peer> {
        let stream = TcpStream::connect_timeout(&addr, limit)?;
        Ok(Peer::Tcp {
            stream: Some(stream),
            received: Vec::new(),
        })
    }

    /// A UDP socket on the loopback address of `addr`'s family, connected
    /// to `addr` so that it hears only from there; with its own address.
    pub fn udp(addr: SocketAddr) -> anyhow::Result<(Peer, SocketAddr)> {
        let local: SocketAddr = if addr.is_ipv4() {
            "127.0.0.1:0"
        } else {
            "[::1]:0"
        }
        .parse()?;
        let socket = UdpSocket::bind(local)?;
        socket.connect(addr)?;
        let local = socket.local_addr()?;
        Ok((Peer::Udp { socket }, local))
    }

    /// Whether this is a UDP peer.
    pub fn is_udp(&self) -> bool {
        matches!(self, Peer::Udp { .. })
    }

    /// Sends bytes: into the stream, or as one datagram.
    pub fn send(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        match self {
            Peer::Tcp { stream, .. } => Ok(stream
                .as_mut()
                .context("the connection is closed")?
                .write_all(bytes)?),
            Peer::Udp { socket } => {
                let sent = socket.send(bytes)?;
                anyhow::ensure!(
                    sent == bytes.len(),
                    "only {sent} bytes of the datagram sent"
                );
                Ok(())
            }
        }
    }

    /// On TCP, consumes the bytes received so far up to where `wanted` says
    /// its match ends, if it finds one. UDP keeps nothing between receipts.
    pub fn take_buffered(&mut self, wanted: impl Fn(&[u8]) -> Option<usize>) -> bool {
        match self {
            Peer::Tcp { received, .. } => match wanted(received) {
                Some(end) => {
                    received.drain(..end);
                    true
                }
                None => false,
            },
            Peer::Udp { .. } => false,
        }
    }

    /// One read (TCP, whose bytes are also kept for [`Peer::take_buffered`])
    /// or one datagram (UDP), waiting until `deadline`; `None` if nothing
    /// came in time.
    pub fn receive(&mut self, deadline: Instant) -> anyhow::Result<Option<Vec<u8>>> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        let mut buf = vec![0; 65_536];
        let result = match self {
            Peer::Tcp { stream, .. } => {
                let stream = stream.as_mut().context("the connection is closed")?;
                stream.set_read_timeout(Some(left))?;
                stream.read(&mut buf)
            }
            Peer::Udp { socket } => {
                socket.set_read_timeout(Some(left))?;
                socket.recv(&mut buf)
            }
        };
        let n = match result {
            Ok(n) => n,
            Err(err) if common::is_timeout(&err) => return Ok(None),
            Err(err) => return Err(err).context("the socket failed"),
        };
        if let Peer::Tcp { received, .. } = self {
            if n == 0 {
                bail!("the connection was closed by the other side");
            }
            received.extend_from_slice(&buf[..n]);
        }
        buf.truncate(n);
        Ok(Some(buf))
    }

    /// Waits until the other side closes the connection (a read returns 0),
    /// keeping what arrives meanwhile.
    pub fn wait_closed(&mut self, limit: Duration) -> anyhow::Result<()> {
        let Peer::Tcp { stream, received } = self else {
            bail!("not a TCP peer");
        };
        let stream = stream.as_mut().context("the connection is closed")?;
        let deadline = Instant::now() + limit;
        let mut buf = [0; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("the connection was not closed within {limit:?}");
            }
            stream.set_read_timeout(Some(left))?;
            match stream.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => received.extend_from_slice(&buf[..n]),
                Err(err) if common::is_timeout(&err) => {}
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => return Err(err).context("the connection failed"),
            }
        }
    }

    /// Closes with `SO_LINGER` 0, so that the kernel sends RST.
    pub fn reset(&mut self) -> anyhow::Result<()> {
        let Peer::Tcp { stream, .. } = self else {
            bail!("not a TCP peer");
        };
        let stream = stream.take().context("the connection is already closed")?;
        socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
        drop(stream);
        Ok(())
    }

    /// Half-closes: sends FIN, keeps reading.
    pub fn shutdown(&mut self) -> anyhow::Result<()> {
        let Peer::Tcp { stream, .. } = self else {
            bail!("not a TCP peer");
        };
        stream
            .as_ref()
            .context("the connection is closed")?
            .shutdown(Shutdown::Write)?;
        Ok(())
    }
}
