//! Which logs to read for a server: the file its config names (Postfix's
//! `maillog_file`, Exim's `log_file_path`, Dovecot's `log_path`), else the
//! usual syslog files, else the systemd journal. Every file comes with its
//! rotated copies (`mail.log.1`, `mail.log.2.gz`, `maillog-20261101`).

use std::path::{Path, PathBuf};

/// Where lines come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A plain, gzipped or journal-exported file (told apart by their first bytes), or a FIFO.
    File(PathBuf),
    /// The systemd journal, read with `journalctl -o short-iso` and these matches.
    Journal(Vec<String>),
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Journal(m) => format!("journalctl {}", m.join(" ")),
        }
    }
}

/// Where one server writes its log, as its config says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Located {
    /// Files the config names.
    pub files: Vec<PathBuf>,
    /// The server logs through syslog (or its config names no file).
    pub syslog: bool,
    /// What selects its lines in the journal (`SYSLOG_FACILITY=2`, `_SYSTEMD_UNIT=dovecot.service`; any of them).
    pub journal: Vec<String>,
}

/// The syslog files mail goes to on Debian (`mail.log`), RHEL (`maillog`), and the catch-alls.
const SYSLOG_FILES: &[&str] = &[
    "/var/log/mail.log",
    "/var/log/maillog",
    "/var/log/syslog",
    "/var/log/messages",
];

/// The sources for a set of servers, without duplicates (one journal read
/// for every server that logs there).
pub fn sources(located: &[Located], since: Option<i64>) -> Vec<Source> {
    let mut out: Vec<Source> = Vec::new();
    let mut journal: Vec<String> = Vec::new();
    let push = |s: Source, out: &mut Vec<Source>| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    for l in located {
        for file in &l.files {
            for f in with_rotated(file, since) {
                push(Source::File(f), &mut out);
            }
        }
        if !l.syslog {
            continue;
        }
        // The mail file when there is one; the catch-alls only when there is none.
        let syslog = SYSLOG_FILES.iter().map(Path::new).filter(|p| p.is_file()).take(1);
        let mut any = false;
        for file in syslog {
            any = true;
            for f in with_rotated(file, since) {
                push(Source::File(f), &mut out);
            }
        }
        if !any && journal_available() {
            for m in &l.journal {
                if !journal.contains(m) {
                    journal.push(m.clone());
                }
            }
        }
    }
    if !journal.is_empty() {
        // journalctl ORs matches separated by "+".
        let matches = journal.iter().enumerate().flat_map(|(i, m)| {
            let plus = (i > 0).then(|| "+".to_string());
            plus.into_iter().chain([m.clone()])
        });
        out.push(Source::Journal(matches.collect()));
    }
    out
}

fn journal_available() -> bool {
    crate::mta::find_program("journalctl").is_some()
        && (Path::new("/run/systemd/system").is_dir() || Path::new("/var/log/journal").is_dir())
}

/// A log file and its rotated copies, newest first; copies last written
/// before `since` are left out (nothing in them is recent enough).
pub fn with_rotated(path: &Path, since: Option<i64>) -> Vec<PathBuf> {
    let mut out = vec![path.to_path_buf()];
    let (Some(dir), Some(base)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return out;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut rotated: Vec<(u64, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let rest = name.strip_prefix(base)?;
            let rest = rest.strip_suffix(".gz").unwrap_or(rest);
            let number = rest.strip_prefix('.').or_else(|| rest.strip_prefix('-'))?;
            let n: u64 = number.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    // mail.log.1 before mail.log.2; maillog-20261101 (a date) newest first as well.
    rotated.sort_by_key(|(n, _)| if *n > 1_000_000 { u64::MAX - n } else { *n });
    out.extend(
        rotated
            .into_iter()
            .map(|(_, p)| p)
            .filter(|p| since.is_none_or(|s| modified(p).is_none_or(|m| m >= s))),
    );
    out
}

fn modified(path: &Path) -> Option<i64> {
    let m = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(m.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_copies_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "mail.log",
            "mail.log.1",
            "mail.log.2.gz",
            "mail.log.10.gz",
            "mail.log.bak",
            "mail.err",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let names: Vec<String> = with_rotated(&dir.path().join("mail.log"), None)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["mail.log", "mail.log.1", "mail.log.2.gz", "mail.log.10.gz"]);
        assert_eq!(with_rotated(&dir.path().join("mail.log"), Some(i64::MAX)).len(), 1);
    }
}
