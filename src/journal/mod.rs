//! The journal: backup sets under the state directory, one per change, and
//! the lock that lets one mailtls run at a time. `journal` owns the state
//! directory; it never edits a server's config (that is `apply`'s job).

mod lock;
mod manifest;

pub use lock::Lock;
pub use manifest::{FileRecord, Manifest, ServiceRecord, SetState};

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Test-only hooks at the named steps of apply and rollback, so tests can
/// force what would otherwise be a race: with `MAILTLS_TEST_CRASH_AT=STEP` the
/// process kills itself (SIGKILL, as a power cut would) at that step; with
/// `MAILTLS_TEST_RUN_AT=STEP` it first runs `MAILTLS_TEST_RUN` (an admin's
/// edit landing mid-run, say). Unset, they cost one lookup.
pub fn crashpoint(step: &str) {
    if std::env::var("MAILTLS_TEST_RUN_AT").is_ok_and(|s| s == step) {
        if let Ok(command) = std::env::var("MAILTLS_TEST_RUN") {
            let _ = std::process::Command::new("/bin/sh").arg("-c").arg(command).status();
        }
    }
    if std::env::var("MAILTLS_TEST_CRASH_AT").is_ok_and(|s| s == step) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}

/// The state directory (`--state-dir`), created root-only on first use.
pub struct Journal {
    root: PathBuf,
}

impl Journal {
    pub fn open(root: &Path) -> Result<Journal> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root.join("backups"))
            .map_err(Error::io(root, "cannot create the state directory"))?;
        let perms = std::fs::Permissions::from_mode(0o700);
        std::fs::set_permissions(root, perms).map_err(Error::io(root, "cannot restrict the state directory"))?;
        Ok(Journal {
            root: root.to_path_buf(),
        })
    }

    /// Opens without creating: for read-only commands.
    pub fn existing(root: &Path) -> Option<Journal> {
        root.join("backups").is_dir().then(|| Journal {
            root: root.to_path_buf(),
        })
    }

    pub fn lock(&self) -> Result<Lock> {
        Lock::acquire(&self.root.join("lock"))
    }

    pub fn set_dir(&self, id: &str) -> PathBuf {
        self.root.join("backups").join(id)
    }

    fn ids(&self) -> Result<Vec<String>> {
        let dir = self.root.join("backups");
        let mut ids: Vec<String> = std::fs::read_dir(&dir)
            .map_err(Error::io(&dir, "cannot list"))?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Every readable backup set, oldest first. A damaged one is left out
    /// here (so it never blocks a new apply) and named by `unreadable`.
    pub fn sets(&self) -> Result<Vec<Manifest>> {
        Ok(self
            .ids()?
            .iter()
            .filter_map(|id| Manifest::load(&self.set_dir(id)).ok())
            .collect())
    }

    /// The backup sets whose manifest cannot be read, each with why.
    pub fn unreadable(&self) -> Vec<String> {
        let ids = self.ids().unwrap_or_default();
        ids.iter()
            .filter_map(|id| Manifest::load(&self.set_dir(id)).err().map(|e| e.to_string()))
            .collect()
    }

    pub fn find(&self, id: &str) -> Result<Manifest> {
        if id.contains('/') || id.starts_with('.') || !self.set_dir(id).is_dir() {
            return Err(Error::State(format!(
                "no backup set {id:?} in {}; `mailtls history` lists them",
                self.root.display()
            )));
        }
        Manifest::load(&self.set_dir(id))
    }

    /// Sets an interrupted run left in progress, oldest first.
    pub fn interrupted(&self) -> Result<Vec<Manifest>> {
        Ok(self.sets()?.into_iter().filter(|m| m.in_progress).collect())
    }

    /// The newest set whose change is live (applied and not rolled back).
    pub fn latest_live(&self) -> Result<Manifest> {
        self.sets()?
            .into_iter()
            .rev()
            .find(|m| matches!(m.state, SetState::Applied | SetState::Verified))
            .ok_or_else(|| {
                Error::State(format!(
                    "nothing to roll back: no applied change in {}",
                    self.root.display()
                ))
            })
    }

    /// A new, unique set id: UTC time to the millisecond, sortable.
    pub fn new_id(&self) -> String {
        let now = time::OffsetDateTime::now_utc();
        let base = format!(
            "{:04}{:02}{:02}-{:02}{:02}{:02}-{:03}",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second(),
            now.millisecond()
        );
        let mut id = base.clone();
        let mut n = 1;
        while self.set_dir(&id).exists() {
            id = format!("{base}.{n}");
            n += 1;
        }
        id
    }
}
