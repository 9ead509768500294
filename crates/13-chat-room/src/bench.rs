//! The benchmark behind `make bench-chat` (`chat-load bench`): each server
//! model in turn, started by this program, measured with this program's own
//! clients. Figures are printed, never checked: a busy machine changes them.
//!
//! For each model:
//!
//! 1. **held**: N clients (10,000) connect and pick a name, one after
//!    another; how many the server let in, and its memory before and after
//!    (`VmRSS` from `/proc`), divided by the clients: the memory per idle
//!    client.
//! 2. **latency**: with all of them connected, a few of them say R lines a
//!    second into the room (10) for some seconds, each line carrying its
//!    number; every other client reads everything. The latency of a line is
//!    from its `write` to its arrival at the *last* of its recipients.
//! 3. **busiest**: 1,000 clients, all of them sending, at rising rates, until
//!    the server no longer delivers every line within a second: the most
//!    deliveries per second it kept up with.
//!
//! The server runs with `--quiet` (no join and leave notices) and is pinned
//! to the CPUs given with `--server-cpus` (`taskset`); `make bench-chat`
//! pins this program to the other CPU.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use mio::{Events, Interest, Poll, Token};

/// `chat-load bench`'s options.
#[derive(clap::Args)]
pub struct Options {
    /// The server binary (default: `chat-server` beside this program).
    #[arg(long)]
    server: Option<PathBuf>,
    /// The models to measure.
    #[arg(long, value_delimiter = ',', default_value = "threads,poll,tokio")]
    models: Vec<String>,
    /// How many idle clients to connect.
    #[arg(long, default_value_t = 10_000)]
    clients: usize,
    /// Lines a second said into the room of idle clients.
    #[arg(long, default_value_t = 10)]
    rate: u32,
    /// How many of the clients say them.
    #[arg(long, default_value_t = 10)]
    senders: usize,
    /// Seconds of talking, in the latency and in each busy step.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// How many clients, all sending, in the busy steps.
    #[arg(long, default_value_t = 1_000)]
    busy_clients: usize,
    /// Lines a second into the room of busy clients, step by step.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "100,400,1600,3200,6400,12800"
    )]
    busy_rates: Vec<u32>,
    /// The CPUs the server may run on (`taskset -c`); empty: no pinning.
    #[arg(long, default_value = "0")]
    server_cpus: String,
    /// Where to write the chart (SVG).
    #[arg(long)]
    chart: Option<PathBuf>,
}

/// What one model did.
#[derive(Debug, Default, Clone)]
pub struct Figures {
    pub model: String,
    pub wanted: usize,
    pub held: usize,
    pub rss_start_kib: u64,
    pub rss_held_kib: u64,
    pub peak_kib: u64,
    pub threads: u64,
    pub latency: Phase,
    pub busiest: Option<Phase>,
}

/// One stretch of talking.
#[derive(Debug, Default, Clone)]
pub struct Phase {
    pub rate: u32,
    pub sent: usize,
    pub complete: usize,
    pub deliveries: u64,
    pub deliveries_per_s: f64,
    pub median_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub server_cpu: f64,
    /// This program's own CPU share over the same time: near 100%, the
    /// figures measure the load generator as much as the server.
    pub load_cpu: f64,
    pub dropped: usize,
}

pub fn run(options: &Options) -> anyhow::Result<()> {
    let mut out = common::out();
    crate::fds::raise_limit().context("cannot raise the limit on open files")?;
    let server = match &options.server {
        Some(path) => path.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("no folder")?
            .join("chat-server"),
    };
    writeln!(out, "{}", machine())?;
    let mut all = Vec::new();
    for model in &options.models {
        let started = Instant::now();
        let figures = measure(&server, model, options)
            .with_context(|| format!("measuring --model {model}"))?;
        writeln!(out, "{}", row(&figures))?;
        writeln!(out, "  ({model}: {:.0} s)", started.elapsed().as_secs_f64())?;
        all.push(figures);
    }
    writeln!(out)?;
    writeln!(out, "{}", table(&all))?;
    if let Some(path) = &options.chart {
        chart(&all, path, &machine())?;
        writeln!(out, "chart: {}", path.display())?;
    }
    Ok(())
}

