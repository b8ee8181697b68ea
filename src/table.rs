//! The before/after table the guided flow ends with: for one listener, what
//! the server accepted before the change and what it accepts now, built from
//! two probe reports. Pure text; it neither probes nor prints.

use std::fmt::Write as _;

use crate::escape::escape;
use crate::probe::TargetReport;
use crate::tls::{CipherSuite, Protocol};

/// How strong a suite is, weakest first: 0 no real security (NULL,
/// anonymous, export), 1 broken primitives (RC4, single DES, MD5), 2 3DES
/// (Sweet32), 3 no forward secrecy (static RSA/DH key exchange, or a code
/// point the registry does not know), 4 forward secret CBC, 5 forward secret AEAD.
pub fn strength(suite: CipherSuite) -> u8 {
    let Some(name) = suite.iana_name() else {
        return 3;
    };
    let has = |part: &str| name.contains(part);
    if has("_NULL_") || name.ends_with("_NULL") || has("_anon_") || has("EXPORT") {
        0
    } else if has("_RC4_") || has("_DES_") || has("_DES40_") || name.ends_with("_MD5") {
        1
    } else if has("_3DES_") {
        2
    } else if !(suite.is_tls13() || name.starts_with("TLS_ECDHE_") || name.starts_with("TLS_DHE_")) {
        // Static RSA or DH key exchange: no forward secrecy.
        3
    } else if has("_CBC_") {
        4
    } else {
        5
    }
}

/// The weakest suite any accepted protocol accepts, with its protocol; the
/// oldest protocol wins a tie.
pub fn weakest(report: &TargetReport) -> Option<(Protocol, CipherSuite)> {
    let mut found: Option<(Protocol, CipherSuite)> = None;
    for (protocol, r) in report.protocols.iter().filter(|(_, r)| r.accepted) {
        for &suite in &r.cipher_suites {
            if found.is_none_or(|(_, best)| strength(suite) < strength(best)) {
                found = Some((*protocol, suite));
            }
        }
    }
    found
}

/// The rows of one report: protocols, TLS 1.2 suites, weakest suite, findings, certificate.
fn cells(report: &TargetReport) -> Vec<String> {
    if let Some(error) = report
        .error
        .as_ref()
        .filter(|_| report.protocols.values().all(|r| !r.accepted))
    {
        let failed = format!("probe failed: {}", escape(error));
        return vec![failed, "-".into(), "-".into(), "-".into(), "-".into()];
    }
    let accepted: Vec<&str> = report.accepted_names();
    let tls12 = report
        .protocols
        .get(&Protocol::TlsV1_2)
        .filter(|r| r.accepted)
        .map_or(0, |r| r.cipher_suites.len());
    let weakest = match weakest(report) {
        Some((p, s)) => format!("{s} ({})", p.name()),
        None => "-".into(),
    };
    let summary = report.summary();
    let findings = match summary.worst {
        Some(worst) => format!("{} (worst {})", summary.findings, worst.label()),
        None => "none".into(),
    };
    let certificate = match &report.certificate {
        Some(c) => format!(
            "{}, {}{}, until {}",
            escape(&c.subject),
            c.key_type,
            c.key_bits.map(|b| format!(" {b}")).unwrap_or_default(),
            c.not_after.split('T').next().unwrap_or(&c.not_after)
        ),
        None => "-".into(),
    };
    vec![accepted.join(" "), tls12.to_string(), weakest, findings, certificate]
}

/// The table for one listener, `before` and `after` in two columns.
pub fn before_after(before: &TargetReport, after: &TargetReport) -> String {
    const LABELS: [&str; 5] = [
        "protocols",
        "TLS 1.2 suites",
        "weakest suite",
        "findings",
        "certificate",
    ];
    let (old, new) = (cells(before), cells(after));
    let same_cert = match (&before.certificate, &after.certificate) {
        (Some(a), Some(b)) => a.sha256 == b.sha256,
        _ => false,
    };
    let width = old.iter().map(|c| c.chars().count()).max().unwrap_or(0).max(6) + 3;
    let mut out = String::new();
    let _ = writeln!(out, "{:<18}{:<width$}after", escape(&after.target), "before");
    for (i, label) in LABELS.iter().enumerate() {
        let now = if *label == "certificate" && same_cert {
            "(same)"
        } else {
            new[i].as_str()
        };
        let _ = writeln!(out, "  {label:<16}{:<width$}{now}", old[i]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{Proto, ProtocolReport, TlsStart};

    fn report(protocols: &[(Protocol, &[CipherSuite])]) -> TargetReport {
        let mut r = TargetReport::empty("127.0.0.1:25".into(), TlsStart::Starttls(Proto::Smtp));
        r.starttls_offered = true;
        for (p, suites) in protocols {
            r.protocols.insert(
                *p,
                ProtocolReport {
                    accepted: true,
                    cipher_suites: suites.to_vec(),
                    sslv2_ciphers: Vec::new(),
                    ..Default::default()
                },
            );
        }
        r
    }

    #[test]
    fn strength_orders_the_usual_suspects() {
        let order = [
            CipherSuite::TLS_RSA_WITH_NULL_SHA,
            CipherSuite::TLS_RSA_WITH_RC4_128_SHA,
            CipherSuite::TLS_RSA_WITH_3DES_EDE_CBC_SHA,
            CipherSuite::TLS_RSA_WITH_AES_128_GCM_SHA256,
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ];
        let strengths: Vec<u8> = order.iter().map(|s| strength(*s)).collect();
        assert_eq!(strengths, [0, 1, 2, 3, 4, 5]);
        assert_eq!(strength(CipherSuite::TLS_AES_128_GCM_SHA256), 5);
        assert_eq!(
            strength(CipherSuite(0xfefe)),
            3,
            "unknown code points are not called strong"
        );
    }

    #[test]
    fn the_table_shows_both_sides_and_the_weakest_suite() {
        let before = report(&[
            (
                Protocol::TlsV1_0,
                &[
                    CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
                    CipherSuite::TLS_RSA_WITH_3DES_EDE_CBC_SHA,
                ],
            ),
            (Protocol::TlsV1_2, &[CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]),
        ]);
        let after = report(&[
            (Protocol::TlsV1_2, &[CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]),
            (Protocol::TlsV1_3, &[CipherSuite::TLS_AES_128_GCM_SHA256]),
        ]);
        assert_eq!(
            weakest(&before),
            Some((Protocol::TlsV1_0, CipherSuite::TLS_RSA_WITH_3DES_EDE_CBC_SHA))
        );
        let table = before_after(&before, &after);
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[0].starts_with("127.0.0.1:25") && lines[0].ends_with("after"),
            "{table}"
        );
        assert!(
            lines[1].contains("TLSv1.0 TLSv1.2") && lines[1].ends_with("TLSv1.2 TLSv1.3"),
            "{table}"
        );
        assert!(
            lines[3].contains("TLS_RSA_WITH_3DES_EDE_CBC_SHA (TLSv1.0)")
                && lines[3].ends_with("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (TLSv1.2)"),
            "{table}"
        );
    }
}
