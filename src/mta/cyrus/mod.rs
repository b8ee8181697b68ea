//! The Cyrus IMAP backend (IMAP and POP3; Debian 12 ships 3.6). `--config`
//! is the imapd.conf; cyrus.conf, whose `SERVICES` say what listens where,
//! is found beside it, else at /etc/cyrus.conf.
//!
//! A profile sets `tls_versions`, `tls_ciphers` and
//! `tls_prefer_server_ciphers` (and `tls_server_cert`/`tls_server_key` with
//! `--cert`/`--key`) where imapd.conf sets them, or on new lines at its end
//! (`@include`d files are read, never edited: see `includes`).
//! A value prefixed with a cyrus.conf service name (`imap_tls_ciphers`,
//! `pop3s_tls_versions`) overrides the plain one for that service alone:
//! those that would weaken the profile are rewritten in place, and a
//! service whose certificate is `disabled` is reported and left without TLS.
//! Cyrus checks its config with `cyr_info conf-lint`, and reloads on SIGHUP
//! to its master (see `master`).

pub(crate) mod backend;
mod check;
mod detect;
mod harden;
mod includes;
pub mod master;
mod services;

use std::path::{Path, PathBuf};

use crate::edit::imapd_conf::ImapdConf;
use crate::error::{Error, Result};
use crate::mta::{check_certificate, find_program, path_value, read_text, MtaKind, Reload, Request};
use crate::plan::{FileChange, Plan, SettingChange};
use crate::profile::Profile;

use includes::Included;
use services::Service;

const ANCHOR: &str = "# TLS settings added by mailtls (`mailtls history` lists its changes)";
pub const DEFAULT_CONFIG: &str = "/etc/imapd.conf";
const DEFAULT_CYRUS_CONF: &str = "/etc/cyrus.conf";
/// Cyrus takes the rest of the line: `,` would name a second file, `{` start
/// `{configdirectory}`, a final `\` continue the line.
const PATHS: crate::mta::PathSyntax = crate::mta::PathSyntax {
    server: "Cyrus (imapd.conf)",
    special: &[',', '{', '\\'],
};
/// Cyrus's services read the key as the `cyrus` user (group `mail` on
/// Debian), after dropping root: `root:mail 0640`, or `ssl-cert` with cyrus in it.
const KEY_READERS: crate::cert::KeyReaders = &["ssl-cert", "mail"];
/// How messages name this server's config.
const SERVER: &str = "a Cyrus imapd.conf";
const CERT: &str = "tls_server_cert";
const KEY: &str = "tls_server_key";

/// What a profile sets in imapd.conf (for `mailtls profiles`).
pub fn settings_for(profile: &Profile) -> Vec<(&'static str, String)> {
    harden::desired(profile)
}

pub struct Cyrus {
    config: PathBuf,
    cyrus_conf: PathBuf,
    /// master's folder (/usr/lib/cyrus/bin), where cyr_info lives too.
    bin: Option<PathBuf>,
}

/// The imapd.conf as read, with the services that read it.
struct Loaded {
    text: String,
    conf: ImapdConf,
    included: Vec<Included>,
    services: Vec<Service>,
}

impl Loaded {
    /// A setting's value, from imapd.conf as `conf` has it (maybe edited) or from an included file.
    fn get<'a>(&'a self, conf: &'a ImapdConf, key: &str) -> Option<&'a str> {
        conf.get(key)
            .or_else(|| includes::find(&self.included, key).map(|(_, _, v)| v))
    }
}

impl Cyrus {
    /// Debian's cyrmaster, or master on PATH, resolved to the folder it lives in.
    fn bin() -> Option<PathBuf> {
        let master = find_program("cyrmaster").or_else(|| {
            find_program("master").filter(|m| m.parent().and_then(|p| p.file_name()).is_some_and(|n| n == "bin"))
        })?;
        std::fs::canonicalize(master).ok()?.parent().map(Path::to_path_buf)
    }

