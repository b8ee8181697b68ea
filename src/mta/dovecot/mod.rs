//! The Dovecot backend (IMAP/POP3). `--config` is the main config file
//! (dovecot.conf), as `doveconf -c` takes it.
//!
//! Where the settings go: Debian's `conf.d/10-ssl.conf` is managed by ucf,
//! so editing it makes every package upgrade ask the admin about a conflict.
//! Debian's dovecot.conf ends with `!include_try local.conf`, the documented
//! place for local overrides, read after everything else: when the main file
//! includes `local.conf`, mailtls writes its settings there (creating it if
//! needed) and leaves the packaged files alone. Otherwise (a single-file
//! config, other distributions) the line that sets a value is edited in place.
//! In both cases settings inside `protocol {}`, `local {}` and `remote {}`
//! blocks that would override the profile are rewritten where they are.

pub(crate) mod backend;
mod harden;
mod listeners;
mod stack;
mod tree;

use std::path::{Path, PathBuf};

use crate::edit::dovecot_conf::{DovecotConf, DovecotKey};
use crate::edit::{Named, SetValue};
use crate::error::{Error, Result};
use crate::mta::backend::{PlanBuilder, Staging, ANCHOR};
use crate::mta::{
    certificate_weaknesses, effective_values, find_program, path_value, program_path, run_program, service_reload,
    Detected, Listener, MtaKind, Proto, Reload, Request,
};
use crate::plan::{FileChange, Plan};

use harden::Generation;
use tree::ConfTree;

/// The groups that may read the private key besides root: Dovecot's master process reads the key as root (`ssl_key = <FILE`); Debian's ssl-cert group is the one exception.
const KEY_READERS: crate::cert::KeyReaders = &["ssl-cert"];

/// What Dovecot reads as syntax in a path written into its config.
const PATHS: crate::mta::PathSyntax = crate::mta::PathSyntax {
    server: "Dovecot (dovecot.conf)",
    special: &['#', '{', '}', '$', '%', '"', '\\'],
};

/// Where distributions put dovecot.conf: Linux, then FreeBSD ports (/usr/local/etc).
const DEFAULT_CONFIGS: &[&str] = &["/etc/dovecot/dovecot.conf", "/usr/local/etc/dovecot/dovecot.conf"];

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
/// Sections whose settings override the global ones for some connections.
const OVERRIDING_SECTIONS: [&str; 3] = ["protocol", "local", "remote"];

/// What a profile sets in Dovecot (for `mailtls profiles`): 2.3's names, or 2.4's.
pub fn settings_for(profile: &crate::profile::Profile, dovecot_2_4: bool) -> Vec<(&'static str, String)> {
    harden::desired(
        profile,
        if dovecot_2_4 {
            Generation::V2_4
        } else {
            Generation::V2_3
        },
    )
}

pub struct Dovecot {
    main: PathBuf,
    version: Option<String>,
    /// docker-mailserver's `dovecot.cf` on its host: the image's Dovecot reads it.
    stack: Option<stack::DmsDovecot>,
}

impl Dovecot {
    pub fn installed() -> bool {
        find_program("doveconf").is_some() && default_config().is_file()
    }

    pub fn open(config: Option<&Path>) -> Result<Dovecot> {
        let dms_folder = |dir: &Path| {
            !dir.join("dovecot.conf").exists()
                && (dir.join("dovecot.cf").exists()
                    || dir.join("postfix-main.cf").exists()
                    || crate::mta::container::Compose::mounting(dir, "/tmp/docker-mailserver").is_some())
        };
        let main = match config {
            Some(path) if path.is_dir() && dms_folder(path) => path.join("dovecot.cf"),
            Some(path) if path.is_dir() => path.join("dovecot.conf"),
            Some(path) => path.to_path_buf(),
            None => default_config(),
        };
        let main = std::path::absolute(&main).map_err(Error::io(&main, "cannot resolve the path"))?;
        if !main.is_file() && main.file_name().is_some_and(|n| n == "dovecot.cf") {
            return Err(Error::Config(format!(
                "{} does not exist: docker-mailserver reads its Dovecot settings from it; create it empty and plan again",
                main.display()
            )));
        }
        if !main.is_file() {
            return Err(Error::Config(format!(
                "{} does not exist: --config takes Dovecot's main config file (like /etc/dovecot/dovecot.conf)",
                main.display()
            )));
        }
        let stack = stack::DmsDovecot::detect(&main);
        let version = match stack.as_ref().map(|s| s.dovecot()) {
            Some(stack::ImageDovecot::Known(v)) => Some(v.to_string()),
            // Names 2.3.19 and 2.4 share are kept to; 2.3.19 decides what exists.
            Some(stack::ImageDovecot::Either) => Some("2.3.19".into()),
            None => find_program("dovecot")
                .and_then(|d| run_program(&d, &["--version"]).ok())
                .and_then(|v| v.split_whitespace().next().map(str::to_string)),
        };
        Ok(Dovecot { main, version, stack })
    }

