//! The probe against real Postfix instances, compared with a brute-force
//! ground truth: one `openssl s_client` handshake per protocol and per suite
//! OpenSSL knows. Postfix is linked against the same OpenSSL, so the ground
//! truth is exact, and the probe shares no code with it.
use crate::support;

use std::process::Command;

use crate::support::{ground_truth, KeyKind, Postfix};
use mailtls::probe::{self, Proto, ScanOptions, Target, TargetReport, TlsStart};
use mailtls::tls::{CipherSuite, Protocol};

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
    support::assert_matches(report, &ground_truth(port, starttls));
    // Debian's OpenSSL has no SSLv2/SSLv3 at all: a server linked to it cannot accept them.
    assert!(
        !report.accepts(Protocol::SslV2) && !report.accepts(Protocol::SslV3),
        "{}",
        report.render()
    );
}

#[test]
fn stock_debian_postfix_matches_openssl_ground_truth() {
    let postfix = Postfix::shared();
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
    // OpenSSL's automatic groups: 2048 bits for an RSA-2048 certificate's DHE
    // suites, 1024 for anonymous AES-128 ones. A client that checks the
    // certificate gets the former, and that is the size to report.
    assert_eq!(report.dh_bits, Some(openssl_dh_bits(postfix.port, "kDHE+aRSA")));
    assert_eq!(openssl_dh_bits(postfix.port, "ADH-AES128-GCM-SHA256"), 1024);
}

/// The "Server Temp Key: DH, N bits" of one `openssl s_client` TLS 1.2
/// handshake offering `ciphers`.
fn openssl_dh_bits(port: u16, ciphers: &str) -> u32 {
    let out = Command::new("openssl")
        .args(["s_client", "-starttls", "smtp", "-tls1_2", "-cipher"])
        .arg(format!("{ciphers}:@SECLEVEL=0"))
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("Server Temp Key: DH, "))
        .unwrap_or_else(|| panic!("no DH temp key in:\n{text}"));
    line.trim_end_matches(" bits").parse().unwrap()
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
        "tls_eecdh_auto_curves=X25519 prime256v1 secp384r1",
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

/// What `openssl s_client` says of one TLS 1.2 session: (extended master
/// secret, secure renegotiation, compression other than NONE).
fn openssl_session_facts(port: u16) -> (bool, bool, bool) {
    let out = Command::new("timeout")
        .args(["10", "openssl", "s_client", "-starttls", "smtp", "-tls1_2", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl s_client");
    let text = String::from_utf8_lossy(&out.stdout);
    (
        text.contains("Extended master secret: yes"),
        text.contains("Secure Renegotiation IS supported"),
        !text.contains("Compression: NONE"),
    )
}

/// Whether the server goes through a renegotiation `openssl s_client`
/// starts (its `R` command) in TLS 1.2 with RSA key exchange.
fn openssl_renegotiates(port: u16) -> bool {
    use std::io::Write as _;
    let mut child = Command::new("timeout")
        .args([
            "10",
            "openssl",
            "s_client",
            "-starttls",
            "smtp",
            "-tls1_2",
            "-cipher",
            "AES128-GCM-SHA256",
        ])
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("openssl s_client");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let _ = child.stdin.as_mut().unwrap().write_all(b"R\n");
    std::thread::sleep(std::time::Duration::from_millis(1000));
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("RENEGOTIATING"), "{text}");
    !text.contains("no renegotiation") && !text.contains(":error:")
}

/// A 1024-bit DH group (smtpd_tls_dh1024_param_file) is what scanners flag
/// first on old Postfix setups: the probe reports its size, and the
/// intermediate profile (dh_min_bits = 2048) fails it.
#[test]
fn postfix_with_a_1024_bit_dh_group_reports_it_and_fails_intermediate() {
    let postfix = Postfix::new();
    let params = postfix.root.path().join("dh1024.pem");
    support::run(
        Command::new("openssl")
            .args(["dhparam", "-out"])
            .arg(&params)
            .arg("1024"),
    );
    let setting = format!("smtpd_tls_dh1024_param_file={}", params.display());
    postfix.postconf_e(&[&setting]);
    postfix.start();
    let report = scan_port(postfix.port, TlsStart::Starttls(Proto::Smtp));
    println!("{}", report.render());
    assert_matches_ground_truth(&report, postfix.port, "smtp");
    assert_eq!(report.dh_bits, Some(1024), "{}", report.render());
    let (ems, reneg, compression) = openssl_session_facts(postfix.port);
    assert_eq!(report.extended_master_secret, Some(ems));
    assert_eq!(report.secure_renegotiation, Some(reneg));
    assert_eq!(report.compression, Some(compression));
    assert_eq!(report.client_renegotiation, Some(openssl_renegotiates(postfix.port)));
    let profile = mailtls::profile::Profile::load("intermediate").unwrap();
    let verdict = probe::judge(&report, &profile);
    assert!(
        verdict
            .iter()
            .any(|f| f.id == "profile-dh-too-small" && f.message.contains("1024")),
        "{verdict:?}"
    );
}
