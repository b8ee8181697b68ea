//! A backup set's manifest: which server it belongs to, every file it may
//! touch (a copy, sha256 before and after, mode, owner), how to reload, and
//! where the change stands.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil::{self, Ownership};
use crate::reload::{Regenerate, Reload};
use crate::vocabulary::{Listener, MtaKind};

/// Where a change stands. The journal is written before each step, so an
/// interrupted run leaves a state that says what was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SetState {
    /// Files copied; nothing live changed yet.
    Prepared,
    /// New files are live; not verified (yet, or `--no-verify`).
    Applied,
    /// New files are live and the probe confirmed them.
    Verified,
    /// The originals are back.
    RolledBack,
}

impl SetState {
    pub fn name(self) -> &'static str {
        match self {
            SetState::Prepared => "prepared",
            SetState::Applied => "applied",
            SetState::Verified => "verified",
            SetState::RolledBack => "rolled-back",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FileRecord {
    pub path: PathBuf,
    /// The copy's file name inside the set's directory.
    pub backup: String,
    pub sha256_before: String,
    /// What apply wrote, once written: rollback compares the live file with it.
    pub sha256_after: Option<String>,
    pub owner: Ownership,
    /// False for a file mailtls created: restoring it means removing it.
    #[serde(default = "yes")]
    pub existed: bool,
}

fn yes() -> bool {
    true
}

/// One server the set covers: how to rebuild, reload and check it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceRecord {
    pub mta: MtaKind,
    pub instance: PathBuf,
    #[serde(default)]
    pub regenerate: Option<Regenerate>,
    pub reload: Reload,
    pub listeners: Vec<Listener>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub created: String,
    pub profile: String,
    pub state: SetState,
    pub services: Vec<ServiceRecord>,
    pub files: Vec<FileRecord>,
    /// The last thing that happened to the set, in words.
    pub note: Option<String>,
    /// True from the first write until apply or rollback finishes: a set
    /// still in progress when mailtls starts was interrupted (crash, kill).
    #[serde(default)]
    pub in_progress: bool,
    #[serde(skip)]
    pub dir: PathBuf,
}

impl Manifest {
    pub fn load(dir: &Path) -> Result<Manifest> {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path).map_err(Error::io(&path, "cannot read the backup manifest"))?;
        let mut manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| Error::State(format!("{}: corrupt backup manifest: {e}", path.display())))?;
        manifest.dir = dir.to_path_buf();
        Ok(manifest)
    }

    /// Writes the manifest atomically (0600).
    pub fn save(&self) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("manifests serialize");
        fsutil::write_private(&self.dir.join("manifest.json"), text.as_bytes())?;
        fsutil::sync_dir(&self.dir)
    }

    /// The backed-up content of one file.
    pub fn original(&self, record: &FileRecord) -> Result<Vec<u8>> {
        let path = self.dir.join(&record.backup);
        let bytes = std::fs::read(&path).map_err(Error::io(&path, "cannot read the backup copy"))?;
        if fsutil::sha256_hex(&bytes) != record.sha256_before {
            return Err(Error::State(format!(
                "{}: the backup copy is damaged (sha256 mismatch)",
                path.display()
            )));
        }
        Ok(bytes)
    }
}
