//! The Postfix backend: finds an instance (`--config` is its config
//! directory, as `postconf -c` takes it), plans main.cf and master.cf edits
//! from a profile, validates staged files with `postfix check` and
//! `postconf`, and says how to reload.

pub(crate) mod backend;
mod harden;
mod listeners;
mod protocols;
mod references;
mod stacks;

use std::path::{Path, PathBuf};

use crate::edit::postfix_main::MainCf;
use crate::edit::postfix_master::MasterCf;
use crate::error::{Error, Result};
use crate::mta::backend::{PlanBuilder, Staging, ANCHOR};
use crate::mta::{
    certificate_weaknesses, effective_values, find_program, parse_document, path_value, program_path, read_text,
    run_program, service_reload, Detected, MtaKind, Reload, Request,
};
use crate::plan::{FileChange, Plan, SettingChange};
use crate::tls::Protocol;
use references::Source;

/// The groups that may read the private key besides root: Postfix reads its key as root before it drops privileges ("read-only access to root, and no access to anyone else", smtpd_tls_key_file); Debian's ssl-cert group is the one exception.
const KEY_READERS: crate::cert::KeyReaders = &["ssl-cert"];

/// What Postfix reads as syntax in a path written into its config.
const PATHS: crate::mta::PathSyntax = crate::mta::PathSyntax {
    server: "Postfix (main.cf)",
    special: &[',', '$', '#', '{', '}', '='],
};

/// A Postfix version, major and minor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32);

