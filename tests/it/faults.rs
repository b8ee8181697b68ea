//! Faults forced on purpose: a reload that fails, hangs or stops the
//! server, a full or read-only file system, a damaged state directory, a
//! user who is not root, hostile files. Each ends with the old config in
//! place (or the new one verified), a clear message and a non-zero exit.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::cmd::{snapshot, Mailtls};
use crate::support::{openssl_accepts, self_signed, KeyKind, Postfix};

/// A mount that is undone on drop, even when the test panics.
struct Mount(PathBuf);

impl Mount {
    /// A tmpfs of `size`, root-only (0700) as a state directory must be.
    fn tmpfs(dir: &Path, size: &str) -> Mount {
        std::fs::create_dir_all(dir).unwrap();
        run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir));
        Mount(dir.to_path_buf())
    }

    fn read_only(dir: &Path) -> Mount {
        run(Command::new("mount").arg("--bind").arg(dir).arg(dir));
        run(Command::new("mount").args(["-o", "remount,ro,bind"]).arg(dir));
        Mount(dir.to_path_buf())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn run(command: &mut Command) {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Debian 12 fixture in `dir`, with a fresh certificate; no server.
fn fixture_in(dir: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/debian-12");
    for f in ["main.cf", "master.cf"] {
        std::fs::copy(fixtures.join(f), dir.join(f)).unwrap();
    }
    self_signed(dir.parent().unwrap(), "fault", KeyKind::Rsa2048)
}

/// `apply --no-reload` of the fixture in `config`, to declare what it must do.
fn apply_fixture(state: &Path, config: &Path, cert: &Path, key: &Path) -> Mailtls {
    Mailtls::new(state)
        .args(["-y", "apply", "--no-reload", "--mta", "postfix", "--config"])
        .args([config])
        .arg_pair("--cert", cert)
        .arg_pair("--key", key)
}

fn one_line(stderr: &str) -> &str {
    stderr
        .lines()
        .rfind(|l| l.starts_with("mailtls: "))
        .unwrap_or_else(|| panic!("no error line in:\n{stderr}"))
}

#[test]
fn a_reload_that_fails_once_is_rolled_back_and_the_old_config_reloaded() {
    let pf = Postfix::new();
    pf.start();
    let state = pf.root.path().join("state");
    let flag = pf.root.path().join("failed-once");
    let reload = format!(
        "test -e {f} || {{ touch {f}; echo 'reload refused' >&2; exit 1; }}; postfix -c {d} reload",
        f = flag.display(),
        d = pf.config_dir.display()
    );
    let ran = Mailtls::new(&state)
        .args(["-y", "apply", "--reload-command", &reload, "--config"])
        .args([&pf.config_dir])
        .status(3)
        .unchanged(&pf.config_dir)
        .run();
    assert!(
        one_line(&ran.stderr).contains("reloading postfix failed"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("reload refused"),
        "the command's own error is shown: {}",
        ran.stderr
    );
    assert!(openssl_accepts(pf.port, "smtp", "-tls1", None));
}

#[test]
fn a_reload_that_hangs_is_killed_and_the_files_are_put_back() {
    let pf = Postfix::new();
    pf.start();
    let state = pf.root.path().join("state");
    let started = Instant::now();
    let ran = Mailtls::new(&state)
        .args([
            "-y",
            "--reload-timeout",
            "1",
            "apply",
            "--reload-command",
            "sleep 60",
            "--config",
        ])
        .args([&pf.config_dir])
        .status(3)
        .unchanged(&pf.config_dir)
        .run();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "did not wait for the hung command"
    );
    let line = one_line(&ran.stderr);
    assert!(line.contains("killed") && line.contains("reload by hand"), "{line}");
}

#[test]
fn a_server_that_stops_on_reload_is_rolled_back_and_named() {
    let pf = Postfix::new();
    pf.start();
    let state = pf.root.path().join("state");
    let stop = format!("postfix -c {} stop", pf.config_dir.display());
    let ran = Mailtls::new(&state)
        .args(["-y", "apply", "--reload-command", &stop, "--config"])
        .args([&pf.config_dir])
        .status(3)
        .unchanged(&pf.config_dir)
        .run();
    let line = one_line(&ran.stderr);
    assert!(
        line.contains("stopped after the reload") && line.contains("start it"),
        "{line}"
    );
}

#[test]
fn a_full_file_system_leaves_the_config_as_it_was() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("etc");
    let _mount = Mount::tmpfs(&config, "64k");
    let (cert, key) = fixture_in(&config);
    // Fill what is left, so the new main.cf cannot be written.
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=1k", "count=128"])
        .arg(format!("of={}/filler", config.display()))
        .output();
    // No file changed, no temporary file left.
    let ran = apply_fixture(&root.path().join("state"), &config, &cert, &key)
        .status(1)
        .unchanged(&config)
        .run();
    assert!(one_line(&ran.stderr).contains("No space left"), "{}", ran.stderr);
}

#[test]
fn a_read_only_config_directory_changes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("etc");
    let (cert, key) = fixture_in(&config);
    let originals = snapshot(&config);
    let _mount = Mount::read_only(&config);
    let ran = apply_fixture(&root.path().join("state"), &config, &cert, &key)
        .status(1)
        .run();
    assert!(
        one_line(&ran.stderr).contains("Read-only file system"),
        "{}",
        ran.stderr
    );
    assert_eq!(snapshot(&config), originals);
}

