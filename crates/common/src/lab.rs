//! The lab: a private network of a lesson's own, where packets can be lost
//! on purpose and every segment can be watched, without sudo and without
//! touching the machine's real network.
//!
//! A server calls [`enter`] first thing; it does what
//! `unshare --user --map-root-user --net` (`unshare -rn`) does: a new user
//! namespace, in which this process is root, and a new network namespace,
//! which holds nothing but a loopback interface `lo`, down. Then `lo` is
//! brought up (`ip link set lo up`). [`drop_packets`] asks iptables to drop a
//! share of the packets sent to the server's port. A client calls [`join`] to enter
//! the lab of the server it talks to, as `nsenter --target PID --user --net
//! --preserve-credentials` does. By hand, in a shell:
//!
//! ```text
//! unshare -rn sh -c 'ip link set lo up;
//!   for p in udp tcp; do iptables -A INPUT -p $p --dport 9010
//!     -m statistic --mode random --probability 0.2 -j DROP; done;
//!   exec loss-lab-server'
//! nsenter --target PID --user --net --preserve-credentials loss-lab-client
//! ```
//!
//! Everything here goes when the last process inside the lab ends.

use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use nix::errno::Errno;
use nix::sched::CloneFlags;

use crate::Hint;

/// What to do where the kernel refuses to make a namespace.
pub const REFUSED_HINT: &str = "this kernel refuses unprivileged user namespaces. On Ubuntu \
    23.10 and later, allow them with `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`; \
    where `sysctl user.max_user_namespaces` says 0, raise it (`sudo sysctl \
    user.max_user_namespaces=15000`); or run the lesson with sudo. A container must be started \
    with user namespaces allowed; macOS has none";

/// What to do when iptables is missing.
pub const IPTABLES_HINT: &str = "install it: `sudo apt-get install iptables` (Debian, Ubuntu), \
    `sudo dnf install iptables` (Fedora); `make test` installs it by itself when run as root";

/// Moves this process into a lab of its own: new user and network
/// namespaces, with `lo` up. It must be called before the process starts a
/// thread (the kernel refuses to move a process with several threads into a
/// new user namespace), so first thing in `main`, before Ctrl-C's handler.
pub fn enter() -> anyhow::Result<()> {
    // Who we are outside: inside, this user is root (uid 0), and nobody
    // else exists.
    let uid = nix::unistd::getuid();
    let gid = nix::unistd::getgid();
    // unshare(): from now on this process lives in a new user namespace (in
    // which it holds every capability) and a new network namespace (its own
    // interfaces, routes, sockets, firewall and port numbers).
    nix::sched::unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET)
        .map_err(refused)
        .context("cannot make a private network (unshare)")
        .hint(REFUSED_HINT)?;
    // Map root inside to our own user outside: what `unshare -r` writes.
    // setgroups must be denied before an unprivileged process may map its
    // group.
    let write = |file: &str, text: String| {
        fs::write(format!("/proc/self/{file}"), text)
            .with_context(|| format!("cannot write /proc/self/{file}"))
            .hint(REFUSED_HINT)
    };
    write("setgroups", "deny".to_owned())?;
    write("uid_map", format!("0 {uid} 1"))?;
    write("gid_map", format!("0 {gid} 1"))?;
    bring_lo_up().context("cannot bring the lab's loopback interface up")
}

/// The error unshare gave, in words.
fn refused(errno: Errno) -> io::Error {
    let why = match errno {
        Errno::EPERM => "the kernel does not allow this user to make a user namespace",
        Errno::ENOSPC | Errno::EUSERS => "the limit on user namespaces is reached (it may be 0)",
        Errno::EINVAL | Errno::ENOSYS => "this kernel has no user or network namespaces",
        _ => errno.desc(),
    };
    io::Error::new(io::Error::from(errno).kind(), why)
}

