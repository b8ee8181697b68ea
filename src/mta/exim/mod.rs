//! The Exim backend: finds an instance (`--config` is a config file, or a
//! Debian config folder like /etc/exim4), reads which TLS library Exim is
//! built with (`exim -bV`), plans main-section edits in that library's
//! syntax, validates the staged result with Exim itself (after Debian's
//! `update-exim4.conf` for a Debian folder), and reloads with SIGHUP.

pub(crate) mod backend;
mod harden;
mod layout;
mod listeners;

use std::path::{Path, PathBuf};

pub use harden::TlsLibrary;
use layout::{Effective, Layout, Source};

use crate::edit::exim_conf::{EximConf, Kind};
use crate::error::{Error, Result};
use crate::mta::backend::{PlanBuilder, Staging, ANCHOR};
use crate::mta::{find_program, path_value, read_text, run_program, Detected, MtaKind, Regenerate, Reload, Request};
use crate::plan::{FileChange, Plan};

/// The groups that may read the private key besides root: Exim reads its key as its own user: Debian documents `root:Debian-exim 0640` (elsewhere the group is `exim`), or Debian-exim in the ssl-cert group.
const KEY_READERS: crate::cert::KeyReaders = &["Debian-exim", "exim", "ssl-cert"];

/// What Exim reads as syntax in a path written into its config.
const PATHS: crate::mta::PathSyntax = crate::mta::PathSyntax {
    server: "Exim",
    special: &['$', '\\'],
};

/// Where Debian's Exim writes its pid (its build's `pid_file_path` default).
const DEBIAN_PID_FILE: &str = "/run/exim4/exim.pid";

/// What a profile sets in Exim, per TLS library.
pub fn settings_for(profile: &crate::profile::Profile, library: TlsLibrary) -> Vec<(&'static str, String)> {
    harden::desired(profile, library, |_| None)
}

/// An Exim instance.
pub struct Exim {
    layout: Layout,
    exim: Option<PathBuf>,
    version: Option<String>,
    library: Option<TlsLibrary>,
}

impl Exim {
    /// The Exim binary: Debian's `exim4`, or `exim` elsewhere.
    fn program() -> Option<PathBuf> {
        find_program("exim4").or_else(|| find_program("exim"))
    }

    pub fn installed() -> bool {
        Exim::program().is_some()
    }

    /// Whether `path` (a `--config` value) looks like an Exim config: a Debian
    /// folder like /etc/exim4, or a file that parses as an Exim config and has
    /// a `begin` section or an option only Exim has.
    pub fn recognizes(path: &Path) -> bool {
        if path.is_dir() {
            return Layout::looks_like_debian_dir(path);
        }
        let Ok(text) = std::fs::read_to_string(path) else {
            return false;
        };
        let marked = text.lines().any(|l| {
            let l = l.trim();
            l.starts_with("begin ") || l.starts_with("primary_hostname") || l.starts_with("daemon_smtp_ports")
        });
        marked && EximConf::parse(&text).is_ok()
    }

    pub fn open(config: Option<&Path>) -> Result<Exim> {
        let exim = Exim::program();
        let (version, library, default_config) = match &exim {
            Some(program) => about(program),
            None => (None, None, None),
        };
        let layout = match config {
            Some(path) => {
                let path = std::path::absolute(path).map_err(Error::io(path, "cannot resolve the path"))?;
                Layout::of(&path)?
            }
            None if Layout::looks_like_debian_dir(Path::new("/etc/exim4")) => Layout::of(Path::new("/etc/exim4"))?,
            None => match default_config {
                Some(file) => Layout::Single(file),
                None => {
                    return Err(Error::MissingProgram {
                        program: "exim".into(),
                        hint: "Exim does not seem to be installed; point --config at an Exim config file or /etc/exim4-like folder".into(),
                    })
                }
            },
        };
        Ok(Exim {
            layout,
            exim,
            version,
            library,
        })
    }

    /// The instance as the journal names it: the config file or folder.
    pub fn instance(&self) -> PathBuf {
        match &self.layout {
            Layout::Single(file) => file.clone(),
            Layout::Debian { dir, .. } => dir.clone(),
        }
    }

