//! Whether the state directory can be trusted. mailtls runs as root what a
//! backup manifest says (rebuild and reload commands) and writes files where
//! it says, so the state directory, every folder above it and everything in
//! it must be out of anyone else's reach: owned by root (the effective uid),
//! writable by nobody else, and no symlink anywhere on the way. Nothing here
//! follows a symlink or changes a mode through one.

use std::fs::{File, Metadata};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};
use crate::fsutil;

/// Where a path stands relative to the state directory: the fix differs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// A folder above the state directory.
    Above,
    /// The state directory or something in it.
    Inside,
}

/// Opens the state directory `root` (creating it and any missing parent
/// 0700 when `create`), checking every folder from `/` down; `None` when it
/// does not exist and `create` is false. Returns the absolute path.
pub fn open_root(root: &Path, create: bool) -> Result<Option<PathBuf>> {
    let root = std::path::absolute(root).map_err(Error::io(root, "cannot resolve the state directory"))?;
    if root.components().any(|c| c == Component::ParentDir) {
        return Err(Error::Usage(format!(
            "--state-dir {}: give a path without `..`",
            root.display()
        )));
    }
    let names: Vec<_> = root
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name),
            _ => None,
        })
        .collect();
    if names.is_empty() {
        return Err(Error::Usage("--state-dir /: give mailtls a folder of its own".into()));
    }
    let mut here = PathBuf::from("/");
    check(
        &root,
        &here,
        &open_dir(&root, &here, Place::Above)?.metadata(),
        Place::Above,
    )?;
    for (n, name) in names.iter().enumerate() {
        here.push(name);
        let place = if n + 1 == names.len() {
            Place::Inside
        } else {
            Place::Above
        };
        let Some(dir) = open_or_create(&root, &here, create, place)? else {
            return Ok(None);
        };
        let meta = dir.metadata();
        check(&root, &here, &meta, place)?;
        if place == Place::Inside && meta.as_ref().is_ok_and(|m| m.mode() & 0o077 != 0) {
            // Root-only, as mailtls creates it; through this descriptor, never a path.
            dir.set_permissions(std::fs::Permissions::from_mode(0o700))
                .map_err(Error::io(&here, "cannot restrict the state directory"))?;
        }
    }
    Ok(Some(root))
}

/// Opens (or creates) a folder the journal keeps inside the state directory.
pub fn open_inside(root: &Path, dir: &Path, create: bool) -> Result<bool> {
    match open_or_create(root, dir, create, Place::Inside)? {
        Some(file) => check(root, dir, &file.metadata(), Place::Inside).map(|()| true),
        None => Ok(false),
    }
}

/// Checks everything under `dir` (inside the state directory): no symlink,
/// nothing owned by anyone else or writable by group or others, nothing but
/// files and folders.
pub fn check_tree(root: &Path, dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(Error::io(dir, "cannot list"))?;
    for entry in entries {
        let entry = entry.map_err(Error::io(dir, "cannot list"))?;
        let path = entry.path();
        // A directory entry's metadata is lstat's: a symlink is seen as one.
        let meta = entry.metadata();
        check(root, &path, &meta, Place::Inside)?;
        let kind = meta.map_err(Error::io(&path, "cannot stat"))?.file_type();
        if kind.is_dir() {
            check_tree(root, &path)?;
        } else if !kind.is_file() {
            return Err(refuse(
                root,
                &path,
                "is neither a file nor a folder".into(),
                Place::Inside,
            ));
        }
    }
    Ok(())
}

/// Checks a file mailtls opened in the state directory (the lock).
pub fn check_file(root: &Path, path: &Path, file: &File) -> Result<()> {
    check(root, path, &file.metadata(), Place::Inside)
}

fn open_dir(root: &Path, path: &Path, place: Place) -> Result<File> {
    match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_DIRECTORY | nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(path)
    {
        Ok(dir) => Ok(dir),
        Err(_) if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) => {
            Err(refuse(root, path, "is a symbolic link".into(), place))
        }
        Err(e) => Err(Error::io(path, "cannot open")(e)),
    }
}

fn open_or_create(root: &Path, path: &Path, create: bool, place: Place) -> Result<Option<File>> {
    match open_dir(root, path, place) {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            if !create {
                return Ok(None);
            }
            match std::fs::DirBuilder::new().mode(0o700).create(path) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                    return Err(Error::io(path, "cannot create the state directory")(e))
                }
                _ => {}
            }
            // A new folder's entry is in its parent: make it last.
            if let Some(parent) = path.parent() {
                fsutil::sync_dir(parent)?;
            }
            open_dir(root, path, place).map(Some)
        }
        other => other.map(Some),
    }
}

/// Refuses what anyone but us could have changed. Folders above the state
/// directory may be root's or ours, and writable by others only when sticky
/// (/tmp): then nobody else can rename what we own in them.
fn check(root: &Path, path: &Path, meta: &std::io::Result<Metadata>, place: Place) -> Result<()> {
    let meta = meta.as_ref().map_err(|e| Error::Io {
        path: path.to_path_buf(),
        message: "cannot stat",
        source: std::io::Error::new(e.kind(), e.to_string()),
    })?;
    if meta.file_type().is_symlink() {
        return Err(refuse(root, path, "is a symbolic link".into(), place));
    }
    let euid = nix::unistd::geteuid().as_raw();
    let owner_ok = meta.uid() == euid || (place == Place::Above && meta.uid() == 0);
    if !owner_ok {
        let who = if euid == 0 {
            "root".to_string()
        } else {
            format!("uid {euid}")
        };
        return Err(refuse(
            root,
            path,
            format!("is owned by uid {}, not by {who}", meta.uid()),
            place,
        ));
    }
    let mode = meta.mode() & 0o7777;
    let sticky = mode & 0o1000 != 0 && meta.is_dir();
    if mode & 0o022 != 0 && !(place == Place::Above && sticky) {
        return Err(refuse(
            root,
            path,
            format!("is writable by group or others (mode {mode:04o})"),
            place,
        ));
    }
    Ok(())
}

fn refuse(root: &Path, path: &Path, problem: String, place: Place) -> Error {
    let fix = if !nix::unistd::geteuid().is_root() {
        "mailtls changes server configs and reloads daemons: run it as root"
    } else if problem.contains("symbolic link") && (place == Place::Above || path == root) {
        "pass the real folder as --state-dir (mailtls follows no symlink there)"
    } else if place == Place::Above {
        "pass a --state-dir whose parent folders only root can change (the default is /var/lib/mailtls)"
    } else {
        "remove it after a look inside, or pass another --state-dir (mailtls creates its own, root-only)"
    };
    let what = if path == root {
        "it".to_string()
    } else {
        path.display().to_string()
    };
    Error::State(format!(
        "refusing the state directory {}, which mailtls would trust as root: {what} {problem}; {fix}",
        root.display()
    ))
}
