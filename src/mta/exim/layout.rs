//! Where an Exim instance keeps its main-section settings, and which of
//! them are in effect.
//!
//! Layouts: a single config file (non-Debian, or `--config FILE`); Debian's
//! `/etc/exim4` with the split config (`conf.d/main/*`, local settings in
//! `conf.d/main/000_localmacros`) or the unsplit one (`exim4.conf.localmacros`
//! then `exim4.conf.template`), both turned into the file Exim reads by
//! `update-exim4.conf`; and a hand-written `exim4.conf` in that folder, which
//! overrides both. Evaluation follows Exim's preprocessor: macros in file
//! order, `.ifdef`/`.ifndef`/`.elifdef`/`.else`/`.endif`, and the options
//! set in the branches taken. This module reads files; it writes none.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::edit::exim_conf::{Directive, Element, EximConf, Kind};
use crate::error::{Error, Result};
use crate::mta::read_text;

/// The file Debian's `update-exim4.conf` reads its answers from.
pub const DEBIAN_ANSWERS: &str = "update-exim4.conf.conf";
pub const SPLIT_MACROS: &str = "conf.d/main/000_localmacros";
pub const UNSPLIT_MACROS: &str = "exim4.conf.localmacros";
pub const TEMPLATE: &str = "exim4.conf.template";
pub const HAND_WRITTEN: &str = "exim4.conf";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One config file holds everything.
    Single(PathBuf),
    /// Debian's config folder, split (`conf.d/`) or not (the template).
    Debian { dir: PathBuf, split: bool },
}

impl Layout {
    /// The layout of `--config PATH`: a folder like /etc/exim4, or a config file.
    pub fn of(path: &Path) -> Result<Layout> {
        if path.is_file() {
            return Ok(Layout::Single(path.to_path_buf()));
        }
        if !path.is_dir() {
            return Err(Error::Config(format!(
                "{} does not exist: --config takes an Exim config file or a Debian config folder (like /etc/exim4)",
                path.display()
            )));
        }
        if path.join(HAND_WRITTEN).is_file() {
            // A hand-written exim4.conf beats what update-exim4.conf generates.
            return Ok(Layout::Single(path.join(HAND_WRITTEN)));
        }
        let answers = path.join(DEBIAN_ANSWERS);
        if !answers.is_file() {
            return Err(Error::Config(format!(
                "{} has no {DEBIAN_ANSWERS} nor {HAND_WRITTEN}: --config takes an Exim config file or a Debian config folder (like /etc/exim4)",
                path.display()
            )));
        }
        let split = debian_answer(&read_text(&answers)?, "dc_use_split_config").is_some_and(|v| v == "true");
        Ok(Layout::Debian {
            dir: path.to_path_buf(),
            split,
        })
    }

    /// Whether a folder looks like Debian's /etc/exim4.
    pub fn looks_like_debian_dir(path: &Path) -> bool {
        path.join(DEBIAN_ANSWERS).is_file() || path.join(TEMPLATE).is_file() || path.join("conf.d/main").is_dir()
    }

    /// The file mailtls adds its settings to.
    pub fn macros_file(&self) -> PathBuf {
        match self {
            Layout::Single(file) => file.clone(),
            Layout::Debian { dir, split: true } => dir.join(SPLIT_MACROS),
            Layout::Debian { dir, split: false } => dir.join(UNSPLIT_MACROS),
        }
    }

    /// The main-section files in the order Exim reads them; a missing macros file reads as empty.
    pub fn sources(&self) -> Result<Vec<Source>> {
        let paths = match self {
            Layout::Single(file) => vec![file.clone()],
            Layout::Debian { dir, split: true } => {
                let main = dir.join("conf.d/main");
                let mut names: Vec<String> = std::fs::read_dir(&main)
                    .map_err(Error::io(&main, "cannot list"))?
                    .filter_map(|e| e.ok())
                    .filter(|e| e.path().is_file())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    // update-exim4.conf's run-parts takes names of letters, digits, `_` and `-` only.
                    .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                    .collect();
                if !names.iter().any(|n| n == "000_localmacros") {
                    names.push("000_localmacros".into());
                }
                names.sort();
                names.into_iter().map(|n| main.join(n)).collect()
            }
            Layout::Debian { dir, split: false } => vec![dir.join(UNSPLIT_MACROS), dir.join(TEMPLATE)],
        };
        paths
            .into_iter()
            .map(|path| {
                let text = if path.exists() || path != self.macros_file() {
                    read_text(&path)?
                } else {
                    String::new()
                };
                let conf: EximConf = crate::mta::parse_document("an Exim", &path, &text)?;
                Ok(Source { path, text, conf })
            })
            .collect()
    }

