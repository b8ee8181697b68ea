//! The Ansible collection mailtls.mailtls
//! (contrib/ansible/ansible_collections/mailtls/mailtls), built with
//! `ansible-galaxy collection build`, installed, and run by real ansible-core
//! in playbooks that use the fully qualified module names, against private
//! Postfix instances: check mode writes nothing, the first run reports
//! changed and the second ok, a failed verification fails the task, the
//! probe's result holds what openssl sees, rollback undoes, and the fleet
//! playbook stops at the first host that rolls back.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::cmd::{snapshot, Mailtls};
use crate::support::{openssl_accepts, run, Postfix};

/// The collection, built and installed once per test run; returns the
/// collections path to give ansible.
fn collections() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ansible");
        let _ = std::fs::remove_dir_all(&root);
        let build = root.join("build");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/ansible/ansible_collections/mailtls/mailtls");
        run(Command::new("ansible-galaxy")
            .args(["collection", "build", "--output-path"])
            .arg(&build)
            .arg(&source));
        let tarball = build.join("mailtls-mailtls-0.1.0.tar.gz");
        assert!(tarball.exists(), "ansible-galaxy built {}", tarball.display());
        let installed = root.join("collections");
        run(Command::new("ansible-galaxy")
            .args(["collection", "install", "-p"])
            .arg(&installed)
            .arg(&tarball));
        installed
    })
}

/// What one `ansible-playbook` run printed, its exit code, and the
/// registered results the playbook wrote to `results.json`.
struct Played {
    code: i32,
    stdout: String,
    results: serde_json::Value,
}

/// Runs `ansible-playbook` in `dir` on `playbook` (a file there or a
/// collection playbook's name) with `inventory` (YAML) as the inventory.
fn ansible_playbook(dir: &Path, inventory: &str, playbook: &str, flags: &[&str]) -> Played {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_mailtls")).parent().unwrap();
    std::fs::write(dir.join("inventory.yml"), inventory).unwrap();
    let results = dir.join("results.json");
    let _ = std::fs::remove_file(&results);
    let out = Command::new("ansible-playbook")
        .args(["-i", "inventory.yml", playbook])
        .args(flags)
        .current_dir(dir)
        .env("ANSIBLE_COLLECTIONS_PATH", collections())
        .env("ANSIBLE_COLLECTIONS_SCAN_SYS_PATH", "false")
        .env("ANSIBLE_LOCAL_TEMP", dir.join("ansible-tmp"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "false")
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .output()
        .expect("ansible-playbook runs (scripts/test-deps installs ansible-core)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let results = match std::fs::read_to_string(&results) {
        Ok(text) => serde_json::from_str(&text).unwrap(),
        Err(_) => serde_json::Value::Null,
    };
    Played {
        code: out.status.code().unwrap_or(-1),
        stdout: format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
        results,
    }
}

/// This machine's python3 (the one ansible-core is installed for).
fn python3() -> String {
    let python = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&python.stdout).trim().to_string()
}

/// An inventory of localhost, run locally.
fn local_inventory() -> String {
    format!(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n      ansible_python_interpreter: {}\n",
        yaml(python3())
    )
}

/// A JSON string, which is also a YAML scalar: paths need no other quoting.
fn yaml(value: impl serde::Serialize) -> String {
    serde_json::to_string(&value).unwrap()
}

/// Runs one task of `module` with `options` (YAML lines at the task's
/// indentation); the task's registered result comes back in `results`.
fn run_task(dir: &Path, module: &str, options: &str, flags: &[&str]) -> Played {
    let playbook = format!(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: the task under test\n      {module}:\n{options}      register: result\n      ignore_errors: true\n    - name: keep the result\n      ansible.builtin.copy:\n        content: \"{{{{ result | to_json }}}}\"\n        dest: {}\n      check_mode: false\n      diff: false\n",
        yaml(dir.join("results.json"))
    );
    std::fs::write(dir.join("playbook.yml"), playbook).unwrap();
    ansible_playbook(dir, &local_inventory(), "playbook.yml", flags)
}

