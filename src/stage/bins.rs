//! Where the lesson binaries are, and a check that each is newer than its
//! sources.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, bail};

use crate::LESSONS;

/// Where the lesson binaries are: each name maps to a path, or else is
/// looked up in one folder (the demo player uses the folder it runs from).
#[derive(Debug, Clone, Default)]
pub struct Bins {
    named: HashMap<String, PathBuf>,
    folder: Option<PathBuf>,
}

impl Bins {
    /// No binaries yet: add them with [`Bins::with`], or use [`crate::bins!`].
    pub fn new() -> Self {
        Bins::default()
    }

    /// Every binary in `folder` (such as `target/debug`).
    pub fn in_folder(folder: impl Into<PathBuf>) -> Self {
        Bins {
            named: HashMap::new(),
            folder: Some(folder.into()),
        }
    }

    /// Adds one binary by name and path.
    pub fn with(mut self, name: &str, path: impl Into<PathBuf>) -> Self {
        self.named.insert(name.to_owned(), path.into());
        self
    }

    /// Adds a binary of another lesson's package, found beside `own` (a
    /// binary of this one): Cargo gives a test only its own package's
    /// binaries, and `cargo build --workspace --bins` (which `make test`
    /// runs) puts the others in the same folder. The binary must be newer
    /// than its sources, or the test would try yesterday's program.
    pub fn with_neighbour(self, own: &str, name: &str) -> anyhow::Result<Self> {
        let path = self.path(own)?.with_file_name(name);
        if !path.exists() {
            bail!(
                "{} is missing: run `cargo build --workspace --bins` (make test does) first",
                path.display()
            );
        }
        check_fresh(name, &path)?;
        Ok(self.with(name, path))
    }

    /// The path of binary `name`; one found in the folder must be newer than
    /// its sources. A name with a `/` is a path already (`/usr/bin/script`).
    pub fn path(&self, name: &str) -> anyhow::Result<PathBuf> {
        if let Some(path) = self.named.get(name) {
            return Ok(path.clone());
        }
        if name.contains('/') {
            let path = PathBuf::from(name);
            if !path.exists() {
                bail!("{name} does not exist");
            }
            return Ok(path);
        }
        let Some(folder) = &self.folder else {
            bail!("no binary called `{name}` was given to the stage (see course::bins!)");
        };
        let path = folder.join(name);
        if !path.exists() {
            bail!(
                "{} does not exist: build it first with `cargo build --workspace --bins`",
                path.display()
            );
        }
        check_fresh(name, &path)?;
        Ok(path)
    }
}

/// Fails when a lesson binary is older than a source file it is built from
/// (its crate's `src/`, the common crate's `src/`): a test would then try an
/// old program and pass or fail for no reason. Manifests are left out:
/// a change to a test's dependencies rebuilds no binary.
/// Binaries the catalogue does not know are not checked.
pub fn check_fresh(name: &str, binary: &Path) -> anyhow::Result<()> {
    let Some(dir) = crate_of(name) else {
        return Ok(());
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let built = modified(binary)?;
    let sources = [root.join(dir).join("src"), root.join("crates/common/src")];
    // Cargo rebuilds a binary when its own file changes, not its
    // neighbours': the other files of `src/bin/` do not count.
    let own = format!("{name}.rs");
    let counts = |path: &Path| {
        let in_bin = path.parent().is_some_and(|dir| dir.ends_with("src/bin"));
        !in_bin || path.file_name().is_some_and(|file| file == own.as_str())
    };
    for source in &sources {
        if let Some((newest, path)) = newest(source, &counts)?
            && newest > built
        {
            bail!(
                "{} is older than {}: run `cargo build --workspace --bins` (make test does) \
                 so that the tests try the program as it is now",
                binary.display(),
                path.display()
            );
        }
    }
    Ok(())
}

/// The crate folder that builds binary `name`, from the catalogue.
fn crate_of(name: &str) -> Option<&'static str> {
    LESSONS.iter().find_map(|lesson| {
        [lesson.server, lesson.client]
            .into_iter()
            .find(|bin| bin.name == name)
            .and_then(|bin| LESSONS.iter().find(|l| l.package == bin.package))
            .map(|owner| owner.dir)
    })
}

fn modified(path: &Path) -> anyhow::Result<SystemTime> {
    std::fs::metadata(path)
        .and_then(|meta| meta.modified())
        .with_context(|| format!("cannot read the time {} was written", path.display()))
}

/// The newest file under `path` (or `path` itself) that `counts`, with its
/// time.
fn newest(
    path: &Path,
    counts: &dyn Fn(&Path) -> bool,
) -> anyhow::Result<Option<(SystemTime, PathBuf)>> {
    if !path.exists() {
        return Ok(None);
    }
    if path.is_file() {
        return counts(path)
            .then(|| modified(path).map(|time| (time, path.to_owned())))
            .transpose();
    }
    let mut best: Option<(SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(path)? {
        if let Some(found) = newest(&entry?.path(), counts)?
            && best.as_ref().is_none_or(|(time, _)| found.0 > *time)
        {
            best = Some(found);
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_older_than_its_sources_is_refused() -> anyhow::Result<()> {
        let folder = std::env::temp_dir().join(format!("course-bins-{}", std::process::id()));
        std::fs::create_dir_all(&folder)?;
        let old = folder.join("tcp-hello-server");
        std::fs::write(&old, b"")?;
        let long_ago = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        std::fs::File::options()
            .write(true)
            .open(&old)?
            .set_modified(long_ago)?;
        let err = Bins::in_folder(&folder).path("tcp-hello-server");
        let unknown = folder.join("not-a-lesson");
        std::fs::write(&unknown, b"")?;
        let other = Bins::in_folder(&folder).path("not-a-lesson");
        std::fs::remove_dir_all(&folder)?;
        let message = format!("{:#}", err.err().context("an old binary was accepted")?);
        assert!(message.contains("is older than"), "{message}");
        assert!(
            other.is_ok(),
            "binaries outside the catalogue are not checked"
        );
        Ok(())
    }
}
