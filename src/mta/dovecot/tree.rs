//! A Dovecot configuration as the daemon reads it: the main file and every
//! file it includes (`!include`, `!include_try`, with `*` globs), in order,
//! flattened so that "the last setting wins" can be answered.

use std::path::{Path, PathBuf};

use crate::edit::dovecot_conf::{DovecotConf, Entry, Kind};
use crate::error::{Error, Result};
use crate::mta::read_text;

pub struct ConfFile {
    pub path: PathBuf,
    pub text: String,
    pub conf: DovecotConf,
}

/// A setting's place: which file, and the entry in it.
#[derive(Clone, Debug)]
pub struct Placed {
    pub file: usize,
    pub entry: Entry,
}

impl Placed {
    pub fn setting(&self) -> Option<(&str, &str)> {
        match &self.entry.kind {
            Kind::Setting { key, value } => Some((key, value)),
            _ => None,
        }
    }
}

pub struct ConfTree {
    pub files: Vec<ConfFile>,
    /// Every setting in read order, includes expanded in place.
    pub flat: Vec<Placed>,
}

impl ConfTree {
    pub fn load(main: &Path) -> Result<ConfTree> {
        let mut tree = ConfTree {
            files: Vec::new(),
            flat: Vec::new(),
        };
        tree.read(main, 0)?;
        Ok(tree)
    }

    fn read(&mut self, path: &Path, depth: usize) -> Result<()> {
        if depth > 16 {
            return Err(Error::Config(format!(
                "{}: includes nest deeper than 16 levels",
                path.display()
            )));
        }
        let text = read_text(path)?;
        let conf: DovecotConf = crate::mta::parse_document("a Dovecot", path, &text)?;
        let index = self.files.len();
        let entries = conf.entries();
        self.files.push(ConfFile {
            path: path.to_path_buf(),
            text,
            conf,
        });
        let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        for entry in entries {
            if let Kind::Include { pattern, optional } = &entry.kind {
                let matches = expand_glob(&dir, pattern);
                if matches.is_empty() && !optional && !pattern.contains('*') {
                    return Err(Error::Config(format!(
                        "{}:{}: included file {pattern} does not exist",
                        path.display(),
                        entry.line
                    )));
                }
                for file in matches {
                    self.read(&file, depth + 1)?;
                }
            } else {
                self.flat.push(Placed { file: index, entry });
            }
        }
        Ok(())
    }

    /// The top-level setting of `key` in effect, with where it is.
    pub fn global(&self, key: &str) -> Option<(&Placed, String)> {
        self.flat.iter().rev().find_map(|p| match p.setting() {
            Some((k, v)) if k == key && p.entry.sections.is_empty() => Some((p, v.to_string())),
            _ => None,
        })
    }

    pub fn global_value(&self, key: &str) -> Option<String> {
        self.global(key).map(|(_, v)| v)
    }

    /// `protocols`, with `$protocols` expanded as Dovecot does while reading.
    pub fn protocols(&self) -> Vec<String> {
        let mut current: Vec<String> = vec!["imap".into(), "pop3".into(), "lmtp".into()];
        for p in &self.flat {
            if let Some(("protocols", value)) = p.setting().filter(|_| p.entry.sections.is_empty()) {
                let mut next = Vec::new();
                for word in value.split_whitespace() {
                    if word == "$protocols" {
                        next.extend(current.iter().cloned());
                    } else {
                        next.push(word.to_string());
                    }
                }
                current = next;
            }
        }
        current
    }
}

/// `dir/conf.d/*.conf` and friends: `*` in the last component only, sorted as Dovecot sorts.
fn expand_glob(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let full = if pattern.starts_with('/') {
        PathBuf::from(pattern)
    } else {
        dir.join(pattern)
    };
    let name = full.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
    if !name.contains('*') {
        return if full.is_file() { vec![full] } else { Vec::new() };
    }
    let parent = full.parent().unwrap_or(Path::new("/"));
    let (prefix, suffix) = name.split_once('*').unwrap_or((&name, ""));
    let mut found: Vec<PathBuf> = std::fs::read_dir(parent)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .filter(|p| {
                    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                        n.len() >= prefix.len() + suffix.len() && n.starts_with(prefix) && n.ends_with(suffix)
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}
