//! Lesson 11 end to end: the captured handshake, data and close obey TCP's
//! arithmetic, and the kernel reports the states each way of closing
//! leaves; the lab works for an ordinary user too.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use course::{Stage, bins};

fn stage() -> Stage {
    let mut stage = Stage::new(bins!["handshake-server", "handshake-client"]);
    stage.set_deadline(Duration::from_secs(15));
    stage
}

/// One line of the captured diagram, as numbers.
#[derive(Debug, Clone, Copy)]
struct Seen {
    from_client: bool,
    syn: bool,
    ack_flag: bool,
    fin: bool,
    rst: bool,
    seq: u64,
    ack: u64,
    len: u64,
}

impl Seen {
    fn next_seq(&self) -> u64 {
        (self.seq + self.len + u64::from(self.syn) + u64::from(self.fin)) % (1 << 32)
    }
}

/// Reads a diagram line: `|<──── SYN+ACK seq=0 ack=1 |  handshake  (seq 3832954555 ack 434160532)`.
fn seen(line: &str) -> anyhow::Result<Seen> {
    let (arrow, absolute) = line.split_once("(seq ").context("no absolute numbers")?;
    let (seq, ack) = absolute
        .trim_end_matches(')')
        .split_once(" ack ")
        .context("no ack")?;
    let flags = arrow
        .split_whitespace()
        .find(|word| word.contains("SYN") || word.contains("ACK") || word.contains("RST"))
        .unwrap_or("");
    let len = arrow
        .split_whitespace()
        .find_map(|word| word.strip_prefix("len="))
        .map_or(Ok(0), str::parse)?;
    Ok(Seen {
        from_client: !arrow.starts_with('<'),
        syn: flags.contains("SYN"),
        ack_flag: flags.contains("ACK"),
        fin: flags.contains("FIN"),
        rst: flags.contains("RST"),
        seq: seq.parse()?,
        ack: ack.parse()?,
        len,
    })
}

/// Plays one exchange and returns the server's captured segments and the
/// two state lines.
fn exchange(server_args: &str, client_args: &str) -> anyhow::Result<(Vec<Seen>, String, String)> {
    let mut stage = stage();
    stage.serve("server", format!("handshake-server {server_args}").as_str())?;
    stage.seen("server", "lab: a private network")?;
    let addr = stage.var("server").context("no address")?.to_owned();
    stage.start(
        "client",
        format!("handshake-client --addr {addr} {client_args}").as_str(),
    )?;
    stage.exit("client", 0)?;
    stage.expect("server", "captured ")?;
    let server_state = stage.expect("server", "kernel: server side ")?;
    let client_state = stage.expect("server", "kernel: client side ")?;
    stage.exit("server", 0)?;
    let segments = stage
        .log()
        .iter()
        .filter_map(|line| line.strip_prefix("[server]   |"))
        .map(seen)
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((segments, server_state, client_state))
}

/// The handshake: SYN, SYN+ACK, ACK, each acknowledging the other's
/// initial sequence number plus one.
fn check_handshake(wire: &[Seen]) -> anyhow::Result<()> {
    let [syn, syn_ack, ack, ..] = wire else {
        bail!("fewer than 3 segments: {wire:?}")
    };
    ensure!(
        syn.from_client && syn.syn && !syn.ack_flag,
        "first: {syn:?}"
    );
    ensure!(
        !syn_ack.from_client && syn_ack.syn && syn_ack.ack_flag,
        "second: {syn_ack:?}"
    );
    ensure!(
        syn_ack.ack == syn.seq + 1,
        "SYN+ACK acks {}, the SYN's seq is {}",
        syn_ack.ack,
        syn.seq
    );
    ensure!(
        ack.from_client && ack.ack_flag && !ack.syn && ack.len == 0,
        "third: {ack:?}"
    );
    ensure!(
        ack.ack == syn_ack.seq + 1 && ack.seq == syn.seq + 1,
        "third: {ack:?}"
    );
    Ok(())
}

/// Each side's sequence number advances by exactly what it sent: payload
/// bytes, plus one for SYN and for FIN.
fn check_sequence(wire: &[Seen]) -> anyhow::Result<()> {
    for client in [true, false] {
        let mut expected: Option<u64> = None;
        for segment in wire.iter().filter(|s| s.from_client == client && !s.rst) {
            if let Some(next) = expected {
                ensure!(segment.seq == next, "{segment:?}: expected seq {next}");
            }
            expected = Some(segment.next_seq());
        }
    }
    Ok(())
}

/// One FIN from `side`, acknowledged by the other side.
fn check_fin(wire: &[Seen], client: bool) -> anyhow::Result<()> {
    let fins: Vec<&Seen> = wire
        .iter()
        .filter(|s| s.from_client == client && s.fin)
        .collect();
    ensure!(
        fins.len() == 1,
        "{} FINs from one side: {wire:?}",
        fins.len()
    );
    let next = fins[0].next_seq();
    ensure!(
        wire.iter()
            .any(|s| s.from_client != client && s.ack_flag && s.ack == next),
        "the FIN {:?} is not acknowledged: {wire:?}",
        fins[0]
    );
    Ok(())
}

