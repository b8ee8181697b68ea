//! Mail server backends. Each one finds its server, reads its config, turns a
//! profile into a `Plan`, validates staged files with the server's own
//! checker and says how to reload. Backends compute; `apply` writes.

pub(crate) mod backend;
pub mod dovecot;
pub mod exim;
pub mod opensmtpd;
pub mod postfix;
pub mod sendmail;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::profile::Profile;

pub(crate) use backend::{detect_all, open, open_all, plan_all, Instance, BACKENDS};

/// The mail servers mailtls knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MtaKind {
    Postfix,
    Dovecot,
    Exim,
    Sendmail,
    Opensmtpd,
}

impl MtaKind {
    pub fn name(self) -> &'static str {
        match self {
            MtaKind::Postfix => "postfix",
            MtaKind::Dovecot => "dovecot",
            MtaKind::Exim => "exim",
            MtaKind::Sendmail => "sendmail",
            MtaKind::Opensmtpd => "opensmtpd",
        }
    }
}

/// How a listener starts TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListenerTls {
    /// Plaintext first, then STARTTLS (SMTP on 25/587, IMAP 143, POP3 110).
    Starttls,
    /// TLS from the first byte (465, 993, 995).
    Implicit,
    /// No TLS at all.
    None,
}

/// A network listener a server declares, and what it speaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    /// The service as the config names it (`smtp`, `submission`, `127.0.0.1:2525`).
    pub service: String,
    /// `smtp`, `imap` or `pop3`.
    pub protocol: String,
    /// Where a local probe reaches it.
    pub host: String,
    pub port: u16,
    pub tls: ListenerTls,
}

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
}

