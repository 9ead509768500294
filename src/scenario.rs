//! Scenarios: a lesson's conversation written down once, played as its demo
//! and checked as its test.
//!
//! A scenario is a text file, one step a line:
//!
//! ```text
//! # A line starting with '#' is narration: the demo prints it.
//! server: serve tcp-hello-server          start, wait for `listening on`
//! client: start tcp-hello-client --addr {server}
//! client: type bye                        a line on the client's stdin
//! server: expect received: hello!         wait for a line containing this
//! client: exit 0                          wait for the exit status
//! ```
//!
//! Each step is `ACTOR: VERB ARGUMENTS`. An actor is a lesson binary or a raw
//! socket peer, named by the scenario; what it is follows from its first verb.
//!
//! | verb | actor | what it does |
//! | --- | --- | --- |
//! | `serve BIN ARGS` | process | starts a server (on `127.0.0.1:0` unless ARGS has `--addr`) and waits for its ready line; `{ACTOR}` then stands for its address, `{ACTOR.port}` for its port |
//! | | | (a Unix-domain server's ready line names a path, `listening on {dir}/x.sock`: `{ACTOR}` is that path; `{dir}` is a folder of the stage's own, removed with it) |
//! | `start BIN ARGS` | process | starts a binary; leading `NAME=value` words set its environment |
//! | `type TEXT` | process | writes TEXT and a newline to its stdin |
//! | `eof` | process | closes its stdin |
//! | `expect TEXT` | process | waits for a line (stdout or stderr) containing TEXT |
//! | `seen TEXT` | process | waits for a line containing TEXT, printed at any time, consuming nothing |
//! | `absent TEXT` | process | checks that no line so far contains TEXT |
//! | `exit CODE` | process | waits for it to exit with CODE |
//! | `interrupt` | process | sends SIGINT, as Ctrl-C does |
//! | `connect ADDR` | TCP peer | connects a plain socket |
//! | `send TEXT` | TCP or UDP peer | sends TEXT's bytes, no newline added |
//! | `recv TEXT` | TCP or UDP peer | waits until the bytes received contain TEXT |
//! | `recv-empty` | UDP peer | waits for an empty datagram |
//! | `closed` | TCP peer | waits for the other side to close (a read returns 0 bytes) |
//! | `shutdown` | TCP peer | half-closes: sends FIN, can still receive |
//! | `reset` | TCP peer | closes with `SO_LINGER` 0, so the kernel sends RST instead of FIN |
//! | `udp ADDR` | UDP peer | binds a UDP socket on 127.0.0.1:0 and connects it to ADDR |
//!
//! TEXT may use the escapes `\n`, `\r`, `\t`, `\e` (ESC), `\0`, `\xHH` and
//! `\\`. A line `deadline SECONDS` sets how long each later step may wait
//! (5 s unless set).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::stage::Stage;

/// A parsed scenario file.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Where it was read from, for error messages.
    pub path: PathBuf,
    /// Its lines, in order.
    pub lines: Vec<Line>,
}

/// One line of a scenario, with its line number.
#[derive(Debug, Clone)]
pub struct Line {
    /// 1-based, for error messages.
    pub number: usize,
    /// The line as written, for error messages.
    pub source: String,
    /// What it says.
    pub kind: LineKind,
}

/// What one line of a scenario says.
#[derive(Debug, Clone)]
pub enum LineKind {
    /// `# ...`: narration, printed by the demo.
    Narration(String),
    /// `deadline SECONDS`.
    Deadline(Duration),
    /// `ACTOR: VERB ARGUMENTS`.
    Step(Step),
}

/// One step: an actor and what it does.
#[derive(Debug, Clone)]
pub struct Step {
    /// The actor's name (`server`, `client`, `peer`, ...).
    pub actor: String,
    /// The verb.
    pub action: Action,
}

/// What an actor does in one step. Text is kept as written; `{...}`
/// placeholders and escapes are resolved when the step is played.
#[derive(Debug, Clone)]
pub enum Action {
    Serve(Vec<String>),
    Start(Vec<String>),
    Type(String),
    Eof,
    Expect(String),
    Seen(String),
    Absent(String),
    Exit(i32),
    Interrupt,
    Connect(String),
    Send(String),
    Recv(String),
    RecvEmpty,
    Closed,
    Shutdown,
    Reset,
    Udp(String),
}