#[test]
fn a_full_state_directory_stops_before_any_config_is_touched() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("etc");
    let (cert, key) = fixture_in(&config);
    let state = root.path().join("state");
    let _mount = Mount::tmpfs(&state, "16k");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=1k", "count=64"])
        .arg(format!("of={}/filler", state.display()))
        .output();
    // No file changed, no temporary file left.
    let ran = apply_fixture(&state, &config, &cert, &key)
        .status(1)
        .unchanged(&config)
        .run();
    assert!(one_line(&ran.stderr).contains("No space left"), "{}", ran.stderr);
}

#[test]
fn a_damaged_backup_set_is_reported_and_blocks_nothing() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("etc");
    let (cert, key) = fixture_in(&config);
    let state = root.path().join("state");
    std::fs::create_dir_all(state.join("backups/20200101-000000-000")).unwrap();
    std::fs::write(state.join("backups/20200101-000000-000/manifest.json"), "{not json").unwrap();
    let history = Mailtls::new(&state).args(["--json", "history"]).status(0).run();
    assert!(history.stderr.contains("corrupt backup manifest"), "{}", history.stderr);
    assert_eq!(history.json()["unreadable"].as_array().unwrap().len(), 1);
    apply_fixture(&state, &config, &cert, &key).status(0).run();
}

#[test]
fn a_user_who_is_not_root_is_told_to_be_root() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("etc");
    let (cert, key) = fixture_in(&config);
    let originals = snapshot(&config);
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_mailtls"),
        ])
        .args(["-y", "apply", "--no-reload", "--mta", "postfix", "--config"])
        .arg(&config)
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(one_line(&stderr).contains("run it as root"), "{stderr}");
    assert_eq!(snapshot(&config), originals);
}

