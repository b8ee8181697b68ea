//! The whole spine on a real, private Postfix instance: apply, probe, plan
//! again, apply again, roll back; and the failure paths that must leave the
//! server as it was.
use crate::support;

use std::os::unix::fs::MetadataExt;

use crate::cmd::{assert_idempotent, snapshot, Mailtls};
use crate::support::{openssl_accepts, Postfix};

fn accepts(pf: &Postfix, flag: &str) -> bool {
    openssl_accepts(pf.port, "smtp", flag, None)
}

#[test]
fn apply_verify_reapply_and_rollback_on_stock_debian_postfix() {
    let pf = Postfix::new();
    pf.start();
    let state = pf.root.path().join("state");
    let config = &pf.config_dir;
    let originals = snapshot(config);
    let main_meta = std::fs::metadata(config.join("main.cf")).unwrap();
    assert!(
        accepts(&pf, "-tls1"),
        "stock Debian Postfix accepts TLS 1.0 before hardening"
    );

    Mailtls::new(&state)
        .args(["plan", "--config"])
        .args([config])
        .status(2)
        .run();

    let applied = Mailtls::new(&state)
        .args(["--json", "--yes", "apply", "--config"])
        .args([config])
        .status(0)
        .run();
    let json = applied.json();
    assert_eq!(json["changed"], true);
    assert_eq!(json["verified"], true, "{}", applied.stderr);
    let backup_id = json["backup_id"].as_str().unwrap().to_string();
    assert_eq!(json["files"], serde_json::json!([config.join("main.cf")]));

    // The live server, seen by an independent client.
    assert!(!accepts(&pf, "-tls1"), "TLS 1.0 refused after apply");
    assert!(!accepts(&pf, "-tls1_1"), "TLS 1.1 refused after apply");
    assert!(accepts(&pf, "-tls1_2") && accepts(&pf, "-tls1_3"));
    assert!(
        !openssl_accepts(pf.port, "smtp", "-tls1_2", Some("AES128-SHA:@SECLEVEL=0")),
        "no non-PFS suites"
    );

    // Idempotent: nothing to plan, and a second apply leaves the files untouched.
    let mtime = std::fs::metadata(config.join("main.cf")).unwrap().mtime_nsec();
    assert_idempotent(|| Mailtls::new(&state), config, config);
    assert_eq!(std::fs::metadata(config.join("main.cf")).unwrap().mtime_nsec(), mtime);

    // Rollback needs no option but the state dir: the set knows its server.
    let rolled = Mailtls::new(&state).args(["--json", "rollback"]).status(0).run().json();
    assert_eq!(rolled["backup_id"], backup_id.as_str());
    assert_eq!(rolled["restored"], serde_json::json!([config.join("main.cf")]));
    assert_eq!(snapshot(config), originals, "files byte for byte as before");
    let meta = std::fs::metadata(config.join("main.cf")).unwrap();
    assert_eq!(
        (meta.mode(), meta.uid(), meta.gid()),
        (main_meta.mode(), main_meta.uid(), main_meta.gid())
    );
    assert!(accepts(&pf, "-tls1"), "the live server accepts TLS 1.0 again");

    let history = Mailtls::new(&state).args(["--json", "history"]).status(0).run().json();
    assert_eq!(history["sets"][0]["id"], backup_id.as_str());
    assert_eq!(history["sets"][0]["state"], "rolled-back");
    Mailtls::new(&state).args(["rollback"]).status(1).run();
}

#[test]
fn failed_verification_rolls_back_by_itself_and_exits_3() {
    let pf = Postfix::new();
    pf.start();
    let state = pf.root.path().join("state");
    let originals = snapshot(&pf.config_dir);
    // A "reload" that puts the stock main.cf back before reloading: the live server does not
    // serve what the profile says, so verification must fail and the originals come back.
    let stock = pf.root.path().join("main.cf.stock");
    std::fs::copy(pf.config_dir.join("main.cf"), &stock).unwrap();
    let sabotage = format!(
        "cp {} {d}/main.cf && postfix -c {d} reload",
        stock.display(),
        d = pf.config_dir.display()
    );
    let ran = Mailtls::new(&state)
        .args(["--json", "-y", "apply", "--reload-command", &sabotage, "--config"])
        .args([&pf.config_dir])
        .status(3)
        .run();
    assert!(ran.stderr.contains("TLSv1.0 is accepted"), "{}", ran.stderr);
    assert_eq!(ran.json()["exit_code"], 3);
    assert_eq!(snapshot(&pf.config_dir), originals, "the originals are back");
    let history = Mailtls::new(&state).args(["--json", "history"]).status(0).run().json();
    assert_eq!(history["sets"][0]["state"], "rolled-back");
    assert!(accepts(&pf, "-tls1_2"), "the server still serves TLS");
}

