//! One mailtls at a time per state directory: an exclusive `flock` on
//! `STATE/lock`, released when the process ends, even by SIGKILL.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Result};

pub struct Lock {
    _file: Flock<std::fs::File>,
}

impl Lock {
    pub fn acquire(path: &Path) -> Result<Lock> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(path)
            .map_err(Error::io(path, "cannot open the lock file"))?;
        let file = Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|_| Error::Locked {
            path: PathBuf::from(path),
        })?;
        Ok(Lock { _file: file })
    }
}