#[test]
fn a_symlinked_config_is_edited_where_it_lives_and_stays_a_link() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("etc");
    let (cert, key) = fixture_in(&config);
    let real = root.path().join("managed-main.cf");
    std::fs::rename(config.join("main.cf"), &real).unwrap();
    std::os::unix::fs::symlink(&real, config.join("main.cf")).unwrap();
    let before = std::fs::read(&real).unwrap();
    let state = root.path().join("state");
    apply_fixture(&state, &config, &cert, &key).status(0).run();
    assert!(std::fs::symlink_metadata(config.join("main.cf"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_ne!(std::fs::read(&real).unwrap(), before, "the target was edited");
    Mailtls::new(&state).args(["rollback"]).status(0).run();
    assert!(std::fs::symlink_metadata(config.join("main.cf"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&real).unwrap(), before);
}

#[test]
fn extended_attributes_survive_apply_and_rollback() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("etc");
    let (cert, key) = fixture_in(&config);
    let main = config.join("main.cf");
    xattr::set(&main, "user.mailtls-test", b"label").unwrap();
    let state = root.path().join("state");
    apply_fixture(&state, &config, &cert, &key).status(0).run();
    assert_eq!(
        xattr::get(&main, "user.mailtls-test").unwrap().as_deref(),
        Some(&b"label"[..])
    );
    Mailtls::new(&state).args(["rollback"]).status(0).run();
    assert_eq!(
        xattr::get(&main, "user.mailtls-test").unwrap().as_deref(),
        Some(&b"label"[..])
    );
}

#[test]
fn hostile_config_files_are_refused_with_a_line_number_and_nothing_changes() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("etc");
    let (cert, key) = fixture_in(&config);
    let main = config.join("main.cf");
    let text = std::fs::read(&main).unwrap();
    // A Latin-1 byte on line 3.
    let mut latin1 = b"# ok\n# ok\n# caf\xe9\n".to_vec();
    latin1.extend_from_slice(&text);
    std::fs::write(&main, &latin1).unwrap();
    let ran = apply_fixture(&root.path().join("state"), &config, &cert, &key)
        .status(1)
        .run();
    assert!(
        one_line(&ran.stderr).contains("main.cf:3: not valid UTF-8"),
        "{}",
        ran.stderr
    );
    assert_eq!(std::fs::read(&main).unwrap(), latin1);

    // A 20 MB file is not a config file.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&main)
        .unwrap();
    file.set_len(20 << 20).unwrap();
    let ran = apply_fixture(&root.path().join("state"), &config, &cert, &key)
        .status(1)
        .run();
    assert!(one_line(&ran.stderr).contains("too large"), "{}", ran.stderr);
}

#[test]
fn a_missing_server_binary_is_named_and_nothing_changes() {
    // Exim is only unpacked for the tests (/opt/mailtls-test), never on PATH: its checker is "missing".
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("exim.conf");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/exim-upstream/exim.conf"),
        &config,
    )
    .unwrap();
    let (cert, key) = self_signed(root.path(), "exim", KeyKind::Rsa2048);
    let before = std::fs::read(&config).unwrap();
    let ran = Mailtls::new(&root.path().join("state"))
        .args(["-y", "apply", "--no-reload", "--mta", "exim", "--config"])
        .args([&config])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .status(1)
        .run();
    assert!(one_line(&ran.stderr).contains("not found"), "{}", ran.stderr);
    assert_eq!(std::fs::read(&config).unwrap(), before);
}

#[test]
fn a_file_edited_while_mailtls_runs_is_not_overwritten() {
    let pf = Postfix::new();
    let master = pf.config_dir.join("master.cf");
    // A weak override, so that both files change: main.cf is written first, then master.cf.
    let text =
        std::fs::read_to_string(&master)
            .unwrap()
            .replacen(" smtpd\n", " smtpd\n  -o smtpd_tls_protocols=>=TLSv1\n", 1);
    std::fs::write(&master, text).unwrap();
    let originals = snapshot(&pf.config_dir);
    let state = pf.root.path().join("state");
    // An admin's edit to master.cf lands after the backup, before mailtls writes it.
    let ran = Mailtls::new(&state)
        .env("MAILTLS_TEST_RUN_AT", "wrote-file-1")
        .env(
            "MAILTLS_TEST_RUN",
            &format!("echo '# admin edit' >> {}", master.display()),
        )
        .args(["-y", "apply", "--no-reload", "--config"])
        .args([&pf.config_dir])
        .status(1)
        .run();
    assert!(
        one_line(&ran.stderr).contains("changed while mailtls was running"),
        "{}",
        ran.stderr
    );
    assert_eq!(
        snapshot(&pf.config_dir).get("main.cf"),
        originals.get("main.cf"),
        "main.cf put back"
    );
    assert!(
        std::fs::read_to_string(&master).unwrap().ends_with("# admin edit\n"),
        "the admin's edit is kept"
    );
}

/// A shell command that would touch `marker` if anything ran it as root.
fn touch(marker: &Path) -> serde_json::Value {
    serde_json::json!({ "shell": format!("touch {}", marker.display()) })
}

