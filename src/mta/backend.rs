//! The contract every mail server meets.
//!
//! A `Backend` is a kind of server (Postfix, Dovecot, ...): it says whether
//! the host has one, recognises its config from a path and opens an
//! `Instance`. An instance detects, plans, validates and says whether it
//! runs. `registry::BACKENDS` lists them all.
//!
//! `PlanBuilder` and `Staging` hold what every backend did alike: recording
//! setting changes, checking the certificate, keeping only TLS listeners;
//! the private copy a checker runs on, the missing-checker error and
//! refusing warnings the live config does not already have.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::plan::{FileChange, Plan, SettingChange};
use crate::profile::Profile;

use super::{Detected, Listener, MtaKind, Regenerate, Reload, Request};

/// A kind of mail server.
pub(crate) trait Backend: Sync {
    fn kind(&self) -> MtaKind;
    /// Its name for people: "Postfix", "OpenSMTPD".
    fn title(&self) -> &'static str;
    /// Whether this host has the server (its default instance can be opened).
    fn installed(&self) -> bool;
    /// Whether a `--config` path is this server's config.
    fn recognizes(&self, config: &Path) -> bool;
    /// The instance at `config`, or the host's default one.
    fn open(&self, config: Option<&Path>) -> Result<Box<dyn Instance>>;
    /// What a profile sets, for `mailtls profiles`: headed groups of settings.
    fn profile_settings(&self, profile: &Profile) -> Vec<(String, Vec<(&'static str, String)>)>;
    /// The same for `--json`, under the server's name.
    fn profile_json(&self, profile: &Profile) -> serde_json::Value;
    /// Reloads the instance at `config` in place, for a plan whose reload is
    /// `Reload::Backend` (only servers that need more than a command or a pid file).
    fn reload_in_place(&self, config: &Path) -> Result<()> {
        Err(Error::Config(format!(
            "{} has no in-place reload ({}); give --reload-command",
            self.title(),
            config.display()
        )))
    }
}

/// One opened server instance.
pub(crate) trait Instance {
    /// The instance's config directory or file, as the journal names it.
    fn instance(&self) -> PathBuf;
    fn detect(&self) -> Result<Detected>;
    /// The whole change a profile asks for, computed without writing.
    fn plan(&self, request: &Request) -> Result<Plan>;
    /// Runs the server's own checker on a staged copy with the plan's files in place.
    fn validate(&self, plan: &Plan) -> Result<()>;
    /// Whether the server runs, so a reload makes sense.
    fn running(&self) -> bool;
    /// The server's own defaults for these settings, as its tool prints
    /// them (`postconf -d`, `doveconf -d`); empty where the tool prints none.
    fn defaults(&self, _names: &[&str]) -> std::collections::HashMap<String, String> {
        Default::default()
    }
    /// Whether the server can hold one listener to another profile than the
    /// others (`--listener-profile`, `--except`); Err says why not, and the
    /// plan is refused rather than widened or narrowed for every listener.
    fn per_listener(&self) -> std::result::Result<(), String> {
        Err("mailtls cannot set a TLS floor per listener on this server".into())
    }
}

/// The comment under which new settings are added.
pub(crate) const ANCHOR: &str = "# TLS settings added by mailtls (`mailtls history` lists its changes)";

/// The same for m4 sources, where a backquote opens a quoted string.
pub(crate) const ANCHOR_M4: &str = "# TLS settings added by mailtls (mailtls history lists its changes)";

/// A plan in the making: the setting changes and warnings as they are
/// found, the files, and the certificate the server should serve.
pub(crate) struct PlanBuilder<'a> {
    request: &'a Request,
    mta: MtaKind,
    instance: PathBuf,
    changes: Vec<FileChange>,
    settings: Vec<SettingChange>,
    warnings: Vec<String>,
    regenerate: Option<Regenerate>,
    expected_cert_sha256: Option<String>,
    groups_unenforceable: Option<String>,
}

impl<'a> PlanBuilder<'a> {
    pub(crate) fn new(mta: MtaKind, instance: PathBuf, request: &'a Request) -> PlanBuilder<'a> {
        PlanBuilder {
            request,
            mta,
            instance,
            changes: Vec::new(),
            settings: Vec::new(),
            warnings: Vec::new(),
            regenerate: None,
            expected_cert_sha256: None,
            groups_unenforceable: None,
        }
    }

    /// This server has no setting for the key-exchange groups: said in the
    /// plan when the profile names groups, and verification does not hold
    /// the served groups against the change.
    pub(crate) fn groups_unenforceable(&mut self, why: impl Into<String>) {
        let why = why.into();
        if !self.request.profile.groups.is_empty() {
            let warning = format!("{why}: the key-exchange groups stay the TLS library's defaults");
            if !self.warnings.contains(&warning) {
                self.warnings.push(warning);
            }
        }
        self.groups_unenforceable = Some(why);
    }

    /// Records that `name` in `file` goes from `before` to `after`.
    pub(crate) fn set(
        &mut self,
        file: PathBuf,
        name: impl Into<String>,
        before: Option<String>,
        after: impl Into<String>,
    ) {
        self.settings.push(SettingChange {
            file,
            name: name.into(),
            before,
            after: after.into(),
        });
    }

    pub(crate) fn warn(&mut self, warning: impl Into<String>) {
        self.warnings.push(warning.into());
    }

    pub(crate) fn warnings_mut(&mut self) -> &mut Vec<String> {
        &mut self.warnings
    }

    /// For helpers that record setting changes themselves (Postfix's references).
    pub(crate) fn settings_mut(&mut self) -> &mut Vec<SettingChange> {
        &mut self.settings
    }

    /// A file the plan may change (an unchanged one is left out of diffs).
    pub(crate) fn file(&mut self, path: PathBuf, before: String, after: String) {
        self.change(FileChange {
            path,
            before,
            after,
            created: false,
        });
    }

    /// A file change; a file the plan would create empty is left out.
    pub(crate) fn change(&mut self, change: FileChange) {
        if change.created && change.after.is_empty() {
            return;
        }
        self.changes.push(change);
    }

    /// The command that rebuilds what the server reads from the edited files.
    pub(crate) fn regenerate(&mut self, command: Option<Regenerate>) {
        self.regenerate = command;
    }

    /// Checks the certificate and key the plan leaves configured; their
    /// sha256 is what verification expects the server to serve.
    /// `readers`: the groups besides root the server's key may be readable by.
    pub(crate) fn check_certificate(
        &mut self,
        cert: &Path,
        key: &Path,
        readers: crate::cert::KeyReaders,
    ) -> Result<()> {
        let sha256 = super::check_certificate(self.request, cert, key, readers, &mut self.warnings)?;
        // The first certificate checked is the one verification expects (OpenSMTPD: the first TLS listener's).
        self.expected_cert_sha256.get_or_insert(sha256);
        Ok(())
    }

    /// Checks every certificate the plan leaves configured (a server whose
    /// services each name their own); verification expects one only when
    /// exactly one is checked.
    pub(crate) fn check_certificates(
        &mut self,
        pairs: &[(PathBuf, PathBuf)],
        readers: crate::cert::KeyReaders,
    ) -> Result<()> {
        let mut shas = Vec::new();
        for (cert, key) in pairs {
            shas.push(super::check_certificate(
                self.request,
                cert,
                key,
                readers,
                &mut self.warnings,
            )?);
        }
        match shas.as_slice() {
            [one] => {
                self.expected_cert_sha256.get_or_insert(one.clone());
            }
            [] => {}
            _ => self.warn("the services serve more than one certificate; verification does not compare them"),
        }
        Ok(())
    }

    /// Checks the certificate, or refuses with `missing` when there is none
    /// and the server serves TLS.
    pub(crate) fn require_certificate(
        &mut self,
        files: Option<(PathBuf, PathBuf)>,
        serves_tls: bool,
        readers: crate::cert::KeyReaders,
        missing: impl FnOnce() -> String,
    ) -> Result<()> {
        match files {
            Some((cert, key)) => self.check_certificate(&cert, &key, readers),
            None if serves_tls => Err(Error::Config(missing())),
            None => Ok(()),
        }
    }

    /// The plan, with only the listeners that serve TLS (the ones verification probes).
    pub(crate) fn finish(self, reload: Reload, listeners: Vec<Listener>) -> Plan {
        let listeners: Vec<Listener> = listeners.into_iter().filter(|l| l.tls.is_tls()).collect();
        let floors = listeners
            .iter()
            .filter_map(|l| self.request.floors.floor(&self.request.profile, l))
            .collect();
        Plan {
            mta: self.mta,
            instance: self.instance,
            profile: self.request.profile.name.clone(),
            changes: self.changes,
            settings: self.settings,
            warnings: self.warnings,
            regenerate: self.regenerate,
            reload,
            listeners,
            expected_cert_sha256: self.expected_cert_sha256,
            floors,
            groups_unenforceable: self.groups_unenforceable,
        }
    }
}

/// A private directory where a server's own checker reads the new config
/// before it goes live. Removed on drop.
pub(crate) struct Staging {
    dir: tempfile::TempDir,
    checker: PathBuf,
}

impl Staging {
    /// Stages for `checker` (found on this host or not): without it `apply`
    /// cannot check, and says so; `plan` works without it.
    pub(crate) fn new(server: &str, program: &str, checker: Option<PathBuf>, check: &str) -> Result<Staging> {
        let checker = checker.ok_or_else(|| Error::MissingProgram {
            program: program.into(),
            hint: format!("applying needs {server}'s own checker (`{check}`); `mailtls plan` works without it"),
        })?;
        let dir = tempfile::Builder::new()
            .prefix("mailtls-check-")
            .tempdir()
            .map_err(Error::io(std::env::temp_dir(), "cannot create a staging directory"))?;
        Ok(Staging { dir, checker })
    }

    /// The checker's path.
    pub(crate) fn checker(&self) -> &Path {
        &self.checker
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` at `relative` inside the staging directory (parents created) and returns its path.
    pub(crate) fn write(&self, relative: impl AsRef<Path>, text: &str) -> Result<PathBuf> {
        let target = self.dir.path().join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io(parent, "cannot create"))?;
        }
        fs_err::write(&target, text).map_err(Error::io(&target, "cannot stage the new config"))?;
        Ok(target)
    }

    /// The checker's warnings on the staged config that the live config does
    /// not already have refuse the change: a new warning means a setting was misread.
    pub(crate) fn refuse_new_warnings(checker: &str, live: Vec<String>, staged: Vec<String>) -> Result<()> {
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
}