/// The machine and the date, for the table and the chart.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split(':').nth(1))
        .unwrap_or("unknown CPU")
        .trim()
        .to_owned();
    let cores = cpuinfo
        .lines()
        .filter(|line| line.starts_with("processor"))
        .count();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let date = chrono_free_date();
    format!("{cpu}, {cores} CPUs, Linux {}, {date}", kernel.trim())
}

/// Today's date (UTC), without a date crate.
fn chrono_free_date() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y}-{m:02}-{d:02}")
}

fn measure(server: &std::path::Path, model: &str, options: &Options) -> anyhow::Result<Figures> {
    let server = Server::start(server, model, &options.server_cpus)?;
    let mut figures = Figures {
        model: model.to_owned(),
        wanted: options.clients,
        rss_start_kib: server.status("VmRSS")?,
        ..Figures::default()
    };
    // 1. Held.
    let crowd = Crowd::join(server.addr, options.clients, "c")?;
    figures.held = crowd.len();
    figures.rss_held_kib = server.status("VmRSS")?;
    figures.threads = server.status("Threads")?;
    // 2. Latency.
    let mut crowd = crowd.polled()?;
    let senders: Vec<usize> = (0..options.senders.min(crowd.len())).collect();
    figures.latency = crowd.talk(
        &server,
        &senders,
        options.rate,
        Duration::from_secs(options.seconds),
    )?;
    figures.peak_kib = server.status("VmHWM")?;
    drop(crowd);
    // 3. Busiest: rising rates until it no longer keeps up.
    let mut busy = Crowd::join(server.addr, options.busy_clients, "b")?.polled()?;
    let everyone: Vec<usize> = (0..busy.len()).collect();
    for &rate in &options.busy_rates {
        let phase = busy.talk(
            &server,
            &everyone,
            rate,
            Duration::from_secs(options.seconds),
        )?;
        let kept_up = phase.dropped == 0 && phase.complete == phase.sent && phase.p99_ms < 1000.0;
        if kept_up {
            figures.busiest = Some(phase);
        } else {
            break;
        }
    }
    figures.peak_kib = figures.peak_kib.max(server.status("VmHWM")?);
    Ok(figures)
}

/// A server started for the benchmark.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(path: &std::path::Path, model: &str, cpus: &str) -> anyhow::Result<Server> {
        let mut command = if cpus.is_empty() {
            Command::new(path)
        } else {
            let mut taskset = Command::new("taskset");
            taskset.args(["-c", cpus]).arg(path);
            taskset
        };
        let mut child = command
            .args(["--addr", "127.0.0.1:0", "--quiet", "--model", model])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", path.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .with_context(|| format!("no ready line: `{line}`"))?
            .parse()?;
        Ok(Server { child, addr })
    }

    /// A field of `/proc/PID/status` (in KiB for the memory ones).
    fn status(&self, field: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("no {field} in /proc/PID/status"))
    }

    /// CPU time used so far (user + system), in seconds.
    fn cpu(&self) -> anyhow::Result<f64> {
        cpu_of(&self.child.id().to_string())
    }
}

/// CPU time used so far by process `pid` ("self" for this one), in
/// seconds.
fn cpu_of(pid: &str) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(ticks as f64 / 100.0)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connected, named clients.
struct Crowd {
    sockets: Vec<TcpStream>,
}

impl Crowd {
    /// Connects up to `n` clients named PREFIX0, PREFIX1, ..., one after
    /// another, each waiting for its `* you are` before the next connects;
    /// stops at the first one the server turns away once it holds some (a
    /// full room at the start may still be letting the last crowd go: it
    /// is tried again for ten seconds).
    fn join(addr: SocketAddr, n: usize, prefix: &str) -> anyhow::Result<Crowd> {
        let patience = Instant::now() + Duration::from_secs(10);
        let mut sockets = Vec::with_capacity(n);
        let mut at = 0;
        while at < n {
            let mut socket = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
                .with_context(|| format!("connecting client {at}"))?;
            socket.set_read_timeout(Some(Duration::from_secs(10)))?;
            socket.write_all(format!("{prefix}{at}\n").as_bytes())?;
            let mut reader = BufReader::with_capacity(256, &socket);
            let mut line = String::new();
            let mut welcomed = false;
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.contains("room is full") {
                    break;
                }
                if line.starts_with("* you are") {
                    welcomed = true;
                    break;
                }
            }
            if !welcomed {
                if sockets.is_empty() && Instant::now() < patience {
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
                break;
            }
            sockets.push(socket);
            at += 1;
        }
        if sockets.is_empty() {
            anyhow::bail!("the server let no client in");
        }
        Ok(Crowd { sockets })
    }

