//! Dovecot's config format (2.3 and 2.4): `key = value` settings, sections
//! `name [arg] {` ... `}`, `!include` and `!include_try` lines, and
//! comment lines starting with `#`. One file at a time; following includes
//! is the backend's job, because it reads the filesystem.

pub use super::SyntaxError;
use std::fmt;

/// What one line is.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Trivia,
    Setting { key: String, value: String },
    Open { name: String, arg: Option<String> },
    Close,
    Include { pattern: String, optional: bool },
}

#[derive(Clone, Debug, PartialEq)]
struct Line {
    raw: String,
    kind: Kind,
}

/// A setting or include with where it sits.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// 1-based line number in this file, as every format and error counts.
    pub line: usize,
    /// The enclosing sections, outermost first: ("protocol", Some("imap")).
    pub sections: Vec<(String, Option<String>)>,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DovecotConf {
    lines: Vec<Line>,
}

impl DovecotConf {
    pub fn parse(text: &str) -> Result<DovecotConf, SyntaxError> {
        let mut lines = Vec::new();
        let mut depth = 0usize;
        for (index, raw) in text.split_inclusive('\n').enumerate() {
            let fail = |message: String| SyntaxError {
                line: index + 1,
                message,
            };
            let t = raw.trim();
            let kind = if t.is_empty() || t.starts_with('#') {
                Kind::Trivia
            } else if t == "}" {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| fail("'}' closes no section".into()))?;
                Kind::Close
            } else if let Some(rest) = t.strip_prefix("!include_try") {
                Kind::Include {
                    pattern: rest.trim().to_string(),
                    optional: true,
                }
            } else if let Some(rest) = t.strip_prefix("!include") {
                Kind::Include {
                    pattern: rest.trim().to_string(),
                    optional: false,
                }
            } else if let Some((key, value)) = t.split_once('=').filter(|(k, _)| !k.contains('{')) {
                let key = key.trim();
                if key.is_empty() || key.contains(char::is_whitespace) {
                    return Err(fail(format!("bad setting name {key:?}")));
                }
                Kind::Setting {
                    key: key.to_string(),
                    value: value.trim().to_string(),
                }
            } else if let Some(head) = t.strip_suffix('{') {
                let mut words = head.split_whitespace();
                let name = words
                    .next()
                    .ok_or_else(|| fail("section without a name".into()))?
                    .to_string();
                let arg: Vec<&str> = words.collect();
                depth += 1;
                Kind::Open {
                    name,
                    arg: (!arg.is_empty()).then(|| arg.join(" ")),
                }
            } else {
                return Err(fail(super::syntax_message(
                    t,
                    format!("not a setting, section or include: {t:?}"),
                )));
            };
            lines.push(Line {
                raw: raw.to_string(),
                kind,
            });
        }
        if depth != 0 {
            return Err(SyntaxError {
                line: lines.len(),
                message: format!("{depth} section(s) not closed at end of file"),
            });
        }
        Ok(DovecotConf { lines })
    }

    /// Every setting and include, in order, with its sections.
    pub fn entries(&self) -> Vec<Entry> {
        let mut sections: Vec<(String, Option<String>)> = Vec::new();
        let mut out = Vec::new();
        for (index, l) in self.lines.iter().enumerate() {
            let line = index + 1;
            match &l.kind {
                Kind::Open { name, arg } => sections.push((name.clone(), arg.clone())),
                Kind::Close => {
                    sections.pop();
                }
                Kind::Setting { .. } | Kind::Include { .. } => out.push(Entry {
                    line,
                    sections: sections.clone(),
                    kind: l.kind.clone(),
                }),
                Kind::Trivia => {}
            }
        }
        out
    }

    /// The last top-level value of `key` in this file.
    pub fn get(&self, key: &str) -> Option<String> {
        self.entries().into_iter().rev().find_map(|e| match e.kind {
            Kind::Setting { key: k, value } if k == key && e.sections.is_empty() => Some(value),
            _ => None,
        })
    }

    /// Rewrites the value on one setting line (1-based), keeping its indentation and `key = ` spacing.
    pub fn set_line(&mut self, line: usize, value: &str) {
        let l = &mut self.lines[line - 1];
        let Kind::Setting { key, .. } = &l.kind else { return };
        let eq = l.raw.find('=').expect("a setting line has '='");
        let newline = if l.raw.ends_with('\n') { "\n" } else { "" };
        let space = if l.raw[eq + 1..].starts_with([' ', '\t']) {
            " "
        } else {
            ""
        };
        let key = key.clone();
        l.raw = format!("{}={space}{value}{newline}", &l.raw[..eq]);
        l.kind = Kind::Setting {
            key,
            value: value.to_string(),
        };
    }

    /// Sets a top-level `key`: its last top-level line is rewritten in place, or
    /// a line is added at the end, after `anchor` (a comment added once).
    pub fn set(&mut self, key: &str, value: &str, anchor: &str) {
        if self.get(key).as_deref() == Some(value) {
            return;
        }
        let last = self
            .entries()
            .into_iter()
            .rev()
            .find(|e| e.sections.is_empty() && matches!(&e.kind, Kind::Setting { key: k, .. } if k == key));
        if let Some(e) = last {
            self.set_line(e.line, value);
            return;
        }
        if let Some(last) = self.lines.last_mut() {
            if !last.raw.ends_with('\n') {
                last.raw.push('\n');
            }
        }
        if !self.lines.iter().any(|l| l.raw.trim_end() == anchor) {
            if self.lines.last().is_some_and(|l| !l.raw.trim().is_empty()) {
                self.lines.push(Line {
                    raw: "\n".into(),
                    kind: Kind::Trivia,
                });
            }
            self.lines.push(Line {
                raw: format!("{anchor}\n"),
                kind: Kind::Trivia,
            });
        }
        self.lines.push(Line {
            raw: format!("{key} = {value}\n"),
            kind: Kind::Setting {
                key: key.into(),
                value: value.into(),
            },
        });
    }
}

