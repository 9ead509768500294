//! Running a lesson's programs as an ordinary user, as a learner runs them,
//! from tests that run as root (as CI does).
//!
//! uid 65534 (`nobody`) has no capability and no home. Root becomes it with
//! util-linux's `setpriv --reuid=65534 --regid=65534 --clear-groups`; the
//! programs it runs must be files it can read, so they are copied into a
//! folder of their own, removed again when the [`Nobody`] is dropped.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::Bins;

/// Copies of some lesson binaries that uid 65534 can run, and the way to
/// run them as that user.
#[derive(Debug)]
pub struct Nobody {
    folder: PathBuf,
    setpriv: PathBuf,
}

impl Nobody {
    /// Copies each `(name, path)` of `bins` into a new folder readable by
    /// everyone, named after `tag`. `Ok(None)`, having said why on stderr,
    /// when this process cannot become another user: only root can, and
    /// only with `setpriv`. (A test that is not root already runs as an
    /// ordinary user.)
    pub fn new(tag: &str, bins: &[(&str, &str)]) -> anyhow::Result<Option<Nobody>> {
        let uid = nix::unistd::geteuid();
        if !uid.is_root() {
            eprintln!(
                "skipped: only root can become uid 65534, and this test runs as uid {uid}: \
                 an ordinary user already"
            );
            return Ok(None);
        }
        let Some(setpriv) = system_tool("setpriv") else {
            eprintln!("skipped: no setpriv (util-linux) to become uid 65534");
            return Ok(None);
        };
        let folder = std::env::temp_dir().join(format!("{tag}-nobody-{}", std::process::id()));
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("cannot make {}", folder.display()))?;
        let nobody = Nobody { folder, setpriv };
        for (name, path) in bins {
            std::fs::copy(path, nobody.folder.join(name))
                .with_context(|| format!("cannot copy {path}"))?;
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&nobody.folder, std::fs::Permissions::from_mode(0o755))?;
        Ok(Some(nobody))
    }

    /// The folder of the copies: a test may put more there (a tool first on
    /// the PATH, say).
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// The command line that runs the copy of `name` as uid 65534, for
    /// [`crate::Stage::serve`] and [`crate::Stage::start`].
    pub fn command(&self, name: &str) -> String {
        format!(
            "setpriv --reuid=65534 --regid=65534 --clear-groups {}",
            self.folder.join(name).display()
        )
    }

    /// What a stage needs to run [`Nobody::command`]s: `setpriv` itself.
    pub fn bins(&self) -> Bins {
        Bins::new().with("setpriv", &self.setpriv)
    }
}

impl Drop for Nobody {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// A program of the system's own folders, by name.
pub fn system_tool(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.is_file())
}