/// A backup set as a hostile user would plant it: interrupted, with the
/// given "regenerate" and "reload" commands (`touch`, or a shape mailtls
/// records itself).
fn planted_manifest(state: &Path, id: &str, main_cf: &Path, command: serde_json::Value) {
    let set = state.join("backups").join(id);
    std::fs::create_dir_all(&set).unwrap();
    let manifest = serde_json::json!({
        "id": id,
        "created": "2020-01-01T00:00:00Z",
        "profile": "intermediate",
        "state": "applied",
        "in_progress": true,
        "note": null,
        "services": [{
            "mta": "postfix",
            "instance": main_cf.parent().unwrap(),
            "regenerate": command,
            "reload": command,
            "listeners": []
        }],
        "files": [{
            "path": main_cf,
            "backup": "0-main.cf",
            "sha256_before": "0".repeat(64),
            "sha256_after": "1".repeat(64),
            "owner": {"mode": 0o644, "uid": 0, "gid": 0},
            "existed": true
        }]
    });
    std::fs::write(set.join("manifest.json"), manifest.to_string()).unwrap();
    std::fs::write(set.join("0-main.cf"), "# planted\n").unwrap();
}

fn chown_nobody(path: &Path) {
    run(Command::new("chown").arg("-R").arg("65534:65534").arg(path));
}

/// Issue 15, item 1: an outside review got root to run a planted command this way.
#[test]
fn a_state_directory_another_user_owns_is_refused_and_runs_nothing() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("etc");
    let (cert, key) = fixture_in(&config);
    let state = root.path().join("state");
    let marker = root.path().join("ran-as-root");
    planted_manifest(&state, "20200101-000000-000", &config.join("main.cf"), touch(&marker));
    chown_nobody(&state);
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
    let originals = snapshot(&config);
    for args in [&["history"][..], &["rollback"][..]] {
        let ran = Mailtls::new(&state).args(args).status(1).run();
        assert!(one_line(&ran.stderr).contains("owned by uid 65534"), "{}", ran.stderr);
    }
    let ran = apply_fixture(&state, &config, &cert, &key).status(1).run();
    let line = one_line(&ran.stderr);
    assert!(
        line.contains("refusing the state directory")
            && line.contains("owned by uid 65534")
            && line.contains("--state-dir"),
        "{line}"
    );
    assert!(!marker.exists(), "the planted command ran");
    assert_eq!(snapshot(&config), originals);

    // Root's own, but writable by others: refused as well.
    run(Command::new("chown").arg("-R").arg("0:0").arg(&state));
    let ran = apply_fixture(&state, &config, &cert, &key).status(1).run();
    assert!(
        one_line(&ran.stderr).contains("writable by group or others (mode 0777)"),
        "{}",
        ran.stderr
    );
    assert!(!marker.exists(), "the planted command ran");
    assert_eq!(snapshot(&config), originals);
}

#[test]
fn a_file_another_user_owns_or_a_symlink_inside_the_state_directory_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("etc");
    let (cert, key) = fixture_in(&config);
    let state = root.path().join("state");
    apply_fixture(&state, &config, &cert, &key).status(0).run();
    let set = std::fs::read_dir(state.join("backups"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let hardened = snapshot(&config);

    chown_nobody(&set.join("0-main.cf"));
    let ran = Mailtls::new(&state).args(["rollback"]).status(1).run();
    let line = one_line(&ran.stderr);
    assert!(line.contains("0-main.cf is owned by uid 65534"), "{line}");
    assert_eq!(snapshot(&config), hardened, "nothing restored from it");
    run(Command::new("chown").arg("0:0").arg(set.join("0-main.cf")));

    let manifest = set.join("manifest.json");
    std::fs::rename(&manifest, set.join("real.json")).unwrap();
    std::os::unix::fs::symlink(set.join("real.json"), &manifest).unwrap();
    let ran = Mailtls::new(&state).args(["rollback"]).status(1).run();
    let line = one_line(&ran.stderr);
    assert!(line.contains("manifest.json is a symbolic link"), "{line}");
    assert_eq!(snapshot(&config), hardened);
}

#[test]
fn a_state_directory_given_through_a_symlink_is_refused_and_its_target_keeps_its_mode() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("etc");
    let (cert, key) = fixture_in(&config);
    let real = root.path().join("real-state");
    std::fs::create_dir(&real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o755)).unwrap();
    let link = root.path().join("state");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let originals = snapshot(&config);
    let ran = apply_fixture(&link, &config, &cert, &key).status(1).run();
    let line = one_line(&ran.stderr);
    assert!(
        line.contains("is a symbolic link") && line.contains("real folder"),
        "{line}"
    );
    let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o755, "no chmod through the link");
    assert_eq!(
        std::fs::read_dir(&real).unwrap().count(),
        0,
        "nothing written through the link"
    );
    assert_eq!(snapshot(&config), originals);
}