impl DovecotConf {
    /// Sets `key` inside the last top-level `name arg {` section (`protocol
    /// imap {`): its line there is rewritten in place, or a line is added
    /// before the section's `}`, indented like the section's first setting.
    /// Without such a section, one is added at the end after `anchor`.
    pub fn set_in_section(&mut self, name: &str, arg: &str, key: &str, value: &str, anchor: &str) {
        let mut depth = 0usize;
        let mut open: Option<usize> = None;
        let mut close: Option<usize> = None;
        let mut current: Option<usize> = None;
        for (i, l) in self.lines.iter().enumerate() {
            match &l.kind {
                Kind::Open { name: n, arg: a } => {
                    if depth == 0 && n == name && a.as_deref() == Some(arg) {
                        current = Some(i);
                    }
                    depth += 1;
                }
                Kind::Close => {
                    depth -= 1;
                    if depth == 0 {
                        if let Some(start) = current.take() {
                            (open, close) = (Some(start), Some(i));
                        }
                    }
                }
                _ => {}
            }
        }
        if let (Some(open), Some(close)) = (open, close) {
            let mut depth = 0usize;
            let mut found = None;
            let mut indent = None;
            for i in open + 1..close {
                match &self.lines[i].kind {
                    Kind::Open { .. } => depth += 1,
                    Kind::Close => depth -= 1,
                    Kind::Setting { key: k, .. } if depth == 0 => {
                        let raw = &self.lines[i].raw;
                        indent.get_or_insert_with(|| raw[..raw.len() - raw.trim_start().len()].to_string());
                        if k == key {
                            found = Some(i);
                        }
                    }
                    _ => {}
                }
            }
            if let Some(i) = found {
                self.set_line(i + 1, value);
                return;
            }
            let indent = indent.unwrap_or_else(|| "  ".into());
            self.lines.insert(
                close,
                Line {
                    raw: format!("{indent}{key} = {value}\n"),
                    kind: Kind::Setting {
                        key: key.into(),
                        value: value.into(),
                    },
                },
            );
            return;
        }
        // No such section yet: add one, as `set` adds a setting.
        let marker = format!("__mailtls_section_{name}_{arg}__");
        self.set(&marker, "", anchor);
        let last = self.lines.len() - 1;
        self.lines[last] = Line {
            raw: format!("{name} {arg} {{\n"),
            kind: Kind::Open {
                name: name.into(),
                arg: Some(arg.into()),
            },
        };
        self.lines.push(Line {
            raw: format!("  {key} = {value}\n"),
            kind: Kind::Setting {
                key: key.into(),
                value: value.into(),
            },
        });
        self.lines.push(Line {
            raw: "}\n".into(),
            kind: Kind::Close,
        });
    }
}

