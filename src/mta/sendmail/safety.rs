//! Sendmail's file safety rules for its certificate and key. When a file or
//! a directory above it is "unsafe", Sendmail logs one line
//! ("STARTTLS=server: file ... unsafe: World writable directory") and then
//! silently stops offering STARTTLS. mailtls checks the same modes first and
//! says what to chmod. `DontBlameSendmail` relaxes the rules: `TrustStickyBit`
//! accepts sticky world-writable directories (like /tmp),
//! `GroupWritableDirPathSafe` group-writable ones, `GroupReadableKeyFile` a
//! key its group may read (Debian's starttls.m4 sets it).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The `DontBlameSendmail` flags that matter here.
#[derive(Clone, Copy, Debug, Default)]
pub struct Relaxed {
    trust_sticky_bit: bool,
    group_writable_dirs: bool,
    group_readable_key: bool,
}

impl Relaxed {
    /// From the value of `O DontBlameSendmail=` (comma- or space-separated, case-insensitive).
    pub fn from_option(value: Option<&str>) -> Relaxed {
        let flags: Vec<String> = value
            .unwrap_or("")
            .split([',', ' '])
            .map(|f| f.trim().to_ascii_lowercase())
            .collect();
        let has = |f: &str| flags.iter().any(|x| x == f);
        Relaxed {
            trust_sticky_bit: has("truststickybit"),
            group_writable_dirs: has("groupwritabledirpathsafe"),
            group_readable_key: has("groupreadablekeyfile"),
        }
    }
}

/// What is unsafe about a certificate (and its key), each problem with the
/// command that fixes it. Empty when Sendmail will use them.
pub fn problems(cert: &Path, key: &Path, relaxed: Relaxed) -> Vec<String> {
    let mut out = Vec::new();
    for (file, is_key) in [(cert, false), (key, true)] {
        let Ok(meta) = std::fs::metadata(file) else {
            continue;
        };
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 {
            out.push(format!(
                "{} is group/world writable (mode {mode:o}): chmod go-w {}",
                file.display(),
                file.display()
            ));
        }
        if is_key {
            let loose = if relaxed.group_readable_key { 0o004 } else { 0o044 };
            if mode & loose != 0 {
                out.push(format!(
                    "key {} is readable by others (mode {mode:o}): chmod 600 {}",
                    file.display(),
                    file.display()
                ));
            }
        }
        for dir in file.ancestors().skip(1) {
            let Ok(meta) = std::fs::metadata(dir) else { continue };
            let mode = meta.mode() & 0o7777;
            let sticky = mode & 0o1000 != 0 && relaxed.trust_sticky_bit;
            if mode & 0o002 != 0 && !sticky {
                out.push(format!(
                    "directory {} is world writable (mode {mode:o}): chmod o-w {}",
                    dir.display(),
                    dir.display()
                ));
            } else if mode & 0o020 != 0 && !sticky && !relaxed.group_writable_dirs {
                out.push(format!(
                    "directory {} is group writable (mode {mode:o}): chmod g-w {}",
                    dir.display(),
                    dir.display()
                ));
            }
        }
    }
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_world_writable_directory_and_a_readable_key_are_unsafe() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("tls");
        std::fs::create_dir(&sub).unwrap();
        let (cert, key) = (sub.join("c.pem"), sub.join("k.pem"));
        std::fs::write(&cert, "").unwrap();
        std::fs::write(&key, "").unwrap();
        let chmod = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
        chmod(&cert, 0o644);
        chmod(&key, 0o600);
        chmod(dir.path(), 0o700);
        chmod(&sub, 0o755);
        // The temporary folder's parent is /tmp (sticky, world writable).
        let relaxed = Relaxed::from_option(Some("TrustStickyBit"));
        assert!(
            problems(&cert, &key, relaxed).is_empty(),
            "{:?}",
            problems(&cert, &key, relaxed)
        );
        chmod(&sub, 0o777);
        chmod(&key, 0o640);
        let found = problems(&cert, &key, relaxed);
        assert!(found
            .iter()
            .any(|p| p.contains("world writable") && p.contains("chmod o-w")));
        assert!(found.iter().any(|p| p.contains("chmod 600")));
        let debian = Relaxed::from_option(Some("TrustStickyBit,GroupReadableKeyFile"));
        assert!(!problems(&cert, &key, debian).iter().any(|p| p.contains("chmod 600")));
    }
}