fn harden_options(pf: &Postfix, extra: &str) -> String {
    format!(
        "        config:\n          - {}\n        state_dir: {}\n{extra}",
        yaml(&pf.config_dir),
        yaml(pf.root.path().join("state"))
    )
}

/// A reload command that puts the stock main.cf back first, so the server
/// does not serve the profile and verification fails.
fn sabotaging_reload(pf: &Postfix) -> String {
    let stock = pf.root.path().join("main.cf.stock");
    std::fs::copy(pf.config_dir.join("main.cf"), &stock).unwrap();
    let script = pf.root.path().join("sabotage.sh");
    std::fs::write(
        &script,
        format!(
            "cp {} {d}/main.cf\npostfix -c {d} reload\n",
            stock.display(),
            d = pf.config_dir.display()
        ),
    )
    .unwrap();
    format!("sh {}", script.display())
}

#[test]
fn harden_check_mode_writes_nothing_then_changed_then_ok() {
    let pf = Postfix::new();
    pf.start();
    let dir = pf.root.path();
    let originals = snapshot(&pf.config_dir);
    let options = harden_options(&pf, "");

    let checked = run_task(dir, "mailtls.mailtls.harden", &options, &["--check", "--diff"]);
    assert_eq!(checked.results["changed"], true, "{}", checked.stdout);
    assert!(
        checked.stdout.contains("+smtpd_tls_protocols = >=TLSv1.2"),
        "diff mode shows the new line: {}",
        checked.stdout
    );
    let main_cf = pf.config_dir.join("main.cf");
    assert!(
        checked.stdout.contains(&format!("--- before: {}", main_cf.display())),
        "diff mode shows main.cf before and after: {}",
        checked.stdout
    );
    assert_eq!(snapshot(&pf.config_dir), originals, "check mode wrote nothing");
    assert!(!dir.join("state").exists(), "check mode made no backup");

    let first = run_task(dir, "mailtls.mailtls.harden", &options, &["--diff"]);
    assert_eq!(
        (&first.results["changed"], &first.results["verified"]),
        (&true.into(), &true.into()),
        "{}",
        first.stdout
    );
    assert!(first.results["backup_id"].is_string(), "{}", first.results);
    assert_ne!(snapshot(&pf.config_dir), originals);

    let hardened = snapshot(&pf.config_dir);
    let second = run_task(dir, "mailtls.mailtls.harden", &options, &["--diff"]);
    assert_eq!(second.code, 0, "{}", second.stdout);
    assert_eq!(
        (&second.results["changed"], &second.results["failed"]),
        (&false.into(), &false.into()),
        "{}",
        second.stdout
    );
    assert_eq!(snapshot(&pf.config_dir), hardened, "the second run wrote nothing");
}

#[test]
fn a_failed_verification_fails_the_task_with_mailtls_message() {
    let pf = Postfix::new();
    pf.start();
    let originals = snapshot(&pf.config_dir);
    let reload = sabotaging_reload(&pf);
    let options = harden_options(&pf, &format!("        reload_command: {}\n", yaml(&reload)));
    let failed = run_task(pf.root.path(), "mailtls.mailtls.harden", &options, &[]);
    assert_eq!(failed.results["failed"], true, "{}", failed.stdout);
    assert_eq!(failed.results["rolled_back"], true, "{}", failed.results);
    assert_eq!(failed.results["exit_code"], 3, "{}", failed.results);
    assert!(
        failed.results["msg"].as_str().unwrap().contains("verification failed"),
        "{}",
        failed.results["msg"]
    );
    assert_eq!(snapshot(&pf.config_dir), originals);
}

