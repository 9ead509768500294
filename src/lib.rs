//! The machinery of the course, shared by the demo player and the tests.
//!
//! - [`catalogue`]: every lesson in one list (number, title, crate, binaries,
//!   default port, demo scenario, book page); the Makefile, the demo player,
//!   the course-wide checks and the lesson lists in the README and the book
//!   all read it.
//! - [`scenario`]: the expect-style script format: "start this server, type
//!   this on that side, wait until that side prints this". One scenario file
//!   is both a lesson's demo (`make run-lesson`) and one of its tests.
//! - [`stage`]: runs the actors of a scenario (lesson binaries and raw socket
//!   peers), reads their output with deadlines, and kills every process it
//!   started when it is dropped, even when a test fails.
//! - [`contract`]: what every lesson binary promises, checked.
//! - [`ports`]: addresses where nothing answers, for "no server" tests.
//! - [`book`]: checks that the book's includes and table of contents resolve.
//! - [`transcript`]: a demo's transcript as the book shows it, and the check
//!   that a page's transcript still matches what the demo prints.
//! - [`escape`]: scenario text to bytes, and bytes to a safe preview.

pub mod book;
pub mod catalogue;
pub mod contract;
pub mod escape;
pub mod nobody;
pub mod ports;
pub mod scenario;
pub mod stage;
pub mod transcript;

pub use catalogue::{LESSONS, Lesson};
pub use contract::keeps_the_contract;
pub use nobody::Nobody;
pub use ports::{RefusingTcpPort, UnreachableUdpPort};
pub use scenario::Scenario;
pub use stage::{Bins, CommandLine, Stage, on_a_terminal};

/// The binaries of the calling crate, for a test: `course::bins!["a", "b"]`
/// maps each name to the path Cargo built it at (`CARGO_BIN_EXE_<name>`).
#[macro_export]
macro_rules! bins {
    ($($name:literal),* $(,)?) => {
        $crate::Bins::new()$(.with($name, env!(concat!("CARGO_BIN_EXE_", $name))))*
    };
}

/// Plays a lesson's demo scenario (`crates/NN-name/demo.scenario`) as a test:
/// `dir` is the lesson crate's folder (`env!("CARGO_MANIFEST_DIR")`).
pub fn play_demo(dir: &str, bins: Bins) -> anyhow::Result<()> {
    let path = std::path::Path::new(dir).join("demo.scenario");
    let scenario = Scenario::load(&path)?;
    let mut stage = Stage::new(bins);
    scenario.play(&mut stage)
}

/// The exercise checks of a lesson (`crates/NN-name/exercises/*.scenario`),
/// in name order; none when it has no such folder.
pub fn exercises(
    root: &std::path::Path,
    lesson: &Lesson,
) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let folder = root.join(lesson.dir).join("exercises");
    if !folder.is_dir() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&folder)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "scenario") {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}