    /// The TLS library, or the likely one with a warning when no Exim binary says.
    fn library(&self, sources: &[Source], warnings: &mut Vec<String>) -> TlsLibrary {
        if let Some(library) = self.library {
            return library;
        }
        if let Some((library, evidence)) = sources.iter().find_map(|s| harden::library_written_for(&s.text)) {
            warnings.push(format!(
                "no Exim binary found (exim4 or exim on PATH): the config is written for {} (`{evidence}`); applying needs Exim to validate",
                library.name()
            ));
            return library;
        }
        let guess = match self.layout {
            Layout::Debian { .. } => TlsLibrary::GnuTls,
            Layout::Single(_) => TlsLibrary::OpenSsl,
        };
        warnings.push(format!(
            "no Exim binary found (exim4 or exim on PATH): assuming it is built with {} ({}); applying needs Exim to validate",
            guess.name(),
            match guess {
                TlsLibrary::GnuTls => "Debian builds against GnuTLS",
                TlsLibrary::OpenSsl => "upstream's default",
            }
        ));
        guess
    }

    fn evaluate(&self, sources: &[Source], library: TlsLibrary) -> Result<Effective> {
        let predefined = [
            (library.have_macro().to_string(), "1".to_string()),
            ("_HAVE_TLS".to_string(), "1".to_string()),
        ];
        let eff = Effective::evaluate(sources, &predefined, &self.layout.seeded_macros()?);
        // Exim refuses a config that sets an option twice: say where, before planning on it.
        if let Some((name, all)) = eff.options.iter().find(|(_, all)| all.len() > 1) {
            let second = &all[1];
            return Err(Error::Parse {
                path: sources[second.source].path.clone(),
                line: second.line,
                message: format!(
                    "{name} is set a second time (first at {}:{}); Exim refuses such a config: remove one",
                    sources[all[0].source].path.display(),
                    all[0].line
                ),
            });
        }
        Ok(eff)
    }

    pub fn detect(&self) -> Result<Detected> {
        let mut notes = Vec::new();
        let sources = self.layout.sources()?;
        let library = self.library(&sources, &mut notes);
        let eff = self.evaluate(&sources, library)?;
        let profile = crate::profile::Profile::load(crate::profile::DEFAULT)?;
        let mut tls_settings = Vec::new();
        let mut weaknesses = Vec::new();
        for name in [
            "tls_advertise_hosts",
            "tls_certificate",
            "tls_privatekey",
            "tls_require_ciphers",
            "openssl_options",
            "tls_eccurve",
            "tls_on_connect_ports",
        ] {
            tls_settings.push((name.to_string(), eff.value(name).unwrap_or_else(|| "(default)".into())));
        }
        for (name, wanted) in harden::desired(&profile, library, |n| eff.value(n)) {
            let current = eff.value(name);
            if !harden::acceptable(name, current.as_deref(), &wanted, &profile, library) {
                weaknesses.push(match current {
                    Some(v) => format!("{name} = {v} allows more than profile {:?}", profile.name),
                    None => format!("{name} is unset: {}'s defaults allow TLS 1.0 and 1.1", library.name()),
                });
            }
        }
        if library == TlsLibrary::GnuTls {
            weaknesses.extend(
                eff.value("tls_require_ciphers")
                    .and_then(|v| harden::gnutls_mismatch(&v)),
            );
        }
        let listeners = listeners::listeners(&eff);
        for l in listeners.iter().filter(|l| !l.tls.is_tls()) {
            weaknesses.push(format!("{}:{} does not offer TLS", l.host, l.port));
        }
        Ok(Detected {
            mta: MtaKind::Exim,
            version: self.version.clone(),
            tls_library: self.library.map(|l| l.name().to_string()),
            config: self.instance(),
            config_files: sources
                .iter()
                .filter(|s| s.path.exists())
                .map(|s| s.path.clone())
                .collect(),
            listeners,
            tls_settings,
            weaknesses,
        })
    }