#[test]
fn probe_results_hold_the_protocols_openssl_sees() {
    let pf = Postfix::new();
    pf.start();
    let dir = pf.root.path();
    let options = format!(
        "        targets:\n          - {}\n        profile: intermediate\n",
        yaml(format!("127.0.0.1:{}", pf.port))
    );
    let probe = |flags: &[&str]| {
        let played = run_task(dir, "mailtls.mailtls.probe", &options, flags);
        assert_eq!(played.code, 0, "{}", played.stdout);
        assert_eq!(played.results["changed"], false, "{}", played.stdout);
        played.results
    };

    let before = probe(&["--check"]);
    let report = &before["targets"][0];
    assert_eq!(report["target"], format!("127.0.0.1:{}", pf.port), "{before}");
    for (name, flag) in [
        ("TLSv1.0", "-tls1"),
        ("TLSv1.1", "-tls1_1"),
        ("TLSv1.2", "-tls1_2"),
        ("TLSv1.3", "-tls1_3"),
    ] {
        assert_eq!(
            report["protocols"][name]["accepted"],
            openssl_accepts(pf.port, "smtp", flag, None),
            "{name} as openssl sees it: {report}"
        );
    }
    assert_eq!(before["summary"][0]["compliant"], false, "{before}");
    assert_eq!(before["compliant"], false, "{before}");

    Mailtls::new(&dir.join("state"))
        .args(["apply", "--yes", "--config"])
        .args([&pf.config_dir])
        .status(0)
        .run();
    let after = probe(&[]);
    assert_eq!(after["compliant"], true, "{after}");
    assert_eq!(
        after["targets"][0]["protocols"]["TLSv1.1"]["accepted"], false,
        "{after}"
    );
    assert_eq!(after["targets"][0]["protocols"]["TLSv1.2"]["accepted"], true, "{after}");
}

#[test]
fn rollback_restores_once_and_check_mode_restores_nothing() {
    let pf = Postfix::new();
    pf.start();
    let dir = pf.root.path();
    let originals = snapshot(&pf.config_dir);
    let hardened = run_task(dir, "mailtls.mailtls.harden", &harden_options(&pf, ""), &[]);
    assert_eq!(hardened.results["changed"], true, "{}", hardened.stdout);
    let changed = snapshot(&pf.config_dir);
    let backup_id = hardened.results["backup_id"].as_str().unwrap().to_string();
    let options = format!("        state_dir: {}\n", yaml(dir.join("state")));

    let checked = run_task(dir, "mailtls.mailtls.rollback", &options, &["--check"]);
    assert_eq!(
        (&checked.results["changed"], checked.results["backup_id"].as_str()),
        (&true.into(), Some(backup_id.as_str())),
        "{}",
        checked.stdout
    );
    assert_eq!(snapshot(&pf.config_dir), changed, "check mode restored nothing");

    let rolled = run_task(dir, "mailtls.mailtls.rollback", &options, &[]);
    assert_eq!(rolled.results["changed"], true, "{}", rolled.stdout);
    assert_eq!(rolled.results["verified"], true, "{}", rolled.results);
    assert_eq!(snapshot(&pf.config_dir), originals);

    let again = run_task(
        dir,
        "mailtls.mailtls.rollback",
        &format!("{options}        backup_id: {}\n", yaml(&backup_id)),
        &[],
    );
    assert_eq!(
        (&again.results["changed"], &again.results["failed"]),
        (&false.into(), &false.into()),
        "{}",
        again.stdout
    );
}