/// `ip link set lo up`, by hand: one netlink message to the kernel's routing
/// service (RTM_NEWLINK: "change this link: set the flag IFF_UP"), and its
/// answer, an acknowledgement or an error number.
fn bring_lo_up() -> anyhow::Result<()> {
    use nix::sys::socket::{
        AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, recv, sendto,
        setsockopt, socket, sockopt,
    };
    const RTM_NEWLINK: u16 = 16;
    const NLM_F_REQUEST_ACK: u16 = 1 | 4;
    const NLMSG_ERROR: u16 = 2;
    const IFF_UP: u32 = 1;
    let index = nix::net::if_::if_nametoindex("lo").context("no interface lo")?;
    let netlink = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )?;
    setsockopt(
        &netlink,
        sockopt::ReceiveTimeout,
        &nix::sys::time::TimeVal::new(2, 0),
    )?;
    // struct nlmsghdr (16 bytes), then struct ifinfomsg (16 bytes).
    let mut message = Vec::with_capacity(32);
    message.extend(32_u32.to_ne_bytes()); // length
    message.extend(RTM_NEWLINK.to_ne_bytes()); // type
    message.extend(NLM_F_REQUEST_ACK.to_ne_bytes()); // flags
    message.extend(1_u32.to_ne_bytes()); // sequence number
    message.extend(0_u32.to_ne_bytes()); // port id: the kernel fills it
    message.extend([0, 0]); // family AF_UNSPEC, padding
    message.extend(0_u16.to_ne_bytes()); // device type
    message.extend(index.to_ne_bytes()); // interface index
    message.extend(IFF_UP.to_ne_bytes()); // flags
    message.extend(IFF_UP.to_ne_bytes()); // which flags to change
    sendto(
        netlink.as_raw_fd(),
        &message,
        &NetlinkAddr::new(0, 0),
        MsgFlags::empty(),
    )?;
    let mut answer = [0_u8; 512];
    let n = recv(netlink.as_raw_fd(), &mut answer, MsgFlags::empty())?;
    let kind = answer.get(4..6).map(|b| u16::from_ne_bytes([b[0], b[1]]));
    let code = answer
        .get(16..20)
        .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
    match (n >= 20, kind, code) {
        (true, Some(NLMSG_ERROR), Some(0)) => Ok(()),
        (true, Some(NLMSG_ERROR), Some(code)) => Err(Errno::from_raw(-code).into()),
        _ => bail!("the kernel answered {n} bytes that are not an acknowledgement"),
    }
}

/// Makes the lab drop each packet sent to `port` (UDP or TCP) with
/// probability `share` (0 to 1), chosen at random for each packet by the
/// kernel: for each protocol,
/// `iptables -A INPUT -p udp --dport PORT -m statistic --mode random --probability SHARE -j DROP`.
/// Every packet on `lo` passes INPUT once, so each has one chance to be
/// lost. Only the way to the server is lossy: what the server sends back
/// (its answers, its acknowledgements) always arrives, so that one loss is
/// never compounded by the loss of what would repair it. Nothing is done
/// for 0.
pub fn drop_packets(share: f64, port: u16) -> anyhow::Result<()> {
    if share <= 0.0 {
        return Ok(());
    }
    let iptables = iptables()
        .context("cannot drop packets: iptables is not installed")
        .hint(IPTABLES_HINT)?;
    let (probability, port) = (format!("{share}"), port.to_string());
    // The legacy iptables takes a lock in /run, which only the machine's
    // root may write: the lab's iptables gets a lock file of its own.
    let lock = std::env::temp_dir().join(format!("lab-xtables-{}.lock", std::process::id()));
    for protocol in ["udp", "tcp"] {
        let output = Command::new(&iptables)
            .env("XTABLES_LOCKFILE", &lock)
            .args(["-w", "-A", "INPUT", "-p", protocol, "--dport", &port])
            .args(["-m", "statistic", "--mode", "random"])
            .args(["--probability", &probability, "-j", "DROP"])
            .output()
            .with_context(|| format!("cannot run {}", iptables.display()))?;
        if !output.status.success() {
            bail!(
                "{} refused the rule ({}): {}",
                iptables.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
    }
    let _ = fs::remove_file(&lock);
    Ok(())
}

/// Where iptables is: on the PATH, or in /usr/sbin or /sbin, which an
/// ordinary user's PATH often lacks.
pub fn iptables() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join("iptables"))
        .find(|file| file.is_file())
}

/// Enters the lab of the server that listens on `server` (TCP or UDP, as
/// `transport` says), or of process `pid` when it is given, and returns that
/// process's id. Like [`enter`], it must run before the process starts a
/// thread. `lesson` is named in the hints (`make server L=10`).
///
/// The lab is found as a person would find it: among this user's
/// processes, one whose network namespace is not ours and has a socket on
/// that address (its kernel tables, `/proc/PID/net/udp` or `tcp`, say so).
pub fn join(
    lesson: u8,
    server: SocketAddr,
    transport: &str,
    pid: Option<u32>,
) -> anyhow::Result<u32> {
    let start = format!("start the server first, in another terminal: `make server L={lesson}`");
    let pid = match pid {
        Some(pid) => pid,
        None => match find(server, transport)?.as_slice() {
            [pid] => *pid,
            [] => Err(anyhow::anyhow!(
                "no lab of yours has a {transport} socket on {server}"
            ))
            .hint(format!("{start}; give its address with --addr"))?,
            many => Err(anyhow::anyhow!(
                "{} labs have a {transport} socket on {server} (processes {many:?})",
                many.len()
            ))
            .hint("name one with --lab PID")?,
        },
    };
    // A namespace is named by a file under /proc/PID/ns/. setns() moves this
    // process into it: first the user namespace (where the lab's root is
    // us), which gives the right to enter the network namespace.
    let open = |kind: &str| {
        fs::File::open(format!("/proc/{pid}/ns/{kind}"))
            .with_context(|| format!("cannot open the lab of process {pid}"))
            .hint(format!("is the server still running? {start}"))
    };
    let (user, net) = (open("user")?, open("net")?);
    if fs::read_link(format!("/proc/{pid}/ns/net")).ok() == fs::read_link("/proc/self/ns/net").ok()
    {
        bail!("process {pid} shares this network: it is in no lab of its own");
    }
    nix::sched::setns(&user, CloneFlags::CLONE_NEWUSER)
        .context("cannot enter the lab's user namespace")
        .hint("only the user who started the server can join its lab")?;
    nix::sched::setns(&net, CloneFlags::CLONE_NEWNET).context("cannot enter the lab's network")?;
    Ok(pid)
}

