//! Per-listener floors at plan level, without a daemon: what each server
//! can express (OpenSMTPD 7.x per `listen on` line, a profile's
//! `[listeners.KIND]` table on Postfix) and the precise refusals where a
//! server cannot (Exim, and Dovecot per port), with nothing written.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::cmd::Mailtls;
use crate::support::{self, self_signed, KeyKind};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

/// A copy of a fixture folder's files (one level, and `conf.d`-like subfolders).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

fn files(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    out
}

/// A stand-in exim4 that says which TLS library it is built with, on a PATH of its own.
fn fake_exim(root: &Path, library: &str) -> String {
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(
        bin.join("exim4"),
        format!("#!/bin/sh\necho 'Exim version 4.96 #2 built 01-Jan-2024 00:00:00'\necho 'Support for: iconv() IPv6 {library} DKIM'\necho 'Configuration file is /nonexistent'\n"),
    )
    .unwrap();
    std::fs::set_permissions(bin.join("exim4"), std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}:/usr/bin:/bin", bin.display())
}

#[test]
fn exim_chooses_the_priority_string_by_port_with_gnutls_and_refuses_with_openssl() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("exim4");
    copy_dir(&fixture("exim-debian-12-split"), &dir);
    let (cert, key) = self_signed(root.path(), "server", KeyKind::Rsa2048);
    let before = files(&dir);
    let plan = |library: &str| {
        Mailtls::new(&root.path().join("state"))
            .env("PATH", &fake_exim(root.path(), library))
            .args([
                "--json",
                "plan",
                "--mta",
                "exim",
                "--profile",
                "modern",
                "--listener-profile",
                "smtp=intermediate",
                "--config",
            ])
            .args([&dir])
            .arg_pair("--cert", &cert)
            .arg_pair("--key", &key)
            .run()
    };
    let json = plan("GnuTLS").code(2).json();
    let diff = json["diff"].as_str().unwrap();
    assert!(
        diff.contains("+tls_require_ciphers = ${if eq{$received_port}{25}{NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:"),
        "{diff}"
    );
    assert!(
        diff.contains("}{NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:"),
        "the other ports get modern: {diff}"
    );
    assert_eq!(json["floors"][0]["port"], 25, "{json}");

    let ran = plan("OpenSSL").code(1);
    assert!(
        ran.stderr.contains("Exim with OpenSSL cannot hold port 25"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("openssl_options"), "{}", ran.stderr);
    assert_eq!(files(&dir), before, "nothing written");
}

#[test]
fn opensmtpd_7_holds_each_listen_line_to_its_own_floor() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("smtpd.conf");
    let (cert, key) = self_signed(dir.path(), "server", KeyKind::Rsa2048);
    std::fs::write(
        &config,
        format!(
            "pki mx cert \"{c}\"\npki mx key \"{k}\"\nlisten on 127.0.0.1 port 25 tls pki mx\nlisten on 127.0.0.1 port 587 tls-require pki mx\naction \"local\" mbox\nmatch from local for local action \"local\"\n",
            c = cert.display(),
            k = key.display()
        ),
    )
    .unwrap();
    let before = std::fs::read(&config).unwrap();
    let planned = Mailtls::new(&dir.path().join("state"))
        .env("PATH", "/nonexistent")
        .args([
            "--json",
            "plan",
            "--profile",
            "modern",
            "--listener-profile",
            "smtp=intermediate",
            "--config",
        ])
        .args([&config])
        .run()
        .code(2)
        .json();
    let diff = planned["diff"].as_str().unwrap();
    assert!(
        diff.contains("+listen on 127.0.0.1 port 25 tls pki mx protocols \"tlsv1.2,tlsv1.3\" ciphers \"ECDHE-ECDSA-AES128-GCM-SHA256:"),
        "{diff}"
    );
    assert!(
        diff.contains("+listen on 127.0.0.1 port 587 tls-require pki mx protocols \"tlsv1.3\"\n"),
        "{diff}"
    );
    let floors = planned["floors"].as_array().unwrap();
    assert_eq!(floors.len(), 1, "{planned}");
    assert_eq!(
        (floors[0]["port"].as_u64(), floors[0]["profile"].as_str()),
        (Some(25), Some("intermediate"))
    );
    assert_eq!(std::fs::read(&config).unwrap(), before, "plan wrote nothing");
}

