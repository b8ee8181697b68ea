//! What a scan found about one target, as data (serialized for `--json`)
//! and as the compact human table.
//!
//! `mailtls probe --json` prints one document:
//!
//! ```text
//! {"targets": [{
//!   "target": "127.0.0.1:25",            host:port as scanned
//!   "starttls": "smtp",                  smtp | imap | pop3 | none (implicit TLS)
//!   "starttls_offered": true,            false: "STARTTLS not supported" (see error)
//!   "error": null,                       why the target could not be (fully) scanned
//!   "protocols": {                       all six, always present
//!     "SSLv2":   {"accepted": false, "cipher_suites": []},   + "sslv2_ciphers": [...] when accepted
//!     "SSLv3":   {...}, "TLSv1.0": {...}, "TLSv1.1": {...},
//!     "TLSv1.2": {"accepted": true, "cipher_suites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", ...]},
//!     "TLSv1.3": {"accepted": true, "cipher_suites": ["TLS_AES_128_GCM_SHA256", ...]}},
//!   "groups": ["X25519", "secp256r1", ...],   IANA names; unknown code points as "0x1234"
//!   "dh_bits": 2048,                     smallest DHE group of an authenticated suite (of an
//!                                        anonymous one only when there is no other); null without DHE
//!   "server_cipher_order": true,         null when it cannot be told (under two suites)
//!   "extended_master_secret": true,      RFC 7627; these three are null without TLS 1.2 or older
//!   "secure_renegotiation": true,        RFC 5746 renegotiation_info answered
//!   "compression": false,                DEFLATE taken when offered (CRIME)
//!   "client_renegotiation": false,       a renegotiation the client starts is accepted; null when
//!                                        untried (needs TLS 1.2 RSA key exchange with AES-GCM)
//!   "certificate": {"sha256", "subject", "issuer", "not_before", "not_after" (RFC 3339),
//!     "expired", "not_yet_valid", "lifespan_days", "key_type", "key_bits", "curve",
//!     "signature_algorithm", "subject_alt_names", "chain_length", "self_signed",
//!     "snakeoil", "trusted", "trust_error", "hostname", "hostname_match", "obtained_with"},
//!   "other_certificates": [...],         only for servers holding RSA and ECDSA certificates
//!   "findings": [{"severity": "info|low|medium|high", "id": "protocol-tlsv1.0", "message": "..."}],
//!   "profile": "intermediate", "compliant": false,   only with --profile
//!   "connections": 126, "elapsed_ms": 80   connections opened, retries included
//! }],
//! "summary": [{"target", "starttls_offered", "lowest_protocol": "TLSv1.0" or null,
//!   "compliant": null|bool, "findings": 4, "worst": "medium" or null, "error": null}]}
//! ```
//!
//! Cipher suites carry their IANA names; code points the registry does not
//! know print as "0x1234".

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Serialize, Serializer};

use super::cert::CertificateReport;
use super::{Proto, TlsStart};
use crate::escape::escape;
use crate::tls::{CipherSuite, Group, Protocol};

/// One protocol version: accepted or not, and the suites it accepts.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ProtocolReport {
    pub accepted: bool,
    /// In the order the server picked them during elimination (its
    /// preference order when it imposes one).
    pub cipher_suites: Vec<CipherSuite>,
    /// SSLv2 cipher kinds (they have no TLS code point).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sslv2_ciphers: Vec<String>,
    /// Each accepted suite's tier, by name, when judged against a profile
    /// with `[tiers]` (`probe --profile`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tiers: BTreeMap<String, crate::tiers::Tier>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    /// `info`, `low`, `MEDIUM`, `HIGH`: the upper case ones need action.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
        }
    }
}

/// One thing worth telling. `id` is stable for scripts ("protocol-sslv3",
/// "profile-suite-not-allowed", ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub id: String,
    pub message: String,
}

impl Finding {
    pub fn new(severity: Severity, id: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding {
            severity,
            id: id.into(),
            message: message.into(),
        }
    }
}

