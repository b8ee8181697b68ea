//! Cyrus IMAP's `imapd.conf`, read the way Cyrus's own parser
//! (`config_read_file` in lib/libconfig.c) reads it:
//!
//! - a physical line ending in `\` (right before the newline) continues on
//!   the next one; the backslash and the newline are dropped, and this holds
//!   for comment lines too;
//! - leading blanks are skipped; an empty line or one whose first other
//!   character is `#` is a comment (there are no comments after a value);
//! - otherwise the line is `key: value`: the key is an optional `@` then
//!   letters, digits, `-` and `_`, case-insensitive, directly followed by
//!   `:`; the value is the rest, blanks trimmed on both sides, and may not
//!   be empty; `@include: FILE` reads another file;
//! - a key given twice is fatal in Cyrus, so it is a syntax error here.
//!
//! Service-specific overrides (`imap_tls_ciphers`, where `imap` is a
//! service's name in cyrus.conf) are plain keys to this format; what they
//! mean is the backend's business. Every entry keeps its original text, so
//! `parse(s).to_string() == s`, and setting a value changes one line.

use std::fmt;

pub use super::SyntaxError;

/// What one logical line (one or more physical lines joined by `\`) is.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A blank line or a comment.
    Trivia,
    /// `key: value`; `key` lower-cased as Cyrus compares it.
    Setting { key: String, value: String },
    /// `@include: FILE`.
    Include { path: String },
}

/// One logical line with its original text.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The original text, every physical line with its newline.
    raw: String,
    /// 1-based number of its first physical line.
    pub line: usize,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ImapdConf {
    entries: Vec<Entry>,
}

impl fmt::Display for ImapdConf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.entries.iter().try_for_each(|e| f.write_str(&e.raw))
    }
}

/// Blanks as C's `isspace` sees them in the C locale.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

impl ImapdConf {
    pub fn parse(text: &str) -> Result<ImapdConf, SyntaxError> {
        let mut entries: Vec<Entry> = Vec::new();
        let mut raw = String::new();
        let mut logical = String::new();
        let mut first_line = 1;
        for (index, physical) in text.split_inclusive('\n').enumerate() {
            if raw.is_empty() {
                first_line = index + 1;
            }
            raw.push_str(physical);
            let body = physical.strip_suffix('\n');
            if let Some(continued) = body.and_then(|b| b.strip_suffix('\\')) {
                logical.push_str(continued);
                continue;
            }
            if body.is_none() && physical.ends_with('\\') {
                // Cyrus reads the backslash as part of the value here, but a
                // newline added after it would continue the line instead.
                return Err(SyntaxError {
                    line: index + 1,
                    message: "the file ends with a backslash and no newline; add a newline or remove the backslash"
                        .into(),
                });
            }
            logical.push_str(body.unwrap_or(physical));
            let kind = classify(&logical).map_err(|e| SyntaxError {
                line: index + 1,
                message: e.to_string(),
            })?;
            if let Kind::Setting { key, .. } = &kind {
                if let Some(earlier) = entries
                    .iter()
                    .find(|e| matches!(&e.kind, Kind::Setting { key: k, .. } if k == key))
                {
                    return Err(SyntaxError {
                        line: index + 1,
                        message: format!(
                            "option '{key}' was specified twice (first on line {}); Cyrus refuses that",
                            earlier.line
                        ),
                    });
                }
            }
            entries.push(Entry {
                raw: std::mem::take(&mut raw),
                line: first_line,
                kind,
            });
            logical.clear();
        }
        if !raw.is_empty() {
            // Cyrus silently drops a line continued into the end of the file;
            // anything appended after it would join it and change its meaning.
            return Err(SyntaxError {
                line: first_line,
                message: "the last line ends with a backslash, continuing into nothing (Cyrus ignores it); remove the backslash".into(),
            });
        }
        Ok(ImapdConf { entries })
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The value of `key` (any case), as Cyrus reads it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.find(key).map(|i| match &self.entries[i].kind {
            Kind::Setting { value, .. } => value.as_str(),
            _ => unreachable!("find returns settings only"),
        })
    }

