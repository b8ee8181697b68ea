//! Sendmail config-level plans on Debian 12's own files (fixtures/sendmail-debian-12:
//! the package's sendmail.mc and the starttls.m4 its update_tlsm4 writes).
//! The copies include the sandbox's cf macros instead of /usr/share/sendmail,
//! which this host does not have; the fixtures themselves are never edited.
use crate::support;

use std::path::Path;

use crate::cmd::Mailtls;

/// A Debian /etc/mail in a temporary folder: sendmail.mc including tls/starttls.m4, and a generated sendmail.cf.
fn debian_etc_mail() -> tempfile::TempDir {
    let bin = support::sendmail_bin();
    let share = bin.join("../../share/sendmail");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sendmail-debian-12");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tls")).unwrap();
    let share = share.canonicalize().unwrap();
    let local = |text: String| text.replace("/usr/share/sendmail", &share.display().to_string());
    let mc = local(std::fs::read_to_string(fixtures.join("sendmail.mc")).unwrap()).replace(
        "MAILER_DEFINITIONS\n",
        &format!(
            "include(`{}/tls/starttls.m4')dnl\nMAILER_DEFINITIONS\n",
            dir.path().display()
        ),
    );
    // Debian's m4 files include /etc/mail/m4/*.m4, which the package's postinst creates empty.
    let mc = mc.replace(
        "include(`/etc/mail/m4/dialup.m4')dnl\ninclude(`/etc/mail/m4/provider.m4')dnl\n",
        "",
    );
    // Debian's OSTYPE/DOMAIN macros include /usr/share/sendmail/cf/debian/autoconf.m4 by absolute path:
    // use the generic Linux ones and give starttls.m4 the facts autoconf.m4 would.
    let mc = mc.replace(
        "OSTYPE(`debian')dnl\nDOMAIN(`debian-mta')dnl\n",
        "OSTYPE(`linux')dnl\ndefine(`sm_version', `8.17.1.9')dnl\ndefine(`sm_version_math', `528641')dnl\ndefine(`sm_enable_tls', `yes')dnl\n",
    );
    std::fs::write(dir.path().join("sendmail.mc"), &mc).unwrap();
    let tls = local(std::fs::read_to_string(fixtures.join("tls/starttls.m4")).unwrap())
        .replace("/etc/mail/tls/", &format!("{}/tls/", dir.path().display()));
    std::fs::write(dir.path().join("tls/starttls.m4"), tls).unwrap();
    let cf = support::run(
        std::process::Command::new("m4")
            .arg("sendmail.mc")
            .current_dir(dir.path()),
    );
    std::fs::write(dir.path().join("sendmail.cf"), cf).unwrap();
    let (cert, key) = support::self_signed(&dir.path().join("tls"), "server", support::KeyKind::Rsa2048);
    std::fs::rename(cert, dir.path().join("tls/sendmail-server.crt")).unwrap();
    std::fs::rename(key, dir.path().join("tls/sendmail-common.key")).unwrap();
    dir
}

#[test]
fn debian_starttls_m4_gets_the_new_defines_inside_its_block_and_the_cf_is_regenerated() {
    let dir = debian_etc_mail();
    let mc = dir.path().join("sendmail.mc");
    let planned = Mailtls::new(&dir.path().join("state"))
        .args(["--json", "plan", "--mta", "sendmail", "--config"])
        .args([&mc])
        .status(2)
        .run()
        .json();
    let diff = planned["diff"].as_str().unwrap();
    let tls = format!("{}/tls/starttls.m4", dir.path().display());
    assert!(
        diff.contains(&format!("+++ {tls}"))
            && diff
                .contains(" define(`confTLS_SRV_OPTIONS', `V')dnl   # <= EDIT\n+dnl # TLS settings added by mailtls"),
        "added after Debian's last define, inside its ifelse block:\n{diff}"
    );
    assert!(
        !diff.contains(&format!("+++ {}\n", mc.display())),
        "sendmail.mc itself unchanged:\n{diff}"
    );
    assert!(
        diff.contains("+O ServerSSLOptions=+SSL_OP_NO_SSLv2 +SSL_OP_NO_SSLv3 +SSL_OP_NO_TLSv1 +SSL_OP_NO_TLSv1_1"),
        "{diff}"
    );
    assert!(diff.contains("+O CipherList=ECDHE-ECDSA-AES128-GCM-SHA256:"), "{diff}");
}