/// Even root's own manifest is data: one that would write outside its set or
/// run a shell rebuild is left alone (and named), never acted on.
#[test]
fn a_manifest_with_a_shell_rebuild_or_a_foreign_path_is_left_alone() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("etc");
    let (cert, key) = fixture_in(&config);
    let state = root.path().join("state");
    let marker = root.path().join("ran-as-root");
    Mailtls::new(&state).args(["history"]).status(0).run();
    std::fs::create_dir_all(state.join("backups")).unwrap();
    planted_manifest(&state, "20200101-000000-000", &config.join("main.cf"), touch(&marker));
    // And one whose file is a relative path that climbs out; its commands
    // have the shape mailtls records, so only the path is wrong.
    planted_manifest(
        &state,
        "20200101-000000-001",
        Path::new("../../../etc/x/main.cf"),
        serde_json::json!({"argv": ["/bin/true"]}),
    );
    let history = Mailtls::new(&state).args(["--json", "history"]).status(0).run();
    // A rebuild is a program and its arguments by type: a shell one does not even parse.
    assert!(
        history.stderr.contains("unknown variant `shell`, expected `argv`"),
        "{}",
        history.stderr
    );
    assert!(
        history.stderr.contains("is not an absolute, plain path"),
        "{}",
        history.stderr
    );
    assert_eq!(history.json()["unreadable"].as_array().unwrap().len(), 2);
    apply_fixture(&state, &config, &cert, &key).status(0).run();
    assert!(!marker.exists(), "the planted command ran");
}

/// Issue 15, item 3: the state directory fills after main.cf is replaced,
/// before master.cf: main.cf is put back before mailtls returns.
#[test]
fn a_state_disk_that_fills_between_two_file_writes_leaves_the_old_files() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("etc");
    let (cert, key) = fixture_in(&config);
    weaken_master_cf(&config);
    let state = root.path().join("state");
    let _mount = Mount::tmpfs(&state, "256k");
    let originals = snapshot(&config);
    let fill = format!("dd if=/dev/zero of={}/filler bs=4k 2>/dev/null", state.display());
    let ran = Mailtls::new(&state)
        .env("MAILTLS_TEST_RUN_AT", "wrote-file-1")
        .env("MAILTLS_TEST_RUN", &fill)
        .args(["-y", "apply", "--no-reload", "--mta", "postfix", "--config"])
        .args([&config])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .status(1)
        .run();
    assert!(one_line(&ran.stderr).contains("No space left"), "{}", ran.stderr);
    assert_eq!(snapshot(&config), originals, "main.cf put back, master.cf untouched");

    // Once there is room again, the next apply goes through.
    std::fs::remove_file(state.join("filler")).unwrap();
    let ran = Mailtls::new(&state)
        .args(["--json", "-y", "apply", "--no-reload", "--mta", "postfix", "--config"])
        .args([&config])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .status(0)
        .run();
    assert_eq!(ran.json()["files"].as_array().unwrap().len(), 2);
}

/// A weak `-o` override on the smtp service, so that a change spans main.cf then master.cf.
fn weaken_master_cf(config: &Path) {
    let master = config.join("master.cf");
    let text = std::fs::read_to_string(&master).unwrap();
    let text = text.replacen(" smtpd\n", " smtpd\n  -o smtpd_tls_protocols=>=TLSv1\n", 1);
    std::fs::write(&master, text).unwrap();
}

/// main.cf is swapped for a symlink (to a file with the very same bytes)
/// after mailtls planned, before it writes: the write is refused, and
/// nothing is written through the link.
#[test]
fn a_config_swapped_for_a_symlink_between_plan_and_write_is_not_written_through() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("etc");
    let (cert, key) = fixture_in(&config);
    let main = config.join("main.cf");
    let elsewhere = root.path().join("elsewhere.cf");
    let before = std::fs::read(&main).unwrap();
    let swap = format!(
        "cp {main} {elsewhere} && ln -s {elsewhere} {main}.link && mv -T {main}.link {main}",
        main = main.display(),
        elsewhere = elsewhere.display()
    );
    let ran = Mailtls::new(&root.path().join("state"))
        .env("MAILTLS_TEST_RUN_AT", "backed-up")
        .env("MAILTLS_TEST_RUN", &swap)
        .args(["-y", "apply", "--no-reload", "--mta", "postfix", "--config"])
        .args([&config])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .status(1)
        .run();
    assert!(
        one_line(&ran.stderr).contains("now leads to another file"),
        "{}",
        ran.stderr
    );
    assert_eq!(
        std::fs::read(&elsewhere).unwrap(),
        before,
        "nothing written through the link"
    );
    assert_eq!(
        std::fs::read_link(&main).unwrap(),
        elsewhere,
        "the link is left as it is"
    );
}