    /// The 1-based line where `key` is set.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.find(key).map(|i| self.entries[i].line)
    }

    /// Every `key: value`, keys lower-cased.
    pub fn settings(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().filter_map(|e| match &e.kind {
            Kind::Setting { key, value } => Some((key.as_str(), value.as_str())),
            _ => None,
        })
    }

    fn find(&self, key: &str) -> Option<usize> {
        let key = key.to_ascii_lowercase();
        self.entries
            .iter()
            .position(|e| matches!(&e.kind, Kind::Setting { key: k, .. } if *k == key))
    }

    /// Sets `key` to `value`: on the line that sets it, keeping the key's
    /// spelling, the blanks around the value and the line ending (a value
    /// continued over several lines becomes one line); or, when it is not
    /// set, on a new line at the end, after `anchor` (a comment line, added
    /// once).
    fn set_named(&mut self, key: &str, value: &str, anchor: &str) {
        if let Some(i) = self.find(key) {
            let entry = &mut self.entries[i];
            let raw = if entry.raw.contains("\\\n") {
                // Several physical lines: rebuild one from the key as written.
                let start = entry.raw.len() - entry.raw.trim_start_matches(is_space).len();
                let colon = entry.raw[start..].find(':').map_or(start, |c| start + c);
                format!("{}: {value}\n", &entry.raw[..colon])
            } else {
                let colon = entry.raw.find(':').expect("a setting has a colon");
                let after = &entry.raw[colon + 1..];
                let lead = after.len() - after.trim_start_matches(is_space).len();
                let rest = after.trim_start_matches(is_space);
                let trail = rest.len() - rest.trim_end_matches(is_space).len();
                let (head, tail) = (&entry.raw[..colon + 1 + lead], &rest[rest.len() - trail..]);
                // A value that was all blanks cannot exist (Cyrus refuses it).
                let tail = if tail.is_empty() && entry.raw.ends_with('\n') {
                    "\n"
                } else {
                    tail
                };
                format!("{head}{value}{tail}")
            };
            entry.raw = raw;
            entry.kind = Kind::Setting {
                key: key.to_ascii_lowercase(),
                value: value.to_string(),
            };
            return;
        }
        if let Some(last) = self.entries.last_mut() {
            if !last.raw.ends_with('\n') {
                last.raw.push('\n');
            }
        }
        let next_line = self.to_string().lines().count() + 1;
        if !self
            .entries
            .iter()
            .any(|e| e.raw.lines().any(|l| l.trim_end() == anchor))
        {
            let mut text = String::new();
            if self.entries.last().is_some_and(|e| !e.raw.trim().is_empty()) {
                text.push('\n');
            }
            text.push_str(anchor);
            text.push('\n');
            let lines = text.lines().count();
            self.entries.push(Entry {
                raw: text,
                line: next_line,
                kind: Kind::Trivia,
            });
            return self.push_setting(key, value, next_line + lines);
        }
        self.push_setting(key, value, next_line);
    }

    fn push_setting(&mut self, key: &str, value: &str, line: usize) {
        self.entries.push(Entry {
            raw: format!("{key}: {value}\n"),
            line,
            kind: Kind::Setting {
                key: key.to_ascii_lowercase(),
                value: value.to_string(),
            },
        });
    }
}

/// Why Cyrus would refuse a logical line.
#[derive(Debug, thiserror::Error)]
enum LineError {
    #[error("not `key: value` (an option name is letters, digits, - and _, then a colon)")]
    NotKeyValue,
    #[error("option '{0}' has an empty value")]
    EmptyValue(String),
    #[error("unknown directive '{0}'")]
    UnknownDirective(String),
}

/// What a logical line is, or why Cyrus would refuse it.
fn classify(logical: &str) -> Result<Kind, LineError> {
    let text = logical.trim_start_matches(is_space);
    if text.is_empty() || text.starts_with('#') {
        return Ok(Kind::Trivia);
    }
    let body = text.strip_prefix('@').unwrap_or(text);
    let key_len = body.len() - body.trim_start_matches(is_key_char).len();
    let key_end = text.len() - body.len() + key_len;
    if !text[key_end..].starts_with(':') {
        return Err(LineError::NotKeyValue);
    }
    let key = text[..key_end].to_ascii_lowercase();
    let value = text[key_end + 1..].trim_matches(is_space).to_string();
    if value.is_empty() {
        return Err(LineError::EmptyValue(key));
    }
    if key.starts_with('@') {
        return if key == "@include" {
            Ok(Kind::Include { path: value })
        } else {
            Err(LineError::UnknownDirective(key))
        };
    }
    Ok(Kind::Setting { key, value })
}

impl super::SetValue for ImapdConf {
    type Key<'k> = super::Named<'k>;

