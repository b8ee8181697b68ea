//! The OpenSMTPD backend. `--config` is the `smtpd.conf` file.
//!
//! 7.x takes `protocols` and `ciphers` on each `listen on` line (its libtls
//! never allows TLS 1.0/1.1, so a profile can only tighten); 6.8 has only the
//! global `smtp ciphers` and no protocol setting. Debian 12's 6.8 linked
//! against OpenSSL 3 cannot complete any TLS handshake (upstream issues
//! #1171, #1239): `detect` and `plan` say so, and that 7.x fixes it.
//!
//! OpenSMTPD has no reload (SIGHUP kills it): the default "reload" is a
//! restart through the service manager, run only after the new file has
//! passed `smtpd -n -f STAGED`, so the downtime is the restart itself.

pub(crate) mod backend;

use std::path::{Path, PathBuf};

use crate::edit::smtpd_conf::{SmtpdConf, SmtpdKey, Statement};
use crate::edit::SetValue;
use crate::error::{Error, Result};
use crate::mta::backend::{PlanBuilder, Staging, ANCHOR};
use crate::mta::{find_program, path_value, Detected, Listener, MtaKind, Proto, Reload, Request, TlsStart};
use crate::plan::Plan;
use crate::profile::Profile;
use crate::tls::{CipherSuite, Protocol};

/// The groups that may read the private key besides root: smtpd loads the key as root in its privileged process; Debian's ssl-cert group is the one exception.
const KEY_READERS: crate::cert::KeyReaders = &["ssl-cert"];

/// What OpenSMTPD reads as syntax in a path written into its config.
const PATHS: crate::mta::PathSyntax = crate::mta::PathSyntax {
    server: "OpenSMTPD (smtpd.conf)",
    special: &['"', '\\'],
};

/// Where smtpd.conf lives: Debian and Alpine, OpenBSD, FreeBSD ports.
const DEFAULT_CONFIGS: &[&str] = &[
    "/etc/smtpd.conf",
    "/etc/mail/smtpd.conf",
    "/usr/local/etc/mail/smtpd.conf",
];

/// The config file of the host's default instance: the first of
/// `DEFAULT_CONFIGS` that exists under `root` (`/`), else the first.
fn default_config_in(root: &Path) -> PathBuf {
    DEFAULT_CONFIGS
        .iter()
        .map(|c| root.join(c.trim_start_matches('/')))
        .find(|c| c.is_file())
        .unwrap_or_else(|| root.join(DEFAULT_CONFIGS[0].trim_start_matches('/')))
}

fn default_config() -> PathBuf {
    default_config_in(Path::new("/"))
}
/// The pki name mailtls declares for `--cert`/`--key` when a listener has none.
const PKI: &str = "mailtls";

/// What a profile sets on an OpenSMTPD 7.x `listen on` line (for `mailtls profiles`).
pub fn settings_for(profile: &Profile) -> Vec<(&'static str, String)> {
    let mut out = vec![("protocols", protocols(profile))];
    out.extend(ciphers(profile).map(|c| ("ciphers", c)));
    out
}

fn protocols(profile: &Profile) -> String {
    let names: Vec<&str> = [(Protocol::TlsV1_2, "tlsv1.2"), (Protocol::TlsV1_3, "tlsv1.3")]
        .into_iter()
        .filter(|(p, _)| profile.allows(*p))
        .map(|(_, n)| n)
        .collect();
    names.join(",")
}

fn ciphers(profile: &Profile) -> Option<String> {
    (profile.min_protocol <= Protocol::TlsV1_2).then(|| {
        let list: Vec<&str> = profile.tls12_ciphers.iter().filter_map(|s| s.openssl_name()).collect();
        list.join(":")
    })
}

fn protocols_acceptable(current: &str, profile: &Profile) -> bool {
    let allowed = protocols(profile);
    let allowed: Vec<&str> = allowed.split(',').collect();
    let tokens: Vec<&str> = current.split([',', ':', ' ']).filter(|t| !t.is_empty()).collect();
    !tokens.is_empty() && tokens.iter().all(|t| allowed.contains(t))
}

