//! Whether a server's log can answer at all. Postfix logs nothing about TLS
//! with `smtpd_tls_loglevel = 0` (its default); Dovecot's default
//! `login_log_format_elements` says "TLS" but not the protocol. Each gap
//! comes with the setting that closes it, as a file change (before/after)
//! that `mailtls impact --enable-logging` applies through the same
//! back up / write / reload / roll back path as every change.

use std::path::PathBuf;

use serde::Serialize;

use crate::mta::MtaKind;

/// One thing a server's log does not carry, and how to make it.
#[derive(Clone, Debug, Serialize)]
pub struct Gap {
    pub mta: MtaKind,
    pub instance: PathBuf,
    /// What is missing, in words.
    pub what: String,
    pub setting: String,
    pub before: Option<String>,
    pub after: String,
    /// The file to change and its text before and after, when mailtls can make the change.
    #[serde(skip)]
    pub change: Option<(PathBuf, String, String)>,
}

impl Gap {
    /// The change as a unified diff ("" when there is no file change).
    pub fn diff(&self) -> String {
        let Some((path, before, after)) = &self.change else {
            return String::new();
        };
        let path = path.display().to_string();
        similar::TextDiff::from_lines(before, after)
            .unified_diff()
            .context_radius(2)
            .header(&path, &path)
            .to_string()
    }
}
