//! Lesson 13, the client: talk in the room while the room talks to you.
//!
//! Two things can happen at any moment: the user finishes a line, or the
//! server sends one. One thread cannot wait for both in a blocking `read`,
//! so the client has two: the main thread reads the keyboard and sends
//! each line; a second thread reads the socket and prints each line it
//! brings. On a terminal the keyboard goes through a line editor
//! (`rustyline`) whose "external printer" prints an incoming line above the
//! line being typed and redraws it, so that nothing gets garbled; piped,
//! lines are plain lines.

use std::io::{BufReader, IsTerminal, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use chat_room::MAX_LINE;
use chat_room::safe::shown;
use clap::Parser;
use common::framing::{FrameError, read_line, write_line};
use rustyline::ExternalPrinter;
use rustyline::error::ReadlineError;

/// Lesson 13 (a chat room for many), the client: connects to the room,
/// sends every line you type, and prints what the others say as it comes,
/// even while you are typing. `/nick NAME`, `/who`, `/quit` (or Ctrl-D).
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version)]
struct Args {
    /// The room's address.
    #[arg(long, value_name = "HOST:PORT",
          default_value_t = common::args::default_addr(8013),
          value_parser = common::parse_addr)]
    addr: SocketAddr,
    /// Your nickname, sent as `/nick NAME` on arrival (otherwise your first
    /// line is your nickname).
    #[arg(long)]
    nick: Option<String>,
    /// Do not show what NICK says (its joins and leaves still show).
    #[arg(long, value_name = "NICK")]
    ignore: Vec<String>,
    /// How many seconds to wait for the handshake.
    #[arg(long, value_name = "SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
}

fn main() -> ExitCode {
    common::run(13, talk)
}

// ANCHOR: talk
fn talk(args: Args) -> anyhow::Result<()> {
    let mut socket = TcpStream::connect_timeout(&args.addr, Duration::from_secs(args.timeout))
        .with_context(|| format!("cannot connect to {}", args.addr))?;
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    writeln!(common::out(), "connected to {}", args.addr)?;

    // The keyboard: a line editor on a terminal, plain lines otherwise.
    let mut keyboard = if terminal {
        Keyboard::Editor(Box::new(rustyline::DefaultEditor::new()?))
    } else {
        Keyboard::Piped(common::Typed::new("")?)
    };
    // The socket's reading thread prints through the editor's printer on a
    // terminal, so the line being typed is redrawn below what arrives.
    let printer: Printer = match &mut keyboard {
        Keyboard::Editor(editor) => Printer::Editor(Box::new(editor.create_external_printer()?)),
        Keyboard::Piped(_) => Printer::Plain,
    };
    let incoming = socket.try_clone()?;
    let terminal_state = Saved::now();
    let ignored: Vec<Vec<u8>> = args
        .ignore
        .iter()
        .map(|nick| format!("[{nick}] ").into_bytes())
        .collect();
    std::thread::Builder::new()
        .name("socket".to_owned())
        .spawn(move || print_incoming(incoming, printer, terminal_state, &ignored))?;

    if let Some(nick) = &args.nick {
        write_line(&mut socket, format!("/nick {nick}").as_bytes())?;
    }
    // The main thread: each typed line goes out as one line of the room's
    // protocol. The reading thread ends the program when the server closes.
    loop {
        let line = match keyboard.next_line()? {
            Some(line) => line,
            None => {
                writeln!(common::out(), "end of input: it counts as /quit")?;
                b"/quit".to_vec()
            }
        };
        if line.is_empty() {
            continue;
        }
        if line.len() > MAX_LINE {
            writeln!(
                common::out(),
                "(not sent: the room takes lines of at most {MAX_LINE} bytes)"
            )?;
            continue;
        }
        write_line(&mut socket, &line).context("cannot send")?;
        if line == b"/quit" {
            // Nothing more to say: FIN. The server answers `* bye` and
            // closes, and the reading thread ends the program.
            let _ = socket.shutdown(Shutdown::Write);
            std::thread::sleep(Duration::from_secs(args.timeout));
            anyhow::bail!(
                "the server did not close within {} s of /quit",
                args.timeout
            );
        }
    }
}
// ANCHOR_END: talk

// ANCHOR: incoming
/// The reading thread: prints each line from the server as it comes, and
/// ends the program when the server closes the connection.
fn print_incoming(socket: TcpStream, mut printer: Printer, terminal: Saved, ignored: &[Vec<u8>]) {
    let mut reader = BufReader::new(socket);
    let mut line = Vec::new();
    let status = loop {
        match read_line(&mut reader, common::framing::MAX_MESSAGE, &mut line) {
            Ok(true) if ignored.iter().any(|nick| line.starts_with(nick)) => {}
            Ok(true) => {
                if printer.print(shown(&line)).is_err() {
                    // Our stdout is gone (`| head`): nothing left to do.
                    break 0;
                }
            }
            Ok(false) | Err(FrameError::LineCut { .. }) => {
                let _ = printer.print("the server closed the connection".to_owned());
                break 0;
            }
            Err(err) => {
                common::output::say_on_stderr(format_args!("error: the connection failed: {err}"));
                break 1;
            }
        }
    };
    // The main thread may be inside the line editor, with the terminal in
    // raw mode: put it back as it was before leaving.
    terminal.restore();
    std::process::exit(status);
}
// ANCHOR_END: incoming

/// Where typed lines come from.
enum Keyboard {
    Editor(Box<rustyline::DefaultEditor>),
    Piped(common::Typed),
}

impl Keyboard {
    /// The next typed line; `None` at the end of input (Ctrl-D, the end of
    /// a pipe). Ctrl-C on the editor is `/quit`.
    fn next_line(&mut self) -> anyhow::Result<Option<Vec<u8>>> {
        match self {
            Keyboard::Editor(editor) => match editor.readline("> ") {
                Ok(line) => {
                    let _ = editor.add_history_entry(line.as_str());
                    Ok(Some(line.into_bytes()))
                }
                Err(ReadlineError::Eof) => Ok(None),
                // Ctrl-C: leave as /quit does, saying so.
                Err(ReadlineError::Interrupted) => {
                    writeln!(common::out(), "Ctrl-C: it counts as /quit")?;
                    Ok(Some(b"/quit".to_vec()))
                }
                Err(err) => Err(err).context("cannot read the keyboard"),
            },
            Keyboard::Piped(typed) => typed.next_line(),
        }
    }
}

/// Where incoming lines are printed.
enum Printer {
    Editor(Box<dyn ExternalPrinter + Send>),
    Plain,
}

impl Printer {
    fn print(&mut self, line: String) -> anyhow::Result<()> {
        match self {
            // With its newline: the editor adds one only while it is
            // reading a line, and after the last one (`/quit`) it is not.
            Printer::Editor(printer) => Ok(printer.print(line + "\n")?),
            Printer::Plain => {
                let mut out = common::out();
                writeln!(out, "{line}")?;
                Ok(out.flush()?)
            }
        }
    }
}

/// The terminal's settings before the line editor changed them.
struct Saved(Option<nix::sys::termios::Termios>);

impl Saved {
    fn now() -> Saved {
        Saved(nix::sys::termios::tcgetattr(std::io::stdin().as_fd()).ok())
    }

    fn restore(&self) {
        if let Some(settings) = &self.0 {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin().as_fd(),
                nix::sys::termios::SetArg::TCSANOW,
                settings,
            );
        }
    }
}
