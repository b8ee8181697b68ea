//! The journal: backup sets under the state directory, one per change, and
//! the lock that lets one mailtls run at a time. `journal` owns the state
//! directory; it never edits a server's config (that is `apply`'s job).

mod fault;
mod lock;
mod manifest;
mod trust;

pub use fault::crashpoint;
pub use lock::{InstanceLocks, Lock};
pub use manifest::{FileRecord, Manifest, ServiceRecord, SetState};

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fsutil;

/// The state directory (`--state-dir`), created root-only on first use and
/// refused when anyone else could have changed it (see `trust`).
pub struct Journal {
    root: PathBuf,
}

impl Journal {
    pub fn open(root: &Path) -> Result<Journal> {
        let root = trust::open_root(root, true)?.expect("created");
        trust::open_inside(&root, &root.join("backups"), true)?;
        trust::check_tree(&root, &root)?;
        Ok(Journal { root })
    }

    /// Opens without creating: for read-only commands.
    /// `None` when there is none yet; an untrusted one is refused all the same.
    pub fn existing(root: &Path) -> Result<Option<Journal>> {
        let Some(root) = trust::open_root(root, false)? else {
            return Ok(None);
        };
        if !trust::open_inside(&root, &root.join("backups"), false)? {
            return Ok(None);
        }
        trust::check_tree(&root, &root)?;
        Ok(Some(Journal { root }))
    }

    pub fn lock(&self) -> Result<Lock> {
        Lock::acquire(&self.root, &self.root.join("lock"))
    }

    /// Creates a new set's folder (0700) and makes its entry durable.
    pub fn create_set(&self, id: &str) -> Result<PathBuf> {
        let dir = self.set_dir(id);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(Error::io(&dir, "cannot create the backup set"))?;
        fsutil::sync_dir(&self.root.join("backups"))?;
        Ok(dir)
    }

    pub fn set_dir(&self, id: &str) -> PathBuf {
        self.root.join("backups").join(id)
    }

    fn ids(&self) -> Result<Vec<String>> {
        let dir = self.root.join("backups");
        let mut ids: Vec<String> = std::fs::read_dir(&dir)
            .map_err(Error::io(&dir, "cannot list"))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
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
