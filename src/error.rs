//! The crate's error type. Every variant says where it happened and what to
//! do next, in one line; `Error::code` maps it to the documented exit code.

use std::path::PathBuf;

/// Exit codes, as documented in README.md.
pub mod exit {
    /// Success: done, or nothing to do.
    pub const OK: u8 = 0;
    /// Error: nothing was changed.
    pub const ERROR: u8 = 1;
    /// `plan`: changes are pending.
    pub const CHANGES_PENDING: u8 = 2;
    /// Verification failed and the change was rolled back, or a probed target does not comply.
    pub const NOT_COMPLIANT: u8 = 3;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),

    #[error("profile {source_name}: {message}")]
    Profile { source_name: String, message: String },

    #[error("{}:{line}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },

    #[error("{}: {message}: {source}{}", path.display(), root_hint(source))]
    Io {
        path: PathBuf,
        message: &'static str,
        source: std::io::Error,
    },

    #[error("`{program}` failed ({status}): {stderr}")]
    Command {
        program: String,
        status: String,
        stderr: String,
    },

    #[error("{program} not found: {hint}")]
    MissingProgram { program: String, hint: String },

    #[error("certificate {}: {message}", path.display())]
    Certificate { path: PathBuf, message: String },

    #[error("{0}")]
    Config(String),

    #[error("another mailtls is running (lock {} is held); wait for it to finish", path.display())]
    Locked { path: PathBuf },

    #[error("another mailtls is changing {} (perhaps with another --state-dir); wait for it to finish", instance.display())]
    InstanceLocked { instance: PathBuf },

    #[error("{0}")]
    State(String),

    #[error("{0}")]
    Refused(String),

    /// Verification failed after reload; the change was rolled back.
    #[error("verification failed, the change was rolled back: {0}")]
    RolledBack(String),

    /// Verification failed and so did the automatic rollback: the worst case.
    #[error("verification failed ({verify}) and the rollback failed too ({rollback}); restore by hand with `mailtls rollback --force`")]
    RollbackFailed { verify: String, rollback: String },
}

impl Error {
    pub fn code(&self) -> u8 {
        match self {
            Error::RolledBack(_) => exit::NOT_COMPLIANT,
            _ => exit::ERROR,
        }
    }

    /// An I/O error on `path`, saying what was being done.
    pub fn io(path: impl Into<PathBuf>, message: &'static str) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, message, source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// "Permission denied" for a user who is not root most likely means mailtls
/// needs root (it edits /etc and reloads daemons): say so.
fn root_hint(source: &std::io::Error) -> &'static str {
    if source.kind() == std::io::ErrorKind::PermissionDenied && !nix::unistd::geteuid().is_root() {
        " (mailtls changes server configs and reloads daemons: run it as root)"
    } else {
        ""
    }
}