    pub fn installed() -> bool {
        Cyrus::bin().is_some() && Path::new(DEFAULT_CONFIG).is_file()
    }

    /// A file named imapd.conf, a folder holding one, or a file whose settings include `configdirectory`.
    pub fn recognizes(path: &Path) -> bool {
        if path.is_dir() {
            return path.join("imapd.conf").is_file();
        }
        if path.file_name().is_some_and(|n| n == "imapd.conf") {
            return true;
        }
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| ImapdConf::parse(&t).ok())
            .is_some_and(|c| c.get("configdirectory").is_some())
    }

    pub fn open(config: Option<&Path>) -> Result<Cyrus> {
        let config = match config {
            Some(path) if path.is_dir() => path.join("imapd.conf"),
            Some(path) => path.to_path_buf(),
            None => PathBuf::from(DEFAULT_CONFIG),
        };
        let config = std::path::absolute(&config).map_err(Error::io(&config, "cannot resolve the path"))?;
        if !config.is_file() {
            return Err(Error::Config(format!(
                "{} does not exist: --config takes Cyrus's imapd.conf (like /etc/imapd.conf)",
                config.display()
            )));
        }
        let beside = config.with_file_name("cyrus.conf");
        let cyrus_conf = if beside.is_file() {
            beside
        } else {
            PathBuf::from(DEFAULT_CYRUS_CONF)
        };
        Ok(Cyrus {
            config,
            cyrus_conf,
            bin: Cyrus::bin(),
        })
    }

    pub fn config_file(&self) -> &Path {
        &self.config
    }

    fn load(&self) -> Result<Loaded> {
        let text = read_text(&self.config)?;
        let conf = ImapdConf::parse(&text)
            .map_err(|e| crate::mta::syntax_error(SERVER, &self.config, &text, e.line, e.message))?;
        let included = includes::load(&self.config, &conf)?;
        // Cyrus refuses to start without `configdirectory`; a file without it
        // (`--config /etc/shadow` reads as `key: value` lines too) is not an imapd.conf.
        if conf.get("configdirectory").is_none() && includes::find(&included, "configdirectory").is_none() {
            let line = crate::mta::first_content_line(&text, &["#"]).map_or(1, |(n, _)| n);
            return Err(crate::mta::not_a_config(SERVER, &self.config, line));
        }
        let cyrus_conf = read_text(&self.cyrus_conf).map_err(|e| match e {
            Error::Io { .. } => Error::Config(format!(
                "{} cannot be read: Cyrus's cyrus.conf (its services) belongs beside {} or at {DEFAULT_CYRUS_CONF}",
                self.cyrus_conf.display(),
                self.config.display()
            )),
            e => e,
        })?;
        let services = services::parse(&self.cyrus_conf, &cyrus_conf)?;
        Ok(Loaded {
            text,
            conf,
            included,
            services,
        })
    }

    fn version(&self) -> Option<String> {
        let master = self.bin.as_ref()?.join("master");
        let out = std::process::Command::new(master).arg("-V").output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        // "cyrus-imapd 3.6.1-Debian-3.6.1-4+deb12u5"
        text.split_whitespace()
            .nth(1)
            .map(|v| v.split('-').next().unwrap_or(v).to_string())
    }

    /// Whether a service reads this instance's imapd.conf.
    fn ours(&self, service: &Service) -> bool {
        master::same_file(&service.config(), &self.config)
    }

    /// The IMAP and POP3 services reading this imapd.conf; the warnings say which others were left out.
    fn mail_services<'a>(&self, loaded: &'a Loaded, warnings: &mut Vec<String>) -> Vec<&'a Service> {
        let mut out = Vec::new();
        for service in loaded.services.iter().filter(|s| s.protocol().is_some()) {
            if !self.ours(service) {
                warnings.push(format!(
                    "{}:{}: service {} reads {}, not {}; left alone",
                    self.cyrus_conf.display(),
                    service.line,
                    service.name,
                    service.config().display(),
                    self.config.display()
                ));
            } else if service.address().is_some() {
                out.push(service);
            }
        }
        out
    }

    /// The certificate and key a service uses: its own (`NAME_tls_server_cert`) or the plain ones.
    fn cert_of(loaded: &Loaded, conf: &ImapdConf, service: &str) -> (Option<String>, Option<String>) {
        let get = |key: &str| {
            loaded
                .get(conf, &format!("{service}_{key}"))
                .or_else(|| loaded.get(conf, key))
                .map(str::to_string)
        };
        (get(CERT), get(KEY))
    }

    fn tls_on(cert: &(Option<String>, Option<String>)) -> bool {
        let on = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.eq_ignore_ascii_case("disabled"));
        on(&cert.0) && on(&cert.1)
    }

    /// A path value as Cyrus expands it (a leading `{configdirectory}`).
    fn expand(conf: &ImapdConf, value: &str) -> PathBuf {
        match value.strip_prefix("{configdirectory}") {
            Some(rest) => PathBuf::from(format!("{}{rest}", conf.get("configdirectory").unwrap_or(""))),
            None => PathBuf::from(value),
        }
    }

    pub fn plan(&self, request: &Request) -> Result<Plan> {
        let profile = &request.profile;
        let loaded = self.load()?;
        let mut conf = loaded.conf.clone();
        let mut settings = Vec::new();
        let mut warnings = Vec::new();
        let change = |conf: &mut ImapdConf, key: &str, wanted: &str, settings: &mut Vec<SettingChange>| {
            if conf.get(key).is_none() {
                if let Some((path, line, value)) = includes::find(&loaded.included, key) {
                    return Err(Error::Config(format!(
                        "{}:{line}: {key}: {value} is set in a file imapd.conf includes, and mailtls edits only {}: \
                         set it to `{wanted}` there, or move it into imapd.conf",
                        path.display(),
                        self.config.display()
                    )));
                }
            }
            let before = conf.get(key).map(str::to_string);
            conf.set(key, wanted, ANCHOR);
            settings.push(SettingChange {
                file: self.config.clone(),
                name: key.to_string(),
                before,
                after: wanted.to_string(),
            });
            Ok(())
        };

        let desired = harden::desired(profile);
        for (key, wanted) in &desired {
            if !harden::acceptable(key, loaded.get(&conf, key), profile) {
                change(&mut conf, key, wanted, &mut settings)?;
            }
        }
        let names: Vec<String> = loaded.services.iter().map(|s| s.name.to_ascii_lowercase()).collect();
        for (name, service) in names.iter().zip(&loaded.services) {
            // A service held to its own floor gets that profile's values as `SERVICE_key` overrides.
            let floor = service
                .listener(true)
                .filter(|l| request.floors.floor(profile, l).is_some())
                .map(|l| request.profile_for(&l).clone());
            if let Some(own) = floor {
                for (key, wanted) in harden::desired(&own) {
                    let full = format!("{name}_{key}");
                    // What the service reads: its own override, else the plain option as planned.
                    let inherited = loaded.get(&conf, &full).or_else(|| loaded.get(&conf, key));
                    if inherited != Some(wanted.as_str()) {
                        change(&mut conf, &full, &wanted, &mut settings)?;
                    }
                }
                continue;
            }
            for (key, wanted) in &desired {
                let full = format!("{name}_{key}");
                let current = loaded.get(&conf, &full);
                if current.is_some() && !harden::acceptable(key, current, profile) {
                    change(&mut conf, &full, wanted, &mut settings)?;
                }
            }
        }

        if let Some((cert, key)) = &request.cert {
            let cert = path_value("--cert", cert, &PATHS)?.display().to_string();
            let key = path_value("--key", key, &PATHS)?.display().to_string();
            for (setting, wanted) in [(CERT, &cert), (KEY, &key)] {
                if loaded.get(&conf, setting) != Some(wanted.as_str()) {
                    change(&mut conf, setting, wanted, &mut settings)?;
                }
                for name in &names {
                    let full = format!("{name}_{setting}");
                    match loaded.get(&conf, &full) {
                        Some(v) if !v.eq_ignore_ascii_case("disabled") && v != wanted.as_str() => {
                            change(&mut conf, &full, wanted, &mut settings)?
                        }
                        _ => {}
                    }
                }
            }
        }

        warnings.extend(profile.tls13_unexpressible("Cyrus 3.6"));

        // Listeners as they will be, each with the certificate it will use.
        let services = self.mail_services(&loaded, &mut warnings);
        let mut listeners = Vec::new();
        let mut pairs: Vec<(String, String)> = Vec::new();
        for service in &services {
            let cert = Cyrus::cert_of(&loaded, &conf, &service.name);
            if !Cyrus::tls_on(&cert) {
                if cert.0.as_deref().is_some_and(|c| c.eq_ignore_ascii_case("disabled"))
                    || cert.1.as_deref().is_some_and(|c| c.eq_ignore_ascii_case("disabled"))
                {
                    warnings.push(format!(
                        "service {}: its certificate is `disabled`, so it offers no TLS; left as is",
                        service.name
                    ));
                }
                continue;
            }
            if let (Some(c), Some(k)) = cert {
                if !pairs.contains(&(c.clone(), k.clone())) {
                    pairs.push((c, k));
                }
            }
            listeners.extend(service.listener(true));
        }
        if !services.is_empty() && listeners.is_empty() && request.cert.is_none() {
            return Err(Error::Config(format!(
                "Cyrus has no server certificate ({CERT}/{KEY} are unset in {}): give one with --cert and --key",
                self.config.display()
            )));
        }
        let mut shas = Vec::new();
        for (cert, key) in &pairs {
            for (cert, key) in cert.split(',').zip(key.split(',')) {
                let sha = check_certificate(
                    request,
                    &Cyrus::expand(&conf, cert),
                    &Cyrus::expand(&conf, key),
                    KEY_READERS,
                    &mut warnings,
                )?;
                shas.push(sha);
            }
        }
        let expected_cert_sha256 = match shas.as_slice() {
            [one] => Some(one.clone()),
            [] => None,
            _ => {
                warnings
                    .push("the services serve more than one certificate; verification does not compare them".into());
                None
            }
        };

        let after = conf.to_string();
        Ok(Plan {
            mta: MtaKind::Cyrus,
            instance: self.config.clone(),
            profile: profile.name.clone(),
            changes: vec![FileChange {
                path: self.config.clone(),
                before: loaded.text,
                after,
                created: false,
            }],
            settings,
            warnings,
            regenerate: None,
            reload: self.reload(request),
            floors: listeners
                .iter()
                .filter(|l| l.tls.is_tls())
                .filter_map(|l| request.floors.floor(&request.profile, l))
                .collect(),
            listeners,
            expected_cert_sha256,
        })
    }

    /// The user's command; else, for the host's own instance under systemd,
    /// SIGHUP through systemd (Debian's unit has no reload); else SIGHUP to
    /// the master found running with this imapd.conf when the reload runs
    /// (not a pid file: `-p` is on master's command line, not in a config).
    fn reload(&self, request: &Request) -> Reload {
        if let Some(cmd) = &request.reload_command {
            return Reload::Shell(cmd.clone());
        }
        let default = self.config == Path::new(DEFAULT_CONFIG);
        if default && Path::new("/run/systemd/system").is_dir() {
            return Reload::Argv(
                ["systemctl", "kill", "--signal=HUP", "--kill-who=main", "cyrus-imapd"]
                    .map(String::from)
                    .to_vec(),
            );
        }
        Reload::Backend {
            mta: MtaKind::Cyrus,
            config: self.config.clone(),
        }
    }

    /// Whether a master runs with this imapd.conf.
    pub fn running(&self) -> bool {
        master::find(&self.config).is_some()
    }
}
