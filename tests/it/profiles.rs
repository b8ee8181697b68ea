//! `mailtls profiles NAME`: what a profile sets, for every backend.

use crate::cmd::Mailtls;

#[test]
fn profiles_name_shows_the_settings_of_every_backend() {
    let state = tempfile::tempdir().unwrap();
    let ran = Mailtls::new(state.path()).args(["profiles", "modern"]).status(0).run();
    for heading in [
        "Postfix",
        "Exim built with GnuTLS",
        "Sendmail",
        "OpenSMTPD",
        "Dovecot 2.3",
        "Dovecot 2.4",
    ] {
        assert!(ran.stdout.contains(heading), "no {heading} section:\n{}", ran.stdout);
    }
    assert!(ran.stdout.contains("ssl_min_protocol = TLSv1.3"), "{}", ran.stdout);
    assert!(ran.stdout.contains("protocols = tlsv1.3"), "{}", ran.stdout);

    let json = Mailtls::new(state.path())
        .args(["--json", "profiles", "intermediate"])
        .status(0)
        .run()
        .json();
    for backend in ["postfix", "exim", "sendmail", "opensmtpd", "dovecot"] {
        assert!(!json[backend].is_null(), "no {backend} in {json}");
    }
    assert_eq!(
        json["dovecot"]["2.4"][0],
        serde_json::json!(["ssl_min_protocol", "TLSv1.2"])
    );
}
