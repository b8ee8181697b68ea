//! Mail server backends. Each one finds its server, reads its config, turns a
//! profile into a `Plan`, validates staged files with the server's own
//! checker and says how to reload. Backends compute; `apply` writes.
//! `backend` is the contract, `registry` the one list of servers; this file
//! holds the helpers backends share (reading configs, running programs,
//! checking paths and certificates).

pub(crate) mod backend;
pub mod container;
mod crypto_policies;
pub mod cyrus;
pub mod dovecot;
pub mod exim;
pub mod opensmtpd;
pub mod postfix;
pub(crate) mod registry;
pub mod sendmail;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::profile::Profile;

use crate::reload::last_line;
pub use crate::reload::{pid_alive, Regenerate, Reload};
pub use crate::vocabulary::{Listener, MtaKind, Proto, TlsStart};
pub(crate) use backend::Instance;
pub(crate) use registry::{detect_all, open, open_all, plan_all, BACKENDS};

/// Runs a reload: a `Reload::Backend` one by its server's backend (Cyrus
/// signals the master running with its config); every other kind runs itself.
pub(crate) fn reload(reload: &Reload) -> Result<()> {
    match reload {
        Reload::Backend { mta, config } => registry::backend(*mta).reload_in_place(config),
        other => other.run(),
    }
}

/// What the user asked for, resolved.
#[derive(Clone, Debug)]
pub struct Request {
    pub profile: Profile,
    /// Listeners held to another profile than `profile` (per kind, or named exceptions).
    pub floors: crate::floors::Floors,
    /// A new certificate and key (`--cert`/`--key`), or keep the current ones.
    pub cert: Option<(PathBuf, PathBuf)>,
    pub reload_command: Option<String>,
    /// `--outbound-dane`: deliver with DANE (the resolver was checked to validate).
    pub outbound_dane: bool,
    /// `--container`, `--container-runtime`: how to reach a mail stack in containers.
    pub container: container::Choice,
}

impl Request {
    /// The profile `listener` is held to: its exception's, its kind's floor, or the run's.
    pub fn profile_for(&self, listener: &Listener) -> &Profile {
        self.floors.for_listener(&self.profile, listener).0
    }
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

/// Parses a config file's text as its format; a syntax error names the file.
pub(crate) fn parse_document<D: crate::edit::Document>(server: &str, path: &Path, text: &str) -> Result<D> {
    text.parse()
        .map_err(|e: crate::edit::SyntaxError| syntax_error(server, path, text, e.line, e.message))
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
    crate::edit::check_one_line(option, text).map_err(|e| Error::Usage(e.to_string()))?;
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

/// The defaults `tool -d` prints for `names` (`postconf -d`, `doveconf -d`);
/// empty when there are none to ask for, or the tool is missing or fails.
pub fn server_defaults(tool: &str, config: &Path, names: &[&str]) -> std::collections::HashMap<String, String> {
    match find_program(tool) {
        Some(program) if !names.is_empty() => {
            let mut args = vec!["-d"];
            args.extend(names);
            effective_values(&program, config, &args)
        }
        _ => Default::default(),
    }
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
