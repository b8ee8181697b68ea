//! Cyrus's side of the backend contract: thin wrappers over `Cyrus`.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::mta::backend::{Backend, Instance};
use crate::mta::{Detected, MtaKind, Request};
use crate::plan::Plan;
use crate::profile::Profile;

use super::Cyrus;

pub(crate) struct CyrusBackend;

impl Backend for CyrusBackend {
    fn kind(&self) -> MtaKind {
        MtaKind::Cyrus
    }

    fn title(&self) -> &'static str {
        "Cyrus IMAP"
    }

    fn installed(&self) -> bool {
        Cyrus::installed()
    }

    fn recognizes(&self, config: &Path) -> bool {
        Cyrus::recognizes(config)
    }

    fn open(&self, config: Option<&Path>) -> Result<Box<dyn Instance>> {
        Ok(Box::new(Cyrus::open(config)?))
    }

    fn profile_settings(&self, profile: &Profile) -> Vec<(String, Vec<(&'static str, String)>)> {
        vec![(
            "Cyrus IMAP (imapd.conf; weaker imap_/pop3_ overrides are rewritten too):".into(),
            super::settings_for(profile),
        )]
    }

    fn profile_json(&self, profile: &Profile) -> serde_json::Value {
        serde_json::json!(super::settings_for(profile))
    }

    fn reload_in_place(&self, config: &Path) -> Result<()> {
        super::master::reload(config)
    }
}

impl Instance for Cyrus {
    fn instance(&self) -> PathBuf {
        self.config_file().to_path_buf()
    }

    fn detect(&self) -> Result<Detected> {
        Cyrus::detect(self)
    }

    fn plan(&self, request: &Request) -> Result<Plan> {
        Cyrus::plan(self, request)
    }

    fn validate(&self, plan: &Plan) -> Result<()> {
        Cyrus::validate(self, plan)
    }

    fn running(&self) -> bool {
        Cyrus::running(self)
    }

    /// imapd.conf options prefixed with the cyrus.conf service name (`pop3s_tls_versions`).
    fn per_listener(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}