    /// The macros `update-exim4.conf` seeds from its answers file (Debian only).
    pub fn seeded_macros(&self) -> Result<Vec<(String, String)>> {
        let Layout::Debian { dir, .. } = self else {
            return Ok(Vec::new());
        };
        let answers = read_text(&dir.join(DEBIAN_ANSWERS))?;
        let mut out = vec![("CONFDIR".to_string(), dir.display().to_string())];
        if let Some(interfaces) = debian_answer(&answers, "dc_local_interfaces").filter(|v| !v.is_empty()) {
            let value = if interfaces.contains(';') && !interfaces.starts_with('<') {
                format!("<; {interfaces}")
            } else {
                interfaces
            };
            out.push(("MAIN_LOCAL_INTERFACES".into(), value));
        }
        Ok(out)
    }
}

/// One main-section file, read and parsed.
pub struct Source {
    pub path: PathBuf,
    pub text: String,
    pub conf: EximConf,
}

/// Where a setting in effect is, and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// Index into the sources.
    pub source: usize,
    /// The setting's id in its file (`EximConf::set_at`).
    pub id: usize,
    pub line: usize,
    /// The value as written.
    pub written: String,
    /// The value after macro expansion.
    pub value: String,
}

/// The main-section settings in effect.
#[derive(Debug, Default)]
pub struct Effective {
    /// Every active setting of each option, in reading order (Exim refuses a second one).
    pub options: BTreeMap<String, Vec<Found>>,
    /// Each macro's value, and where it was defined (`None` for a predefined one).
    pub macros: BTreeMap<String, (String, Option<Found>)>,
}

impl Effective {
    /// Follows Exim's preprocessor through the sources. `predefined` macros
    /// exist from the start; Debian's `seeded` ones appear where its template
    /// says (`UPEX4CmacrosUPEX4C`), unless already defined.
    pub fn evaluate(sources: &[Source], predefined: &[(String, String)], seeded: &[(String, String)]) -> Effective {
        let mut eff = Effective::default();
        for (name, value) in predefined {
            eff.macros.insert(name.clone(), (value.clone(), None));
        }
        for (index, source) in sources.iter().enumerate() {
            // (this branch active, a branch of this block already taken, the enclosing block active)
            let mut stack: Vec<(bool, bool, bool)> = Vec::new();
            let active = |stack: &Vec<(bool, bool, bool)>| stack.last().is_none_or(|s| s.0);
            for element in source.conf.elements() {
                match element {
                    Element::Directive { directive, .. } => {
                        let defined = |name: &str| eff.macros.contains_key(name);
                        match directive {
                            Directive::IfDef(name) | Directive::IfNDef(name) => {
                                let outer = active(&stack);
                                let test = defined(name) == matches!(directive, Directive::IfDef(_));
                                stack.push((outer && test, test, outer));
                            }
                            Directive::ElifDef(name) | Directive::ElifNDef(name) => {
                                let test = defined(name) == matches!(directive, Directive::ElifDef(_));
                                if let Some(top) = stack.last_mut() {
                                    let take = !top.1 && test;
                                    *top = (top.2 && take, top.1 || take, top.2);
                                }
                            }
                            Directive::Else => {
                                if let Some(top) = stack.last_mut() {
                                    *top = (top.2 && !top.1, true, top.2);
                                }
                            }
                            Directive::EndIf => {
                                stack.pop();
                            }
                            Directive::Include(_) | Directive::IncludeIfExists(_) => {}
                        }
                    }
                    Element::Setting {
                        id,
                        kind,
                        name,
                        value,
                        line,
                    } => {
                        if !active(&stack) {
                            continue;
                        }
                        let found = Found {
                            source: index,
                            id,
                            line,
                            value: eff.expand(&value),
                            written: value,
                        };
                        match kind {
                            Kind::Macro => {
                                if name == "UPEX4CmacrosUPEX4C" {
                                    for (seed, seed_value) in seeded {
                                        eff.macros
                                            .entry(seed.clone())
                                            .or_insert_with(|| (seed_value.clone(), None));
                                    }
                                }
                                eff.macros.insert(name.to_string(), (found.value.clone(), Some(found)));
                            }
                            Kind::Option => eff.options.entry(name.to_string()).or_default().push(found),
                            Kind::List => {}
                        }
                    }
                }
            }
        }
        eff
    }

