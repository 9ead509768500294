//! A lesson binary started by the course's demo player or its tests ends
//! when they end, whatever way they end.
//!
//! The player kills the programs it started when it stops normally, on an
//! error, on a panic and on Ctrl-C. Only a player killed outright (SIGKILL)
//! gets no chance to; for that one case the kernel is asked to do it: the
//! player names itself in `COURSE_STAGE_PARENT`, and a program that finds its
//! parent there asks, with `prctl(PR_SET_PDEATHSIG)`, to be killed when that
//! parent goes. A program started any other way is not affected.

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, getppid};

/// The variable in which the demo player and the test harness give their
/// process id to the programs they start.
pub const PARENT_VARIABLE: &str = "COURSE_STAGE_PARENT";

/// See the module documentation. Called first thing by [`crate::run`].
pub fn die_with_the_stage() {
    let Some(parent) = std::env::var(PARENT_VARIABLE)
        .ok()
        .and_then(|pid| pid.parse::<i32>().ok())
        .map(Pid::from_raw)
    else {
        return;
    };
    if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_err() {
        return;
    }
    // The parent may have gone before the line above ran. A program whose
    // parent is another (a wrapper such as `script` started it) keeps the
    // setting for that parent, which the stage watches in its turn.
    if getppid() != parent && kill(parent, None).is_err() {
        std::process::exit(1);
    }
}
