//! Mail stacks whose start scripts rewrite main.cf, and where they keep local
//! changes instead. mailcow (`data/conf/postfix/`): at every start of its
//! postfix container, `postfix.sh` truncates main.cf after the line holding
//! `Overrides` (`sed -i '/Overrides/q'`) and appends `extra.cf`; so mailtls
//! reads main.cf up to that line plus extra.cf, and writes to extra.cf only.
//! The change takes effect when the container starts again, not on a reload.
//!
//! docker-mailserver and Mailu keep no main.cf on the host: their image holds
//! it, and at every start the container applies a file of local settings from
//! a mounted folder (`Overrides`). There `--config` is that folder, mailtls
//! judges the file over Postfix's own defaults and writes to it alone.

use std::path::{Path, PathBuf};

use crate::edit::postfix_main::MainCf;
use crate::error::{Error, Result};
use crate::mta::container::{self, Compose};
use crate::mta::Reload;

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
    pub fn reload(&self, choice: &container::Choice) -> Option<Reload> {
        let target = container::Target {
            compose: Some((self.root.clone()?, "postfix-mailcow".into())),
            container: None,
        };
        target.restart(choice).ok()
    }
}

/// Which stack keeps its Postfix settings in a mounted folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackKind {
    /// docker-mailserver: `docker-data/dms/config`, mounted at `/tmp/docker-mailserver`;
    /// `setup.d/postfix.sh` appends `postfix-main.cf` to main.cf and applies
    /// each `postfix-master.cf` line with `postconf -P`, at every start.
    DockerMailserver,
    /// Mailu: `overrides/postfix`, mounted at `/overrides` in the smtp
    /// container; `core/postfix/start.py` runs `postconf -e` on each line of
    /// `postfix.cf` at every start. Its front container (nginx) terminates
    /// inbound TLS, so Postfix's own TLS is its outbound (smtp_) side.
    Mailu,
}

/// The folder of a stack's local Postfix settings, and the file mailtls writes.
pub struct Overrides {
    pub kind: StackKind,
    /// `postfix-main.cf` or `postfix.cf`.
    pub file: PathBuf,
    /// Its text, `None` when it does not exist yet.
    pub before: Option<String>,
    /// docker-mailserver's `postfix-master.cf` and its text, when it exists.
    pub master: Option<(PathBuf, String)>,
    target: container::Target,
}

impl Overrides {
    /// A stack's override folder: one without main.cf that holds the stack's
    /// files or that a compose file mounts where the stack reads them.
    pub fn detect(dir: &Path) -> Result<Option<Overrides>> {
        if dir.join("main.cf").exists() {
            return Ok(None);
        }
        let has = |name: &str| dir.join(name).is_file();
        let dms = Compose::mounting(dir, "/tmp/docker-mailserver");
        let mailu = Compose::mounting(dir, "/overrides").filter(|(_, s)| s.image.contains("postfix"));
        let (kind, found) = if dms.is_some() || has("postfix-main.cf") || has("postfix-master.cf") {
            (StackKind::DockerMailserver, dms)
        } else if mailu.is_some() || has("postfix.cf") || dir.ends_with("overrides/postfix") {
            (StackKind::Mailu, mailu)
        } else {
            return Ok(None);
        };
        let read = |path: &Path| -> Result<Option<String>> {
            match path.symlink_metadata() {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                _ => crate::mta::read_text(path).map(Some),
            }
        };
        let file = dir.join(match kind {
            StackKind::DockerMailserver => "postfix-main.cf",
            StackKind::Mailu => "postfix.cf",
        });
        let master = match kind {
            StackKind::DockerMailserver => {
                let path = dir.join("postfix-master.cf");
                read(&path)?.map(|text| (path, text))
            }
            StackKind::Mailu => None,
        };
        Ok(Some(Overrides {
            kind,
            before: read(&file)?,
            file,
            master,
            target: container::Target::of(found),
        }))
    }

