//! One parser per server's log format, behind one trait, in one registry.
//! Adding a server is one file here and one line in `FORMATS`.

mod cyrus;
mod dovecot;
mod exim;
mod opensmtpd;
mod postfix;
mod sendmail;

use std::collections::HashMap;
use std::path::Path;

use super::coverage::Gap;
use super::sources::Located;
use super::Event;
use crate::mta::MtaKind;

// The comment line above settings mailtls adds, as the backends write it.
use crate::mta::backend::ANCHOR;

/// How one server logs TLS.
pub trait LogFormat: Sync {
    fn mta(&self) -> MtaKind;
    /// Substrings of which at least one appears on every line `parse` reads
    /// (lines without any are never looked at: this is what keeps reading fast).
    fn needles(&self) -> &'static [&'static str];
    /// What the line says about a peer, if anything. `sessions` carries what
    /// earlier lines said (OpenSMTPD logs the address and the cipher apart).
    fn parse<'a>(&self, line: &'a str, sessions: &mut Sessions) -> Option<Event<'a>>;
    /// Counts a line that shows a TLS session but not its protocol (Dovecot's
    /// default `login_log_format_elements` says only "TLS").
    fn lacks_protocol(&self, _line: &str) -> bool {
        false
    }
    /// Where the server at `config` logs (default: syslog's mail facility).
    fn locate(&self, _config: &Path) -> Located {
        Located {
            files: Vec::new(),
            syslog: true,
            journal: vec!["SYSLOG_FACILITY=2".into()],
        }
    }
    /// What its log does not carry, and the setting that would make it.
    fn coverage(&self, _config: &Path) -> Vec<Gap> {
        Vec::new()
    }
    /// `text` (the file a gap names) with the gap's setting made; `None`
    /// when mailtls cannot make that change itself.
    fn enable(&self, _text: &str, _gap: &Gap) -> Option<String> {
        None
    }
}

/// The format of one server; `None` for a server whose log mailtls does
/// not read (every server has one today; a new backend may not).
pub fn of(kind: MtaKind) -> Option<&'static dyn LogFormat> {
    FORMATS.iter().find(|f| f.mta() == kind).copied()
}

/// Every format mailtls reads.
/// Tried in this order on a line: the most common pair (Postfix, Dovecot) first.
pub static FORMATS: &[&dyn LogFormat] = &[
    &postfix::Postfix,
    &dovecot::Dovecot,
    &exim::Exim,
    &sendmail::Sendmail,
    &opensmtpd::Opensmtpd,
    &cyrus::Cyrus,
];

/// The formats of the given servers (all of them when `kinds` is empty).
pub fn for_servers(kinds: &[MtaKind]) -> Vec<&'static dyn LogFormat> {
    FORMATS
        .iter()
        .copied()
        .filter(|f| kinds.is_empty() || kinds.contains(&f.mta()))
        .collect()
}

/// Per-session facts a format remembers between lines: session id ->
/// (address, name). Bounded: a log whose sessions never close cannot make it grow for ever.
#[derive(Default)]
pub struct Sessions {
    map: HashMap<String, (String, Option<String>)>,
}

impl Sessions {
    const LIMIT: usize = 100_000;

    pub fn open(&mut self, id: &str, address: &str, name: Option<&str>) {
        if self.map.len() >= Self::LIMIT {
            self.map.clear();
        }
        self.map
            .insert(id.to_string(), (address.to_string(), name.map(str::to_string)));
    }

    pub fn get(&self, id: &str) -> Option<&(String, Option<String>)> {
        self.map.get(id)
    }

    pub fn close(&mut self, id: &str) {
        self.map.remove(id);
    }
}

/// A substring searcher built once (`str::find` builds one per call, which
/// dominated the time spent on each line).
pub struct Needle {
    text: &'static str,
    finder: std::sync::OnceLock<memchr::memmem::Finder<'static>>,
}

impl Needle {
    pub const fn new(text: &'static str) -> Needle {
        Needle {
            text,
            finder: std::sync::OnceLock::new(),
        }
    }

    pub fn find(&self, haystack: &str) -> Option<usize> {
        let finder = self.finder.get_or_init(|| memchr::memmem::Finder::new(self.text));
        finder.find(haystack.as_bytes())
    }

    pub fn in_(&self, haystack: &str) -> bool {
        self.find(haystack).is_some()
    }

    fn len(&self) -> usize {
        self.text.len()
    }

    /// The text after the needle, when it is there.
    pub fn after<'a>(&self, haystack: &'a str) -> Option<&'a str> {
        Some(&haystack[self.find(haystack)? + self.len()..])
    }
}

/// The text after `key` up to the next byte in `ends` (or the end).
fn field<'a>(line: &'a str, key: &str, ends: &[char]) -> Option<&'a str> {
    let start = line.find(key)? + key.len();
    let rest = &line[start..];
    Some(rest.find(ends).map_or(rest, |end| &rest[..end]))
}

/// `NAME[ADDR]` (Postfix): the name and the address.
fn name_and_address(text: &str) -> Option<(&str, &str)> {
    let open = memchr::memchr(b'[', text.as_bytes())?;
    let close = open + memchr::memchr(b']', &text.as_bytes()[open..])?;
    Some((&text[..open], &text[open + 1..close]))
}

/// The syslog tag of a line: `postfix/submission/smtpd` in
/// `... host postfix/submission/smtpd[123]: message`.
fn syslog_tag(line: &str) -> Option<&str> {
    static END: Needle = Needle::new("]: ");
    let end = END.find(line)?;
    let open = memchr::memrchr(b'[', &line.as_bytes()[..end])?;
    let start = memchr::memrchr(b' ', &line.as_bytes()[..open]).map_or(0, |s| s + 1);
    Some(&line[start..open])
}