    pub fn config_file(&self) -> &Path {
        &self.main
    }

    fn generation(&self, tree: &ConfTree) -> Generation {
        let numbers: Vec<u32> = self
            .version
            .as_deref()
            .unwrap_or("")
            .split('.')
            .filter_map(|n| n.parse().ok())
            .collect();
        if numbers.len() >= 2 && (numbers[0], numbers[1]) >= (2, 4)
            || tree.global_value("dovecot_config_version").is_some()
        {
            Generation::V2_4
        } else {
            Generation::V2_3
        }
    }

    /// Debian's layout: the main file ends by including `local.conf`.
    fn local_conf(&self, tree: &ConfTree) -> Option<PathBuf> {
        let includes_local = tree.files[0].conf.entries().iter().any(
            |e| matches!(&e.kind, crate::edit::dovecot_conf::Kind::Include { pattern, .. } if pattern == "local.conf"),
        );
        includes_local.then(|| self.main.with_file_name("local.conf"))
    }

    fn current_cert(&self, tree: &ConfTree, generation: Generation) -> Option<(PathBuf, PathBuf)> {
        let cert = tree.global_value(generation.cert_key()).filter(|v| !v.is_empty())?;
        let key = tree.global_value(generation.key_key()).filter(|v| !v.is_empty())?;
        Some((
            PathBuf::from(generation.path_of(&cert)),
            PathBuf::from(generation.path_of(&key)),
        ))
    }

    pub fn detect(&self) -> Result<Detected> {
        let tree = ConfTree::load(&self.main)?;
        let generation = self.generation(&tree);
        let profile = crate::profile::Profile::load(crate::profile::DEFAULT)?;
        let mut tls_settings = Vec::new();
        let mut weaknesses = Vec::new();
        let desired = harden::for_version(harden::desired(&profile, generation), &profile, self.version.as_deref())
            .map(|(d, _)| d)
            .unwrap_or_else(|_| harden::desired(&profile, generation));
        let keys: Vec<&str> = desired.iter().map(|(k, _)| *k).collect();
        let effective = find_program("doveconf")
            .map(|d| effective_values(&d, &self.main, &keys))
            .unwrap_or_default();
        for (key, wanted) in desired {
            let current = effective.get(key).cloned().or_else(|| tree.global_value(key));
            if !harden::acceptable(key, current.as_deref(), &wanted, &profile) && key != "ssl_prefer_server_ciphers" {
                weaknesses.push(match current.as_deref().filter(|v| !v.is_empty()) {
                    Some(value) => format!("{key} = {value} allows more than profile {}", profile.name),
                    None => format!("{key} is unset: the TLS library's defaults apply"),
                });
            }
            tls_settings.push((key.to_string(), current.unwrap_or_default()));
        }
        if tree.global_value("ssl").as_deref() == Some("no") {
            weaknesses.push("ssl = no: IMAP and POP3 offer no TLS at all".into());
        }
        if let Some((cert_path, key_path)) = self.current_cert(&tree, generation) {
            weaknesses.extend(certificate_weaknesses(
                &cert_path,
                &key_path,
                &profile.certificate,
                KEY_READERS,
            ));
        }
        Ok(Detected {
            mta: MtaKind::Dovecot,
            version: self.version.clone(),
            tls_library: run_program(Path::new("openssl"), &["version"])
                .ok()
                .map(|v| v.split_whitespace().take(2).collect::<Vec<_>>().join(" ")),
            config: self.main.clone(),
            config_files: tree.files.iter().map(|f| f.path.clone()).collect(),
            listeners: listeners::listeners(&tree),
            tls_settings,
            weaknesses,
        })
    }

