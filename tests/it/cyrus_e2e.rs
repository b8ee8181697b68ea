//! Cyrus IMAP on a real private instance (Debian 12's 3.6, unpacked by
//! scripts/test-deps-cyrus): IMAP and POP3 STARTTLS and IMAP over implicit
//! TLS hardened, reloaded with SIGHUP to master, verified by mailtls's own
//! probe, re-applied without change, rolled back byte for byte.
//! `openssl s_client` is the ground truth for the protocols.
use crate::support;

use crate::cmd::{assert_idempotent, Mailtls};
use crate::support::{openssl_accepts, self_signed, Cyrus, KeyKind};

/// What the harness's Cyrus accepts before hardening: everything down to TLS 1.0.
const LEGACY: &str = "tls_ciphers: DEFAULT:@SECLEVEL=0\n";

fn mailtls(cyrus: &Cyrus) -> Mailtls {
    Mailtls::new(&cyrus.root.path().join("state"))
        .env("PATH", &cyrus.path_env())
        .env("LD_LIBRARY_PATH", &cyrus.library_path())
}

/// (port, s_client's -starttls, mailtls probe's --starttls) of each listener.
fn listeners(cyrus: &Cyrus) -> [(u16, &'static str, &'static str); 3] {
    [
        (cyrus.imap_port, "imap", "imap"),
        (cyrus.pop3_port, "pop3", "pop3"),
        (cyrus.imaps_port, "none", "none"),
    ]
}

/// mailtls's own probe, judging against a profile: the target complies.
fn probe_complies(cyrus: &Cyrus, port: u16, starttls: &str, profile: &str) -> bool {
    let ran = mailtls(cyrus)
        .args(["--json", "probe", &format!("127.0.0.1:{port}"), "--starttls", starttls])
        .args(["--profile", profile])
        .run();
    ran.json()["targets"][0]["compliant"] == true
}

#[test]
fn imap_pop3_and_imaps_are_hardened_verified_idempotent_and_rolled_back() {
    let cyrus = Cyrus::start(LEGACY);
    let original = std::fs::read(&cyrus.config).unwrap();
    for (port, starttls, _) in listeners(&cyrus) {
        assert!(
            openssl_accepts(port, starttls, "-tls1", None),
            "{starttls}: TLS 1.0 before"
        );
    }
    assert!(!probe_complies(&cyrus, cyrus.imap_port, "imap", "intermediate"));

    let applied = mailtls(&cyrus)
        .args(["--json", "-y", "apply", "--mta", "cyrus", "--config"])
        .args([&cyrus.config])
        .status(0)
        .run();
    let json = applied.json();
    assert_eq!(json["changed"], true);
    assert_eq!(json["reloaded"], true, "SIGHUP to master: {}", applied.stderr);
    assert_eq!(json["verified"], true, "{}\n{}", applied.stderr, cyrus.log());
    let text = std::fs::read_to_string(&cyrus.config).unwrap();
    assert!(text.contains("\ntls_versions: tls1_2 tls1_3\n"), "{text}");
    assert!(
        text.contains("\ntls_ciphers: ECDHE-ECDSA-AES128-GCM-SHA256:"),
        "edited in place: {text}"
    );
    assert!(!text.contains("SECLEVEL"), "{text}");

    for (port, starttls, probe) in listeners(&cyrus) {
        assert!(
            !openssl_accepts(port, starttls, "-tls1", None),
            "{starttls}: TLS 1.0 refused"
        );
        assert!(
            !openssl_accepts(port, starttls, "-tls1_1", None),
            "{starttls}: TLS 1.1 refused"
        );
        assert!(
            openssl_accepts(port, starttls, "-tls1_2", None),
            "{starttls}: TLS 1.2 accepted"
        );
        assert!(
            openssl_accepts(port, starttls, "-tls1_3", None),
            "{starttls}: TLS 1.3 accepted"
        );
        assert!(
            !openssl_accepts(port, starttls, "-tls1_2", Some("AES128-SHA")),
            "{starttls}: no CBC, non-PFS suite"
        );
        assert!(
            probe_complies(&cyrus, port, probe, "intermediate"),
            "{starttls}: the probe agrees"
        );
    }

    assert_idempotent(|| mailtls(&cyrus), &cyrus.config, &cyrus.config);

    let rolled = mailtls(&cyrus).args(["--json", "rollback"]).status(0).run();
    assert_eq!(rolled.json()["verified"], true, "{}", rolled.stderr);
    assert_eq!(std::fs::read(&cyrus.config).unwrap(), original, "byte for byte");
    for (port, starttls, _) in listeners(&cyrus) {
        assert!(
            openssl_accepts(port, starttls, "-tls1", None),
            "{starttls}: TLS 1.0 accepted again after rollback"
        );
    }
}

