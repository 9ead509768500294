//! Lesson 14, the client: the same small request and its answer, over every
//! transport, measured side by side in one run, interleaved, so that the
//! machine's noise falls on all of them alike.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Parser;
use common::{Hint, UnixAddr};
use transport_costs::{BULK, BULK_DONE, frame, read_length};

use transport_costs::{chart, stats};

/// Lesson 14 (what each transport costs), the client: measures the round
/// trip of a request over UDP, a kept TCP connection (TCP_NODELAY on, and
/// off), a new TCP connection per request, a Unix stream and a Unix
/// datagram socket, at 32 B, 1 KiB and 64 KiB, and the bulk throughput of
/// TCP and Unix streams, against `transport-echo-server`. Prints a table;
/// with --out also writes it and a chart (SVG) there.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// The server (`transport-echo-server`), on UDP and TCP at this address.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9014",
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// A short run (a few seconds): fewer round trips, one round.
    #[arg(long)]
    short: bool,
    /// How many interleaved rounds [default: 7, or 1 with --short].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=50))]
    rounds: Option<u32>,
    /// A folder to write the table (transport-costs.txt) and the chart
    /// (transport-costs.svg) into.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// A C UDP ping-pong client (scripts/bench/udp-pingpong.c, built) to
    /// run against the same server in the same rounds, as a check.
    #[arg(long, value_name = "PATH")]
    c_client: Option<PathBuf>,
}

fn main() -> ExitCode {
    common::run(14, measure)
}

/// The transports, in the table's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    UdpC,
    TcpKept,
    TcpNagle,
    TcpNew,
    UnixStream,
    UnixDatagram,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::UdpC => "udp, C client",
            Transport::TcpKept => "tcp kept, nodelay",
            Transport::TcpNagle => "tcp kept, Nagle",
            Transport::TcpNew => "tcp new per request",
            Transport::UnixStream => "unix stream",
            Transport::UnixDatagram => "unix datagram",
        }
    }
}

/// The request sizes, in bytes.
const SIZES: [usize; 3] = [32, 1024, 65_536];

/// How many round trips one measurement times, after a tenth as many
/// untimed ones (the warm-up: caches, the CPU's clock, lazy allocations).
fn trips(transport: Transport, size: usize, short: bool) -> usize {
    let full = match (transport, size) {
        // Every one waits for a delayed ACK, about 40 ms: a few tell it.
        (Transport::TcpNagle, _) => 12,
        (Transport::TcpNew, 65_536) => 100,
        (Transport::TcpNew, _) => 300,
        (_, 65_536) => 300,
        _ => 2000,
    };
    if short { (full / 20).max(3) } else { full }
}

/// Whether the table has this pair: a UDP datagram carries at most 65,507
/// bytes, and one Nagle size tells its story.
fn measured(transport: Transport, size: usize) -> bool {
    match transport {
        Transport::Udp | Transport::UdpC => size <= common::report::MAX_UDP_PAYLOAD,
        Transport::TcpNagle => size == 32,
        _ => true,
    }
}

// ANCHOR: measure
fn measure(args: Args) -> anyhow::Result<()> {
    let mut out = common::out();
    let rounds = args.rounds.unwrap_or(if args.short { 1 } else { 7 });
    let mut peers = Peers::connect(args.addr)?;
    let mut transports = vec![
        Transport::Udp,
        Transport::TcpKept,
        Transport::TcpNagle,
        Transport::TcpNew,
        Transport::UnixStream,
        Transport::UnixDatagram,
    ];
    if args.c_client.is_some() {
        transports.insert(1, Transport::UdpC);
    }
    writeln!(
        out,
        "measuring {} transports, {rounds} round(s), against {}",
        transports.len(),
        args.addr
    )?;

    // Every sample of every (transport, size), in nanoseconds.
    let mut samples: Vec<((&str, usize), Vec<u64>)> = Vec::new();
    let mut per_round: Vec<((&str, usize), Vec<u64>)> = Vec::new();
    let mut bulk: Vec<(&str, Vec<f64>)> = vec![("tcp", Vec::new()), ("unix stream", Vec::new())];
    for round in 0..rounds as usize {
        for &size in &SIZES {
            // Interleaved: each round starts with another transport, so
            // none always runs first, or right after the slow one.
            let mut order = transports.clone();
            let turn = round % order.len();
            order.rotate_left(turn);
            for transport in order.into_iter().filter(|t| measured(*t, size)) {
                let n = trips(transport, size, args.short);
                let taken = match transport {
                    Transport::UdpC => {
                        run_c_client(args.c_client.as_deref(), args.addr.port(), n, size)?
                    }
                    _ => peers.round_trips(transport, size, n)?,
                };
                ensure!(
                    taken.len() == n,
                    "{}: {} of {n} requests answered",
                    transport.name(),
                    taken.len()
                );
                let mut sorted = taken.clone();
                sorted.sort_unstable();
                push(
                    &mut per_round,
                    (transport.name(), size),
                    transport_costs::stats::nearest_rank(&sorted, 0.5),
                );
                for sample in taken {
                    push(&mut samples, (transport.name(), size), sample);
                }
            }
        }
        let bytes: u64 = if args.short { 4 << 20 } else { 64 << 20 };
        bulk[0].1.push(peers.bulk_tcp(bytes)?);
        bulk[1].1.push(peers.bulk_unix(bytes)?);
    }
    let time_wait = time_wait_towards(args.addr.port());
    let figures = stats::summarise(&samples, &per_round);
    let table = stats::table(&figures, &bulk);
    write!(out, "{table}")?;
    writeln!(
        out,
        "every request answered, nothing lost: {} round trips",
        samples.iter().map(|(_, s)| s.len()).sum::<usize>()
    )?;
    writeln!(
        out,
        "new connections left {time_wait} sockets in TIME_WAIT (each holds its port for 60 s)"
    )?;
    if let Some(dir) = &args.out {
        let machine = stats::machine();
        std::fs::create_dir_all(dir)?;
        let text = format!("{machine}\n\n{table}");
        std::fs::write(dir.join("transport-costs.txt"), text)?;
        chart::draw(&dir.join("transport-costs.svg"), &figures, &bulk, &machine)?;
        writeln!(
            out,
            "wrote transport-costs.txt and transport-costs.svg in {}",
            dir.display()
        )?;
    }
    Ok(())
}
// ANCHOR_END: measure

