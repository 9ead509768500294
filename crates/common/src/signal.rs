//! Ctrl-C: a server stops cleanly instead of dying mid-line.

use std::io::IsTerminal;

/// On Ctrl-C (SIGINT), says `"{who} stopped (Ctrl-C)"` on stderr and exits
/// with status 0.
///
/// Exiting closes every socket the process holds: the kernel sends a FIN (or
/// a reset, for connections with unread data) to each peer and frees the
/// port. The message goes to stderr because the main thread may hold the
/// stdout lock while it waits in `accept` or `recv_from`.
pub fn stop_on_ctrl_c(who: &'static str) -> anyhow::Result<()> {
    ctrlc::set_handler(move || {
        // On a terminal, "^C" was just echoed mid-line: start a fresh one.
        let newline = if std::io::stderr().is_terminal() {
            "\n"
        } else {
            ""
        };
        // Never `eprintln!` here: it panics when stderr is closed, the panic
        // would end this handler's thread, and every later Ctrl-C would be
        // ignored. The message is best effort; the exit is not.
        crate::output::say_on_stderr(format_args!("{newline}{who} stopped (Ctrl-C)"));
        std::process::exit(0);
    })
    .map_err(|err| anyhow::anyhow!("cannot install the Ctrl-C handler: {err}"))
}
