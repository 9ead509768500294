//! Lesson 7 end to end: the time server answers formats with the time,
//! answers bad requests with an error and goes on, and keeps up with two
//! clients asking at once.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use assert_cmd::Command;
use chrono::{Datelike, Local, NaiveDateTime, Timelike, Utc};
use course::{Stage, bins};
use predicates::str::contains;

fn stage() -> Stage {
    Stage::new(bins!["time-server", "time-client"])
}

#[test]
fn the_demo_plays() -> anyhow::Result<()> {
    course::play_demo(
        env!("CARGO_MANIFEST_DIR"),
        bins!["time-server", "time-client"],
    )
}

#[test]
fn percent_y_gives_the_current_year() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "time-server")?;
    let peer = python_style_socket()?;
    let before = Local::now().year();
    let year = ask(&peer, server, b"%Y")?;
    let after = Local::now().year();
    let year: i32 = year.parse()?;
    assert!(year == before || year == after, "{year} is not this year");
    stage.expect("server", &format!("%Y -> {year}"))?;
    Ok(())
}

/// The hour (0-23) a server answers to `%H`, checked against `now()`'s hour
/// before and after asking, in case the hour turns meanwhile.
fn hour_from(server: SocketAddr, now: impl Fn() -> u32) -> anyhow::Result<u32> {
    let peer = python_style_socket()?;
    let before = now();
    let hour: u32 = ask(&peer, server, b"%H")?.parse()?;
    let after = now();
    anyhow::ensure!(
        hour == before || hour == after,
        "the server said {hour}, expected {before} (or {after})"
    );
    Ok(hour)
}

#[test]
fn utc_answers_in_utc_whatever_the_time_zone() -> anyhow::Result<()> {
    // CI machines run in UTC, where a server ignoring --utc would still
    // pass: so the server runs in Shanghai's time zone (UTC+8, no summer
    // time), and --utc must take it back to UTC.
    let mut stage = stage();
    let utc = stage.serve("utc", "TZ=Asia/Shanghai time-server --utc")?;
    let peer = python_style_socket()?;
    assert_eq!(ask(&peer, utc, b"%:z")?, "+00:00");
    let utc_hour = hour_from(utc, || Utc::now().hour())?;

    // The contrast: the same time zone without --utc is 8 hours ahead.
    let local = stage.serve("local", "TZ=Asia/Shanghai time-server")?;
    assert_eq!(ask(&peer, local, b"%:z")?, "+08:00");
    let shanghai_hour = hour_from(local, || (Utc::now().hour() + 8) % 24)?;
    assert_eq!((utc_hour + 8) % 24, shanghai_hour);
    Ok(())
}

#[test]
fn each_bad_format_gets_an_error_and_the_next_request_is_answered() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "time-server")?;
    let peer = python_style_socket()?;
    let cases: [(&[u8], &str); 8] = [
        (b"%Q", "`%Q` is not a strftime specifier"),
        (
            b"%",
            "`%` at the end of the format has no specifier after it",
        ),
        (b"100%", "`%` at the end of the format"),
        (b"%Y %Q %m", "`%Q` is not a strftime specifier"),
        (b"%10Y", "`%10Y` is not a strftime specifier"),
        // Valid to read, but chrono can only parse it, not print it.
        (b"%#z", "`%#z` is not a strftime specifier"),
        (b"\xff\xfe%Y", "the format is not UTF-8 text"),
        (b"%Y\xe4\xb8", "the format is not UTF-8 text"),
    ];
    for (format, problem) in cases {
        let answer = ask(&peer, server, format)?;
        anyhow::ensure!(
            answer.starts_with("error: ") && answer.contains(problem),
            "{format:?} got `{answer}`, which should say `{problem}`"
        );
        // The server is still there, and answers the next request.
        let year = ask(&peer, server, b"%Y")?;
        anyhow::ensure!(year.parse::<i32>().is_ok(), "%Y got `{year}`");
    }
    stage.expect("server", "%Q -> error:")?;
    Ok(())
}

#[test]
fn an_empty_format_gets_the_documented_default() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "time-server")?;
    let peer = python_style_socket()?;
    let answer = ask(&peer, server, b"")?;
    NaiveDateTime::parse_from_str(&answer, "%Y-%m-%d %H:%M:%S")
        .map_err(|err| anyhow::anyhow!("`{answer}` is not %Y-%m-%d %H:%M:%S: {err}"))?;
    stage.expect("server", "(empty: the default format) -> ")?;
    Ok(())
}

