//! For tests of what a function prints on the process's own stdout or
//! stderr, which the test harness does not capture: the test runs its own
//! binary again, with one test selected and a variable set, and reads what
//! that child printed.

use std::io;
use std::process::{Command, Output};

/// Set in the child's environment; a test that prints checks it with
/// [`in_child`] and does nothing in an ordinary run.
const CHILD: &str = "COMMON_TEST_PRINTING_CHILD";

/// Whether this test runs as the child of [`run_alone`].
pub fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Runs test `name` (its whole path, `output::tests::printing_every_way`)
/// alone in a child of this test binary, and returns what it printed; fails
/// unless it ran and passed.
pub fn run_alone(name: &str) -> io::Result<Output> {
    let ran = Command::new(std::env::current_exe()?)
        .args([name, "--exact", "--test-threads=1"])
        .env(CHILD, "1")
        .output()?;
    let stdout = String::from_utf8_lossy(&ran.stdout);
    if !ran.status.success() || !stdout.contains("1 passed") {
        return Err(io::Error::other(format!(
            "the child test {name} did not pass: {stdout}"
        )));
    }
    Ok(ran)
}
