//! One builder for running the mailtls binary in tests (just's `Test`):
//! `Mailtls::new(&state).args([...]).run().code(2).json()`. Stdin is
//! always null, as in CI and under config management.

use std::path::Path;
use std::process::{Command, Stdio};

pub struct Mailtls {
    command: Command,
    shown: String,
}

/// What a run printed and how it ended.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    shown: String,
}

impl Mailtls {
    /// mailtls with `--state-dir state` and no terminal.
    pub fn new(state: &Path) -> Mailtls {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mailtls"));
        command
            .arg("--state-dir")
            .arg(state)
            .stdin(Stdio::null())
            .env("NO_COLOR", "1");
        Mailtls {
            command,
            shown: String::from("mailtls"),
        }
    }

    pub fn args<I, S>(mut self, args: I) -> Mailtls
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        for a in args {
            self.shown.push(' ');
            self.shown.push_str(&a.as_ref().to_string_lossy());
            self.command.arg(a);
        }
        self
    }

    /// Sets an environment variable for the run (PATH, to find a sandboxed server's tools).
    pub fn env(mut self, name: &str, value: &str) -> Mailtls {
        self.command.env(name, value);
        self
    }

    /// An option and a path value.
    pub fn arg_pair(self, option: &str, value: &Path) -> Mailtls {
        self.args([std::ffi::OsStr::new(option), value.as_os_str()])
    }

    pub fn run(mut self) -> Ran {
        let out = self.command.output().expect("mailtls runs");
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            shown: self.shown,
        }
    }
}

impl Ran {
    /// Asserts the exit code, showing everything the run printed when it differs.
    pub fn code(self, expected: i32) -> Ran {
        assert_eq!(
            self.code, expected,
            "`{}` exited {} (expected {expected})\n--- stdout\n{}\n--- stderr\n{}",
            self.shown, self.code, self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "`{}` printed no JSON ({e}):\n{}\n{}",
                self.shown, self.stdout, self.stderr
            )
        })
    }
}

/// A snapshot of a directory's regular files: name -> bytes.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// Idempotence, as config management needs it: `plan` finds nothing to do,
/// and a second `apply` says `"changed": false` and leaves `watched` (a file,
/// or every file of a directory) as it was, byte for byte.
pub fn assert_idempotent(mailtls: impl Fn() -> Mailtls, config: &Path, watched: &Path) {
    // A daemon's own log (Dovecot's in its test folder) may still gain lines
    // from connections the test made before: it is not config, so it is left out.
    let contents = || {
        if watched.is_dir() {
            let mut files = snapshot(watched);
            files.retain(|name, _| !name.ends_with(".log"));
            files
        } else {
            [(watched.display().to_string(), std::fs::read(watched).unwrap())].into()
        }
    };
    let hardened = contents();
    mailtls().args(["plan", "--config"]).args([config]).run().code(0);
    let again = mailtls()
        .args(["--json", "-y", "apply", "--config"])
        .args([config])
        .run()
        .code(0)
        .json();
    assert_eq!(again["changed"], false, "{again}");
    assert!(contents() == hardened, "a second apply changed {}", watched.display());
}
