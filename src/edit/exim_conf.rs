//! An Exim configuration file, main section: `name = value` options,
//! `MACRO = value` definitions, named lists (`domainlist name = value`),
//! bare booleans (`name`, `no_name`), `.ifdef`/`.include` directives, comment
//! and blank lines, and backslash continuations (comment lines may sit in
//! the middle of one). Everything from the first `begin` line on is kept as
//! text. Which setting is in effect (conditionals, macros, several files)
//! is the Exim backend's business; this file only reads and edits lines.

pub use super::SyntaxError;
use std::fmt;

/// What a setting line defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `name = value`, or a bare boolean (`name`, `no_name`, `not_name`).
    Option,
    /// `NAME = value` (or `NAME == value`, which may redefine).
    Macro,
    /// `domainlist name = value` and the other named lists.
    List,
}

/// A preprocessor line: `.ifdef NAME`, `.endif`, `.include PATH`...
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Directive {
    IfDef(String),
    IfNDef(String),
    ElifDef(String),
    ElifNDef(String),
    Else,
    EndIf,
    Include(String),
    IncludeIfExists(String),
}

#[derive(Clone, Debug, PartialEq)]
struct Setting {
    kind: Kind,
    name: String,
    /// 1-based line of the setting's first line.
    line: usize,
    /// The text before the value on the first line (`name = `), empty for a bare boolean.
    lead: String,
    /// The whole text, continuation lines and final newline included.
    raw: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Item {
    Trivia(String),
    Directive {
        directive: Directive,
        line: usize,
        raw: String,
    },
    Setting(Setting),
    /// The other sections, from the first `begin` line to the end, as they are.
    Rest(String),
}

/// One element of the main section, in file order, for evaluation.
#[derive(Clone, Debug, PartialEq)]
pub enum Element<'a> {
    Directive {
        directive: &'a Directive,
        line: usize,
    },
    Setting {
        /// Identifies the setting for `set_at`.
        id: usize,
        kind: Kind,
        name: &'a str,
        /// The value as Exim reads it, before macro expansion (`true` for a bare `name`, `false` for `no_name`).
        value: String,
        line: usize,
    },
}

/// A parsed Exim configuration file.
#[derive(Clone, Debug, PartialEq)]
pub struct EximConf {
    items: Vec<Item>,
}

const LIST_KEYWORDS: [&str; 4] = ["domainlist", "hostlist", "addresslist", "localpartlist"];