/// The processes, one per lab, whose private network has a socket on
/// `server`.
fn find(server: SocketAddr, transport: &str) -> anyhow::Result<Vec<u32>> {
    let ours = fs::read_link("/proc/self/ns/net").context("cannot read /proc/self/ns/net")?;
    let me = nix::unistd::getuid().as_raw();
    let mut found: Vec<(u32, PathBuf)> = Vec::new();
    for entry in fs::read_dir("/proc")
        .context("cannot list /proc")?
        .flatten()
    {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // A process may end at any moment of this search: what cannot be
        // read any more is skipped.
        let (Ok(meta), Ok(net)) = (
            entry.metadata(),
            fs::read_link(format!("/proc/{pid}/ns/net")),
        ) else {
            continue;
        };
        let owner = std::os::unix::fs::MetadataExt::uid(&meta);
        if owner != me || net == ours || found.iter().any(|(_, seen)| *seen == net) {
            continue;
        }
        let table = fs::read_to_string(format!("/proc/{pid}/net/{transport}")).unwrap_or_default();
        if listens(&table, server, transport) {
            found.push((pid, net));
        }
    }
    Ok(found.into_iter().map(|(pid, _)| pid).collect())
}

/// Whether a kernel socket table (`/proc/net/udp` or `tcp`) lists a socket
/// bound to `addr`: for TCP, listening (state 0A); for UDP, bound (07).
pub fn listens(table: &str, addr: SocketAddr, transport: &str) -> bool {
    let state = if transport == "tcp" { "0A" } else { "07" };
    table.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.get(3) == Some(&state) && fields.get(1).and_then(|l| ipv4(l)) == Some(addr)
    })
}

/// `0100007F:1F90` (the kernel's hex, address in this machine's byte order)
/// as `127.0.0.1:8080`.
pub fn ipv4(hex: &str) -> Option<SocketAddr> {
    let (ip, port) = hex.split_once(':')?;
    let ip = u32::from_str_radix(ip, 16).ok()?;
    let port = u16::from_str_radix(port, 16).ok()?;
    Some(SocketAddrV4::new(Ipv4Addr::from(ip.to_ne_bytes()), port).into())
}

/// One counter of the lab's own `/proc/net/snmp` (this network namespace's
/// protocol statistics), such as `("Tcp", "RetransSegs")`: how many TCP
/// segments the kernel has sent again since the lab was made.
pub fn snmp(protocol: &str, counter: &str) -> anyhow::Result<u64> {
    let text = fs::read_to_string("/proc/net/snmp").context("cannot read /proc/net/snmp")?;
    let prefix = format!("{protocol}:");
    let mut rows = text.lines().filter(|line| line.starts_with(&prefix));
    let (Some(names), Some(values)) = (rows.next(), rows.next()) else {
        bail!("/proc/net/snmp has no {protocol} counters");
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(name, _)| *name == counter)
        .and_then(|(_, value)| value.parse().ok())
        .with_context(|| format!("/proc/net/snmp has no {protocol} {counter}"))
}

/// How long a lab's client waits at most for a step that loss can delay:
/// long enough for several of TCP's doubling retransmission timeouts.
pub const PATIENCE: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listening_socket_is_found_in_a_kernel_table() {
        let table = "  sl  local_address rem_address   st\n   \
            0: 0100007F:2332 00000000:0000 0A 00000000:00000000\n   \
            1: 0100007F:2333 0100007F:2332 01 00000000:00000000\n";
        let addr: SocketAddr = "127.0.0.1:9010".parse().unwrap_or_else(|_| unreachable!());
        assert!(listens(table, addr, "tcp"));
        assert!(!listens(table, addr, "udp"));
        assert!(!listens(
            table,
            SocketAddr::from(([127, 0, 0, 1], 9011)),
            "tcp"
        ));
        assert_eq!(ipv4("nonsense"), None);
    }
}