    pub fn name(&self) -> &'static str {
        match self.kind {
            StackKind::DockerMailserver => "docker-mailserver",
            StackKind::Mailu => "Mailu",
        }
    }

    /// Whether the stack's Postfix serves inbound TLS itself.
    pub fn serves_inbound(&self) -> bool {
        self.kind == StackKind::DockerMailserver
    }

    /// The settings as the container ends up with them, as far as this host
    /// can tell: the override file over Postfix's defaults.
    pub fn main(&self) -> std::result::Result<MainCf, crate::edit::postfix_main::SyntaxError> {
        MainCf::layered("", self.before.as_deref().unwrap_or(""))
    }

    pub fn note(&self) -> String {
        let (image_part, applied) = match self.kind {
            StackKind::DockerMailserver => (
                "the image's main.cf",
                "appends it to main.cf at every start (target/scripts/startup/setup.d/postfix.sh)",
            ),
            StackKind::Mailu => (
                "the image's main.cf",
                "runs `postconf -e` on each of its lines at every start (core/postfix/start.py)",
            ),
        };
        format!(
            "{}: {image_part} is not on this host, so {} was judged over Postfix's defaults and every TLS setting the profile needs is written there; the container {applied}, so the change takes effect when it restarts",
            self.name(),
            self.file.display()
        )
    }

    /// `--cert` names a file on this host; the container has its own paths and its own certificate.
    pub fn refuse_cert(&self) -> Result<()> {
        let whose = match self.kind {
            StackKind::DockerMailserver => "docker-mailserver's (SSL_TYPE in mailserver.env)",
            StackKind::Mailu => "Mailu's front container's (TLS_FLAVOR in mailu.env)",
        };
        Err(Error::Config(format!(
            "{}: --cert is not supported for {}: the certificate is {whose}, and a path on this host means nothing inside the container",
            self.file.display(),
            self.name()
        )))
    }

    /// Restarting the container is what applies the override file.
    pub fn reload(&self, choice: &container::Choice) -> Result<Reload> {
        self.target.restart(choice).map_err(|why| {
            Error::Config(format!(
                "{}: cannot tell which container runs {}'s Postfix: {why}; give --container NAME or --reload-command",
                self.file.display(),
                self.name()
            ))
        })
    }
}