#[test]
fn fleet_playbook_hardens_noncompliant_hosts_and_stops_at_the_first_rollback() {
    // a and b do not comply and roll back when hardened; c already complies.
    let hosts: Vec<Postfix> = (0..3).map(|_| Postfix::new()).collect();
    let reloads: Vec<String> = hosts[..2].iter().map(sabotaging_reload).collect();
    for pf in &hosts {
        pf.start();
    }
    let c = &hosts[2];
    Mailtls::new(&c.root.path().join("state"))
        .args(["apply", "--yes", "--config"])
        .args([&c.config_dir])
        .status(0)
        .run();
    let before: Vec<_> = hosts.iter().map(|pf| snapshot(&pf.config_dir)).collect();

    let mut inventory = String::from("mail:\n  hosts:\n");
    for (name, (i, pf)) in ["a", "b", "c"].iter().zip(hosts.iter().enumerate()) {
        inventory += &format!(
            "    {name}:\n      mailtls_targets: [{}]\n      mailtls_config: [{}]\n      mailtls_state_dir: {}\n",
            yaml(format!("127.0.0.1:{}", pf.port)),
            yaml(&pf.config_dir),
            yaml(pf.root.path().join("state"))
        );
        if let Some(reload) = reloads.get(i) {
            inventory += &format!("      mailtls_reload_command: {}\n", yaml(reload));
        }
    }
    inventory += &format!(
        "  vars:\n    ansible_connection: local\n    ansible_python_interpreter: {}\n    mailtls_become: false\n",
        yaml(python3())
    );

    let played = ansible_playbook(c.root.path(), &inventory, "mailtls.mailtls.fleet", &[]);
    assert_ne!(played.code, 0, "a rollback fails the play: {}", played.stdout);
    let sets = |pf: &Postfix| -> Vec<serde_json::Value> {
        let state = pf.root.path().join("state");
        if !state.exists() {
            return Vec::new();
        }
        let history = Mailtls::new(&state).args(["--json", "history"]).status(0).run().json();
        history["sets"].as_array().unwrap().clone()
    };
    let tried: Vec<Vec<serde_json::Value>> = hosts[..2].iter().map(sets).collect();
    let rolled_back = tried
        .iter()
        .filter(|s| s.len() == 1 && s[0]["state"] == "rolled-back")
        .count();
    let untouched = tried.iter().filter(|s| s.is_empty()).count();
    assert_eq!(
        (rolled_back, untouched),
        (1, 1),
        "serial 1: the first host rolled back and the play stopped before the second: {tried:?}\n{}",
        played.stdout
    );
    assert_eq!(sets(c).len(), 1, "the compliant host was not hardened again");
    let after: Vec<_> = hosts.iter().map(|pf| snapshot(&pf.config_dir)).collect();
    assert_eq!(after, before, "every config is as it was");
}

/// `listener_profiles` and `exceptions` reach `--listener-profile` and
/// `--except`: in check mode the plan holds port 25 to its own profile, then
/// a named exception carries its reason; nothing is written either time.
#[test]
fn harden_passes_listener_floors_and_exceptions_with_their_reason() {
    let pf = Postfix::new();
    let dir = pf.root.path();
    let originals = snapshot(&pf.config_dir);

    let by_kind = harden_options(
        &pf,
        "        profile: modern\n        listener_profiles:\n          smtp: old\n",
    );
    let checked = run_task(dir, "mailtls.mailtls.harden", &by_kind, &["--check"]);
    let floors = &checked.results["servers"][0]["floors"];
    assert_eq!(floors[0]["port"], pf.port, "{}", checked.stdout);
    assert_eq!(floors[0]["profile"], "old", "{floors}");
    assert!(floors[0].get("reason").is_none(), "{floors}");
    let cmd = checked.results["cmd"].to_string();
    assert!(cmd.contains("\"--listener-profile\",\"smtp=old\""), "{cmd}");

    let named = harden_options(
        &pf,
        &format!(
            "        profile: modern\n        exceptions:\n          - listener: \"{}\"\n            profile: old\n            reason: office printer that speaks TLS 1.0 only\n",
            pf.port
        ),
    );
    let checked = run_task(dir, "mailtls.mailtls.harden", &named, &["--check"]);
    let floors = &checked.results["servers"][0]["floors"];
    assert_eq!(floors[0]["profile"], "old", "{}", checked.stdout);
    assert_eq!(
        floors[0]["reason"], "office printer that speaks TLS 1.0 only",
        "{floors}"
    );
    assert_eq!(snapshot(&pf.config_dir), originals, "check mode wrote nothing");
}
