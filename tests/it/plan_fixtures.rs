//! `plan` on real distribution configs, without a running server: what it
//! would change, that it writes nothing, and that bad input is refused.
use crate::support;

use std::path::{Path, PathBuf};

use crate::cmd::{snapshot, Mailtls};
use crate::support::{self_signed, KeyKind};

/// A private copy of a fixture directory, with a fresh certificate and key
/// in place of the distribution's snakeoil paths.
fn fixture_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("etc");
    std::fs::create_dir(&dir).unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
    for f in ["main.cf", "master.cf"] {
        std::fs::copy(source.join(f), dir.join(f)).unwrap();
    }
    (root, dir)
}

fn use_cert(dir: &Path) {
    let (cert, key) = self_signed(dir, "server", KeyKind::Rsa2048);
    let main = std::fs::read_to_string(dir.join("main.cf")).unwrap();
    let main = main
        .replace("/etc/ssl/certs/ssl-cert-snakeoil.pem", cert.to_str().unwrap())
        .replace("/etc/ssl/private/ssl-cert-snakeoil.key", key.to_str().unwrap());
    std::fs::write(dir.join("main.cf"), main).unwrap();
}

#[test]
fn debian_stock_plan_hardens_protocols_and_ciphers_and_writes_nothing() {
    let (root, dir) = fixture_copy("debian-12");
    use_cert(&dir);
    let before = snapshot(&dir);
    let ran = Mailtls::new(&root.path().join("state"))
        .args(["--json", "plan", "--mta", "postfix", "--config"])
        .args([&dir])
        .status(2)
        .run();
    let json = ran.json();
    assert_eq!(json["changed"], true);
    let diff = json["diff"].as_str().unwrap();
    for line in [
        "+smtpd_tls_protocols = >=TLSv1.2",
        "+smtp_tls_mandatory_protocols = >=TLSv1.2",
        "+smtpd_tls_ciphers = high",
    ] {
        assert!(diff.contains(line), "missing {line:?} in\n{diff}");
    }
    assert!(
        diff.contains("+tls_high_cipherlist = ECDHE-ECDSA-AES128-GCM-SHA256:"),
        "{diff}"
    );
    assert!(
        !diff.lines().any(|l| l.starts_with('-') && !l.starts_with("---")),
        "stock config: only additions\n{diff}"
    );
    assert_eq!(snapshot(&dir), before, "plan wrote nothing");
    assert!(!root.path().join("state").exists(), "plan creates no state");
}

#[test]
fn an_already_hardened_config_plans_nothing() {
    let (root, dir) = fixture_copy("debian-12");
    use_cert(&dir);
    let mut main = std::fs::read_to_string(dir.join("main.cf")).unwrap();
    main.push_str(
        "smtpd_tls_protocols = >=TLSv1.3\nsmtpd_tls_mandatory_protocols = !SSLv2, !SSLv3, !TLSv1, !TLSv1.1\n\
         smtp_tls_protocols = >=TLSv1.2\nsmtp_tls_mandatory_protocols = >=TLSv1.2\nsmtpd_tls_ciphers = high\n\
         smtpd_tls_mandatory_ciphers = high\nsmtp_tls_ciphers = high\nsmtp_tls_mandatory_ciphers = high\n\
         tls_high_cipherlist = ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384\n\
         tls_preempt_cipherlist = no\ntls_eecdh_auto_curves = X25519 prime256v1\n",
    );
    std::fs::write(dir.join("main.cf"), &main).unwrap();
    let json = Mailtls::new(&root.path().join("state"))
        .args(["--json", "plan", "--config"])
        .args([&dir])
        .status(0)
        .run()
        .json();
    assert_eq!(json["changed"], false, "stricter values are kept: {json}");
}

