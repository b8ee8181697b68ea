//! `mailtls impact` on logs that real daemons wrote: a private Postfix
//! (`smtpd_tls_loglevel = 1`, `maillog_file` in its folder), a private
//! Dovecot (`%k` in `login_log_format_elements`), Exim and OpenSMTPD in
//! their sandboxes. Real clients (Python's smtplib and imaplib) connect from
//! 127.0.0.2 with TLS 1.0, from 127.0.0.3 with TLS 1.2 and a CBC-only suite,
//! and from 127.0.0.4 with TLS 1.3; the verdicts per peer are asserted
//! against the bundled intermediate profile.
//!
//! Sendmail and Cyrus IMAP log only through syslog() to /dev/log, which the
//! test machine does not have: tests/impact_syslog.rs runs them with a
//! private one.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::cmd::Mailtls;
use crate::support::{client, three_clients, Dovecot, Exim, Opensmtpd, Postfix};
use serde_json::Value;

fn impact(state: &Path, args: &[&str], path_env: Option<&str>) -> Value {
    let mut m = Mailtls::new(state).args(["--json", "impact"]).args(args);
    if let Some(path) = path_env {
        m = m.env("PATH", path);
    }
    let ran = m.status(0).run();
    serde_json::from_str(&ran.stdout).unwrap_or_else(|e| panic!("{e}: {}", ran.stdout))
}

/// The verdict of the peer at `address` (on any listener of that server).
fn verdict(report: &Value, address: &str) -> String {
    let peers = report["peers"].as_array().expect("peers");
    let peer = peers
        .iter()
        .find(|p| p["address"] == address)
        .unwrap_or_else(|| panic!("no peer {address} in {}", serde_json::to_string_pretty(report).unwrap()));
    peer["verdict"].as_str().unwrap().to_string()
}