fn ciphers_acceptable(current: &str, profile: &Profile) -> bool {
    let names: Vec<&str> = current.split([':', ',', ' ']).filter(|t| !t.is_empty()).collect();
    !names.is_empty()
        && names
            .iter()
            .all(|n| CipherSuite::from_name(n).is_some_and(|s| profile.tls12_ciphers.contains(&s)))
}

/// An OpenSMTPD instance.
pub struct Opensmtpd {
    config: PathBuf,
    program: Option<PathBuf>,
    version: Option<String>,
    openssl3: bool,
}

impl Opensmtpd {
    /// OpenSMTPD's `smtpd` (not Postfix's or Sendmail's programs of that name).
    fn program() -> Option<PathBuf> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain(["/usr/sbin", "/usr/local/sbin"].map(PathBuf::from))
            .map(|dir| dir.join("smtpd"))
            .filter(|p| p.is_file())
            .find(|p| binary_has(p, b"OpenSMTPD"))
    }

    pub fn installed() -> bool {
        Opensmtpd::program().is_some() && default_config().is_file()
    }

    /// Whether `path` is an smtpd.conf: so named, or a file with `listen on` and `match` lines.
    pub fn recognizes(path: &Path) -> bool {
        if !path.is_file() {
            return false;
        }
        if path.file_name().is_some_and(|n| n == "smtpd.conf") {
            return true;
        }
        let Ok(text) = std::fs::read_to_string(path) else {
            return false;
        };
        let statements = SmtpdConf::parse(&text).statements();
        statements.iter().any(|s| s.starts_with(&["listen", "on"]))
            && statements.iter().any(|s| s.starts_with(&["match"]))
    }

    pub fn open(config: Option<&Path>) -> Result<Opensmtpd> {
        let config = config.map_or_else(default_config, Path::to_path_buf);
        let config = std::path::absolute(&config).map_err(Error::io(&config, "cannot resolve the path"))?;
        if !config.is_file() {
            return Err(Error::Config(format!(
                "{} does not exist: --config takes OpenSMTPD's smtpd.conf",
                config.display()
            )));
        }
        let program = Opensmtpd::program();
        let version = program.as_deref().and_then(|p| {
            let out = std::process::Command::new(p).arg("-h").output().ok()?;
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            text.lines()
                .find_map(|l| l.trim().strip_prefix("version: OpenSMTPD "))
                .map(|v| v.trim().to_string())
        });
        let openssl3 = program
            .as_deref()
            .is_some_and(|p| binary_has(p, b"libssl.so.3") || binary_has(p, b"libcrypto.so.3"));
        Ok(Opensmtpd {
            config,
            program,
            version,
            openssl3,
        })
    }

    pub fn config_file(&self) -> &Path {
        &self.config
    }

    /// 6.x: no `protocols`, no `ciphers` on `listen`. Without a binary 7.x is assumed.
    /// 7.x: `protocols` and `ciphers` on each `listen on` line; 6.x has neither.
    pub fn per_listener(&self) -> std::result::Result<(), String> {
        if self.is_6x() {
            return Err(format!(
                "OpenSMTPD {} has one global `smtp ciphers` and no protocol setting (7.x takes both on each `listen on` line)",
                self.version.as_deref().unwrap_or("6.x")
            ));
        }
        Ok(())
    }

    fn is_6x(&self) -> bool {
        self.version
            .as_deref()
            .is_some_and(|v| v.starts_with("6.") || v.starts_with("5."))
    }

    /// The diagnosis for 6.8 linked against OpenSSL 3, when it applies.
    fn broken_tls(&self) -> Option<String> {
        let version = self.version.as_deref()?;
        (version.starts_with("6.") && self.openssl3).then(|| {
            format!(
                "OpenSMTPD {version} linked against OpenSSL 3 cannot complete any TLS handshake (upstream issues #1171, #1239): it offers STARTTLS but every handshake fails, whatever the config says; install OpenSMTPD 7.x (on Debian 12: opensmtpd from bookworm-backports, 7.4)"
            )
        })
    }

    pub fn detect(&self) -> Result<Detected> {
        let conf = SmtpdConf::parse(&read(&self.config)?);
        let profile = Profile::load(crate::profile::DEFAULT)?;
        let statements = conf.statements();
        let mut tls_settings = Vec::new();
        let mut weaknesses = Vec::new();
        weaknesses.extend(self.broken_tls());
        let six = self.is_6x();
        for s in statements.iter().filter(|s| s.starts_with(&["smtp", "ciphers"])) {
            tls_settings.push((
                "smtp ciphers".to_string(),
                s.words[2..].iter().map(|w| w.text.clone()).collect(),
            ));
        }
        for s in listen_statements(&statements) {
            let name = format!("listen on {} (line {})", s.words[2].text, s.line);
            if !is_tls(s) {
                weaknesses.push(format!("{name} offers no TLS"));
                continue;
            }
            let protocols = s.after("protocols").map(|w| w.text.clone());
            let ciphers = s.after("ciphers").map(|w| w.text.clone());
            tls_settings.push((
                format!("{name}: protocols"),
                protocols.clone().unwrap_or_else(|| "(default)".into()),
            ));
            tls_settings.push((
                format!("{name}: ciphers"),
                ciphers.clone().unwrap_or_else(|| "(default)".into()),
            ));
            if six {
                continue;
            }
            if !protocols.as_deref().is_some_and(|p| protocols_acceptable(p, &profile)) {
                weaknesses.push(format!(
                    "{name}: protocols {} allows more than profile {:?}",
                    protocols.as_deref().unwrap_or("(default: tlsv1.2,tlsv1.3)"),
                    profile.name
                ));
            }
            if !ciphers.as_deref().is_some_and(|c| ciphers_acceptable(c, &profile)) {
                weaknesses.push(format!(
                    "{name}: ciphers {} allows suites outside profile {:?}",
                    ciphers.as_deref().unwrap_or("(libtls default)"),
                    profile.name
                ));
            }
        }
        Ok(Detected {
            mta: MtaKind::Opensmtpd,
            version: self.version.clone(),
            tls_library: self.program.as_ref().map(|_| {
                if self.openssl3 {
                    "OpenSSL 3 (libtls)".to_string()
                } else {
                    "OpenSSL (libtls)".to_string()
                }
            }),
            config: self.config.clone(),
            config_files: vec![self.config.clone()],
            listeners: listeners(&statements),
            tls_settings,
            weaknesses,
        })
    }

    pub fn plan(&self, request: &Request) -> Result<Plan> {
        let profile = &request.profile;
        let before = read(&self.config)?;
        let mut conf = SmtpdConf::parse(&before);
        let statements = conf.statements();
        refuse_pre_6_4(&statements, &self.config)?;
        let mut plan = PlanBuilder::new(MtaKind::Opensmtpd, self.config.clone(), request);
        plan.groups_unenforceable("OpenSMTPD's smtpd.conf has no setting for the key-exchange groups");
        plan.warnings_mut().extend(self.broken_tls());
        plan.warnings_mut()
            .extend(request.profile.tls13_unexpressible("OpenSMTPD"));
        if self.program.is_none() {
            plan.warn("no OpenSMTPD smtpd found: assuming 7.x syntax (protocols and ciphers on listen); applying needs smtpd to validate");
        }
        let six = self.is_6x();

        // --cert/--key: the pki the TLS listeners use, or a new one they are given.
        if let Some((cert_path, key_path)) = &request.cert {
            let cert_text = path_value("--cert", cert_path, &PATHS)?.display().to_string();
            let key_text = path_value("--key", key_path, &PATHS)?.display().to_string();
            let used: Vec<String> = listen_statements(&statements)
                .filter_map(|s| s.after("pki").map(|w| w.text.clone()))
                .collect();
            let pkis: Vec<String> = if used.is_empty() { vec![PKI.to_string()] } else { used };
            // A listener without TLS gets the pki the others use (whose cert and key --cert sets).
            let plain_pki = pkis[0].clone();
            for pki in pkis {
                for (kind, value) in [("cert", &cert_text), ("key", &key_text)] {
                    let found = statements
                        .iter()
                        .find(|s| s.starts_with(&["pki", &pki, kind]) && s.words.len() == 4);
                    match found {
                        Some(s) if s.words[3].text == *value => {}
                        Some(s) => {
                            plan.set(
                                self.config.clone(),
                                format!("pki {pki} {kind}"),
                                Some(s.words[3].text.clone()),
                                value,
                            );
                            conf.set(SmtpdKey::Last { line: s.line }, value);
                        }
                        None => {
                            plan.set(self.config.clone(), format!("pki {pki} {kind}"), None, value);
                            conf.insert_before_listen(&format!("pki {pki} {kind} \"{value}\""), ANCHOR);
                        }
                    }
                }
            }
            // Line numbers moved: re-read, then give plain listeners STARTTLS with the pki.
            for s in listen_statements(&conf.statements()) {
                if !is_tls(s) {
                    plan.set(
                        self.config.clone(),
                        format!("listen on {} (line {})", s.words[2].text, s.line),
                        None,
                        format!("tls pki {plain_pki}"),
                    );
                    conf.append_words(s.line, &format!("tls pki {plain_pki}"));
                }
            }
        }

        if six {
            plan.warn(format!(
                "OpenSMTPD {} has no `protocols` setting: the protocol versions are OpenSSL's defaults (TLS 1.2 and up at OpenSSL 3's default security level)",
                self.version.as_deref().unwrap_or("6.x")
            ));
            if let Some(wanted) = ciphers(profile) {
                let found = conf
                    .statements()
                    .into_iter()
                    .find(|s| s.starts_with(&["smtp", "ciphers"]));
                let current = found.as_ref().and_then(|s| s.words.get(2)).map(|w| w.text.clone());
                if !current.as_deref().is_some_and(|c| ciphers_acceptable(c, profile)) {
                    plan.set(self.config.clone(), "smtp ciphers", current, &wanted);
                    match found {
                        Some(s) => conf.set(SmtpdKey::Last { line: s.line }, &wanted),
                        None => conf.insert_before_listen(&format!("smtp ciphers \"{wanted}\""), ANCHOR),
                    }
                }
            }
        } else {
            for s in listen_statements(&conf.statements()) {
                if !is_tls(s) {
                    continue;
                }
                let name = format!("listen on {} (line {})", s.words[2].text, s.line);
                // A listener held to its own floor gets that profile's values on its line.
                let profile = match listeners(std::slice::from_ref(s)).first() {
                    Some(l) => {
                        let own = request.profile_for(l);
                        if own.name != request.profile.name && own.min_protocol < Protocol::TlsV1_2 {
                            plan.warn(format!(
                                "{name}: OpenSMTPD's libtls never allows TLS 1.0/1.1, so profile {} cannot be met there and verification will fail",
                                own.name
                            ));
                        }
                        own
                    }
                    None => profile,
                };
                let current = s.after("protocols").map(|w| w.text.clone());
                let wanted = protocols(profile);
                if !current.as_deref().is_some_and(|p| protocols_acceptable(p, profile)) {
                    plan.set(self.config.clone(), format!("{name}: protocols"), current, &wanted);
                    conf.set(
                        SmtpdKey::Option {
                            line: s.line,
                            keyword: "protocols",
                        },
                        &wanted,
                    );
                }
                if let Some(wanted) = ciphers(profile) {
                    let s = conf
                        .statements()
                        .into_iter()
                        .find(|x| x.line == s.line)
                        .expect("same line");
                    let current = s.after("ciphers").map(|w| w.text.clone());
                    if !current.as_deref().is_some_and(|c| ciphers_acceptable(c, profile)) {
                        plan.set(self.config.clone(), format!("{name}: ciphers"), current, &wanted);
                        conf.set(
                            SmtpdKey::Option {
                                line: s.line,
                                keyword: "ciphers",
                            },
                            &wanted,
                        );
                    }
                }
            }
        }

        let after_statements = conf.statements();
        let listeners: Vec<Listener> = listeners(&after_statements)
            .into_iter()
            .filter(|l| l.tls.is_tls())
            .collect();
        for pki in listen_statements(&after_statements)
            .filter(|s| is_tls(s))
            .filter_map(|s| s.after("pki"))
        {
            let file = |kind: &str| {
                after_statements
                    .iter()
                    .find(|s| s.starts_with(&["pki", &pki.text, kind]) && s.words.len() == 4)
                    .map(|s| PathBuf::from(&s.words[3].text))
            };
            let (Some(cert_path), Some(key_path)) = (file("cert"), file("key")) else {
                return Err(Error::Config(format!(
                    "pki {} is used by a listener but has no cert and key lines in {}",
                    pki.text,
                    self.config.display()
                )));
            };
            plan.check_certificate(&cert_path, &key_path, KEY_READERS)?;
        }
        if listeners.is_empty() {
            plan.warn("no listener offers TLS: add `tls pki NAME` to a listen line, or give --cert and --key");
        }
        plan.file(self.config.clone(), before, conf.to_string());
        let reload = match &request.reload_command {
            Some(cmd) => Reload::Shell(cmd.clone()),
            None => restart_command(),
        };
        Ok(plan.finish(reload, listeners))
    }

    /// Whether an OpenSMTPD runs with this config (a `smtpd` whose command
    /// line names it with `-f`, or any `smtpd` for the default config).
    pub fn running(&self) -> bool {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return false;
        };
        let default = self.config == default_config();
        dir.filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
            .map(|raw| {
                raw.split(|b| *b == 0)
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect::<Vec<_>>()
            })
            .filter(|args| {
                args.first()
                    .is_some_and(|a| Path::new(a).file_name().is_some_and(|n| n == "smtpd"))
            })
            .any(|args| {
                let file = args.iter().position(|a| a == "-f").and_then(|i| args.get(i + 1));
                match file {
                    Some(f) => std::path::absolute(f).is_ok_and(|f| f == self.config),
                    None => default,
                }
            })
    }

    /// `smtpd -n -f STAGED` ("configuration OK") on a staged copy of the new file.
    pub fn validate(&self, plan: &Plan) -> Result<()> {
        let staged = Staging::new(
            "OpenSMTPD",
            "smtpd (OpenSMTPD)",
            self.program.clone(),
            "smtpd -n -f FILE",
        )?;
        let change = &plan.changes[0];
        // Relative `table ... file:` paths resolve from the config's folder: stage beside it in name only.
        let path = staged.write("smtpd.conf", &change.after)?;
        crate::mta::run_program(staged.checker(), &["-n", "-f", &path.to_string_lossy()])?;
        Ok(())
    }
}