impl EximConf {
    pub fn parse(text: &str) -> Result<EximConf, SyntaxError> {
        let mut items: Vec<Item> = Vec::new();
        let mut offset = 0;
        let mut lines = text.split_inclusive('\n').enumerate().peekable();
        while let Some((index, line)) = lines.next() {
            let number = index + 1;
            let trimmed = line.trim();
            if is_begin(trimmed) {
                items.push(Item::Rest(text[offset..].to_string()));
                return Ok(EximConf { items });
            }
            offset += line.len();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                items.push(Item::Trivia(line.to_string()));
                continue;
            }
            // A logical line: physical lines joined while one ends with a backslash.
            let mut raw = line.to_string();
            let mut pending = ends_with_backslash(line);
            while pending {
                match lines.peek() {
                    Some((_, next)) if !next.trim().is_empty() => {
                        if !next.trim_start().starts_with('#') {
                            pending = ends_with_backslash(next);
                        }
                        offset += next.len();
                        raw.push_str(next);
                        lines.next();
                    }
                    _ => break,
                }
            }
            if let Some(rest) = trimmed.strip_prefix('.') {
                let directive = directive(rest).ok_or_else(|| SyntaxError {
                    line: number,
                    message: format!(
                        "unknown directive {:?}",
                        trimmed.split_whitespace().next().unwrap_or("")
                    ),
                })?;
                items.push(Item::Directive {
                    directive,
                    line: number,
                    raw,
                });
                continue;
            }
            items.push(Item::Setting(setting(&raw, number)?));
        }
        Ok(EximConf { items })
    }

    /// The main section's directives and settings, in file order.
    pub fn elements(&self) -> Vec<Element<'_>> {
        self.items
            .iter()
            .enumerate()
            .filter_map(|(id, item)| match item {
                Item::Directive { directive, line, .. } => Some(Element::Directive { directive, line: *line }),
                Item::Setting(s) => Some(Element::Setting {
                    id,
                    kind: s.kind,
                    name: &s.name,
                    value: s.value(),
                    line: s.line,
                }),
                Item::Trivia(_) | Item::Rest(_) => None,
            })
            .collect()
    }

    /// The value of the last unconditional-or-not setting of `name` in this file.
    pub fn get(&self, name: &str) -> Option<String> {
        self.elements().into_iter().rev().find_map(|e| match e {
            Element::Setting { name: n, value, .. } if n == name => Some(value),
            _ => None,
        })
    }

    /// Rewrites the value of the setting `id` (from `elements`), keeping its `name = ` spacing.
    fn set_at(&mut self, id: usize, value: &str) {
        let Some(Item::Setting(s)) = self.items.get_mut(id) else {
            panic!("set_at: item {id} is not a setting");
        };
        if s.value() == value {
            return;
        }
        if s.lead.is_empty() {
            // A bare boolean becomes `name = value`.
            let name = s
                .raw
                .trim()
                .trim_start_matches("no_")
                .trim_start_matches("not_")
                .to_string();
            s.name = name.clone();
            s.lead = format!("{name} = ");
        } else if s.lead.ends_with('=') {
            s.lead.push(' ');
        }
        let newline = if s.raw.ends_with('\n') { "\n" } else { "" };
        s.raw = format!("{}{value}{newline}", s.lead);
    }

    /// Adds `name = value` at the top level of the main section: after its
    /// last setting or directive outside any conditional, under `anchor` (a
    /// comment line added once), before the first `begin`.
    pub fn append(&mut self, kind: Kind, name: &str, value: &str, anchor: &str) {
        let anchor_at = self
            .items
            .iter()
            .position(|i| matches!(i, Item::Trivia(t) if t.trim_end() == anchor));
        let at = match anchor_at {
            Some(a) => {
                // After the anchor's block of settings.
                let mut end = a + 1;
                while matches!(self.items.get(end), Some(Item::Setting(_))) {
                    end += 1;
                }
                end
            }
            None => self.top_level_end(),
        };
        let setting = Setting {
            kind,
            name: name.to_string(),
            line: 0,
            lead: format!("{name} = "),
            raw: format!("{name} = {value}\n"),
        };
        if anchor_at.is_some() {
            self.items.insert(at, Item::Setting(setting));
            return;
        }
        if at > 0 {
            if let Some(Item::Setting(Setting { raw, .. }) | Item::Trivia(raw) | Item::Directive { raw, .. }) =
                self.items.get_mut(at - 1)
            {
                if !raw.ends_with('\n') {
                    raw.push('\n');
                }
            }
        }
        let mut block = Vec::new();
        let blank_before = at == 0 || matches!(&self.items[at - 1], Item::Trivia(t) if t.trim().is_empty());
        if !blank_before {
            block.push(Item::Trivia("\n".into()));
        }
        block.push(Item::Trivia(format!("{anchor}\n")));
        block.push(Item::Setting(setting));
        let next_is_blank = matches!(self.items.get(at), Some(Item::Trivia(t)) if t.trim().is_empty());
        if at < self.items.len() && !next_is_blank {
            block.push(Item::Trivia("\n".into()));
        }
        self.items.splice(at..at, block);
    }

    /// Where a new top-level setting goes: after the last setting or
    /// directive that leaves the main section outside every conditional.
    fn top_level_end(&self) -> usize {
        let mut depth = 0usize;
        let mut end = 0;
        for (index, item) in self.items.iter().enumerate() {
            match item {
                Item::Directive { directive, .. } => {
                    match directive {
                        Directive::IfDef(_) | Directive::IfNDef(_) => depth += 1,
                        Directive::EndIf => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    if depth == 0 {
                        end = index + 1;
                    }
                }
                Item::Setting(_) if depth == 0 => end = index + 1,
                Item::Rest(_) => return if end == 0 { index } else { end },
                _ => {}
            }
        }
        if end == 0 {
            self.items.len()
        } else {
            end
        }
    }
}

