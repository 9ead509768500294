//! Reading what the user types, one message a line.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;

/// Lines typed on stdin. The prompt is shown only when stdin is a terminal,
/// so a piped run (a test, the demo, `echo hi | ...`) prints a clean
/// transcript.
pub struct Typed {
    /// What to show before each line, or `None` when stdin is not a terminal.
    prompt: Option<String>,
    /// Reused for every line, so reading costs no allocation once warm.
    buffer: Vec<u8>,
}

impl Typed {
    /// Reads from stdin, showing `prompt` (for example `"client> "`) when
    /// stdin is a terminal.
    pub fn new(prompt: &str) -> Self {
        let prompt = std::io::stdin().is_terminal().then(|| prompt.to_owned());
        Typed {
            prompt,
            buffer: Vec::new(),
        }
    }

    /// The next line without its line ending, or `None` when stdin has ended
    /// (Ctrl-D on a terminal, the end of a pipe), which every lesson takes as
    /// the quit word.
    pub fn next_line(&mut self) -> anyhow::Result<Option<String>> {
        if let Some(prompt) = &self.prompt {
            let mut out = std::io::stdout().lock();
            out.write_all(prompt.as_bytes())?;
            out.flush()?;
        }
        self.buffer.clear();
        let read = std::io::stdin()
            .lock()
            .read_until(b'\n', &mut self.buffer)
            .context("cannot read from stdin")?;
        if read == 0 {
            if self.prompt.is_some() {
                println!();
            }
            return Ok(None);
        }
        let line = crate::show::trim_line_ending(&self.buffer);
        Ok(Some(String::from_utf8_lossy(line).into_owned()))
    }

    /// The next line that is not empty, or `None` when stdin has ended.
    ///
    /// An empty line is refused with a note, because sending it would put
    /// no bytes on the wire: TCP has nothing to deliver, the peer's `recv`
    /// does not return, and both sides wait for each other forever.
    pub fn next_message(&mut self) -> anyhow::Result<Option<String>> {
        loop {
            match self.next_line()? {
                Some(line) if line.is_empty() => println!(
                    "(not sent: an empty message puts no bytes on the wire, and both sides \
                     would wait forever; type something)"
                ),
                other => return Ok(other),
            }
        }
    }
}
