//! Crash safety: mailtls is killed (SIGKILL) at every step of apply and
//! rollback; the next run notices the interrupted change, undoes it and
//! says so, and the server is back on its old config. The test-only
//! `MAILTLS_TEST_CRASH_AT=STEP` makes each kill land on a named step.

mod cmd;
mod support;

use cmd::{snapshot, Mailtls};
use support::{openssl_accepts, Postfix};

/// Every step of apply a kill can land on, in order.
const APPLY_STEPS: [&str; 6] = [
    "backed-up",
    "wrote-file-1",
    "wrote-file-2",
    "written",
    "reloaded",
    "verified",
];

/// A running Postfix whose change touches two files: main.cf, and master.cf
/// where a weak `-o` override on the smtp service is rewritten.
fn two_file_postfix() -> Postfix {
    let pf = Postfix::new();
    let master = pf.config_dir.join("master.cf");
    let text = std::fs::read_to_string(&master).unwrap();
    let text = text.replacen(" smtpd\n", " smtpd\n  -o smtpd_tls_protocols=>=TLSv1\n", 1);
    std::fs::write(&master, text).unwrap();
    pf.start();
    pf
}

#[test]
fn a_kill_at_any_step_of_apply_is_undone_by_the_next_run() {
    let pf = two_file_postfix();
    let state = pf.root.path().join("state");
    let originals = snapshot(&pf.config_dir);
    for step in APPLY_STEPS {
        let killed = Mailtls::new(&state)
            .env("MAILTLS_TEST_CRASH_AT", step)
            .args(["-y", "apply", "--config"])
            .args([&pf.config_dir])
            .run();
        assert_eq!(killed.code, -1, "{step}: killed by the signal\n{}", killed.stderr);
        let history = Mailtls::new(&state).args(["--json", "history"]).run().code(0).json();
        let last = history["sets"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["interrupted"], true, "{step}: history shows the interrupted set");

        let next = Mailtls::new(&state).args(["--json", "rollback"]).run().code(0);
        assert!(
            next.stderr.contains("was interrupted"),
            "{step}: says what it found: {}",
            next.stderr
        );
        assert_eq!(next.json()["recovered"][0], last["id"], "{step}");
        assert_eq!(snapshot(&pf.config_dir), originals, "{step}: the old files are back");
        assert!(
            openssl_accepts(pf.port, "smtp", "-tls1", None),
            "{step}: the live server runs the old config"
        );
        let history = Mailtls::new(&state).args(["--json", "history"]).run().code(0).json();
        let last = history["sets"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            (last["state"].as_str(), &last["interrupted"]),
            (Some("rolled-back"), &false.into()),
            "{step}"
        );
    }
}

#[test]
fn a_kill_during_rollback_is_finished_by_the_next_run() {
    let pf = two_file_postfix();
    let state = pf.root.path().join("state");
    let originals = snapshot(&pf.config_dir);
    for step in ["restored-file-1", "rollback-restored"] {
        Mailtls::new(&state)
            .args(["-y", "apply", "--config"])
            .args([&pf.config_dir])
            .run()
            .code(0);
        let killed = Mailtls::new(&state)
            .env("MAILTLS_TEST_CRASH_AT", step)
            .args(["rollback"])
            .run();
        assert_eq!(killed.code, -1, "{step}: killed\n{}", killed.stderr);
        Mailtls::new(&state).args(["rollback"]).run().code(0);
        assert_eq!(snapshot(&pf.config_dir), originals, "{step}");
        assert!(
            openssl_accepts(pf.port, "smtp", "-tls1", None),
            "{step}: old config live"
        );
    }
}

#[test]
fn an_interrupted_change_is_undone_before_a_new_apply_plans() {
    let pf = two_file_postfix();
    let state = pf.root.path().join("state");
    Mailtls::new(&state)
        .env("MAILTLS_TEST_CRASH_AT", "wrote-file-1")
        .args(["-y", "apply", "--config"])
        .args([&pf.config_dir])
        .run();
    let ran = Mailtls::new(&state)
        .args(["--json", "-y", "apply", "--config"])
        .args([&pf.config_dir])
        .run()
        .code(0);
    assert!(ran.stderr.contains("was interrupted"), "{}", ran.stderr);
    assert_eq!(
        ran.json()["changed"],
        true,
        "planned from the restored originals, so both files change again"
    );
    assert_eq!(ran.json()["files"].as_array().unwrap().len(), 2);
}
