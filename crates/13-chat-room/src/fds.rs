//! The number of open files a process may have.
//!
//! Every socket is a file descriptor, and the kernel caps how many one
//! process holds: a soft limit (often 1,024) that the process may raise by
//! itself up to the hard limit set by the administrator. A server for
//! thousands of clients raises it at start, with `setrlimit`.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Raises the soft limit on open files to the hard limit, and returns the
/// new soft limit.
pub fn raise_limit() -> nix::Result<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    Ok(hard.max(soft))
}