/// Waits until `log()` holds `n` lines containing `needle` (daemons write asynchronously).
fn wait_for_lines(log: impl Fn() -> String, needle: &str, n: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = log();
        if text.matches(needle).count() >= n || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn postfix_log_gives_a_verdict_per_peer_and_a_coverage_gap_at_loglevel_0() {
    let pf = Postfix::new();
    pf.start();
    let state = pf.root.path().join("state");
    let config = pf.config_dir.to_str().unwrap();

    // The stock config logs no handshake: impact says so and offers the change.
    let report = impact(&state, &["--config", config], None);
    let gaps = report["coverage"]["gaps"].as_array().unwrap();
    let gap = gaps
        .iter()
        .find(|g| g["setting"] == "smtpd_tls_loglevel")
        .expect("a gap for smtpd_tls_loglevel");
    assert_eq!(gap["after"], "1");
    assert!(
        gap["diff"].as_str().unwrap().contains("+smtpd_tls_loglevel = 1"),
        "{gap}"
    );
    assert_eq!(report["coverage"]["complete"], false);

    pf.postconf_e(&["smtpd_tls_loglevel=1"]);
    pf.reload();
    assert_eq!(
        three_clients("smtp", pf.port),
        [true, true, true],
        "stock Postfix accepts all three"
    );
    let log = wait_for_lines(|| pf.maillog(), "TLS connection established", 3);

    let report = impact(&state, &["--config", config, "--since", "1d"], None);
    assert_eq!(verdict(&report, "127.0.0.2"), "loses-tls", "{log}");
    assert_eq!(verdict(&report, "127.0.0.3"), "at-risk");
    assert_eq!(verdict(&report, "127.0.0.4"), "ok");
    let old = report["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["address"] == "127.0.0.2")
        .unwrap();
    assert_eq!(old["protocols"], serde_json::json!(["TLSv1.0"]));
    assert_eq!(old["listener"], "smtp");
    let cbc = report["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["address"] == "127.0.0.3")
        .unwrap();
    assert_eq!(cbc["suites"], serde_json::json!(["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]));
    assert_eq!(report["summary"]["loses_tls"], 1);
    let maillog = pf.root.path().join("maillog");
    assert!(report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["source"] == maillog.to_str().unwrap()));
    assert!(report["coverage"]["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["setting"] != "smtpd_tls_loglevel"));

    // Under the modern profile (TLS 1.3 only) the TLS 1.2 peer loses TLS too.
    let report = impact(&state, &["--config", config, "--profile", "modern"], None);
    assert_eq!(verdict(&report, "127.0.0.3"), "loses-tls");
    assert_eq!(verdict(&report, "127.0.0.4"), "ok");
}

#[test]
fn dovecot_log_with_k_gives_a_verdict_per_peer() {
    let legacy = "ssl_min_protocol = TLSv1\nssl_cipher_list = DEFAULT:@SECLEVEL=0";
    let plain = Dovecot::start(legacy);
    let state = plain.root.path().join("state");
    // The default login_log_format_elements: a gap, with the element to add.
    let report = impact(&state, &["--config", plain.config.to_str().unwrap()], None);
    let gap = &report["coverage"]["gaps"][0];
    assert_eq!(gap["setting"], "login_log_format_elements");
    assert!(gap["after"].as_str().unwrap().ends_with(" %k"), "{gap}");
    drop(plain);

    let dc = Dovecot::start(&format!(
        "{legacy}\nlogin_log_format_elements = user=<%u> method=%m rip=%r lip=%l mpid=%e %c session=<%{{session}}> %k"
    ));
    assert_eq!(three_clients("imap", dc.imap_port), [true, true, true]);
    let log = wait_for_lines(|| dc.log(), " with cipher ", 3);
    let report = impact(&state, &["--config", dc.config.to_str().unwrap()], None);
    assert_eq!(verdict(&report, "127.0.0.2"), "loses-tls", "{log}");
    assert_eq!(verdict(&report, "127.0.0.3"), "at-risk");
    assert_eq!(verdict(&report, "127.0.0.4"), "ok");
    assert_eq!(report["peers"][0]["listener"], "imap");
    assert_eq!(report["coverage"]["complete"], true, "{}", report["coverage"]);
}

#[test]
fn exim_log_gives_a_verdict_per_peer() {
    // Exim logs the cipher on message lines: accept mail for postmaster.
    let exim = Exim::new("");
    let text = std::fs::read_to_string(&exim.config).unwrap();
    let text = text.replace(
        "acl_check_rcpt:\n  deny message = relay not permitted\n",
        "acl_check_rcpt:\n  accept local_parts = postmaster\n  deny message = relay not permitted\n\nbegin routers\n\nblackhole:\n  driver = redirect\n  data = :blackhole:\n",
    );
    std::fs::write(&exim.config, text).unwrap();
    exim.start();
    assert_eq!(
        three_clients("smtp", exim.port),
        [true, true, true],
        "{}",
        exim.log("main")
    );
    let log = wait_for_lines(|| exim.log("main"), " X=", 3);
    let state = exim.root.path().join("state");
    let path = exim.path_env();
    let report = impact(&state, &["--config", exim.config.to_str().unwrap()], Some(&path));
    assert_eq!(verdict(&report, "127.0.0.2"), "loses-tls", "{log}");
    assert_eq!(verdict(&report, "127.0.0.3"), "at-risk", "{log}");
    assert_eq!(verdict(&report, "127.0.0.4"), "ok", "{log}");
}

#[test]
fn opensmtpd_log_gives_a_verdict_per_peer() {
    let smtpd = Opensmtpd::new("");
    smtpd.start();
    // libtls refuses TLS 1.0 whatever the config says (the CBC suite it takes).
    assert_eq!(
        three_clients("smtp", smtpd.port),
        [false, true, true],
        "{}",
        smtpd.log()
    );
    let log = wait_for_lines(|| smtpd.log(), "tls ciphers=", 2);
    let state = smtpd.root.path().join("state");
    let smtpd_log = smtpd.root.path().join("smtpd.log");
    let report = impact(
        &state,
        &["--mta", "opensmtpd", "--log", smtpd_log.to_str().unwrap()],
        None,
    );
    assert_eq!(verdict(&report, "127.0.0.4"), "ok", "{log}");
    assert_eq!(verdict(&report, "127.0.0.2"), "fails-today", "{log}");
    assert_eq!(verdict(&report, "127.0.0.3"), "at-risk", "{log}");
    let failed = report["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["address"] == "127.0.0.2")
        .unwrap();
    assert!(
        failed["last_failure"]
            .as_str()
            .unwrap()
            .contains("unsupported protocol"),
        "{failed}"
    );
}

/// A private Postfix that logged a TLS 1.0 client (127.0.0.2) and a TLS 1.3 one (127.0.0.4).
fn postfix_with_history() -> Postfix {
    let pf = Postfix::new();
    pf.postconf_e(&["smtpd_tls_loglevel=1"]);
    pf.start();
    assert!(client("smtp", pf.port, "127.0.0.2", "1.0", "DEFAULT:@SECLEVEL=0"));
    assert!(client("smtp", pf.port, "127.0.0.4", "1.3", "DEFAULT"));
    wait_for_lines(|| pf.maillog(), "TLS connection established", 2);
    pf
}

#[test]
fn plan_shows_who_would_lose_tls_and_apply_refuses_past_max_lose_tls() {
    let pf = postfix_with_history();
    let state = pf.root.path().join("state");
    let plan = Mailtls::new(&state)
        .args(["plan", "--config"])
        .args([&pf.config_dir])
        .status(2)
        .run();
    assert!(
        plan.stdout.contains("+smtpd_tls_protocols") || plan.stdout.contains("smtpd_tls_protocols"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            "1 peer in the last 30 days would lose TLS on postfix smtp under profile intermediate: 127.0.0.2"
        ),
        "{}",
        plan.stdout
    );
    let plan = Mailtls::new(&state)
        .args(["--json", "plan", "--config"])
        .args([&pf.config_dir])
        .status(2)
        .run();
    let json: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(json["impact"]["summary"]["loses_tls"], 1);

    let before = std::fs::read(pf.config_dir.join("main.cf")).unwrap();
    let refused = Mailtls::new(&state)
        .args(["--yes", "apply", "--max-lose-tls", "0", "--config"])
        .args([&pf.config_dir])
        .status(1)
        .run();
    assert!(
        refused.stderr.contains("more than --max-lose-tls 0"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        std::fs::read(pf.config_dir.join("main.cf")).unwrap(),
        before,
        "nothing written"
    );
    // One loser is within --max-lose-tls 1.
    Mailtls::new(&state)
        .args(["--yes", "apply", "--max-lose-tls", "1", "--config"])
        .args([&pf.config_dir])
        .status(0)
        .run();
}

#[test]
fn apply_watch_rolls_back_when_a_peer_that_negotiated_before_now_fails() {
    let pf = postfix_with_history();
    let state = pf.root.path().join("state");
    let before = std::fs::read(pf.config_dir.join("main.cf")).unwrap();
    let port = pf.port;
    // The TLS 1.0 peer comes back while apply watches the log (and fails: TLS 1.0 is gone);
    // it retries every 3 s, as an MTA would, until it is refused (the reload comes after
    // checks and backups, and the watch only after verification).
    let comeback = std::thread::spawn(move || {
        (0..15).any(|_| {
            std::thread::sleep(Duration::from_secs(3));
            !client("smtp", port, "127.0.0.2", "1.0", "DEFAULT:@SECLEVEL=0")
        })
    });
    let ran = Mailtls::new(&state)
        .args(["--yes", "apply", "--watch", "40s", "--config"])
        .args([&pf.config_dir])
        .run();
    assert_eq!(ran.code, 3, "{}\n{}", ran.stderr, pf.maillog());
    assert!(comeback.join().unwrap(), "TLS 1.0 was refused after the change");
    assert!(
        ran.stderr.contains("127.0.0.2") && ran.stderr.contains("now fail"),
        "{}\n{}",
        ran.stderr,
        pf.maillog()
    );
    assert_eq!(
        std::fs::read(pf.config_dir.join("main.cf")).unwrap(),
        before,
        "rolled back"
    );

    // Nobody comes back: the watch ends quietly and the change stays.
    let ran = Mailtls::new(&state)
        .args(["--json", "--yes", "apply", "--watch", "3s", "--config"])
        .args([&pf.config_dir])
        .status(0)
        .run();
    assert!(ran.stderr.contains("no new TLS handshake failures"), "{}", ran.stderr);
    assert_ne!(std::fs::read(pf.config_dir.join("main.cf")).unwrap(), before);
}

#[test]
fn enable_logging_applies_the_coverage_change_and_rolls_back_like_any_change() {
    let pf = Postfix::new();
    pf.start();
    let state = pf.root.path().join("state");
    let main_cf = pf.config_dir.join("main.cf");
    let before = std::fs::read_to_string(&main_cf).unwrap();
    let ran = Mailtls::new(&state)
        .args(["--yes", "impact", "--enable-logging", "--config"])
        .args([&pf.config_dir])
        .status(0)
        .run();
    assert!(ran.stdout.contains("+smtpd_tls_loglevel = 1"), "{}", ran.stdout);
    let after = std::fs::read_to_string(&main_cf).unwrap();
    assert!(
        after.contains("smtpd_tls_loglevel = 1\n") && after.contains("smtp_tls_loglevel = 1\n"),
        "{after}"
    );
    // Now the log carries the handshakes, and coverage is complete.
    assert!(client(
        "smtp",
        pf.port,
        "127.0.0.3",
        "1.2",
        "ECDHE-RSA-AES128-SHA:@SECLEVEL=0"
    ));
    wait_for_lines(|| pf.maillog(), "TLS connection established", 1);
    let report = impact(&state, &["--config", pf.config_dir.to_str().unwrap()], None);
    assert_eq!(report["coverage"]["complete"], true, "{}", report["coverage"]);
    assert_eq!(verdict(&report, "127.0.0.3"), "at-risk");
    // A second run has nothing to do; rollback restores main.cf byte for byte.
    Mailtls::new(&state)
        .args(["--yes", "impact", "--enable-logging", "--config"])
        .args([&pf.config_dir])
        .status(0)
        .run();
    Mailtls::new(&state).args(["--yes", "rollback"]).status(0).run();
    assert_eq!(std::fs::read_to_string(&main_cf).unwrap(), before);
}