    pub fn plan(&self, request: &Request) -> Result<Plan> {
        let profile = &request.profile;
        let mut plan = PlanBuilder::new(MtaKind::Exim, self.instance(), request);
        let sources = self.layout.sources()?;
        let library = self.library(&sources, plan.warnings_mut());
        let eff = self.evaluate(&sources, library)?;
        let macros_file = self.layout.macros_file();
        let macros_at = sources
            .iter()
            .position(|s| s.path == macros_file)
            .expect("the macros file is among the sources");
        let mut confs: Vec<EximConf> = sources.iter().map(|s| s.conf.clone()).collect();

        let set_option = |confs: &mut Vec<EximConf>, plan: &mut PlanBuilder, name: &str, value: &str| {
            let before = eff.value(name);
            if before.as_deref() == Some(value) {
                return;
            }
            let file = match eff.option(name) {
                Some(found) => {
                    confs[found.source].set_at(found.id, value);
                    sources[found.source].path.clone()
                }
                None => {
                    confs[macros_at].append(Kind::Option, name, value, ANCHOR);
                    macros_file.clone()
                }
            };
            plan.set(file, name, before, value);
        };

        if library == TlsLibrary::GnuTls {
            if let Some(found) = eff.option("openssl_options") {
                return Err(Error::Parse {
                    path: sources[found.source].path.clone(),
                    line: found.line,
                    message: "openssl_options is set but this Exim uses GnuTLS, which refuses it: remove the line"
                        .into(),
                });
            }
            plan.warnings_mut().extend(
                eff.value("tls_require_ciphers")
                    .and_then(|v| harden::gnutls_mismatch(&v)),
            );
        }
        let per_port = per_port_priority(request, library, &listeners::listeners(&eff))?;
        for (name, wanted) in harden::desired(profile, library, |n| eff.value(n)) {
            // Listeners with floors of their own: one priority string chosen by port.
            if let (Some(expression), "tls_require_ciphers") = (&per_port, name) {
                if eff.value(name).as_deref().map(str::trim) != Some(expression.as_str()) {
                    set_option(&mut confs, &mut plan, name, expression);
                }
                continue;
            }
            if !harden::acceptable(name, eff.value(name).as_deref(), &wanted, profile, library) {
                if let Some(found) = eff.option(name).filter(|f| f.written.contains("${")) {
                    plan.warn(format!(
                        "{}:{}: {name} was an expression ({}), evaluated at run time; it is replaced by the profile's fixed value",
                        sources[found.source].path.display(),
                        found.line,
                        found.written
                    ));
                }
                set_option(&mut confs, &mut plan, name, &wanted);
            }
        }

        let debian = matches!(self.layout, Layout::Debian { .. });
        let set_macro = |confs: &mut Vec<EximConf>, plan: &mut PlanBuilder, name: &str, value: &str| {
            let before = eff.macros.get(name).map(|(v, _)| v.clone());
            if before.as_deref() == Some(value) {
                return;
            }
            // A definition in the macros file is edited; anything else is
            // overridden from there, read first (Debian's defaults are `.ifndef`).
            match eff
                .macros
                .get(name)
                .and_then(|(_, f)| f.as_ref())
                .filter(|f| f.source == macros_at)
            {
                Some(found) => confs[macros_at].set_at(found.id, value),
                None => confs[macros_at].append(Kind::Macro, name, value, ANCHOR),
            }
            plan.set(macros_file.clone(), name, before, value);
        };
        if debian && !eff.macro_defined("MAIN_TLS_ENABLE") {
            set_macro(&mut confs, &mut plan, "MAIN_TLS_ENABLE", "yes");
        }
        if !debian && eff.value("tls_advertise_hosts").is_some_and(|v| v.trim().is_empty()) {
            set_option(&mut confs, &mut plan, "tls_advertise_hosts", "*");
        }
        if let Some((cert_path, key_path)) = &request.cert {
            let cert_path = path_value("--cert", cert_path, &PATHS)?;
            let key_path = path_value("--key", key_path, &PATHS)?;
            let (cert_text, key_text) = (cert_path.display().to_string(), key_path.display().to_string());
            for (option, text) in [("--cert", &cert_text), ("--key", &key_text)] {
                macro_free(option, text, &eff)?;
            }
            // An expression (per-SNI certificates, as HestiaCP's) is never flattened into one path.
            for option in ["tls_certificate", "tls_privatekey"] {
                if let Some(found) = eff.option(option).filter(|f| f.written.contains("${")) {
                    return Err(Error::Parse {
                        path: sources[found.source].path.clone(),
                        line: found.line,
                        message: format!(
                            "{option} is an expression ({}...), chosen at run time (per SNI name): mailtls will not replace it with one file; run without --cert/--key to keep it, or edit it yourself",
                            found.written.chars().take(40).collect::<String>()
                        ),
                    });
                }
            }
            // Debian's own files read MAIN_TLS_CERTIFICATE; a panel's template
            // (VestaCP) that sets tls_certificate itself is edited where it does.
            let reads = |option: &str, name: &str| eff.option(option).is_none_or(|f| f.written.contains(name));
            let by_macros = reads("tls_certificate", "MAIN_TLS_CERT") && reads("tls_privatekey", "MAIN_TLS_PRIVATEKEY");
            if debian && by_macros {
                if eff.macro_defined("MAIN_TLS_CERTKEY") {
                    return Err(Error::Config(
                        "MAIN_TLS_CERTKEY is defined (certificate and key in one file): remove it, or keep the certificate without --cert/--key".into(),
                    ));
                }
                set_macro(&mut confs, &mut plan, "MAIN_TLS_CERTIFICATE", &cert_text);
                set_macro(&mut confs, &mut plan, "MAIN_TLS_PRIVATEKEY", &key_text);
            } else {
                set_option(&mut confs, &mut plan, "tls_certificate", &cert_text);
                set_option(&mut confs, &mut plan, "tls_privatekey", &key_text);
            }
        }

        // What the new files mean, read back as Exim will.
        let new_sources: Vec<Source> = sources
            .iter()
            .zip(&confs)
            .map(|(s, c)| Source {
                path: s.path.clone(),
                text: c.to_string(),
                conf: c.clone(),
            })
            .collect();
        let after = self.evaluate(&new_sources, library)?;
        let listeners = listeners::listeners(&after);
        match after.value("tls_certificate").filter(|v| !v.is_empty()) {
            Some(cert_value) if cert_value.contains('$') => {
                plan.warn(format!(
                    "tls_certificate = {cert_value} is expanded at run time: the certificate is not checked"
                ));
            }
            Some(cert_value) => {
                let cert_path = PathBuf::from(&cert_value);
                let key_path = after
                    .value("tls_privatekey")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
                    .unwrap_or_else(|| cert_path.clone());
                plan.check_certificate(&cert_path, &key_path, KEY_READERS)?;
            }
            None => {
                if listeners.iter().any(|l| l.tls.is_tls()) {
                    plan.warn("tls_certificate is unset: Exim serves a self-signed certificate it makes up; give a real one with --cert and --key");
                }
            }
        }

        for (new, old) in new_sources.iter().zip(&sources) {
            plan.change(FileChange {
                path: old.path.clone(),
                before: old.text.clone(),
                after: new.text.clone(),
                created: !old.path.exists(),
            });
        }
        if let Layout::Debian { dir, split: false } = &self.layout {
            if dir != Path::new("/etc/exim4") {
                plan.warn(format!(
                    "update-exim4.conf reads {} only when /etc/exim4/{} exists; for {} the live probe is what proves the change",
                    layout::UNSPLIT_MACROS,
                    layout::UNSPLIT_MACROS,
                    dir.display()
                ));
            }
        }
        plan.regenerate(self.regenerate());
        let reload = match &request.reload_command {
            Some(cmd) => Reload::Shell(cmd.clone()),
            None => Reload::Hup {
                pid_file: self.pid_file(&after),
            },
        };
        Ok(plan.finish(reload, listeners))
    }