/// Everything the probe learned about one target.
#[derive(Clone, Debug, Serialize)]
pub struct TargetReport {
    pub target: String,
    pub starttls: TlsStart,
    /// For STARTTLS dialogues: whether the server advertised it. True for implicit TLS that connected.
    pub starttls_offered: bool,
    /// Why the target could not be scanned (completely); null otherwise.
    pub error: Option<String>,
    #[serde(serialize_with = "by_protocol_name")]
    pub protocols: BTreeMap<Protocol, ProtocolReport>,
    pub groups: Vec<Group>,
    /// The size of the finite-field DHE group the server uses (the smallest
    /// seen), in bits; null without DHE suites.
    pub dh_bits: Option<u32>,
    pub server_cipher_order: Option<bool>,
    /// RFC 7627, answered in a TLS 1.2-or-older ServerHello; null without those.
    pub extended_master_secret: Option<bool>,
    /// RFC 5746 (renegotiation_info answered); null without TLS 1.2 or older.
    pub secure_renegotiation: Option<bool>,
    /// The server takes DEFLATE compression (CRIME); null without TLS 1.2 or older.
    pub compression: Option<bool>,
    /// The server accepts a renegotiation the client starts (a DoS lever);
    /// null when it could not be tried (it needs RSA key exchange with
    /// AES-GCM in TLS 1.2, the one full handshake the probe does by hand).
    pub client_renegotiation: Option<bool>,
    pub certificate: Option<CertificateReport>,
    /// Further certificates of a server that holds several (RSA and ECDSA).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_certificates: Vec<CertificateReport>,
    pub findings: Vec<Finding>,
    /// The profile judged against (`--profile`), and whether the target complies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliant: Option<bool>,
    /// Connections made, and how long the scan took.
    pub connections: usize,
    pub elapsed_ms: u64,
}

fn by_protocol_name<S: Serializer>(map: &BTreeMap<Protocol, ProtocolReport>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(map.iter().map(|(p, r)| (p.name(), r)))
}

impl TargetReport {
    /// A report with nothing found yet: every protocol refused.
    pub fn empty(target: String, starttls: TlsStart) -> TargetReport {
        TargetReport {
            target,
            starttls,
            starttls_offered: false,
            error: None,
            protocols: Protocol::ALL
                .into_iter()
                .map(|p| (p, ProtocolReport::default()))
                .collect(),
            groups: Vec::new(),
            dh_bits: None,
            server_cipher_order: None,
            extended_master_secret: None,
            secure_renegotiation: None,
            compression: None,
            client_renegotiation: None,
            certificate: None,
            other_certificates: Vec::new(),
            findings: Vec::new(),
            profile: None,
            compliant: None,
            connections: 0,
            elapsed_ms: 0,
        }
    }

    pub fn accepts(&self, p: Protocol) -> bool {
        self.protocols.get(&p).is_some_and(|r| r.accepted)
    }

    /// The names of the protocols accepted, oldest first ("TLSv1.2").
    pub fn accepted_names(&self) -> Vec<&'static str> {
        self.protocols
            .iter()
            .filter(|(_, r)| r.accepted)
            .map(|(p, _)| p.name())
            .collect()
    }

    /// The compact table for people.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} ({}, {} ms, {} connections)",
            escape(&self.target),
            dialogue_name(self.starttls),
            self.elapsed_ms,
            self.connections
        );
        if let Some(e) = &self.error {
            let _ = writeln!(out, "  error: {}", escape(e));
        }
        if self.error.is_none() || self.protocols.values().any(|p| p.accepted) {
            for (p, r) in &self.protocols {
                if !r.accepted {
                    let _ = writeln!(out, "  {:<8} refused", p.name());
                    continue;
                }
                let n = r.cipher_suites.len() + r.sslv2_ciphers.len();
                let _ = writeln!(
                    out,
                    "  {:<8} ACCEPTED  {n} suite{}",
                    p.name(),
                    if n == 1 { "" } else { "s" }
                );
                for s in &r.cipher_suites {
                    let _ = writeln!(out, "             {s}");
                }
                for s in &r.sslv2_ciphers {
                    let _ = writeln!(out, "             {s}");
                }
            }
            let groups: Vec<String> = self.groups.iter().map(|g| g.to_string()).collect();
            let _ = writeln!(
                out,
                "  groups   {}",
                if groups.is_empty() {
                    "-".into()
                } else {
                    groups.join(" ")
                }
            );
            let order = match self.server_cipher_order {
                Some(true) => "server",
                Some(false) => "client",
                None => "unknown",
            };
            let _ = writeln!(out, "  order    {order} chooses the cipher suite");
            let yes_no = |v: Option<bool>| match v {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            };
            let dh = self.dh_bits.map(|b| format!("{b} bits")).unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "  dh       {dh}   extended master secret {}   secure renegotiation {}   client renegotiation {}   compression {}",
                yes_no(self.extended_master_secret),
                yes_no(self.secure_renegotiation),
                match self.client_renegotiation {
                    Some(true) => "ACCEPTED",
                    Some(false) => "refused",
                    None => "-",
                },
                match self.compression {
                    Some(true) => "DEFLATE",
                    Some(false) => "none",
                    None => "-",
                }
            );
        }
        for c in self.certificate.iter().chain(&self.other_certificates) {
            let bits = c.key_bits.map(|b| format!(" {b}")).unwrap_or_default();
            let _ = writeln!(
                out,
                "  cert     {}  ({}{bits}, {})",
                escape(&c.subject),
                escape(&c.key_type),
                escape(&c.signature_algorithm)
            );
            let _ = writeln!(out, "           issuer {}", escape(&c.issuer));
            let _ = writeln!(
                out,
                "           valid {} .. {}{}",
                c.not_before,
                c.not_after,
                if c.expired { " EXPIRED" } else { "" }
            );
            let _ = writeln!(
                out,
                "           {} for {}, {}{}, sha256 {}",
                if c.hostname_match { "matches" } else { "DOES NOT MATCH" },
                escape(&c.hostname),
                if c.trusted { "trusted" } else { "untrusted" },
                if c.self_signed { ", self-signed" } else { "" },
                &c.sha256[..16.min(c.sha256.len())]
            );
        }
        for f in &self.findings {
            let _ = writeln!(out, "  [{:<6}] {}", f.severity.label(), escape(&f.message));
        }
        if let (Some(p), Some(ok)) = (&self.profile, self.compliant) {
            let verdict = if ok { "complies" } else { "DOES NOT COMPLY" };
            let _ = writeln!(out, "  profile  {}: {verdict}", escape(p));
        }
        out
    }
}

