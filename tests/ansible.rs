//! The Ansible module (contrib/ansible/library/mailtls.py) run by real
//! ansible-core (ad hoc: the json callback needs a collection) against localhost, on a private Postfix instance: first run
//! changed, second run ok, check mode writes nothing, and a failed
//! verification fails the task with mailtls's message.

mod cmd;
mod support;

use std::path::Path;
use std::process::Command;

use cmd::snapshot;
use support::Postfix;

/// Runs the module once, ad hoc, against localhost; returns its result.
fn run_module(pf: &Postfix, extra: &str, check: bool) -> serde_json::Value {
    let dir = pf.root.path();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_mailtls")).parent().unwrap();
    let python = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    let args = format!(
        "config={} state_dir={} {extra}",
        pf.config_dir.display(),
        dir.join("state").display()
    );
    let mut command = Command::new("ansible");
    command
        .args([
            "localhost",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-m",
            "mailtls",
            "--diff",
            "-a",
            &args,
        ])
        .env(
            "ANSIBLE_LIBRARY",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/ansible/library"),
        )
        .env(
            "ANSIBLE_PYTHON_INTERPRETER",
            String::from_utf8_lossy(&python.stdout).trim(),
        )
        .env("ANSIBLE_NOCOLOR", "1")
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        );
    if check {
        command.arg("--check");
    }
    let out = command
        .output()
        .expect("ansible runs (scripts/test-deps installs ansible-core)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The result follows `localhost | CHANGED => ` (or SUCCESS, FAILED!).
    let start = stdout
        .find("localhost | ")
        .and_then(|at| stdout[at..].find("=> ").map(|o| at + o + 3));
    let Some(start) = start else {
        panic!(
            "no result from ansible:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let mut result: serde_json::Value = serde_json::from_str(&stdout[start..]).unwrap();
    let marker = stdout[..start].rsplit("localhost | ").next().unwrap_or("");
    result["status"] = marker.trim_end_matches("=> ").trim().into();
    result["diff_text"] = stdout[..start].into();
    result
}

#[test]
fn first_run_changes_second_is_ok_check_mode_writes_nothing() {
    let pf = Postfix::new();
    pf.start();
    let originals = snapshot(&pf.config_dir);

    let checked = run_module(&pf, "", true);
    assert_eq!(
        (checked["status"].as_str(), &checked["changed"]),
        (Some("CHANGED"), &true.into()),
        "{}",
        checked["msg"]
    );
    assert!(
        checked["diff_text"]
            .as_str()
            .unwrap()
            .contains("+smtpd_tls_protocols = >=TLSv1.2"),
        "{checked}"
    );
    let main_cf = pf.config_dir.join("main.cf");
    assert!(
        checked["diff_text"]
            .as_str()
            .unwrap()
            .contains(&format!("--- before: {}", main_cf.display())),
        "diff mode returns main.cf before and after: {checked}"
    );
    assert_eq!(snapshot(&pf.config_dir), originals, "check mode wrote nothing");

    let first = run_module(&pf, "", false);
    assert_eq!(
        (first["status"].as_str(), &first["changed"]),
        (Some("CHANGED"), &true.into()),
        "{}",
        first["msg"]
    );
    assert_eq!(first["verified"], true, "{}", first["msg"]);
    assert_ne!(snapshot(&pf.config_dir), originals);

    let second = run_module(&pf, "", false);
    assert_eq!(
        (second["status"].as_str(), &second["changed"]),
        (Some("SUCCESS"), &false.into()),
        "{}",
        second["msg"]
    );
}

#[test]
fn a_failed_verification_fails_the_task_with_mailtls_message() {
    let pf = Postfix::new();
    pf.start();
    let originals = snapshot(&pf.config_dir);
    // A "reload" that puts the stock main.cf back first: the server does not serve the profile.
    let stock = pf.root.path().join("main.cf.stock");
    std::fs::copy(pf.config_dir.join("main.cf"), &stock).unwrap();
    let sabotage = pf.root.path().join("sabotage.sh");
    std::fs::write(
        &sabotage,
        format!(
            "cp {} {d}/main.cf\npostfix -c {d} reload\n",
            stock.display(),
            d = pf.config_dir.display()
        ),
    )
    .unwrap();
    let failed = run_module(&pf, &format!("reload_command='sh {}'", sabotage.display()), false);
    assert_eq!(failed["status"], "FAILED!", "{}", failed["msg"]);
    assert_eq!(failed["rolled_back"], true, "{}", failed["msg"]);
    assert!(
        failed["msg"].as_str().unwrap().contains("verification failed"),
        "{}",
        failed["msg"]
    );
    assert_eq!(snapshot(&pf.config_dir), originals);
}