#[test]
fn weak_master_cf_overrides_are_rewritten_in_place() {
    let (root, dir) = fixture_copy("debian-12");
    use_cert(&dir);
    let master = std::fs::read_to_string(dir.join("master.cf")).unwrap();
    let master = master.replace(
        "#submission inet n       -       y       -       -       smtpd\n",
        "submission inet n       -       y       -       -       smtpd\n  -o smtpd_tls_security_level=encrypt\n  -o smtpd_tls_mandatory_protocols=>=TLSv1\n",
    );
    std::fs::write(dir.join("master.cf"), &master).unwrap();
    let json = Mailtls::new(&root.path().join("state"))
        .args(["--json", "plan", "--config"])
        .args([&dir])
        .status(2)
        .run()
        .json();
    let diff = json["diff"].as_str().unwrap();
    assert!(
        diff.contains("-  -o smtpd_tls_mandatory_protocols=>=TLSv1\n+  -o smtpd_tls_mandatory_protocols=>=TLSv1.2\n"),
        "{diff}"
    );
    assert!(
        !diff.contains("-  -o smtpd_tls_security_level=encrypt"),
        "a stricter level is kept:\n{diff}"
    );
}

#[test]
fn malformed_main_cf_is_refused_with_its_line() {
    let (root, dir) = fixture_copy("debian-12");
    use_cert(&dir);
    let mut main = std::fs::read_to_string(dir.join("main.cf")).unwrap();
    main.push_str("this line has no equals sign\n");
    std::fs::write(dir.join("main.cf"), &main).unwrap();
    let lines = main.lines().count();
    let ran = Mailtls::new(&root.path().join("state"))
        .args(["plan", "--config"])
        .args([&dir])
        .status(1)
        .run();
    assert!(
        ran.stderr.contains(&format!("main.cf:{lines}: missing '='")),
        "{}",
        ran.stderr
    );
    assert_eq!(ran.stderr.trim().lines().count(), 1, "one line: {}", ran.stderr);
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused() {
    let (root, dir) = fixture_copy("debian-12");
    use_cert(&dir);
    let (cert, _) = self_signed(&dir, "one", KeyKind::Rsa2048);
    let (_, other_key) = self_signed(&dir, "two", KeyKind::Rsa2048);
    let before = snapshot(&dir);
    let ran = Mailtls::new(&root.path().join("state"))
        .args(["plan", "--config"])
        .args([&dir])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &other_key)
        .status(1)
        .run();
    assert!(ran.stderr.contains("does not match the certificate"), "{}", ran.stderr);
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn cert_paths_that_would_inject_config_are_refused() {
    let (root, dir) = fixture_copy("debian-12");
    use_cert(&dir);
    for bad in [
        "/tmp/x.pem\nsmtpd_tls_security_level = none",
        "/tmp/a b.pem",
        "/tmp/$x.pem",
    ] {
        let ran = Mailtls::new(&root.path().join("state"))
            .args(["plan", "--config"])
            .args([&dir])
            .args(["--cert", bad, "--key", bad])
            .status(1)
            .run();
        assert_eq!(
            ran.stderr.trim().lines().count(),
            1,
            "one-line error for {bad:?}: {}",
            ran.stderr
        );
        assert!(ran.stderr.contains("--cert"), "{}", ran.stderr);
    }
}

#[test]
fn a_world_readable_key_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let (root, dir) = fixture_copy("debian-12");
    use_cert(&dir);
    let (cert, key) = self_signed(&dir, "open", KeyKind::Rsa2048);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ran = Mailtls::new(&root.path().join("state"))
        .args(["plan", "--config"])
        .args([&dir])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .status(1)
        .run();
    assert!(ran.stderr.contains("readable by everyone"), "{}", ran.stderr);
}

#[test]
fn a_user_profile_with_an_unknown_key_names_file_and_key() {
    let (root, dir) = fixture_copy("debian-12");
    let profile = root.path().join("mine.toml");
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/intermediate.toml")).unwrap();
    std::fs::write(&profile, text.replace("dh_min_bits", "dh_bits")).unwrap();
    let ran = Mailtls::new(&root.path().join("state"))
        .args(["plan", "--config"])
        .args([&dir])
        .arg_pair("--profile", &profile)
        .status(1)
        .run();
    assert!(
        ran.stderr.contains("mine.toml") && ran.stderr.contains("dh_bits"),
        "{}",
        ran.stderr
    );
}