    /// The last active setting of an option.
    pub fn option(&self, name: &str) -> Option<&Found> {
        self.options.get(name).and_then(|all| all.last())
    }

    /// An option's value in effect, macros expanded; `None` when unset.
    pub fn value(&self, name: &str) -> Option<String> {
        self.option(name).map(|f| f.value.clone())
    }

    pub fn macro_defined(&self, name: &str) -> bool {
        self.macros.contains_key(name)
    }

    /// Replaces macro names in `text` by their values, as Exim does for every line after a definition.
    pub fn expand(&self, text: &str) -> String {
        let mut out = text.to_string();
        for _ in 0..10 {
            let mut changed = false;
            let mut next = String::new();
            let mut rest = out.as_str();
            while let Some(start) = rest.find(|c: char| c.is_ascii_uppercase()) {
                let before = &rest[..start];
                let word_len = rest[start..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len() - start);
                let word = &rest[start..start + word_len];
                let glued = before.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
                next.push_str(before);
                match self.macros.get(word) {
                    Some((value, _)) if !glued => {
                        next.push_str(value);
                        changed = true;
                    }
                    _ => next.push_str(word),
                }
                rest = &rest[start + word_len..];
            }
            next.push_str(rest);
            out = next;
            if !changed {
                break;
            }
        }
        out
    }
}

/// A value from Debian's answers file (`name='value'`).
pub fn debian_answer(text: &str, name: &str) -> Option<String> {
    text.lines().rev().find_map(|line| {
        let (key, value) = line.trim().split_once('=')?;
        (key.trim() == name).then(|| value.trim().trim_matches(['\'', '"']).to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
    }

    fn effective(layout: &Layout) -> Effective {
        let predefined = [
            ("_HAVE_GNUTLS".to_string(), "1".to_string()),
            ("_HAVE_TLS".into(), "1".into()),
        ];
        Effective::evaluate(
            &layout.sources().unwrap(),
            &predefined,
            &layout.seeded_macros().unwrap(),
        )
    }

    #[test]
    fn debian_layouts_are_told_apart_and_evaluate_alike() {
        let split = Layout::of(&fixture("exim-debian-12-split")).unwrap();
        let unsplit = Layout::of(&fixture("exim-debian-12-unsplit")).unwrap();
        assert!(matches!(split, Layout::Debian { split: true, .. }));
        assert!(matches!(unsplit, Layout::Debian { split: false, .. }));
        for layout in [split, unsplit] {
            let eff = effective(&layout);
            assert_eq!(eff.value("local_interfaces").as_deref(), Some("<; 127.0.0.1 ; ::1"));
            assert!(!eff.macro_defined("MAIN_TLS_ENABLE"));
            assert_eq!(eff.value("tls_certificate"), None, "TLS is off in stock Debian");
            assert_eq!(eff.value("exim_path").as_deref(), Some("/usr/sbin/exim4"));
        }
    }

    #[test]
    fn conditionals_pick_the_branch_for_the_library() {
        let single = Layout::of(&fixture("exim-upstream/exim.conf")).unwrap();
        let sources = single.sources().unwrap();
        let gnutls = Effective::evaluate(&sources, &[("_HAVE_GNUTLS".into(), "1".into())], &[]);
        assert_eq!(gnutls.value("tls_require_ciphers"), None);
        let openssl = Effective::evaluate(&sources, &[("_HAVE_OPENSSL".into(), "1".into())], &[]);
        assert_eq!(
            openssl.value("tls_require_ciphers").as_deref(),
            Some("ECDSA:RSA:!COMPLEMENTOFDEFAULT")
        );
    }

    #[test]
    fn elif_and_else_take_one_branch() {
        let conf = EximConf::parse(".ifdef A\nx = 1\n.elifdef B\nx = 2\n.else\nx = 3\n.endif\n").unwrap();
        let source = |conf: &EximConf| Source {
            path: "t".into(),
            text: String::new(),
            conf: conf.clone(),
        };
        let with = |names: &[&str]| {
            let pre: Vec<(String, String)> = names.iter().map(|n| (n.to_string(), "1".to_string())).collect();
            Effective::evaluate(&[source(&conf)], &pre, &[]).value("x")
        };
        assert_eq!(with(&["A", "B"]).as_deref(), Some("1"));
        assert_eq!(with(&["B"]).as_deref(), Some("2"));
        assert_eq!(with(&[]).as_deref(), Some("3"));
    }
}