/// Refuses a config in the grammar OpenSMTPD replaced in 6.4 (`accept ... deliver to`,
/// `reject`, `map`, `pki NAME certificate`): no OpenSMTPD that mailtls can
/// validate with reads it, and its listeners and rules cannot be judged.
fn refuse_pre_6_4(statements: &[Statement], config: &Path) -> Result<()> {
    let old = statements.iter().find(|s| {
        s.starts_with(&["accept"])
            || s.starts_with(&["reject"])
            || s.starts_with(&["map"])
            || (s.starts_with(&["pki"]) && s.words.get(2).is_some_and(|w| w.text == "certificate"))
    });
    match old {
        Some(s) => Err(Error::Config(format!(
            "{}:{}: OpenSMTPD before 6.4 syntax; not supported (`{}` is the old grammar: rewrite the rules as `action`/`match` and `pki NAME cert`, see smtpd.conf(5))",
            config.display(),
            s.line,
            s.words.iter().take(2).map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ")
        ))),
        None => Ok(()),
    }
}

fn listen_statements(statements: &[Statement]) -> impl Iterator<Item = &Statement> {
    statements
        .iter()
        .filter(|s| s.starts_with(&["listen", "on"]) && s.words.len() > 2 && s.words[2].text != "socket")
}

fn is_tls(s: &Statement) -> bool {
    s.has("tls") || s.has("tls-require") || s.has("smtps")
}

