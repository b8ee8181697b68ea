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
    /// The file `path` named when it was backed up, every symlink followed:
    /// writes go there, and only while `path` still names it.
    #[serde(default)]
    pub target: Option<PathBuf>,
}

impl FileRecord {
    /// The name of the n-th file's backup copy inside its set: the set
    /// decides it, so a manifest can never point a read elsewhere.
    pub fn backup_name(n: usize, path: &Path) -> String {
        format!("{n}-{}", path.file_name().and_then(|f| f.to_str()).unwrap_or("file"))
    }
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
    /// Listeners held to another profile than `profile`, with the reasons of named exceptions.
    #[serde(default)]
    pub floors: Vec<crate::floors::Floor>,
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
        let bytes = fsutil::read_nofollow(&path).map_err(Error::io(&path, "cannot read the backup manifest"))?;
        let mut manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| Error::State(format!("{}: corrupt backup manifest: {e}", path.display())))?;
        manifest.dir = dir.to_path_buf();
        manifest.check().map_err(|why| {
            Error::State(format!(
                "{}: backup manifest refused ({why}); mailtls leaves this set alone",
                path.display()
            ))
        })?;
        Ok(manifest)
    }

    /// A manifest is data from disk: before recovery or rollback acts on it,
    /// every path it would write must be absolute and plain, every copy it
    /// would read one the set named itself, and every command one of the
    /// shapes mailtls records (a rebuild is never a shell command).
    fn check(&self) -> std::result::Result<(), String> {
        let name = self.dir.file_name().and_then(|n| n.to_str());
        if name != Some(self.id.as_str()) {
            return Err(format!("its id {:?} is not its folder's name", self.id));
        }
        for (n, record) in self.files.iter().enumerate() {
            let at = format!("files[{n}]");
            plain_absolute(&record.path).map_err(|e| format!("{at}.path {e}"))?;
            if let Some(target) = &record.target {
                plain_absolute(target).map_err(|e| format!("{at}.target {e}"))?;
            }
            if self.files[..n].iter().any(|r| r.path == record.path) {
                return Err(format!("{at}.path {} is listed twice", record.path.display()));
            }
            if record.backup != FileRecord::backup_name(n, &record.path) {
                return Err(format!("{at}.backup {:?} is not the copy this set made", record.backup));
            }
            let hashes = std::iter::once(&record.sha256_before).chain(record.sha256_after.as_ref());
            if let Some(bad) = hashes.into_iter().find(|h| !is_sha256(h)) {
                return Err(format!("{at}: {bad:?} is not a sha256"));
            }
            if record.owner.mode > 0o7777 {
                return Err(format!("{at}.owner.mode {:o} is not a file mode", record.owner.mode));
            }
        }
        for (n, service) in self.services.iter().enumerate() {
            let at = format!("services[{n}]");
            plain_absolute(&service.instance).map_err(|e| format!("{at}.instance {e}"))?;
            match &service.regenerate {
                None => {}
                // A rebuild is a program and its arguments by type: never a shell command.
                Some(Regenerate::Argv(argv)) => check_argv(argv).map_err(|e| format!("{at}.regenerate {e}"))?,
            }
            match &service.reload {
                Reload::Argv(argv) => check_argv(argv).map_err(|e| format!("{at}.reload {e}"))?,
                Reload::Hup { pid_file } => {
                    plain_absolute(pid_file).map_err(|e| format!("{at}.reload.pid_file {e}"))?
                }
                Reload::Backend { config, .. } => {
                    plain_absolute(config).map_err(|e| format!("{at}.reload.config {e}"))?
                }
                // The admin's own --reload-command, recorded as given.
                Reload::Shell(command) if !command.trim().is_empty() && !command.contains('\0') => {}
                Reload::Shell(_) => return Err(format!("{at}.reload is an empty shell command")),
            }
        }
        Ok(())
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
        let bytes = fsutil::read_nofollow(&path).map_err(Error::io(&path, "cannot read the backup copy"))?;
        if fsutil::sha256_hex(&bytes) != record.sha256_before {
            return Err(Error::State(format!(
                "{}: the backup copy is damaged (sha256 mismatch)",
                path.display()
            )));
        }
        Ok(bytes)
    }
}

/// An absolute path of plain names: no `.`, `..`, empty or NUL part.
fn plain_absolute(path: &Path) -> std::result::Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    // By bytes: `Path::components` would hide a `.` or a doubled `/`.
    let plain = bytes.len() > 1
        && bytes.starts_with(b"/")
        && !bytes.contains(&0)
        && bytes[1..]
            .split(|&b| b == b'/')
            .all(|name| !name.is_empty() && name != b"." && name != b"..");
    if plain {
        Ok(())
    } else {
        Err(format!("{:?} is not an absolute, plain path", path))
    }
}

/// A command as mailtls records one: a program (absolute path, or a name
/// looked up on PATH) and its arguments, none empty at the start, no NUL.
fn check_argv(argv: &[String]) -> std::result::Result<(), String> {
    let Some(program) = argv.first() else {
        return Err("is an empty command".into());
    };
    let program_ok = if program.contains('/') {
        plain_absolute(Path::new(program)).is_ok()
    } else {
        !program.is_empty() && !program.starts_with('-')
    };
    if !program_ok || argv.iter().any(|a| a.contains('\0')) {
        return Err(format!("{program:?} is not a program mailtls would run"));
    }
    Ok(())
}

fn is_sha256(hex: &str) -> bool {
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_plain_paths_pass() {
        assert!(plain_absolute(Path::new("/etc/postfix/main.cf")).is_ok());
        for bad in [
            "etc/main.cf",
            "/etc/../shadow",
            "/etc/./main.cf",
            "/etc//main.cf",
            "/",
            "/etc/main.cf/",
            "",
        ] {
            assert!(plain_absolute(Path::new(bad)).is_err(), "{bad:?} passed");
        }
    }

    #[test]
    fn a_command_is_a_program_and_its_arguments() {
        let argv = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_argv(&argv(&["postfix", "reload"])).is_ok());
        assert!(check_argv(&argv(&["/usr/sbin/update-exim4.conf", "-d", "/etc/exim4"])).is_ok());
        for bad in [
            &[][..],
            &[""],
            &["-c"],
            &["../bin/sh"],
            &["bin/sh"],
            &["/bin/../bin/sh"],
            &["sh", "a\0b"],
        ] {
            assert!(check_argv(&argv(bad)).is_err(), "{bad:?} passed");
        }
    }
}
