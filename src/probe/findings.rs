//! Findings that need no profile: what is broken or weak by any standard
//! (legacy protocols, export/NULL/anonymous/RC4/DES suites, certificate
//! problems). Judging against a profile is `judge`'s job.

use super::report::{Finding, Severity, TargetReport};
use crate::tls::Protocol;

pub fn general(r: &TargetReport) -> Vec<Finding> {
    let mut out = Vec::new();
    for (p, sev) in [
        (Protocol::SslV2, Severity::High),
        (Protocol::SslV3, Severity::High),
        (Protocol::TlsV1_0, Severity::Medium),
        (Protocol::TlsV1_1, Severity::Medium),
    ] {
        if r.accepts(p) {
            out.push(Finding::new(
                sev,
                format!("protocol-{}", p.name().to_lowercase()),
                format!("{p} is accepted (RFC 8996 deprecates everything below TLS 1.2)"),
            ));
        }
    }
    if r.error.is_none() && !r.accepts(Protocol::TlsV1_3) {
        out.push(Finding::new(Severity::Low, "no-tlsv1.3", "TLS 1.3 is not accepted"));
    }
    let weak = [
        ("_anon_", "anonymous (no authentication)"),
        ("_NULL_", "NULL encryption"),
        ("EXPORT", "export-grade"),
        ("_RC4_", "RC4"),
        ("_DES_", "single DES"),
        ("_DES40_", "40-bit DES"),
        ("_3DES_", "3DES (Sweet32)"),
        ("_MD5", "MD5 MAC"),
    ];
    for (p, pr) in &r.protocols {
        for (pattern, what) in weak {
            let hits: Vec<String> = pr
                .cipher_suites
                .iter()
                .filter(|s| s.to_string().contains(pattern))
                .map(|s| s.to_string())
                .collect();
            if !hits.is_empty() {
                let id = format!(
                    "weak-suite-{}",
                    what.split_whitespace().next().unwrap_or("x").to_lowercase()
                );
                out.push(Finding::new(
                    Severity::Medium,
                    id,
                    format!("{p} accepts {} {what} suite(s): {}", hits.len(), hits.join(", ")),
                ));
            }
        }
    }
    for c in r.certificate.iter().chain(&r.other_certificates) {
        if c.expired {
            out.push(Finding::new(
                Severity::High,
                "cert-expired",
                format!("the certificate expired on {}", c.not_after),
            ));
        }
        if c.not_yet_valid {
            out.push(Finding::new(
                Severity::High,
                "cert-not-yet-valid",
                format!("the certificate is valid only from {}", c.not_before),
            ));
        }
        if c.snakeoil {
            out.push(Finding::new(
                Severity::Medium,
                "cert-snakeoil",
                "the certificate is a distribution's placeholder (snakeoil): install a real one",
            ));
        } else if c.self_signed {
            out.push(Finding::new(
                Severity::Low,
                "cert-self-signed",
                "the certificate is self-signed",
            ));
        }
        if !c.trusted && !c.self_signed {
            let why = c.trust_error.clone().unwrap_or_default();
            out.push(Finding::new(
                Severity::Low,
                "cert-untrusted",
                format!("the chain does not lead to a trusted root: {why}"),
            ));
        }
        if !c.hostname_match {
            out.push(Finding::new(
                Severity::Low,
                "cert-hostname",
                format!("the certificate is not valid for {}", c.hostname),
            ));
        }
        if c.key_type == "RSA" && c.key_bits.is_some_and(|b| b < 2048) {
            out.push(Finding::new(
                Severity::High,
                "cert-rsa-weak",
                format!("RSA key of {} bits (2048 at least)", c.key_bits.unwrap_or(0)),
            ));
        }
        if c.signature_algorithm.contains("SHA1")
            || c.signature_algorithm.contains("sha1")
            || c.signature_algorithm.contains("md5")
        {
            out.push(Finding::new(
                Severity::Medium,
                "cert-weak-signature",
                format!("the certificate is signed with {}", c.signature_algorithm),
            ));
        }
    }
    out
}