#[test]
fn rollback_refuses_a_file_changed_since_apply_unless_forced() {
    let pf = Postfix::new();
    pf.start();
    let state = pf.root.path().join("state");
    let originals = snapshot(&pf.config_dir);
    Mailtls::new(&state)
        .args(["-y", "apply", "--no-verify", "--config"])
        .args([&pf.config_dir])
        .status(0)
        .run();
    let main = pf.config_dir.join("main.cf");
    let mut text = std::fs::read_to_string(&main).unwrap();
    text.push_str("# an admin's later edit\n");
    std::fs::write(&main, &text).unwrap();

    let refused = Mailtls::new(&state).args(["rollback"]).status(1).run();
    assert!(
        refused.stdout.contains("+# an admin's later edit"),
        "shows the diff: {}",
        refused.stdout
    );
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert_eq!(std::fs::read_to_string(&main).unwrap(), text, "nothing restored");

    Mailtls::new(&state).args(["rollback", "--force"]).status(0).run();
    assert_eq!(snapshot(&pf.config_dir), originals);
}

#[test]
fn without_a_terminal_and_without_yes_apply_refuses_and_changes_nothing() {
    let pf = Postfix::new();
    let state = pf.root.path().join("state");
    let originals = snapshot(&pf.config_dir);
    let ran = Mailtls::new(&state)
        .args(["apply", "--config"])
        .args([&pf.config_dir])
        .status(1)
        .run();
    assert!(ran.stderr.contains("add --yes"), "{}", ran.stderr);
    assert_eq!(snapshot(&pf.config_dir), originals);
    let history = Mailtls::new(&state).args(["--json", "history"]).status(0).run().json();
    assert_eq!(
        history["sets"],
        serde_json::json!([]),
        "no backup set for a refused apply"
    );
}

#[test]
fn check_mode_reports_a_change_and_writes_nothing() {
    let pf = Postfix::new();
    let state = pf.root.path().join("state");
    let originals = snapshot(&pf.config_dir);
    let json = Mailtls::new(&state)
        .args(["--json", "apply", "--check", "--config"])
        .args([&pf.config_dir])
        .status(2)
        .run()
        .json();
    assert_eq!(json["changed"], true);
    assert_eq!(snapshot(&pf.config_dir), originals);
    assert!(!state.exists(), "check mode creates no state");
}

#[test]
fn a_second_mailtls_waits_for_no_one_it_fails_on_the_lock() {
    let pf = Postfix::new();
    let state = pf.root.path().join("state");
    std::fs::create_dir_all(state.join("backups")).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(state.join("lock"))
        .unwrap();
    let held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock).unwrap();
    let ran = Mailtls::new(&state)
        .args(["-y", "apply", "--config"])
        .args([&pf.config_dir])
        .status(1)
        .run();
    assert!(ran.stderr.contains("another mailtls is running"), "{}", ran.stderr);
    drop(held);
}

#[test]
fn ncsc_nl_2025_applies_and_verifies_by_its_tiers() {
    let pf = Postfix::new();
    pf.start();
    let state = pf.root.path().join("state");
    let applied = Mailtls::new(&state)
        .args(["--json", "--yes", "apply", "--profile", "ncsc-nl-2025", "--config"])
        .args([&pf.config_dir])
        .status(0)
        .run();
    assert_eq!(applied.json()["verified"], true, "{}", applied.stderr);
    let probe = Mailtls::new(&state)
        .args(support::baselines::probe_args(pf.port, "smtp", "ncsc-nl-2025"))
        .run()
        .json();
    support::baselines::check_live_baseline(
        &probe,
        pf.port,
        "smtp",
        "ncsc-nl-2025",
        "DHE-RSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
    );
}
