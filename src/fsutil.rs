//! Writing files so that a crash leaves either the old or the new content:
//! temp file in the same directory, fsync, rename, fsync the directory, with
//! the original mode and ownership kept.

use std::fs::{File, Permissions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A file's mode and ownership, as recorded in a backup manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Ownership {
    pub fn of(path: &Path) -> Result<Ownership> {
        let meta = std::fs::metadata(path).map_err(Error::io(path, "cannot stat"))?;
        Ok(Ownership {
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
        })
    }
}

impl Ownership {
    /// A new config file: readable by all (as config files are), owned like its directory.
    pub fn for_new_file_in(dir: &Path) -> Result<Ownership> {
        let meta = std::fs::metadata(dir).map_err(Error::io(dir, "cannot stat"))?;
        Ok(Ownership {
            mode: 0o644,
            uid: meta.uid(),
            gid: meta.gid(),
        })
    }
}

/// The file a path really names: symlinks are followed so that a linked
/// config is edited where it lives, and the link stays a link.
pub fn real_path(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(Error::io(path, "cannot resolve"))
}

/// The file `path` names once every symlink is followed (the path itself for
/// a file that does not exist yet, under its resolved folder): what a write
/// to `path` really changes. Apply records it before the first write and
/// refuses when it no longer matches, so a config swapped for a symlink
/// between plan and write is never written through.
pub fn target_of(path: &Path) -> Result<PathBuf> {
    match std::fs::canonicalize(path) {
        Ok(real) => Ok(real),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
                return Err(Error::Config(format!("{} has no parent directory", path.display())));
            };
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            Ok(real_path(dir)?.join(name))
        }
        Err(e) => Err(Error::io(path, "cannot resolve")(e)),
    }
}

/// Replaces the file at `target` itself (a resolved path, see `target_of`):
/// the rename replaces whatever entry is there and follows no symlink.
pub fn replace_exact(target: &Path, contents: &[u8], owner: Ownership) -> Result<()> {
    let target = target.to_path_buf();
    let dir = target
        .parent()
        .ok_or_else(|| Error::Config(format!("{} has no parent directory", target.display())))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".mailtls-")
        .tempfile_in(dir)
        .map_err(Error::io(dir, "cannot create a temporary file in"))?;
    let write = |file: &mut File| -> std::io::Result<()> {
        file.write_all(contents)?;
        file.set_permissions(Permissions::from_mode(owner.mode))?;
        std::os::unix::fs::fchown(&*file, Some(owner.uid), Some(owner.gid))?;
        file.sync_all()
    };
    write(temp.as_file_mut()).map_err(Error::io(&target, "cannot write the new version of"))?;
    copy_xattrs(&target, temp.path()).map_err(Error::io(
        &target,
        "cannot copy the extended attributes (SELinux label...) of",
    ))?;
    temp.persist(&target).map_err(|e| Error::Io {
        path: target.clone(),
        message: "cannot rename the new version onto",
        source: e.error,
    })?;
    sync_dir(dir)
}

/// Reads a file without following a symlink in its last component.
pub fn read_nofollow(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = open_nofollow(path)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut bytes)?;
    Ok(bytes)
}

/// Opens for reading; a symlink in the last component fails (ELOOP).
pub fn open_nofollow(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(path)
}

/// Gives the new file the extended attributes of the one it replaces
/// (SELinux labels, ACLs, user attributes), as `cp --preserve=xattr` would.
fn copy_xattrs(from: &Path, to: &Path) -> std::io::Result<()> {
    let names = match xattr::list(from) {
        Ok(names) => names,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if e.raw_os_error() == Some(nix::libc::ENOTSUP) => return Ok(()),
        Err(e) => return Err(e),
    };
    for name in names {
        if let Some(value) = xattr::get(from, &name)? {
            xattr::set(to, &name, &value)?;
        }
    }
    Ok(())
}

/// Writes a private file (mode 0600, owned by us) atomically, onto `path`
/// itself: a symlink there is replaced, never followed.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::Config(format!("{} has no parent directory", path.display())))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".mailtls-")
        .tempfile_in(dir)
        .map_err(Error::io(dir, "cannot create a temporary file in"))?;
    let write = |file: &mut File| -> std::io::Result<()> {
        file.set_permissions(Permissions::from_mode(0o600))?;
        file.write_all(contents)?;
        file.sync_all()
    };
    write(temp.as_file_mut()).map_err(Error::io(path, "cannot write"))?;
    temp.persist(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        message: "cannot rename the new version onto",
        source: e.error,
    })?;
    sync_dir(dir)
}

/// Flushes a folder's entries (a rename or a new file in it) to disk.
pub fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_DIRECTORY | nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(dir, "cannot sync the directory"))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::cert::hex(&Sha256::digest(bytes))
}
