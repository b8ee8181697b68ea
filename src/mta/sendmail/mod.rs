//! The Sendmail backend. `--config` is the m4 source, `sendmail.mc` (or the
//! folder holding it); on Debian it includes `tls/starttls.m4`, where the TLS
//! macros live and where new ones are added. `sendmail.cf` beside the `.mc`
//! is generated and never edited by hand.
//!
//! How the generated file is handled: during planning mailtls runs `m4` on a
//! staged copy of the edited sources (the `.mc` includes the system's cf
//! macros, `cf.m4`, itself), from the `.mc`'s folder as `make -C /etc/mail`
//! does, and puts the result in the plan as the new `sendmail.cf`. So the
//! generated file is backed up, validated (`sendmail -C STAGED -bt -d0.1`),
//! written and rolled back byte for byte like any other file, and the plan
//! needs no `regenerate` step (running m4 again after a rollback would stamp
//! a new date into the file). `make` is not run: it also rebuilds the
//! databases and submit.cf, which TLS settings do not touch.
//!
//! Reload is SIGHUP to the pid in `PidFile`: the daemon re-execs and, started
//! with `-bd`, forks again under a new pid that it writes to the pid file.

pub(crate) mod backend;
mod cf;
mod harden;
mod safety;

use std::path::{Path, PathBuf};

use crate::edit::sendmail_mc::{McFile, McKey};
use crate::edit::{Named, SetValue};
use crate::error::{Error, Result};
use crate::mta::backend::{PlanBuilder, Staging, ANCHOR_M4 as ANCHOR};
use crate::mta::{path_read_back, path_value, read_text, Detected, MtaKind, Reload, Request};
use crate::plan::{FileChange, Plan};
use harden::Place;

/// Where platforms install Sendmail's cf macros: Debian and FreeBSD, RHEL and Fedora, FreeBSD ports.
const CF_DIRS: &[&str] = &[
    "/usr/share/sendmail/cf",
    "/usr/share/sendmail-cf",
    "/usr/local/share/sendmail/cf",
];

/// The groups that may read the private key besides root: Debian's update_tls makes the key `root:smmsp 0640` (and starttls.m4 sets DontBlameSendmail=GroupReadableKeyFile, which `safety` checks).
const KEY_READERS: crate::cert::KeyReaders = &["smmsp", "ssl-cert"];

/// What Sendmail's m4 reads as syntax in a path written into its config.
const PATHS: crate::mta::PathSyntax = crate::mta::PathSyntax {
    server: "Sendmail's m4 (sendmail.mc)",
    special: &['`', '\'', ',', '(', ')', '#', '$', '\\'],
};

const DEFAULT_MC: &str = "/etc/mail/sendmail.mc";
/// Where Debian's Sendmail writes its pid when the cf names none.
const DEBIAN_PID_FILE: &str = "/run/sendmail/mta/sendmail.pid";

/// What a profile sets in Sendmail's m4 sources (for `mailtls profiles`).
pub fn settings_for(profile: &crate::profile::Profile) -> Vec<(&'static str, String)> {
    harden::desired(profile, |_| None)
        .into_iter()
        .map(|(n, _, v)| (n, v))
        .collect()
}

/// The m4 source files of an instance, read.
struct Sources {
    mc_path: PathBuf,
    mc: McFile,
    /// Debian's starttls.m4: its path, the `include` argument naming it, its line in the .mc, and the file.
    tls: Option<(PathBuf, String, usize, McFile)>,
}

impl Sources {
    /// The definition in effect (the .mc's own after the include line wins), and which file holds it.
    fn define(&self, name: &str) -> Option<(bool, crate::edit::sendmail_mc::Define)> {
        let in_mc = self.mc.value(name);
        let include_line = self.tls.as_ref().map_or(0, |t| t.2);
        match (&in_mc, self.tls.as_ref().and_then(|t| t.3.value(name))) {
            (Some(d), _) if d.line > include_line => in_mc.map(|d| (false, d)),
            (_, Some(t)) => Some((true, t)),
            _ => in_mc.map(|d| (false, d)),
        }
    }