fn push<K: PartialEq, V>(list: &mut Vec<(K, Vec<V>)>, key: K, value: V) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some((_, values)) => values.push(value),
        None => list.push((key, vec![value])),
    }
}

/// The client's sockets, opened once: the kept connections stay open for
/// the whole run.
struct Peers {
    server: SocketAddr,
    udp: UdpSocket,
    tcp: TcpStream,
    nagle: TcpStream,
    unix: UnixStream,
    unix_datagram: UnixDatagram,
    /// Request frames and datagrams, made once per size.
    buf: Vec<u8>,
}

/// How long any one answer may take before the request counts as lost.
const PATIENCE: Duration = Duration::from_secs(2);

impl Peers {
    fn connect(server: SocketAddr) -> anyhow::Result<Peers> {
        let port = server.port();
        let udp = UdpSocket::bind(common::datagram::local_for(server))?;
        // connect() on UDP: only this server's datagrams are let in, and
        // send/recv need no address.
        udp.connect(server)?;
        let tcp = tcp_to(server, true)?;
        let nagle = tcp_to(server, false)?;
        let unix =
            UnixStream::connect_addr(&abstract_name(transport_costs::unix_stream_name(port))?)
                .context("cannot connect to the server's unix stream socket")
                .hint(IS_IT_RUNNING)?;
        // A datagram socket must have a name of its own to be answered.
        let own = abstract_name(format!("transport-costs-{}", std::process::id()))?;
        let unix_datagram = UnixDatagram::bind_addr(&own)?;
        unix_datagram
            .connect_addr(&abstract_name(transport_costs::unix_datagram_name(port))?)
            .context("cannot reach the server's unix datagram socket")?;
        udp.set_read_timeout(Some(PATIENCE))?;
        unix_datagram.set_read_timeout(Some(PATIENCE))?;
        tcp.set_read_timeout(Some(PATIENCE))?;
        nagle.set_read_timeout(Some(PATIENCE))?;
        unix.set_read_timeout(Some(PATIENCE))?;
        Ok(Peers {
            server,
            udp,
            tcp,
            nagle,
            unix,
            unix_datagram,
            buf: Vec::new(),
        })
    }

