//! The probe against real Postfix instances, compared with a brute-force
//! ground truth: one `openssl s_client` handshake per protocol and per suite
//! OpenSSL knows. Postfix is linked against the same OpenSSL, so the ground
//! truth is exact, and the probe shares no code with it.

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use mailtls::probe::{self, Proto, ScanOptions, Target, TargetReport, TlsStart};
use mailtls::tls::{CipherSuite, Protocol};
use support::{openssl_accepts, KeyKind, Postfix};

/// (protocol, s_client flag) for the versions this OpenSSL can speak.
const VERSIONS: [(Protocol, &str); 4] = [
    (Protocol::TlsV1_0, "-tls1"),
    (Protocol::TlsV1_1, "-tls1_1"),
    (Protocol::TlsV1_2, "-tls1_2"),
    (Protocol::TlsV1_3, "-tls1_3"),
];

/// Every suite the local OpenSSL knows, as (code, OpenSSL name).
fn openssl_suites() -> Vec<(CipherSuite, String)> {
    let out = Command::new("openssl")
        .args(["ciphers", "-V", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"])
        .output()
        .expect("openssl ciphers");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let code = words.next()?; // 0xC0,0x2C
            let name = words.nth(1)?;
            let hex = code.replace("0x", "").replace(',', "");
            Some((CipherSuite(u16::from_str_radix(&hex, 16).ok()?), name.to_string()))
        })
        .collect()
}

/// What `openssl s_client` says the server accepts: per protocol, the set
/// of suites. Runs the handshakes on a few threads.
fn ground_truth(port: u16, starttls: &str) -> Vec<(Protocol, bool, BTreeSet<CipherSuite>)> {
    let suites = openssl_suites();
    VERSIONS
        .iter()
        .map(|&(p, flag)| {
            let accepted = openssl_accepts(port, starttls, flag, None);
            let mut set = BTreeSet::new();
            if accepted {
                let candidates: Vec<_> = suites
                    .iter()
                    .filter(|(s, _)| s.is_tls13() == (p == Protocol::TlsV1_3))
                    .collect();
                let found = std::sync::Mutex::new(BTreeSet::new());
                std::thread::scope(|s| {
                    for part in candidates.chunks(candidates.len().div_ceil(4).max(1)) {
                        let found = &found;
                        s.spawn(move || {
                            for (suite, name) in part {
                                if openssl_accepts(port, starttls, flag, Some(name)) {
                                    found.lock().unwrap().insert(*suite);
                                }
                            }
                        });
                    }
                });
                set = found.into_inner().unwrap();
            }
            (p, accepted, set)
        })
        .collect()
}

fn scan_port(port: u16, starttls: TlsStart) -> TargetReport {
    let target = Target {
        host: "127.0.0.1".into(),
        port,
        starttls,
    };
    let opts = ScanOptions {
        servername: Some("localhost".into()),
        ..ScanOptions::default()
    };
    probe::scan(&target, &opts)
}

/// Asserts the probe's protocols and suites equal the ground truth.
fn assert_matches_ground_truth(report: &TargetReport, port: u16, starttls: &str) {
    assert_eq!(report.error, None, "{}", report.render());
    for (p, accepted, suites) in ground_truth(port, starttls) {
        let got = &report.protocols[&p];
        assert_eq!(
            got.accepted,
            accepted,
            "{p} acceptance differs from openssl s_client\n{}",
            report.render()
        );
        let got: BTreeSet<CipherSuite> = got.cipher_suites.iter().copied().collect();
        let missing: Vec<_> = suites.difference(&got).map(|s| s.to_string()).collect();
        let extra: Vec<_> = got.difference(&suites).map(|s| s.to_string()).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{p}: probe misses {missing:?}, probe has extra {extra:?}"
        );
    }
    // Debian's OpenSSL has no SSLv2/SSLv3 at all: a server linked to it cannot accept them.
    assert!(
        !report.accepts(Protocol::SslV2) && !report.accepts(Protocol::SslV3),
        "{}",
        report.render()
    );
}

#[test]
fn stock_debian_postfix_matches_openssl_ground_truth() {
    let postfix = Postfix::new();
    postfix.start();
    let report = scan_port(postfix.port, TlsStart::Starttls(Proto::Smtp));
    println!("{}", report.render());
    assert!(report.starttls_offered);
    assert_matches_ground_truth(&report, postfix.port, "smtp");
    // Stock Postfix: TLS 1.0 through 1.3 at security level 0.
    for p in [
        Protocol::TlsV1_0,
        Protocol::TlsV1_1,
        Protocol::TlsV1_2,
        Protocol::TlsV1_3,
    ] {
        assert!(report.accepts(p), "{p}");
    }
    let cert = report.certificate.as_ref().expect("a certificate");
    assert_eq!(cert.key_type, "RSA");
    assert_eq!(cert.key_bits, Some(2048));
    assert!(cert.self_signed && !cert.trusted && cert.hostname_match, "{cert:?}");
    let served = std::fs::read_to_string(&postfix.cert).unwrap();
    assert!(served.contains("BEGIN CERTIFICATE"));
    assert_eq!(cert.sha256, sha256_of_pem(&postfix.cert));
    let compliance = probe::judge(&report, &mailtls::profile::Profile::load("intermediate").unwrap());
    assert!(
        compliance.iter().any(|f| f.message.contains("TLSv1.0 is accepted")),
        "{compliance:?}"
    );
}