    fn len(&self) -> usize {
        self.sockets.len()
    }

    /// The same clients, non-blocking, each registered with one poll.
    fn polled(self) -> anyhow::Result<Polled> {
        let poll = Poll::new()?;
        let mut members = Vec::with_capacity(self.sockets.len());
        for (at, socket) in self.sockets.into_iter().enumerate() {
            socket.set_nonblocking(true)?;
            let mut socket = mio::net::TcpStream::from_std(socket);
            poll.registry()
                .register(&mut socket, Token(at), Interest::READABLE)?;
            members.push(Member {
                socket,
                partial: Vec::new(),
            });
        }
        Ok(Polled {
            poll,
            members,
            round: 0,
        })
    }
}

struct Member {
    socket: mio::net::TcpStream,
    /// The start of a line whose end has not come yet.
    partial: Vec<u8>,
}

struct Polled {
    poll: Poll,
    members: Vec<Member>,
    /// Which stretch of talking this is: each line carries it, so that a
    /// late line of the last stretch is not taken for one of this.
    round: u32,
}

impl Polled {
    fn len(&self) -> usize {
        self.members.len()
    }

    /// `senders` say `rate` lines a second between them (in turn) for
    /// `time`; everyone reads. Then waits up to two seconds for the last
    /// lines to arrive.
    fn talk(
        &mut self,
        server: &Server,
        senders: &[usize],
        rate: u32,
        time: Duration,
    ) -> anyhow::Result<Phase> {
        self.round += 1;
        let round = self.round;
        let recipients = self.members.len().saturating_sub(1) as u32;
        let total = (f64::from(rate) * time.as_secs_f64()) as usize;
        let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
        let mut sent_at: Vec<Instant> = Vec::with_capacity(total);
        let mut arrived: Vec<u32> = vec![0; total];
        let mut last: Vec<Instant> = Vec::with_capacity(total);
        let mut deliveries = 0_u64;
        let mut dropped = 0;
        let mut events = Events::with_capacity(4096);
        let mut buf = vec![0; 64 * 1024];
        let cpu_before = server.cpu()?;
        let own_before = cpu_of("self")?;
        let start = Instant::now();
        let mut last_arrival = start;
        let grace = start + time + Duration::from_secs(2);
        loop {
            let now = Instant::now();
            // Say every line that is due.
            while sent_at.len() < total && start + interval * sent_at.len() as u32 <= now {
                let id = sent_at.len();
                let who = senders[id % senders.len()];
                let line = format!("m {round} {id}\n");
                // A line of a few bytes into an idle socket: the kernel
                // takes it whole, or the server is hopelessly behind.
                let _ = self.members[who].socket.write(line.as_bytes());
                sent_at.push(Instant::now());
                last.push(start);
            }
            let complete = sent_at.len() == total && arrived.iter().all(|&n| n >= recipients);
            if complete || now > grace {
                break;
            }
            let next = if sent_at.len() < total {
                (start + interval * sent_at.len() as u32).saturating_duration_since(now)
            } else {
                Duration::from_millis(50)
            };
            match self.poll.poll(&mut events, Some(next)) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err.into()),
            }
            let now = Instant::now();
            for event in &events {
                let member = &mut self.members[event.token().0];
                loop {
                    let n = match member.socket.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                        Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                        Err(_) => break,
                    };
                    member.partial.extend_from_slice(&buf[..n]);
                    let mut used = 0;
                    while let Some(end) = member.partial[used..].iter().position(|&b| b == b'\n') {
                        let line = &member.partial[used..used + end];
                        used += end + 1;
                        if let Some((of, id)) = line_id(line) {
                            if of == round && id < sent_at.len() {
                                arrived[id] += 1;
                                last[id] = now;
                                deliveries += 1;
                                last_arrival = now;
                            }
                        } else if line.ends_with(b"was dropped: too slow") {
                            dropped += 1;
                        }
                    }
                    member.partial.drain(..used);
                }
            }
        }
        let cpu = server.cpu()? - cpu_before;
        let own = cpu_of("self")? - own_before;
        let wall = last_arrival
            .duration_since(start)
            .as_secs_f64()
            .max(time.as_secs_f64());
        let mut latencies: Vec<f64> = (0..sent_at.len())
            .filter(|&id| arrived[id] >= recipients)
            .map(|id| last[id].duration_since(sent_at[id]).as_secs_f64() * 1000.0)
            .collect();
        latencies.sort_by(f64::total_cmp);
        let at = |q: f64| {
            latencies
                .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        // Let whatever is still on its way arrive and be thrown away.
        self.drain(Duration::from_millis(300));
        Ok(Phase {
            rate,
            sent: sent_at.len(),
            complete: latencies.len(),
            deliveries,
            deliveries_per_s: deliveries as f64 / wall,
            median_ms: at(0.5),
            p99_ms: at(0.99),
            max_ms: latencies.last().copied().unwrap_or(f64::NAN),
            server_cpu: cpu / wall,
            load_cpu: own / wall,
            dropped: dropped.min(self.members.len()),
        })
    }

    /// Reads and forgets whatever arrives for `time`.
    fn drain(&mut self, time: Duration) {
        let mut events = Events::with_capacity(4096);
        let mut buf = vec![0; 64 * 1024];
        let end = Instant::now() + time;
        while Instant::now() < end {
            if self
                .poll
                .poll(&mut events, Some(Duration::from_millis(50)))
                .is_err()
            {
                return;
            }
            for event in &events {
                let member = &mut self.members[event.token().0];
                while matches!(member.socket.read(&mut buf), Ok(n) if n > 0) {}
                member.partial.clear();
            }
        }
    }
}

