//! What `apply` and `rollback` check on the live server with the probe,
//! over loopback, for every TLS listener the config declares.

use std::time::Duration;

use crate::mta::{Listener, ListenerTls};
use crate::probe::{self, ScanOptions, Starttls, Target, TargetReport};
use crate::profile::Profile;
use crate::tls::Protocol;

fn target(listener: &Listener) -> Target {
    let starttls = match (listener.tls, listener.protocol.as_str()) {
        (ListenerTls::Starttls, "imap") => Starttls::Imap,
        (ListenerTls::Starttls, "pop3") => Starttls::Pop3,
        (ListenerTls::Starttls, _) => Starttls::Smtp,
        _ => Starttls::None,
    };
    Target {
        host: listener.host.clone(),
        port: listener.port,
        starttls,
    }
}

/// Scans one listener over loopback, as verification does.
pub fn scan(listener: &Listener) -> TargetReport {
    let options = ScanOptions {
        timeout: Duration::from_secs(10),
        ..ScanOptions::default()
    };
    probe::scan(&target(listener), &options)
}

/// Every listener serves TLS as the profile says: STARTTLS offered, every
/// protocol below the minimum refused, the minimum and up accepted, no TLS 1.2
/// suite outside the profile, and the configured certificate served.
/// Ok holds a one-line summary; Err says every problem found.
pub fn against_profile(
    listeners: &[Listener],
    profile: &Profile,
    expected_cert_sha256: Option<&str>,
) -> Result<String, String> {
    let mut problems = Vec::new();
    let mut summary = Vec::new();
    for listener in listeners {
        let report = scan(listener);
        let where_ = format!("{}:{}", listener.host, listener.port);
        let before = problems.len();
        problems.extend(
            judge(&report, profile, expected_cert_sha256)
                .into_iter()
                .map(|p| format!("{where_}: {p}")),
        );
        if problems.len() == before {
            let accepted: Vec<&str> = report
                .protocols
                .iter()
                .filter(|(_, r)| r.accepted)
                .map(|(p, _)| p.name())
                .collect();
            summary.push(format!("{where_} accepts {} only", accepted.join(", ")));
        }
    }
    if problems.is_empty() {
        Ok(summary.join("; "))
    } else {
        Err(problems.join("; "))
    }
}

/// The problems a scan shows against the profile; empty when it complies.
fn judge(report: &TargetReport, profile: &Profile, expected_cert_sha256: Option<&str>) -> Vec<String> {
    if let Some(error) = &report.error {
        return vec![format!("probe failed: {error}")];
    }
    if report.starttls != Starttls::None && !report.starttls_offered {
        return vec!["STARTTLS is not offered".into()];
    }
    if report.starttls != Starttls::None && report.protocols.values().all(|r| !r.accepted) {
        return vec!["STARTTLS is offered but every TLS handshake fails".into()];
    }
    let mut problems = Vec::new();
    for protocol in Protocol::ALL {
        let accepted = report.protocols.get(&protocol).is_some_and(|r| r.accepted);
        let wanted = profile.allows(protocol);
        // SSLv2/SSLv3 are never wanted; a server may lack TLS 1.3 support only if the profile's minimum is below it.
        if accepted && !wanted {
            problems.push(format!("{protocol} is accepted"));
        } else if !accepted && wanted {
            problems.push(format!("{protocol} is refused"));
        }
    }
    if let Some(tls12) = report.protocols.get(&Protocol::TlsV1_2) {
        let extra: Vec<String> = tls12
            .cipher_suites
            .iter()
            .filter(|s| !profile.tls12_ciphers.contains(s))
            .map(|s| s.to_string())
            .collect();
        if !extra.is_empty() {
            problems.push(format!(
                "TLS 1.2 suites outside the profile are accepted: {}",
                extra.join(", ")
            ));
        }
    }
    if let (Some(expected), Some(cert)) = (expected_cert_sha256, &report.certificate) {
        if cert.sha256 != expected {
            problems.push(format!(
                "the served certificate (sha256 {}) is not the configured one ({expected})",
                cert.sha256
            ));
        }
    } else if expected_cert_sha256.is_some() {
        problems.push("no certificate could be read from the server".into());
    }
    problems
}

/// After a rollback: every listener still completes a TLS handshake.
pub fn serves_tls(listeners: &[Listener]) -> Result<String, String> {
    let mut problems = Vec::new();
    let mut summary = Vec::new();
    for listener in listeners {
        let report = scan(listener);
        let where_ = format!("{}:{}", listener.host, listener.port);
        let accepted: Vec<&str> = report
            .protocols
            .iter()
            .filter(|(_, r)| r.accepted)
            .map(|(p, _)| p.name())
            .collect();
        match (&report.error, accepted.is_empty()) {
            (Some(e), _) => problems.push(format!("{where_}: probe failed: {e}")),
            (None, true) => problems.push(format!("{where_}: no TLS handshake succeeds")),
            (None, false) => summary.push(format!("{where_} accepts {}", accepted.join(", "))),
        }
    }
    if problems.is_empty() {
        Ok(summary.join("; "))
    } else {
        Err(problems.join("; "))
    }
}