#[test]
fn no_answer_is_larger_than_the_clients_buffer() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "time-server")?;
    let peer = python_style_socket()?;
    // A format longer than the server's buffer is cut by the kernel: the
    // server says so instead of rendering what is left.
    let long = "%Y".repeat(3000);
    let answer = ask(&peer, server, long.as_bytes())?;
    assert_eq!(
        answer,
        "error: the format has 6000 bytes; this server reads at most 1024"
    );
    // A short format can still ask for a long answer: 100 times `%c`.
    let wide = "%c".repeat(100);
    let answer = ask(&peer, server, wide.as_bytes())?;
    assert!(
        answer.starts_with("error: the time in this format takes 2400 bytes"),
        "{answer}"
    );
    // Up to the limit, it is answered.
    let answer = ask(&peer, server, "%Y".repeat(256).as_bytes())?;
    assert_eq!(answer.len(), 1024);
    assert!(ask(&peer, server, b"%Y")?.parse::<i32>().is_ok());
    Ok(())
}

#[test]
fn a_line_from_nc_keeps_its_newline_in_the_answer() -> anyhow::Result<()> {
    // nc -u sends what you type with its newline; the newline is part of
    // the format, so the answer ends with one and nc prints it on its line.
    let mut stage = stage();
    let server = stage.serve("server", "time-server")?;
    let peer = python_style_socket()?;
    let answer = ask(&peer, server, b"%Y\n")?;
    assert!(answer.ends_with('\n') && answer.trim_end().parse::<i32>().is_ok());
    Ok(())
}

#[test]
fn many_requests_from_two_clients_are_all_answered() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "time-server")?;
    let asker = move |name: &'static str| {
        std::thread::spawn(move || -> anyhow::Result<usize> {
            let socket = python_style_socket()?;
            let mut answered = 0;
            for i in 0..50 {
                let format = format!("{name} {i} %Y");
                let answer = ask(&socket, server, format.as_bytes())?;
                anyhow::ensure!(
                    answer.starts_with(&format!("{name} {i} ")),
                    "{format} got `{answer}`"
                );
                answered += 1;
            }
            Ok(answered)
        })
    };
    let (first, second) = (asker("first"), asker("second"));
    for client in [first, second] {
        let answered = client
            .join()
            .map_err(|_| anyhow::anyhow!("a client thread panicked"))??;
        assert_eq!(answered, 50);
    }
    // Every answer went to the client that asked, and the server is still
    // serving.
    let peer = python_style_socket()?;
    assert!(ask(&peer, server, b"%Y")?.parse::<i32>().is_ok());
    Ok(())
}

#[test]
fn the_client_prints_answers_and_errors() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "time-server")?;
    stage.start("client", &format!("time-client --addr {server}"))?;
    stage.type_line("client", "%Y")?;
    stage.expect("client", &format!("reply from {server}: 20"))?;
    stage.type_line("client", "%Q")?;
    stage.expect("client", "error: `%Q`")?;
    // The month, exactly: an `error:` answer would start the same way.
    let before = Local::now().month();
    stage.type_line("client", "%m")?;
    let line = stage.expect("client", &format!("reply from {server}: "))?;
    let after = Local::now().month();
    let month = |m: u32| format!("reply from {server}: {m:02}");
    anyhow::ensure!(
        line == month(before) || line == month(after),
        "%m got `{line}`, expected `{}`",
        month(before)
    );
    stage.close_stdin("client")?;
    stage.expect("client", "end of input: leaving")?;
    stage.exit("client", 0)
}

#[test]
fn the_client_says_when_a_reply_was_cut() -> anyhow::Result<()> {
    let server = python_style_socket()?;
    let addr = server.local_addr()?;
    let mut stage = stage();
    stage.start("client", &format!("time-client --addr {addr}"))?;
    stage.type_line("client", "%c")?;
    let mut buf = [0; 1024];
    let (_, client) = server.recv_from(&mut buf)?;
    server.send_to(&[b'9'; 1030], client)?;
    stage.expect(
        "client",
        "(the reply was cut: the datagram had 1030 bytes, the buffer holds 1024: 6 bytes lost)",
    )?;
    stage.type_line("client", "bye")?;
    stage.expect("client", "you said bye: leaving")?;
    stage.exit("client", 0)
}

#[test]
fn a_non_utf8_format_typed_leaves_byte_for_byte() -> anyhow::Result<()> {
    // `caf\xe9` typed in Latin-1: the client sends the bytes as typed, and
    // the server answers that they are not UTF-8.
    let mut stage = stage();
    let server = stage.serve("server", "time-server")?;
    stage.start("client", &format!("time-client --addr {server}"))?;
    stage.type_line("client", r"caf\xe9 %Y")?;
    stage.expect(
        "client",
        &format!("reply from {server}: error: the format is not UTF-8 text"),
    )?;
    stage.close_stdin("client")?;
    stage.exit("client", 0)
}