    /// Debian: the command that rebuilds the config Exim reads from the folder.
    fn regenerate(&self) -> Option<Regenerate> {
        let Layout::Debian { dir, .. } = &self.layout else {
            return None;
        };
        let program = find_program("update-exim4.conf")
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "update-exim4.conf".into());
        if dir == Path::new("/etc/exim4") {
            return Some(Regenerate::Argv(vec![program]));
        }
        Some(Regenerate::Argv(vec![
            program,
            "-d".into(),
            dir.display().to_string(),
            "-o".into(),
            generated_file(dir).display().to_string(),
        ]))
    }

    /// The daemon's pid file: `pid_file_path`, or what this Exim's build uses.
    fn pid_file(&self, eff: &Effective) -> PathBuf {
        if let Some(path) = eff.value("pid_file_path").filter(|p| !p.is_empty()) {
            return PathBuf::from(path.replace("%s", ""));
        }
        let built_in = match (&self.exim, &self.layout) {
            (Some(exim), Layout::Single(file)) => {
                run_program(exim, &["-C", &file.to_string_lossy(), "-bP", "pid_file_path"]).ok()
            }
            (Some(exim), Layout::Debian { .. }) => run_program(exim, &["-C", "/dev/null", "-bP", "pid_file_path"]).ok(),
            _ => None,
        };
        built_in
            .and_then(|out| out.split_once('=').map(|(_, v)| v.trim().replace("%s", "")))
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEBIAN_PID_FILE))
    }

    /// Whether the daemon in the pid file is alive.
    pub fn running(&self) -> bool {
        let library = self.library.unwrap_or(TlsLibrary::GnuTls);
        let Ok(eff) = self.layout.sources().and_then(|s| self.evaluate(&s, library)) else {
            return false;
        };
        crate::mta::pid_alive(&self.pid_file(&eff))
    }

    /// Runs Exim's own check on the new config before it goes live: `exim -C
    /// STAGED -bV` on a staged copy (for a Debian folder, on what
    /// `update-exim4.conf` generates from a staged copy of the folder), then
    /// reads back each option the plan sets with `-bP`.
    pub fn validate(&self, plan: &Plan) -> Result<()> {
        let staged = Staging::new("Exim", "exim4 (or exim)", self.exim.clone(), "exim -bV")?;
        let exim = staged.checker();
        let config = match &self.layout {
            Layout::Single(file) => {
                let change = plan
                    .changes
                    .iter()
                    .find(|c| &c.path == file)
                    .expect("the plan holds the config");
                staged.write("exim.conf", &change.after)?
            }
            Layout::Debian { dir, .. } => self.stage_debian(dir, plan, staged.path())?,
        };
        let config_text = config.to_string_lossy().into_owned();
        run_program(exim, &["-C", &config_text, "-bV"])?;
        for setting in plan
            .settings
            .iter()
            .filter(|s| s.name.starts_with(|c: char| c.is_ascii_lowercase()))
        {
            let shown = run_program(exim, &["-C", &config_text, "-bP", &setting.name])?;
            let value = shown.split_once('=').map(|(_, v)| v.trim()).unwrap_or("");
            if value != setting.after {
                return Err(Error::Command {
                    program: format!("exim -C (new config) -bP {}", setting.name),
                    status: "unexpected value".into(),
                    stderr: format!(
                        "Exim reads {} = {value:?}, not the planned {:?}; nothing was written",
                        setting.name, setting.after
                    ),
                });
            }
        }
        Ok(())
    }

    /// Copies a Debian folder with the plan's files in place, runs
    /// `update-exim4.conf` on the copy, and returns the generated file.
    fn stage_debian(&self, dir: &Path, plan: &Plan, staged: &Path) -> Result<PathBuf> {
        let program = find_program("update-exim4.conf").ok_or_else(|| Error::MissingProgram {
            program: "update-exim4.conf".into(),
            hint: "a Debian config folder is turned into Exim's config by update-exim4.conf (package exim4-config)"
                .into(),
        })?;
        let copy = staged.join("exim4");
        copy_tree(dir, &copy)?;
        for change in &plan.changes {
            let relative = change
                .path
                .strip_prefix(dir)
                .expect("plan files live in the config folder");
            let target = copy.join(relative);
            fs_err::write(&target, &change.after).map_err(Error::io(&target, "cannot stage the new config"))?;
        }
        let out = staged.join("config.autogenerated");
        run_program(&program, &["-d", &copy.to_string_lossy(), "-o", &out.to_string_lossy()])?;
        // update-exim4.conf takes exim4.conf.localmacros only when /etc/exim4's
        // exists; it puts the file before the template, so prepend it the same way.
        if let Layout::Debian { split: false, .. } = self.layout {
            if !Path::new("/etc/exim4").join(layout::UNSPLIT_MACROS).exists() {
                let macros = copy.join(layout::UNSPLIT_MACROS);
                if let Ok(text) = std::fs::read_to_string(&macros) {
                    let generated = read_text(&out)?;
                    fs_err::write(&out, format!("{text}\n{generated}")).map_err(Error::io(&out, "cannot stage"))?;
                }
            }
        }
        Ok(out)
    }
}

