//! The words every layer shares: which mail server (`MtaKind`), a network
//! `Listener`, and how a connection starts TLS (`TlsStart`). Backends say
//! what their config declares in these words, plans carry them, verify and
//! the probe act on them.
//!
//! This module imports nothing of mailtls's own, so every layer can point
//! down to it without making a cycle.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest any wait may be, in seconds (`--reload-timeout`, `probe
/// --timeout`): an hour. Every number on the command line is bounded when it
/// is parsed, so no deadline computed from one can overflow.
pub const MAX_SECONDS: u64 = 3600;

/// The mail servers mailtls knows. The name (`--mta`, JSON, the journal) is
/// the variant's in lower case; each has one backend in `mta::BACKENDS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MtaKind {
    Postfix,
    Dovecot,
    Exim,
    Sendmail,
    Opensmtpd,
    Cyrus,
}

impl MtaKind {
    /// The lower-case name, as `--mta`, JSON and the journal spell it.
    pub fn name(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for MtaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // clap's value name is the serde name: one spelling, derived, never listed by hand.
        match clap::ValueEnum::to_possible_value(self) {
            Some(value) => f.write_str(value.get_name()),
            None => write!(f, "{self:?}"),
        }
    }
}

/// An application protocol that can upgrade to TLS in band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Smtp,
    Imap,
    Pop3,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Smtp => "smtp",
            Proto::Imap => "imap",
            Proto::Pop3 => "pop3",
        }
    }
}

/// A protocol name that is not `smtp`, `imap` or `pop3`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownProto(pub String);

impl fmt::Display for UnknownProto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown protocol {:?} (smtp, imap or pop3)", self.0)
    }
}

impl std::str::FromStr for Proto {
    type Err = UnknownProto;
    fn from_str(name: &str) -> Result<Proto, UnknownProto> {
        match name {
            "smtp" => Ok(Proto::Smtp),
            "imap" => Ok(Proto::Imap),
            "pop3" => Ok(Proto::Pop3),
            other => Err(UnknownProto(other.to_string())),
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a connection starts TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlsStart {
    /// Plaintext first, then the protocol's upgrade command (SMTP on 25/587, IMAP 143, POP3 110).
    Starttls(Proto),
    /// TLS from the first byte (465, 993, 995).
    Implicit,
    /// No TLS at all.
    Off,
}

impl TlsStart {
    /// The dialogue a port usually speaks: 25/587 SMTP STARTTLS, 465/993/995
    /// implicit TLS, 143 IMAP, 110 POP3 (anything else: SMTP).
    pub fn for_port(port: u16) -> TlsStart {
        match port {
            143 => TlsStart::Starttls(Proto::Imap),
            110 => TlsStart::Starttls(Proto::Pop3),
            465 | 993 | 995 => TlsStart::Implicit,
            _ => TlsStart::Starttls(Proto::Smtp),
        }
    }

    /// The name `probe --json` gives the dialogue: the protocol, or `none` for implicit TLS.
    pub fn name(self) -> &'static str {
        match self {
            TlsStart::Starttls(proto) => proto.name(),
            TlsStart::Implicit => "none",
            TlsStart::Off => "off",
        }
    }

    /// The port a dialogue uses when a probe target names none.
    pub fn default_port(self) -> u16 {
        match self {
            TlsStart::Starttls(Proto::Smtp) => 25,
            TlsStart::Starttls(Proto::Imap) => 143,
            TlsStart::Starttls(Proto::Pop3) => 110,
            TlsStart::Implicit | TlsStart::Off => 465,
        }
    }

    /// Whether TLS is served at all.
    pub fn is_tls(self) -> bool {
        self != TlsStart::Off
    }
}

impl Serialize for TlsStart {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl fmt::Display for TlsStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsStart::Starttls(Proto::Pop3) => f.write_str("STLS"),
            TlsStart::Starttls(_) => f.write_str("STARTTLS"),
            TlsStart::Implicit => f.write_str("implicit TLS"),
            TlsStart::Off => f.write_str("no TLS"),
        }
    }
}