/// The round and number of a benchmark line, `[c12] m 1 345`.
fn line_id(line: &[u8]) -> Option<(u32, usize)> {
    let at = line.windows(4).position(|w| w == b"] m ")?;
    let (round, id) = std::str::from_utf8(&line[at + 4..]).ok()?.split_once(' ')?;
    Some((round.parse().ok()?, id.parse().ok()?))
}

fn row(f: &Figures) -> String {
    let per_client = per_client_kib(f);
    let busiest = f.busiest.as_ref().map_or("-".to_owned(), |b| {
        format!(
            "{:.0}/s at {} lines/s (p99 {:.0} ms, server CPU {:.0}%, load generator CPU {:.0}%)",
            b.deliveries_per_s,
            b.rate,
            b.p99_ms,
            b.server_cpu * 100.0,
            b.load_cpu * 100.0
        )
    });
    format!(
        "{}: held {} of {}, {:.1} KiB per client, peak {} MiB, {} threads; {} lines/s: \
         {:.0} deliveries/s, median {:.1} ms, p99 {:.1} ms, max {:.1} ms, server CPU {:.0}%, \
         load generator CPU {:.0}%, {} of {} lines reached everyone; busiest kept up: {busiest}",
        f.model,
        f.held,
        f.wanted,
        per_client,
        f.peak_kib / 1024,
        f.threads,
        f.latency.rate,
        f.latency.deliveries_per_s,
        f.latency.median_ms,
        f.latency.p99_ms,
        f.latency.max_ms,
        f.latency.server_cpu * 100.0,
        f.latency.load_cpu * 100.0,
        f.latency.complete,
        f.latency.sent,
    )
}

fn per_client_kib(f: &Figures) -> f64 {
    f.rss_held_kib.saturating_sub(f.rss_start_kib) as f64 / f.held.max(1) as f64
}