/// Where `update-exim4.conf` writes the config of a Debian folder other than /etc/exim4.
fn generated_file(dir: &Path) -> PathBuf {
    dir.join("config.autogenerated")
}

/// Version, TLS library and default config file from `exim -bV`.
fn about(exim: &Path) -> (Option<String>, Option<TlsLibrary>, Option<PathBuf>) {
    // -C /dev/null: the build's facts without depending on a readable default config.
    let build = run_program(exim, &["-C", "/dev/null", "-bV"]).unwrap_or_default();
    let version = build
        .lines()
        .find_map(|l| l.strip_prefix("Exim version "))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string);
    let library = build.lines().find_map(|l| {
        let features = l.strip_prefix("Support for:")?;
        let words: Vec<&str> = features.split_whitespace().collect();
        if words.contains(&"GnuTLS") {
            Some(TlsLibrary::GnuTls)
        } else if words.contains(&"OpenSSL") {
            Some(TlsLibrary::OpenSsl)
        } else {
            None
        }
    });
    let default = std::process::Command::new(exim).arg("-bV").output().ok().and_then(|o| {
        String::from_utf8_lossy(&o.stdout).lines().find_map(|l| {
            l.strip_prefix("Configuration file is ")
                .map(|f| PathBuf::from(f.trim()))
        })
    });
    (version, library, default)
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(Error::io(to, "cannot create"))?;
    for entry in std::fs::read_dir(from).map_err(Error::io(from, "cannot list"))? {
        let entry = entry.map_err(Error::io(from, "cannot list"))?;
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_tree(&path, &target)?;
        } else if path.is_file() {
            std::fs::copy(&path, &target).map_err(Error::io(&path, "cannot copy"))?;
        }
    }
    Ok(())
}