impl Reload {
    /// Runs the reload. Its stderr goes to a temporary file, not a pipe: a
    /// daemon the command starts would inherit a pipe and keep it open forever.
    pub fn run(&self) -> Result<()> {
        let (program, mut command) = match self {
            Reload::Hup { pid_file } => return hup(pid_file),
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
        let deadline = std::time::Instant::now() + limit;
        let status = loop {
            match child
                .try_wait()
                .map_err(|e| fail("could not wait".into(), e.to_string()))?
            {
                Some(status) => break status,
                None if std::time::Instant::now() >= deadline => {
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

/// What the user asked for, resolved.
#[derive(Clone, Debug)]
pub struct Request {
    pub profile: Profile,
    /// A new certificate and key (`--cert`/`--key`), or keep the current ones.
    pub cert: Option<(PathBuf, PathBuf)>,
    pub reload_command: Option<String>,
}

/// What `detect` found of one server.
#[derive(Clone, Debug, Serialize)]
pub struct Detected {
    pub mta: MtaKind,
    pub version: Option<String>,
    pub tls_library: Option<String>,
    /// The config directory or file of this instance.
    pub config: PathBuf,
    pub config_files: Vec<PathBuf>,
    pub listeners: Vec<Listener>,
    /// The TLS settings in effect, name and value.
    pub tls_settings: Vec<(String, String)>,
    /// What is weak about them today.
    pub weaknesses: Vec<String>,
}

/// No real mail server config comes near this; a bigger file is a mistake or an attack.
const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Reads a config file as text; a file that is not UTF-8 is a parse error at its first bad line.
pub fn read_text(path: &Path) -> Result<String> {
    let size = std::fs::metadata(path).map_err(Error::io(path, "cannot read"))?.len();
    if size > MAX_CONFIG_BYTES {
        return Err(Error::Config(format!(
            "{}: {size} bytes is too large for a config file (the limit is {MAX_CONFIG_BYTES}); is it the right file?",
            path.display()
        )));
    }
    let bytes = std::fs::read(path).map_err(Error::io(path, "cannot read"))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        Error::Parse {
            path: path.to_path_buf(),
            line: 1 + valid.iter().filter(|b| **b == b'\n').count(),
            message: "not valid UTF-8 text".into(),
        }
    })
}

/// How a service is reloaded: the user's `--reload-command`; for the host's
/// default instance, systemd when it runs (`systemctl reload UNIT`); else the
/// server's own command (`own`).
pub fn service_reload(request: &Request, default_instance: bool, unit: &str, own: Vec<String>) -> Reload {
    if let Some(cmd) = &request.reload_command {
        return Reload::Shell(cmd.clone());
    }
    if default_instance && Path::new("/run/systemd/system").is_dir() {
        return Reload::Argv(vec!["systemctl".into(), "reload".into(), unit.into()]);
    }
    Reload::Argv(own)
}

/// A path from the command line (`--cert`, `--key`), made absolute and
/// refused when it holds white space, a control character or one of the
/// characters the config format would read as syntax (`special`).
pub fn path_value(option: &str, path: &Path, config: &str, special: &[char]) -> Result<PathBuf> {
    checked_path(option, path, config, |c| c.is_whitespace() || special.contains(&c))
}

/// The same for a format that quotes the value, where white space is fine.
pub(crate) fn quoted_path_value(option: &str, path: &Path, config: &str, special: &[char]) -> Result<PathBuf> {
    checked_path(option, path, config, |c| special.contains(&c))
}

fn checked_path(option: &str, path: &Path, config: &str, refused: impl Fn(char) -> bool) -> Result<PathBuf> {
    let text = path
        .to_str()
        .ok_or_else(|| Error::Usage(format!("{option}: the path is not UTF-8")))?;
    crate::edit::check_one_line(option, text).map_err(Error::Usage)?;
    if let Some(c) = text.chars().find(|c| refused(*c)) {
        return Err(Error::Usage(format!(
            "{option}: the path {text:?} contains {c:?}, which {config} would misread; use a path without it"
        )));
    }
    std::path::absolute(path).map_err(Error::io(path, "cannot resolve the path"))
}

/// Checks the certificate a plan leaves configured (see `cert::check_pair`);
/// its warnings join the plan's, and its sha256 is what verification expects
/// the server to serve. A problem with the current certificate says how to replace it.
pub fn check_certificate(request: &Request, cert: &Path, key: &Path, warnings: &mut Vec<String>) -> Result<String> {
    let now = time::OffsetDateTime::now_utc();
    let info = crate::cert::check_pair(cert, key, &request.profile.certificate, now).map_err(|e| {
        match (&request.cert, e) {
            (None, Error::Certificate { path, message }) => Error::Certificate {
                path,
                message: format!("{message} (give a certificate with --cert and --key)"),
            },
            (_, e) => e,
        }
    })?;
    warnings.extend(info.warnings.iter().map(|w| format!("{}: {w}", cert.display())));
    Ok(info.sha256)
}

/// What `detect` says of a configured certificate: its warnings, or why it is unusable.
pub fn certificate_weaknesses(cert: &Path, key: &Path, policy: &crate::profile::CertificatePolicy) -> Vec<String> {
    match crate::cert::check_pair(cert, key, policy, time::OffsetDateTime::now_utc()) {
        Ok(info) => info.warnings,
        Err(e) => vec![e.to_string()],
    }
}

/// The values in effect, defaults included, as the server's own tool prints
/// them (`postconf -c DIR NAME...`, `doveconf -c FILE NAME...`: `name = value`
/// lines). Empty when the tool fails: callers fall back to the file's text.
pub fn effective_values(program: &Path, config: &Path, names: &[&str]) -> std::collections::HashMap<String, String> {
    let config = config.to_string_lossy();
    let mut args = vec!["-c", config.as_ref()];
    args.extend(names);
    let Ok(text) = run_program(program, &args) else {
        return Default::default();
    };
    text.lines()
        .filter_map(|l| l.split_once(" = ").or_else(|| l.strip_suffix(" =").map(|n| (n, ""))))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// A program's path for an argv: where it was found, or its bare name.
pub fn program_path(name: &str) -> String {
    find_program(name)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| name.into())
}

/// Finds a program on PATH or in the sbin directories root's PATH has.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Runs a program (never through a shell) and returns its stdout, or an
/// error that carries the last line of its stderr.
pub fn run_program(program: &Path, args: &[&str]) -> Result<String> {
    let display = format!("{} {}", program.display(), args.join(" "));
    let output = Command::new(program).args(args).output().map_err(|e| Error::Command {
        program: display.clone(),
        status: "could not start".into(),
        stderr: e.to_string(),
    })?;
    if !output.status.success() {
        return Err(Error::Command {
            program: display,
            status: output.status.to_string(),
            stderr: last_line(&output.stderr),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
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

fn last_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}