impl Scenario {
    /// Reads and parses a scenario file.
    pub fn load(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the scenario {}", path.display()))?;
        Scenario::parse(path, &text)
    }

    /// Parses scenario text; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> anyhow::Result<Scenario> {
        let mut lines = Vec::new();
        for (index, source) in text.lines().enumerate() {
            let number = index + 1;
            let kind = parse_line(source)
                .with_context(|| format!("{}:{number}: cannot parse `{source}`", path.display()))?;
            if let Some(kind) = kind {
                lines.push(Line {
                    number,
                    source: source.to_owned(),
                    kind,
                });
            }
        }
        Ok(Scenario {
            path: path.to_owned(),
            lines,
        })
    }

    /// What the scenario is about: its first narration line, without an
    /// `Exercise:` label.
    pub fn title(&self) -> String {
        self.lines
            .iter()
            .find_map(|line| match &line.kind {
                LineKind::Narration(text) => Some(
                    text.strip_prefix("Exercise:")
                        .unwrap_or(text)
                        .trim()
                        .to_owned(),
                ),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Plays every line on `stage`; the first step that fails ends the play
    /// with an error naming the line and what every actor printed.
    pub fn play(&self, stage: &mut Stage) -> anyhow::Result<()> {
        for line in &self.lines {
            let result = match &line.kind {
                LineKind::Narration(text) => stage.narrate(text),
                LineKind::Deadline(limit) => {
                    stage.set_deadline(*limit);
                    Ok(())
                }
                LineKind::Step(step) => play_step(stage, step),
            };
            if let Some(err) = stage.echo_failure() {
                // The demo's stdout is gone (`make run-lesson | head`): stop
                // here; dropping the stage ends every program it started.
                return Err(common::output::closed_stdout(err));
            }
            if let Err(err) = result {
                let transcript = stage.transcript();
                bail!(
                    "{}:{}: step `{}` failed: {err:#}\n{transcript}",
                    self.path.display(),
                    line.number,
                    line.source.trim(),
                );
            }
        }
        Ok(())
    }
}

/// Plays one step on the stage.
fn play_step(stage: &mut Stage, step: &Step) -> anyhow::Result<()> {
    let actor = step.actor.as_str();
    match &step.action {
        Action::Serve(words) => stage.serve_now(actor, words).map(drop),
        Action::Start(words) => stage.start_now(actor, words),
        Action::Type(text) => stage.type_now(actor, text),
        Action::Eof => stage.close_stdin(actor),
        Action::Expect(text) => stage.expect_now(actor, text).map(drop),
        Action::Seen(text) => stage.seen_now(actor, text).map(drop),
        Action::Absent(text) => stage.absent_now(actor, text),
        Action::Exit(code) => stage.exit_now(actor, *code),
        Action::Interrupt => stage.interrupt(actor),
        Action::Connect(addr) => stage.connect(actor, addr),
        Action::Send(text) => stage.send(actor, text),
        Action::Recv(text) => stage.recv_now(actor, text),
        Action::RecvEmpty => stage.recv_empty_now(actor),
        Action::Closed => stage.closed_now(actor),
        Action::Shutdown => stage.shutdown(actor),
        Action::Reset => stage.reset(actor),
        Action::Udp(addr) => stage.udp(actor, addr),
    }
}

fn parse_line(source: &str) -> anyhow::Result<Option<LineKind>> {
    let trimmed = source.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if let Some(narration) = trimmed.strip_prefix('#') {
        return Ok(Some(LineKind::Narration(narration.trim().to_owned())));
    }
    if let Some(seconds) = trimmed.strip_prefix("deadline ") {
        let seconds: f64 = seconds
            .trim()
            .trim_end_matches('s')
            .parse()
            .context("expected `deadline SECONDS`")?;
        return Ok(Some(LineKind::Deadline(Duration::from_secs_f64(seconds))));
    }
    let Some((actor, rest)) = trimmed.split_once(':') else {
        bail!("expected `# narration`, `deadline SECONDS` or `ACTOR: VERB ...`");
    };
    let actor = actor.trim();
    if actor.is_empty() || actor.contains(char::is_whitespace) {
        bail!("the actor's name must be one word");
    }
    // Text arguments keep their inner spacing: only the one space after the
    // verb is a separator.
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let (verb, text) = rest.split_once(' ').unwrap_or((rest, ""));
    let words = || crate::stage::split_words(text);
    let no_argument = |action: Action| -> anyhow::Result<Action> {
        if text.trim().is_empty() {
            Ok(action)
        } else {
            bail!("`{verb}` takes no argument")
        }
    };
    let action = match verb {
        "serve" => Action::Serve(words()),
        "start" => Action::Start(words()),
        "type" => Action::Type(text.to_owned()),
        "eof" => no_argument(Action::Eof)?,
        "expect" => Action::Expect(text.to_owned()),
        "seen" => Action::Seen(text.to_owned()),
        "absent" => Action::Absent(text.to_owned()),
        "exit" => Action::Exit(text.trim().parse().context("expected `exit CODE`")?),
        "interrupt" => no_argument(Action::Interrupt)?,
        "connect" => Action::Connect(text.trim().to_owned()),
        "send" => Action::Send(text.to_owned()),
        "recv" => Action::Recv(text.to_owned()),
        "recv-empty" => no_argument(Action::RecvEmpty)?,
        "closed" => no_argument(Action::Closed)?,
        "shutdown" => no_argument(Action::Shutdown)?,
        "reset" => no_argument(Action::Reset)?,
        "udp" => Action::Udp(text.trim().to_owned()),
        other => bail!("unknown verb `{other}`"),
    };
    if matches!(&action, Action::Serve(args) | Action::Start(args) if args.is_empty()) {
        bail!("`{verb}` needs a binary's name");
    }
    if matches!(&action, Action::Expect(text) | Action::Seen(text) | Action::Absent(text) | Action::Recv(text) if text.is_empty())
    {
        bail!("`{verb}` needs the text to look for");
    }
    Ok(Some(LineKind::Step(Step {
        actor: actor.to_owned(),
        action,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<Scenario> {
        Scenario::parse(Path::new("test.scenario"), text)
    }

    #[test]
    fn steps_narration_and_deadlines_parse() -> anyhow::Result<()> {
        let scenario = parse(
            "# hello\n\nserver: serve tcp-hello-server --reuse-addr\nclient: type  two  spaces\ndeadline 2.5\nserver: exit 0\n",
        )?;
        assert_eq!(scenario.lines.len(), 5);
        assert!(matches!(&scenario.lines[0].kind, LineKind::Narration(text) if text == "hello"));
        let LineKind::Step(step) = &scenario.lines[2].kind else {
            bail!("expected a step")
        };
        assert_eq!(step.actor, "client");
        assert!(matches!(&step.action, Action::Type(text) if text == " two  spaces"));
        assert!(
            matches!(scenario.lines[3].kind, LineKind::Deadline(d) if d == Duration::from_millis(2500))
        );
        assert_eq!(scenario.lines[4].number, 6);
        Ok(())
    }

    #[test]
    fn the_title_is_the_first_narration_without_its_label() -> anyhow::Result<()> {
        let exercise = parse("server: serve x\n# Exercise: say it twice\n# More.\n")?;
        assert_eq!(exercise.title(), "say it twice");
        assert_eq!(parse("# The demo\n")?.title(), "The demo");
        assert_eq!(parse("server: serve x\n")?.title(), "");
        Ok(())
    }

    #[test]
    fn a_step_that_fails_ends_the_play_naming_its_line() -> anyhow::Result<()> {
        let scenario =
            parse("# Only narration so far.\ndeadline 0.2\nserver: expect hello\n# never\n")?;
        let mut stage = Stage::new(crate::Bins::new());
        let Err(err) = scenario.play(&mut stage) else {
            bail!("a step with no actor passed");
        };
        let text = format!("{err:#}");
        assert!(
            text.starts_with("test.scenario:3: step `server: expect hello` failed: "),
            "{text}"
        );
        assert!(text.contains("no actor called server"), "{text}");
        assert!(text.contains("── Only narration so far."), "{text}");
        assert!(!text.contains("never"), "{text}");
        assert_eq!(stage.deadline(), Duration::from_millis(200));
        Ok(())
    }

    #[test]
    fn mistakes_name_their_line() {
        for bad in [
            "server serve x",
            "server: fly",
            "server: exit zero",
            "server: expect",
            "server: serve",
            "a b: eof",
            ": eof",
            "client: eof now",
        ] {
            let err = parse(&format!("# ok\n{bad}\n")).expect_err(bad);
            assert!(format!("{err:#}").contains("test.scenario:2"), "{err:#}");
        }
    }
}
