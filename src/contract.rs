//! The contract every lesson binary keeps (see the README), checked on the
//! binaries of one lesson: `--help` names the lesson, `--version` names the
//! binary, a bad `--addr` is refused with exit status 2, and a server
//! prints its ready line and stops cleanly on Ctrl-C.

use std::process::{Command, Stdio};

use anyhow::{Context, ensure};

use crate::{Bins, Lesson, Stage};

/// Checks every binary of lesson `number` found in `bins`: its own server
/// and client (a client borrowed from another lesson is checked there).
pub fn keeps_the_contract(number: u8, bins: &Bins) -> anyhow::Result<()> {
    let lesson = Lesson::find(number).with_context(|| format!("no lesson {number}"))?;
    let own = [lesson.server, lesson.client]
        .into_iter()
        .filter(|bin| bin.package == lesson.package);
    for bin in own {
        let path = bins.path(bin.name)?;
        let run = |args: &[&str]| {
            Command::new(&path)
                .args(args)
                .stdin(Stdio::null())
                .output()
                .with_context(|| format!("cannot run {}", path.display()))
        };

        let help = run(&["--help"])?;
        let text = String::from_utf8_lossy(&help.stdout);
        ensure!(help.status.success(), "{} --help failed", bin.name);
        let title = format!("Lesson {number} (");
        ensure!(
            text.contains(&title),
            "{} --help should start with `{title}`: {text}",
            bin.name
        );
        ensure!(
            text.contains("--addr <HOST:PORT>"),
            "{} --help lists no --addr: {text}",
            bin.name
        );

        let version = run(&["--version"])?;
        let text = String::from_utf8_lossy(&version.stdout);
        ensure!(
            text.starts_with(bin.name),
            "{} --version says `{text}`",
            bin.name
        );

        let bad = run(&["--addr", "nowhere"])?;
        let text = String::from_utf8_lossy(&bad.stderr);
        ensure!(
            bad.status.code() == Some(2),
            "{} --addr nowhere: {}",
            bin.name,
            bad.status
        );
        ensure!(
            text.contains("expected HOST:PORT"),
            "{} --addr nowhere says: {text}",
            bin.name
        );
    }
    if lesson.server.package == lesson.package {
        let mut stage = Stage::new(bins.clone());
        stage.serve("server", lesson.server.name)?;
        stage.interrupt("server")?;
        stage.expect("server", "stopped (Ctrl-C)")?;
        stage.exit("server", 0)?;
    }
    Ok(())
}