impl Setting {
    /// The value as Exim reads it: continuation lines joined with their
    /// leading white space dropped, comment lines inside them skipped.
    fn value(&self) -> String {
        if self.lead.is_empty() {
            let word = self.raw.trim();
            return if word.starts_with("no_") || word.starts_with("not_") {
                "false".into()
            } else {
                "true".into()
            };
        }
        let mut value = String::new();
        for (n, line) in self.raw[self.lead.len()..].split('\n').enumerate() {
            let line = if n == 0 { line } else { line.trim_start() };
            if n > 0 && line.starts_with('#') {
                continue;
            }
            let line = line.trim_end();
            match line.strip_suffix('\\') {
                Some(head) => value.push_str(head),
                None => value.push_str(line),
            }
        }
        value.trim().to_string()
    }
}

fn is_begin(trimmed: &str) -> bool {
    let mut words = trimmed.split_whitespace();
    words.next() == Some("begin") && words.next().is_some()
}

fn ends_with_backslash(line: &str) -> bool {
    line.trim_end().ends_with('\\')
}

fn directive(rest: &str) -> Option<Directive> {
    let (word, arg) = rest
        .trim()
        .split_once(char::is_whitespace)
        .map(|(w, a)| (w, a.trim().to_string()))
        .unwrap_or((rest.trim(), String::new()));
    Some(match word {
        "ifdef" => Directive::IfDef(arg),
        "ifndef" => Directive::IfNDef(arg),
        "elifdef" => Directive::ElifDef(arg),
        "elifndef" => Directive::ElifNDef(arg),
        "else" => Directive::Else,
        "endif" => Directive::EndIf,
        "include" => Directive::Include(arg),
        "include_if_exists" => Directive::IncludeIfExists(arg),
        _ => return None,
    })
}

fn setting(raw: &str, line: usize) -> Result<Setting, SyntaxError> {
    let fail = |message: String| SyntaxError { line, message };
    let first = raw.split('\n').next().unwrap_or("");
    let Some(eq) = first.find('=') else {
        let word = first.trim();
        if is_option_name(word) {
            return Ok(Setting {
                kind: Kind::Option,
                name: word.trim_start_matches("no_").trim_start_matches("not_").to_string(),
                line,
                lead: String::new(),
                raw: raw.to_string(),
            });
        }
        return Err(fail(format!("expected `name = value`, found {word:?}")));
    };
    let head = first[..eq].trim();
    // `NAME == value` redefines a macro.
    let after = if first[eq + 1..].starts_with('=') {
        eq + 2
    } else {
        eq + 1
    };
    let value_start = after + (first[after..].len() - first[after..].trim_start_matches([' ', '\t']).len());
    let words: Vec<&str> = head.split_whitespace().collect();
    let (kind, name) = match words.as_slice() {
        [name] if is_macro_name(name) => (Kind::Macro, *name),
        [name] if is_option_name(name) => (Kind::Option, *name),
        ["hide", name] if is_option_name(name) => (Kind::Option, *name),
        [keyword, name] if LIST_KEYWORDS.contains(&keyword.trim_end_matches("_cache")) && is_option_name(name) => {
            (Kind::List, *name)
        }
        _ => return Err(fail(format!("bad option or macro name {head:?}"))),
    };
    Ok(Setting {
        kind,
        name: name.to_string(),
        line,
        lead: first[..value_start].to_string(),
        raw: raw.to_string(),
    })
}

fn is_macro_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_option_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl fmt::Display for EximConf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in &self.items {
            match item {
                Item::Trivia(t) | Item::Rest(t) => f.write_str(t)?,
                Item::Directive { raw, .. } => f.write_str(raw)?,
                Item::Setting(s) => f.write_str(&s.raw)?,
            }
        }
        Ok(())
    }
}

/// An Exim setting is named by its id from `elements`.
impl super::SetValue for EximConf {
    type Key<'k> = usize;