/// Exim replaces macro names wherever one starts in a line, even inside a
/// word (`/x/bMYDIRc` reads as `/x/b/etc/mailc` when MYDIR is defined; seen
/// with `exim -bP`): a path in which a macro of this config, or one of
/// Exim's own (`_HAVE_TLS`: `_` and a capital), starts would name another file.
fn macro_free(option: &str, path: &str, eff: &Effective) -> Result<()> {
    for (i, c) in path.char_indices() {
        let rest = &path[i..];
        if c == '_' && rest[1..].starts_with(|n: char| n.is_ascii_uppercase()) {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            return Err(Error::Usage(format!(
                "{option}: the path {path:?} contains {name:?}, which Exim reads as one of its built-in macros (`_` and a capital); use a path without it"
            )));
        }
        if c.is_ascii_uppercase() {
            if let Some(name) = eff.macros.keys().find(|name| rest.starts_with(name.as_str())) {
                return Err(Error::Usage(format!(
                    "{option}: the path {path:?} contains {name:?}, a macro this Exim config defines, which Exim would replace; use a path without it"
                )));
            }
        }
    }
    Ok(())
}

/// With per-listener floors, GnuTLS Exim's `tls_require_ciphers` becomes one
/// priority string per port, chosen when a connection starts TLS (the option
/// is expanded per connection, `$received_port` set):
/// `${if eq{$received_port}{25}{OLD}{BASE}}`. None without floors. OpenSSL
/// builds are refused: `openssl_options`, which turns protocols off there,
/// is read once and never expanded per connection.
fn per_port_priority(
    request: &Request,
    library: harden::TlsLibrary,
    listeners: &[crate::mta::Listener],
) -> Result<Option<String>> {
    let mut ports: Vec<(u16, &crate::profile::Profile)> = Vec::new();
    for l in listeners.iter().filter(|l| l.tls.is_tls()) {
        if request.floors.floor(&request.profile, l).is_none() {
            continue;
        }
        let own = request.profile_for(l);
        match ports.iter().find(|(p, _)| *p == l.port) {
            Some((_, other)) if other.name != own.name => {
                return Err(Error::Config(format!(
                    "Exim chooses TLS settings by port ($received_port), not by address: port {} would need both profile {} and {}",
                    l.port, other.name, own.name
                )))
            }
            Some(_) => {}
            None => ports.push((l.port, own)),
        }
    }
    if ports.is_empty() {
        return Ok(None);
    }
    if library == harden::TlsLibrary::OpenSsl {
        return Err(Error::Config(format!(
            "Exim with OpenSSL cannot hold port {} to profile {} while its other ports follow {}: openssl_options, which turns protocols off, is read once at start and never expanded per connection",
            ports[0].0, ports[0].1.name, request.profile.name
        )));
    }
    let mut expression = harden::gnutls_priority(&request.profile);
    for (port, own) in ports.iter().rev() {
        expression = format!(
            "${{if eq{{$received_port}}{{{port}}}{{{}}}{{{expression}}}}}",
            harden::gnutls_priority(own)
        );
    }
    Ok(Some(expression))
}
