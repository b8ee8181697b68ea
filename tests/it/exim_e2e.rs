//! The spine on a real, private Exim daemon (Debian's GnuTLS build, unpacked
//! beside Postfix by scripts/test-deps-exim) with its own config file on a
//! loopback port. `openssl s_client` is the ground truth for what it accepts.
//! Apply verifies with mailtls's own probe after the SIGHUP.
use crate::support;

use crate::cmd::{assert_idempotent, snapshot, Mailtls};
use crate::support::{openssl_accepts, Exim};

fn accepts(exim: &Exim, flag: &str) -> bool {
    openssl_accepts(exim.port, "smtp", flag, None)
}

fn mailtls(exim: &Exim) -> Mailtls {
    Mailtls::new(&exim.root.path().join("state")).env("PATH", &exim.path_env())
}

#[test]
fn apply_reapply_and_rollback_on_a_private_exim() {
    let exim = Exim::new("");
    exim.start();
    let dir = exim.root.path();
    let originals = snapshot(dir);
    assert!(accepts(&exim, "-tls1"), "GnuTLS Exim accepts TLS 1.0 before hardening");
    assert!(accepts(&exim, "-tls1_1"));

    let detected = mailtls(&exim)
        .args(["--json", "plan", "--config"])
        .args([&exim.config])
        .status(2)
        .run()
        .json();
    assert!(
        detected["diff"]
            .as_str()
            .unwrap()
            .contains("+tls_require_ciphers = NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:"),
        "{detected}"
    );

    let applied = mailtls(&exim)
        .args(["--json", "--yes", "apply", "--config"])
        .args([&exim.config])
        .status(0)
        .run();
    let json = applied.json();
    assert_eq!(json["changed"], true);
    assert_eq!(
        json["reloaded"], true,
        "SIGHUP through the pid file: {}",
        applied.stderr
    );
    assert_eq!(json["files"], serde_json::json!([exim.config]));
    assert_eq!(json["verified"], true, "{}", applied.stderr);

    // The live daemon, seen by an independent client.
    assert!(!accepts(&exim, "-tls1"), "TLS 1.0 refused after apply");
    assert!(!accepts(&exim, "-tls1_1"), "TLS 1.1 refused after apply");
    assert!(
        accepts(&exim, "-tls1_2"),
        "TLS 1.2 accepted; mainlog:\n{}",
        exim.log("main")
    );
    assert!(accepts(&exim, "-tls1_3"), "TLS 1.3 accepted");
    assert!(
        !openssl_accepts(exim.port, "smtp", "-tls1_2", Some("AES128-SHA")),
        "no CBC, non-PFS suite"
    );
    assert!(
        openssl_accepts(exim.port, "smtp", "-tls1_2", Some("ECDHE-RSA-CHACHA20-POLY1305")),
        "a profile suite negotiates"
    );

    assert_idempotent(|| mailtls(&exim), &exim.config, dir);

    // Rollback: the files byte for byte, and the daemon back on its old config.
    let rolled = mailtls(&exim).args(["--json", "rollback"]).status(0).run();
    let json = rolled.json();
    assert_eq!(json["restored"], serde_json::json!([exim.config]));
    assert_eq!(
        (&json["reloaded"], &json["verified"]),
        (&true.into(), &true.into()),
        "{}",
        rolled.stderr
    );
    let mut now = snapshot(dir);
    now.retain(|name, _| originals.contains_key(name));
    assert_eq!(now, originals, "files byte for byte as before");
    assert!(accepts(&exim, "-tls1"), "the live daemon accepts TLS 1.0 again");
}

