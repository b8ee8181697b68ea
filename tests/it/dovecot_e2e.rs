//! Dovecot on its own and together with Postfix, on real private instances:
//! IMAP and POP3 STARTTLS hardened, verified, re-applied without change,
//! rolled back; a login over STARTTLS still works; and one failing server
//! rolls back the whole host.
use crate::support;

use std::io::Write;
use std::process::{Command, Stdio};

use crate::cmd::{assert_idempotent, snapshot, Mailtls};
use crate::support::{openssl_accepts, Dovecot, Postfix};

/// What the harness's Dovecot accepts before hardening: everything down to TLS 1.0.
const LEGACY: &str = "ssl_min_protocol = TLSv1\nssl_cipher_list = DEFAULT:@SECLEVEL=0";

fn imap_login(port: u16) -> String {
    let mut child = Command::new("openssl")
        .args(["s_client", "-quiet", "-starttls", "imap", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a1 LOGIN alice secret\r\na2 LOGOUT\r\n")
        .unwrap();
    String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).into_owned()
}

#[test]
fn imap_and_pop3_are_hardened_verified_idempotent_and_rolled_back() {
    let dc = Dovecot::start(LEGACY);
    std::fs::write(dc.root.path().join("users"), "alice:{PLAIN}secret\n").unwrap();
    let state = dc.root.path().join("state");
    let dir = dc.root.path();
    let originals = snapshot(dir);
    assert!(
        openssl_accepts(dc.imap_port, "imap", "-tls1", None),
        "legacy accepted before"
    );

    let json = Mailtls::new(&state)
        .args(["--json", "-y", "apply", "--config"])
        .args([&dc.config])
        .status(0)
        .run()
        .json();
    assert_eq!(json["changed"], true);
    assert_eq!(json["verified"], true);
    for (port, proto) in [(dc.imap_port, "imap"), (dc.pop3_port, "pop3")] {
        assert!(!openssl_accepts(port, proto, "-tls1", None), "{proto}: TLS 1.0 refused");
        assert!(
            !openssl_accepts(port, proto, "-tls1_1", None),
            "{proto}: TLS 1.1 refused"
        );
        assert!(openssl_accepts(port, proto, "-tls1_2", None) && openssl_accepts(port, proto, "-tls1_3", None));
    }
    assert!(
        imap_login(dc.imap_port).contains("a1 OK"),
        "IMAP LOGIN over STARTTLS works after hardening"
    );

    assert_idempotent(|| Mailtls::new(&state), &dc.config, dir);

    Mailtls::new(&state).args(["rollback"]).status(0).run();
    assert_eq!(snapshot(dir).get("dovecot.conf"), originals.get("dovecot.conf"));
    assert!(
        openssl_accepts(dc.imap_port, "imap", "-tls1", None),
        "TLS 1.0 accepted again after rollback"
    );
}

#[test]
fn protocol_blocks_that_weaken_the_profile_are_rewritten() {
    let dc = Dovecot::start(&format!("{LEGACY}\nprotocol pop3 {{\n  ssl_min_protocol = TLSv1\n}}"));
    let state = dc.root.path().join("state");
    let json = Mailtls::new(&state)
        .args(["--json", "-y", "apply", "--config"])
        .args([&dc.config])
        .status(0)
        .run()
        .json();
    assert!(
        json["diff"]
            .as_str()
            .unwrap()
            .contains("-  ssl_min_protocol = TLSv1\n+  ssl_min_protocol = TLSv1.2\n"),
        "{}",
        json["diff"]
    );
    assert!(
        !openssl_accepts(dc.pop3_port, "pop3", "-tls1", None),
        "the pop3 block no longer allows TLS 1.0"
    );
}

#[test]
fn postfix_and_dovecot_in_one_run_and_one_failure_rolls_back_both() {
    let pf = Postfix::new();
    pf.start();
    let dc = Dovecot::start(LEGACY);
    let state = pf.root.path().join("state");
    let before_pf = snapshot(&pf.config_dir);
    let before_dc = snapshot(dc.root.path());

    // Postfix's "reload" puts its stock main.cf back, so Postfix fails verification while
    // Dovecot passes; both must be rolled back.
    let stock = pf.root.path().join("main.cf.stock");
    std::fs::copy(pf.config_dir.join("main.cf"), &stock).unwrap();
    let reload_dovecot = format!(
        "cp {stock} {p}/main.cf && postfix -c {p} reload && doveadm -c {d} reload",
        stock = stock.display(),
        p = pf.config_dir.display(),
        d = dc.config.display()
    );
    let ran = Mailtls::new(&state)
        .args(["--json", "-y", "apply", "--reload-command", &reload_dovecot, "--config"])
        .args([&pf.config_dir])
        .args(["--config".as_ref(), dc.config.as_os_str()])
        .status(3)
        .run();
    let error = ran.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(
        error.contains(&format!("127.0.0.1:{}", pf.port)),
        "Postfix is the one that failed: {error}"
    );
    assert_eq!(snapshot(&pf.config_dir), before_pf);
    assert_eq!(
        snapshot(dc.root.path()).get("dovecot.conf"),
        before_dc.get("dovecot.conf")
    );
    assert!(
        openssl_accepts(dc.imap_port, "imap", "-tls1", None),
        "Dovecot reloaded back to its old config"
    );

    // With each server's own reload, one run hardens both; one rollback undoes both.
    let json = Mailtls::new(&state)
        .args(["--json", "-y", "apply", "--config"])
        .args([&pf.config_dir])
        .args(["--config".as_ref(), dc.config.as_os_str()])
        .status(0)
        .run()
        .json();
    assert_eq!(json["verified"], true);
    assert_eq!(json["servers"].as_array().unwrap().len(), 2);
    assert!(!openssl_accepts(pf.port, "smtp", "-tls1", None) && !openssl_accepts(dc.pop3_port, "pop3", "-tls1", None));
    let history = Mailtls::new(&state).args(["--json", "history"]).status(0).run().json();
    assert_eq!(history["sets"][1]["servers"].as_array().unwrap().len(), 2);

    Mailtls::new(&state).args(["rollback"]).status(0).run();
    assert_eq!(snapshot(&pf.config_dir), before_pf);
    assert!(openssl_accepts(pf.port, "smtp", "-tls1", None) && openssl_accepts(dc.pop3_port, "pop3", "-tls1", None));
}

#[test]
fn bsi_tr_02102_2_applies_and_verifies_with_an_ecdsa_certificate() {
    // BSI wants RSA keys of 3000 bits or more: give the server a P-256 key.
    let dc = Dovecot::start(LEGACY);
    let state = dc.root.path().join("state");
    let (cert, key) = support::self_signed(dc.root.path(), "bsi", support::KeyKind::EcdsaP256);
    let applied = Mailtls::new(&state)
        .args(["--json", "-y", "apply", "--profile", "bsi-tr-02102-2", "--config"])
        .args([&dc.config])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .status(0)
        .run();
    assert_eq!(applied.json()["verified"], true, "{}", applied.stderr);
    for (port, proto) in [(dc.imap_port, "imap"), (dc.pop3_port, "pop3")] {
        let probe = Mailtls::new(&state)
            .args(support::baselines::probe_args(port, proto, "bsi-tr-02102-2"))
            .run()
            .json();
        support::baselines::check_live_baseline(
            &probe,
            port,
            proto,
            "bsi-tr-02102-2",
            "ECDHE-ECDSA-CHACHA20-POLY1305",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
        );
    }
    assert!(
        !support::openssl_accepts(dc.imap_port, "imap", "-tls1_3", Some("TLS_CHACHA20_POLY1305_SHA256")),
        "BSI has no ChaCha20 in TLS 1.3"
    );
}