    pub fn plan(&self, request: &Request) -> Result<Plan> {
        let profile = &request.profile;
        refuse_mailcow(&self.main)?;
        refuse_container_stacks(&self.main)?;
        let tree = ConfTree::load(&self.main)?;
        let generation = self.generation(&tree);
        let mut edited: Vec<Option<DovecotConf>> = vec![None; tree.files.len()];
        let local_path = self.local_conf(&tree);
        let local_index = local_path
            .as_ref()
            .and_then(|p| tree.files.iter().position(|f| &f.path == p));
        let mut local_new: Option<DovecotConf> = None;
        let mut plan = PlanBuilder::new(MtaKind::Dovecot, self.main.clone(), request);

        let (mut desired, limits) =
            harden::for_version(harden::desired(profile, generation), profile, self.version.as_deref())
                .map_err(|e| Error::Config(e.to_string()))?;
        plan.warnings_mut().extend(limits);
        if !profile.groups.is_empty() && !desired.iter().any(|(k, _)| *k == "ssl_curve_list") {
            plan.groups_unenforceable(format!(
                "Dovecot {} has no ssl_curve_list",
                self.version.as_deref().unwrap_or("of this version")
            ));
        }
        if let Some(stack) = &self.stack {
            if request.cert.is_some() {
                stack.refuse_cert(&self.main)?;
            }
            plan.warn(stack.note(&self.main));
            if stack.dovecot() == stack::ImageDovecot::Either {
                // 2.3 says ssl_prefer_server_ciphers, 2.4 ssl_server_prefer_ciphers; either fails the other.
                desired.retain(|(k, _)| *k != "ssl_prefer_server_ciphers");
            }
        }
        plan.warnings_mut()
            .extend(crate::mta::crypto_policies::describe(Path::new("/")));
        if tree
            .global_value("ssl_cipher_list")
            .is_some_and(|v| v.contains("PROFILE=SYSTEM"))
            && desired.iter().any(|(k, _)| *k == "ssl_cipher_list")
        {
            plan.warn("ssl_cipher_list = PROFILE=SYSTEM (the system crypto policy's list) is replaced by the profile's explicit list");
        }
        if tree.global_value("ssl").as_deref() == Some("no") {
            desired.insert(0, ("ssl", "yes".into()));
        }
        let cert_files = match &request.cert {
            Some((cert, key)) => {
                let cert = path_value("--cert", cert, &PATHS)?;
                let key = path_value("--key", key, &PATHS)?;
                desired.push((
                    generation.cert_key(),
                    generation.path_value(&cert.display().to_string()),
                ));
                desired.push((generation.key_key(), generation.path_value(&key.display().to_string())));
                Some((cert, key))
            }
            None => self.current_cert(&tree, generation),
        };

        for (key, wanted) in &desired {
            let current = tree.global(key);
            let acceptable = match key {
                k if k.starts_with("ssl_cert")
                    || k.starts_with("ssl_key")
                    || k.starts_with("ssl_server_") && k.ends_with("_file") =>
                {
                    current.as_ref().map(|(_, v)| v.as_str()) == Some(wanted.as_str())
                }
                _ => harden::acceptable(key, current.as_ref().map(|(_, v)| v.as_str()), wanted, profile),
            };
            if acceptable {
                continue;
            }
            if let (None, Some((placed, before))) = (&local_path, &current) {
                // No local file: the line that sets it is rewritten in place.
                let index = placed.file;
                edited_conf(&mut edited, &tree, index).set(DovecotKey::Line(placed.entry.line), wanted);
                plan.set(tree.files[index].path.clone(), *key, Some(before.clone()), wanted);
                continue;
            }
            let (file_path, conf) = new_setting_home(&tree, &local_path, local_index, &mut edited, &mut local_new);
            conf.set(DovecotKey::Named(Named::new(key, ANCHOR)), wanted);
            plan.set(file_path, *key, current.map(|(_, v)| v), wanted);
        }

        let ssl_on = tree.global_value("ssl").as_deref() != Some("no") || desired.iter().any(|(k, _)| *k == "ssl");
        let own = own_floors(request, &listeners::listeners_with(&tree, ssl_on))?;
        for placed in &tree.flat {
            let Some((key, value)) = placed.setting() else { continue };
            let Some((section, arg)) = placed.entry.sections.first() else {
                continue;
            };
            if !OVERRIDING_SECTIONS.contains(&section.as_str()) {
                continue;
            }
            // A protocol held to its own floor is set below, from its own profile.
            if section == "protocol" && own.iter().any(|(p, _)| Some(p.name()) == arg.as_deref()) {
                continue;
            }
            let scope = format!("{section} {}", arg.as_deref().unwrap_or(""));
            if key == "ssl" && value == "no" {
                plan.warn(format!(
                    "{}:{}: `{scope} {{ ssl = no }}` turns TLS off there; left as is",
                    tree.files[placed.file].path.display(),
                    placed.entry.line
                ));
                continue;
            }
            let Some((_, wanted)) = desired.iter().find(|(k, _)| *k == key) else {
                continue;
            };
            if harden::acceptable(key, Some(value), wanted, profile) {
                continue;
            }
            let before = value.to_string();
            edited_conf(&mut edited, &tree, placed.file).set(DovecotKey::Line(placed.entry.line), wanted);
            plan.set(
                tree.files[placed.file].path.clone(),
                format!("{}: {key}", scope.trim()),
                Some(before),
                wanted,
            );
        }

        // Per-listener floors: the protocol's own `protocol imap {}` block,
        // edited where it sets a key, else added in the file globals go to.
        for (proto, own_profile) in &own {
            let p = proto.name();
            let (wanted, notes) = harden::for_version(
                harden::desired(own_profile, generation),
                own_profile,
                self.version.as_deref(),
            )
            .map_err(|e| Error::Config(e.to_string()))?;
            for note in notes {
                if !plan.warnings_mut().contains(&note) {
                    plan.warn(note);
                }
            }
            for (key, value) in wanted {
                let in_block = tree.flat.iter().rfind(|placed| {
                    placed.entry.sections == [("protocol".to_string(), Some(p.to_string()))]
                        && placed.setting().is_some_and(|(k, _)| k == key)
                });
                if let Some(placed) = in_block {
                    let before = placed.setting().map(|(_, v)| v.to_string()).unwrap_or_default();
                    if before != value {
                        edited_conf(&mut edited, &tree, placed.file).set(DovecotKey::Line(placed.entry.line), &value);
                        plan.set(
                            tree.files[placed.file].path.clone(),
                            format!("protocol {p}: {key}"),
                            Some(before),
                            value,
                        );
                    }
                    continue;
                }
                let global_stays = tree.global_value(key).as_deref() == Some(value.as_str())
                    && desired.iter().all(|(k, v)| *k != key || *v == value);
                if global_stays {
                    continue;
                }
                let (file_path, conf) = new_setting_home(&tree, &local_path, local_index, &mut edited, &mut local_new);
                let key_in = DovecotKey::InSection {
                    section: "protocol",
                    arg: p,
                    key: Named::new(key, ANCHOR),
                };
                conf.set(key_in, &value);
                plan.set(file_path, format!("protocol {p}: {key}"), None, value);
            }
        }

        // The stack's certificate is inside its container (SSL_TYPE); its listeners are the container's.
        if let Some(stack) = &self.stack {
            for (file, conf) in tree.files.iter().zip(edited) {
                if let Some(c) = conf {
                    plan.file(file.path.clone(), file.text.clone(), c.to_string());
                }
            }
            let reload = match &request.reload_command {
                Some(_) => self.reload(request),
                None => stack.reload(&request.container, &self.main)?,
            };
            return Ok(plan.finish(reload, Vec::new()));
        }
        plan.require_certificate(cert_files, ssl_on, KEY_READERS, || {
            format!(
                "Dovecot has no server certificate ({} is empty): give one with --cert and --key",
                generation.cert_key()
            )
        })?;

        for (file, conf) in tree.files.iter().zip(edited) {
            if let Some(c) = conf {
                plan.file(file.path.clone(), file.text.clone(), c.to_string());
            }
        }
        if let (Some(conf), Some(path)) = (local_new, &local_path) {
            plan.change(FileChange {
                path: path.clone(),
                before: String::new(),
                after: conf.to_string(),
                created: true,
            });
        }
        // Listeners as they will be: `ssl = yes` may be part of the plan.
        let listeners = listeners::listeners_with(&tree, ssl_on);
        Ok(plan.finish(self.reload(request), listeners))
    }

