//! Lesson 14 end to end: the short measurement runs and checks only what
//! holds on any machine (every transport answered every request, nothing
//! was lost on loopback, the figures are positive, the table and the chart
//! are written); no timing is asserted. And the server survives peers that
//! do not speak its protocol.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, ensure};
use course::{Stage, bins};

fn bins() -> course::Bins {
    bins!["transport-echo-server", "transport-costs"]
}

#[test]
fn the_demo_plays() -> anyhow::Result<()> {
    course::play_demo(env!("CARGO_MANIFEST_DIR"), bins())
}

#[test]
fn the_short_run_answers_everything_and_writes_its_table_and_chart() -> anyhow::Result<()> {
    let mut stage = Stage::try_new(bins())?;
    stage.set_deadline(Duration::from_secs(30));
    let server = stage.serve("server", "transport-echo-server")?;
    // Never the committed chart: a folder of this test's own.
    let out = stage.dir()?.join("figures");
    stage.start(
        "client",
        [
            "transport-costs",
            "--addr",
            &server.to_string(),
            "--short",
            "--out",
            &out.to_string_lossy(),
        ],
    )?;
    let answered = stage.expect("client", "every request answered, nothing lost: ")?;
    stage.expect(
        "client",
        "wrote transport-costs.txt and transport-costs.svg",
    )?;
    stage.exit("client", 0)?;
    let trips: usize = answered
        .rsplit(": ")
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no count in `{answered}`"))?;
    ensure!(trips > 0, "{answered}");

    let table = std::fs::read_to_string(out.join("transport-costs.txt"))?;
    ensure!(table.starts_with("measured on "), "{table}");
    let mut rows = 0;
    for transport in [
        "udp",
        "tcp kept, nodelay",
        "tcp kept, Nagle",
        "tcp new per request",
        "unix stream",
        "unix datagram",
    ] {
        let row = table
            .lines()
            .find(|line| line.starts_with(&format!("{transport:<19} ")))
            .with_context(|| format!("no row for {transport}:\n{table}"))?;
        // median, p99, the rounds' lowest and highest median, requests/s:
        // every figure a positive number.
        let figures: Vec<f64> = row[20..]
            .split(|c: char| c.is_whitespace() || c == '-')
            .filter_map(|word| word.parse().ok())
            .collect();
        ensure!(figures.len() >= 6, "too few figures in `{row}`");
        ensure!(
            figures.iter().all(|figure| *figure > 0.0),
            "a figure is not positive in `{row}`"
        );
        rows += 1;
    }
    ensure!(rows == 6);
    for bulk in ["bulk, tcp: ", "bulk, unix stream: "] {
        let line = table
            .lines()
            .find(|line| line.starts_with(bulk))
            .with_context(|| format!("no `{bulk}` line:\n{table}"))?;
        let rate: f64 = line[bulk.len()..]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("no rate in `{line}`"))?;
        ensure!(rate > 0.0, "{line}");
    }
    let chart = std::fs::read_to_string(out.join("transport-costs.svg"))?;
    ensure!(
        chart.starts_with("<svg") && chart.contains("unix datagram"),
        "the chart is not an SVG of the figures"
    );
    stage.interrupt("server")?;
    stage.exit("server", 0)
}

#[test]
fn the_server_survives_peers_that_break_the_protocol() -> anyhow::Result<()> {
    let mut stage = Stage::try_new(bins())?;
    let server = stage.serve("server", "transport-echo-server")?;
    let timeout = Some(Duration::from_secs(5));

    // A frame longer than any request: the server closes that connection.
    let mut liar = TcpStream::connect(server)?;
    liar.set_read_timeout(timeout)?;
    liar.write_all(&0x7fff_ffff_u32.to_be_bytes())?;
    let mut buf = [0; 16];
    ensure!(
        liar.read(&mut buf)? == 0,
        "an oversized frame was not refused"
    );

    // A bulk transfer abandoned half way, and a frame cut short.
    let mut quitter = TcpStream::connect(server)?;
    quitter.write_all(&u32::MAX.to_be_bytes())?;
    quitter.write_all(&1_000_000_u64.to_be_bytes())?;
    quitter.write_all(&[0; 1000])?;
    drop(quitter);
    let mut cut = TcpStream::connect(server)?;
    cut.write_all(&[0, 0])?;
    drop(cut);

    // A request as the protocol says still gets its echo.
    let mut good = TcpStream::connect(server)?;
    good.set_read_timeout(timeout)?;
    good.write_all(&transport_costs::frame(5))?;
    let mut answer = [0; 9];
    good.read_exact(&mut answer)?;
    ensure!(answer == *transport_costs::frame(5), "the echo: {answer:?}");
    stage.interrupt("server")?;
    stage.exit("server", 0)
}

#[test]
fn without_a_server_the_client_says_so() -> anyhow::Result<()> {
    let refusing = course::RefusingTcpPort::new()?;
    let mut stage = Stage::try_new(bins())?;
    stage.start(
        "client",
        [
            "transport-costs",
            "--addr",
            &refusing.addr()?.to_string(),
            "--short",
        ],
    )?;
    stage.expect("client", "is transport-echo-server running")?;
    stage.exit("client", 1)
}
