//! Sendmail's m4 sources (`sendmail.mc`, Debian's `tls/starttls.m4`): the
//! `define(`NAME', `VALUE')` and `undefine(`NAME')` lines, `include(`PATH')`
//! lines, and the `O Name=value` lines of a `LOCAL_CONFIG` block. The text is
//! kept as it is; an edit replaces only the bytes of one quoted value or adds
//! whole lines, so `parse(s).to_string() == s` and a change is one line.
//!
//! This is not an m4 interpreter: only statements that start a line count
//! (so `dnl define(...)` stays a comment), and a value must be one quoted
//! string (`defn(...)` expressions are read as not editable).

use std::fmt;
use std::ops::Range;

/// One `define(`NAME', `VALUE')` statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Define {
    pub name: String,
    /// The text between the value's quotes, `None` when it is not one quoted string.
    pub value: Option<String>,
    /// 1-based line of `define(`.
    pub line: usize,
    value_span: Option<Range<usize>>,
}

/// A Sendmail `.mc` or `.m4` file.
#[derive(Clone, Debug, PartialEq)]
pub struct McFile {
    text: String,
    /// The statements found in `text`, read once per parse or edit.
    index: Index,
}

/// Where the statements are: `define`, `undefine` and `include` lines, and
/// the `O NAME=value` options of LOCAL_CONFIG blocks (name, value span).
#[derive(Clone, Debug, PartialEq, Default)]
struct Index {
    defines: Vec<Define>,
    undefines: Vec<(String, usize)>,
    includes: Vec<(String, usize)>,
    local_options: Vec<(String, Range<usize>)>,
}

impl fmt::Display for McFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl McFile {
    pub fn parse(text: &str) -> McFile {
        let mut file = McFile {
            text: text.to_string(),
            index: Index::default(),
        };
        file.reindex();
        file
    }

    /// Reads the statements again after an edit moved the bytes.
    fn reindex(&mut self) {
        self.index = Index {
            defines: self.find_defines(),
            undefines: self.find_undefines(),
            includes: self.find_includes(),
            local_options: self.find_local_options(),
        };
    }

    /// Each line with its byte offset and 1-based number.
    fn lines(&self) -> impl Iterator<Item = (usize, usize, &str)> {
        let mut offset = 0;
        self.text.split_inclusive('\n').enumerate().map(move |(n, line)| {
            let start = offset;
            offset += line.len();
            (start, n + 1, line)
        })
    }

    /// Every `define` statement, in file order.
    pub fn defines(&self) -> Vec<Define> {
        self.index.defines.clone()
    }

    /// The lines of `undefine(`NAME')`, by name.
    pub fn undefines(&self) -> Vec<(String, usize)> {
        self.index.undefines.clone()
    }

    /// Every `include(`PATH')` that starts a line, with its line.
    pub fn includes(&self) -> Vec<(String, usize)> {
        self.index.includes.clone()
    }

    fn find_defines(&self) -> Vec<Define> {
        let mut out = Vec::new();
        for (start, line, text) in self.lines() {
            let indent = text.len() - text.trim_start().len();
            let Some(rest) = text[indent..].strip_prefix("define(`") else {
                continue;
            };
            let name_start = start + indent + "define(`".len();
            let Some(name_len) = rest.find('\'') else { continue };
            let name = rest[..name_len].to_string();
            let value_span = quoted_value(&self.text, name_start + name_len + 1);
            out.push(Define {
                name,
                value: value_span.clone().map(|r| self.text[r].to_string()),
                line,
                value_span,
            });
        }
        out
    }

    fn find_undefines(&self) -> Vec<(String, usize)> {
        self.lines()
            .filter_map(|(_, line, text)| {
                let rest = text.trim_start().strip_prefix("undefine(`")?;
                Some((rest[..rest.find('\'')?].to_string(), line))
            })
            .collect()
    }

    /// The value in effect at the end of this file alone: the last definition, unless undefined after it.
    pub fn value(&self, name: &str) -> Option<Define> {
        let last = self.index.defines.iter().rfind(|d| d.name == name)?.clone();
        let undone = self
            .index
            .undefines
            .iter()
            .any(|(n, line)| n == name && *line > last.line);
        (!undone).then_some(last)
    }

    fn find_includes(&self) -> Vec<(String, usize)> {
        self.lines()
            .filter_map(|(_, line, text)| {
                let rest = text.trim_start().strip_prefix("include(`")?;
                Some((rest[..rest.find('\'')?].to_string(), line))
            })
            .collect()
    }

