//! Writing files so that a crash leaves either the old or the new content:
//! temp file in the same directory, fsync, rename, fsync the directory, with
//! the original mode and ownership kept.

use std::fs::{File, Permissions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
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

/// Replaces `path` with `contents` atomically, giving it `owner`.
pub fn replace(path: &Path, contents: &[u8], owner: Ownership) -> Result<()> {
    let target = real_path(path).or_else(|_| Ok::<_, Error>(path.to_path_buf()))?;
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

/// Writes a new private file (mode 0600), atomically.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let owner = Ownership {
        mode: 0o600,
        uid: nix::unistd::geteuid().as_raw(),
        gid: nix::unistd::getegid().as_raw(),
    };
    replace(path, contents, owner)
}

pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(dir, "cannot sync the directory"))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::cert::hex(&Sha256::digest(bytes))
}