/// One listener per `listen on` line; interfaces by name are probed on 127.0.0.1.
fn listeners(statements: &[Statement]) -> Vec<Listener> {
    listen_statements(statements)
        .map(|s| {
            let interface = s.words[2].text.clone();
            let host = match interface.parse::<std::net::IpAddr>() {
                Ok(ip) if ip.is_unspecified() && ip.is_ipv6() => "::1".to_string(),
                Ok(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
                Ok(ip) => ip.to_string(),
                Err(_) => "127.0.0.1".to_string(),
            };
            let implicit = s.has("smtps");
            let port = s
                .after("port")
                .and_then(|w| match w.text.as_str() {
                    "smtp" => Some(25),
                    "submission" => Some(587),
                    "smtps" => Some(465),
                    n => n.parse().ok(),
                })
                .unwrap_or(if implicit { 465 } else { 25 });
            Listener {
                service: format!("listen on {interface}"),
                protocol: Proto::Smtp,
                host,
                port,
                tls: if implicit {
                    TlsStart::Implicit
                } else if is_tls(s) {
                    TlsStart::Starttls(Proto::Smtp)
                } else {
                    TlsStart::Off
                },
            }
        })
        .collect()
}

/// OpenSMTPD has no reload: restart it through the service manager.
fn restart_command() -> Reload {
    let argv = if Path::new("/run/systemd/system").is_dir() {
        ["systemctl", "restart", "opensmtpd"]
    } else {
        ["service", "opensmtpd", "restart"]
    };
    let program = find_program(argv[0]).map_or(argv[0].to_string(), |p| p.display().to_string());
    Reload::Argv(
        std::iter::once(program)
            .chain(argv[1..].iter().map(|s| s.to_string()))
            .collect(),
    )
}

fn binary_has(path: &Path, needle: &[u8]) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
}