#[test]
fn without_a_server_certificate_the_outbound_settings_are_still_hardened() {
    // Regression: a config with no certificate was refused outright without --cert.
    let (root, dir) = fixture_copy("real-world/postfix-upstream");
    let json = Mailtls::new(&root.path().join("state"))
        .args(["--json", "plan", "--config"])
        .args([&dir])
        .status(2)
        .run()
        .json();
    let diff = json["diff"].as_str().unwrap();
    assert!(diff.contains("+smtp_tls_mandatory_protocols = >=TLSv1.2"), "{diff}");
    assert!(!diff.contains("+smtpd_"), "inbound left as is:\n{diff}");
    let warnings = json["warnings"].to_string();
    assert!(
        warnings.contains("outbound (smtp_) settings are hardened, inbound TLS is left as is"),
        "{warnings}"
    );
}

#[test]
fn a_failing_postfix_check_shows_its_real_reason() {
    // Regression: `postfix check` logs to syslog, so the refusal said nothing; now it shows the fatal line.
    let (root, dir) = fixture_copy("debian-12");
    use_cert(&dir);
    let mut main = std::fs::read_to_string(dir.join("main.cf")).unwrap();
    main.push_str("queue_directory = /nonexistent-queue\n");
    std::fs::write(dir.join("main.cf"), main).unwrap();
    let before = snapshot(&dir);
    let ran = Mailtls::new(&root.path().join("state"))
        .args(["-y", "apply", "--no-reload", "--no-verify", "--config"])
        .args([&dir])
        .run();
    assert_ne!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("fatal: chdir(/nonexistent-queue)"),
        "{}",
        ran.stderr
    );
    assert_eq!(snapshot(&dir), before, "nothing written");
}

#[test]
fn mailcow_settings_go_to_extra_cf_which_its_start_script_appends() {
    // Regression: the block landed below `# Overrides #`, which mailcow's postfix.sh truncates at every start.
    let (root, dir) = fixture_copy("real-world/postfix-mailcow");
    let mut main = std::fs::read_to_string(dir.join("main.cf")).unwrap();
    // A live main.cf: what the last start appended below the marker is not what counts.
    main.push_str("\n# User Overrides\nsmtpd_tls_protocols = >=TLSv1.3\n");
    std::fs::write(dir.join("main.cf"), &main).unwrap();
    std::fs::write(
        dir.join("extra.cf"),
        "myhostname = mx.example.org\nsmtp_tls_mandatory_protocols = >=TLSv1\n",
    )
    .unwrap();
    let (cert, key) = self_signed(root.path(), "server", KeyKind::Rsa2048);
    let json = Mailtls::new(&root.path().join("state"))
        .args(["--json", "plan", "--config"])
        .args([&dir])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .status(2)
        .run()
        .json();
    let files: Vec<&str> = json["file_diffs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        !files.iter().any(|f| f.ends_with("/main.cf")),
        "main.cf is mailcow's: {files:?}"
    );
    let extra = json["file_diffs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("/extra.cf"))
        .expect("extra.cf is written");
    let after = extra["after"].as_str().unwrap();
    assert!(
        after.starts_with("myhostname = mx.example.org\nsmtp_tls_mandatory_protocols = >=TLSv1.2\n"),
        "edited in place:\n{after}"
    );
    assert!(
        after.contains(&format!("smtpd_tls_cert_file = {}\n", cert.display())),
        "{after}"
    );
    assert!(
        json["warnings"]
            .to_string()
            .contains("mailcow: its postfix container rewrites main.cf"),
        "{}",
        json["warnings"]
    );
}

#[test]
fn every_baseline_profile_plans_on_debian_postfix() {
    support::baselines::check_every_baseline_plans("postfix", true, false, |profile| {
        let (root, dir) = fixture_copy("debian-12");
        use_cert(&dir);
        let plan = Mailtls::new(&root.path().join("state"))
            .args(["--json", "plan", "--mta", "postfix", "--profile", profile, "--config"])
            .args([&dir]);
        (root, plan)
    });
}