    /// Replaces the argument of an `include(`PATH')` line (for staging a copy).
    pub fn replace_include(&mut self, path: &str, with: &str) {
        self.text = self
            .text
            .replace(&format!("include(`{path}')"), &format!("include(`{with}')"));
        self.reindex();
    }

    /// Every `O NAME=value` in a LOCAL_CONFIG block, with its value's span.
    fn find_local_options(&self) -> Vec<(String, Range<usize>)> {
        let mut in_local = false;
        let mut found = Vec::new();
        for (start, _, text) in self.lines() {
            let trimmed = text.trim();
            if trimmed.starts_with("LOCAL_CONFIG") {
                in_local = true;
            } else if let Some((name, _)) = text
                .strip_prefix("O ")
                .and_then(|o| o.split_once('='))
                .filter(|_| in_local)
            {
                let from = start + 2 + name.len() + 1;
                found.push((
                    name.to_string(),
                    from..start + text.trim_end_matches(['\n', '\r']).len(),
                ));
            } else if trimmed.starts_with("LOCAL_") || trimmed.starts_with("MAILER") || trimmed.starts_with("divert(") {
                in_local = trimmed.starts_with("LOCAL_CONFIG");
            }
        }
        found
    }

    /// The span of the value of the last `O NAME=value` in a LOCAL_CONFIG block.
    fn local_option_span(&self, name: &str) -> Option<Range<usize>> {
        self.index
            .local_options
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, span)| span.clone())
    }

    /// `O NAME=value` from a LOCAL_CONFIG block (TLS 1.3 suites have no m4 macro).
    pub fn local_option(&self, name: &str) -> Option<String> {
        self.local_option_span(name).map(|r| self.text[r].trim().to_string())
    }

    /// Sets the value of a definition `value` returned, keeping everything around it.
    fn set_define(&mut self, define: &Define, value: &str) {
        let span = define
            .value_span
            .clone()
            .expect("only a quoted value is edited in place");
        self.text.replace_range(span, value);
        self.reindex();
    }

    /// Adds `define(`NAME', `VALUE')dnl` after the last definition (inside the
    /// same block, as in Debian's starttls.m4), or before the first `MAILER`
    /// line, or at the end; the first addition is preceded by the `anchor` comment.
    pub fn add_define(&mut self, name: &str, value: &str, anchor: &str) {
        let statement = format!("define(`{name}', `{value}')dnl\n");
        let anchor_line = format!("dnl {anchor}\n");
        if let Some(at) = self.text.find(&anchor_line) {
            // After the anchor and the definitions already added under it.
            let mut end = at + anchor_line.len();
            while self.text[end..].starts_with("define(`") {
                end += self.text[end..].find('\n').map_or(self.text.len() - end, |n| n + 1);
            }
            self.text.insert_str(end, &statement);
            self.reindex();
            return;
        }
        let lines: Vec<(usize, usize, String)> = self.lines().map(|(s, l, t)| (s, l, t.to_string())).collect();
        let after_last_define = self
            .defines()
            .last()
            .and_then(|d| lines.iter().find(|(_, l, _)| *l == d.line))
            .map(|(start, _, _)| {
                // The statement may continue on later lines (`define(`X',dnl` then the value).
                let close = self.text[*start..].find(")dnl").map_or(*start, |n| start + n);
                close + self.text[close..].find('\n').map_or(self.text.len() - close, |n| n + 1)
            });
        let before_mailer = lines
            .iter()
            .find(|(_, _, t)| t.starts_with("MAILER"))
            .map(|(start, _, _)| *start);
        let at = after_last_define.or(before_mailer).unwrap_or(self.text.len());
        if at == self.text.len() && !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
        let at = at.min(self.text.len());
        self.text.insert_str(at, &format!("{anchor_line}{statement}"));
        self.reindex();
    }

    /// Sets `O NAME=value` in a LOCAL_CONFIG block: in place when there is
    /// one, else in a new block at the end of the file.
    fn set_local_option(&mut self, name: &str, value: &str, anchor: &str) {
        if let Some(span) = self.local_option_span(name) {
            self.text.replace_range(span, value);
            self.reindex();
            return;
        }
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
        self.text
            .push_str(&format!("dnl {anchor}\nLOCAL_CONFIG\nO {name}={value}\n"));
        self.reindex();
    }
}

