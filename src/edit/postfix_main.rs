//! Postfix `main.cf`: `name = value` lines, continuation lines that start with
//! white space, comment lines whose first non-blank character is `#`. The
//! last setting of a name wins, as in Postfix.

pub use super::SyntaxError;
use std::fmt;

/// One logical piece of the file, with its exact original text.
#[derive(Clone, Debug, PartialEq)]
enum Item {
    /// Blank lines, comments, and anything Postfix ignores.
    Trivia(String),
    Param(Param),
}

#[derive(Clone, Debug, PartialEq)]
struct Param {
    name: String,
    /// The text before the value on the first line: `name = ` with its spacing.
    lead: String,
    /// The whole text, continuation lines and final newline included.
    raw: String,
}

impl Param {
    /// The value as Postfix reads it: continuation lines joined by one space.
    fn value(&self) -> String {
        let body = &self.raw[self.lead.len()..];
        body.split('\n')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A parsed main.cf.
#[derive(Clone, Debug, PartialEq)]
pub struct MainCf {
    items: Vec<Item>,
    /// Items before this index belong to a base file that is read but never
    /// edited (see `layered`); 0 for a plain main.cf.
    frozen: usize,
}

impl MainCf {
    pub fn parse(text: &str) -> Result<MainCf, SyntaxError> {
        let mut items: Vec<Item> = Vec::new();
        for (index, line) in text.split_inclusive('\n').enumerate() {
            let trimmed = line.trim();
            let continues = line.starts_with([' ', '\t']) && !trimmed.is_empty() && !trimmed.starts_with('#');
            if continues {
                match items.last_mut() {
                    Some(Item::Param(p)) if p.raw.ends_with('\n') => {
                        p.raw.push_str(line);
                        continue;
                    }
                    _ => {
                        return Err(SyntaxError {
                            line: index + 1,
                            message: "continuation line (it starts with white space) does not follow a parameter"
                                .into(),
                        })
                    }
                }
            }
            if trimmed.is_empty() || trimmed.starts_with('#') {
                items.push(Item::Trivia(line.to_string()));
                continue;
            }
            let Some(eq) = line.find('=') else {
                return Err(SyntaxError {
                    line: index + 1,
                    message: super::syntax_message(trimmed, format!("missing '=' in {:?}", trimmed)),
                });
            };
            let name = line[..eq].trim_end();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
            {
                return Err(SyntaxError {
                    line: index + 1,
                    message: super::syntax_message(line, format!("bad parameter name {name:?}")),
                });
            }
            let value_start = eq + 1 + (line[eq + 1..].len() - line[eq + 1..].trim_start_matches([' ', '\t']).len());
            items.push(Item::Param(Param {
                name: name.to_string(),
                lead: line[..value_start].to_string(),
                raw: line.to_string(),
            }));
        }
        Ok(MainCf { items, frozen: 0 })
    }

    /// A main.cf that a mail stack assembles from a base it owns and an
    /// overlay file appended after it (mailcow's `extra.cf`): read as one
    /// (the last setting wins), but `set` edits only the overlay, whose new
    /// text `overlay_text` gives.
    pub fn layered(base: &str, overlay: &str) -> Result<MainCf, SyntaxError> {
        let mut base_text = base.to_string();
        if !base_text.is_empty() && !base_text.ends_with('\n') {
            base_text.push('\n');
        }
        let mut cf = MainCf::parse(&base_text)?;
        let top = MainCf::parse(overlay).map_err(|e| SyntaxError {
            line: e.line,
            message: format!("(overlay file) {}", e.message),
        })?;
        cf.frozen = cf.items.len();
        cf.items.extend(top.items);
        Ok(cf)
    }

    /// The overlay's text (everything after the base), edits included.
    pub fn overlay_text(&self) -> String {
        let mut out = String::new();
        for item in &self.items[self.frozen..] {
            match item {
                Item::Trivia(t) => out.push_str(t),
                Item::Param(p) => out.push_str(&p.raw),
            }
        }
        out
    }

    fn params(&self) -> impl DoubleEndedIterator<Item = &Param> {
        self.items.iter().filter_map(|i| match i {
            Item::Param(p) => Some(p),
            Item::Trivia(_) => None,
        })
    }

    /// The value in effect for `name` in this file (the last setting), if set.
    pub fn get(&self, name: &str) -> Option<String> {
        self.params().rev().find(|p| p.name == name).map(Param::value)
    }

    /// Every parameter set in the file with its effective value, in file order
    /// of their last setting.
    pub fn names(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for p in self.params() {
            seen.retain(|n| n != &p.name);
            seen.push(p.name.clone());
        }
        seen
    }

    /// Sets `name` to `value`. The last line that sets it is rewritten in place,
    /// keeping its `name = ` spacing; a new parameter goes after `anchor`
    /// (a comment line added once) at the end of the file. Does nothing when
    /// the value is already in effect.
    fn set_named(&mut self, name: &str, value: &str, anchor: &str) {
        if self.get(name).as_deref() == Some(value) {
            return;
        }
        let frozen = self.frozen;
        let last = self.items[frozen..].iter_mut().rev().find_map(|i| match i {
            Item::Param(p) if p.name == name => Some(p),
            _ => None,
        });
        match last {
            Some(p) => {
                let newline = if p.raw.ends_with('\n') { "\n" } else { "" };
                // `name =` with an empty value: keep the space the writer used before `=`.
                if p.lead.ends_with('=') && p.lead[..p.lead.len() - 1].ends_with([' ', '\t']) {
                    p.lead.push(' ');
                }
                p.raw = format!("{}{value}{newline}", p.lead);
            }
            None => {
                let has_anchor = self.items[frozen..]
                    .iter()
                    .any(|i| matches!(i, Item::Trivia(t) if t.trim_end() == anchor));
                self.ensure_final_newline();
                if !has_anchor {
                    if self.items.len() > frozen && !self.ends_with_blank_line() {
                        self.items.push(Item::Trivia("\n".into()));
                    }
                    self.items.push(Item::Trivia(format!("{anchor}\n")));
                }
                self.items.push(Item::Param(Param {
                    name: name.to_string(),
                    lead: format!("{name} = "),
                    raw: format!("{name} = {value}\n"),
                }));
            }
        }
    }

    fn ensure_final_newline(&mut self) {
        match self.items.last_mut() {
            Some(Item::Param(Param { raw, .. })) | Some(Item::Trivia(raw)) if !raw.ends_with('\n') => raw.push('\n'),
            _ => {}
        }
    }

    fn ends_with_blank_line(&self) -> bool {
        match self.items.last() {
            None => true,
            Some(Item::Trivia(t)) => t.trim().is_empty(),
            Some(Item::Param(_)) => false,
        }
    }
}

impl fmt::Display for MainCf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in &self.items {
            match item {
                Item::Trivia(t) => f.write_str(t)?,
                Item::Param(p) => f.write_str(&p.raw)?,
            }
        }
        Ok(())
    }
}