#[test]
fn modern_with_a_new_certificate_a_weaker_imap_override_and_a_curve_cyrus_cannot_name() {
    // `tls_eccurve: X25519` is no curve to OpenSSL's EC_KEY: Cyrus skips it and every default group is offered.
    let cyrus = Cyrus::start(&format!(
        "{LEGACY}imap_tls_versions: tls1_0 tls1_1 tls1_2 tls1_3\ntls_eccurve: X25519\n"
    ));
    let groups = |port: u16, starttls: &str| {
        mailtls(&cyrus)
            .args(["--json", "probe", &format!("127.0.0.1:{port}"), "--starttls", starttls])
            .run()
            .json()["targets"][0]["groups"]
            .clone()
    };
    assert!(
        groups(cyrus.imap_port, "imap").as_array().unwrap().len() > 3,
        "OpenSSL's defaults before"
    );
    let (cert, key) = self_signed(cyrus.root.path(), "new", KeyKind::EcdsaP256);
    support::key_for_cyrus(&key);

    let applied = mailtls(&cyrus)
        .args(["--json", "-y", "apply", "--profile", "modern", "--config"])
        .args([&cyrus.config])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .status(0)
        .run();
    assert_eq!(applied.json()["verified"], true, "{}\n{}", applied.stderr, cyrus.log());
    let text = std::fs::read_to_string(&cyrus.config).unwrap();
    assert!(
        text.contains("\nimap_tls_versions: tls1_3\n"),
        "the override, in place: {text}"
    );
    assert!(text.contains("\ntls_eccurve: prime256v1\n"), "{text}");
    assert_eq!(groups(cyrus.pop3_port, "pop3"), serde_json::json!(["secp256r1"]));

    for (port, starttls, probe) in listeners(&cyrus) {
        assert!(
            !openssl_accepts(port, starttls, "-tls1_2", None),
            "{starttls}: TLS 1.2 refused"
        );
        assert!(
            openssl_accepts(port, starttls, "-tls1_3", None),
            "{starttls}: TLS 1.3 accepted"
        );
        assert!(
            probe_complies(&cyrus, port, probe, "modern"),
            "{starttls}: the probe agrees"
        );
    }
    let probed = mailtls(&cyrus)
        .args([
            "--json",
            "probe",
            &format!("127.0.0.1:{}", cyrus.imaps_port),
            "--starttls",
            "none",
        ])
        .run()
        .json();
    assert_eq!(probed["targets"][0]["certificate"]["key_type"], "ECDSA", "{probed}");
}

#[test]
fn a_config_cyrus_itself_refuses_is_not_applied() {
    // `popminpoll` takes a number: mailtls's reader has no opinion on values,
    // Cyrus's checker (`cyr_info conf-lint`) refuses the file, so nothing is written.
    let cyrus = Cyrus::new(LEGACY);
    let text = std::fs::read_to_string(&cyrus.config).unwrap() + "popminpoll: soon\n";
    std::fs::write(&cyrus.config, &text).unwrap();
    let refused = mailtls(&cyrus)
        .args(["--json", "-y", "apply", "--config"])
        .args([&cyrus.config])
        .status(1)
        .run();
    let error = refused.json()["error"].as_str().unwrap().to_string();
    assert!(error.contains("cyr_info") && error.contains("popminpoll"), "{error}");
    assert_eq!(std::fs::read_to_string(&cyrus.config).unwrap(), text, "nothing written");
    let history = mailtls(&cyrus).args(["--json", "history"]).status(0).run().json();
    assert_eq!(history["sets"], serde_json::json!([]), "no backup set either");
}

#[test]
fn a_stopped_cyrus_gets_its_file_written_and_a_warning() {
    // No master runs with this imapd.conf: nothing to signal, nothing to verify.
    let cyrus = Cyrus::new(LEGACY);
    let original = std::fs::read(&cyrus.config).unwrap();
    let applied = mailtls(&cyrus)
        .args(["--json", "-y", "apply", "--config"])
        .args([&cyrus.config])
        .status(0)
        .run();
    let json = applied.json();
    assert_eq!(json["changed"], true);
    assert_eq!(json["reloaded"], false, "{json}");
    assert!(applied.stderr.contains("is not running"), "{}", applied.stderr);
    assert_eq!(json["verified"], serde_json::Value::Null, "nothing to verify");
    assert!(std::fs::read_to_string(&cyrus.config)
        .unwrap()
        .contains("\ntls_versions: tls1_2 tls1_3\n"));
    mailtls(&cyrus).args(["rollback"]).status(0).run();
    assert_eq!(std::fs::read(&cyrus.config).unwrap(), original);
}

#[test]
fn ncsc_nl_2025_applies_and_verifies_on_cyrus() {
    let cyrus = Cyrus::start(LEGACY);
    let applied = mailtls(&cyrus)
        .args(["--json", "-y", "apply", "--profile", "ncsc-nl-2025", "--config"])
        .args([&cyrus.config])
        .status(0)
        .run();
    assert_eq!(applied.json()["verified"], true, "{}\n{}", applied.stderr, cyrus.log());
    let probe = mailtls(&cyrus)
        .args(support::baselines::probe_args(cyrus.imap_port, "imap", "ncsc-nl-2025"))
        .run()
        .json();
    support::baselines::check_live_baseline(
        &probe,
        cyrus.imap_port,
        "imap",
        "ncsc-nl-2025",
        "ECDHE-RSA-AES256-SHA",
        "ECDHE-RSA-AES256-GCM-SHA384",
    );
}