/// docker-mailserver's `postfix-master.cf`: `service/type/parameter=value`
/// lines, each applied with `postconf -P`. Lines setting one of `desired`
/// to a value `acceptable` rejects get the wanted value; the rest is kept
/// byte for byte. Returns the new text and (scope, before, after) per edit.
pub fn harden_master_overrides(
    text: &str,
    desired: &[(&'static str, String)],
    acceptable: impl Fn(&str, &str, &str) -> bool,
) -> (String, Vec<(String, String, String)>) {
    let mut out = String::with_capacity(text.len());
    let mut edits = Vec::new();
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = &line[body.len()..];
        let parsed = body.split_once('=').and_then(|(left, value)| {
            let mut parts = left.trim().splitn(3, '/');
            let (service, kind, name) = (parts.next()?, parts.next()?, parts.next()?);
            let wanted = desired.iter().find(|(n, _)| *n == name)?;
            Some((format!("{service}/{kind}: {name}"), left, value.trim(), &wanted.1, name))
        });
        match parsed {
            Some((scope, left, value, wanted, name))
                if !body.trim_start().starts_with('#') && !acceptable(name, value, wanted) =>
            {
                out.push_str(&format!("{left}={wanted}{ending}"));
                edits.push((scope, value.to_string(), wanted.clone()));
            }
            _ => out.push_str(line),
        }
    }
    (out, edits)
}

/// Mail-in-a-Box: no place for local settings; its setup reruns
/// `tools/editconf.py` on every upgrade and sets its TLS keys again, and
/// Postfix has no include. Known by its certificate,
/// `$STORAGE_ROOT/ssl/ssl_certificate.pem`. Refused, with that reason.
pub fn refuse_mail_in_a_box(main: &MainCf, main_path: &Path) -> Result<()> {
    let Some(cert) = main.get("smtpd_tls_cert_file") else {
        return Ok(());
    };
    if !cert.ends_with("/ssl/ssl_certificate.pem") {
        return Ok(());
    }
    Err(Error::Config(format!(
        "{} is Mail-in-a-Box's: not supported, because its setup (setup/mail-postfix.sh, run again by every upgrade) sets smtpd_tls_protocols, smtpd_tls_ciphers, smtpd_tls_mandatory_protocols, tls_high_cipherlist and tls_preempt_cipherlist again with tools/editconf.py and keeps no file for local Postfix settings, so any change would be undone; change its TLS in setup/mail-postfix.sh upstream instead",
        main_path.display()
    )))
}

/// docker-mailserver, inside its container (`/tmp/docker-mailserver` is the
/// host's `docker-data/dms/config`): /etc/postfix is generated from the image
/// at every start, and the override files apply only then, which a process in
/// the container cannot bring about. Refused, saying where to run instead.
/// `root` is `/` except in tests.
pub fn refuse_inside_docker_mailserver(root: &Path, config_dir: &Path) -> Result<()> {
    if config_dir != root.join("etc/postfix") || !root.join("tmp/docker-mailserver").is_dir() {
        return Ok(());
    }
    Err(Error::Config(format!(
        "{} is generated inside docker-mailserver's container at every start: not edited there; run mailtls on the host with --config docker-data/dms/config (mounted here as /tmp/docker-mailserver), which writes postfix-main.cf and restarts the container",
        config_dir.display()
    )))
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
    fn docker_mailserver_is_refused_inside_its_container() {
        let root = tempfile::tempdir().unwrap();
        let etc = root.path().join("etc/postfix");
        assert!(
            refuse_inside_docker_mailserver(root.path(), &etc).is_ok(),
            "not in its container"
        );
        std::fs::create_dir_all(root.path().join("tmp/docker-mailserver")).unwrap();
        let refusal = refuse_inside_docker_mailserver(root.path(), &etc)
            .unwrap_err()
            .to_string();
        assert!(refusal.contains("--config docker-data/dms/config"), "{refusal}");
    }

    #[test]
    fn mail_in_a_box_is_known_by_its_certificate_and_refused() {
        let main_cf = Path::new("/etc/postfix/main.cf");
        let miab = MainCf::parse("smtpd_tls_cert_file=/home/user-data/ssl/ssl_certificate.pem\n").unwrap();
        let refusal = refuse_mail_in_a_box(&miab, main_cf).unwrap_err().to_string();
        assert!(refusal.contains("tools/editconf.py"), "{refusal}");
        let other = MainCf::parse("smtpd_tls_cert_file=/etc/ssl/certs/mx.pem\n").unwrap();
        assert!(refuse_mail_in_a_box(&other, main_cf).is_ok());
    }

    #[test]
    fn docker_mailserver_master_overrides_are_judged_line_by_line() {
        let text = "# keep\nsubmission/inet/smtpd_tls_protocols=!SSLv2,!SSLv3\nsubmission/inet/smtpd_sasl_auth_enable=yes\nsmtps/inet/smtpd_tls_protocols=>=TLSv1.2\n";
        let desired = [("smtpd_tls_protocols", ">=TLSv1.2".to_string())];
        let (out, edits) = harden_master_overrides(text, &desired, |_, v, w| v == w);
        assert_eq!(
            out,
            "# keep\nsubmission/inet/smtpd_tls_protocols=>=TLSv1.2\nsubmission/inet/smtpd_sasl_auth_enable=yes\nsmtps/inet/smtpd_tls_protocols=>=TLSv1.2\n"
        );
        assert_eq!(edits.len(), 1);
        assert_eq!(edits[0].0, "submission/inet: smtpd_tls_protocols");
    }
}