    fn reload(&self, request: &Request) -> Reload {
        let default = self.main == default_config();
        let own = if default {
            vec![program_path("doveadm"), "reload".into()]
        } else {
            vec![
                program_path("doveadm"),
                "-c".into(),
                self.main.display().to_string(),
                "reload".into(),
            ]
        };
        service_reload(request, default, "dovecot", own)
    }

    /// Whether the master process named in `base_dir/master.pid` is alive.
    pub fn running(&self) -> bool {
        // A stack's container: the reload (a restart, which also starts it) is what tells.
        if self.stack.is_some() {
            return true;
        }
        let base_dir = ConfTree::load(&self.main)
            .ok()
            .and_then(|t| t.global_value("base_dir"))
            .unwrap_or_else(|| "/run/dovecot".into());
        let pid = std::fs::read_to_string(Path::new(&base_dir).join("master.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok());
        pid.is_some_and(|pid| nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok())
    }

    /// Stages the whole config (every file read, at the same relative place)
    /// with the plan's files in place and runs `doveconf -n` on it; failure or a
    /// new warning refuses the plan.
    pub fn validate(&self, plan: &Plan) -> Result<()> {
        // The image's Dovecot reads docker-mailserver's dovecot.cf, with the image's
        // settings and plugins around it; this host's doveconf would judge another config.
        if self.stack.is_some() {
            return Ok(());
        }
        let staged = Staging::new("Dovecot", "doveconf", find_program("doveconf"), "doveconf -n")?;
        let doveconf = staged.checker();
        let tree = ConfTree::load(&self.main)?;
        let root = self.main.parent().unwrap_or(Path::new("/"));
        let place = |path: &Path| path.strip_prefix(root).ok().map(|rel| staged.path().join(rel));
        let write = |path: &Path, text: &str| -> Result<()> {
            if let Ok(relative) = path.strip_prefix(root) {
                staged.write(relative, text)?;
            }
            Ok(())
        };
        for file in &tree.files {
            write(&file.path, &file.text)?;
        }
        for change in &plan.changes {
            write(&change.path, &change.after)?;
        }
        let staged_main = place(&self.main).expect("the main file is under its own directory");
        let warnings = |main: &Path| -> Result<Vec<String>> {
            let output = std::process::Command::new(doveconf)
                .arg("-n")
                .arg("-c")
                .arg(main)
                .output()
                .map_err(Error::io(doveconf, "cannot run doveconf"))?;
            let stderr = String::from_utf8_lossy(&output.stderr)
                .replace(&main.parent().unwrap_or(root).display().to_string(), "");
            if !output.status.success() {
                return Err(Error::Command {
                    program: format!("doveconf -n -c {}", main.display()),
                    status: output.status.to_string(),
                    stderr: stderr.trim().to_string(),
                });
            }
            Ok(stderr.lines().map(str::to_string).collect())
        };
        let before = warnings(&self.main)?;
        Staging::refuse_new_warnings("doveconf -n", before, warnings(&staged_main)?)
    }
}

/// The protocols whose listeners are held to their own profile. Dovecot
/// 2.3 takes the ssl settings in a `protocol imap {}` block, not per
/// `inet_listener`: every listener of a protocol must share its floor.
fn own_floors<'a>(request: &'a Request, listeners: &[Listener]) -> Result<Vec<(Proto, &'a crate::profile::Profile)>> {
    let mut out = Vec::new();
    for proto in [Proto::Imap, Proto::Pop3] {
        let of: Vec<&Listener> = listeners
            .iter()
            .filter(|l| l.protocol == proto && l.tls.is_tls())
            .collect();
        if of.iter().all(|l| request.floors.floor(&request.profile, l).is_none()) {
            continue;
        }
        let names: Vec<String> = of
            .iter()
            .map(|l| format!("{} -> {}", l.service, request.profile_for(l).name))
            .collect();
        let first = request.profile_for(of[0]);
        if of.iter().any(|l| request.profile_for(l).name != first.name) {
            return Err(Error::Config(format!(
                "Dovecot sets TLS per protocol (`protocol {proto} {{}}`) or per address (`local`, `remote`), not per inet_listener port: {} cannot differ; hold every {proto} listener to one profile",
                names.join(", ")
            )));
        }
        out.push((proto, first));
    }
    Ok(out)
}

fn edited_conf<'a>(edited: &'a mut [Option<DovecotConf>], tree: &ConfTree, index: usize) -> &'a mut DovecotConf {
    edited[index].get_or_insert_with(|| tree.files[index].conf.clone())
}

