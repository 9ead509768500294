//! Checks that span the whole course: the catalogue, the crates, the book and
//! the README agree, and every lesson's demo still plays.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, ensure};
use course::{Bins, LESSONS, Lesson, Scenario, Stage, transcript};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: impl AsRef<Path>) -> anyhow::Result<String> {
    let path = root().join(path);
    std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
}

#[test]
fn lessons_are_numbered_in_order_and_their_folders_say_so() -> anyhow::Result<()> {
    for (index, lesson) in LESSONS.iter().enumerate() {
        ensure!(
            usize::from(lesson.number) == index + 1,
            "lesson {} is listed at place {}",
            lesson.number,
            index + 1
        );
        let prefix = format!("crates/{:02}-", lesson.number);
        ensure!(
            lesson.dir.starts_with(&prefix),
            "{} should start with {prefix}",
            lesson.dir
        );
        let manifest = read(format!("{}/Cargo.toml", lesson.dir))?;
        ensure!(
            manifest.contains(&format!("name = \"{}\"", lesson.package)),
            "{}/Cargo.toml should name the package {}",
            lesson.dir,
            lesson.package
        );
    }
    Ok(())
}

#[test]
fn every_lesson_crate_is_in_the_catalogue() -> anyhow::Result<()> {
    let listed: HashSet<&str> = LESSONS.iter().map(|lesson| lesson.dir).collect();
    for entry in std::fs::read_dir(root().join("crates"))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name == "common" {
            continue;
        }
        ensure!(
            listed.contains(format!("crates/{name}").as_str()),
            "crates/{name} is not in the lesson catalogue (src/catalogue.rs)"
        );
    }
    Ok(())
}

#[test]
fn binaries_exist_and_their_names_are_unique() -> anyhow::Result<()> {
    let mut owners: BTreeMap<String, PathBuf> = BTreeMap::new();
    for entry in std::fs::read_dir(root().join("crates"))? {
        let bin_dir = entry?.path().join("src/bin");
        let Ok(bins) = std::fs::read_dir(&bin_dir) else {
            continue;
        };
        for bin in bins {
            let path = bin?.path();
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if let Some(other) = owners.insert(name.clone(), path.clone()) {
                anyhow::bail!(
                    "two binaries are called {name}: {} and {}",
                    other.display(),
                    path.display()
                );
            }
        }
    }
    for lesson in LESSONS {
        for bin in [lesson.server, lesson.client] {
            let path = owners
                .get(bin.name)
                .with_context(|| format!("lesson {}: no binary {}", lesson.number, bin.name))?;
            let package_dir = LESSONS
                .iter()
                .find(|other| other.package == bin.package)
                .map(|other| other.dir)
                .with_context(|| format!("no lesson builds the package {}", bin.package))?;
            ensure!(
                path.starts_with(root().join(package_dir)),
                "{} is not in {package_dir}",
                bin.name
            );
        }
    }
    Ok(())
}

#[test]
fn default_ports_let_any_two_servers_run_side_by_side() -> anyhow::Result<()> {
    let mut seen = HashSet::new();
    // A Unix-domain server has no port: its socket file's default is the
    // client's too (checked below).
    for lesson in LESSONS.iter().filter(|lesson| lesson.transport != "unix") {
        ensure!(
            seen.insert((lesson.transport, lesson.port)),
            "lesson {}'s {} port {} is another lesson's too",
            lesson.number,
            lesson.transport,
            lesson.port
        );
        let server = read(format!("{}/src/bin/{}.rs", lesson.dir, lesson.server.name))?;
        ensure!(
            server.contains(&format!("default_value = \"127.0.0.1:{}\"", lesson.port)),
            "{} should default to 127.0.0.1:{} as the catalogue says",
            lesson.server.name,
            lesson.port
        );
    }
    Ok(())
}

/// The lesson binaries, beside this test's `course` binary: `cargo build
/// --workspace --bins` (which `make test` runs first) puts them there, and
/// `Bins` refuses one older than its sources.
fn bins() -> anyhow::Result<Bins> {
    let course = Path::new(env!("CARGO_BIN_EXE_course"));
    Ok(Bins::in_folder(
        course.parent().context("no target folder")?,
    ))
}

/// Runs `check` for every lesson at once, one thread each, and reports
/// every lesson that failed.
fn for_every_lesson(
    check: impl Fn(&'static Lesson) -> anyhow::Result<()> + Sync,
) -> anyhow::Result<()> {
    let failures: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = LESSONS
            .iter()
            .map(|lesson| (lesson, scope.spawn(|| check(lesson))))
            .collect();
        runs.into_iter()
            .filter_map(|(lesson, run)| match run.join() {
                Ok(Ok(())) => None,
                Ok(Err(err)) => Some(format!("lesson {}: {err:#}", lesson.number)),
                Err(_) => Some(format!("lesson {}: the check panicked", lesson.number)),
            })
            .collect()
    });
    ensure!(failures.is_empty(), "{}", failures.join("\n\n"));
    Ok(())
}