    fn value(&self, name: &str, place: Place) -> Option<String> {
        match place {
            Place::Macro => self.define(name).and_then(|(_, d)| d.value),
            Place::LocalOption => self.mc.local_option(name),
        }
    }
}

/// A Sendmail instance.
pub struct Sendmail {
    mc: PathBuf,
    program: Option<PathBuf>,
    version: Option<String>,
}

impl Sendmail {
    /// The real Sendmail binary (not Postfix's or Exim's `sendmail` compatibility command), and its version.
    fn program() -> Option<(PathBuf, Option<String>)> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain(["/usr/libexec/sendmail", "/usr/lib/sm.bin", "/usr/sbin"].map(PathBuf::from))
            .map(|dir| dir.join("sendmail"))
            .filter(|p| p.is_file())
            .find_map(|p| sendmail_version(&p).map(|v| (p, v)))
    }

    pub fn installed() -> bool {
        Sendmail::program().is_some() && Path::new(DEFAULT_MC).is_file()
    }

    /// Whether `path` (a `--config` value) is a Sendmail m4 source or a folder holding `sendmail.mc`.
    pub fn recognizes(path: &Path) -> bool {
        path.join("sendmail.mc").is_file() || path.extension().is_some_and(|e| e == "mc")
    }

    pub fn open(config: Option<&Path>) -> Result<Sendmail> {
        let mc = match config {
            Some(path) if path.is_dir() => path.join("sendmail.mc"),
            Some(path) => path.to_path_buf(),
            None => PathBuf::from(DEFAULT_MC),
        };
        let mc = std::path::absolute(&mc).map_err(Error::io(&mc, "cannot resolve the path"))?;
        if !mc.is_file() {
            return Err(Error::Config(format!(
                "{} does not exist: --config takes Sendmail's m4 source (like /etc/mail/sendmail.mc)",
                mc.display()
            )));
        }
        let (program, version) = match Sendmail::program() {
            Some((p, v)) => (Some(p), v),
            None => (None, None),
        };
        Ok(Sendmail { mc, program, version })
    }

    pub fn config_file(&self) -> &Path {
        &self.mc
    }

    /// The generated file beside the source: sendmail.mc -> sendmail.cf.
    fn cf_path(&self) -> PathBuf {
        self.mc.with_extension("cf")
    }

    fn sources(&self) -> Result<Sources> {
        let text = read_text(&self.mc)?;
        looks_like_m4(&self.mc, &text)?;
        let mc = McFile::parse(&text);
        let dir = self.mc.parent().unwrap_or(Path::new("/"));
        let tls = mc
            .includes()
            .into_iter()
            .find(|(p, _)| p.ends_with("starttls.m4"))
            .map(|(arg, line)| -> Result<_> {
                let path = dir.join(&arg);
                Ok((path.clone(), arg, line, McFile::parse(&read_text(&path)?)))
            })
            .transpose()?;
        Ok(Sources {
            mc_path: self.mc.clone(),
            mc,
            tls,
        })
    }

    pub fn detect(&self) -> Result<Detected> {
        let sources = self.sources()?;
        let cf_text = read_text(&self.cf_path()).unwrap_or_default();
        let profile = crate::profile::Profile::load(crate::profile::DEFAULT)?;
        let option = |name: &str| cf::option(&cf_text, name);
        let mut tls_settings = Vec::new();
        for name in [
            "ServerCertFile",
            "ServerKeyFile",
            "CACertFile",
            "CipherList",
            "ServerSSLOptions",
            "ClientSSLOptions",
            "CipherSuites",
            "DontBlameSendmail",
        ] {
            tls_settings.push((name.to_string(), option(name).unwrap_or_else(|| "(default)".into())));
        }
        let mut weaknesses = Vec::new();
        for (name, _, wanted) in harden::desired(&profile, |n| option(cf_name(n))) {
            let current = option(cf_name(name));
            if !harden::acceptable(name, current.as_deref(), &wanted, &profile) {
                weaknesses.push(match current {
                    Some(v) => format!("{} = {v} allows more than profile {:?}", cf_name(name), profile.name),
                    None => format!(
                        "{} is unset: OpenSSL's defaults apply (TLS 1.0/1.1 where its security level allows them)",
                        cf_name(name)
                    ),
                });
            }
        }
        weaknesses.extend(self.starttls_problems(&cf_text));
        let generated = self.generate(&sources).unwrap_or_default();
        if !cf_text.is_empty() && !generated.is_empty() && cf::without_stamp(&generated) != cf::without_stamp(&cf_text)
        {
            weaknesses.push(format!(
                "{} was not generated from the current {} (run make -C {} or mailtls apply)",
                self.cf_path().display(),
                self.mc.display(),
                self.mc.parent().unwrap_or(Path::new("/")).display()
            ));
        }
        let mut config_files = vec![self.mc.clone()];
        config_files.extend(sources.tls.iter().map(|t| t.0.clone()));
        config_files.push(self.cf_path());
        Ok(Detected {
            mta: MtaKind::Sendmail,
            version: self.version.clone(),
            tls_library: Some("OpenSSL".into()),
            config: self.mc.clone(),
            config_files,
            listeners: cf::listeners(&cf_text),
            tls_settings,
            weaknesses,
        })
    }

    /// Why Sendmail would not offer STARTTLS with this cf: no certificate, or unsafe file modes.
    fn starttls_problems(&self, cf_text: &str) -> Vec<String> {
        let (Some(cert), Some(key)) = (
            cf::option(cf_text, "ServerCertFile"),
            cf::option(cf_text, "ServerKeyFile"),
        ) else {
            return vec!["no ServerCertFile/ServerKeyFile (confSERVER_CERT/confSERVER_KEY): Sendmail offers no STARTTLS; give --cert and --key".into()];
        };
        let relaxed = safety::Relaxed::from_option(cf::option(cf_text, "DontBlameSendmail").as_deref());
        safety::problems(Path::new(&cert), Path::new(&key), relaxed)
            .into_iter()
            .map(|p| format!("Sendmail silently does not offer STARTTLS: {p}"))
            .collect()
    }

    pub fn plan(&self, request: &Request) -> Result<Plan> {
        let profile = &request.profile;
        let sources = self.sources()?;
        let mut mc = sources.mc.clone();
        let mut tls = sources.tls.as_ref().map(|t| t.3.clone());
        let mut plan = PlanBuilder::new(MtaKind::Sendmail, self.mc.clone(), request);
        plan.groups_unenforceable("Sendmail has no setting for the key-exchange groups");
        let tls_path = sources.tls.as_ref().map(|t| t.0.clone());

        let set = |plan: &mut PlanBuilder,
                   mc: &mut McFile,
                   tls: &mut Option<McFile>,
                   name: &str,
                   place: Place,
                   value: &str| {
            let before = sources.value(name, place);
            if before.as_deref() == Some(value) {
                return;
            }
            let file = match (place, sources.define(name)) {
                (Place::LocalOption, _) => {
                    mc.set(McKey::LocalOption(Named::new(name, ANCHOR)), value);
                    sources.mc_path.clone()
                }
                (Place::Macro, Some((in_tls, d))) if d.value.is_some() => {
                    // Earlier edits moved the bytes: find the same definition in the edited file.
                    if in_tls {
                        let file = tls.as_mut().expect("found in starttls.m4");
                        let d = file.value(name).expect("still defined");
                        file.set(McKey::Define(&d), value);
                        tls_path.clone().expect("starttls.m4 is read")
                    } else {
                        let d = mc.value(name).expect("still defined");
                        mc.set(McKey::Define(&d), value);
                        sources.mc_path.clone()
                    }
                }
                (Place::Macro, _) => match tls.as_mut() {
                    Some(t) => {
                        t.add_define(name, value, ANCHOR);
                        tls_path.clone().expect("starttls.m4 is read")
                    }
                    None => {
                        mc.add_define(name, value, ANCHOR);
                        sources.mc_path.clone()
                    }
                },
            };
            plan.set(file, name, before, value);
        };

        for (name, place, wanted) in harden::desired(profile, |n| sources.value(n, Place::Macro)) {
            let current = sources.value(name, place);
            if !harden::acceptable(name, current.as_deref(), &wanted, profile) {
                set(&mut plan, &mut mc, &mut tls, name, place, &wanted);
            }
        }
        if let Some((cert_path, key_path)) = &request.cert {
            let cert_text = path_value("--cert", cert_path, &PATHS)?.display().to_string();
            let key_text = path_value("--key", key_path, &PATHS)?.display().to_string();
            set(
                &mut plan,
                &mut mc,
                &mut tls,
                "confSERVER_CERT",
                Place::Macro,
                &cert_text,
            );
            set(&mut plan, &mut mc, &mut tls, "confSERVER_KEY", Place::Macro, &key_text);
        }

        let cf_path = self.cf_path();
        let cf_before = std::fs::read_to_string(&cf_path).unwrap_or_default();
        let changed = mc != sources.mc || tls.as_ref() != sources.tls.as_ref().map(|t| &t.3);
        let cf_after = if changed {
            let generated_before = self.generate(&sources)?;
            if !cf_before.is_empty() && cf::without_stamp(&generated_before) != cf::without_stamp(&cf_before) {
                plan.warn(format!(
                    "{} was not generated from the current {}: the regenerated file also carries those other edits",
                    cf_path.display(),
                    self.mc.display()
                ));
            }
            let staged = Sources {
                mc_path: sources.mc_path.clone(),
                mc: mc.clone(),
                tls: sources
                    .tls
                    .as_ref()
                    .zip(tls.clone())
                    .map(|(t, new)| (t.0.clone(), t.1.clone(), t.2, new)),
            };
            self.generate(&staged)?
        } else {
            cf_before.clone()
        };

        // What the daemon will run with, read from the generated file.
        let option = |name: &str| cf::option(&cf_after, name);
        if let Some((cert_path, key_path)) = &request.cert {
            // m4 expands macro names wherever they stand (`/x/divert/dnl/c.pem` loses its end).
            for (opt, path, name) in [
                ("--cert", cert_path, "ServerCertFile"),
                ("--key", key_path, "ServerKeyFile"),
            ] {
                let text = std::path::absolute(path).map_err(Error::io(path, "cannot resolve the path"))?;
                let why = "a word in it is an m4 macro, like dnl or divert";
                path_read_back(
                    opt,
                    &text.display().to_string(),
                    option(name).as_deref(),
                    "Sendmail's m4",
                    why,
                )?;
            }
        }
        let listeners = cf::listeners(&cf_after);
        match (option("ServerCertFile"), option("ServerKeyFile")) {
            (Some(cert_value), Some(key_value)) => {
                let (cert_path, key_path) = (PathBuf::from(&cert_value), PathBuf::from(&key_value));
                plan.check_certificate(&cert_path, &key_path, KEY_READERS)?;
                let relaxed = safety::Relaxed::from_option(option("DontBlameSendmail").as_deref());
                let unsafe_now = safety::problems(&cert_path, &key_path, relaxed);
                if let Some(first) = unsafe_now.first() {
                    if request.cert.is_some() {
                        return Err(Error::Config(format!(
                            "Sendmail would silently not offer STARTTLS with this certificate: {first}; nothing was changed"
                        )));
                    }
                    plan.warnings_mut().extend(unsafe_now.iter().map(|p| {
                        format!("Sendmail silently does not offer STARTTLS today and will not after this change: {p}")
                    }));
                }
            }
            _ => {
                plan.warn("no certificate (confSERVER_CERT/confSERVER_KEY): Sendmail offers no STARTTLS; give --cert and --key");
            }
        }
        if let Some(name) = unqualified_hostname() {
            plan.warn(format!(
                "this host's name {name:?} has no domain: Sendmail waits 60 s at every start (and so does its config check) unless the name resolves to a fully qualified one"
            ));
        }

        plan.file(self.mc.clone(), sources.mc.to_string(), mc.to_string());
        if let (Some(old), Some(new)) = (&sources.tls, &tls) {
            plan.file(old.0.clone(), old.3.to_string(), new.to_string());
        }
        plan.change(FileChange {
            created: !cf_path.exists(),
            path: cf_path,
            before: cf_before,
            after: cf_after.clone(),
        });
        let reload = match &request.reload_command {
            Some(cmd) => Reload::Shell(cmd.clone()),
            None => Reload::Hup {
                pid_file: pid_file(&cf_after),
            },
        };
        Ok(plan.finish(reload, listeners))
    }

    /// Runs m4 on a staged copy of the sources, from the .mc's folder, and returns the sendmail.cf it makes.
    fn generate(&self, sources: &Sources) -> Result<String> {
        let m4 = crate::mta::find_program("m4").ok_or_else(|| Error::MissingProgram {
            program: "m4".into(),
            hint: "sendmail.cf is generated from sendmail.mc with m4 (apt install m4)".into(),
        })?;
        let staged = tempfile::Builder::new()
            .prefix("mailtls-sendmail-")
            .tempdir()
            .map_err(Error::io(std::env::temp_dir(), "cannot create a staging directory"))?;
        let mut mc = sources.mc.clone();
        if let Some((_, arg, _, file)) = &sources.tls {
            let path = staged.path().join("starttls.m4");
            fs_err::write(&path, file.to_string()).map_err(Error::io(&path, "cannot stage"))?;
            mc.replace_include(arg, &path.to_string_lossy());
        }
        let name = self.mc.file_name().unwrap_or(std::ffi::OsStr::new("sendmail.mc"));
        let mc_path = staged.path().join(name);
        fs_err::write(&mc_path, mc.to_string()).map_err(Error::io(&mc_path, "cannot stage"))?;
        let mut command = std::process::Command::new(&m4);
        // An .mc without include(cf.m4) (FreeBSD's) is built as its Makefile does:
        // `m4 -D_CF_DIR_=CF/ CF/m4/cf.m4 NAME.mc`.
        let mut shown = format!("m4 {}", self.mc.display());
        if !mc.to_string().contains("cf.m4") {
            let cf_dir = self.cf_dir().ok_or_else(|| Error::MissingProgram {
                program: "cf.m4".into(),
                hint: format!("{} is built with Sendmail's cf macros (m4/cf.m4), found in none of {}: install sendmail-cf (Debian, Ubuntu, RHEL, Fedora)", self.mc.display(), CF_DIRS.join(", ")),
            })?;
            command
                .arg(format!("-D_CF_DIR_={}/", cf_dir.display()))
                .arg(cf_dir.join("m4/cf.m4"));
            shown = format!("m4 {} {}", cf_dir.join("m4/cf.m4").display(), self.mc.display());
        }
        let output = command
            .arg(&mc_path)
            .current_dir(self.mc.parent().unwrap_or(Path::new("/")))
            .output()
            .map_err(Error::io(&m4, "cannot run m4"))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() || stderr.contains("m4:") && stderr.contains("error") {
            let last = stderr.lines().last().unwrap_or("").to_string();
            let missing_cf = stderr
                .lines()
                .any(|l| l.contains("cf.m4") && l.contains("No such file"));
            return Err(Error::Command {
                program: shown,
                status: output.status.to_string(),
                stderr: if missing_cf {
                    format!("{last} (cf.m4 is Sendmail's cf macros: install sendmail-cf)")
                } else {
                    last
                },
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Where Sendmail's cf macros are (the folder holding m4/cf.m4): beside
    /// the binary's prefix first (`PREFIX/share/sendmail/cf`), then where each
    /// platform's packages put them.
    fn cf_dir(&self) -> Option<PathBuf> {
        let beside = self.program.as_ref().into_iter().flat_map(|p| {
            p.ancestors()
                .skip(1)
                .take(3)
                .map(|prefix| prefix.join("share/sendmail/cf"))
                .collect::<Vec<_>>()
        });
        beside
            .chain(CF_DIRS.iter().map(PathBuf::from))
            .find(|dir| dir.join("m4/cf.m4").is_file())
    }

    pub fn running(&self) -> bool {
        let cf_text = read_text(&self.cf_path()).unwrap_or_default();
        crate::mta::pid_alive(&pid_file(&cf_text))
    }

    /// Sendmail's own check of the new sendmail.cf before it goes live:
    /// `sendmail -C STAGED -bt -d0.1 </dev/null` (exit 70 and "line N:
    /// readcf: ..." on an error).
    pub fn validate(&self, plan: &Plan) -> Result<()> {
        let staged = Staging::new("Sendmail", "sendmail", self.program.clone(), "sendmail -C FILE -bt")?;
        let program = staged.checker();
        let cf_path = self.cf_path();
        let change = plan
            .changes
            .iter()
            .find(|c| c.path == cf_path)
            .expect("the plan holds sendmail.cf");
        let path = staged.write("sendmail.cf", &change.after)?;
        let output = std::process::Command::new(program)
            .arg("-C")
            .arg(&path)
            .args(["-bt", "-d0.1"])
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(Error::io(program, "cannot run sendmail"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let complaint = text.lines().find(|l| l.contains("readcf:"));
        if !output.status.success() || complaint.is_some() {
            return Err(Error::Command {
                program: format!("{} -C (new sendmail.cf) -bt -d0.1", program.display()),
                status: output.status.to_string(),
                stderr: complaint
                    .or_else(|| text.lines().rfind(|l| !l.trim().is_empty()))
                    .unwrap_or("")
                    .trim()
                    .to_string(),
            });
        }
        Ok(())
    }
}

/// The sendmail.cf option a setting shows up as.
fn cf_name(name: &str) -> &str {
    match name {
        "confCIPHER_LIST" => "CipherList",
        "confSERVER_SSL_OPTIONS" => "ServerSSLOptions",
        "confCLIENT_SSL_OPTIONS" => "ClientSSLOptions",
        other => other,
    }
}

fn pid_file(cf_text: &str) -> PathBuf {
    cf::option(cf_text, "PidFile")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEBIAN_PID_FILE))
}

/// An m4 source starts (after `dnl` and `#` comments) with a macro call,
/// `divert(-1)`, `VERSIONID(...)`, `include(...)`; a file that does not is
/// no sendmail.mc, and m4 would copy all of it into the sendmail.cf the diff
/// shows (`--config /etc/shadow`).
fn looks_like_m4(path: &Path, text: &str) -> Result<()> {
    let Some((line, first)) = crate::mta::first_content_line(text, &["dnl", "#"]) else {
        return Ok(());
    };
    let name_len = first
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(first.len());
    if name_len == 0 || !first[name_len..].starts_with('(') || first.as_bytes()[0].is_ascii_digit() {
        return Err(crate::mta::not_a_config("a Sendmail m4", path, line));
    }
    Ok(())
}

/// Whether `binary` is Sendmail (its default cf path is compiled in; Postfix's
/// and Exim's compatibility commands carry no such string), and its version.
fn sendmail_version(binary: &Path) -> Option<Option<String>> {
    let bytes = std::fs::read(binary).ok()?;
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    if !has(b"/etc/mail/sendmail.cf") || has(b"postfix") {
        return None;
    }
    let version = bytes.split(|b| *b == 0).find_map(|s| {
        let s = std::str::from_utf8(s).ok()?;
        let parts: Vec<&str> = s.split('.').collect();
        (s.starts_with("8.")
            && (3..=4).contains(&parts.len())
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
        .then(|| s.to_string())
    });
    Some(version)
}

/// The host name when it has no dot (Sendmail's `myhostname` then waits 60 s for a qualified one).
fn unqualified_hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty() && !name.contains('.')).then(|| name.to_string())
}
