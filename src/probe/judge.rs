//! Compliance: a scan result held against a profile. What the server
//! accepts that the profile forbids (protocols, suites, groups, a DHE group
//! below `dh_min_bits`), what it refuses that the profile wants, and the
//! profile's certificate policy (RSA size, lifespan). `apply` calls this after a reload; `probe --profile` prints it.

use super::report::{Finding, Severity, TargetReport};
use crate::profile::Profile;
use crate::tiers::{Tier, Tiers};
use crate::tls::{CipherSuite, Protocol};

/// Writes each accepted suite's tier into the report's protocol objects
/// (nothing when the profile has no tiers).
pub fn grade(report: &mut TargetReport, profile: &Profile) {
    let Some(tiers) = &profile.tiers else { return };
    for r in report.protocols.values_mut() {
        r.tiers = r
            .cipher_suites
            .iter()
            .map(|s| (s.to_string(), tiers.suite(*s)))
            .collect();
    }
}

/// With tiers: the accepted suites of `p` graded outside the allowed tiers,
/// one finding per tier, naming it.
fn tier_findings(report: &TargetReport, p: Protocol, profile: &Profile, tiers: &Tiers, out: &mut Vec<Finding>) {
    let Some(r) = report.protocols.get(&p) else { return };
    for tier in [Tier::Good, Tier::Sufficient, Tier::PhaseOut, Tier::Insufficient] {
        if tiers.allows(tier) {
            continue;
        }
        let extra: Vec<CipherSuite> = r
            .cipher_suites
            .iter()
            .copied()
            .filter(|s| tiers.suite(*s) == tier)
            .collect();
        if !extra.is_empty() {
            out.push(Finding::new(
                Severity::High,
                format!("profile-suite-{tier}"),
                format!(
                    "{p} accepts {} {tier} suite(s); profile {} allows {} only: {}",
                    extra.len(),
                    profile.name,
                    tiers.allowed_words(),
                    names(&extra)
                ),
            ));
        }
    }
}

/// Findings that make the target non-compliant with `profile` (empty: complies).
/// Adds the profile's verdict to a report: grades, findings, compliance.
pub fn apply_profile(report: &mut TargetReport, profile: &Profile) {
    grade(report, profile);
    let verdict = judge(report, profile);
    report.profile = Some(profile.name.clone());
    report.compliant = Some(verdict.is_empty());
    report.findings.extend(verdict);
}

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
            let tier = match &profile.tiers {
                Some(t) => format!(" ({} there)", t.protocol(p)),
                None => String::new(),
            };
            out.push(Finding::new(
                Severity::High,
                id("protocol-accepted"),
                format!(
                    "{p} is accepted{tier}; profile {} wants {} or later",
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
        if let Some(tiers) = &profile.tiers {
            tier_findings(report, p, profile, tiers, &mut out);
            continue;
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
    if let (true, Some(tiers)) = (profile.allows(Protocol::TlsV1_3), &profile.tiers) {
        tier_findings(report, Protocol::TlsV1_3, profile, tiers, &mut out);
    } else if profile.allows(Protocol::TlsV1_3) {
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
    // Groups: the elliptic curves (and hybrids) offered must be the
    // profile's; finite-field groups are held to dh_min_bits instead.
    let extra: Vec<String> = report
        .groups
        .iter()
        .filter(|g| !(0x0100..0x0200).contains(&g.0))
        .filter(|g| match &profile.tiers {
            Some(t) => !t.allows(t.group(**g)),
            None => !profile.groups.contains(g),
        })
        .map(|g| match &profile.tiers {
            Some(t) => format!("{g} ({})", t.group(*g)),
            None => g.to_string(),
        })
        .collect();
    if !extra.is_empty() {
        out.push(Finding::new(
            Severity::Medium,
            id("group-not-allowed"),
            format!(
                "the server accepts {} group(s) outside profile {}: {}",
                extra.len(),
                profile.name,
                extra.join(", ")
            ),
        ));
    }
    if let (Some(min), Some(bits)) = (profile.dh_min_bits, report.dh_bits) {
        if bits < min {
            out.push(Finding::new(
                Severity::High,
                id("dh-too-small"),
                format!(
                    "the DHE group has {bits} bits; profile {} wants {min} at least",
                    profile.name
                ),
            ));
        }
    }
    let policy = &profile.certificate;
    for c in report.certificate.iter().chain(&report.other_certificates) {
        if c.key_type == "RSA" && c.key_bits.is_some_and(|b| b < policy.rsa_min_bits) {
            out.push(Finding::new(
                Severity::High,
                id("cert-rsa-too-small"),
                format!(
                    "the certificate's RSA key has {} bits; profile {} wants {} at least",
                    c.key_bits.unwrap_or(0),
                    profile.name,
                    policy.rsa_min_bits
                ),
            ));
        }
        if c.lifespan_days > i64::from(policy.max_lifespan_days) {
            out.push(Finding::new(
                Severity::Medium,
                id("cert-lifespan"),
                format!(
                    "the certificate is valid for {} days; profile {} wants {} at most",
                    c.lifespan_days, profile.name, policy.max_lifespan_days
                ),
            ));
        }
    }
    out
}

fn names(suites: &[CipherSuite]) -> String {
    suites.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
}
