//! `course`: the lesson catalogue at the command line. The Makefile calls it;
//! a learner rarely needs to.
//!
//! - `course lessons`: one line per lesson.
//! - `course demo N`: plays lesson N's demo scenario, server and client
//!   together, as a labelled transcript.
//! - `course run server N -- ARGS` / `course run client N -- ARGS`: builds
//!   and runs one side of lesson N, interactively.

use std::io::IsTerminal;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use course::{Bins, LESSONS, Lesson, Scenario, Stage};

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
        /// The lesson's number.
        lesson: u8,
        /// Milliseconds to pause before each typed or sent message, so a
        /// person can follow (0 when stdout is not a terminal).
        #[arg(long, default_value_t = 400)]
        pace: u64,
    },
    /// Builds and runs one side of lesson N, with your terminal as its stdin.
    Run {
        /// Which side.
        side: Side,
        /// The lesson's number.
        lesson: u8,
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
        Commands::Lessons => {
            list();
            Ok(())
        }
        Commands::Demo { lesson, pace } => demo(lesson, pace),
        Commands::Run { side, lesson, args } => run(side, lesson, &args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn list() {
    for lesson in LESSONS {
        println!(
            "{:>2}. {:<26} {} ({} {})",
            lesson.number,
            lesson.title,
            lesson.summary,
            lesson.transport.to_uppercase(),
            lesson.port
        );
    }
}

fn lesson(number: u8) -> anyhow::Result<&'static Lesson> {
    Lesson::find(number).with_context(|| {
        let known: Vec<String> = LESSONS.iter().map(|l| l.number.to_string()).collect();
        format!(
            "there is no lesson {number}: the lessons are {}",
            known.join(", ")
        )
    })
}

/// The workspace root: this crate's manifest folder, where the Makefile runs.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo(number: u8, pace: u64) -> anyhow::Result<()> {
    let lesson = lesson(number)?;
    let scenario = Scenario::load(&root().join(lesson.demo()))?;
    // The lesson binaries sit beside this one (target/debug): the Makefile
    // builds the whole workspace before it plays a demo.
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let folder = exe.parent().context("this program has no folder")?;
    let pace = if std::io::stdout().is_terminal() {
        Duration::from_millis(pace)
    } else {
        Duration::ZERO
    };
    println!(
        "Lesson {}: {}. {}.",
        lesson.number,
        lesson.title,
        capitalise(lesson.summary)
    );
    let mut stage = Stage::new(Bins::in_folder(folder)).echoing(pace);
    scenario.play(&mut stage)?;
    println!(
        "── the end. Now play both sides yourself: `make server L={n}` in one terminal, \
         `make client L={n}` in another.",
        n = lesson.number
    );
    Ok(())
}

fn run(side: Side, number: u8, args: &[String]) -> anyhow::Result<()> {
    let lesson = lesson(number)?;
    let bin = match side {
        Side::Server => lesson.server,
        Side::Client => lesson.client,
    };
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args([
            "build",
            "--quiet",
            "--package",
            bin.package,
            "--bin",
            bin.name,
        ])
        .current_dir(root())
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo could not build {}", bin.name);
    }
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let path = exe.with_file_name(bin.name);
    let mut command = Command::new(&path);
    let gives_addr = args
        .iter()
        .any(|arg| arg == "--addr" || arg.starts_with("--addr="));
    if matches!(side, Side::Client) && !gives_addr {
        command.args(lesson.client_defaults);
    }
    command
        .args(args)
        .env("COURSE_LESSON", lesson.number.to_string());
    // Become the lesson binary, so that it owns the terminal and Ctrl-C.
    let err = command.exec();
    Err(err).with_context(|| format!("cannot run {}", path.display()))
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
