//! One mailtls at a time per state directory and per server instance:
//! exclusive `flock`s, released when the process ends, even by SIGKILL.
//!
//! The state directory's lock is `STATE/lock`. A server instance's lock is
//! its config folder itself (the instance's folder, or the one holding its
//! config file), locked through a descriptor: two runs with different
//! `--state-dir` still meet there. A folder rather than a lock file under
//! /run/lock because it needs no writable shared place (where another user
//! could plant the file first), leaves nothing behind, and is keyed by the
//! folder itself (its inode), so two spellings of one path, a symlink or a
//! bind mount all name the same lock. Instances sharing a folder share a
//! lock, which only serializes them.

use std::fs::File;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Result};

pub struct Lock {
    _file: Flock<File>,
}

impl Lock {
    /// Locks `STATE/lock`, created 0600 and never through a symlink.
    pub fn acquire(root: &Path, path: &Path) -> Result<Lock> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                Some(nix::libc::ELOOP) => Error::State(format!(
                    "refusing the state directory {}: {} is a symbolic link; remove it",
                    root.display(),
                    path.display()
                )),
                _ => Error::io(path, "cannot open the lock file")(e),
            })?;
        super::trust::check_file(root, path, &file)?;
        let file = Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|_| Error::Locked {
            path: PathBuf::from(path),
        })?;
        Ok(Lock { _file: file })
    }
}

/// The server instances this run holds. Holding one twice is a no-op (a
/// second `flock` from the same process on another descriptor would fail).
#[derive(Default)]
pub struct InstanceLocks {
    held: Vec<((u64, u64), Flock<File>)>,
}

impl InstanceLocks {
    /// Locks the instance whose config is `instance` (a folder or a file).
    pub fn hold(&mut self, instance: &Path) -> Result<()> {
        let dir = if instance.is_dir() {
            instance
        } else {
            instance.parent().unwrap_or(Path::new("/"))
        };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_DIRECTORY | nix::libc::O_CLOEXEC)
            .open(dir)
            .map_err(Error::io(dir, "cannot open the config folder to lock it"))?;
        let meta = file.metadata().map_err(Error::io(dir, "cannot stat"))?;
        let key = (meta.dev(), meta.ino());
        if self.held.iter().any(|(k, _)| *k == key) {
            return Ok(());
        }
        let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|_| Error::InstanceLocked {
            instance: instance.to_path_buf(),
        })?;
        self.held.push((key, lock));
        Ok(())
    }
}
