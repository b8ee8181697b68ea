//! Compliance: a scan result held against a profile. What the server
//! accepts that the profile forbids, and what it refuses that the profile
//! wants. `apply` calls this after a reload; `probe --profile` prints it.

use super::report::{Finding, Severity, TargetReport};
use crate::profile::Profile;
use crate::tls::{CipherSuite, Protocol};

/// Findings that make the target non-compliant with `profile` (empty: complies).
pub fn judge(report: &TargetReport, profile: &Profile) -> Vec<Finding> {
    let mut out = Vec::new();
    let id = |s: &str| format!("profile-{s}");
    if let Some(e) = &report.error {
        let what = if report.starttls_offered || report.starttls == super::TlsStart::Implicit {
            format!("the scan failed: {e}")
        } else {
            e.clone()
        };
        let key = if !report.starttls_offered && e.contains("STARTTLS not supported") {
            "starttls-not-offered"
        } else {
            "scan-error"
        };
        out.push(Finding::new(Severity::High, id(key), what));
        return out;
    }
    for p in Protocol::ALL {
        let accepted = report.accepts(p);
        if accepted && !profile.allows(p) {
            out.push(Finding::new(
                Severity::High,
                id("protocol-accepted"),
                format!(
                    "{p} is accepted; profile {} wants {} or later",
                    profile.name, profile.min_protocol
                ),
            ));
        }
        if !accepted && profile.allows(p) && p <= Protocol::TlsV1_3 && p >= profile.min_protocol {
            out.push(Finding::new(
                Severity::Medium,
                id("protocol-refused"),
                format!("{p} is refused; profile {} wants it", profile.name),
            ));
        }
    }
    let outside = |p: Protocol, allowed: &[CipherSuite]| -> Vec<CipherSuite> {
        report
            .protocols
            .get(&p)
            .map(|r| {
                r.cipher_suites
                    .iter()
                    .copied()
                    .filter(|s| !allowed.contains(s))
                    .collect()
            })
            .unwrap_or_default()
    };
    for p in [Protocol::TlsV1_0, Protocol::TlsV1_1, Protocol::TlsV1_2] {
        if !profile.allows(p) {
            continue; // already reported as a protocol
        }
        let extra = outside(p, &profile.tls12_ciphers);
        if !extra.is_empty() {
            out.push(Finding::new(
                Severity::High,
                id("suite-not-allowed"),
                format!(
                    "{p} accepts {} suite(s) outside profile {}: {}",
                    extra.len(),
                    profile.name,
                    names(&extra)
                ),
            ));
        }
    }
    if profile.allows(Protocol::TlsV1_3) {
        let extra = outside(Protocol::TlsV1_3, &profile.tls13_ciphersuites);
        if !extra.is_empty() {
            out.push(Finding::new(
                Severity::High,
                id("suite-not-allowed"),
                format!(
                    "TLSv1.3 accepts {} suite(s) outside profile {}: {}",
                    extra.len(),
                    profile.name,
                    names(&extra)
                ),
            ));
        }
    }
    out
}

fn names(suites: &[CipherSuite]) -> String {
    suites.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
}
