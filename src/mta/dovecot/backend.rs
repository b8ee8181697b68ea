//! Dovecot's side of the backend contract: thin wrappers over `Dovecot`.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::mta::backend::{Backend, Instance};
use crate::mta::{Detected, MtaKind, Request};
use crate::plan::Plan;
use crate::profile::Profile;

use super::Dovecot;

pub(crate) struct DovecotBackend;

impl Backend for DovecotBackend {
    fn kind(&self) -> MtaKind {
        MtaKind::Dovecot
    }

    fn title(&self) -> &'static str {
        "Dovecot"
    }

    fn installed(&self) -> bool {
        Dovecot::installed()
    }

    fn recognizes(&self, config: &Path) -> bool {
        config.join("dovecot.conf").is_file()
            || config
                .file_name()
                .is_some_and(|n| n == "dovecot.conf" || n == "dovecot.cf")
    }

    fn open(&self, config: Option<&Path>) -> Result<Box<dyn Instance>> {
        Ok(Box::new(Dovecot::open(config)?))
    }

    fn profile_settings(&self, profile: &Profile) -> Vec<(String, Vec<(&'static str, String)>)> {
        vec![
            (
                "Dovecot 2.3 (local.conf on Debian, else where each is set):".into(),
                super::settings_for(profile, false),
            ),
            (
                "Dovecot 2.4 (renamed settings):".into(),
                super::settings_for(profile, true),
            ),
        ]
    }

    fn profile_json(&self, profile: &Profile) -> serde_json::Value {
        serde_json::json!({"2.3": super::settings_for(profile, false), "2.4": super::settings_for(profile, true)})
    }
}

impl Instance for Dovecot {
    fn instance(&self) -> PathBuf {
        self.config_file().to_path_buf()
    }

    fn detect(&self) -> Result<Detected> {
        Dovecot::detect(self)
    }

    fn plan(&self, request: &Request) -> Result<Plan> {
        Dovecot::plan(self, request)
    }

    fn validate(&self, plan: &Plan) -> Result<()> {
        Dovecot::validate(self, plan)
    }

    fn running(&self) -> bool {
        Dovecot::running(self)
    }

    fn defaults(&self, names: &[&str]) -> std::collections::HashMap<String, String> {
        crate::mta::server_defaults("doveconf", &self.instance(), names)
    }

    /// `protocol imap {}` / `protocol pop3 {}` blocks (per protocol, not per port: `plan` refuses the rest).
    fn per_listener(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}
