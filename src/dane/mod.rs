//! DANE for SMTP (RFC 7672): the TLSA records at `_25._tcp.HOST`, whether a
//! certificate chain matches them, and the records to publish for a new
//! certificate. Only usages 2 (DANE-TA) and 3 (DANE-EE) count for SMTP;
//! 0 and 1 are ignored, as RFC 7672 3.1.3 says. Records are secure only when
//! the resolver set the AD bit (`dns`); this module never validates DNSSEC.
//!
//! The commands use it: `commands::guard` refuses certificate changes that
//! would break DANE or MTA-STS senders; `commands::probe` drives `probe --mx`
//! with `lookup`, `served` and `chain_matches`.

pub mod args;
pub mod outbound;
pub mod served;

use hickory_proto::rr::{RData, RecordType};
use serde::Serialize;
use sha2::{Digest, Sha256, Sha512};

use crate::cert::hex;
use crate::dns::Resolver;

/// One TLSA record: usage, selector, matching type and data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tlsa {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    pub data: Vec<u8>,
}

impl std::fmt::Display for Tlsa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.usage,
            self.selector,
            self.matching,
            hex(&self.data)
        )
    }
}

impl Tlsa {
    /// The "3 1 1" record for a certificate's key: SHA-256 of its
    /// SubjectPublicKeyInfo. It survives a renewal with the same key.
    pub fn dane_ee_spki(cert_der: &[u8]) -> Option<Tlsa> {
        Some(Tlsa {
            usage: 3,
            selector: 1,
            matching: 1,
            data: Sha256::digest(spki(cert_der)?).to_vec(),
        })
    }

    /// Whether this record counts for SMTP (RFC 7672: usages 2 and 3 only,
    /// selectors 0 and 1, matching types 0, 1 and 2).
    pub fn usable(&self) -> bool {
        matches!(self.usage, 2 | 3) && self.selector <= 1 && self.matching <= 2
    }

    /// Whether the record matches `cert_der`.
    fn matches_cert(&self, cert_der: &[u8]) -> bool {
        let selected = match self.selector {
            0 => cert_der,
            1 => match spki(cert_der) {
                Some(s) => s,
                None => return false,
            },
            _ => return false,
        };
        match self.matching {
            0 => selected == self.data.as_slice(),
            1 => Sha256::digest(selected).as_slice() == self.data.as_slice(),
            2 => Sha512::digest(selected).as_slice() == self.data.as_slice(),
            _ => false,
        }
    }
}

/// Whether any usable record matches the chain (leaf first, DER), as a
/// sending MTA checks it (RFC 7672 3.1): DANE-EE (3) against the leaf alone,
/// with no name or date checks; DANE-TA (2) against a certificate above the
/// leaf, and then the leaf must name `host`.
pub fn chain_matches(records: &[Tlsa], chain: &[Vec<u8>], host: &str) -> bool {
    let Some(leaf) = chain.first() else {
        return false;
    };
    records.iter().filter(|r| r.usable()).any(|r| match r.usage {
        3 => r.matches_cert(leaf),
        2 => chain[1..].iter().any(|c| r.matches_cert(c)) && crate::mta_sts::names_host(leaf, host),
        _ => false,
    })
}

/// The SubjectPublicKeyInfo of a DER certificate.
fn spki(cert_der: &[u8]) -> Option<&[u8]> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der).ok()?;
    Some(cert.tbs_certificate.subject_pki.raw)
}

/// The DANE state of one SMTP host, as `probe` reports it and `guard` reads it.
#[derive(Clone, Debug, Serialize)]
pub struct DaneState {
    /// `_25._tcp.HOST`.
    pub name: String,
    /// The resolver vouched for the records (AD bit), or for their absence.
    /// Records that are not secure are ignored by senders (RFC 7672 2.2).
    pub secure: bool,
    /// The records as text ("3 1 1 ab..."), all of them, usable or not.
    pub records: Vec<String>,
    /// Whether a usable record matches the served (or new) chain; null when
    /// there is nothing to match (no secure records, or no chain).
    pub matches: Option<bool>,
    pub error: Option<String>,
    /// The time to live of the records, for the rollover advice.
    #[serde(skip)]
    pub ttl: u32,
    #[serde(skip)]
    pub tlsa: Vec<Tlsa>,
    /// The resolver gave no answer at all (timeout, unreachable): nothing is
    /// known, unlike a SERVFAIL, which says the records are bogus.
    #[serde(skip)]
    pub unanswered: bool,
}

impl DaneState {
    /// Secure records that count for SMTP: DANE applies to this host.
    pub fn applies(&self) -> bool {
        self.error.is_none() && self.secure && self.tlsa.iter().any(Tlsa::usable)
    }
}

/// Looks up `_25._tcp.HOST` TLSA through `resolver`; `port` is 25 for SMTP.
pub fn lookup(resolver: &Resolver, host: &str, port: u16) -> DaneState {
    let name = format!("_{port}._tcp.{}", host.trim_end_matches('.'));
    let answer = resolver.lookup(&name, RecordType::TLSA);
    let tlsa: Vec<Tlsa> = answer
        .records
        .iter()
        .filter_map(|r| match r.data() {
            RData::TLSA(t) => Some(Tlsa {
                usage: t.cert_usage().into(),
                selector: t.selector().into(),
                matching: t.matching().into(),
                data: t.cert_data().to_vec(),
            }),
            _ => None,
        })
        .collect();
    let ttl = answer.records.iter().map(|r| r.ttl()).max().unwrap_or(0);
    let error = answer.error.clone();
    DaneState {
        unanswered: answer.error.is_some() && answer.rcode.is_empty(),
        records: tlsa.iter().map(Tlsa::to_string).collect(),
        secure: answer.secure && answer.error.is_none(),
        matches: None,
        error,
        ttl,
        tlsa,
        name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_print_as_zone_data_and_only_usages_2_and_3_count() {
        let r = Tlsa {
            usage: 3,
            selector: 1,
            matching: 1,
            data: vec![0xab, 0x01],
        };
        assert_eq!(r.to_string(), "3 1 1 ab01");
        assert!(r.usable());
        assert!(!Tlsa { usage: 1, ..r.clone() }.usable());
        assert!(!Tlsa { matching: 3, ..r }.usable());
    }
}