impl fmt::Display for DovecotConf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.lines.iter().try_for_each(|l| f.write_str(&l.raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_fixture_file() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dovecot-debian-12");
        let mut seen = 0;
        for dir in [root.clone(), root.join("conf.d")] {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_file() {
                    let text = std::fs::read_to_string(&path).unwrap();
                    let conf = DovecotConf::parse(&text)
                        .unwrap_or_else(|e| panic!("{}:{}: {}", path.display(), e.line, e.message));
                    assert_eq!(conf.to_string(), text, "{}", path.display());
                    seen += 1;
                }
            }
        }
        assert!(seen > 10, "read the fixture tree ({seen} files)");
    }

    #[test]
    fn sections_scope_settings_and_edits_keep_layout() {
        let text = "ssl = yes\nprotocol imap {\n  ssl_min_protocol = TLSv1\n}\nssl_min_protocol=TLSv1\n";
        let mut conf = DovecotConf::parse(text).unwrap();
        assert_eq!(conf.get("ssl_min_protocol").as_deref(), Some("TLSv1"));
        let inner = conf.entries().into_iter().find(|e| !e.sections.is_empty()).unwrap();
        assert_eq!(inner.sections, vec![("protocol".to_string(), Some("imap".to_string()))]);
        conf.set_line(inner.line, "TLSv1.2");
        conf.set("ssl_min_protocol", "TLSv1.2", "# mailtls");
        conf.set("ssl_cipher_list", "X", "# mailtls");
        assert_eq!(
            conf.to_string(),
            "ssl = yes\nprotocol imap {\n  ssl_min_protocol = TLSv1.2\n}\nssl_min_protocol=TLSv1.2\n\n# mailtls\nssl_cipher_list = X\n"
        );
    }

    #[test]
    fn settings_go_into_the_protocol_section_in_place_or_added() {
        let text = "ssl = yes\nprotocol imap {\n    mail_plugins = quota\n    ssl_min_protocol = TLSv1\n}\n";
        let mut conf = DovecotConf::parse(text).unwrap();
        conf.set_in_section("protocol", "imap", "ssl_min_protocol", "TLSv1.3", "# mailtls");
        conf.set_in_section(
            "protocol",
            "imap",
            "ssl_cipher_suites",
            "TLS_AES_256_GCM_SHA384",
            "# mailtls",
        );
        conf.set_in_section("protocol", "pop3", "ssl_min_protocol", "TLSv1", "# mailtls");
        conf.set_in_section("protocol", "pop3", "ssl_curve_list", "X25519", "# mailtls");
        assert_eq!(
            conf.to_string(),
            "ssl = yes\nprotocol imap {\n    mail_plugins = quota\n    ssl_min_protocol = TLSv1.3\n    ssl_cipher_suites = TLS_AES_256_GCM_SHA384\n}\n\n# mailtls\nprotocol pop3 {\n  ssl_min_protocol = TLSv1\n  ssl_curve_list = X25519\n}\n"
        );
        assert_eq!(DovecotConf::parse(&conf.to_string()).unwrap(), conf);
    }

    #[test]
    fn unbalanced_sections_and_junk_are_errors() {
        assert_eq!(DovecotConf::parse("a {\n").unwrap_err().line, 1);
        assert_eq!(DovecotConf::parse("}\n").unwrap_err().line, 1);
        assert_eq!(DovecotConf::parse("ssl yes\n").unwrap_err().line, 1);
    }
}