#[test]
fn a_profiles_listeners_table_sets_a_floor_and_a_bad_one_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("postfix");
    copy_dir(&fixture("debian-12"), &config);
    let profile = root.path().join("mine.toml");
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/intermediate.toml"))
        .unwrap()
        .replace("name = \"intermediate\"", "name = \"mine\"");
    std::fs::write(&profile, format!("{text}\n[listeners.smtp]\nprofile = \"old\"\n")).unwrap();
    let planned = Mailtls::new(&root.path().join("state"))
        .args(["--json", "plan", "--mta", "postfix", "--profile"])
        .args([&profile])
        .args(["--config"])
        .args([&config])
        .run()
        .code(2);
    let json = planned.json();
    assert_eq!(json["floors"][0]["profile"], "old", "{json}");
    assert_eq!(json["floors"][0]["kind"], "smtp", "{json}");
    assert!(
        json["diff"]
            .as_str()
            .unwrap()
            .contains("+  -o smtpd_tls_protocols=>=TLSv1\n"),
        "{json}"
    );
    // The command line wins over the table.
    let json = Mailtls::new(&root.path().join("state"))
        .args(["--json", "plan", "--mta", "postfix", "--listener-profile"])
        .args([format!("smtp={}", profile.display())])
        .args(["--profile"])
        .args([&profile])
        .args(["--config"])
        .args([&config])
        .run()
        .code(2)
        .json();
    assert_eq!(json["floors"], serde_json::json!([]), "{json}");

    std::fs::write(&profile, format!("{text}\n[listeners.ftp]\nprofile = \"old\"\n")).unwrap();
    let ran = Mailtls::new(&root.path().join("state"))
        .args(["plan", "--mta", "postfix", "--profile"])
        .args([&profile])
        .args(["--config"])
        .args([&config])
        .run()
        .code(1);
    assert!(
        ran.stderr.contains("[listeners.ftp]: unknown listener kind"),
        "{}",
        ran.stderr
    );
}

#[test]
fn postfix_refuses_a_floor_on_a_postscreen_listener() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("postfix");
    copy_dir(&fixture("debian-12"), &config);
    let master = config.join("master.cf");
    let text = std::fs::read_to_string(&master)
        .unwrap()
        .replacen("smtp      inet  n       -       y       -       -       smtpd\n", "", 1)
        .replace(
            "#smtp      inet  n       -       y       -       1       postscreen",
            "smtp      inet  n       -       y       -       1       postscreen",
        )
        .replace(
            "#smtpd     pass  -       -       y       -       -       smtpd",
            "smtpd     pass  -       -       y       -       -       smtpd",
        );
    std::fs::write(&master, text).unwrap();
    let before = files(&config);
    let ran = Mailtls::new(&root.path().join("state"))
        .args(["plan", "--mta", "postfix", "--listener-profile", "smtp=old", "--config"])
        .args([&config])
        .run()
        .code(1);
    assert!(ran.stderr.contains("runs postscreen"), "{}", ran.stderr);
    assert_eq!(files(&config), before);
}

#[test]
fn sendmail_refuses_a_floor_of_its_own_and_says_why() {
    let path = format!("{}:/usr/bin:/bin", support::sendmail_bin().display());
    let dir = support::tempdir_for_keys();
    let mc = dir.path().join("freebsd.mc");
    std::fs::copy(fixture("real-world/sendmail-freebsd-14/freebsd.mc"), &mc).unwrap();
    let (cert, key) = self_signed(dir.path(), "server", KeyKind::Rsa2048);
    let before = std::fs::read(&mc).unwrap();
    let ran = Mailtls::new(&dir.path().join("state"))
        .env("PATH", &path)
        .args(["plan", "--listener-profile", "smtp=old", "--config"])
        .args([&mc])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .run()
        .code(1);
    assert!(ran.stderr.contains("one server TLS context"), "{}", ran.stderr);
    assert_eq!(std::fs::read(&mc).unwrap(), before, "nothing written");
}
