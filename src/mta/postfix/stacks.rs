//! Mail stacks whose start scripts rewrite main.cf, and where they keep local
//! changes instead. mailcow (`data/conf/postfix/`): at every start of its
//! postfix container, `postfix.sh` truncates main.cf after the line holding
//! `Overrides` (`sed -i '/Overrides/q'`) and appends `extra.cf`; so mailtls
//! reads main.cf up to that line plus extra.cf, and writes to extra.cf only.
//! The change takes effect when the container starts again, not on a reload.

use std::path::{Path, PathBuf};

use crate::edit::postfix_main::MainCf;
use crate::error::Result;
use crate::mta::Reload;
use crate::plan::SettingChange;

/// The line mailcow's main.cf ends its own part with.
const MAILCOW_MARKER: &str = "# Overrides #";

/// A mailcow Postfix config folder.
pub struct Mailcow {
    /// `data/conf/postfix/extra.cf`, where mailcow keeps local settings.
    pub extra: PathBuf,
    /// Its text, `None` when it does not exist yet.
    pub extra_before: Option<String>,
    /// The checkout's root (where its docker-compose.yml is).
    root: Option<PathBuf>,
}

impl Mailcow {
    /// mailcow, when main.cf has its marker and says where overrides go.
    pub fn detect(config_dir: &Path, main_text: &str) -> Result<Option<Mailcow>> {
        let marked = main_text.lines().any(|l| l.trim() == MAILCOW_MARKER);
        if !(marked && (main_text.contains("extra.cf") || main_text.contains("DO NOT EDIT ANYTHING BELOW"))) {
            return Ok(None);
        }
        let extra = config_dir.join("extra.cf");
        let extra_before = match extra.symlink_metadata() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            _ => Some(crate::mta::read_text(&extra)?),
        };
        // data/conf/postfix -> the checkout's root.
        let root = config_dir
            .ancestors()
            .nth(3)
            .filter(|r| r.join("docker-compose.yml").is_file())
            .map(Path::to_path_buf);
        Ok(Some(Mailcow {
            extra,
            extra_before,
            root,
        }))
    }

    /// main.cf as the container assembles it: its own part, then extra.cf.
    pub fn main(&self, main_text: &str) -> std::result::Result<MainCf, crate::edit::postfix_main::SyntaxError> {
        MainCf::layered(base(main_text), self.extra_before.as_deref().unwrap_or(""))
    }

    pub fn note(&self) -> String {
        format!(
            "mailcow: its postfix container rewrites main.cf below `{MAILCOW_MARKER}` at every start and appends extra.cf, so the settings go to {} and take effect when the container restarts",
            self.extra.display()
        )
    }

    /// Restarting the container is what applies extra.cf.
    pub fn reload(&self) -> Option<Reload> {
        let root = self.root.as_ref()?;
        let quoted = root.display().to_string().replace('\'', "'\\''");
        Some(Reload::Shell(format!(
            "cd '{quoted}' && docker compose restart postfix-mailcow"
        )))
    }
}

/// Mail-in-a-Box: no place for local settings; its setup reruns
/// `tools/editconf.py` on every upgrade and sets its TLS keys again. Known by
/// its certificate, `$STORAGE_ROOT/ssl/ssl_certificate.pem`.
pub fn mail_in_a_box_note(main: &MainCf) -> Option<String> {
    let cert = main.get("smtpd_tls_cert_file")?;
    cert.ends_with("/ssl/ssl_certificate.pem").then(|| {
        "Mail-in-a-Box: its setup (setup/mail-postfix.sh, run by every upgrade) sets smtpd_tls_protocols, smtpd_tls_ciphers, smtpd_tls_mandatory_protocols, tls_high_cipherlist and more again with tools/editconf.py, undoing this change; run mailtls again after each upgrade".to_string()
    })
}

/// docker-mailserver: inside its container `/tmp/docker-mailserver` is the
/// host's `docker-data/dms/config`, and /etc/postfix is rebuilt from the image
/// when the container is recreated, `postfix-main.cf` appended. mailtls edits
/// the live main.cf; this says which lines to keep in postfix-main.cf.
/// `root` is `/` except in tests.
pub fn docker_mailserver_note(root: &Path, config_dir: &Path, settings: &[SettingChange]) -> Option<String> {
    let overrides = root.join("tmp/docker-mailserver");
    if config_dir != root.join("etc/postfix") || !overrides.is_dir() {
        return None;
    }
    let main = config_dir.join("main.cf");
    let lines: Vec<String> = settings
        .iter()
        .filter(|s| s.file == main)
        .map(|s| format!("{} = {}", s.name, s.after))
        .collect();
    (!lines.is_empty()).then(|| {
        format!(
            "docker-mailserver: {} is rebuilt when the container is recreated; to keep this change, put these lines in docker-data/dms/config/postfix-main.cf ({} in the container): {}",
            main.display(),
            overrides.join("postfix-main.cf").display(),
            lines.join("; ")
        )
    })
}

/// main.cf up to and including the first line holding `Overrides`, as `sed '/Overrides/q'` keeps it.
pub fn base(main_text: &str) -> &str {
    let mut end = 0;
    for line in main_text.split_inclusive('\n') {
        end += line.len();
        if line.contains("Overrides") {
            return &main_text[..end];
        }
    }
    main_text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailcow_keeps_its_part_up_to_the_overrides_line() {
        let live = "a = 1\n# DO NOT EDIT ANYTHING BELOW #\n# Overrides #\n\n# User Overrides\nb = 2\n";
        assert_eq!(base(live), "a = 1\n# DO NOT EDIT ANYTHING BELOW #\n# Overrides #\n");
        assert_eq!(base("a = 1\n"), "a = 1\n");
    }

    #[test]
    fn docker_mailserver_is_told_which_lines_to_keep() {
        let root = tempfile::tempdir().unwrap();
        let etc = root.path().join("etc/postfix");
        let change = |file: &str, name: &str| SettingChange {
            file: etc.join(file),
            name: name.into(),
            before: None,
            after: ">=TLSv1.2".into(),
        };
        let settings = [
            change("main.cf", "smtpd_tls_protocols"),
            change("master.cf", "submission/inet: smtpd_tls_protocols"),
        ];
        assert_eq!(
            docker_mailserver_note(root.path(), &etc, &settings),
            None,
            "not in its container"
        );
        std::fs::create_dir_all(root.path().join("tmp/docker-mailserver")).unwrap();
        let note = docker_mailserver_note(root.path(), &etc, &settings).unwrap();
        assert!(
            note.ends_with("postfix-main.cf in the container): smtpd_tls_protocols = >=TLSv1.2"),
            "{note}"
        );
    }

    #[test]
    fn mail_in_a_box_is_known_by_its_certificate() {
        let miab = MainCf::parse("smtpd_tls_cert_file=/home/user-data/ssl/ssl_certificate.pem\n").unwrap();
        assert!(mail_in_a_box_note(&miab).is_some_and(|n| n.contains("editconf")));
        let other = MainCf::parse("smtpd_tls_cert_file=/etc/ssl/certs/mx.pem\n").unwrap();
        assert_eq!(mail_in_a_box_note(&other), None);
    }
}