/// The first words smtpd.conf's grammar allows a statement to start with.
const KEYWORDS: &[&str] = &[
    "action",
    "admd",
    "bounce",
    "ca",
    "dispatcher",
    "filter",
    "include",
    "listen",
    "match",
    "mda",
    "mta",
    "pki",
    "proc",
    "proc-exec",
    "queue",
    "smtp",
    "srs",
    "table",
];

/// smtpd.conf's text; a file whose first statement is neither a keyword nor
/// a macro (`name = value`) is not one, and nothing of it is printed.
fn read(path: &Path) -> Result<String> {
    let text = crate::mta::read_text(path)?;
    if let Some(first) = SmtpdConf::parse(&text).statements().first() {
        let word = |i: usize| first.words.get(i).map(|w| w.text.as_str());
        if !word(0).is_some_and(|w| KEYWORDS.contains(&w)) && word(1) != Some("=") {
            return Err(crate::mta::not_a_config("an OpenSMTPD", path, first.line));
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_config_is_the_first_that_exists() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(default_config_in(root.path()), root.path().join("etc/smtpd.conf"));
        let freebsd = root.path().join("usr/local/etc/mail/smtpd.conf");
        std::fs::create_dir_all(freebsd.parent().unwrap()).unwrap();
        std::fs::write(&freebsd, "").unwrap();
        assert_eq!(default_config_in(root.path()), freebsd);
    }
}