    fn set(&mut self, key: super::Named<'_>, value: &str) {
        self.set_named(key.name, value, key.anchor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::{Named, SetValue};

    const ANCHOR: &str = "# added by mailtls";

    #[test]
    fn round_trip_keeps_every_byte() {
        for text in [
            "",
            "a: b",
            "a: b\n",
            "# comment \\\n  still comment\nkey:   value  \r\n\n\tindented: yes\n",
            "tls_ciphers: HIGH:\\\n!aNULL\n",
        ] {
            assert_eq!(ImapdConf::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn reads_values_as_cyrus_does() {
        let conf = ImapdConf::parse(
            "# c\\\ntls_ciphers: a comment's continuation\nTLS_Versions: tls1_2 \\\n tls1_3  \n  imap_tls_ciphers:HIGH # not a comment\n@include: /etc/x.conf\n",
        )
        .unwrap();
        assert_eq!(conf.get("tls_ciphers"), None, "a comment ending in a backslash goes on");
        assert_eq!(conf.get("tls_versions"), Some("tls1_2  tls1_3"));
        assert_eq!(conf.line_of("tls_versions"), Some(3));
        assert_eq!(conf.get("imap_tls_ciphers"), Some("HIGH # not a comment"));
        assert_eq!(conf.line_of("imap_tls_ciphers"), Some(5));
        assert!(conf.entries().iter().any(|e| e.kind
            == Kind::Include {
                path: "/etc/x.conf".into()
            }));
    }

    #[test]
    fn refuses_what_cyrus_refuses() {
        for (text, line) in [
            ("a: b\nkey value\n", 2),
            ("key : value\n", 1),
            ("key:   \n", 1),
            ("a: 1\nA: 2\n", 2),
            ("@bogus: x\n", 1),
            ("a: 1\ndangling: x\\", 2),
            ("a: 1\ndangling: x\\\n", 2),
        ] {
            assert_eq!(ImapdConf::parse(text).unwrap_err().line, line, "{text:?}");
        }
    }

    #[test]
    fn set_edits_one_line_in_place() {
        let mut conf = ImapdConf::parse("a: 1\nTLS_Ciphers:\tDEFAULT  \r\nz: 2\n").unwrap();
        conf.set(Named::new("tls_ciphers", ANCHOR), "HIGH");
        assert_eq!(conf.to_string(), "a: 1\nTLS_Ciphers:\tHIGH  \r\nz: 2\n");
        let mut conf = ImapdConf::parse("x: HIGH:\\\n  !aNULL\ny: 1\n").unwrap();
        conf.set(Named::new("x", ANCHOR), "LOW");
        assert_eq!(conf.to_string(), "x: LOW\ny: 1\n");
    }

    /// The fuzz target's property, over many small files made of the characters that matter.
    #[test]
    fn whatever_parses_round_trips_and_reads_back_an_edit() {
        let alphabet = ['a', 'k', ':', ' ', '\\', '\n', '#', '@', '\r', '\t', '_'];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let mut text = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for i in 0..(seed % 24) {
                text.push(alphabet[((seed >> (i * 2 % 60)) % alphabet.len() as u64) as usize]);
            }
            let Ok(mut conf) = ImapdConf::parse(&text) else {
                continue;
            };
            assert_eq!(conf.to_string(), text);
            for key in ["tls_versions", "k", "a"] {
                conf.set(Named::new(key, ANCHOR), "tls1_2 tls1_3");
                let again = ImapdConf::parse(&conf.to_string()).unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
                assert_eq!(
                    again.get(key),
                    Some("tls1_2 tls1_3"),
                    "{text:?} -> {:?}",
                    conf.to_string()
                );
            }
        }
    }

    #[test]
    fn set_appends_after_the_anchor_once() {
        let mut conf = ImapdConf::parse("a: 1").unwrap();
        conf.set(Named::new("tls_versions", ANCHOR), "tls1_2 tls1_3");
        conf.set(Named::new("tls_ciphers", ANCHOR), "HIGH");
        let text = conf.to_string();
        assert_eq!(
            text,
            "a: 1\n\n# added by mailtls\ntls_versions: tls1_2 tls1_3\ntls_ciphers: HIGH\n"
        );
        let again = ImapdConf::parse(&text).unwrap();
        assert_eq!(again.line_of("tls_ciphers"), Some(5));
        assert_eq!(conf.line_of("tls_ciphers"), Some(5));
    }
}
