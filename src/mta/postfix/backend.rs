//! Postfix's side of the backend contract: thin wrappers over `Postfix`.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::mta::backend::{Backend, Instance};
use crate::mta::{Detected, MtaKind, Request};
use crate::plan::Plan;
use crate::profile::Profile;

use super::Postfix;

pub(crate) struct PostfixBackend;

impl Backend for PostfixBackend {
    fn kind(&self) -> MtaKind {
        MtaKind::Postfix
    }

    fn title(&self) -> &'static str {
        "Postfix"
    }

    fn installed(&self) -> bool {
        Postfix::installed()
    }

    fn recognizes(&self, config: &Path) -> bool {
        config.join("main.cf").is_file()
            || (config.is_dir() && matches!(super::stacks::Overrides::detect(config), Ok(Some(_))))
    }

    fn open(&self, config: Option<&Path>) -> Result<Box<dyn Instance>> {
        Ok(Box::new(Postfix::open(config)?))
    }

    fn profile_settings(&self, profile: &Profile) -> Vec<(String, Vec<(&'static str, String)>)> {
        vec![(
            "Postfix (main.cf; master.cf -o overrides that weaken it are rewritten too):".into(),
            super::settings_for(profile),
        )]
    }

    fn profile_json(&self, profile: &Profile) -> serde_json::Value {
        serde_json::json!(super::settings_for(profile))
    }
}

impl Instance for Postfix {
    fn instance(&self) -> PathBuf {
        self.config_dir().to_path_buf()
    }

    fn detect(&self) -> Result<Detected> {
        Postfix::detect(self)
    }

    fn plan(&self, request: &Request) -> Result<Plan> {
        Postfix::plan(self, request)
    }

    fn validate(&self, plan: &Plan) -> Result<()> {
        Postfix::validate(self, plan)
    }

    fn running(&self) -> bool {
        Postfix::running(self)
    }

    fn defaults(&self, names: &[&str]) -> std::collections::HashMap<String, String> {
        crate::mta::server_defaults("postconf", &self.instance(), names)
    }

    /// master.cf `-o` overrides on the service line (postscreen listeners are refused in `plan`).
    fn per_listener(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}