#[test]
fn the_fixtures_round_trip_through_the_m4_editor() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sendmail-debian-12");
    for name in ["sendmail.mc", "tls/starttls.m4"] {
        let text = std::fs::read_to_string(fixtures.join(name)).unwrap();
        assert_eq!(mailtls::edit::sendmail_mc::McFile::parse(&text).to_string(), text);
    }
    let tls = std::fs::read_to_string(fixtures.join("tls/starttls.m4")).unwrap();
    let parsed = mailtls::edit::sendmail_mc::McFile::parse(&tls);
    assert_eq!(
        parsed.value("confSERVER_CERT").unwrap().value.as_deref(),
        Some("/etc/mail/tls/sendmail-server.crt")
    );
    assert!(parsed.value("confCRL").is_none(), "undefined after its define");
}

/// FreeBSD's freebsd.mc (no include(cf.m4): its Makefile passes cf.m4 to m4) in a folder of its own.
fn freebsd_mc() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = support::tempdir_for_keys();
    let mc = dir.path().join("freebsd.mc");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/real-world/sendmail-freebsd-14/freebsd.mc"),
        &mc,
    )
    .unwrap();
    (dir, mc)
}

#[test]
fn an_mc_without_include_cf_m4_is_built_with_the_cf_macros_and_cert_dir_expanded() {
    // Regression: bare m4 made a sendmail.cf of raw m4 text (OSTYPE(freebsd6), ...) and "no certificate".
    let path = format!("{}:/usr/bin:/bin", support::sendmail_bin().display());
    let (dir, mc) = freebsd_mc();
    let ran = Mailtls::new(&dir.path().join("state"))
        .env("PATH", &path)
        .args(["plan", "--config"])
        .args([&mc])
        .status(1)
        .run();
    assert!(
        ran.stderr.contains("/etc/mail/certs/host.cert"),
        "CERT_DIR/host.cert is judged as the path it expands to:\n{}",
        ran.stderr
    );
    let (cert, key) = support::self_signed(dir.path(), "server", support::KeyKind::Rsa2048);
    let json = Mailtls::new(&dir.path().join("state"))
        .env("PATH", &path)
        .args(["--json", "plan", "--config"])
        .args([&mc])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .status(2)
        .run()
        .json();
    let diff = json["diff"].as_str().unwrap();
    assert!(!diff.contains("+OSTYPE("), "{diff}");
    assert!(
        diff.contains(&format!("+O ServerCertFile={}", cert.display())),
        "{diff}"
    );
    assert!(diff.contains("+O CipherList=ECDHE-ECDSA-AES128-GCM-SHA256:"), "{diff}");
}

#[test]
fn a_missing_cf_m4_says_to_install_sendmail_cf() {
    let (dir, mc) = freebsd_mc();
    let ran = Mailtls::new(&dir.path().join("state"))
        .env("PATH", "/usr/bin:/bin")
        .args(["plan", "--config"])
        .args([&mc])
        .status(1)
        .run();
    assert!(ran.stderr.contains("install sendmail-cf"), "{}", ran.stderr);
}

#[test]
fn every_baseline_profile_plans_on_debian_sendmail() {
    support::baselines::check_every_baseline_plans("sendmail", true, true, |profile| {
        let dir = debian_etc_mail();
        let mc = dir.path().join("sendmail.mc");
        let plan = Mailtls::new(&dir.path().join("state"))
            .args(["--json", "plan", "--mta", "sendmail", "--profile", profile, "--config"])
            .args([&mc]);
        (dir, plan)
    });
}