/// The catalogue drives this test: a lesson cannot lack it. Each demo plays
/// (the same scenario `make run-lesson` shows), and its transcript tells the
/// same story as the one its page includes (`make transcripts` remakes them).
#[test]
fn every_lesson_plays_its_demo_as_its_page_shows() -> anyhow::Result<()> {
    for_every_lesson(|lesson| {
        let played = transcript::record(root(), lesson, bins()?)?;
        let kept = transcript::kept(root(), lesson)?;
        transcript::same_story(&kept, &played).with_context(|| {
            format!(
                "{} no longer matches the demo (run `make transcripts` if the change is \
                 meant):\n{played}",
                transcript::path(lesson)
            )
        })?;
        let page = read(lesson.page)?;
        let include = format!(
            "{{{{#include ../{}}}}}",
            transcript::path(lesson).trim_start_matches("docs/src/")
        );
        ensure!(
            page.contains(&include),
            "{} should show its demo's transcript with `{include}`",
            lesson.page
        );
        Ok(())
    })
}

/// The catalogue drives this test too: every lesson's own binaries keep the
/// contract.
#[test]
fn every_lesson_keeps_the_contract() -> anyhow::Result<()> {
    let bins = bins()?;
    for_every_lesson(|lesson| course::keeps_the_contract(lesson.number, &bins))
}

/// An exercise's check must fail on the course's code as it is: otherwise
/// it would pass before the learner has done anything, and check nothing.
#[test]
fn every_exercise_check_fails_until_the_exercise_is_done() -> anyhow::Result<()> {
    for_every_lesson(|lesson| {
        for path in course::exercises(root(), lesson)? {
            let scenario = Scenario::load(&path)?;
            ensure!(
                !scenario.title().is_empty(),
                "{} should start with `# Exercise: ...`",
                path.display()
            );
            let mut stage = Stage::try_new(bins()?)?;
            ensure!(
                scenario.play(&mut stage).is_err(),
                "{} passes on the unchanged code: it checks nothing",
                path.display()
            );
        }
        Ok(())
    })
}

#[test]
fn each_client_defaults_to_its_own_lessons_server() -> anyhow::Result<()> {
    for lesson in LESSONS.iter().filter(|lesson| lesson.transport == "unix") {
        // `default_unix_path("NAME")` on both sides: one socket file.
        let default = |bin: course::catalogue::Bin| -> anyhow::Result<String> {
            let source = read(format!("{}/src/bin/{}.rs", lesson.dir, bin.name))?;
            Ok(source
                .split("default_unix_path(")
                .nth(1)
                .and_then(|rest| rest.split(')').next())
                .unwrap_or_default()
                .to_owned())
        };
        let (server, client) = (default(lesson.server)?, default(lesson.client)?);
        ensure!(
            !server.is_empty() && server == client,
            "lesson {}: the server's default socket is default_unix_path({server}), the \
             client's default_unix_path({client})",
            lesson.number
        );
    }
    for lesson in LESSONS.iter().filter(|lesson| lesson.transport != "unix") {
        let expected = format!("127.0.0.1:{}", lesson.port);
        let addr = match lesson.client_addr() {
            Some(addr) => addr,
            None => {
                let source = read(format!("{}/src/bin/{}.rs", lesson.dir, lesson.client.name))?;
                // `default_addr(PORT)`, or the first default that is an
                // address: `--addr`'s.
                let shared = source
                    .split("default_addr(")
                    .nth(1)
                    .and_then(|rest| rest.split(')').next())
                    .map(|port| format!("127.0.0.1:{port}"));
                let own = source
                    .split("default_value = \"")
                    .skip(1)
                    .filter_map(|rest| rest.split('"').next())
                    .find(|value| common::parse_addr(value).is_ok())
                    .map(str::to_owned);
                shared.or(own).unwrap_or_default()
            }
        };
        ensure!(
            addr == expected,
            "`make client L={}` would talk to {addr}, but the lesson's server listens on {expected}",
            lesson.number
        );
    }
    Ok(())
}

#[test]
fn the_book_lists_every_lesson_and_every_link_resolves() -> anyhow::Result<()> {
    let summary = read("docs/src/SUMMARY.md")?;
    for lesson in LESSONS {
        let page = lesson
            .page
            .strip_prefix("docs/src/")
            .context("pages live in docs/src")?;
        ensure!(
            summary.contains(&format!("]({page})")),
            "SUMMARY.md does not list {page}"
        );
    }
    let problems = course::book::problems(&root().join("docs"))?;
    ensure!(
        problems.is_empty(),
        "the book has broken parts:\n{}",
        problems.join("\n")
    );
    Ok(())
}