/// Issue 15, item 8: the lock is per server instance too, so two runs with
/// different state directories cannot change one server at once.
#[test]
fn two_runs_with_different_state_directories_cannot_race_on_one_server() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("etc");
    let (cert, key) = fixture_in(&config);
    let (ready, go) = (root.path().join("ready"), root.path().join("go"));
    // The first run holds still after its backup until the second has tried.
    let hold = format!(
        "touch {}; while [ ! -e {} ]; do sleep 0.05; done",
        ready.display(),
        go.display()
    );
    let first = {
        let (config, cert, key, state) = (config.clone(), cert.clone(), key.clone(), root.path().join("state-1"));
        std::thread::spawn(move || {
            Mailtls::new(&state)
                .env("MAILTLS_TEST_RUN_AT", "backed-up")
                .env("MAILTLS_TEST_RUN", &hold)
                .args(["-y", "apply", "--no-reload", "--mta", "postfix", "--config"])
                .args([&config])
                .arg_pair("--cert", &cert)
                .arg_pair("--key", &key)
                .run()
        })
    };
    let started = Instant::now();
    while !ready.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first run never got to its backup"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let originals = snapshot(&config);
    let second = apply_fixture(&root.path().join("state-2"), &config, &cert, &key)
        .status(1)
        .run();
    let line = one_line(&second.stderr);
    assert!(
        line.contains("another mailtls is changing") && line.contains(&config.display().to_string()),
        "{line}"
    );
    assert_eq!(snapshot(&config), originals, "the second run wrote nothing");
    std::fs::write(&go, "").unwrap();
    first.join().unwrap().code(0);
    assert_ne!(snapshot(&config), originals, "the first run finished its change");
}

/// Issue 15, item 2: an admin fixes main.cf by hand after a run was killed;
/// the next apply keeps the edit (exit 1, with the diff) instead of
/// "undoing" it, and `rollback --force` is what puts the backup back.
#[test]
fn recovery_keeps_an_admin_edit_made_after_a_crash() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("etc");
    let (cert, key) = fixture_in(&config);
    let state = root.path().join("state");
    let originals = snapshot(&config);
    let killed = Mailtls::new(&state)
        .env("MAILTLS_TEST_CRASH_AT", "wrote-file-1")
        .args(["-y", "apply", "--no-reload", "--mta", "postfix", "--config"])
        .args([&config])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .run();
    assert_eq!(killed.code, -1, "killed\n{}", killed.stderr);
    let main = config.join("main.cf");
    let mut edited = std::fs::read_to_string(&main).unwrap();
    edited.push_str("# fixed by hand\n");
    std::fs::write(&main, &edited).unwrap();

    let next = apply_fixture(&state, &config, &cert, &key).status(1).run();
    let line = one_line(&next.stderr);
    assert!(
        line.contains("changed since mailtls wrote it") && line.contains("rollback --force"),
        "{line}"
    );
    assert!(
        next.stdout.contains("+# fixed by hand") || next.stderr.contains("+# fixed by hand"),
        "the diff is shown"
    );
    assert_eq!(std::fs::read_to_string(&main).unwrap(), edited, "the edit is kept");
    let history = Mailtls::new(&state).args(["--json", "history"]).status(0).run().json();
    assert_eq!(history["sets"][0]["interrupted"], true, "the set stays interrupted");
    // The same for rollback without --force.
    Mailtls::new(&state).args(["rollback"]).status(1).run();
    assert_eq!(std::fs::read_to_string(&main).unwrap(), edited);

    Mailtls::new(&state).args(["rollback", "--force"]).status(0).run();
    assert_eq!(snapshot(&config), originals);
}