#[test]
fn the_demo_plays() -> anyhow::Result<()> {
    course::play_demo(
        env!("CARGO_MANIFEST_DIR"),
        bins!["handshake-server", "handshake-client"],
    )
}

#[test]
fn the_server_closes_first_and_waits_in_time_wait() -> anyhow::Result<()> {
    let (wire, server, client) = exchange("", "")?;
    check_handshake(&wire)?;
    check_sequence(&wire)?;
    // The data: hello! (6 bytes) from the client, hi (2) from the server.
    ensure!(wire.iter().any(|s| s.from_client && s.len == 6));
    ensure!(wire.iter().any(|s| !s.from_client && s.len == 2));
    check_fin(&wire, true)?;
    check_fin(&wire, false)?;
    let first_fin = wire.iter().find(|s| s.fin).context("no FIN")?;
    ensure!(!first_fin.from_client, "the client's FIN came first");
    ensure!(!wire.iter().any(|s| s.rst), "a RST: {wire:?}");
    ensure!(server.ends_with("server side TIME_WAIT"), "{server}");
    ensure!(client.contains("client side gone"), "{client}");
    Ok(())
}

#[test]
fn a_client_that_closes_first_is_the_one_in_time_wait() -> anyhow::Result<()> {
    let (wire, server, client) = exchange("--close second", "--close-first")?;
    check_handshake(&wire)?;
    check_sequence(&wire)?;
    check_fin(&wire, true)?;
    check_fin(&wire, false)?;
    ensure!(
        wire.iter().find(|s| s.fin).is_some_and(|s| s.from_client),
        "the server's FIN came first"
    );
    ensure!(server.contains("server side gone"), "{server}");
    ensure!(client.ends_with("client side TIME_WAIT"), "{client}");
    Ok(())
}

#[test]
fn a_server_that_never_closes_leaves_close_wait_and_fin_wait_2() -> anyhow::Result<()> {
    let (wire, server, client) = exchange("--close never", "--close-first")?;
    check_handshake(&wire)?;
    check_sequence(&wire)?;
    check_fin(&wire, true)?;
    ensure!(!wire.iter().any(|s| !s.from_client && s.fin), "{wire:?}");
    ensure!(server.ends_with("server side CLOSE_WAIT"), "{server}");
    ensure!(client.ends_with("client side FIN_WAIT2"), "{client}");
    Ok(())
}

#[test]
fn a_reset_ends_it_at_once_with_no_time_wait() -> anyhow::Result<()> {
    let (wire, server, client) = exchange("--close reset", "")?;
    check_handshake(&wire)?;
    check_sequence(&wire)?;
    ensure!(
        wire.last().is_some_and(|s| s.rst && !s.from_client),
        "{wire:?}"
    );
    ensure!(!wire.iter().any(|s| s.fin), "a FIN with a reset: {wire:?}");
    ensure!(server.contains("server side gone"), "{server}");
    ensure!(client.contains("client side gone"), "{client}");
    Ok(())
}

#[test]
fn a_client_with_no_lab_to_join_says_so() -> anyhow::Result<()> {
    let mut stage = stage();
    stage.start("client", "handshake-client --addr 127.0.0.1:9")?;
    stage.expect(
        "client",
        "error: no lab of yours has a tcp socket on 127.0.0.1:9",
    )?;
    stage.exit("client", 1)
}

#[test]
fn a_process_outside_any_lab_is_refused_as_one() -> anyhow::Result<()> {
    let mut stage = stage();
    let me = std::process::id();
    stage.start(
        "client",
        format!("handshake-client --addr 127.0.0.1:9 --lab {me}").as_str(),
    )?;
    stage.expect("client", "is in no lab of its own")?;
    stage.exit("client", 1)
}

/// The capture as a learner runs it, not as root: uid 65534 opens the
/// packet socket inside its own lab, where it is root. Only root can switch
/// to that user; anyone else already ran the other tests unprivileged.
#[test]
fn an_ordinary_user_captures_the_handshake() -> anyhow::Result<()> {
    let bins = [
        ("handshake-server", env!("CARGO_BIN_EXE_handshake-server")),
        ("handshake-client", env!("CARGO_BIN_EXE_handshake-client")),
    ];
    let Some(nobody) = course::Nobody::new("handshake", &bins)? else {
        return Ok(());
    };
    let mut stage = Stage::new(nobody.bins());
    stage.set_deadline(Duration::from_secs(15));
    stage.serve("server", nobody.command("handshake-server").as_str())?;
    stage.seen("server", "lab: a private network")?;
    let addr = stage.var("server").context("no address")?.to_owned();
    stage.start(
        "client",
        format!("{} --addr {addr}", nobody.command("handshake-client")).as_str(),
    )?;
    stage.exit("client", 0)?;
    stage.expect("server", "captured 10 segments")?;
    stage.expect("server", "kernel: server side TIME_WAIT")?;
    stage.exit("server", 0)
}
