//! Layout-preserving config formats. Each parser keeps every line's original
//! text, so `parse(s).to_string() == s`, and an edit changes only the lines it
//! must. `edit` never touches the filesystem; `journal` and `apply` do.
//!
//! Every format is a `Document`: it parses from text (`FromStr`), prints back
//! (`Display`), and fails with the one `SyntaxError` (1-based lines). Every
//! format changes a value through `SetValue::set(key, value)`, where a key
//! is what names a value in that format: a setting's name (with the anchor
//! comment a new line goes under), a line, a service's override.

pub mod dovecot_conf;
pub mod exim_conf;
pub mod imapd_conf;
pub mod postfix_main;
pub mod postfix_master;
pub mod sendmail_mc;
pub mod smtpd_conf;

use std::fmt;
use std::str::FromStr;

/// A config file that cannot be parsed, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based, as editors and the server's own errors count.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for SyntaxError {}

/// A config format that keeps its layout: `text.parse::<D>()?.to_string() == text`.
pub trait Document: FromStr<Err = SyntaxError> + fmt::Display {}

/// "Set this key to this value", the one way every format is edited. The
/// change keeps the layout: only the lines that must change do.
pub trait SetValue {
    /// What names one value in this format.
    type Key<'k>;
    /// Sets the value `key` names to `value`.
    fn set(&mut self, key: Self::Key<'_>, value: &str);
}

/// A setting by name; when the file does not set it yet, it is added at
/// the end under `anchor` (a comment line, added once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Named<'a> {
    pub name: &'a str,
    pub anchor: &'a str,
}

impl<'a> Named<'a> {
    pub fn new(name: &'a str, anchor: &'a str) -> Self {
        Named { name, anchor }
    }
}

/// `FromStr` and `Document` for a format from its `parse`; `infallible`
/// for the formats that read any text (unknown lines are kept as they are).
macro_rules! document {
    ($type:ty) => {
        impl FromStr for $type {
            type Err = SyntaxError;
            fn from_str(text: &str) -> Result<Self, SyntaxError> {
                <$type>::parse(text)
            }
        }
        impl Document for $type {}
    };
    ($type:ty, infallible) => {
        impl FromStr for $type {
            type Err = SyntaxError;
            fn from_str(text: &str) -> Result<Self, SyntaxError> {
                Ok(<$type>::parse(text))
            }
        }
        impl Document for $type {}
    };
}

document!(dovecot_conf::DovecotConf);
document!(exim_conf::EximConf);
document!(imapd_conf::ImapdConf);
document!(postfix_main::MainCf);
document!(postfix_master::MasterCf);
document!(sendmail_mc::McFile, infallible);
document!(smtpd_conf::SmtpdConf, infallible);

/// A value holding a newline or another control character.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotOneLine {
    /// What the value is (`--cert`, `--reload-command`).
    pub what: String,
    pub found: char,
}

impl fmt::Display for NotOneLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} contains a control character ({:?}); it must be one line of text",
            self.what, self.found
        )
    }
}

impl std::error::Error for NotOneLine {}

/// Refuses a value that would break out of its line or smuggle in syntax:
/// newlines and other control characters.
pub fn check_one_line(what: &str, value: &str) -> Result<(), NotOneLine> {
    match value.chars().find(|c| c.is_control()) {
        Some(found) => Err(NotOneLine {
            what: what.to_string(),
            found,
        }),
        None => Ok(()),
    }
}

/// The template language a line is written in, when it is not config syntax
/// but a generator's (mail stacks ship templates that their tooling renders):
/// Jinja (`{% ... %}`, `{{ ... }}`), ERB (`<%= ... %>`), or Python `%`
/// substitution at the start of a line (`%name`, `%{name}`).
pub fn template_syntax(line: &str) -> Option<&'static str> {
    let t = line.trim();
    if t.contains("{%") || t.contains("{{") {
        Some("Jinja `{% ... %}`/`{{ ... }}`")
    } else if t.contains("<%") {
        Some("ERB `<% ... %>`")
    } else if t.starts_with('%') && t[1..].starts_with(|c: char| c == '{' || c.is_ascii_alphabetic()) {
        Some("`%name` substitution")
    } else {
        None
    }
}

/// A parse error's message, or, when the line is template syntax, why the
/// file cannot be planned.
pub fn syntax_message(line: &str, message: String) -> String {
    match template_syntax(line) {
        Some(kind) => format!(
            "{:?} is {kind}: this file is a template, not the config the server reads; plan the file it generates",
            line.trim()
        ),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every bundled fixture of a format prints back byte for byte.
    fn round_trips<D: Document>(paths: &[&str]) {
        for path in paths {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures")
                .join(path);
            let text = std::fs::read_to_string(&path).unwrap();
            let parsed: D = text.parse().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(parsed.to_string(), text, "{}", path.display());
        }
    }

    #[test]
    fn every_format_round_trips_its_fixtures() {
        round_trips::<postfix_main::MainCf>(&["debian-12/main.cf", "debian-12/main.cf.dist"]);
        round_trips::<postfix_master::MasterCf>(&["debian-12/master.cf"]);
        round_trips::<dovecot_conf::DovecotConf>(&[
            "dovecot-debian-12/dovecot.conf",
            "dovecot-debian-12/conf.d/10-ssl.conf",
        ]);
        round_trips::<exim_conf::EximConf>(&["exim-upstream/exim.conf", "exim-debian-12-unsplit/exim4.conf.template"]);
        round_trips::<imapd_conf::ImapdConf>(&["cyrus-l3nn1e-mail/imapd.conf"]);
        round_trips::<sendmail_mc::McFile>(&["sendmail-debian-12/sendmail.mc"]);
        round_trips::<smtpd_conf::SmtpdConf>(&[
            "opensmtpd-debian-12/smtpd.conf",
            "opensmtpd-bookworm-backports/smtpd.conf",
        ]);
    }

    #[test]
    fn syntax_errors_count_lines_from_one() {
        let e = "ok = 1\nbroken line\n".parse::<postfix_main::MainCf>().unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(e.to_string(), format!("line 2: {}", e.message));
    }
}
