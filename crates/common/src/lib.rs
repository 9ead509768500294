//! What every lesson of the course shares, so that a lesson's own code can stay
//! as short and linear as the Python script it comes from.
//!
//! A lesson binary calls [`run`] from `main`, prints the ready line with
//! [`announce`], prints everything else with `writeln!(out, ...)?` on
//! [`out`] (never a panic on a closed stdout), reads what its user types
//! with [`Typed`], shows what a peer sent with [`show`], and lets
//! [`stop_on_ctrl_c`] end a server cleanly. The error hints (address in use,
//! connection refused, ...) live in [`report`]; an error can carry its own
//! with [`Hint`].

pub mod args;
pub mod colour;
pub mod datagram;
pub mod framing;
pub mod input;
pub mod lab;
pub mod output;
pub mod ready;
pub mod report;
#[cfg(test)]
mod rerun;
pub mod show;
pub mod signal;
pub mod stage_child;
pub mod tcp_state;
pub mod unix_addr;

pub use args::{QuitWord, parse_addr};
pub use colour::{Highlight, colour_enabled};
pub use input::{Quit, Typed, Waited, end_of_input_says};
pub use output::{Out, out};
pub use ready::announce;
pub use report::{Hint, is_timeout, run};
pub use show::{Shown, show};
pub use signal::stop_on_ctrl_c;
pub use tcp_state::TcpState;
pub use unix_addr::{UnixAddr, parse_unix_addr};

/// The size of the receive buffer every lesson uses, as the Python course's
/// `recv(1024)` does.
pub const BUFFER_SIZE: usize = 1024;