/// What a listener is for, as per-listener floors name it: `smtp` (port 25,
/// server to server, opportunistic), `submission` (587 and 465, clients),
/// `imap` (143, 993) and `pop3` (110, 995).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListenerKind {
    Smtp,
    Submission,
    Imap,
    Pop3,
}

impl ListenerKind {
    pub const ALL: [ListenerKind; 4] = [
        ListenerKind::Smtp,
        ListenerKind::Submission,
        ListenerKind::Imap,
        ListenerKind::Pop3,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ListenerKind::Smtp => "smtp",
            ListenerKind::Submission => "submission",
            ListenerKind::Imap => "imap",
            ListenerKind::Pop3 => "pop3",
        }
    }

    /// The kind of a listener: SMTP with implicit TLS, on 587, or in a
    /// service named for submission is `submission`; any other SMTP one `smtp`.
    pub fn of(listener: &Listener) -> ListenerKind {
        match listener.protocol {
            Proto::Imap => ListenerKind::Imap,
            Proto::Pop3 => ListenerKind::Pop3,
            Proto::Smtp
                if listener.tls == TlsStart::Implicit
                    || listener.port == 587
                    || listener.service.contains("submission") =>
            {
                ListenerKind::Submission
            }
            Proto::Smtp => ListenerKind::Smtp,
        }
    }
}

impl std::str::FromStr for ListenerKind {
    type Err = String;
    fn from_str(name: &str) -> Result<ListenerKind, String> {
        ListenerKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| format!("unknown listener kind {name:?} (smtp, submission, imap or pop3)"))
    }
}

impl fmt::Display for ListenerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A network listener a server declares, and what it speaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "ListenerRecord", from = "ListenerRecord")]
pub struct Listener {
    /// The service as the config names it (`smtp`, `submission`, `127.0.0.1:2525`).
    pub service: String,
    pub protocol: Proto,
    /// Where a local probe reaches it.
    pub host: String,
    pub port: u16,
    /// How TLS starts; `Starttls` carries `protocol`.
    pub tls: TlsStart,
}

/// A listener as JSON and the journal spell it: `"tls": "starttls" | "implicit" | "none"`.
#[derive(Serialize, Deserialize)]
struct ListenerRecord {
    service: String,
    protocol: Proto,
    host: String,
    port: u16,
    tls: TlsRecord,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum TlsRecord {
    Starttls,
    Implicit,
    None,
}

impl From<Listener> for ListenerRecord {
    fn from(l: Listener) -> ListenerRecord {
        ListenerRecord {
            service: l.service,
            protocol: l.protocol,
            host: l.host,
            port: l.port,
            tls: match l.tls {
                TlsStart::Starttls(_) => TlsRecord::Starttls,
                TlsStart::Implicit => TlsRecord::Implicit,
                TlsStart::Off => TlsRecord::None,
            },
        }
    }
}

impl From<ListenerRecord> for Listener {
    fn from(r: ListenerRecord) -> Listener {
        Listener {
            tls: match r.tls {
                TlsRecord::Starttls => TlsStart::Starttls(r.protocol),
                TlsRecord::Implicit => TlsStart::Implicit,
                TlsRecord::None => TlsStart::Off,
            },
            service: r.service,
            protocol: r.protocol,
            host: r.host,
            port: r.port,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_keep_their_json_and_journal_spelling() {
        let l = Listener {
            service: "imap-login/imap".into(),
            protocol: Proto::Imap,
            host: "127.0.0.1".into(),
            port: 143,
            tls: TlsStart::Starttls(Proto::Imap),
        };
        let json = serde_json::to_string(&l).unwrap();
        assert_eq!(
            json,
            r#"{"service":"imap-login/imap","protocol":"imap","host":"127.0.0.1","port":143,"tls":"starttls"}"#
        );
        assert_eq!(serde_json::from_str::<Listener>(&json).unwrap(), l);
        assert_eq!(MtaKind::Opensmtpd.name(), "opensmtpd");
    }
}
