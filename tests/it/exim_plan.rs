//! `plan` on Exim configs as distributions ship them (Debian 12 split and
//! unsplit, upstream's monolithic configure.default), without a daemon:
//! what changes, where, that nothing is written, and what is refused.
use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::cmd::Mailtls;
use crate::support::{self_signed, KeyKind};

/// A private copy of a fixture (a folder or one file) under a fresh root.
fn fixture_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
    let target = root.path().join(source.file_name().unwrap());
    copy(&source, &target);
    (root, target)
}

fn copy(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

/// Every file under `dir` with its bytes.
fn tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    if dir.is_file() {
        out.insert(dir.to_path_buf(), std::fs::read(dir).unwrap());
        return out;
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        out.extend(tree(&entry.unwrap().path()));
    }
    out
}

/// A stand-in `exim4` that reports the given TLS library, on a PATH of its own.
fn fake_exim(root: &Path, library: &str) -> String {
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("exim4");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho 'Exim version 4.97 #1 built 01-Jan-2024 00:00:00'\necho 'Support for: iconv() IPv6 {library} DKIM'\necho 'Configuration file is /nonexistent'\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}:/usr/bin:/bin", bin.display())
}

/// mailtls with no Exim binary to be found (as on a host that only has the config).
fn mailtls(root: &Path) -> Mailtls {
    Mailtls::new(&root.join("state")).env("PATH", "/usr/bin:/bin")
}