#[test]
fn piped_stdin_shows_no_prompt() -> anyhow::Result<()> {
    let mut stage = stage();
    let server = stage.serve("server", "time-server")?;
    stage.start("client", &format!("time-client --addr {server}"))?;
    stage.type_line("client", "%Y")?;
    stage.expect("client", "reply from ")?;
    stage.close_stdin("client")?;
    stage.exit("client", 0)?;
    stage.absent("client", "format (e.g.")
}

#[test]
fn a_terminal_shows_the_prompt() -> anyhow::Result<()> {
    // The client on a pseudo-terminal, as in a learner's window.
    let mut stage = stage();
    let server = stage.serve("server", "time-server")?;
    let client = env!("CARGO_BIN_EXE_time-client");
    stage.start(
        "client",
        &course::on_a_terminal(client, &format!("--addr {server}"))?,
    )?;
    stage.expect("client", "asking ")?;
    stage.type_line("client", "%Y")?;
    stage.expect("client", &format!("reply from {server}: 20"))?;
    stage.type_line("client", "bye")?;
    stage.exit("client", 0)?;
    // The prompt has no newline: the line it starts ends with whatever came
    // next (the terminal's echo of the typing, or the reply), so it is
    // looked for in everything the client printed.
    let transcript = stage.transcript();
    anyhow::ensure!(
        transcript.contains("format (e.g. %Y %m %d)> "),
        "no prompt on the terminal: {transcript}"
    );
    Ok(())
}

#[test]
fn the_rust_client_talks_to_a_python_style_server() -> anyhow::Result<()> {
    // A server as the Python course would write it: recvfrom(1024), then
    // sendto(time.strftime(format)).
    let server = python_style_socket()?;
    let addr = server.local_addr()?;
    let mut stage = stage();
    stage.start("client", &format!("time-client --addr {addr}"))?;
    stage.type_line("client", "%Y %m %d")?;
    let mut buf = [0; 1024];
    let (n, client) = server.recv_from(&mut buf)?;
    assert_eq!(&buf[..n], b"%Y %m %d", "the format goes without a newline");
    server.send_to(b"2025 06 01", client)?;
    stage.expect("client", &format!("reply from {addr}: 2025 06 01"))?;
    stage.type_line("client", "bye")?;
    stage.expect("client", "you said bye: leaving")?;
    stage.exit("client", 0)
}

#[test]
fn without_a_server_the_client_says_the_port_is_closed() -> anyhow::Result<()> {
    let unreachable = course::UnreachableUdpPort::new()?;
    let addr = unreachable.addr()?;
    Command::cargo_bin("time-client")?
        .args(["--addr", &addr.to_string()])
        .write_stdin("%Y\n")
        .timeout(Duration::from_secs(10))
        .assert()
        .code(1)
        .stderr(contains(format!("error: nothing listens on {addr}")))
        .stderr(contains("make server L=7"));
    Ok(())
}

#[test]
fn help_names_the_lesson() -> anyhow::Result<()> {
    for bin in ["time-server", "time-client"] {
        Command::cargo_bin(bin)?
            .arg("--help")
            .assert()
            .success()
            .stdout(contains("Lesson 7 (the time-format server)"))
            .stdout(contains("--addr <HOST:PORT>"));
    }
    Command::cargo_bin("time-server")?
        .args(["--addr", "9001"])
        .assert()
        .code(2)
        .stderr(contains("expected HOST:PORT"));
    Ok(())
}

/// A UDP socket as the Python course makes one, on loopback, with a
/// deadline on every receive so that no test can hang.
fn python_style_socket() -> anyhow::Result<UdpSocket> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.set_read_timeout(Some(Duration::from_secs(5)))?;
    Ok(socket)
}

/// Sends one format and returns the answer as text; the answer must come
/// from the server, whole, within the socket's deadline.
fn ask(socket: &UdpSocket, server: SocketAddr, format: &[u8]) -> anyhow::Result<String> {
    socket.send_to(format, server)?;
    let mut buf = [0; 2048];
    let (n, from) = socket.recv_from(&mut buf)?;
    anyhow::ensure!(from == server, "an answer from {from}, not {server}");
    anyhow::ensure!(n <= 1024, "an answer of {n} bytes, more than 1024");
    Ok(String::from_utf8(buf[..n].to_vec())?)
}

#[test]
fn the_binaries_keep_the_course_contract() -> anyhow::Result<()> {
    course::keeps_the_contract(7, &bins!["time-server", "time-client"])
}