impl Version {
    fn parse(text: &str) -> Option<Version> {
        let mut parts = text.trim().split('.');
        Some(Version(parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    }
}

/// What a profile sets in main.cf on the Postfix installed here (3.6+ syntax when unknown).
pub fn settings_for(profile: &crate::profile::Profile) -> Vec<(&'static str, String)> {
    let version = find_program("postconf")
        .and_then(|p| run_program(&p, &["-d", "-h", "mail_version"]).ok())
        .and_then(|v| Version::parse(&v))
        .unwrap_or(Version(3, 6));
    let mut out = harden::desired(profile, Some(version));
    out.push((
        "smtpd_tls_security_level",
        "may (when TLS is off; stricter levels are kept)".into(),
    ));
    out
}

/// A Postfix instance.
pub struct Postfix {
    config_dir: PathBuf,
    postconf: Option<PathBuf>,
    version: Option<String>,
}

impl Postfix {
    pub fn installed() -> bool {
        find_program("postconf").is_some()
    }

    pub fn open(config: Option<&Path>) -> Result<Postfix> {
        let postconf = find_program("postconf");
        let config_dir = match (config, &postconf) {
            (Some(dir), _) => dir.to_path_buf(),
            (None, Some(postconf)) => PathBuf::from(run_program(postconf, &["-h", "config_directory"])?.trim()),
            (None, None) => {
                return Err(Error::MissingProgram {
                    program: "postconf".into(),
                    hint: "Postfix does not seem to be installed; point --config at a Postfix config directory".into(),
                })
            }
        };
        let config_dir = std::path::absolute(&config_dir).map_err(Error::io(&config_dir, "cannot resolve the path"))?;
        if !config_dir.join("main.cf").is_file() && stacks::Overrides::detect(&config_dir)?.is_none() {
            return Err(Error::Config(format!(
                "{} has no main.cf: --config takes a Postfix config directory (like /etc/postfix)",
                config_dir.display()
            )));
        }
        let version = match &postconf {
            Some(postconf) => Some(run_program(postconf, &["-d", "-h", "mail_version"])?.trim().to_string()),
            None => None,
        };
        Ok(Postfix {
            config_dir,
            postconf,
            version,
        })
    }

    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    fn main_path(&self) -> PathBuf {
        self.config_dir.join("main.cf")
    }

    fn master_path(&self) -> PathBuf {
        self.config_dir.join("master.cf")
    }

    fn read(&self) -> Result<(String, MainCf, String, MasterCf)> {
        let main_text = read_text(&self.main_path())?;
        let main: MainCf = parse_document("a Postfix", &self.main_path(), &main_text)?;
        let master_text = read_text(&self.master_path())?;
        let master: MasterCf = parse_document("a Postfix", &self.master_path(), &master_text)?;
        Ok((main_text, main, master_text, master))
    }

    fn version(&self) -> Option<Version> {
        self.version.as_deref().and_then(Version::parse)
    }

    /// Whether this is the host's default instance (reloaded through the service manager).
    fn is_default_instance(&self) -> bool {
        let default = self
            .postconf
            .as_ref()
            .and_then(|p| run_program(p, &["-h", "config_directory"]).ok())
            .map(|s| PathBuf::from(s.trim()))
            .unwrap_or_else(|| PathBuf::from("/etc/postfix"));
        same_file(&default, &self.config_dir)
    }

    pub fn detect(&self) -> Result<Detected> {
        let (_, main, _, master) = self.read()?;
        let profile = crate::profile::Profile::load(crate::profile::DEFAULT)?;
        let mut weaknesses = Vec::new();
        let mut tls_settings = Vec::new();
        let desired = harden::desired(&profile, self.version());
        let names: Vec<&str> = desired.iter().map(|(n, _)| *n).collect();
        let effective = self
            .postconf
            .as_ref()
            .map(|p| effective_values(p, &self.config_dir, &names))
            .unwrap_or_default();
        for (name, wanted) in &desired {
            let name = *name;
            let current = effective.get(name).cloned().or_else(|| main.get(name));
            tls_settings.push((name.to_string(), current.clone().unwrap_or_else(|| "(default)".into())));
            if name.ends_with("_protocols") && !harden::acceptable(name, current.as_deref(), wanted, &profile) {
                let on: Vec<&str> = protocols::enabled(current.as_deref().unwrap_or(""))
                    .iter()
                    .map(|p| p.name())
                    .collect();
                if on
                    .iter()
                    .any(|p| p.parse::<Protocol>().is_ok_and(|p| p < Protocol::TlsV1_2))
                {
                    weaknesses.push(format!("{name} allows {}", on.join(", ")));
                }
            }
        }
        for name in [
            "smtpd_tls_security_level",
            "smtpd_tls_cert_file",
            "smtpd_tls_key_file",
            "smtpd_tls_chain_files",
        ] {
            if let Some(value) = main.get(name) {
                tls_settings.push((name.to_string(), value));
            }
        }
        if main
            .get("smtpd_tls_ciphers")
            .is_none_or(|c| c == "medium" || c == "low" || c == "export")
        {
            weaknesses.push("smtpd_tls_ciphers allows medium-strength and anonymous (aNULL) suites".into());
        }
        for service in master.services() {
            for o in service.overrides() {
                // `-o name=$other` is judged by the value it refers to.
                let value = match Source::of(&o.value, &main, &[]) {
                    Source::Parameter { value, .. } | Source::Expression(value) => value,
                    _ => o.value.clone(),
                };
                let weak = match desired.iter().find(|(n, _)| *n == o.name) {
                    Some((name, wanted)) => !harden::acceptable(name, Some(&value), wanted, &profile),
                    None => false,
                };
                if weak {
                    weaknesses.push(format!(
                        "master.cf line {}: service {} overrides {} = {}",
                        service.line, service.name, o.name, o.value
                    ));
                }
            }
        }
        let listeners = listeners::listeners(&main, &master);
        for l in listeners.iter().filter(|l| !l.tls.is_tls()) {
            weaknesses.push(format!("{} ({}:{}) does not offer TLS", l.service, l.host, l.port));
        }
        if let Ok(Some((cert_path, key_path))) = self.current_cert(&main) {
            weaknesses.extend(certificate_weaknesses(
                &cert_path,
                &key_path,
                &profile.certificate,
                KEY_READERS,
            ));
        }
        Ok(Detected {
            mta: MtaKind::Postfix,
            version: self.version.clone(),
            tls_library: self.tls_library(),
            config: self.config_dir.clone(),
            config_files: vec![self.main_path(), self.master_path()],
            listeners,
            tls_settings,
            weaknesses,
        })
    }

    /// The TLS library smtpd links against, from its shared library list.
    fn tls_library(&self) -> Option<String> {
        let postconf = self.postconf.as_ref()?;
        let daemons = run_program(postconf, &["-h", "daemon_directory"]).ok()?;
        let ldd = run_program(Path::new("ldd"), &[&format!("{}/smtpd", daemons.trim())]).ok()?;
        let soname = ldd.split_whitespace().find(|w| w.starts_with("libssl.so."))?;
        let major = soname.trim_start_matches("libssl.so.");
        let exact = run_program(Path::new("openssl"), &["version"]).ok();
        Some(match exact.filter(|v| v.starts_with(&format!("OpenSSL {major}"))) {
            Some(v) => v.split_whitespace().take(2).collect::<Vec<_>>().join(" "),
            None => format!("OpenSSL ({soname})"),
        })
    }

    /// The certificate and key files main.cf configures for smtpd, if any.
    fn current_cert(&self, main: &MainCf) -> Result<Option<(PathBuf, PathBuf)>> {
        let expand = |v: String| PathBuf::from(expand(&v, main, &self.config_dir));
        if let Some(chain) = main.get("smtpd_tls_chain_files").filter(|v| !v.is_empty()) {
            let files: Vec<PathBuf> = chain
                .split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(|s| expand(s.into()))
                .collect();
            // Postfix wants the key first, then the certificates; one file may hold both.
            return Ok(match files.as_slice() {
                [one] => Some((one.clone(), one.clone())),
                [key, cert, ..] => Some((cert.clone(), key.clone())),
                [] => None,
            });
        }
        let cert = main.get("smtpd_tls_cert_file").filter(|v| !v.is_empty()).map(expand);
        let key = main.get("smtpd_tls_key_file").filter(|v| !v.is_empty()).map(expand);
        Ok(match (cert, key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            // Postfix reads the key from the certificate file when no key file is set.
            (Some(cert), None) => Some((cert.clone(), cert)),
            _ => None,
        })
    }

    pub fn plan(&self, request: &Request) -> Result<Plan> {
        let profile = &request.profile;
        stacks::refuse_inside_docker_mailserver(Path::new("/"), &self.config_dir)?;
        // docker-mailserver or Mailu on their host: the folder of local settings, no main.cf.
        let host_stack = stacks::Overrides::detect(&self.config_dir)?;
        let (main_before, mut main, master_before, mut master) = match &host_stack {
            Some(stack) => {
                if request.cert.is_some() {
                    stack.refuse_cert()?;
                }
                let main = stack.main().map_err(|e| Error::Parse {
                    path: stack.file.clone(),
                    line: e.line,
                    message: e.message,
                })?;
                let master: MasterCf = parse_document("a Postfix", &self.master_path(), "")?;
                (String::new(), main, String::new(), master)
            }
            None => self.read()?,
        };
        let mut plan = PlanBuilder::new(MtaKind::Postfix, self.config_dir.clone(), request);
        if let Some(stack) = &host_stack {
            plan.warn(stack.note());
        }
        // A mail stack that rewrites main.cf at start: read what it assembles, write where it keeps local settings.
        let mailcow = stacks::Mailcow::detect(&self.config_dir, &main_before)?;
        if let Some(m) = &mailcow {
            main = m.main(&main_before).map_err(|e| Error::Parse {
                path: m.extra.clone(),
                line: e.line,
                message: e.message,
            })?;
            plan.warn(m.note());
        }
        stacks::refuse_mail_in_a_box(&main, &self.main_path())?;
        plan.warnings_mut()
            .extend(crate::mta::crypto_policies::describe(Path::new("/")));
        plan.warnings_mut().extend(profile.tls13_unexpressible("Postfix"));
        let main_path = match (&mailcow, &host_stack) {
            (Some(m), _) => m.extra.clone(),
            (_, Some(stack)) => stack.file.clone(),
            _ => self.main_path(),
        };
        let master_path = self.master_path();
        if self.version.is_none() {
            plan.warn("postconf not found: Postfix's version is unknown, so the protocol settings use the syntax every version understands");
        }

        let set_main = |main: &mut MainCf, settings: &mut Vec<SettingChange>, name: &str, value: &str| {
            references::set_main(main, settings, &main_path, ANCHOR, name, value)
        };

        // Without a server certificate inbound TLS cannot work: leave the smtpd_
        // side as it is and harden the outbound (smtp_) and shared settings.
        let inbound = match &host_stack {
            Some(stack) => stack.serves_inbound(),
            None => request.cert.is_some() || self.current_cert(&main)?.is_some(),
        };
        let mut desired = harden::desired(profile, self.version());
        if !inbound {
            desired.retain(|(name, _)| !name.starts_with("smtpd_"));
        }
        let hardened: Vec<&str> = desired.iter().map(|(n, _)| *n).collect();
        for (name, wanted) in &desired {
            let raw = main.get(name);
            let source = raw.as_deref().map(|r| Source::of(r, &main, &hardened));
            match source {
                None | Some(Source::Literal) => {
                    if !harden::acceptable(name, raw.as_deref(), wanted, profile) {
                        set_main(&mut main, plan.settings_mut(), name, wanted);
                    }
                }
                // The parameter it points to is hardened to the same profile.
                Some(Source::Hardened(_)) => {}
                Some(Source::Parameter { name: target, value }) => {
                    if !harden::acceptable(name, Some(&value), wanted, profile) {
                        set_main(&mut main, plan.settings_mut(), &target, wanted);
                        plan.warn(format!(
                            "{name} = {}: changed {target}, the parameter it refers to, so the reference stays",
                            raw.unwrap_or_default()
                        ));
                    }
                }
                Some(Source::Expression(value)) => {
                    if !harden::acceptable(name, Some(&value), wanted, profile) {
                        set_main(&mut main, plan.settings_mut(), name, wanted);
                        plan.warn(format!(
                            "{name} = {} (= {value}) is weak: replaced the line, since the expression mixes references and text",
                            raw.unwrap_or_default()
                        ));
                    }
                }
                Some(Source::Unresolved(target)) => {
                    set_main(&mut main, plan.settings_mut(), name, wanted);
                    plan.warn(format!(
                        "{name} = {}: main.cf does not set {target}, so the reference was replaced by the value",
                        raw.unwrap_or_default()
                    ));
                }
            }
        }
        if request.outbound_dane {
            // TLS_README "DANE": the dane level, with DNSSEC lookups through a validating resolver.
            let level = main.get("smtp_tls_security_level").unwrap_or_default();
            match level.trim() {
                "verify" | "secure" => plan.warn(format!(
                    "smtp_tls_security_level = {} is stricter than dane: left as it is (--outbound-dane)",
                    level.trim()
                )),
                "dane-only" => {
                    set_main(&mut main, plan.settings_mut(), "smtp_dns_support_level", "dnssec");
                }
                _ => {
                    set_main(&mut main, plan.settings_mut(), "smtp_dns_support_level", "dnssec");
                    set_main(&mut main, plan.settings_mut(), "smtp_tls_security_level", "dane");
                }
            }
            for service in master.services() {
                if let Some(value) = service.override_of("smtp_tls_security_level") {
                    plan.warn(format!(
                        "{}/{} (master.cf line {}) sets -o smtp_tls_security_level={value}, which wins over main.cf for its deliveries; left as is",
                        service.name, service.kind, service.line
                    ));
                }
            }
        }
        let level = main.get("smtpd_tls_security_level").unwrap_or_default();
        let legacy_on = main.get("smtpd_use_tls").as_deref() == Some("yes");
        // A stack's image sets its own level; judged over the defaults it would look unset.
        if inbound && host_stack.is_none() && ((level.is_empty() && !legacy_on) || level == "none") {
            set_main(&mut main, plan.settings_mut(), "smtpd_tls_security_level", "may");
        }

        let cert_files = match &request.cert {
            Some((cert, key)) => {
                let cert = path_value("--cert", cert, &PATHS)?;
                let key = path_value("--key", key, &PATHS)?;
                if main.get("smtpd_tls_chain_files").is_some_and(|v| !v.is_empty()) {
                    set_main(
                        &mut main,
                        plan.settings_mut(),
                        "smtpd_tls_chain_files",
                        &format!("{}, {}", key.display(), cert.display()),
                    );
                } else {
                    set_main(
                        &mut main,
                        plan.settings_mut(),
                        "smtpd_tls_cert_file",
                        &cert.display().to_string(),
                    );
                    set_main(
                        &mut main,
                        plan.settings_mut(),
                        "smtpd_tls_key_file",
                        &key.display().to_string(),
                    );
                }
                Some((cert, key))
            }
            None => self.current_cert(&main)?,
        };

        for index in 0..master.services().len() {
            let service = &master.services()[index];
            let scope = format!("{}/{}", service.name, service.kind);
            // A listener held to its own floor gets it as `-o` overrides on its service line.
            if let Some(listener) = listeners::listener_of(service, &main).filter(|l| inbound && l.tls.is_tls()) {
                if request.floors.floor(profile, &listener).is_some() {
                    let own = request.profile_for(&listener);
                    if service.command == "postscreen" {
                        return Err(Error::Config(format!(
                            "{scope} (master.cf line {}) runs postscreen, which hands STARTTLS to tlsproxy and to the `smtpd pass` service every postscreen listener shares: Postfix cannot hold this listener to profile {} from its service line; set the floor on the smtpd pass and tlsproxy services by hand, or drop it",
                            service.line, own.name
                        )));
                    }
                    for (name, wanted) in harden::listener_desired(own, self.version()) {
                        let service = &master.services()[index];
                        let current = service.override_of(name);
                        let inherited = current.clone().or_else(|| main.get(name));
                        if inherited.as_deref().map(str::trim) == Some(wanted.as_str()) {
                            continue;
                        }
                        master.set_or_add_override(index, name, &wanted);
                        plan.set(master_path.clone(), format!("{scope}: {name}"), current, wanted);
                    }
                    continue;
                }
            }
            let service = &master.services()[index];
            let mut edits = Vec::new();
            let mut main_edits: Vec<(String, String)> = Vec::new();
            for o in service.overrides() {
                let Some((_, wanted)) = desired.iter().find(|(n, _)| *n == o.name) else {
                    continue;
                };
                if service.override_of(&o.name).as_deref() != Some(o.value.as_str()) {
                    continue;
                }
                // `-o name=$other`: judge what it refers to; where weak, change that parameter in main.cf.
                let effective = match Source::of(&o.value, &main, &hardened) {
                    Source::Literal => o.value.clone(),
                    Source::Hardened(target) => main.get(&target).unwrap_or_default(),
                    Source::Expression(value) => value,
                    Source::Unresolved(_) => String::new(),
                    Source::Parameter { name: target, value } => {
                        if !harden::acceptable(&o.name, Some(&value), wanted, profile) {
                            main_edits.push((target.clone(), wanted.clone()));
                            plan.warn(format!(
                                "{scope}: -o {}={}: changed {target} in main.cf, the parameter it refers to, so the reference stays",
                                o.name, o.value
                            ));
                        }
                        continue;
                    }
                };
                if !harden::acceptable(&o.name, Some(&effective), wanted, profile) {
                    edits.push((o.name.clone(), o.value.clone(), wanted.clone()));
                }
            }
            if service.kind == "inet" && service.override_of("smtpd_tls_security_level").as_deref() == Some("none") {
                plan.warn(format!(
                    "{} (master.cf line {}) turns TLS off with -o smtpd_tls_security_level=none; left as is",
                    service.name, service.line
                ));
            }
            for (name, value) in main_edits {
                set_main(&mut main, plan.settings_mut(), &name, &value);
            }
            for (name, before, after) in edits {
                master.set_override(index, &name, &after);
                plan.set(master_path.clone(), format!("{scope}: {name}"), Some(before), after);
            }
        }

        let listeners = listeners::listeners(&main, &master);
        let serves_tls = listeners.iter().any(|l| l.tls.is_tls());
        match cert_files {
            // The certificate is inside the stack's container, not on this host.
            _ if host_stack.is_some() => {}
            Some((cert_path, key_path)) => plan.check_certificate(&cert_path, &key_path, KEY_READERS)?,
            None => plan.warn(format!(
                "Postfix has no server certificate (smtpd_tls_cert_file is empty): outbound (smtp_) settings are hardened, inbound TLS is left as is{}; give --cert and --key to harden it too",
                if serves_tls { " and not verified" } else { "" }
            )),
        }
        let overlay = match (&mailcow, &host_stack) {
            (Some(m), _) => Some((m.extra.clone(), m.extra_before.clone())),
            (_, Some(stack)) => Some((stack.file.clone(), stack.before.clone())),
            _ => None,
        };
        let after = main.overlay_text();
        match overlay {
            // A file that does not exist is created only when there is something to put in it.
            Some((path, before)) if before.is_some() || !after.is_empty() => plan.change(FileChange {
                path,
                created: before.is_none(),
                before: before.unwrap_or_default(),
                after,
            }),
            Some(_) => {}
            None => plan.file(self.main_path(), main_before, main.to_string()),
        }
        match &host_stack {
            Some(stack) => {
                if let Some((path, text)) = &stack.master {
                    let (after, edits) = stacks::harden_master_overrides(text, &desired, |name, value, wanted| {
                        harden::acceptable(name, Some(value), wanted, profile)
                    });
                    for (scope, before, after) in edits {
                        plan.set(path.clone(), scope, Some(before), after);
                    }
                    plan.file(path.clone(), text.clone(), after);
                }
            }
            None => plan.file(self.master_path(), master_before, master.to_string()),
        }
        let reload = match (&mailcow, &host_stack, &request.reload_command) {
            (Some(m), _, None) => m.reload(&request.container).unwrap_or_else(|| self.reload(request)),
            (_, Some(stack), None) => stack.reload(&request.container)?,
            _ => self.reload(request),
        };
        // Without a server certificate inbound TLS is left alone, so there is nothing to verify;
        // a stack's listeners are its container's, not this host's config's.
        let verified = inbound && host_stack.is_none();
        Ok(plan.finish(reload, if verified { listeners } else { Vec::new() }))
    }

    fn reload(&self, request: &Request) -> Reload {
        let postfix = program_path("postfix");
        let own = if self.is_default_instance() {
            vec![postfix, "reload".into()]
        } else {
            vec![
                postfix,
                "-c".into(),
                self.config_dir.display().to_string(),
                "reload".into(),
            ]
        };
        service_reload(request, self.is_default_instance(), "postfix", own)
    }

    /// Whether the instance's master daemon is running (`postfix status`).
    /// A stack's folder on its host: taken as running, so that the reload (a
    /// container restart, which also starts a stopped one) is what tells.
    pub fn running(&self) -> bool {
        if !self.main_path().exists() && matches!(stacks::Overrides::detect(&self.config_dir), Ok(Some(_))) {
            return true;
        }
        find_program("postfix").is_some_and(|p| {
            std::process::Command::new(p)
                .arg("-c")
                .arg(&self.config_dir)
                .arg("status")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    }

    /// Copies the config with the plan's files in place into a private
    /// directory and runs `postfix check` and `postconf -n` on it: any
    /// failure, or a postconf warning the live config does not have, refuses the plan.
    pub fn validate(&self, plan: &Plan) -> Result<()> {
        let staged = Staging::new("Postfix", "postfix", find_program("postfix"), "postfix check")?;
        let postconf = self.postconf.clone().ok_or_else(|| Error::MissingProgram {
            program: "postconf".into(),
            hint: "applying needs Postfix's postconf".into(),
        })?;
        if let Some(stack) = stacks::Overrides::detect(&self.config_dir)? {
            return validate_overrides(&stack, &staged, &postconf, plan);
        }
        for change in &plan.changes {
            let name = change.path.file_name().expect("config files have names");
            staged.write(name, &change.after)?;
        }
        // mailcow: the container's main.cf is its own part of main.cf followed by extra.cf.
        let live_main = read_text(&self.main_path())?;
        if let Some(m) = stacks::Mailcow::detect(&self.config_dir, &live_main)? {
            let extra = plan
                .changes
                .iter()
                .find(|c| c.path == m.extra)
                .map(|c| c.after.clone())
                .or(m.extra_before)
                .unwrap_or_default();
            let assembled = format!("{}\n{extra}", stacks::base(&live_main));
            fs_err::write(staged.path().join("main.cf"), assembled)
                .map_err(Error::io(staged.path(), "cannot stage the new config"))?;
        }
        let staged_dir = staged
            .path()
            .to_str()
            .ok_or_else(|| Error::Config("temporary directory path is not UTF-8".into()))?;
        if let Err(error) = run_program(staged.checker(), &["-c", staged_dir, "check"]) {
            return Err(check_reason(staged.checker(), staged.path(), error));
        }
        let live_dir = self.config_dir.to_string_lossy().into_owned();
        let warnings = |dir: &str| -> Result<Vec<String>> {
            let output = std::process::Command::new(&postconf)
                .args(["-c", dir, "-n"])
                .output()
                .map_err(Error::io(&postconf, "cannot run postconf"))?;
            if !output.status.success() {
                return Err(Error::Command {
                    program: format!("postconf -c {dir} -n"),
                    status: output.status.to_string(),
                    stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
                });
            }
            Ok(String::from_utf8_lossy(&output.stderr)
                .lines()
                .map(|l| l.replace(dir, ""))
                .collect())
        };
        let before = warnings(&live_dir)?;
        Staging::refuse_new_warnings("postconf -n", before, warnings(staged_dir)?)
    }
}

/// A stack's override file on its host: `postconf -n` on it alone as main.cf,
/// before and after; a new warning refuses the plan. `postfix check` would
/// judge the container's queue and paths, which are not on this host.
fn validate_overrides(stack: &stacks::Overrides, staged: &Staging, postconf: &Path, plan: &Plan) -> Result<()> {
    let after = plan
        .changes
        .iter()
        .find(|c| c.path == stack.file)
        .map(|c| c.after.clone())
        .or_else(|| stack.before.clone())
        .unwrap_or_default();
    let dir = staged.path().display().to_string();
    // master.cf is the image's; an empty one keeps postconf from warning that there is none.
    staged.write("master.cf", "")?;
    let warnings = |text: &str| -> Result<Vec<String>> {
        staged.write("main.cf", text)?;
        let output = std::process::Command::new(postconf)
            .args(["-c", &dir, "-n"])
            .output()
            .map_err(Error::io(postconf, "cannot run postconf"))?;
        if !output.status.success() {
            return Err(Error::Command {
                program: format!("postconf -n on {}", stack.file.display()),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stderr)
            .lines()
            .map(|l| l.replace(&dir, ""))
            .collect())
    };
    let before = warnings(stack.before.as_deref().unwrap_or(""))?;
    Staging::refuse_new_warnings("postconf -n", before, warnings(&after)?)
}

/// `postfix check` reports to the log, not to stderr (unless stderr is a
/// terminal): when it failed without a word, run it again on the staged copy
/// with `maillog_file = /dev/stdout` (Postfix 3.4+) and show what it logged,
/// like `fatal: chdir(/queue): No such file or directory`.
fn check_reason(postfix: &Path, staged: &Path, error: Error) -> Error {
    let Error::Command {
        program,
        status,
        stderr,
    } = error
    else {
        return error;
    };
    if !stderr.trim().is_empty() {
        return Error::Command {
            program,
            status,
            stderr,
        };
    }
    let main = staged.join("main.cf");
    let logged = fs_err::read_to_string(&main)
        .and_then(|text| fs_err::write(&main, format!("{text}\nmaillog_file = /dev/stdout\n")))
        .ok()
        .and_then(|()| {
            std::process::Command::new(postfix)
                .arg("-c")
                .arg(staged)
                .arg("check")
                .output()
                .ok()
        })
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.contains("fatal:") || l.contains("error:") || l.contains("warning:"))
                .map(|l| l.split_once("]: ").map_or(l, |(_, msg)| msg).to_string())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    Error::Command {
        program,
        status,
        stderr: if logged.is_empty() {
            "(no message: see the mail log)".into()
        } else {
            logged
        },
    }
}

/// Expands `$name` and `${name}` from main.cf (and `config_directory`), as Postfix does for paths.
fn expand(value: &str, main: &MainCf, config_dir: &Path) -> String {
    let lookup = |name: &str| match name {
        "config_directory" => Some(config_dir.display().to_string()),
        _ => main.get(name),
    };
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, tail) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], &inner[end + 1..]),
                None => (inner, ""),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        match lookup(name) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[at..rest.len() - tail.len()]),
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
