//! The probe against a real Dovecot: IMAP STARTTLS, POP3 STLS and implicit
//! TLS (imaps), compared with `openssl s_client` per protocol and per TLS 1.2
//! suite.
use crate::support;

use std::collections::BTreeSet;

use crate::support::{openssl_accepts, Dovecot};
use mailtls::probe::{self, Proto, ScanOptions, Target, TlsStart};
use mailtls::tls::{CipherSuite, Protocol};

fn scan(port: u16, starttls: TlsStart) -> probe::TargetReport {
    let target = Target {
        host: "127.0.0.1".into(),
        port,
        starttls,
    };
    probe::scan(&target, &ScanOptions::default())
}

#[test]
fn dovecot_imap_pop3_and_implicit_tls_match_openssl() {
    // Legacy enabled, and a short explicit TLS 1.2 list, so that the truth is small and exact.
    let dovecot = Dovecot::start(
        "ssl_min_protocol = TLSv1.1\nssl_cipher_list = ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-SHA:AES128-SHA:@SECLEVEL=0",
    );
    for (port, starttls, name) in [
        (dovecot.imap_port, TlsStart::Starttls(Proto::Imap), "imap"),
        (dovecot.pop3_port, TlsStart::Starttls(Proto::Pop3), "pop3"),
        (dovecot.imaps_port, TlsStart::Implicit, "none"),
    ] {
        let report = scan(port, starttls);
        println!("{}", report.render());
        assert_eq!(report.error, None, "{}", report.render());
        assert!(report.starttls_offered);
        for (p, flag) in [
            (Protocol::TlsV1_0, "-tls1"),
            (Protocol::TlsV1_1, "-tls1_1"),
            (Protocol::TlsV1_2, "-tls1_2"),
            (Protocol::TlsV1_3, "-tls1_3"),
        ] {
            assert_eq!(
                report.accepts(p),
                openssl_accepts(port, name, flag, None),
                "{name} {p}\n{}",
                report.render()
            );
        }
        let truth: BTreeSet<CipherSuite> = [
            "ECDHE-RSA-AES128-GCM-SHA256",
            "ECDHE-RSA-AES256-SHA",
            "AES128-SHA",
            "ECDHE-RSA-AES256-GCM-SHA384",
            "AES256-SHA",
        ]
        .into_iter()
        .filter(|c| openssl_accepts(port, name, "-tls1_2", Some(c)))
        .map(|c| CipherSuite::from_name(c).unwrap())
        .collect();
        let got: BTreeSet<CipherSuite> = report.protocols[&Protocol::TlsV1_2]
            .cipher_suites
            .iter()
            .copied()
            .collect();
        assert_eq!(got, truth, "{name}");
        assert_eq!(truth.len(), 3);
    }
}

/// IPv6 targets (`[::1]:PORT`) and SNI (`--servername`): a Dovecot on ::1
/// with a second certificate for one name (`local_name`) serves it only to
/// a client that asks for that name.
#[test]
fn ipv6_target_and_sni_pick_the_named_certificate() {
    let names = tempfile::tempdir().unwrap();
    let (cert, key) = (names.path().join("mail.pem"), names.path().join("mail.key"));
    support::run(
        std::process::Command::new("openssl")
            .args(["req", "-x509", "-nodes", "-days", "30", "-newkey", "rsa:2048"])
            .args([
                "-subj",
                "/CN=mail.example.org",
                "-addext",
                "subjectAltName=DNS:mail.example.org",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    );
    let extra = format!(
        "local_name mail.example.org {{\n  ssl_cert = <{}\n  ssl_key = <{}\n}}",
        cert.display(),
        key.display()
    );
    let dovecot = Dovecot::start_on("127.0.0.1, ::1", &extra);
    let target = mailtls::probe::parse_target(
        &format!("[::1]:{}", dovecot.imap_port),
        Some(mailtls::probe::TlsStart::Starttls(mailtls::probe::Proto::Imap)),
    )
    .unwrap();
    assert_eq!(target.host, "::1");
    let plain = probe::scan(&target, &ScanOptions::default());
    assert_eq!(plain.error, None, "{}", plain.render());
    assert_eq!(plain.target, format!("[::1]:{}", dovecot.imap_port));
    assert!(
        plain.accepts(Protocol::TlsV1_3) && plain.accepts(Protocol::TlsV1_2),
        "{}",
        plain.render()
    );
    let served = plain.certificate.as_ref().expect("a certificate");
    assert_eq!(served.subject, "CN=localhost");
    let named = probe::scan(
        &target,
        &ScanOptions {
            servername: Some("mail.example.org".into()),
            ..ScanOptions::default()
        },
    );
    assert_eq!(named.error, None, "{}", named.render());
    let served = named.certificate.as_ref().expect("a certificate");
    assert_eq!(served.subject, "CN=mail.example.org");
    assert!(served.hostname_match, "{served:?}");
    // The same suites either way: SNI picks the certificate, not the TLS settings.
    assert_eq!(
        named.protocols[&Protocol::TlsV1_2].cipher_suites.len(),
        plain.protocols[&Protocol::TlsV1_2].cipher_suites.len()
    );
}