/// What a file created by the plan would hold: the added lines of its diff.
fn created_content(diff: &str, path: &Path) -> String {
    let header = format!("+++ {}\n", path.display());
    let start = diff
        .find(&header)
        .unwrap_or_else(|| panic!("no diff for {}:\n{diff}", path.display()))
        + header.len();
    diff[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("--- "))
        .filter_map(|l| l.strip_prefix('+'))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn debian_split_plan_adds_000_localmacros_and_writes_nothing() {
    let (root, dir) = fixture_copy("exim-debian-12-split");
    let (cert, key) = self_signed(root.path(), "server", KeyKind::Rsa2048);
    let before = tree(&dir);
    let ran = mailtls(root.path())
        .args(["--json", "plan", "--mta", "exim", "--config"])
        .args([&dir])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .status(2)
        .run();
    let json = ran.json();
    let macros = dir.join("conf.d/main/000_localmacros");
    assert_eq!(json["files"], serde_json::json!([macros]), "only the local macros file");
    let diff = json["diff"].as_str().unwrap();
    let content = created_content(diff, &macros);
    assert!(content.contains("tls_require_ciphers = NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:"));
    assert!(content.contains("\nMAIN_TLS_ENABLE = yes\n"), "{content}");
    assert!(content.contains(&format!("MAIN_TLS_CERTIFICATE = {}\n", cert.display())));
    assert!(content.contains(&format!("MAIN_TLS_PRIVATEKEY = {}\n", key.display())));
    assert!(!content.contains("openssl_options"), "GnuTLS refuses openssl_options");
    assert!(
        ran.stderr.contains("assuming it is built with GnuTLS"),
        "{}",
        ran.stderr
    );
    assert_eq!(tree(&dir), before, "plan wrote nothing");
    assert!(!root.path().join("state").exists());

    // Idempotent: with the planned file in place there is nothing left to do.
    std::fs::write(&macros, content).unwrap();
    let again = mailtls(root.path())
        .args(["--json", "plan", "--config"])
        .args([&dir])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .status(0)
        .run()
        .json();
    assert_eq!(again["changed"], false, "{again}");
}

#[test]
fn debian_unsplit_plan_adds_exim4_conf_localmacros() {
    let (root, dir) = fixture_copy("exim-debian-12-unsplit");
    let (cert, key) = self_signed(root.path(), "server", KeyKind::Rsa2048);
    let json = mailtls(root.path())
        .args(["--json", "plan", "--config"])
        .args([&dir])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .status(2)
        .run()
        .json();
    let macros = dir.join("exim4.conf.localmacros");
    assert_eq!(json["servers"][0]["mta"], "exim", "detected from the folder");
    assert_eq!(json["files"], serde_json::json!([macros]));
    let content = created_content(json["diff"].as_str().unwrap(), &macros);
    assert!(content.contains("MAIN_TLS_ENABLE = yes"), "{content}");
    std::fs::write(&macros, content).unwrap();
    mailtls(root.path())
        .args(["plan", "--config"])
        .args([&dir])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .status(0)
        .run();
}

#[test]
fn debian_without_a_certificate_asks_for_one() {
    // Stock Debian has TLS off and no CONFDIR/exim.crt: turning TLS on needs a certificate.
    let (root, dir) = fixture_copy("exim-debian-12-split");
    let ran = mailtls(root.path())
        .args(["plan", "--config"])
        .args([&dir])
        .status(1)
        .run();
    assert!(
        ran.stderr.contains("exim.crt") && ran.stderr.contains("--cert"),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_stricter_tls_require_ciphers_is_kept() {
    let (root, dir) = fixture_copy("exim-debian-12-split");
    let (cert, key) = self_signed(root.path(), "server", KeyKind::Rsa2048);
    let modern = "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-256-GCM:-MAC-ALL:+AEAD:-GROUP-ALL:+GROUP-X25519";
    std::fs::write(
        dir.join("conf.d/main/000_localmacros"),
        format!(
            "MAIN_TLS_ENABLE = true\nMAIN_TLS_CERTIFICATE = {}\nMAIN_TLS_PRIVATEKEY = {}\ntls_require_ciphers = {modern}\n",
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    let json = mailtls(root.path())
        .args(["--json", "plan", "--config"])
        .args([&dir])
        .status(0)
        .run()
        .json();
    assert_eq!(json["changed"], false, "{json}");
}

#[test]
fn an_option_set_elsewhere_is_edited_where_it_is_not_set_twice() {
    let (root, dir) = fixture_copy("exim-debian-12-split");
    let (cert, key) = self_signed(root.path(), "server", KeyKind::Rsa2048);
    let admin = dir.join("conf.d/main/50_local_tls");
    std::fs::write(&admin, "# the admin's own\ntls_require_ciphers = NORMAL:-VERS-SSL3.0\n").unwrap();
    let json = mailtls(root.path())
        .args(["--json", "plan", "--config"])
        .args([&dir])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .status(2)
        .run()
        .json();
    let diff = json["diff"].as_str().unwrap();
    assert!(
        diff.contains("-tls_require_ciphers = NORMAL:-VERS-SSL3.0\n+tls_require_ciphers = NORMAL:-VERS-ALL:"),
        "{diff}"
    );
    let macros = created_content(diff, &dir.join("conf.d/main/000_localmacros"));
    assert!(
        !macros.contains("tls_require_ciphers"),
        "not set a second time:\n{macros}"
    );

    // A config that already sets it twice is refused, naming both places.
    std::fs::write(dir.join("conf.d/main/60_again"), "tls_require_ciphers = NORMAL\n").unwrap();
    let ran = mailtls(root.path())
        .args(["plan", "--config"])
        .args([&dir])
        .status(1)
        .run();
    assert!(
        ran.stderr
            .contains("60_again:1: tls_require_ciphers is set a second time (first at")
            && ran.stderr.contains("50_local_tls:2"),
        "{}",
        ran.stderr
    );
}

#[test]
fn upstream_config_with_gnutls_appends_outside_the_openssl_block() {
    let (root, file) = fixture_copy("exim-upstream/exim.conf");
    let path = fake_exim(root.path(), "GnuTLS");
    let json = Mailtls::new(&root.path().join("state"))
        .env("PATH", &path)
        .args(["--json", "plan", "--config"])
        .args([&file])
        .status(2)
        .run()
        .json();
    let diff = json["diff"].as_str().unwrap();
    assert!(diff.contains("+tls_require_ciphers = NORMAL:-VERS-ALL:"), "{diff}");
    assert!(
        !diff.contains("-tls_require_ciphers = ECDSA:RSA:!COMPLEMENTOFDEFAULT"),
        "the `.ifdef _HAVE_OPENSSL` setting is not active under GnuTLS:\n{diff}"
    );
    assert_eq!(
        diff.lines()
            .filter(|l| l.starts_with('-') && !l.starts_with("---"))
            .count(),
        0
    );
}

#[test]
fn upstream_config_with_openssl_gets_openssl_syntax() {
    let (root, file) = fixture_copy("exim-upstream/exim.conf");
    let path = fake_exim(root.path(), "OpenSSL");
    let json = Mailtls::new(&root.path().join("state"))
        .env("PATH", &path)
        .args(["--json", "plan", "--config"])
        .args([&file])
        .status(2)
        .run()
        .json();
    let diff = json["diff"].as_str().unwrap();
    assert!(
        diff.contains("-tls_require_ciphers = ECDSA:RSA:!COMPLEMENTOFDEFAULT\n+tls_require_ciphers = ECDHE-ECDSA-AES128-GCM-SHA256:"),
        "the active `.ifdef _HAVE_OPENSSL` setting is edited in place:\n{diff}"
    );
    assert!(
        diff.contains("+openssl_options = +no_sslv2 +no_sslv3 +no_tlsv1 +no_tlsv1_1\n"),
        "{diff}"
    );
    assert!(diff.contains("+tls_eccurve = X25519:prime256v1:secp384r1\n"), "{diff}");
    assert!(!diff.contains("VERS-"), "no GnuTLS syntax:\n{diff}");
}

#[test]
fn malformed_config_is_refused_with_its_line() {
    let (root, file) = fixture_copy("exim-upstream/exim.conf");
    let text = std::fs::read_to_string(&file).unwrap();
    let broken = text.replacen(
        "timeout_frozen_after = 7d\n",
        "timeout_frozen_after = 7d\nthis line has no equals\n",
        1,
    );
    std::fs::write(&file, &broken).unwrap();
    let line = broken.lines().position(|l| l == "this line has no equals").unwrap() + 1;
    let ran = mailtls(root.path())
        .args(["plan", "--mta", "exim", "--config"])
        .args([&file])
        .status(1)
        .run();
    assert!(
        ran.stderr
            .contains(&format!("exim.conf:{line}: expected `name = value`")),
        "{}",
        ran.stderr
    );
    assert_eq!(ran.stderr.trim().lines().count(), 1, "{}", ran.stderr);
}

#[test]
fn without_a_binary_a_gnutls_priority_string_means_gnutls() {
    // Regression: a single file with a GnuTLS priority string got an OpenSSL list and openssl_options.
    let (root, dir) = fixture_copy("real-world/exim-hestiacp-4.95/exim4");
    let template = dir.join("exim4.conf.template");
    let single = root.path().join("exim.conf");
    std::fs::copy(&template, &single).unwrap();
    let json = mailtls(root.path())
        .args(["--json", "plan", "--config"])
        .args([&single])
        .status(2)
        .run()
        .json();
    let diff = json["diff"].as_str().unwrap();
    assert!(!diff.contains("openssl_options"), "{diff}");
    assert!(diff.contains("+tls_require_ciphers = NORMAL:-VERS-ALL:"), "{diff}");
    let warnings = json["warnings"].to_string();
    assert!(warnings.contains("the config is written for GnuTLS"), "{warnings}");
}

#[test]
fn a_panel_template_that_sets_the_certificate_itself_is_edited_where_it_does() {
    // Regression: VestaCP's template never reads MAIN_TLS_CERTIFICATE, so a --cert change in the macros did nothing.
    let (root, dir) = fixture_copy("real-world/exim-vestacp-debian-9/exim4");
    let (cert, key) = self_signed(root.path(), "server", KeyKind::Rsa2048);
    let json = mailtls(root.path())
        .args(["--json", "plan", "--config"])
        .args([&dir])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .status(2)
        .run()
        .json();
    let diff = json["diff"].as_str().unwrap();
    assert!(
        diff.contains(&format!("+tls_certificate = {}", cert.display())),
        "{diff}"
    );
    assert!(
        diff.contains("-tls_certificate = /usr/local/vesta/ssl/certificate.crt"),
        "{diff}"
    );
    assert!(!diff.contains("MAIN_TLS_CERTIFICATE"), "{diff}");
}

#[test]
fn a_per_sni_certificate_expression_is_not_flattened() {
    let (root, dir) = fixture_copy("real-world/exim-hestiacp/exim4");
    let (cert, key) = self_signed(root.path(), "server", KeyKind::Rsa2048);
    let before = tree(&dir);
    let ran = mailtls(root.path())
        .args(["plan", "--config"])
        .args([&dir])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .status(1)
        .run();
    assert!(
        ran.stderr.contains("tls_certificate is an expression"),
        "{}",
        ran.stderr
    );
    assert_eq!(tree(&dir), before);
}

#[test]
fn every_baseline_profile_plans_on_exim_with_gnutls_and_openssl() {
    for library in ["GnuTLS", "OpenSSL"] {
        let server = format!("exim/{library}");
        support::baselines::check_every_baseline_plans(&server, library == "OpenSSL", true, |profile| {
            let (root, dir) = fixture_copy("exim-debian-12-split");
            let (cert, key) = self_signed(root.path(), "server", KeyKind::Rsa2048);
            let path = fake_exim(root.path(), library);
            let plan = mailtls(root.path())
                .env("PATH", &path)
                .args(["--json", "plan", "--mta", "exim", "--profile", profile, "--config"])
                .args([&dir])
                .arg_pair("--cert", &cert)
                .arg_pair("--key", &key);
            (root, plan)
        });
    }
}
