//! The spine on a real, private Sendmail daemon (Debian's 8.17, unpacked
//! beside Postfix by scripts/test-deps-sendmail) with its own sendmail.mc on
//! a loopback port. `openssl s_client` is the ground truth for what it
//! accepts. Apply verifies with mailtls's own probe.
use crate::support;

use std::os::unix::fs::PermissionsExt;

use crate::cmd::{assert_idempotent, snapshot, Mailtls};
use crate::support::{openssl_accepts, self_signed, KeyKind, Sendmail};

/// OpenSSL 3 refuses TLS 1.0/1.1 at its default security level: allow them, to see them go.
const LEGACY: &str = "define(`confCIPHER_LIST', `DEFAULT:@SECLEVEL=0')dnl\n";

fn accepts(sendmail: &Sendmail, flag: &str) -> bool {
    openssl_accepts(sendmail.port, "smtp", flag, None)
}

fn mailtls(sendmail: &Sendmail) -> Mailtls {
    Mailtls::new(&sendmail.root.path().join("state")).env("PATH", &sendmail.path_env())
}

#[test]
fn apply_reapply_and_rollback_on_a_private_sendmail() {
    let sendmail = Sendmail::new(LEGACY);
    sendmail.start();
    let dir = sendmail.root.path();
    let originals = snapshot(dir);
    assert!(accepts(&sendmail, "-tls1"), "TLS 1.0 accepted before hardening");
    assert!(accepts(&sendmail, "-tls1_1"));

    let planned = mailtls(&sendmail)
        .args(["--json", "plan", "--config"])
        .args([&sendmail.mc])
        .status(2)
        .run()
        .json();
    let diff = planned["diff"].as_str().unwrap();
    assert!(
        diff.contains("-define(`confCIPHER_LIST', `DEFAULT:@SECLEVEL=0')dnl\n+define(`confCIPHER_LIST', `ECDHE-ECDSA-AES128-GCM-SHA256:"),
        "edited in place:\n{diff}"
    );
    assert!(
        diff.contains("+O ServerSSLOptions=+SSL_OP_NO_SSLv2 +SSL_OP_NO_SSLv3 +SSL_OP_NO_TLSv1 +SSL_OP_NO_TLSv1_1"),
        "{diff}"
    );

    let old_pid = std::fs::read_to_string(sendmail.pid_file()).unwrap();
    let applied = mailtls(&sendmail)
        .args(["--json", "--yes", "apply", "--config"])
        .args([&sendmail.mc])
        .status(0)
        .run();
    let json = applied.json();
    assert_eq!(json["changed"], true);
    assert_eq!(
        json["reloaded"], true,
        "SIGHUP through the pid file: {}",
        applied.stderr
    );
    assert_eq!(
        json["files"],
        serde_json::json!([sendmail.mc, sendmail.cf]),
        "the generated file too"
    );
    assert_eq!(json["verified"], true, "{}", applied.stderr);
    assert_ne!(
        std::fs::read_to_string(sendmail.pid_file()).unwrap(),
        old_pid,
        "-bd forks a new pid on SIGHUP"
    );

    assert!(!accepts(&sendmail, "-tls1"), "TLS 1.0 refused after apply");
    assert!(!accepts(&sendmail, "-tls1_1"), "TLS 1.1 refused after apply");
    assert!(accepts(&sendmail, "-tls1_2"), "TLS 1.2 accepted");
    assert!(accepts(&sendmail, "-tls1_3"), "TLS 1.3 accepted");
    assert!(
        !openssl_accepts(sendmail.port, "smtp", "-tls1_2", Some("AES128-SHA")),
        "no CBC, non-PFS suite"
    );
    assert!(openssl_accepts(
        sendmail.port,
        "smtp",
        "-tls1_2",
        Some("ECDHE-RSA-AES128-GCM-SHA256")
    ));

    assert_idempotent(|| mailtls(&sendmail), &sendmail.mc, dir);

    // Rollback: both files byte for byte, and the daemon back on its old config.
    let rolled = mailtls(&sendmail).args(["--json", "rollback"]).run();
    let json = rolled.json();
    assert_eq!(json["restored"], serde_json::json!([sendmail.mc, sendmail.cf]));
    assert_eq!(json["reloaded"], true, "{}", rolled.stderr);
    assert_eq!((rolled.code, &json["verified"]), (0, &true.into()), "{}", rolled.stderr);
    let mut now = snapshot(dir);
    now.retain(|name, _| originals.contains_key(name));
    assert_eq!(now, originals, "files byte for byte as before");
    assert!(accepts(&sendmail, "-tls1"), "the live daemon accepts TLS 1.0 again");
}

#[test]
fn a_certificate_in_a_world_writable_folder_is_refused_before_anything_is_written() {
    // Sendmail would log "unsafe: World writable directory" and silently drop STARTTLS.
    let sendmail = Sendmail::new("");
    let open = sendmail.root.path().join("open");
    std::fs::create_dir(&open).unwrap();
    let (cert, key) = self_signed(&open, "new", KeyKind::Rsa2048);
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let before = snapshot(sendmail.root.path());
    let ran = mailtls(&sendmail)
        .args(["-y", "apply", "--no-verify", "--config"])
        .args([&sendmail.mc])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .status(1)
        .run();
    assert!(
        ran.stderr.contains(&format!("chmod o-w {}", open.display())),
        "{}",
        ran.stderr
    );
    assert_eq!(snapshot(sendmail.root.path()), before, "nothing written");
}

#[test]
fn nist_sp800_52r2_applies_and_verifies_on_sendmail() {
    let sendmail = Sendmail::new(LEGACY);
    sendmail.start();
    let applied = mailtls(&sendmail)
        .args(["--json", "--yes", "apply", "--profile", "nist-sp800-52r2", "--config"])
        .args([&sendmail.mc])
        .status(0)
        .run();
    assert_eq!(applied.json()["verified"], true, "{}", applied.stderr);
    let port = sendmail.port;
    let probe = mailtls(&sendmail)
        .args(support::baselines::probe_args(port, "smtp", "nist-sp800-52r2"))
        .run()
        .json();
    support::baselines::check_live_baseline(
        &probe,
        port,
        "smtp",
        "nist-sp800-52r2",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "ECDHE-RSA-AES256-GCM-SHA384",
    );
}
