//! The spine on a real, private OpenSMTPD 7.4 (bookworm-backports, unpacked
//! beside Postfix by scripts/test-deps-opensmtpd) in its own mount namespace
//! on a loopback port. OpenSMTPD 7.x never allows TLS 1.0/1.1, so what
//! changes is visible in the ciphers (intermediate) and protocols (modern).
//! Apply verifies with mailtls's own probe; the
//! reload is a restart (`--reload-command` with the instance's script).
use crate::support;

use crate::cmd::{assert_idempotent, Mailtls};
use crate::support::{openssl_accepts, Opensmtpd};

fn mailtls(smtpd: &Opensmtpd) -> Mailtls {
    Mailtls::new(&smtpd.root.path().join("state")).env("PATH", &smtpd.path_env())
}

#[test]
fn apply_reapply_and_rollback_on_a_private_opensmtpd() {
    let smtpd = Opensmtpd::new(" ciphers \"legacy\"");
    smtpd.start();
    let original = std::fs::read(&smtpd.config).unwrap();
    let port = smtpd.port;
    assert!(
        openssl_accepts(port, "smtp", "-tls1_2", Some("ECDHE-RSA-AES128-SHA")),
        "{}",
        smtpd.log()
    );
    assert!(
        !openssl_accepts(port, "smtp", "-tls1", None),
        "libtls never allows TLS 1.0"
    );

    let applied = mailtls(&smtpd)
        .args([
            "--json",
            "--yes",
            "apply",
            "--reload-command",
            &smtpd.restart_command(),
            "--config",
        ])
        .args([&smtpd.config])
        .status(0)
        .run();
    let json = applied.json();
    assert_eq!(json["changed"], true);
    assert_eq!(json["reloaded"], true, "{}", applied.stderr);
    assert_eq!(json["verified"], true, "{}", applied.stderr);
    let conf = std::fs::read_to_string(&smtpd.config).unwrap();
    assert!(
        conf.contains("hostname localhost ciphers \"ECDHE-ECDSA-AES128-GCM-SHA256:")
            && conf.contains(" protocols \"tlsv1.2,tlsv1.3\"\n"),
        "{conf}"
    );
    smtpd.wait();
    assert!(
        !openssl_accepts(port, "smtp", "-tls1_2", Some("ECDHE-RSA-AES128-SHA")),
        "no CBC suite"
    );
    assert!(
        openssl_accepts(port, "smtp", "-tls1_2", Some("ECDHE-RSA-AES128-GCM-SHA256")),
        "{}",
        smtpd.log()
    );
    assert!(openssl_accepts(port, "smtp", "-tls1_3", None));

    assert_idempotent(|| mailtls(&smtpd), &smtpd.config, &smtpd.config);

    // The modern profile: TLS 1.3 only.
    mailtls(&smtpd)
        .args([
            "-y",
            "apply",
            "--profile",
            "modern",
            "--reload-command",
            &smtpd.restart_command(),
            "--config",
        ])
        .args([&smtpd.config])
        .status(0)
        .run();
    smtpd.wait();
    assert!(
        !openssl_accepts(port, "smtp", "-tls1_2", None),
        "TLS 1.2 refused under modern"
    );
    assert!(openssl_accepts(port, "smtp", "-tls1_3", None));

    // Roll both back: the file byte for byte, and the old behaviour.
    for _ in 0..2 {
        let rolled = mailtls(&smtpd).args(["--json", "rollback"]).status(0).run();
        assert_eq!(rolled.json()["verified"], true, "{}", rolled.stderr);
    }
    assert!(
        std::fs::read(&smtpd.config).unwrap() == original,
        "smtpd.conf byte for byte as before"
    );
    smtpd.wait();
    assert!(
        openssl_accepts(port, "smtp", "-tls1_2", Some("ECDHE-RSA-AES128-SHA")),
        "the old ciphers are back"
    );
}

#[test]
fn ncsc_nl_2025_applies_and_verifies_on_opensmtpd() {
    let smtpd = Opensmtpd::new(" ciphers \"legacy\"");
    smtpd.start();
    let applied = mailtls(&smtpd)
        .args([
            "--json",
            "--yes",
            "apply",
            "--profile",
            "ncsc-nl-2025",
            "--reload-command",
            &smtpd.restart_command(),
            "--config",
        ])
        .args([&smtpd.config])
        .status(0)
        .run();
    assert_eq!(applied.json()["verified"], true, "{}\n{}", applied.stderr, smtpd.log());
    let probe = mailtls(&smtpd)
        .args(support::baselines::probe_args(smtpd.port, "smtp", "ncsc-nl-2025"))
        .run()
        .json();
    support::baselines::check_live_baseline(
        &probe,
        smtpd.port,
        "smtp",
        "ncsc-nl-2025",
        "ECDHE-RSA-AES128-SHA",
        "ECDHE-RSA-AES128-GCM-SHA256",
    );
}
