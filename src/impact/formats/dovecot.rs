//! Dovecot's login processes, with `%k` (2.3) or `%{ssl_security}` (2.4) in
//! `login_log_format_elements`:
//! `imap-login: Login: user=<u>, method=PLAIN, rip=ADDR, lip=..., TLS, session=<...>, TLSv1.2 with cipher SUITE (256/256 bits)`;
//! the same on `Disconnected`/`Aborted login` lines. A failed handshake:
//! `imap-login: Disconnected: ... rip=ADDR, ..., TLS handshaking: SSL_accept() failed: ...`.
//! The listener is the login service: imap, pop3, submission, managesieve.

use std::path::{Path, PathBuf};

use super::{LogFormat, Needle, Sessions, ANCHOR};
use crate::edit::dovecot_conf::{DovecotConf, DovecotKey};
use crate::edit::{Named, SetValue};
use crate::impact::coverage::Gap;
use crate::impact::sources::Located;
use crate::impact::Event;
use crate::mta::{effective_values, find_program, run_program, MtaKind};

/// Dovecot's default `login_log_format_elements` (2.3 and 2.4 alike).
const DEFAULT_ELEMENTS: &str = "user=<%u> method=%m rip=%r lip=%l mpid=%e %c session=<%{session}>";

pub struct Dovecot;

impl LogFormat for Dovecot {
    fn mta(&self) -> MtaKind {
        MtaKind::Dovecot
    }

    fn needles(&self) -> &'static [&'static str] {
        // Every line worth reading says TLS: "TLSv1.2 with cipher", ", TLS," or "TLS handshaking".
        &["TLS"]
    }

    fn parse<'a>(&self, line: &'a str, _: &mut Sessions) -> Option<Event<'a>> {
        static LOGIN: Needle = Needle::new("-login: ");
        static WITH_CIPHER: Needle = Needle::new(" with cipher ");
        static HANDSHAKING: Needle = Needle::new("TLS handshaking: ");
        let at = LOGIN.find(line)?;
        let service = line[..at].rsplit([' ', '/']).next()?;
        static RIP: Needle = Needle::new("rip=");
        let address = RIP.after(line)?;
        let address = &address[..address.find([',', ' ']).unwrap_or(address.len())];
        if let Some(with) = WITH_CIPHER.find(line) {
            let protocol = line[..with].rsplit([' ', ',', '(']).next()?;
            let suite = line[with + " with cipher ".len()..].split([' ', ',']).next()?;
            return Some(Event::negotiated(
                MtaKind::Dovecot,
                address,
                None::<&str>,
                service,
                protocol,
                suite,
            ));
        }
        static FAILED: Needle = Needle::new("TLS handshake failed");
        let failure = HANDSHAKING.find(line).or_else(|| FAILED.find(line))?;
        let reason = line[failure..].trim_start_matches("TLS handshaking: ");
        let reason = reason.split(", session=").next().unwrap_or(reason);
        Some(Event::failed(MtaKind::Dovecot, address, None::<&str>, service, reason))
    }

    fn lacks_protocol(&self, line: &str) -> bool {
        static LOGIN: Needle = Needle::new("-login: ");
        static TLS_COMMA: Needle = Needle::new(", TLS,");
        static TLS_COLON: Needle = Needle::new(", TLS:");
        static WITH_CIPHER: Needle = Needle::new(" with cipher ");
        LOGIN.in_(line) && (TLS_COMMA.in_(line) || TLS_COLON.in_(line)) && !WITH_CIPHER.in_(line)
    }

    /// `info_log_path`, else `log_path`; `syslog` (the default) means syslog,
    /// and `/dev/stderr` the journal of dovecot.service.
    fn locate(&self, config: &Path) -> Located {
        let values = doveconf(config, &["log_path", "info_log_path"]);
        let file = ["info_log_path", "log_path"]
            .iter()
            .filter_map(|k| values.get(*k))
            .find(|v| !v.is_empty())
            .cloned()
            .unwrap_or_else(|| "syslog".into());
        if file.starts_with('/') && !file.starts_with("/dev/") {
            return Located {
                files: vec![PathBuf::from(file)],
                ..Default::default()
            };
        }
        Located {
            files: Vec::new(),
            syslog: true,
            journal: vec!["SYSLOG_FACILITY=2".into(), "_SYSTEMD_UNIT=dovecot.service".into()],
        }
    }

    /// Without `%k` (2.3) or `%{ssl_security}` (2.4) a login line says "TLS" but not which.
    fn coverage(&self, config: &Path) -> Vec<Gap> {
        let key = "login_log_format_elements";
        let values = doveconf(config, &[key]);
        let text = std::fs::read_to_string(config).ok();
        let file_value = text.as_deref().and_then(|t| DovecotConf::parse(t).ok()?.get(key));
        let current = values
            .get(key)
            .cloned()
            .or(file_value)
            .unwrap_or_else(|| DEFAULT_ELEMENTS.into());
        if current.contains("%k") || current.contains("%{ssl_security}") {
            return Vec::new();
        }
        let element = if version_2_4() { "%{ssl_security}" } else { "%k" };
        let after = format!("{} {element}", current.trim());
        let mut gap = Gap {
            mta: MtaKind::Dovecot,
            instance: config.to_path_buf(),
            what: format!("login lines say \"TLS\" but not the protocol: {key} has no {element}"),
            setting: key.into(),
            before: Some(current),
            after,
            change: None,
        };
        gap.change = text
            .as_deref()
            .and_then(|before| Some((config.to_path_buf(), before.to_string(), self.enable(before, &gap)?)));
        vec![gap]
    }

    fn enable(&self, text: &str, gap: &Gap) -> Option<String> {
        let mut parsed = DovecotConf::parse(text).ok()?;
        parsed.set(DovecotKey::Named(Named::new(&gap.setting, ANCHOR)), &gap.after);
        Some(parsed.to_string())
    }
}