    // ANCHOR: round_trips
    /// `n` timed round trips of `size` bytes over `transport`, after
    /// `n / 10` untimed ones; each answer is checked (its length, and its
    /// first byte, which changes with every request).
    fn round_trips(
        &mut self,
        transport: Transport,
        size: usize,
        n: usize,
    ) -> anyhow::Result<Vec<u64>> {
        let mut request = match transport {
            Transport::Udp | Transport::UnixDatagram => vec![b'x'; size],
            _ => frame(size),
        };
        let mut answer = std::mem::take(&mut self.buf);
        answer.resize(request.len() + 1, 0);
        let first = if request.len() > size { 4 } else { 0 };
        let mut taken = Vec::with_capacity(n);
        for i in 0..n / 10 + n {
            request[first] = i as u8;
            let start = Instant::now();
            let got = match transport {
                // One send() is one datagram; one recv() its whole answer.
                Transport::Udp => {
                    self.udp.send(&request)?;
                    self.udp.recv(&mut answer)
                }
                Transport::UnixDatagram => {
                    self.unix_datagram.send(&request)?;
                    self.unix_datagram.recv(&mut answer)
                }
                // A kept connection: one write, then read the whole frame.
                Transport::TcpKept => stream_trip(&mut self.tcp, &request, &mut answer),
                Transport::UnixStream => stream_trip(&mut self.unix, &request, &mut answer),
                // The length and the bytes in two writes, Nagle on: the
                // second waits for the ACK of the first, which the server
                // delays, hoping to send it with an answer it cannot give
                // before the second write arrives.
                Transport::TcpNagle => {
                    self.nagle.write_all(&request[..4])?;
                    stream_trip(&mut self.nagle, &request[4..], &mut answer)
                }
                // connect (the handshake), the request, the answer, close.
                Transport::TcpNew => {
                    let mut conn = tcp_to(self.server, true)?;
                    conn.set_read_timeout(Some(PATIENCE))?;
                    stream_trip(&mut conn, &request, &mut answer)
                }
                Transport::UdpC => bail!("the C client runs on its own"),
            };
            let elapsed = start.elapsed();
            let got = got.with_context(|| format!("{}: no answer", transport.name()))?;
            ensure!(
                got == request.len() && answer[first] == request[first],
                "{}: a wrong answer ({got} bytes)",
                transport.name()
            );
            if i >= n / 10 {
                taken.push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX).max(1));
            }
        }
        self.buf = answer;
        Ok(taken)
    }
    // ANCHOR_END: round_trips

    /// Sends `bytes` over the kept TCP connection and returns MB/s.
    fn bulk_tcp(&mut self, bytes: u64) -> anyhow::Result<f64> {
        bulk(&mut self.tcp, bytes)
    }

    /// The same over the Unix stream.
    fn bulk_unix(&mut self, bytes: u64) -> anyhow::Result<f64> {
        bulk(&mut self.unix, bytes)
    }
}

/// One round trip over a stream: `request` in one write, then the answer's
/// length and bytes, however many reads they take (a stream keeps no
/// boundaries). Returns the frame's length, as a datagram's recv would.
fn stream_trip(
    stream: &mut (impl Read + Write),
    request: &[u8],
    answer: &mut [u8],
) -> std::io::Result<usize> {
    stream.write_all(request)?;
    let length = read_length(stream)?.ok_or(std::io::ErrorKind::UnexpectedEof)? as usize;
    let body = answer
        .get_mut(4..4 + length)
        .ok_or(std::io::ErrorKind::InvalidData)?;
    stream.read_exact(body)?;
    Ok(4 + length)
}

/// Bulk throughput: `bytes` in 64 KiB writes, then the server's one-byte
/// acknowledgement; MB/s (10^6 bytes a second).
fn bulk(stream: &mut (impl Read + Write), bytes: u64) -> anyhow::Result<f64> {
    let chunk = vec![b'x'; 65_536];
    let start = Instant::now();
    stream.write_all(&BULK.to_be_bytes())?;
    stream.write_all(&bytes.to_be_bytes())?;
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        stream.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    let mut done = [0];
    stream
        .read_exact(&mut done)
        .context("no acknowledgement of the bulk transfer")?;
    ensure!(done[0] == BULK_DONE, "a wrong acknowledgement");
    Ok(bytes as f64 / start.elapsed().as_secs_f64() / 1e6)
}

fn tcp_to(server: SocketAddr, nodelay: bool) -> anyhow::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&server, PATIENCE)
        .with_context(|| format!("cannot connect to {server}"))
        .hint(IS_IT_RUNNING)?;
    // TCP_NODELAY: send each write at once, even with data unacknowledged.
    stream.set_nodelay(nodelay)?;
    Ok(stream)
}

fn abstract_name(name: String) -> anyhow::Result<std::os::unix::net::SocketAddr> {
    Ok(UnixAddr::Abstract(name).to_socket_addr()?)
}

const IS_IT_RUNNING: &str =
    "is transport-echo-server running on that address? `make server L=14` starts it";

/// Runs the C client against the server's UDP port: its round trips, in
/// nanoseconds, one a line.
fn run_c_client(
    path: Option<&std::path::Path>,
    port: u16,
    n: usize,
    size: usize,
) -> anyhow::Result<Vec<u64>> {
    let path = path.context("no C client")?;
    let run = std::process::Command::new(path)
        .args([
            port.to_string(),
            n.to_string(),
            size.to_string(),
            (n / 10).to_string(),
        ])
        .output()
        .with_context(|| format!("cannot run {}", path.display()))?;
    ensure!(
        run.status.success(),
        "the C client failed: {}",
        String::from_utf8_lossy(&run.stderr).trim()
    );
    String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|line| line.trim().parse::<u64>().map(|ns| ns.max(1)))
        .collect::<Result<_, _>>()
        .context("the C client printed something else than round trips")
}

/// Sockets in TIME_WAIT whose far end is the server's port: what the new
/// connections left behind (the client closed first, so they are ours).
fn time_wait_towards(port: u16) -> usize {
    let mut count = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let remote_port = fields
                .get(2)
                .and_then(|remote| remote.rsplit(':').next())
                .and_then(|hex| u16::from_str_radix(hex, 16).ok());
            if remote_port == Some(port) && fields.get(3) == Some(&"06") {
                count += 1;
            }
        }
    }
    count
}
