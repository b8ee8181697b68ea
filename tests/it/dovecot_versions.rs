//! Dovecot settings mapped by the detected version (issue 17, item 5), on
//! upstream's example configs of that version (fixtures/real-world). The
//! version comes from `dovecot --version`: a stand-in prints the one wanted.
use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::cmd::Mailtls;

/// A copy of upstream's example config for `tag`, a PATH whose `dovecot`
/// says it is `version`, and a certificate.
fn setup(tag: &str, version: &str) -> (tempfile::TempDir, PathBuf, String, PathBuf, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/real-world")
        .join(format!("dovecot-upstream-{tag}"));
    let dir = root.path().join("dovecot");
    support::run(std::process::Command::new("cp").arg("-r").arg(&source).arg(&dir));
    let bin = root.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let stand_in = bin.join("dovecot");
    std::fs::write(&stand_in, format!("#!/bin/sh\necho '{version}'\n")).unwrap();
    std::fs::set_permissions(&stand_in, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (cert, key) = support::self_signed(root.path(), "server", support::KeyKind::Rsa2048);
    let path = format!("{}:/usr/bin:/bin", bin.display());
    (root, dir.join("dovecot.conf"), path, cert, key)
}

/// `mailtls --json plan --profile PROFILE` of the copy in `root`, to declare what it must do.
fn plan(root: &Path, config: &Path, path: &str, profile: &str, cert: &Path, key: &Path) -> Mailtls {
    Mailtls::new(&root.join("state"))
        .env("PATH", path)
        .args(["--json", "plan", "--profile", profile, "--config"])
        .args([config])
        .arg_pair("--cert", cert)
        .arg_pair("--key", key)
}

#[test]
fn dovecot_2_3_13_gets_no_ssl_cipher_suites_and_is_told_why() {
    // Regression: Debian 11's 2.3.13 (and Ubuntu 20.04's 2.3.7) would reject the ssl_cipher_suites mailtls wrote.
    let (root, config, path, cert, key) = setup("2.3.13", "2.3.13 (89f716dc2)");
    let json = plan(root.path(), &config, &path, "intermediate", &cert, &key)
        .status(2)
        .run()
        .json();
    let diff = json["diff"].as_str().unwrap();
    assert!(!diff.contains("ssl_cipher_suites"), "{diff}");
    assert!(diff.contains("+ssl_min_protocol = TLSv1.2"), "{diff}");
    let warnings = json["warnings"].to_string();
    assert!(
        warnings.contains("Dovecot 2.3.13 has no ssl_cipher_suites (from 2.3.15)"),
        "{warnings}"
    );
}

#[test]
fn dovecot_2_2_gets_ssl_protocols_and_cannot_do_tls_1_3_only() {
    let (root, config, path, cert, key) = setup("2.2.36", "2.2.36 (1f10bfa63)");
    let json = plan(root.path(), &config, &path, "intermediate", &cert, &key)
        .status(2)
        .run()
        .json();
    let diff = json["diff"].as_str().unwrap();
    assert!(
        diff.contains("+ssl_protocols = !SSLv2 !SSLv3 !TLSv1 !TLSv1.1"),
        "{diff}"
    );
    for absent in ["ssl_min_protocol", "ssl_curve_list", "ssl_cipher_suites"] {
        assert!(!diff.contains(&format!("+{absent}")), "{diff}");
    }
    let refused = plan(root.path(), &config, &path, "modern", &cert, &key).status(1).run();
    assert!(
        refused
            .stderr
            .contains("Dovecot 2.2.36 cannot limit TLS to TLSv1.3 and up"),
        "{}",
        refused.stderr
    );
}

#[test]
fn rhel_s_profile_system_cipher_list_is_replaced_and_said() {
    // RHEL and Fedora ship `ssl_cipher_list = PROFILE=SYSTEM` (the crypto policy's list).
    let (root, config, path, cert, key) = setup("2.3.21", "2.3.21 (47349e2482)");
    let ssl = config.with_file_name("conf.d/10-ssl.conf");
    let text = std::fs::read_to_string(&ssl).unwrap();
    std::fs::write(&ssl, format!("{text}ssl_cipher_list = PROFILE=SYSTEM\n")).unwrap();
    let json = plan(root.path(), &config, &path, "intermediate", &cert, &key)
        .status(2)
        .run()
        .json();
    let warnings = json["warnings"].to_string();
    assert!(
        warnings.contains("PROFILE=SYSTEM (the system crypto policy's list) is replaced"),
        "{warnings}"
    );
    assert!(
        json["diff"].as_str().unwrap().contains("+ssl_cipher_list = ECDHE-"),
        "{}",
        json["diff"]
    );
}

#[test]
fn every_baseline_profile_plans_on_dovecot_2_3() {
    support::baselines::check_every_baseline_plans("dovecot", true, true, |profile| {
        let (root, config, path, cert, key) = setup("2.3.21", "2.3.21 (47349e2482)");
        let plan = plan(root.path(), &config, &path, profile, &cert, &key);
        (root, plan)
    });
}