/// Where a setting the config does not set yet is written: the local file
/// (`local_index` when it exists, else created as `local_new`), or without
/// one the main file.
fn new_setting_home<'a>(
    tree: &ConfTree,
    local_path: &Option<PathBuf>,
    local_index: Option<usize>,
    edited: &'a mut [Option<DovecotConf>],
    local_new: &'a mut Option<DovecotConf>,
) -> (PathBuf, &'a mut DovecotConf) {
    match (local_path, local_index) {
        (Some(_), Some(index)) => (tree.files[index].path.clone(), edited_conf(edited, tree, index)),
        (Some(path), None) => (
            path.clone(),
            local_new.get_or_insert_with(|| DovecotConf::parse("").expect("empty parses")),
        ),
        (None, _) => (tree.files[0].path.clone(), edited_conf(edited, tree, 0)),
    }
}

/// Mailu's Dovecot serves no TLS at all: its front container (nginx) terminates it.
/// Inside docker-mailserver's container (where its config folder is mounted at
/// /tmp/docker-mailserver) /etc/dovecot is the image's, and its override file
/// applies only at start: that is done from the host.
fn refuse_container_stacks(main: &Path) -> Result<()> {
    if main == Path::new("/etc/dovecot/dovecot.conf") && Path::new("/tmp/docker-mailserver").is_dir() {
        return Err(Error::Config(format!(
            "{} is the image's inside docker-mailserver's container: not edited there; run mailtls on the host with --config docker-data/dms/config/dovecot.cf (mounted here as /tmp/docker-mailserver/dovecot.cf), which writes it and restarts the container",
            main.display()
        )));
    }
    let mailu = crate::mta::container::Compose::mounting(main.parent().unwrap_or(main), "/overrides")
        .is_some_and(|(_, s)| s.image.contains("dovecot"))
        || main.ends_with("overrides/dovecot/dovecot.conf");
    if mailu {
        return Err(Error::Config(format!(
            "{} is Mailu's Dovecot override file: nothing to harden there, because Mailu's Dovecot serves no TLS (ssl = no); its front container (nginx, TLS_FLAVOR in mailu.env) terminates TLS for IMAP and POP3",
            main.display()
        )));
    }
    Ok(())
}

/// mailcow's dovecot.conf names paths inside its container and is replaced by
/// mailcow's updates; its local settings belong in `extra.conf`, included last.
fn refuse_mailcow(main: &Path) -> Result<()> {
    let text = crate::mta::read_text(main).unwrap_or_default();
    if text.contains("!include_try /etc/dovecot/extra.conf") && text.contains("persistent overrides") {
        return Err(Error::Config(format!(
            "{} is mailcow's Dovecot config (it names paths inside its container, and mailcow's updates replace it): not supported yet; put the TLS settings in extra.conf beside it (data/conf/dovecot/extra.conf), which it includes last, and restart the dovecot-mailcow container",
            main.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_config_is_the_first_that_exists() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(
            default_config_in(root.path()),
            root.path().join("etc/dovecot/dovecot.conf")
        );
        let freebsd = root.path().join("usr/local/etc/dovecot/dovecot.conf");
        std::fs::create_dir_all(freebsd.parent().unwrap()).unwrap();
        std::fs::write(&freebsd, "").unwrap();
        assert_eq!(default_config_in(root.path()), freebsd);
    }
}