/// One host's verdict in a line, for the end of a fleet scan (and `--json`'s `summary`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub target: String,
    pub starttls_offered: bool,
    /// The oldest protocol version accepted; null when none was.
    pub lowest_protocol: Option<&'static str>,
    /// Judged against a profile (`--profile`): whether it complies.
    pub compliant: Option<bool>,
    pub findings: usize,
    /// The most severe finding's severity.
    pub worst: Option<Severity>,
    pub error: Option<String>,
}

impl TargetReport {
    pub fn summary(&self) -> Summary {
        Summary {
            target: self.target.clone(),
            starttls_offered: self.starttls_offered,
            lowest_protocol: self.protocols.iter().find(|(_, r)| r.accepted).map(|(p, _)| p.name()),
            compliant: self.compliant,
            findings: self.findings.len(),
            worst: self.findings.iter().map(|f| f.severity).max(),
            error: self.error.clone(),
        }
    }
}

impl Summary {
    /// `mx1:25  STARTTLS yes  lowest TLSv1.0  does not comply with intermediate (4 findings, worst MEDIUM)`.
    pub fn line(&self, profile: Option<&str>) -> String {
        let starttls = if self.starttls_offered { "yes" } else { "NO" };
        let lowest = self.lowest_protocol.unwrap_or("-");
        let findings = match (self.findings, self.worst) {
            (0, _) | (_, None) => "no findings".to_string(),
            (1, Some(w)) => format!("1 finding, {}", w.label()),
            (n, Some(w)) => format!("{n} findings, worst {}", w.label()),
        };
        let verdict = match (self.compliant, profile) {
            (Some(true), Some(p)) => format!("complies with {}", escape(p)),
            (Some(false), Some(p)) => format!("DOES NOT COMPLY with {} ({findings})", escape(p)),
            _ => findings,
        };
        let error = self
            .error
            .as_ref()
            .map(|e| format!("  error: {}", escape(e)))
            .unwrap_or_default();
        format!(
            "{:<24} STARTTLS {starttls:<3}  lowest {lowest:<7}  {verdict}{error}",
            escape(&self.target)
        )
    }
}

fn dialogue_name(s: TlsStart) -> &'static str {
    match s {
        TlsStart::Starttls(Proto::Smtp) => "SMTP STARTTLS",
        TlsStart::Starttls(Proto::Imap) => "IMAP STARTTLS",
        TlsStart::Starttls(Proto::Pop3) => "POP3 STLS",
        TlsStart::Implicit => "implicit TLS",
        TlsStart::Off => "no TLS",
    }
}
