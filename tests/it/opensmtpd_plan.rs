//! OpenSMTPD config-level plans on the smtpd.conf Debian ships in 6.8
//! (bookworm) and 7.4 (bookworm-backports). Both listen on localhost without
//! TLS: mailtls adds a pki and `tls` when given --cert/--key.
use crate::cmd;
use crate::support;

use std::path::Path;

use crate::cmd::Mailtls;

fn copy(fixture: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(fixture)
        .join("smtpd.conf");
    let config = dir.path().join("smtpd.conf");
    std::fs::copy(source, &config).unwrap();
    (dir, config)
}

fn cert(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("c.pem"), dir.join("k.pem"));
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=localhost",
            "-newkey",
            "rsa:2048",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap()
        .status
        .success();
    assert!(ok);
    (cert, key)
}

#[test]
fn the_7_4_config_gets_a_pki_tls_protocols_and_ciphers_on_its_listener() {
    let (dir, config) = copy("opensmtpd-bookworm-backports");
    let (c, k) = cert(dir.path());
    let planned = Mailtls::new(&dir.path().join("state"))
        .env("PATH", "/nonexistent")
        .args(["--json", "plan", "--config"])
        .args([&config])
        .arg_pair("--cert", &c)
        .arg_pair("--key", &k)
        .status(2)
        .run()
        .json();
    let diff = planned["diff"].as_str().unwrap();
    assert!(
        diff.contains(&format!("+pki mailtls cert \"{}\"\n", c.display())),
        "{diff}"
    );
    assert!(
        diff.contains("+listen on localhost tls pki mailtls protocols \"tlsv1.2,tlsv1.3\" ciphers \"ECDHE-ECDSA-AES128-GCM-SHA256:"),
        "{diff}"
    );
}

#[test]
fn the_fixtures_round_trip() {
    for fixture in ["opensmtpd-debian-12", "opensmtpd-bookworm-backports"] {
        let (_dir, config) = copy(fixture);
        let text = std::fs::read_to_string(config).unwrap();
        assert_eq!(mailtls::edit::smtpd_conf::SmtpdConf::parse(&text).to_string(), text);
    }
}

/// Writes `text` as smtpd.conf in a fresh folder with a certificate beside it.
fn conf_with(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("smtpd.conf");
    std::fs::write(&config, text).unwrap();
    (dir, config)
}

fn plan_with_cert(dir: &Path, config: &Path) -> cmd::Ran {
    let (c, k) = cert(dir);
    Mailtls::new(&dir.join("state"))
        .env("PATH", "/nonexistent")
        .args(["--json", "plan", "--config"])
        .args([config])
        .arg_pair("--cert", &c)
        .arg_pair("--key", &k)
        .run()
}

#[test]
fn cert_with_one_pki_listener_and_one_plain_listener_gives_the_plain_one_the_same_pki() {
    // Regression: the plain listener got `tls pki mailtls`, a pki with no cert and key lines, and plan refused.
    let (dir, config) = conf_with(
        "pki mx cert \"/etc/ssl/mx.crt\"\npki mx key \"/etc/ssl/private/mx.key\"\n\
         listen on lo0\nlisten on egress tls pki mx\n\
         action \"local\" mbox\nmatch for local action \"local\"\n",
    );
    let planned = plan_with_cert(dir.path(), &config).code(2).json();
    let diff = planned["diff"].as_str().unwrap();
    assert!(diff.contains("+listen on lo0 tls pki mx"), "{diff}");
    assert!(!diff.contains("pki mailtls"), "{diff}");
}

#[test]
fn pre_6_4_syntax_is_refused_as_such() {
    // Regression: `accept ... deliver to` configs were planned, or refused with a misleading pki message.
    for text in [
        "listen on lo0\nmap \"aliases\" { source db \"/etc/mail/aliases.db\" }\naccept for local deliver to mbox\n",
        "pki mx certificate \"/etc/ssl/mx.crt\"\npki mx key \"/etc/ssl/mx.key\"\nlisten on egress tls pki mx\naccept from any for domain example.org deliver to mbox\n",
    ] {
        let (dir, config) = conf_with(text);
        let ran = plan_with_cert(dir.path(), &config).code(1);
        assert!(
            ran.stderr.contains("OpenSMTPD before 6.4 syntax; not supported"),
            "{}",
            ran.stderr
        );
        assert_eq!(std::fs::read_to_string(&config).unwrap(), text, "nothing written");
    }
}

#[test]
fn every_baseline_profile_plans_on_opensmtpd() {
    support::baselines::check_every_baseline_plans("opensmtpd", true, false, |profile| {
        let (dir, config) = copy("opensmtpd-bookworm-backports");
        let (c, k) = cert(dir.path());
        let plan = Mailtls::new(&dir.path().join("state"))
            .env("PATH", "/nonexistent")
            .args(["--json", "plan", "--profile", profile, "--config"])
            .args([&config])
            .arg_pair("--cert", &c)
            .arg_pair("--key", &k);
        (dir, plan)
    });
}