#[test]
fn the_readme_lists_every_lesson() -> anyhow::Result<()> {
    let readme = read("README.md")?;
    for lesson in LESSONS {
        let row = format!(
            "| {} | [{}]({}) |",
            lesson.number, lesson.title, lesson.page
        );
        ensure!(
            readme.contains(&row),
            "README.md should have the row `{row}`"
        );
    }
    Ok(())
}

#[test]
fn lesson_pages_include_real_code() -> anyhow::Result<()> {
    for lesson in LESSONS {
        let page = read(lesson.page)?;
        ensure!(
            page.contains(&format!("{{{{#include ../../../{}/src/bin/", lesson.dir)),
            "{} should include its code from {}/src/bin with {{{{#include}}}}",
            lesson.page,
            lesson.dir
        );
    }
    Ok(())
}

/// How the demo player is stopped, in the tests below.
#[derive(Debug, Clone, Copy)]
enum Ending {
    /// Its reader goes away: `make run-lesson L=3 | head -2`.
    ClosedStdout,
    /// Ctrl-C's signal, or a `kill`.
    Signal(nix::sys::signal::Signal),
}

/// Starts lesson 3's demo, waits until its server is busy with its one
/// client, stops the player as `ending` says, and checks that the server
/// went with it: a witness connection, queued at the server and never to be
/// accepted (lesson 3's server serves one client), is reset by the server's
/// kernel when the process is gone, within a deadline.
fn the_demo_leaves_no_server_behind(ending: Ending) -> anyhow::Result<()> {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};
    use std::time::Duration;

    let mut player = Command::new(env!("CARGO_BIN_EXE_course"))
        // A long pause before each typed line holds the demo at the step
        // after the one waited for, so that it cannot end by itself first.
        .args(["demo", "3", "--pace", "3000"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = player.stdout.take().context("no stdout")?;
    // Lines are read on a thread, so that waiting for one has a deadline.
    // The thread keeps the pipe open until told to close it.
    let (lines, seen) = std::sync::mpsc::channel();
    let (close, closing) = std::sync::mpsc::channel::<()>();
    let reading = std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            let done = line.contains("[server] chatting with ");
            if lines.send(line.clone()).is_err() || done {
                break;
            }
            line.clear();
        }
        let _ = closing.recv_timeout(Duration::from_secs(20));
        // Dropping the reader closes the pipe: the player's next line fails.
        drop(reader);
    });
    let mut port = None;
    loop {
        let line = seen
            .recv_timeout(Duration::from_secs(10))
            .context("the demo's server printed no `chatting with` line")?;
        if let Some((_, addr)) = line.trim().split_once("listening on ") {
            port = Some(addr.parse::<std::net::SocketAddr>()?);
        }
        if line.contains("[server] chatting with ") {
            break;
        }
    }
    let port = port.context("no ready line came before `chatting with`")?;
    let mut witness = std::net::TcpStream::connect_timeout(&port, Duration::from_secs(5))?;
    match ending {
        Ending::ClosedStdout => {
            close.send(())?;
            reading
                .join()
                .map_err(|_| anyhow::anyhow!("the reading thread panicked"))?;
        }
        Ending::Signal(signal) => {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(player.id())?);
            nix::sys::signal::kill(pid, signal)?;
        }
    }
    // The server's end of the witness connection closes when its process
    // dies: the read returns end of stream or a reset, never a timeout.
    witness.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut buf = [0; 64];
    loop {
        match witness.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(err) if common::is_timeout(&err) => {
                anyhow::bail!("lesson 3's server still runs 10 s after the demo ended ({ending:?})")
            }
            Err(_) => break,
        }
    }
    let status = player.wait()?;
    let mut errors = String::new();
    player
        .stderr
        .take()
        .context("no stderr")?
        .read_to_string(&mut errors)?;
    ensure!(!errors.contains("panicked"), "the demo panicked: {errors}");
    if let Ending::ClosedStdout = ending {
        ensure!(
            status.success(),
            "a closed stdout should end the demo quietly with status 0: {status}, {errors}"
        );
    }
    Ok(())
}

#[test]
fn a_demo_whose_reader_goes_ends_quietly_and_takes_its_programs() -> anyhow::Result<()> {
    the_demo_leaves_no_server_behind(Ending::ClosedStdout)
}

#[test]
fn a_demo_stopped_by_a_signal_takes_its_programs() -> anyhow::Result<()> {
    the_demo_leaves_no_server_behind(Ending::Signal(nix::sys::signal::Signal::SIGTERM))
}

#[test]
fn a_demo_killed_outright_takes_its_programs() -> anyhow::Result<()> {
    the_demo_leaves_no_server_behind(Ending::Signal(nix::sys::signal::Signal::SIGKILL))
}
