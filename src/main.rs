//! `course`: the lesson catalogue at the command line. The Makefile calls it;
//! a learner rarely needs to.
//!
//! - `course lessons`: one line per lesson.
//! - `course demo N`: plays lesson N's demo scenario, server and client
//!   together, as a labelled transcript.
//! - `course transcript N`: the same, quietly, printing the transcript with
//!   its ports normalised, as the book includes it.
//! - `course transcripts`: writes every lesson's transcript for the book.
//! - `course exercise N`: plays lesson N's exercise checks.
//! - `course run server N -- ARGS` / `course run client N -- ARGS`: builds
//!   and runs one side of lesson N, interactively.

use std::io::{IsTerminal, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use course::{Bins, LESSONS, Lesson, Scenario, Stage, transcript};

#[derive(Parser)]
#[command(about = "The sockets course: list the lessons, play a lesson's demo, run one side")]
struct Args {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Lists the lessons, one line each.
    Lessons,
    /// Plays lesson N's demo: its server and client together, as a labelled
    /// transcript of what each side prints and types.
    Demo {
        /// The lesson's number (`course lessons` lists them).
        lesson: String,
        /// Milliseconds to pause before each typed or sent message, so a
        /// person can follow [default: 400 on a terminal, 0 otherwise].
        #[arg(long)]
        pace: Option<u64>,
    },
    /// Plays lesson N's demo quietly and prints its transcript as the book
    /// shows it (ports normalised).
    Transcript {
        /// The lesson's number.
        lesson: String,
    },
    /// Plays every lesson's demo quietly and writes its transcript where the
    /// book includes it (docs/src/transcripts/).
    Transcripts,
    /// Plays the checks of lesson N's exercises (crates/NN-name/exercises/):
    /// each passes once you have made the change it asks for.
    Exercise {
        /// The lesson's number.
        lesson: String,
    },
    /// Builds and runs one side of lesson N, with your terminal as its stdin.
    Run {
        /// Which side.
        side: Side,
        /// The lesson's number.
        lesson: String,
        /// Options for the lesson's binary (see its --help).
        #[arg(last = true)]
        args: Vec<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Side {
    Server,
    Client,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Commands::Lessons => list(),
        Commands::Demo { lesson, pace } => demo(&lesson, pace),
        Commands::Transcript { lesson } => print_transcript(&lesson),
        Commands::Transcripts => write_transcripts(),
        Commands::Exercise { lesson } => exercise(&lesson),
        Commands::Run { side, lesson, args } => run(side, &lesson, &args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `make run-lesson L=4 | head`: the reader has gone; stop quietly,
        // as `ls | head` does. (The stage has already ended its programs.)
        Err(err) if common::output::is_closed_stdout(&err) => ExitCode::SUCCESS,
        Err(err) => {
            common::output::say_on_stderr(format_args!("error: {err:#}"));
            ExitCode::FAILURE
        }
    }
}

fn list() -> anyhow::Result<()> {
    let mut out = common::out();
    for lesson in LESSONS {
        // A Unix-domain server has a socket file, not a port.
        let port = match lesson.port {
            0 => String::new(),
            port => format!(" {port}"),
        };
        writeln!(
            out,
            "{:>2}. {:<26} {} ({}{port})",
            lesson.number,
            lesson.title,
            lesson.summary,
            lesson.transport.to_uppercase(),
        )?;
    }
    Ok(())
}

/// The lesson a number names, or an error that lists the lessons there are.
fn lesson(number: &str) -> anyhow::Result<&'static Lesson> {
    let first = LESSONS.first().map_or(0, |l| l.number);
    let last = LESSONS.last().map_or(0, |l| l.number);
    let known = format!("the lessons are {first} to {last} (`make lessons` lists them)");
    let number = number.trim();
    if number.is_empty() {
        bail!("which lesson? Give its number, as in `make run-lesson L=3`: {known}");
    }
    number
        .parse()
        .ok()
        .and_then(Lesson::find)
        .with_context(|| format!("there is no lesson `{number}`: {known}"))
}

/// The workspace root: this crate's manifest folder, where the Makefile runs.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The lesson binaries: beside this one (target/debug), where the Makefile
/// builds the whole workspace before it plays a demo.
fn bins() -> anyhow::Result<Bins> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let folder = exe.parent().context("this program has no folder")?;
    Ok(Bins::in_folder(folder))
}

/// On Ctrl-C, SIGTERM or SIGHUP: end every program the stage started, then
/// this one, with status 0, as a lesson server does on Ctrl-C. (An error, a
/// panic and a closed stdout end them through the stage's `Drop`.)
fn end_programs_on_signals(what: &'static str) -> anyhow::Result<()> {
    ctrlc::set_handler(move || {
        course::stage::kill_every_child();
        common::output::say_on_stderr(format_args!("\n{what} stopped"));
        std::process::exit(0);
    })
    .context("cannot install the signal handler")
}

fn demo(number: &str, pace: Option<u64>) -> anyhow::Result<()> {
    let lesson = lesson(number)?;
    let scenario = Scenario::load(&root().join(lesson.demo()))?;
    end_programs_on_signals("the demo")?;
    take_the_terminal();
    let pace = match pace {
        Some(millis) => Duration::from_millis(millis),
        None if std::io::stdout().is_terminal() => Duration::from_millis(400),
        None => Duration::ZERO,
    };
    let mut out = common::out();
    writeln!(out, "{}", transcript::header(lesson))?;
    let mut stage = Stage::try_new(bins()?)?.echoing(pace);
    scenario.play(&mut stage)?;
    writeln!(out, "{}", transcript::footer(lesson))?;
    Ok(())
}

fn print_transcript(number: &str) -> anyhow::Result<()> {
    let lesson = lesson(number)?;
    end_programs_on_signals("the demo")?;
    let text = transcript::record(&root(), lesson, bins()?)?;
    common::out().write_all(text.as_bytes())?;
    Ok(())
}

fn write_transcripts() -> anyhow::Result<()> {
    end_programs_on_signals("the demo")?;
    let mut out = common::out();
    for lesson in LESSONS {
        let text = transcript::record(&root(), lesson, bins()?)?;
        let path = root().join(transcript::path(lesson));
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(out, "{}", transcript::path(lesson))?;
    }
    Ok(())
}

fn exercise(number: &str) -> anyhow::Result<()> {
    let lesson = lesson(number)?;
    end_programs_on_signals("the exercise check")?;
    let checks = course::exercises(&root(), lesson)?;
    if checks.is_empty() {
        bail!("lesson {} has no exercises yet", lesson.number);
    }
    let mut out = common::out();
    let mut failed = 0;
    for path in &checks {
        let scenario = Scenario::load(path)?;
        let name = exercise_name(path);
        let mut stage = Stage::try_new(bins()?)?;
        match scenario.play(&mut stage) {
            Ok(()) => writeln!(out, "ok: {name}: {}", scenario.title())?,
            Err(err) => {
                failed += 1;
                writeln!(out, "not yet: {name}: {}", scenario.title())?;
                let first = format!("{err:#}");
                let first = first.lines().next().unwrap_or_default();
                writeln!(out, "    {first}")?;
            }
        }
    }
    let passed = checks.len() - failed;
    writeln!(out, "{passed} passed, {failed} failed")?;
    if failed > 0 {
        bail!(
            "{failed} of lesson {}'s exercises do not pass yet",
            lesson.number
        );
    }
    Ok(())
}

fn exercise_name(path: &Path) -> String {
    path.file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn run(side: Side, number: &str, args: &[String]) -> anyhow::Result<()> {
    let lesson = lesson(number)?;
    let bin = match side {
        Side::Server => lesson.server,
        Side::Client => lesson.client,
    };
    // Not --quiet: the first build takes a while, and cargo's progress
    // shows that something is happening.
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["build", "--package", bin.package, "--bin", bin.name])
        .current_dir(root())
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo could not build {}", bin.name);
    }
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let path = exe.with_file_name(bin.name);
    let mut command = Command::new(&path);
    command
        .args(args)
        .env("COURSE_LESSON", lesson.number.to_string());
    if matches!(side, Side::Client)
        && let Some(addr) = lesson.client_addr()
    {
        // A client borrowed from another lesson: its default address (and
        // its --help) becomes this lesson's server.
        command.env(common::args::DEFAULT_ADDR_VARIABLE, addr);
    }
    take_the_terminal();
    // Become the lesson binary, so that it owns the terminal and Ctrl-C.
    let err = command.exec();
    Err(err).with_context(|| format!("cannot run {}", path.display()))
}

/// Makes this process (and so the lesson binary it becomes) the terminal's
/// foreground process group, alone: Ctrl-C then reaches the lesson binary,
/// which stops cleanly with status 0, and not `make`, which would print
/// `*** Interrupt` and end with status 130. When the lesson ends, the shell
/// takes the terminal back, as it does after every command.
fn take_the_terminal() {
    use nix::sys::signal::{SigSet, Signal};
    use nix::unistd::{Pid, getpgrp, setpgid, tcgetpgrp, tcsetpgrp};

    let stdin = std::io::stdin();
    if !stdin.is_terminal() || tcgetpgrp(&stdin).is_err() {
        return;
    }
    if setpgid(Pid::from_raw(0), Pid::from_raw(0)).is_err() {
        return;
    }
    // A background group that changes the foreground is sent SIGTTOU, which
    // would stop it: block it for the one call.
    let mut ttou = SigSet::empty();
    ttou.add(Signal::SIGTTOU);
    if ttou.thread_block().is_ok() {
        let _ = tcsetpgrp(&stdin, getpgrp());
        let _ = ttou.thread_unblock();
    }
}