    fn set(&mut self, id: usize, value: &str) {
        self.set_at(id, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANCHOR: &str = "# added by mailtls";

    fn fixture_files() -> Vec<std::path::PathBuf> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut out = Vec::new();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.to_string_lossy().to_string();
                if path.is_dir() {
                    stack.push(path);
                } else if name.contains("/conf.d/main/") || name.ends_with(".template") || name.ends_with("/exim.conf")
                {
                    out.push(path);
                }
            }
        }
        out
    }

    #[test]
    fn round_trips_every_fixture() {
        let files = fixture_files();
        assert!(files.len() >= 8, "exim fixtures are present: {files:?}");
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            let parsed =
                EximConf::parse(&text).unwrap_or_else(|e| panic!("{}:{}: {}", path.display(), e.line, e.message));
            assert_eq!(parsed.to_string(), text, "{}", path.display());
        }
    }

    #[test]
    fn continuations_and_comments_inside_them_make_one_value() {
        let conf = EximConf::parse("A = one \\\n   two\\\n# note\n   three\nb = x\n").unwrap();
        assert_eq!(conf.get("A").as_deref(), Some("one twothree"));
        assert_eq!(conf.get("b").as_deref(), Some("x"));
    }

    #[test]
    fn set_at_rewrites_one_setting_whole() {
        let mut conf = EximConf::parse("x = 1\nlist = a : \\\n  b\n# after\n").unwrap();
        let id = conf
            .elements()
            .iter()
            .find_map(|e| match e {
                Element::Setting { id, name: "list", .. } => Some(*id),
                _ => None,
            })
            .unwrap();
        conf.set_at(id, "c");
        assert_eq!(conf.to_string(), "x = 1\nlist = c\n# after\n");
    }

    #[test]
    fn new_settings_go_before_begin_and_outside_conditionals() {
        let mut conf = EximConf::parse("a = 1\n.ifdef X\nb = 2\n.endif\n\n# acl\nbegin acl\nacl:\n  accept\n").unwrap();
        conf.append(Kind::Option, "c", "3", ANCHOR);
        conf.append(Kind::Macro, "D", "4", ANCHOR);
        assert_eq!(
            conf.to_string(),
            "a = 1\n.ifdef X\nb = 2\n.endif\n\n# added by mailtls\nc = 3\nD = 4\n\n# acl\nbegin acl\nacl:\n  accept\n"
        );
        assert_eq!(conf.get("D").as_deref(), Some("4"));
    }

    #[test]
    fn an_empty_file_gets_the_anchor_and_the_setting() {
        let mut conf = EximConf::parse("").unwrap();
        conf.append(Kind::Macro, "MAIN_TLS_ENABLE", "yes", ANCHOR);
        assert_eq!(conf.to_string(), "# added by mailtls\nMAIN_TLS_ENABLE = yes\n");
    }

    #[test]
    fn kinds_and_booleans() {
        let conf =
            EximConf::parse("domainlist local_domains = @\nhide pgsql_servers = x\nno_syslog_timestamp\nM == 2\n")
                .unwrap();
        let kinds: Vec<(Kind, &str, String)> = conf
            .elements()
            .into_iter()
            .filter_map(|e| match e {
                Element::Setting { kind, name, value, .. } => Some((kind, name, value)),
                _ => None,
            })
            .collect();
        assert_eq!(
            kinds,
            [
                (Kind::List, "local_domains", "@".into()),
                (Kind::Option, "pgsql_servers", "x".into()),
                (Kind::Option, "syslog_timestamp", "false".into()),
                (Kind::Macro, "M", "2".into()),
            ]
        );
    }

    #[test]
    fn malformed_lines_are_errors_with_line_numbers() {
        assert_eq!(EximConf::parse("a = 1\nthis has no equals\n").unwrap_err().line, 2);
        assert_eq!(EximConf::parse("# c\n.ifdeff X\n").unwrap_err().line, 2);
        assert_eq!(EximConf::parse("Bad-Name = 1\n").unwrap_err().line, 1);
        // The other sections are not read.
        assert!(EximConf::parse("begin acl\nthis is anything\n").is_ok());
    }
}