fn sha256_of_pem(path: &std::path::Path) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("openssl x509 -in {} -outform DER | sha256sum", path.display()))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Groups: one s_client handshake per group, TLS 1.3.
fn assert_groups_match(report: &TargetReport, port: u16) {
    for (name, group) in [
        ("X25519", "X25519"),
        ("P-256", "secp256r1"),
        ("P-384", "secp384r1"),
        ("P-521", "secp521r1"),
        ("X448", "X448"),
        ("ffdhe2048", "ffdhe2048"),
    ] {
        let truth = support::openssl_negotiates(port, "smtp", "-tls1_3", None, Some(name)).is_some();
        let got = report.groups.iter().any(|g| g.to_string() == group);
        assert_eq!(
            got, truth,
            "group {group}: probe {got}, openssl {truth}; probe found {:?}",
            report.groups
        );
    }
}

const MOZILLA_INTERMEDIATE: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

#[test]
fn hardened_postfix_matches_ground_truth_imposes_its_order_and_complies() {
    let postfix = Postfix::new();
    let list = format!("tls_high_cipherlist={MOZILLA_INTERMEDIATE}");
    postfix.postconf_e(&[
        "smtpd_tls_protocols=>=TLSv1.2",
        "smtpd_tls_ciphers=high",
        &list,
        "tls_preempt_cipherlist=yes",
    ]);
    postfix.start();
    let report = scan_port(postfix.port, TlsStart::Starttls(Proto::Smtp));
    println!("{}", report.render());
    assert_matches_ground_truth(&report, postfix.port, "smtp");
    assert!(!report.accepts(Protocol::TlsV1_0) && !report.accepts(Protocol::TlsV1_1));
    assert_eq!(
        report.protocols[&Protocol::TlsV1_2].cipher_suites.len(),
        6,
        "RSA certificate: the six RSA-or-DHE suites of the list"
    );
    assert_eq!(report.server_cipher_order, Some(true));
    assert_groups_match(&report, postfix.port);
    let profile = mailtls::profile::Profile::load("intermediate").unwrap();
    assert_eq!(probe::judge(&report, &profile), vec![]);
    let modern = mailtls::profile::Profile::load("modern").unwrap();
    assert!(probe::judge(&report, &modern)
        .iter()
        .any(|f| f.message.contains("TLSv1.2 is accepted")));
}

#[test]
fn ecdsa_only_postfix_matches_ground_truth() {
    let postfix = Postfix::with_key(KeyKind::EcdsaP256);
    postfix.start();
    let report = scan_port(postfix.port, TlsStart::Starttls(Proto::Smtp));
    assert_matches_ground_truth(&report, postfix.port, "smtp");
    let tls12 = &report.protocols[&Protocol::TlsV1_2].cipher_suites;
    assert!(
        tls12.contains(&CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
        "{}",
        report.render()
    );
    assert!(!tls12.contains(&CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256));
    let cert = report.certificate.as_ref().expect("certificate");
    assert_eq!(
        (cert.key_type.as_str(), cert.curve.as_deref()),
        ("ECDSA", Some("secp256r1"))
    );
    assert_eq!(
        report.server_cipher_order,
        Some(false),
        "stock Postfix lets the client choose"
    );
    assert_groups_match(&report, postfix.port);
}

/// A dual-certificate server (RSA and ECDSA side by side) picks the
/// certificate by suite: the probe must find the suites of both.
#[test]
fn dual_certificate_postfix_matches_ground_truth() {
    let postfix = Postfix::new();
    let (ec_cert, ec_key) = support::self_signed(postfix.root.path(), "ecdsa", KeyKind::EcdsaP256);
    let cert = format!("smtpd_tls_eccert_file={}", ec_cert.display());
    let key = format!("smtpd_tls_eckey_file={}", ec_key.display());
    postfix.postconf_e(&[&cert, &key]);
    postfix.start();
    let report = scan_port(postfix.port, TlsStart::Starttls(Proto::Smtp));
    assert_matches_ground_truth(&report, postfix.port, "smtp");
    let tls12 = &report.protocols[&Protocol::TlsV1_2].cipher_suites;
    assert!(tls12.contains(&CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256));
    assert!(tls12.contains(&CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256));
    let mut keys: Vec<&str> = report
        .certificate
        .iter()
        .chain(&report.other_certificates)
        .map(|c| c.key_type.as_str())
        .collect();
    keys.sort();
    assert_eq!(keys, ["ECDSA", "RSA"], "both certificates are reported");
}
