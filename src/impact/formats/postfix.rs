//! Postfix with `smtpd_tls_loglevel`/`smtp_tls_loglevel` >= 1:
//! `Anonymous TLS connection established from NAME[ADDR]: TLSv1.2 with cipher SUITE (256/256 bits)`,
//! `... established to NAME[ADDR]:25: ...` for its own deliveries, and
//! `SSL_accept error from NAME[ADDR]: ...` when a handshake fails. The
//! listener is the syslog name (`postfix/submission/smtpd` is submission).

use std::path::{Path, PathBuf};

use super::{name_and_address, syslog_tag, LogFormat, Needle, Sessions, ANCHOR};
use crate::edit::postfix_main::MainCf;
use crate::edit::{Named, SetValue};
use crate::impact::coverage::Gap;
use crate::impact::sources::Located;
use crate::impact::Event;
use crate::mta::{effective_values, find_program, MtaKind};

pub struct Postfix;

impl LogFormat for Postfix {
    fn mta(&self) -> MtaKind {
        MtaKind::Postfix
    }

    fn needles(&self) -> &'static [&'static str] {
        &["TLS connection established", "SSL_accept error", "SSL_connect error"]
    }

    fn parse<'a>(&self, line: &'a str, _: &mut Sessions) -> Option<Event<'a>> {
        static ESTABLISHED: Needle = Needle::new(" TLS connection established ");
        static WITH_CIPHER: Needle = Needle::new(" with cipher ");
        let tag = syslog_tag(line).filter(|t| t.starts_with("postfix"))?;
        let listener = listener(tag);
        if let Some(rest) = ESTABLISHED.after(line) {
            let rest = rest.strip_prefix("from ").or_else(|| rest.strip_prefix("to "))?;
            let (name, address) = name_and_address(rest)?;
            static COLON: Needle = Needle::new(": ");
            // After NAME[ADDR] (the address ends at the first ']').
            let after = &rest[name.len() + 1 + address.len() + 1..];
            let negotiated = COLON.after(after)?;
            let at = WITH_CIPHER.find(negotiated)?;
            let (protocol, rest) = (&negotiated[..at], &negotiated[at + " with cipher ".len()..]);
            let suite = &rest[..memchr::memchr(b' ', rest.as_bytes()).unwrap_or(rest.len())];
            return Some(Event::negotiated(
                MtaKind::Postfix,
                address,
                Some(name),
                listener,
                protocol,
                suite,
            ));
        }
        let at = line.find(" error from ").or_else(|| line.find(" error to "))?;
        let rest = &line[at..];
        let rest = rest
            .strip_prefix(" error from ")
            .or_else(|| rest.strip_prefix(" error to "))?;
        let (name, address) = name_and_address(rest)?;
        let reason = rest.split_once("]: ").map_or("handshake failed", |(_, r)| r);
        let what = if line.contains("SSL_connect") {
            "SSL_connect error"
        } else {
            "SSL_accept error"
        };
        Some(Event::failed(
            MtaKind::Postfix,
            address,
            Some(name),
            listener,
            format!("{what}: {reason}"),
        ))
    }

    /// `maillog_file` (postlogd) when set, else syslog.
    fn locate(&self, config: &Path) -> Located {
        let values = postconf(config, &["maillog_file"]);
        match values
            .get("maillog_file")
            .filter(|f| f.starts_with('/') && !f.starts_with("/dev/"))
        {
            Some(file) => Located {
                files: vec![PathBuf::from(file)],
                ..Default::default()
            },
            None => Located {
                files: Vec::new(),
                syslog: true,
                journal: vec!["SYSLOG_FACILITY=2".into()],
            },
        }
    }

    /// `smtpd_tls_loglevel = 0` logs no handshake (nor `smtp_tls_loglevel = 0` for deliveries).
    fn coverage(&self, config: &Path) -> Vec<Gap> {
        let names = ["smtpd_tls_loglevel", "smtp_tls_loglevel"];
        let values = postconf(config, &names);
        let main_cf = config.join("main.cf");
        let text = std::fs::read_to_string(&main_cf).ok();
        let mut gaps = Vec::new();
        for (name, direction) in names.into_iter().zip(["received", "sent"]) {
            let value = values.get(name).cloned().or_else(|| {
                let parsed = MainCf::parse(text.as_deref()?).ok()?;
                Some(parsed.get(name).unwrap_or_else(|| "0".into()))
            });
            if value.as_deref().is_some_and(|v| v.trim() != "0") {
                continue;
            }
            let mut gap = Gap {
                mta: MtaKind::Postfix,
                instance: config.to_path_buf(),
                what: format!(
                    "the log does not show the TLS of mail {direction}: {name} = {}",
                    value.as_deref().unwrap_or("0")
                ),
                setting: name.to_string(),
                before: value,
                after: "1".into(),
                change: None,
            };
            gap.change = text
                .as_deref()
                .and_then(|before| Some((main_cf.clone(), before.to_string(), self.enable(before, &gap)?)));
            gaps.push(gap);
        }
        gaps
    }

    fn enable(&self, text: &str, gap: &Gap) -> Option<String> {
        let mut parsed = MainCf::parse(text).ok()?;
        parsed.set(Named::new(&gap.setting, ANCHOR), &gap.after);
        Some(parsed.to_string())
    }
}