#[test]
fn an_openssl_cipher_list_under_gnutls_is_caught_and_replaced() {
    // `exim -bV` passes this config; the GnuTLS build then refuses to start a daemon with it.
    let exim = Exim::new("tls_require_ciphers = ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384\n");
    let check = std::process::Command::new(exim.sbin.join("exim4"))
        .arg("-C")
        .arg(&exim.config)
        .arg("-bV")
        .output()
        .unwrap();
    assert!(check.status.success(), "exim -bV does not see the problem");
    let start = std::process::Command::new(exim.sbin.join("exim4"))
        .arg("-C")
        .arg(&exim.config)
        .arg("-bd")
        .output()
        .unwrap();
    assert!(!start.status.success(), "the daemon refuses it");

    let planned = mailtls(&exim)
        .args(["--json", "plan", "--config"])
        .args([&exim.config])
        .status(2)
        .run();
    assert!(
        planned.stderr.contains("is not a GnuTLS priority string"),
        "{}",
        planned.stderr
    );
    let diff = planned.json()["diff"].as_str().unwrap().to_string();
    assert!(
        diff.contains(
            "-tls_require_ciphers = ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384\n+tls_require_ciphers = NORMAL:"
        ),
        "edited in place, not set a second time:\n{diff}"
    );
    let applied = mailtls(&exim)
        .args(["--json", "-y", "apply", "--no-verify", "--config"])
        .args([&exim.config])
        .status(0)
        .run()
        .json();
    assert_eq!(applied["reloaded"], false, "no daemon was running");
    exim.start();
    assert!(
        accepts(&exim, "-tls1_2") && accepts(&exim, "-tls1_3"),
        "handshakes work"
    );
    assert!(!accepts(&exim, "-tls1"));
}

#[test]
fn openssl_options_under_gnutls_is_refused_before_anything_is_written() {
    let exim = Exim::new("");
    let mut text = std::fs::read_to_string(&exim.config).unwrap();
    text = text.replace(
        "tls_advertise_hosts = *\n",
        "tls_advertise_hosts = *\nopenssl_options = +no_sslv3\n",
    );
    std::fs::write(&exim.config, &text).unwrap();
    let ran = mailtls(&exim)
        .args(["-y", "apply", "--no-verify", "--config"])
        .args([&exim.config])
        .status(1)
        .run();
    let line = text.lines().position(|l| l.starts_with("openssl_options")).unwrap() + 1;
    assert!(
        ran.stderr.contains(&format!(
            "exim.conf:{line}: openssl_options is set but this Exim uses GnuTLS"
        )),
        "{}",
        ran.stderr
    );
    assert_eq!(std::fs::read_to_string(&exim.config).unwrap(), text);
}

#[test]
fn a_daemon_that_does_not_serve_the_profile_after_the_hup_is_rolled_back() {
    let exim = Exim::new("");
    exim.start();
    let originals = snapshot(exim.root.path());
    // A "reload" that puts the original config back before the SIGHUP: `exim -bV` passed,
    // but the live daemon does not serve the profile, so the probe must catch it.
    let stock = exim.root.path().join("exim.conf.stock");
    std::fs::copy(&exim.config, &stock).unwrap();
    let pid = std::fs::read_to_string(exim.pid_file()).unwrap();
    let sabotage = format!(
        "cp {} {} && kill -HUP {}",
        stock.display(),
        exim.config.display(),
        pid.trim()
    );
    let ran = mailtls(&exim)
        .args(["--json", "-y", "apply", "--reload-command", &sabotage, "--config"])
        .args([&exim.config])
        .status(3)
        .run();
    assert!(ran.stderr.contains("TLSv1.0 is accepted"), "{}", ran.stderr);
    let mut now = snapshot(exim.root.path());
    now.retain(|name, _| originals.contains_key(name));
    assert_eq!(now, originals);
}

#[test]
fn nist_sp800_52r2_applies_and_verifies_on_gnutls_exim() {
    let exim = Exim::new("");
    exim.start();
    let applied = mailtls(&exim)
        .args(["--json", "--yes", "apply", "--profile", "nist-sp800-52r2", "--config"])
        .args([&exim.config])
        .status(0)
        .run();
    assert_eq!(applied.json()["verified"], true, "{}", applied.stderr);
    let probe = mailtls(&exim)
        .args(support::baselines::probe_args(exim.port, "smtp", "nist-sp800-52r2"))
        .run()
        .json();
    support::baselines::check_live_baseline(
        &probe,
        exim.port,
        "smtp",
        "nist-sp800-52r2",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "ECDHE-RSA-AES128-GCM-SHA256",
    );
}
