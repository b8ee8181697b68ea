//! Mail server backends. Each one finds its server, reads its config, turns a
//! profile into a `Plan`, validates staged files with the server's own
//! checker and says how to reload. Backends compute; `apply` writes.

mod crypto_policies;
pub mod cyrus;
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
use crate::plan::Plan;
use crate::profile::Profile;

/// The mail servers mailtls knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MtaKind {
    Postfix,
    Dovecot,
    Exim,
    Sendmail,
    Opensmtpd,
    Cyrus,
}

impl MtaKind {
    pub fn name(self) -> &'static str {
        match self {
            MtaKind::Postfix => "postfix",
            MtaKind::Dovecot => "dovecot",
            MtaKind::Exim => "exim",
            MtaKind::Sendmail => "sendmail",
            MtaKind::Opensmtpd => "opensmtpd",
            MtaKind::Cyrus => "cyrus",
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
    /// SIGHUP to the Cyrus master running with this imapd.conf, which reloads in place (same pid and sockets).
    CyrusHup {
        config: PathBuf,
    },
}

impl Reload {
    /// Runs the reload. Its stderr goes to a temporary file, not a pipe: a
    /// daemon the command starts would inherit a pipe and keep it open forever.
    pub fn run(&self) -> Result<()> {
        let (program, mut command) = match self {
            Reload::Hup { pid_file } => return hup(pid_file),
            Reload::CyrusHup { config } => return cyrus::master::reload(config),
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

/// A selected server instance, ready to plan and validate.
pub enum Server {
    Postfix(postfix::Postfix),
    Dovecot(dovecot::Dovecot),
    Exim(exim::Exim),
    Sendmail(sendmail::Sendmail),
    Opensmtpd(opensmtpd::Opensmtpd),
    Cyrus(cyrus::Cyrus),
}

impl Server {
    /// Finds the server to work on: the one named by `--mta`, or the one installed.
    pub fn open(kind: Option<MtaKind>, config: Option<&Path>) -> Result<Server> {
        match kind {
            Some(MtaKind::Postfix) => Ok(Server::Postfix(postfix::Postfix::open(config)?)),
            Some(MtaKind::Dovecot) => Ok(Server::Dovecot(dovecot::Dovecot::open(config)?)),
            Some(MtaKind::Exim) => Ok(Server::Exim(exim::Exim::open(config)?)),
            Some(MtaKind::Sendmail) => Ok(Server::Sendmail(sendmail::Sendmail::open(config)?)),
            Some(MtaKind::Opensmtpd) => Ok(Server::Opensmtpd(opensmtpd::Opensmtpd::open(config)?)),
            Some(MtaKind::Cyrus) => Ok(Server::Cyrus(cyrus::Cyrus::open(config)?)),
            None => match config {
                Some(c) if c.join("main.cf").is_file() => Ok(Server::Postfix(postfix::Postfix::open(config)?)),
                Some(c) if c.join("dovecot.conf").is_file() || c.file_name().is_some_and(|n| n == "dovecot.conf") => {
                    Ok(Server::Dovecot(dovecot::Dovecot::open(config)?))
                }
                Some(c) if cyrus::Cyrus::recognizes(c) => Ok(Server::Cyrus(cyrus::Cyrus::open(config)?)),
                Some(c) if sendmail::Sendmail::recognizes(c) => Ok(Server::Sendmail(sendmail::Sendmail::open(config)?)),
                Some(c) if opensmtpd::Opensmtpd::recognizes(c) => {
                    Ok(Server::Opensmtpd(opensmtpd::Opensmtpd::open(config)?))
                }
                Some(c) if exim::Exim::recognizes(c) => Ok(Server::Exim(exim::Exim::open(config)?)),
                Some(c) => Err(Error::Usage(format!(
                    "cannot tell which mail server {} configures; name it with --mta",
                    c.display()
                ))),
                None => Server::open_all(None, &[]).map(|mut all| all.remove(0)),
            },
        }
    }

    /// Every server a run covers: one per `--config` (of the `--mta` kind, or
    /// recognised from the path), or the `--mta` kind's default instance, or,
    /// with neither, every supported server installed on this host.
    pub fn open_all(kind: Option<MtaKind>, configs: &[PathBuf]) -> Result<Vec<Server>> {
        if !configs.is_empty() {
            return configs.iter().map(|c| Server::open(kind, Some(c))).collect();
        }
        if kind.is_some() {
            return Ok(vec![Server::open(kind, None)?]);
        }
        let mut servers = Vec::new();
        if postfix::Postfix::installed() {
            servers.push(Server::Postfix(postfix::Postfix::open(None)?));
        }
        if exim::Exim::installed() {
            servers.push(Server::Exim(exim::Exim::open(None)?));
        }
        if sendmail::Sendmail::installed() {
            servers.push(Server::Sendmail(sendmail::Sendmail::open(None)?));
        }
        if opensmtpd::Opensmtpd::installed() {
            servers.push(Server::Opensmtpd(opensmtpd::Opensmtpd::open(None)?));
        }
        if dovecot::Dovecot::installed() {
            servers.push(Server::Dovecot(dovecot::Dovecot::open(None)?));
        }
        if cyrus::Cyrus::installed() {
            servers.push(Server::Cyrus(cyrus::Cyrus::open(None)?));
        }
        if servers.is_empty() {
            return Err(Error::Usage(
                "no supported mail server found on this host; name one with --mta and its config with --config".into(),
            ));
        }
        Ok(servers)
    }

    /// The instance's config directory or file.
    pub fn instance(&self) -> PathBuf {
        match self {
            Server::Postfix(p) => p.config_dir().to_path_buf(),
            Server::Dovecot(d) => d.config_file().to_path_buf(),
            Server::Exim(e) => e.instance(),
            Server::Sendmail(s) => s.config_file().to_path_buf(),
            Server::Opensmtpd(o) => o.config_file().to_path_buf(),
            Server::Cyrus(c) => c.config_file().to_path_buf(),
        }
    }

    pub fn detect(&self) -> Result<Detected> {
        match self {
            Server::Postfix(p) => p.detect(),
            Server::Dovecot(d) => d.detect(),
            Server::Exim(e) => e.detect(),
            Server::Sendmail(s) => s.detect(),
            Server::Opensmtpd(o) => o.detect(),
            Server::Cyrus(c) => c.detect(),
        }
    }

    pub fn plan(&self, request: &Request) -> Result<Plan> {
        match self {
            Server::Postfix(p) => p.plan(request),
            Server::Dovecot(d) => d.plan(request),
            Server::Exim(e) => e.plan(request),
            Server::Sendmail(s) => s.plan(request),
            Server::Opensmtpd(o) => o.plan(request),
            Server::Cyrus(c) => c.plan(request),
        }
    }

    /// Whether the server is running, so a reload makes sense.
    pub fn running(&self) -> bool {
        match self {
            Server::Postfix(p) => p.running(),
            Server::Dovecot(d) => d.running(),
            Server::Exim(e) => e.running(),
            Server::Sendmail(s) => s.running(),
            Server::Opensmtpd(o) => o.running(),
            Server::Cyrus(c) => c.running(),
        }
    }

    /// Runs the server's own checker on a copy of its config with the plan's
    /// new files in place, before anything goes live.
    pub fn validate(&self, plan: &Plan) -> Result<()> {
        match self {
            Server::Postfix(p) => p.validate(plan),
            Server::Dovecot(d) => d.validate(plan),
            Server::Exim(e) => e.validate(plan),
            Server::Sendmail(s) => s.validate(plan),
            Server::Opensmtpd(o) => o.validate(plan),
            Server::Cyrus(c) => c.validate(plan),
        }
    }
}

/// Every supported server found on this host.
pub fn detect_all() -> Vec<Result<Detected>> {
    let mut found = Vec::new();
    if postfix::Postfix::installed() {
        found.push(postfix::Postfix::open(None).and_then(|p| p.detect()));
    }
    if dovecot::Dovecot::installed() {
        found.push(dovecot::Dovecot::open(None).and_then(|d| d.detect()));
    }
    if exim::Exim::installed() {
        found.push(exim::Exim::open(None).and_then(|e| e.detect()));
    }
    if sendmail::Sendmail::installed() {
        found.push(sendmail::Sendmail::open(None).and_then(|s| s.detect()));
    }
    if opensmtpd::Opensmtpd::installed() {
        found.push(opensmtpd::Opensmtpd::open(None).and_then(|o| o.detect()));
    }
    if cyrus::Cyrus::installed() {
        found.push(cyrus::Cyrus::open(None).and_then(|c| c.detect()));
    }
    found
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
    // The size above is 0 for /dev/zero or a FIFO: read no more than the limit whatever it says.
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(
            std::fs::File::open(path).map_err(Error::io(path, "cannot read"))?,
            MAX_CONFIG_BYTES + 1,
        ),
        &mut bytes,
    )
    .map_err(Error::io(path, "cannot read"))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(Error::Config(format!(
            "{}: more than {MAX_CONFIG_BYTES} bytes is too large for a config file; is it the right file?",
            path.display()
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        Error::Parse {
            path: path.to_path_buf(),
            line: 1 + valid.iter().filter(|b| **b == b'\n').count(),
            message: "not valid UTF-8 text".into(),
        }
    })
}

/// The first line with content (1-based, and its text): blank lines and
/// lines starting with one of `comments` (`#`, `dnl`) are skipped.
pub fn first_content_line<'a>(text: &'a str, comments: &[&str]) -> Option<(usize, &'a str)> {
    text.lines()
        .enumerate()
        .map(|(n, l)| (n + 1, l.trim()))
        .find(|(_, l)| !l.is_empty() && !comments.iter().any(|c| l.starts_with(c)))
}

/// A file given as `server`'s config that is not one (`--config /etc/shadow`).
/// It quotes nothing of the file: it may hold secrets.
pub fn not_a_config(server: &str, path: &Path, line: usize) -> Error {
    Error::Config(format!(
        "{} does not look like {server} config (line {line} is not its syntax); check --config",
        path.display()
    ))
}

/// A parser's syntax error in `text`, read from `path` as `server`'s config.
/// The parser's message quotes the line; but when no line before it had
/// content, nothing of the file was the server's syntax: it is most likely
/// not a config at all, and its lines must not be printed.
pub fn syntax_error(server: &str, path: &Path, text: &str, line: usize, message: String) -> Error {
    if first_content_line(text, &["#"]).is_none_or(|(first, _)| first >= line) {
        return not_a_config(server, path, line);
    }
    Error::Parse {
        path: path.to_path_buf(),
        line,
        message,
    }
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
    // Alpine (OpenRC) and FreeBSD (rc.d) have their own service commands.
    if default_instance && Path::new("/run/openrc").is_dir() && find_program("rc-service").is_some() {
        return Reload::Argv(vec!["rc-service".into(), unit.into(), "reload".into()]);
    }
    if default_instance && Path::new("/etc/rc.subr").is_file() && find_program("service").is_some() {
        return Reload::Argv(vec!["service".into(), unit.into(), "reload".into()]);
    }
    Reload::Argv(own)
}

/// How a config format re-reads a path mailtls writes into it: the
/// characters it reads as syntax anywhere in a value. White space and
/// control characters are refused for every format; what a format expands
/// by name (Exim macros, m4 macros) is checked by reading the path back
/// (`path_read_back`).
pub struct PathSyntax {
    /// The server and its file, as messages name them: "Postfix (main.cf)".
    pub server: &'static str,
    pub special: &'static [char],
}

/// A path from the command line (`--cert`, `--key`), made absolute and
/// refused when it holds white space, a control character or one of the
/// characters the format would read as syntax.
pub fn path_value(option: &str, path: &Path, syntax: &PathSyntax) -> Result<PathBuf> {
    let text = path
        .to_str()
        .ok_or_else(|| Error::Usage(format!("{option}: the path is not UTF-8")))?;
    crate::edit::check_one_line(option, text).map_err(Error::Usage)?;
    if let Some(c) = text.chars().find(|c| c.is_whitespace() || syntax.special.contains(c)) {
        return Err(Error::Usage(format!(
            "{option}: the path {text:?} contains {c:?}, which {} would misread; use a path without it",
            syntax.server
        )));
    }
    std::path::absolute(path).map_err(Error::io(path, "cannot resolve the path"))
}

/// Refuses a path the server's own reading turns into another one
/// (`read_back`: what its macro processor makes of it); `why` names the cause.
pub fn path_read_back(option: &str, path: &str, read_back: Option<&str>, server: &str, why: &str) -> Result<()> {
    if read_back == Some(path) {
        return Ok(());
    }
    let got = read_back.map_or("nothing".to_string(), |r| format!("{r:?}"));
    Err(Error::Usage(format!(
        "{option}: {server} reads the path {path:?} back as {got} ({why}); use a path without it"
    )))
}

/// The checker's warnings on the staged config that the live config does not
/// already have refuse the change: a new warning means a setting was misread.
pub fn refuse_new_warnings(checker: &str, live: Vec<String>, staged: Vec<String>) -> Result<()> {
    let new: Vec<String> = staged.into_iter().filter(|w| !live.contains(w)).collect();
    if new.is_empty() {
        return Ok(());
    }
    Err(Error::Command {
        program: format!("{checker} (on the new config)"),
        status: "warnings".into(),
        stderr: new.join("; "),
    })
}

/// Checks the certificate a plan leaves configured (see `cert::check_pair`);
/// its warnings join the plan's, and its sha256 is what verification expects
/// the server to serve. A problem with the current certificate says how to replace it.
pub fn check_certificate(
    request: &Request,
    cert: &Path,
    key: &Path,
    readers: crate::cert::KeyReaders,
    warnings: &mut Vec<String>,
) -> Result<String> {
    let now = time::OffsetDateTime::now_utc();
    let info = crate::cert::check_pair(cert, key, &request.profile.certificate, readers, now).map_err(|e| {
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
pub fn certificate_weaknesses(
    cert: &Path,
    key: &Path,
    policy: &crate::profile::CertificatePolicy,
    readers: crate::cert::KeyReaders,
) -> Vec<String> {
    match crate::cert::check_pair(cert, key, policy, readers, time::OffsetDateTime::now_utc()) {
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
