//! OpenSMTPD's side of the backend contract: thin wrappers over `Opensmtpd`.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::mta::backend::{Backend, Instance};
use crate::mta::{Detected, MtaKind, Request};
use crate::plan::Plan;
use crate::profile::Profile;

use super::Opensmtpd;

pub(crate) struct OpensmtpdBackend;

impl Backend for OpensmtpdBackend {
    fn kind(&self) -> MtaKind {
        MtaKind::Opensmtpd
    }

    fn title(&self) -> &'static str {
        "OpenSMTPD"
    }

    fn installed(&self) -> bool {
        Opensmtpd::installed()
    }

    fn recognizes(&self, config: &Path) -> bool {
        Opensmtpd::recognizes(config)
    }

    fn open(&self, config: Option<&Path>) -> Result<Box<dyn Instance>> {
        Ok(Box::new(Opensmtpd::open(config)?))
    }

    fn profile_settings(&self, profile: &Profile) -> Vec<(String, Vec<(&'static str, String)>)> {
        vec![(
            "OpenSMTPD 7.x (each TLS `listen on` line):".into(),
            super::settings_for(profile),
        )]
    }

    fn profile_json(&self, profile: &Profile) -> serde_json::Value {
        serde_json::json!(super::settings_for(profile))
    }
}

impl Instance for Opensmtpd {
    fn instance(&self) -> PathBuf {
        self.config_file().to_path_buf()
    }

    fn detect(&self) -> Result<Detected> {
        Opensmtpd::detect(self)
    }

    fn plan(&self, request: &Request) -> Result<Plan> {
        Opensmtpd::plan(self, request)
    }

    fn validate(&self, plan: &Plan) -> Result<()> {
        Opensmtpd::validate(self, plan)
    }

    fn running(&self) -> bool {
        Opensmtpd::running(self)
    }

    fn per_listener(&self) -> std::result::Result<(), String> {
        Opensmtpd::per_listener(self)
    }
}
