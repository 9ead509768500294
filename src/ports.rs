//! Addresses where nothing answers, for the "no server" tests.
//!
//! Binding port 0, noting the port and closing the socket is not enough: a
//! test running in parallel may be given the same port a moment later and
//! answer, or swallow, what was meant for nobody. These keep the port taken
//! for as long as the value lives, in a way that still refuses every peer.

use std::net::{SocketAddr, UdpSocket};

use socket2::{Domain, Protocol, Socket, Type};

/// A TCP port on 127.0.0.1 that refuses connections: a socket is bound to it
/// but never listens, so the kernel answers each SYN with RST ("connection
/// refused") and gives the port to no one else.
pub struct RefusingTcpPort {
    socket: Socket,
}

impl RefusingTcpPort {
    /// Takes a free port.
    pub fn new() -> anyhow::Result<Self> {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        let any: SocketAddr = "127.0.0.1:0".parse()?;
        socket.bind(&any.into())?;
        Ok(RefusingTcpPort { socket })
    }

    /// Its address, `127.0.0.1:PORT`.
    pub fn addr(&self) -> anyhow::Result<SocketAddr> {
        self.socket
            .local_addr()?
            .as_socket()
            .ok_or_else(|| anyhow::anyhow!("not an IP address"))
    }
}

/// A UDP port on 127.0.0.1 where datagrams find no one: a socket is bound to
/// it but connected elsewhere, so the kernel delivers it nothing, answers
/// each datagram with ICMP "port unreachable", and gives the port to no one
/// else.
pub struct UnreachableUdpPort {
    socket: UdpSocket,
}

impl UnreachableUdpPort {
    /// Takes a free port.
    pub fn new() -> anyhow::Result<Self> {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        // Connected to itself: only its own datagrams would match, and it
        // sends none.
        socket.connect(socket.local_addr()?)?;
        Ok(UnreachableUdpPort { socket })
    }

    /// Its address, `127.0.0.1:PORT`.
    pub fn addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.socket.local_addr()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::ErrorKind;
    use std::time::Duration;

    #[test]
    fn the_tcp_port_refuses() -> anyhow::Result<()> {
        let port = RefusingTcpPort::new()?;
        let err = std::net::TcpStream::connect_timeout(&port.addr()?, Duration::from_secs(5))
            .expect_err("nothing listens");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        Ok(())
    }

    #[test]
    fn the_udp_port_is_unreachable() -> anyhow::Result<()> {
        let port = UnreachableUdpPort::new()?;
        let client = UdpSocket::bind("127.0.0.1:0")?;
        client.connect(port.addr()?)?;
        client.set_read_timeout(Some(Duration::from_secs(5)))?;
        client.send(b"anyone?")?;
        let err = client.recv(&mut [0; 16]).expect_err("nobody answers");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        Ok(())
    }
}
