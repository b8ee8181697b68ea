//! How a server is made to read its new config (`Reload`), and how a config
//! it reads is rebuilt from edited sources (`Regenerate`): commands run
//! without a shell and under a time limit, or SIGHUP to a daemon's pid.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::vocabulary::MtaKind;

/// How to make the server read its new config. Argv lists never pass
/// through a shell; `Shell` is only the user's own `--reload-command`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reload {
    Argv(Vec<String>),
    Shell(String),
    /// SIGHUP to the pid in this file (Exim re-execs itself under the same pid;
    /// Sendmail re-execs and forks, writing its new pid there).
    Hup {
        pid_file: PathBuf,
    },
    /// The server's own backend reloads it in place (Cyrus: SIGHUP to the
    /// master found running with this imapd.conf), through `mta::reload`.
    Backend {
        mta: MtaKind,
        config: PathBuf,
    },
}

impl Reload {
    /// Runs the reload (`Backend` ones run through `mta::reload`). Its stderr
    /// goes to a temporary file, not a pipe: a daemon the command starts would
    /// inherit a pipe and keep it open forever.
    pub fn run(&self) -> Result<()> {
        let (program, mut command) = match self {
            Reload::Hup { pid_file } => return hup(pid_file),
            // Only the backend knows how: `mta::reload` runs it.
            Reload::Backend { mta, config } => {
                return Err(Error::Command {
                    program: format!("{mta} reload of {}", config.display()),
                    status: "not run".into(),
                    stderr: "a backend's own reload runs through mta::reload".into(),
                })
            }
            Reload::Argv(argv) => {
                let mut c = Command::new(&argv[0]);
                c.args(&argv[1..]);
                (argv.join(" "), c)
            }
            Reload::Shell(cmd) => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c").arg(cmd);
                (cmd.clone(), c)
            }
        };
        let fail = |status: String, stderr: String| Error::Command {
            program: program.clone(),
            status,
            stderr,
        };
        let mut stderr = tempfile::tempfile().map_err(|e| fail("could not start".into(), e.to_string()))?;
        let mut child = command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(
                stderr
                    .try_clone()
                    .map_err(|e| fail("could not start".into(), e.to_string()))?,
            )
            .process_group(0)
            .spawn()
            .map_err(|e| fail("could not start".into(), e.to_string()))?;
        let limit = reload_timeout();
        // None: a limit too far to compute (the command line bounds it) never expires.
        let deadline = std::time::Instant::now().checked_add(limit);
        let status = loop {
            match child
                .try_wait()
                .map_err(|e| fail("could not wait".into(), e.to_string()))?
            {
                Some(status) => break status,
                None if deadline.is_some_and(|d| std::time::Instant::now() >= d) => {
                    // The whole process group: a shell's children too.
                    let group = nix::unistd::Pid::from_raw(child.id() as i32);
                    let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
                    let _ = child.wait();
                    return Err(fail(
                        format!("still running after {} s, killed", limit.as_secs()),
                        "the reload hung (see --reload-timeout)".into(),
                    ));
                }
                None => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        };
        if !status.success() {
            let mut text = Vec::new();
            use std::io::{Read, Seek};
            let _ = stderr
                .seek(std::io::SeekFrom::Start(0))
                .and_then(|_| stderr.read_to_end(&mut text));
            return Err(fail(status.to_string(), last_line(&text)));
        }
        Ok(())
    }
}

static RELOAD_TIMEOUT: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();

/// How long a reload command may run (`--reload-timeout`, set once at start).
pub fn set_reload_timeout(limit: std::time::Duration) {
    let _ = RELOAD_TIMEOUT.set(limit);
}

fn reload_timeout() -> std::time::Duration {
    *RELOAD_TIMEOUT.get().unwrap_or(&std::time::Duration::from_secs(120))
}

/// A command that rebuilds the file a server reads from the sources mailtls
/// edits (Debian's `update-exim4.conf`), run after writing and after
/// restoring. It is not a reload: the server is reloaded after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Regenerate {
    Argv(Vec<String>),
}

impl Regenerate {
    pub fn run(&self) -> Result<()> {
        let Regenerate::Argv(argv) = self;
        Reload::Argv(argv.clone()).run()
    }
}

/// Whether the process whose pid a pid file holds is alive (signal 0).
pub fn pid_alive(pid_file: &Path) -> bool {
    read_pid(pid_file).is_ok_and(|pid| {
        matches!(
            nix::sys::signal::kill(pid, None),
            Ok(()) | Err(nix::errno::Errno::EPERM)
        )
    })
}

fn read_pid(pid_file: &Path) -> Result<nix::unistd::Pid> {
    let text = std::fs::read_to_string(pid_file).map_err(Error::io(pid_file, "cannot read the pid file"))?;
    match text.split_whitespace().next().and_then(|w| w.parse::<i32>().ok()) {
        Some(pid) if pid > 1 => Ok(nix::unistd::Pid::from_raw(pid)),
        _ => Err(Error::Config(format!(
            "{}: no process id in the pid file",
            pid_file.display()
        ))),
    }
}

/// Sends SIGHUP to the daemon in `pid_file`, then waits (up to 10 s) until
/// it listens again. Exim re-execs under the same pid, so what shows the
/// restart is a rewritten pid file or, when it may not rewrite it (Exim
/// after `-C` runs unprivileged), new socket inodes in /proc/PID/fd.
/// Sendmail started with `-bd` re-execs and forks again: the old pid exits
/// and the pid file names the new one.
fn hup(pid_file: &Path) -> Result<()> {
    let pid = read_pid(pid_file)?;
    let program = format!("kill -HUP {pid} (from {})", pid_file.display());
    let written = || {
        let modified = std::fs::metadata(pid_file).and_then(|m| m.modified()).ok();
        (modified, std::fs::read_to_string(pid_file).ok())
    };
    let sockets = || -> Vec<String> {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|dir| {
                dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                    .map(|l| l.to_string_lossy().into_owned())
                    .filter(|l| l.starts_with("socket:"))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (written_before, sockets_before) = (written(), sockets());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).map_err(|e| Error::Command {
        program: program.clone(),
        status: "failed".into(),
        stderr: e.desc().to_string(),
    })?;
    let start = std::time::Instant::now();
    let mut gone_since: Option<std::time::Instant> = None;
    while start.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let rewritten = written() != written_before;
        let alive = nix::sys::signal::kill(pid, None).is_ok();
        if rewritten && (alive || pid_alive(pid_file)) || alive && sockets().iter().any(|s| !sockets_before.contains(s))
        {
            // The listening sockets are open; give accept() a moment to be reached.
            std::thread::sleep(std::time::Duration::from_millis(100));
            return Ok(());
        }
        if !alive {
            // A forking daemon's new process may take a moment to write its pid file.
            let since = *gone_since.get_or_insert_with(std::time::Instant::now);
            if since.elapsed() > std::time::Duration::from_secs(3) {
                return Err(Error::Command {
                    program,
                    status: "daemon gone".into(),
                    stderr: "the daemon exited after SIGHUP; its log says why".into(),
                });
            }
        }
    }
    Err(Error::Command {
        program,
        status: "no restart".into(),
        stderr: "the daemon showed no sign of restarting within 10 s".into(),
    })
}

pub(crate) fn last_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}