/// After `define(`NAME'`, the span of the quoted value: skips `,`, blanks and
/// a `dnl` that ends the line, then reads one balanced `...' string.
fn quoted_value(text: &str, mut at: usize) -> Option<Range<usize>> {
    let bytes = text.as_bytes();
    if bytes.get(at) != Some(&b',') {
        return None;
    }
    at += 1;
    loop {
        while matches!(bytes.get(at), Some(b' ' | b'\t' | b'\n')) {
            at += 1;
        }
        if text[at..].starts_with("dnl") {
            at += text[at..].find('\n')? + 1;
        } else {
            break;
        }
    }
    if bytes.get(at) != Some(&b'`') {
        return None;
    }
    let start = at + 1;
    let mut depth = 1;
    for (i, c) in text[start..].char_indices() {
        match c {
            '`' => depth += 1,
            '\'' => {
                depth -= 1;
                if depth == 0 {
                    let end = start + i;
                    return text[end + 1..].trim_start().starts_with(')').then_some(start..end);
                }
            }
            _ => {}
        }
    }
    None
}

/// A value in an m4 source: a definition `value` returned, or an
/// `O NAME=value` option in a LOCAL_CONFIG block.
#[derive(Clone, Copy, Debug)]
pub enum McKey<'a> {
    Define(&'a Define),
    LocalOption(super::Named<'a>),
}

impl super::SetValue for McFile {
    type Key<'k> = McKey<'k>;

    fn set(&mut self, key: McKey<'_>, value: &str) {
        match key {
            McKey::Define(d) => self.set_define(d, value),
            McKey::LocalOption(n) => self.set_local_option(n.name, value, n.anchor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::SetValue;

    const MC: &str = "divert(0)dnl\ninclude(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n\
        define(`confPRIVACY_FLAGS',dnl\n`needmailhelo,authwarnings')dnl\n\
        dnl define(`confCIPHER_LIST', `ALL')dnl\n\
        define(`confCIPHER_LIST',  `DEFAULT:@SECLEVEL=0')dnl   # <= EDIT\n\
        MAILER(`local')dnl\n";

    #[test]
    fn round_trips_and_reads_defines() {
        let mc = McFile::parse(MC);
        assert_eq!(mc.to_string(), MC);
        let d = mc.value("confCIPHER_LIST").unwrap();
        assert_eq!((d.value.as_deref(), d.line), (Some("DEFAULT:@SECLEVEL=0"), 6));
        assert_eq!(
            mc.value("confPRIVACY_FLAGS").unwrap().value.as_deref(),
            Some("needmailhelo,authwarnings")
        );
        assert_eq!(mc.includes()[0].0, "/usr/share/sendmail/cf/m4/cf.m4");
    }

    #[test]
    fn an_edit_changes_one_value_and_additions_go_after_the_last_define() {
        let mut mc = McFile::parse(MC);
        let d = mc.value("confCIPHER_LIST").unwrap();
        mc.set(McKey::Define(&d), "HIGH");
        mc.add_define("confSERVER_SSL_OPTIONS", "+SSL_OP_NO_TLSv1", "added by mailtls");
        mc.add_define("confCLIENT_SSL_OPTIONS", "+SSL_OP_NO_TLSv1", "added by mailtls");
        assert_eq!(
            mc.to_string(),
            MC.replace("`DEFAULT:@SECLEVEL=0'", "`HIGH'").replace(
                "MAILER",
                "dnl added by mailtls\ndefine(`confSERVER_SSL_OPTIONS', `+SSL_OP_NO_TLSv1')dnl\n\
                 define(`confCLIENT_SSL_OPTIONS', `+SSL_OP_NO_TLSv1')dnl\nMAILER"
            )
        );
    }

    #[test]
    fn undefine_after_a_define_unsets_it() {
        let mc = McFile::parse("define(`confCRL', `')dnl\nundefine(`confCRL')dnl\n");
        assert!(mc.value("confCRL").is_none());
    }

    #[test]
    fn local_config_options_are_set_in_place_or_added_at_the_end() {
        let mut mc = McFile::parse(MC);
        mc.set_local_option("CipherSuites", "TLS_AES_128_GCM_SHA256", "mailtls");
        assert!(mc
            .to_string()
            .ends_with("dnl mailtls\nLOCAL_CONFIG\nO CipherSuites=TLS_AES_128_GCM_SHA256\n"));
        assert_eq!(
            mc.local_option("CipherSuites").as_deref(),
            Some("TLS_AES_128_GCM_SHA256")
        );
        mc.set_local_option("CipherSuites", "TLS_AES_256_GCM_SHA384", "mailtls");
        assert_eq!(mc.to_string().matches("LOCAL_CONFIG").count(), 1);
        assert_eq!(
            mc.local_option("CipherSuites").as_deref(),
            Some("TLS_AES_256_GCM_SHA384")
        );
    }
}
