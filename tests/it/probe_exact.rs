//! The probe is exact on servers it was not tuned on: each case below once
//! made it report a wrong set of suites. Ground truth is one `openssl
//! s_client` handshake per (protocol, suite), and one scan per listener is
//! compared with it, suite by suite. The Exim case is the one whose answers
//! depend on timing (421 beyond 3 connections): its scan is judged against
//! an Exim without the limit, so a back-off that lost a suite shows there.

use std::time::Duration;

use crate::support::{assert_matches, ground_truth, Dovecot, Exim, Opensmtpd};
use mailtls::probe::{self, Proto, ScanOptions, Target, TargetReport, TlsStart};
use mailtls::tls::Protocol;

fn scan(port: u16, starttls: TlsStart, opts: &ScanOptions) -> TargetReport {
    let target = Target {
        host: "127.0.0.1".into(),
        port,
        starttls,
    };
    probe::scan(&target, opts)
}

/// Dovecot with legacy suites and no DH parameters picks a DHE suite when
/// the client offers one first, then closes without a word (as it also does
/// for a hello it has no suite for): the elimination stopped there and
/// missed every RSA key exchange suite after it.
#[test]
fn dovecot_legacy_cipher_list_over_imap_and_pop3_matches_openssl() {
    let dovecot = Dovecot::start("ssl_min_protocol = TLSv1\nssl_cipher_list = DEFAULT:@SECLEVEL=0");
    for (port, starttls, name) in [
        (dovecot.imap_port, TlsStart::Starttls(Proto::Imap), "imap"),
        (dovecot.pop3_port, TlsStart::Starttls(Proto::Pop3), "pop3"),
    ] {
        let truth = ground_truth(port, name);
        let tls12 = truth.iter().find(|(p, _, _)| *p == Protocol::TlsV1_2).unwrap();
        assert!(
            tls12.2.len() >= 13,
            "the legacy list gives 13 TLS 1.2 suites: {:?}",
            tls12.2
        );
        let report = scan(port, starttls, &ScanOptions::default());
        assert_matches(&report, &truth);
    }
}

/// OpenSMTPD 7.4 keeps its private key in a process that only signs: it
/// picks RSA key exchange suites in its ServerHello, then fails the
/// handshake with "decrypt error". No client can use them.
#[test]
fn opensmtpd_rsa_key_exchange_suites_that_never_complete_are_not_accepted() {
    let smtpd = Opensmtpd::new("");
    smtpd.start();
    let truth = ground_truth(smtpd.port, "smtp");
    let report = scan(smtpd.port, TlsStart::Starttls(Proto::Smtp), &ScanOptions::default());
    assert_matches(&report, &truth);
    let tls12 = &report.protocols[&Protocol::TlsV1_2].cipher_suites;
    assert!(
        tls12.iter().all(|s| !s.to_string().starts_with("TLS_RSA_WITH_")),
        "{}",
        report.render()
    );
    assert!(
        report.findings.iter().any(|f| f.id == "rsa-key-exchange-fails"),
        "{:?}",
        report.findings
    );
}

/// Exim that answers 421 beyond 3 connections from one host: the probe
/// backs off and retries, and finds what the same Exim without the limit
/// accepts (the truth comes from that one, as s_client does not retry).
#[test]
fn exim_with_a_connection_limit_gives_the_same_suites_as_without() {
    // Debian's Exim (GnuTLS) accepts TLS 1.0 and 1.1 as it comes.
    let free = Exim::new("");
    free.start();
    let truth = ground_truth(free.port, "smtp");
    let limited = Exim::new("smtp_accept_max_per_host = 3\n");
    limited.start();
    let opts = ScanOptions {
        busy_pause: Duration::from_millis(200),
        ..ScanOptions::default()
    };
    let report = scan(limited.port, TlsStart::Starttls(Proto::Smtp), &opts);
    assert_matches(&report, &truth);
    assert!(
        report.findings.iter().any(|f| f.id == "busy"),
        "the limit was hit: {:?}",
        report.findings
    );
}