impl super::SetValue for MainCf {
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
    fn a_layered_file_is_read_as_one_and_edits_only_its_overlay() {
        let base = "smtpd_tls_protocols = !SSLv2\nsmtp_tls_protocols = >=TLSv1.2\n# Overrides #\n";
        let mut cf = MainCf::layered(base, "myhostname = mx\nsmtp_tls_protocols = >=TLSv1\n").unwrap();
        assert_eq!(
            cf.get("smtp_tls_protocols").as_deref(),
            Some(">=TLSv1"),
            "the overlay wins"
        );
        cf.set(Named::new("smtp_tls_protocols", ANCHOR), ">=TLSv1.2");
        cf.set(Named::new("smtpd_tls_protocols", ANCHOR), ">=TLSv1.2");
        assert_eq!(
            cf.overlay_text(),
            format!("myhostname = mx\nsmtp_tls_protocols = >=TLSv1.2\n\n{ANCHOR}\nsmtpd_tls_protocols = >=TLSv1.2\n")
        );
        assert!(cf.to_string().starts_with(base), "the base is never edited");
        let mut empty = MainCf::layered(base, "").unwrap();
        empty.set(Named::new("smtpd_tls_protocols", ANCHOR), ">=TLSv1.2");
        assert_eq!(
            empty.overlay_text(),
            format!("{ANCHOR}\nsmtpd_tls_protocols = >=TLSv1.2\n")
        );
    }

    #[test]
    fn round_trips_every_fixture() {
        for path in ["fixtures/debian-12/main.cf", "fixtures/debian-12/main.cf.dist"] {
            let text = std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
            assert_eq!(MainCf::parse(&text).unwrap().to_string(), text, "{path}");
        }
    }

    #[test]
    fn last_setting_wins_and_is_the_one_edited() {
        let mut cf = MainCf::parse("a = 1\n# note\na=2\nb = x\n").unwrap();
        assert_eq!(cf.get("a").as_deref(), Some("2"));
        cf.set(Named::new("a", ANCHOR), "3");
        assert_eq!(cf.to_string(), "a = 1\n# note\na=3\nb = x\n");
    }

    #[test]
    fn continuation_lines_are_joined_and_replaced_whole() {
        let mut cf = MainCf::parse("list = one,\n    two\n# after\n").unwrap();
        assert_eq!(cf.get("list").as_deref(), Some("one, two"));
        cf.set(Named::new("list", ANCHOR), "three");
        assert_eq!(cf.to_string(), "list = three\n# after\n");
    }

    #[test]
    fn new_parameters_go_under_one_anchor_at_the_end() {
        let mut cf = MainCf::parse("a = 1").unwrap();
        cf.set(Named::new("b", ANCHOR), "2");
        cf.set(Named::new("c", ANCHOR), "3");
        assert_eq!(cf.to_string(), "a = 1\n\n# added by mailtls\nb = 2\nc = 3\n");
        let again = MainCf::parse(&cf.to_string()).unwrap();
        let mut edited = again.clone();
        edited.set(Named::new("b", ANCHOR), "2");
        assert_eq!(edited, again, "setting a value already in effect changes nothing");
    }

    #[test]
    fn empty_value_keeps_spacing() {
        let mut cf = MainCf::parse("relayhost =\nx=\n").unwrap();
        cf.set(Named::new("relayhost", ANCHOR), "[mx]");
        cf.set(Named::new("x", ANCHOR), "y");
        assert_eq!(cf.to_string(), "relayhost = [mx]\nx=y\n");
    }

    #[test]
    fn malformed_lines_are_errors_with_line_numbers() {
        assert_eq!(MainCf::parse("a = 1\nnot a setting\n").unwrap_err().line, 2);
        assert_eq!(MainCf::parse("  stray continuation\n").unwrap_err().line, 1);
        assert_eq!(MainCf::parse("bad name = 1\n").unwrap_err().line, 1);
    }
}
