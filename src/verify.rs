//! What `apply` and `rollback` check on the live server with the probe,
//! over loopback, for every TLS listener the config declares.

use std::time::Duration;

use crate::probe::{self, ScanOptions, Target, TargetReport};
use crate::profile::Profile;
use crate::vocabulary::Listener;

/// What the live server got wrong, one problem per entry (`host:port: what`).
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) problems: Vec<String>,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.problems.join("; "))
    }
}

fn target(listener: &Listener) -> Target {
    Target {
        host: listener.host.clone(),
        port: listener.port,
        starttls: listener.tls,
    }
}

/// Waits until every listener accepts connections again (a restart, or a
/// daemon that re-executes itself on SIGHUP, leaves a gap), up to `limit`.
/// A listener still closed then is left for the probe to report.
pub fn wait_listening(listeners: &[Listener], limit: Duration) {
    let deadline = std::time::Instant::now() + limit;
    for listener in listeners {
        let Ok(addrs) = std::net::ToSocketAddrs::to_socket_addrs(&(listener.host.as_str(), listener.port)) else {
            continue;
        };
        let addrs: Vec<_> = addrs.collect();
        while std::time::Instant::now() < deadline {
            if addrs
                .iter()
                .any(|a| std::net::TcpStream::connect_timeout(a, Duration::from_millis(500)).is_ok())
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
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

/// Every listener serves TLS as its profile says (`profile_for`: the run's,
/// or the listener's own floor): STARTTLS offered, every protocol below the
/// minimum refused, the minimum and up accepted, no TLS 1.2 suite outside
/// the profile, and the configured certificate served.
/// Ok holds a one-line summary; Err says every problem found.
pub(crate) fn against_profile<'a>(
    listeners: &[Listener],
    profile_for: impl Fn(&Listener) -> &'a Profile,
    expected_cert_sha256: Option<&str>,
    groups_enforceable: bool,
) -> Result<String, Failed> {
    let mut problems = Vec::new();
    let mut summary = Vec::new();
    for listener in listeners {
        let profile = profile_for(listener);
        let report = scan(listener);
        let where_ = format!("{}:{}", listener.host, listener.port);
        let before = problems.len();
        problems.extend(
            judge(&report, profile, expected_cert_sha256, groups_enforceable)
                .into_iter()
                .map(|p| format!("{where_}: {p}")),
        );
        if problems.len() == before {
            let accepted: Vec<&str> = report.accepted_names();
            summary.push(format!(
                "{where_} accepts {} only (profile {})",
                accepted.join(", "),
                profile.name
            ));
        }
    }
    if problems.is_empty() {
        Ok(summary.join("; "))
    } else {
        Err(Failed { problems })
    }
}

/// The problems a scan shows against the profile; empty when it complies.
fn judge(
    report: &TargetReport,
    profile: &Profile,
    expected_cert_sha256: Option<&str>,
    groups_enforceable: bool,
) -> Vec<String> {
    if report.error.is_none() && report.starttls_offered && report.protocols.values().all(|r| !r.accepted) {
        return vec!["STARTTLS is offered but every TLS handshake fails".into()];
    }
    // Not held against a change: the groups of a server with no setting for
    // them (Sendmail, OpenSMTPD: no apply could fix them; the plan says so)
    // and the certificate's lifespan (a warning in the profiles; the
    // certificate is the admin's choice).
    let mut problems: Vec<String> = probe::judge(report, profile)
        .into_iter()
        .filter(|f| f.id != "profile-cert-lifespan")
        .filter(|f| groups_enforceable || f.id != "profile-group-not-allowed")
        .map(|f| f.message)
        .collect();
    if !problems.is_empty() {
        return problems;
    }
    // The served certificate is the configured one (rsa+ecdsa servers serve two).
    let served: Vec<&str> = report
        .certificate
        .iter()
        .chain(&report.other_certificates)
        .map(|c| c.sha256.as_str())
        .collect();
    match expected_cert_sha256 {
        Some(expected) if served.is_empty() => problems.push(format!(
            "no certificate could be read from the server (expected sha256 {expected})"
        )),
        Some(expected) if !served.contains(&expected) => problems.push(format!(
            "the served certificate (sha256 {}) is not the configured one ({expected})",
            served.join(", ")
        )),
        _ => {}
    }
    problems
}

/// After a rollback: every listener still completes a TLS handshake.
pub(crate) fn serves_tls(listeners: &[Listener]) -> Result<String, Failed> {
    let mut problems = Vec::new();
    let mut summary = Vec::new();
    for listener in listeners {
        let report = scan(listener);
        let where_ = format!("{}:{}", listener.host, listener.port);
        let accepted: Vec<&str> = report.accepted_names();
        match (&report.error, accepted.is_empty()) {
            (Some(e), _) => problems.push(format!("{where_}: probe failed: {e}")),
            (None, true) => problems.push(format!("{where_}: no TLS handshake succeeds")),
            (None, false) => summary.push(format!("{where_} accepts {}", accepted.join(", "))),
        }
    }
    if problems.is_empty() {
        Ok(summary.join("; "))
    } else {
        Err(Failed { problems })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::{CipherSuite, Group, Protocol};
    use crate::vocabulary::{Proto, TlsStart};

    /// A server that does what `intermediate` asks, except that it also
    /// accepts x448, a group outside the profile.
    fn compliant_but_x448() -> TargetReport {
        let mut report = TargetReport::empty("127.0.0.1:25".into(), TlsStart::Starttls(Proto::Smtp));
        report.starttls_offered = true;
        for p in [Protocol::TlsV1_2, Protocol::TlsV1_3] {
            let r = report.protocols.entry(p).or_default();
            r.accepted = true;
            r.cipher_suites = vec![if p == Protocol::TlsV1_3 {
                CipherSuite(0x1301)
            } else {
                CipherSuite(0xc02f)
            }];
        }
        report.groups = vec![Group(0x001d), Group(0x0017), Group(0x001e)];
        report
    }

    #[test]
    fn groups_outside_the_profile_fail_verification_where_the_server_could_restrict_them() {
        let profile = Profile::load("intermediate").unwrap();
        let report = compliant_but_x448();
        let held = judge(&report, &profile, None, true);
        assert!(held.iter().any(|p| p.contains("group")), "{held:?}");
        // Sendmail, OpenSMTPD: no setting could fix it, the plan says so instead.
        assert_eq!(judge(&report, &profile, None, false), Vec::<String>::new());
    }
}