/// `postconf -c DIR NAME...` (empty when postconf cannot run).
fn postconf(config: &Path, names: &[&str]) -> std::collections::HashMap<String, String> {
    find_program("postconf")
        .map(|program| effective_values(&program, config, names))
        .unwrap_or_default()
}

/// `postfix/smtpd` is the smtp service, `postfix/NAME/smtpd` the service
/// master.cf names with `-o syslog_name=postfix/NAME`; the smtp and lmtp
/// clients are outbound.
fn listener(tag: &str) -> &str {
    let mut parts = tag.rsplit('/');
    let (last, service, first) = (parts.next(), parts.next(), parts.next());
    match (last, service, first) {
        (Some("smtp" | "lmtp"), _, _) => "outbound",
        (Some("smtpd"), Some(service), Some(_)) => service,
        (Some("smtpd"), _, _) => "smtp",
        (Some(last), _, _) => last,
        (None, _, _) => "smtp",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impact::Outcome;

    fn parse(line: &str) -> Option<Event<'_>> {
        Postfix.parse(line, &mut Sessions::default())
    }

    #[test]
    fn inbound_outbound_and_failures() {
        let e = parse("Dec  1 02:56:08 mx postfix/smtpd[123]: Anonymous TLS connection established from unknown[127.0.0.2]: TLSv1 with cipher ECDHE-RSA-AES256-SHA (256/256 bits)").unwrap();
        assert_eq!(
            (&*e.address, e.name.as_deref(), &*e.listener),
            ("127.0.0.2", None, "smtp")
        );
        assert_eq!(
            e.outcome,
            Outcome::Negotiated {
                protocol: "TLSv1".into(),
                suite: "ECDHE-RSA-AES256-SHA".into()
            }
        );
        let e = parse("2026-12-01T02:56:08.1+00:00 mx postfix/submission/smtpd[9]: Trusted TLS connection established from laptop.example.org[2001:db8::5]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256").unwrap();
        assert_eq!(
            (&*e.address, e.name.as_deref(), &*e.listener),
            ("2001:db8::5", Some("laptop.example.org"), "submission")
        );
        let e = parse("Dec  1 02:56:08 mx postfix/smtp[77]: Verified TLS connection established to mx.example.com[192.0.2.1]:25: TLSv1.2 with cipher ECDHE-RSA-AES128-GCM-SHA256 (128/128 bits)").unwrap();
        assert_eq!((&*e.address, &*e.listener), ("192.0.2.1", "outbound"));
        let e = parse("Dec  1 02:56:08 mx postfix/smtpd[1]: SSL_accept error from old.example.net[198.51.100.7]: -1")
            .unwrap();
        assert!(matches!(e.outcome, Outcome::Failed { .. }));
        assert_eq!(e.name.as_deref(), Some("old.example.net"));
        assert_eq!(
            parse("Dec  1 02:56:08 mx exim[1]: TLS connection established from x[1.2.3.4]: TLSv1"),
            None
        );
        assert_eq!(parse("Dec  1 02:56:08 mx postfix/smtpd[1]: Anonymous TLS connection established from unknown[127.0.0.2]: TLSv1 wi"), None);
    }
}
