//! Crash safety: mailtls is killed (SIGKILL) at every step of apply and
//! rollback; the next run notices the interrupted change, undoes it and
//! says so, and the server is back on its old config. The test-only
//! `MAILTLS_TEST_CRASH_AT=STEP` makes each kill land on a named step.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cmd::{snapshot, Mailtls};
use crate::support::{openssl_accepts, Postfix, Sendmail};

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
        let history = Mailtls::new(&state).args(["--json", "history"]).status(0).run().json();
        let last = history["sets"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["interrupted"], true, "{step}: history shows the interrupted set");

        let next = Mailtls::new(&state).args(["--json", "rollback"]).status(0).run();
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
        let history = Mailtls::new(&state).args(["--json", "history"]).status(0).run().json();
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
            .status(0)
            .run();
        let killed = Mailtls::new(&state)
            .env("MAILTLS_TEST_CRASH_AT", step)
            .args(["rollback"])
            .run();
        assert_eq!(killed.code, -1, "{step}: killed\n{}", killed.stderr);
        Mailtls::new(&state).args(["rollback"]).status(0).run();
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
        .status(0)
        .run();
    assert!(ran.stderr.contains("was interrupted"), "{}", ran.stderr);
    assert_eq!(
        ran.json()["changed"],
        true,
        "planned from the restored originals, so both files change again"
    );
    assert_eq!(ran.json()["files"].as_array().unwrap().len(), 2);
}

/// Issue 15: a kill at every step of apply and rollback, with an admin's
/// edit to main.cf landing at that very moment. The next run never throws
/// the edit away: where mailtls had written main.cf it shows the diff and
/// stops (exit 1, set still interrupted); `rollback --force` then restores.
#[test]
fn a_kill_at_any_step_while_an_admin_edits_main_cf_never_loses_the_edit() {
    let pf = two_file_postfix();
    let state = pf.root.path().join("state");
    let originals = snapshot(&pf.config_dir);
    let main = pf.config_dir.join("main.cf");
    let edit = format!("echo '# admin edit' >> {}", main.display());
    let steps = APPLY_STEPS
        .iter()
        .map(|s| ("apply", *s))
        .chain([("rollback", "restored-file-1"), ("rollback", "rollback-restored")]);
    for (command, step) in steps {
        if command == "rollback" {
            Mailtls::new(&state)
                .args(["-y", "apply", "--config"])
                .args([&pf.config_dir])
                .status(0)
                .run();
        }
        let killed = Mailtls::new(&state)
            .env("MAILTLS_TEST_CRASH_AT", step)
            .env("MAILTLS_TEST_RUN_AT", step)
            .env("MAILTLS_TEST_RUN", &edit)
            .args(["-y", command]);
        let killed = match command {
            "apply" => killed.args([std::ffi::OsStr::new("--config"), pf.config_dir.as_os_str()]),
            _ => killed,
        }
        .run();
        assert_eq!(killed.code, -1, "{command} {step}: killed\n{}", killed.stderr);
        let edited = std::fs::read_to_string(&main).unwrap();
        assert!(edited.ends_with("# admin edit\n"), "{step}");

        // Before the first write main.cf is not mailtls's to undo: the next run undoes nothing there.
        let written = step != "backed-up";
        let next = Mailtls::new(&state).args(["rollback"]).run();
        assert_eq!(
            next.code,
            if written { 1 } else { 0 },
            "{command} {step}:\n{}",
            next.stderr
        );
        assert_eq!(
            std::fs::read_to_string(&main).unwrap(),
            edited,
            "{command} {step}: the edit is kept"
        );
        if written {
            assert!(next.stderr.contains("rollback --force"), "{step}: {}", next.stderr);
            Mailtls::new(&state).args(["rollback", "--force"]).status(0).run();
        } else {
            std::fs::write(&main, &originals["main.cf"]).unwrap();
        }
        assert_eq!(
            snapshot(&pf.config_dir),
            originals,
            "{command} {step}: the old files are back"
        );
        assert!(
            openssl_accepts(pf.port, "smtp", "-tls1", None),
            "{command} {step}: the live server runs the old config"
        );
    }
}

/// The files the newest backup set wrote, by name: its `N-NAME.new` copies.
fn newest_written(state: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let sets = state.join("backups");
    let newest = std::fs::read_dir(&sets)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .max()
        .unwrap();
    snapshot(&sets.join(newest))
        .into_iter()
        .filter_map(|(name, bytes)| {
            let name = name.strip_suffix(".new")?.split_once('-')?.1.to_string();
            Some((name, bytes))
        })
        .collect()
}

/// A tiny xorshift: the kill loop's moments, repeatable from a seed.
struct Moments(u64);

impl Moments {
    fn next_below(&mut self, limit: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let micros = limit.as_micros().max(1) as u64;
        Duration::from_micros(self.0 % micros)
    }
}

