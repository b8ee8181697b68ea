//! One builder for running the mailtls binary in tests, after just's `Test`:
//! what the run must show is declared before `.run()`, which checks all of it
//! and shows the command and everything it printed when something differs.
//!
//! ```ignore
//! Mailtls::new(&state)
//!     .args(["--json", "plan", "--config"])
//!     .args([&config])
//!     .status(2)
//!     .stderr_has("warning: ")
//!     .json_is("/changed", true)
//!     .unchanged(&config)
//!     .run();
//! ```
//!
//! Stdin is always null, as in CI and under config management. A run with
//! no declared `status` checks none (for a run killed on purpose); the exit
//! code is in the returned `Ran`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Mailtls {
    command: Command,
    shown: String,
    status: Option<i32>,
    stdout_has: Vec<String>,
    stderr_has: Vec<String>,
    json_is: Vec<(String, serde_json::Value)>,
    unchanged: Vec<PathBuf>,
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
            status: None,
            stdout_has: Vec::new(),
            stderr_has: Vec::new(),
            json_is: Vec::new(),
            unchanged: Vec::new(),
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

    /// The exit code the run must end with.
    pub fn status(mut self, code: i32) -> Mailtls {
        self.status = Some(code);
        self
    }

    /// Text stdout must contain.
    pub fn stdout_has(mut self, text: impl Into<String>) -> Mailtls {
        self.stdout_has.push(text.into());
        self
    }

    /// Text stderr must contain.
    pub fn stderr_has(mut self, text: impl Into<String>) -> Mailtls {
        self.stderr_has.push(text.into());
        self
    }

    /// stdout must be JSON whose value at the JSON pointer `pointer`
    /// (`/targets/0/compliant`) equals `value`.
    pub fn json_is(mut self, pointer: &str, value: impl Into<serde_json::Value>) -> Mailtls {
        self.json_is.push((pointer.to_string(), value.into()));
        self
    }

    /// `path` (a file, or every regular file of a folder) must be byte for
    /// byte the same after the run as before it.
    pub fn unchanged(mut self, path: &Path) -> Mailtls {
        self.unchanged.push(path.to_path_buf());
        self
    }

    /// Runs mailtls and checks every expectation declared.
    pub fn run(mut self) -> Ran {
        let before: Vec<_> = self.unchanged.iter().map(|p| contents(p)).collect();
        let out = self.command.output().expect("mailtls runs");
        let ran = Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            shown: self.shown,
        };
        if let Some(code) = self.status {
            ran.check(ran.code == code, &format!("exited {} (expected {code})", ran.code));
        }
        for text in &self.stdout_has {
            ran.check(ran.stdout.contains(text.as_str()), &format!("stdout lacks {text:?}"));
        }
        for text in &self.stderr_has {
            ran.check(ran.stderr.contains(text.as_str()), &format!("stderr lacks {text:?}"));
        }
        if !self.json_is.is_empty() {
            let json = ran.json();
            for (pointer, value) in &self.json_is {
                let got = json.pointer(pointer);
                ran.check(got == Some(value), &format!("{pointer} is {got:?}, expected {value}"));
            }
        }
        for (path, before) in self.unchanged.iter().zip(before) {
            ran.check(contents(path) == before, &format!("{} changed", path.display()));
        }
        ran
    }
}

impl Ran {
    /// Panics with `what`, the command and everything it printed unless `ok`.
    fn check(&self, ok: bool, what: &str) {
        assert!(
            ok,
            "`{}`: {what}\n--- stdout\n{}\n--- stderr\n{}",
            self.shown, self.stdout, self.stderr
        );
    }

    /// Asserts the exit code after the run; `Mailtls::status` declares it
    /// before, which is the way new tests say it.
    pub fn code(self, expected: i32) -> Ran {
        self.check(
            self.code == expected,
            &format!("exited {} (expected {expected})", self.code),
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

/// A file's bytes, or a folder's regular files (name -> bytes).
fn contents(path: &Path) -> BTreeMap<String, Vec<u8>> {
    if path.is_dir() {
        snapshot(path)
    } else {
        [(String::new(), std::fs::read(path).unwrap_or_default())].into()
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
    mailtls().args(["plan", "--config"]).args([config]).status(0).run();
    let again = mailtls()
        .args(["--json", "-y", "apply", "--config"])
        .args([config])
        .status(0)
        .run()
        .json();
    assert_eq!(again["changed"], false, "{again}");
    assert!(contents() == hardened, "a second apply changed {}", watched.display());
}
