//! Exim (`tls_cipher` is in the default log_selector): the cipher is on the
//! message lines only, `<=` received and `=>` delivered, as
//! `X=TLS1.3:TLS_AES_256_GCM_SHA384:256` (OpenSSL builds) or GnuTLS's
//! `X=TLS1.2:ECDHE_SECP256R1__RSA_SHA256__AES_256_GCM:256`. Failures:
//! `TLS error on connection from NAME [ADDR] ...`. `I=[ADDR]:PORT`
//! (`+incoming_interface`) names the listener's port when it is logged.

use std::path::{Path, PathBuf};

use super::{field, LogFormat, Needle, Sessions};
use crate::impact::coverage::Gap;
use crate::impact::sources::Located;
use crate::impact::Event;
use crate::mta::MtaKind;

pub struct Exim;

impl LogFormat for Exim {
    fn mta(&self) -> MtaKind {
        MtaKind::Exim
    }

    fn needles(&self) -> &'static [&'static str] {
        // X= always starts with the protocol: X=TLS1.2:..., X=TLSv1.3:...
        &[" X=TLS", "TLS error on connection "]
    }

    fn parse<'a>(&self, line: &'a str, _: &mut Sessions) -> Option<Event<'a>> {
        static TLS_ERROR: Needle = Needle::new("TLS error on connection ");
        static CIPHER: Needle = Needle::new(" X=");
        if let Some(rest) = TLS_ERROR.after(line) {
            let (name, address) = host(rest.trim_start_matches("from ").trim_start_matches("to "))?;
            let reason = rest.split_once("): ").map_or("handshake failed", |(_, r)| r);
            let listener = if rest.starts_with("to ") { "outbound" } else { "smtp" };
            return Some(Event::failed(MtaKind::Exim, address, name, listener, reason));
        }
        if !CIPHER.in_(line) {
            return None;
        }
        let inbound = line.contains(" <= ");
        if !inbound && !line.contains(" => ") && !line.contains(" -> ") {
            return None;
        }
        let cipher = field(line, " X=", &[' '])?;
        let mut parts = cipher.split(':');
        let (protocol, suite) = (parts.next()?, parts.next()?);
        let (name, address) = host(field(line, " H=", &['='])?)?;
        let listener = match field(line, " I=[", &[' ']).and_then(|i| i.rsplit_once("]:")) {
            Some((_, port)) if inbound => port,
            _ if inbound => "smtp",
            _ => "outbound",
        };
        Some(Event::negotiated(
            MtaKind::Exim,
            address,
            name,
            listener,
            protocol,
            suite,
        ))
    }

    /// `log_file_path` (`%s` is `main`; `syslog` means syslog); unset, the
    /// distribution's main log: Debian's /var/log/exim4/mainlog, else /var/log/exim/main.log.
    fn locate(&self, config: &Path) -> Located {
        let path = main_text(config).and_then(|t| option(&t, "log_file_path"));
        let mut located = Located::default();
        match path {
            Some(value) => {
                for entry in value.split(':').map(str::trim).filter(|e| !e.is_empty()) {
                    if entry == "syslog" {
                        located.syslog = true;
                        located.journal = vec!["SYSLOG_FACILITY=2".into()];
                    } else {
                        located
                            .files
                            .push(PathBuf::from(entry.replace("%s", "main").replace("%D", "")));
                    }
                }
            }
            None => {
                located.files = ["/var/log/exim4/mainlog", "/var/log/exim/main.log"]
                    .iter()
                    .map(PathBuf::from)
                    .filter(|p| p.is_file())
                    .take(1)
                    .collect()
            }
        }
        located
    }

    /// `log_selector = -tls_cipher` removes the cipher from every line.
    fn coverage(&self, config: &Path) -> Vec<Gap> {
        let selector = main_text(config).and_then(|t| option(&t, "log_selector"));
        match selector {
            Some(s) if s.split_whitespace().any(|w| w == "-tls_cipher") => vec![Gap {
                mta: MtaKind::Exim,
                instance: config.to_path_buf(),
                what: "log_selector removes tls_cipher: no line shows what a peer negotiated".into(),
                setting: "log_selector".into(),
                before: Some(s.clone()),
                after: s
                    .split_whitespace()
                    .filter(|w| *w != "-tls_cipher")
                    .collect::<Vec<_>>()
                    .join(" "),
                change: None,
            }],
            _ => Vec::new(),
        }
    }
}

/// The config text where main options are: the file itself, or Debian's
/// generated `exim4.conf.template` in a config folder.
fn main_text(config: &Path) -> Option<String> {
    let file = if config.is_dir() {
        config.join("exim4.conf.template")
    } else {
        config.to_path_buf()
    };
    std::fs::read_to_string(file).ok()
}

/// The last `name = value` line (before any `begin` section).
fn option(text: &str, name: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("begin "))
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().to_string())
        .last()
}

/// `name (helo) [addr]:port`, `(helo) [addr]`, `[addr]`: the name when there is one, and the address.
fn host(text: &str) -> Option<(Option<&str>, &str)> {
    let open = text.find('[')?;
    let close = open + text[open..].find(']')?;
    let name = text[..open].split_whitespace().next().filter(|n| !n.starts_with('('));
    Some((name, &text[open + 1..close]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impact::Outcome;

    #[test]
    fn received_delivered_and_errors() {
        let mut s = Sessions::default();
        let e = Exim.parse("2026-12-01 02:56:08 1tXYZa-000123-AB <= a@example.org H=(client) [127.0.0.2]:40000 I=[127.0.0.1]:2526 P=esmtps X=TLS1.0:ECDHE_RSA_AES_256_CBC_SHA1:256 CV=no S=300", &mut s).unwrap();
        assert_eq!((&*e.address, e.name, &*e.listener), ("127.0.0.2", None, "2526"));
        assert_eq!(
            e.outcome,
            Outcome::Negotiated {
                protocol: "TLS1.0".into(),
                suite: "ECDHE_RSA_AES_256_CBC_SHA1".into()
            }
        );
        let e = Exim.parse("2026-12-01 02:56:08 1tXYZa-000124-AB => b@example.net R=dnslookup T=remote_smtp H=mx.example.net [192.0.2.9] X=TLSv1.3:TLS_AES_256_GCM_SHA384:256 CV=yes C=\"250 OK\"", &mut s).unwrap();
        assert_eq!(
            (&*e.address, e.name.as_deref(), &*e.listener),
            ("192.0.2.9", Some("mx.example.net"), "outbound")
        );
        let e = Exim.parse("2026-12-01 02:56:08 TLS error on connection from old.example [198.51.100.3] (gnutls_handshake): Could not negotiate a supported cipher suite.", &mut s).unwrap();
        assert_eq!(
            e.outcome,
            Outcome::Failed {
                reason: "Could not negotiate a supported cipher suite.".into()
            }
        );
        assert_eq!(e.name.as_deref(), Some("old.example"));
        assert_eq!(
            Exim.parse("2026-12-01 02:56:08 1tXYZa-000124-AB Completed", &mut s),
            None
        );
    }
}
