//! The Debian package as an admin gets it: `scripts/build-deb` builds it
//! (a dev-profile build without the test hooks: the one scripts/test makes
//! beside the test build, else its own in a target folder of its own; the
//! binary cargo test built has them, and a release build took 20 minutes on
//! the shared 2-core machine), `dpkg -i` installs it on this machine, and
//! the installed files work: `/usr/bin/mailtls profiles`, `man mailtls`,
//! the bash completion; `dpkg -r` then leaves none of its files. The RPM
//! built from the same files is checked with `rpm -qlp`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn checked(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes the package if the test stops after installing it.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["-r", "mailtls"]).output();
    }
}

/// The one file in `dir` whose name ends with `suffix`.
fn built(dir: &Path, suffix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    assert_eq!(found.len(), 1, "one {suffix} in {}: {found:?}", dir.display());
    found.into_iter().next().unwrap()
}

#[test]
fn the_deb_installs_works_and_removes_cleanly_and_the_rpm_lists_the_same_tools() {
    let status = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", "mailtls"])
        .output()
        .unwrap();
    assert!(
        !stdout(&status).contains(" installed"),
        "a mailtls package is already installed on this machine; this test installs and removes its own"
    );
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("package");
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(&out_dir).unwrap();
    // The binary cargo test built has the test hooks build-deb refuses.
    // scripts/test builds one without them into the usual target folder
    // first and names where it kept it; run alone, this builds its own in a
    // target folder of its own (cargo test may still hold the usual one's lock).
    let mut build_deb = Command::new(manifest_dir().join("scripts/build-deb"));
    build_deb.args(["--profile", "dev", "--rpm", "--fast", "--quiet"]);
    match std::env::var_os("MAILTLS_HOOKLESS_TARGET").map(PathBuf::from) {
        Some(hookless) if hookless.join("debug/mailtls").is_file() => {
            build_deb.arg("--no-build").env("CARGO_TARGET_DIR", hookless);
        }
        _ => {
            build_deb.env(
                "CARGO_TARGET_DIR",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("package-target"),
            );
        }
    }
    checked(build_deb.arg("--output").arg(&out_dir).current_dir(manifest_dir()));
    let deb = built(&out_dir, ".deb");

    let info = stdout(&checked(Command::new("dpkg-deb").arg("-f").arg(&deb).arg("Maintainer")));
    assert!(!info.contains("example.org"), "a real maintainer: {info}");

    checked(Command::new("dpkg").arg("-i").arg(&deb));
    let installed = Installed;
    let files: Vec<PathBuf> = stdout(&checked(Command::new("dpkg").args(["-L", "mailtls"])))
        .lines()
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .collect();

    let profiles = stdout(&checked(Command::new("/usr/bin/mailtls").arg("profiles")));
    let expected = stdout(&checked(Command::new(env!("CARGO_BIN_EXE_mailtls")).arg("profiles")));
    assert!(profiles.contains("intermediate"), "{profiles}");
    assert_eq!(
        profiles, expected,
        "the installed binary lists the profiles this build has"
    );
    let hooks = Command::new("grep")
        .args(["-q", "MAILTLS_TEST_", "/usr/bin/mailtls"])
        .status()
        .unwrap();
    assert_eq!(hooks.code(), Some(1), "the packaged binary has no test hooks");
    for line in profiles.lines() {
        let name = line.split_whitespace().next().unwrap();
        assert!(
            Path::new("/usr/share/mailtls/profiles")
                .join(format!("{name}.toml"))
                .is_file(),
            "profile {name} is installed as a file too"
        );
    }

    let man = checked(
        Command::new("man")
            .args(["-P", "cat", "mailtls"])
            .env("MANWIDTH", "80")
            .env_remove("MANPATH"),
    );
    let page = stdout(&man);
    assert!(page.contains("NAME") && page.contains("mailtls"), "{page}");
    assert!(page.contains("probe"), "the page lists the subcommands: {page}");

    let completion = checked(Command::new("bash").args([
        "-c",
        "source /usr/share/bash-completion/completions/mailtls && complete -p mailtls",
    ]));
    assert!(stdout(&completion).contains("mailtls"), "{}", stdout(&completion));

    let ansible = files
        .iter()
        .find(|p| p.to_string_lossy().ends_with(".tar.gz") && p.starts_with("/usr/share/mailtls/ansible"));
    assert!(ansible.is_some(), "the Ansible collection is shipped: {files:?}");

    checked(Command::new("dpkg").args(["-r", "mailtls"]));
    std::mem::forget(installed);
    let left: Vec<&PathBuf> = files.iter().filter(|p| p.exists()).collect();
    assert!(left.is_empty(), "dpkg -r left {left:?}");
    let status = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", "mailtls"])
        .output()
        .unwrap();
    assert!(!stdout(&status).contains(" installed"), "{}", stdout(&status));

    // The RPM carries the same files; the zsh completion goes where Fedora
    // looks, and the license is RPM's License tag, not Debian's copyright file.
    let rpm = built(&manifest_dir().join("target/generate-rpm"), ".rpm");
    let rpm_files: BTreeSet<String> = stdout(&checked(Command::new("rpm").arg("-qlp").arg(&rpm)))
        .lines()
        .map(str::to_string)
        .collect();
    let deb_files: BTreeSet<String> = files
        .iter()
        .filter(|p| !p.ends_with("doc/mailtls/copyright"))
        .map(|p| {
            p.display()
                .to_string()
                .replace("zsh/vendor-completions", "zsh/site-functions")
        })
        .collect();
    assert_eq!(rpm_files, deb_files, "{}", rpm.display());
}