/// Runs mailtls with `args` and SIGKILLs it after `after` (if still running),
/// counted from its start, or from the moment it finished its backup when
/// `from_backup` names a file for the test hook to create then.
fn killed_after(state: &Path, path_env: &str, args: &[&std::ffi::OsStr], after: Duration, from_backup: Option<&Path>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mailtls"));
    if let Some(marker) = from_backup {
        let _ = std::fs::remove_file(marker);
        command
            .env("MAILTLS_TEST_RUN_AT", "backed-up")
            .env("MAILTLS_TEST_RUN", format!("touch {}", marker.display()));
    }
    let mut child = command
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .env("PATH", path_env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    if let Some(marker) = from_backup {
        let started = Instant::now();
        while !marker.exists() && child.try_wait().unwrap().is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "apply never got to its backup"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    std::thread::sleep(after);
    let _ = child.kill();
    child.wait().unwrap();
}

/// 200 kills at random moments of apply and rollback (config only: a
/// Sendmail whose change spans sendmail.mc and the sendmail.cf generated
/// from it): after each kill, the next complete run leaves the old files or
/// the new ones, byte for byte, never one of each. The kills run in
/// `MAILTLS_KILL_LANES` (4) lanes at once, each on its own Sendmail copy
/// with the seed `MAILTLS_KILL_SEED` + its number (they mostly wait on m4
/// and on the kill moment); `MAILTLS_KILL_ROUNDS` (200) is the total.
/// A failure names its seed: rerun it with that seed and one lane.
#[test]
fn a_kill_at_a_random_moment_never_leaves_a_mix_of_old_and_new_files() {
    let number = |name: &str, default: u64| std::env::var(name).map_or(default, |s| s.parse().unwrap());
    let seed = number("MAILTLS_KILL_SEED", 0x5eed);
    let rounds = number("MAILTLS_KILL_ROUNDS", 200) as usize;
    let lanes = number("MAILTLS_KILL_LANES", 4).max(1);
    let interrupted: usize = std::thread::scope(|scope| {
        let lanes: Vec<_> = (0..lanes)
            .map(|lane| {
                let share = rounds / lanes as usize + usize::from((lane as usize) < rounds % lanes as usize);
                scope.spawn(move || kill_lane(seed + lane, share))
            })
            .collect();
        lanes.into_iter().map(|l| l.join().unwrap()).sum()
    });
    // Kills that only ever land before the first write or after the last would prove nothing.
    assert!(
        interrupted >= rounds / 10,
        "only {interrupted} of {rounds} kills interrupted a change"
    );
}

/// One lane of the random kills: `rounds` kills on a Sendmail of its own,
/// at moments drawn from `seed`; the number that interrupted a change.
fn kill_lane(seed: u64, rounds: usize) -> usize {
    let sm = Sendmail::new("");
    let dir = sm.root.path();
    let state = dir.join("state");
    let path_env = sm.path_env();
    let run = |op: &str| {
        let mailtls = Mailtls::new(&state).env("PATH", &path_env);
        match op {
            "apply" => mailtls
                .args(["-y", "apply", "--no-reload", "--mta", "sendmail", "--config"])
                .args([&sm.mc])
                .run(),
            _ => mailtls.args(["rollback"]).run(),
        }
    };
    let old = snapshot(dir);
    let started = Instant::now();
    run("apply").code(0);
    let apply_time = started.elapsed();
    let new = snapshot(dir);
    assert!(new == newest_written(&state));
    assert_ne!(old.get("sendmail.mc"), new.get("sendmail.mc"));
    assert_ne!(old.get("sendmail.cf"), new.get("sendmail.cf"));
    let started = Instant::now();
    run("rollback").code(0);
    let rollback_time = started.elapsed();
    assert!(snapshot(dir) == old);

    let mut moments = Moments(seed);
    let mc = sm.mc.as_os_str();
    let apply_args: Vec<&std::ffi::OsStr> = ["-y", "apply", "--no-reload", "--mta", "sendmail", "--config"]
        .iter()
        .map(std::ffi::OsStr::new)
        .chain([mc])
        .collect();
    let rollback_args = [std::ffi::OsStr::new("rollback")];
    let marker = sm.root.path().join("run/backed-up");
    let mut interrupted = 0;
    let mut spans = [apply_time, rollback_time];
    for round in 0..rounds {
        // Even rounds kill an apply (from the old files), odd ones a rollback (from the new).
        let (op, args) = if round % 2 == 0 {
            ("apply", &apply_args[..])
        } else {
            ("rollback", &rollback_args[..])
        };
        // Half the kills anywhere in the run; the other half of the rollbacks in
        // its first half (where it writes), of the applies within 100 ms of the backup.
        let span = spans[round % 2];
        let (after, from_backup) = match round % 4 {
            0 | 1 => (moments.next_below(span + span / 5), None),
            2 => (moments.next_below(Duration::from_millis(100)), Some(marker.as_path())),
            _ => (moments.next_below(span / 2), None),
        };
        killed_after(&state, &path_env, args, after, from_backup);
        let killed = snapshot(dir);
        // The same command again, to the end: it first undoes whatever the kill interrupted.
        let started = Instant::now();
        let next = run(op);
        spans[round % 2] = (spans[round % 2] * 3 + started.elapsed()) / 4;
        interrupted += usize::from(next.stderr.contains("was interrupted"));
        let now = snapshot(dir);
        // sendmail.cf carries the time m4 built it: "new" is what the newest set wrote.
        let new = newest_written(&state);
        assert!(
            now == old || now == new,
            "round {round} (seed {seed}): {op} killed after {after:?}; the next {op} left a mix (exit {}, files {:?}):\n{}",
            next.code,
            now.keys().collect::<Vec<_>>(),
            next.stderr
        );
        let expected = if op == "apply" { &new } else { &old };
        assert!(
            now == *expected,
            "round {round} (seed {seed}): {op} killed after {after:?} left {}; the next {op} did not finish it:\n{}",
            if killed == old {
                "the old files"
            } else if killed == new {
                "the new files"
            } else {
                "a mix"
            },
            next.stderr
        );
    }
    eprintln!(
        "{rounds} kills (seed {seed}, apply {apply_time:?}, rollback {rollback_time:?}): {interrupted} interrupted a change in progress"
    );
    interrupted
}