fn doveconf(config: &Path, names: &[&str]) -> std::collections::HashMap<String, String> {
    find_program("doveconf")
        .map(|program| effective_values(&program, config, names))
        .unwrap_or_default()
}

fn version_2_4() -> bool {
    find_program("dovecot")
        .and_then(|d| run_program(&d, &["--version"]).ok())
        .is_some_and(|v| v.starts_with("2.4") || v.starts_with('3'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impact::Outcome;

    #[test]
    fn logins_failures_and_the_default_format() {
        let mut s = Sessions::default();
        let e = Dovecot.parse("Dec 01 02:56:08 imap-login: Info: Login: user=<u>, method=PLAIN, rip=127.0.0.2, lip=127.0.0.1, mpid=77, TLS, session=<abc>, TLSv1 with cipher ECDHE-RSA-AES256-SHA (256/256 bits)", &mut s).unwrap();
        assert_eq!((&*e.address, &*e.listener), ("127.0.0.2", "imap"));
        assert_eq!(
            e.outcome,
            Outcome::Negotiated {
                protocol: "TLSv1".into(),
                suite: "ECDHE-RSA-AES256-SHA".into()
            }
        );
        let e = Dovecot.parse("Dec  1 02:56:08 mx dovecot: pop3-login: Disconnected (no auth attempts in 0 secs): user=<>, rip=127.0.0.4, lip=127.0.0.1, TLS handshaking: SSL_accept() failed: error:0A000102:SSL routines::unsupported protocol, session=<x>", &mut s).unwrap();
        assert_eq!(e.listener, "pop3");
        assert!(matches!(e.outcome, Outcome::Failed { ref reason } if reason.contains("unsupported protocol")));
        let plain = "Dec 01 02:56:08 imap-login: Info: Login: user=<u>, method=PLAIN, rip=127.0.0.2, lip=127.0.0.1, mpid=77, TLS, session=<abc>";
        assert_eq!(Dovecot.parse(plain, &mut s), None);
        assert!(Dovecot.lacks_protocol(plain));
    }
}