/// The results as a Markdown table, for the book.
fn table(all: &[Figures]) -> String {
    let mut text = String::from(
        "| model | clients held | memory per idle client | peak memory | threads | \
         deliveries/s (10 lines/s) | latency median / p99 | server CPU | \
         most deliveries/s, 1,000 all sending |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for f in all {
        let busiest = f
            .busiest
            .as_ref()
            .map_or("below the first step".to_owned(), |b| {
                format!(
                    "{:.0} ({} lines/s, p99 {:.0} ms)",
                    b.deliveries_per_s, b.rate, b.p99_ms
                )
            });
        text.push_str(&format!(
            "| {} | {} of {} | {:.1} KiB | {} MiB | {} | {:.0} | {:.1} / {:.1} ms | {:.0}% | {} |\n",
            f.model,
            f.held,
            f.wanted,
            per_client_kib(f),
            f.peak_kib / 1024,
            f.threads,
            f.latency.deliveries_per_s,
            f.latency.median_ms,
            f.latency.p99_ms,
            f.latency.server_cpu * 100.0,
            busiest,
        ));
    }
    text
}

/// Three bar charts side by side: memory per idle client, p99 latency with
/// the room of idle clients, and the most deliveries per second.
fn chart(all: &[Figures], path: &std::path::Path, machine: &str) -> anyhow::Result<()> {
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let root = SVGBackend::new(path, (1020, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let (title, body) = root.split_vertically(78);
    title
        .draw(&Text::new(
            "The chat room's three servers, measured by make bench-chat",
            (12, 8),
            ("sans-serif", 20).into_font(),
        ))
        .map_err(plot_error)?;
    title
        .draw(&Text::new(
            machine.to_owned(),
            (12, 34),
            ("sans-serif", 14).into_font(),
        ))
        .map_err(plot_error)?;
    let held: Vec<String> = all
        .iter()
        .map(|f| format!("{} {} of {}", f.model, f.held, f.wanted))
        .collect();
    title
        .draw(&Text::new(
            format!(
                "clients held: {}; server pinned to one CPU, load generator to the other",
                held.join(", ")
            ),
            (12, 54),
            ("sans-serif", 14).into_font(),
        ))
        .map_err(plot_error)?;
    let panels = body.split_evenly((1, 3));
    let names: Vec<String> = all.iter().map(|f| f.model.clone()).collect();
    let series: [(&str, Vec<f64>); 3] = [
        (
            "KiB per idle client",
            all.iter().map(per_client_kib).collect(),
        ),
        (
            "p99 latency, ms (10 lines/s)",
            all.iter().map(|f| f.latency.p99_ms).collect(),
        ),
        (
            "most deliveries/s (1,000 sending)",
            all.iter()
                .map(|f| f.busiest.as_ref().map_or(0.0, |b| b.deliveries_per_s))
                .collect(),
        ),
    ];
    let colours = [
        RGBColor(0x3a, 0x6e, 0xa5),
        RGBColor(0x2e, 0x8b, 0x57),
        RGBColor(0xb0, 0x3a, 0x2e),
    ];
    for (panel, (caption, values)) in panels.iter().zip(series.iter()) {
        let top = values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max)
            * 1.15
            + 1e-9;
        let mut chart = ChartBuilder::on(panel)
            .caption(*caption, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d((0..values.len().max(1) - 1).into_segmented(), 0.0..top)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(at) => names.get(*at).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_label_style(("sans-serif", 14))
            .y_label_style(("sans-serif", 13))
            .draw()
            .map_err(plot_error)?;
        chart
            .draw_series(values.iter().enumerate().map(|(at, value)| {
                let value = if value.is_finite() { *value } else { 0.0 };
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(at), 0.0),
                        (SegmentValue::Exact(at + 1), value),
                    ],
                    colours[at % colours.len()].filled(),
                );
                bar.set_margin(0, 0, 14, 14);
                bar
            }))
            .map_err(plot_error)?;
        chart
            .draw_series(values.iter().enumerate().map(|(at, value)| {
                let shown = if *value >= 100.0 {
                    format!("{value:.0}")
                } else {
                    format!("{value:.1}")
                };
                let style = TextStyle::from(("sans-serif", 13).into_font())
                    .pos(Pos::new(HPos::Center, VPos::Bottom));
                Text::new(
                    shown,
                    (
                        SegmentValue::CenterOf(at),
                        if value.is_finite() { *value } else { 0.0 },
                    ),
                    style,
                )
            }))
            .map_err(plot_error)?;
    }
    root.present().map_err(plot_error)?;
    Ok(())
}

fn plot_error(err: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("cannot draw the chart: {err}")
}
