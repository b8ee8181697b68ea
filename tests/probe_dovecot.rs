//! The probe against a real Dovecot: IMAP STARTTLS, POP3 STLS and implicit
//! TLS (imaps), compared with `openssl s_client` per protocol and per TLS 1.2
//! suite.

mod support;

use std::collections::BTreeSet;

use mailtls::probe::{self, Proto, ScanOptions, Target, TlsStart};
use mailtls::tls::{CipherSuite, Protocol};
use support::{openssl_accepts, Dovecot};

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
