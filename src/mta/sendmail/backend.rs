//! Sendmail's side of the backend contract: thin wrappers over `Sendmail`.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::mta::backend::{Backend, Instance};
use crate::mta::{Detected, MtaKind, Request};
use crate::plan::Plan;
use crate::profile::Profile;

use super::Sendmail;

pub(crate) struct SendmailBackend;

impl Backend for SendmailBackend {
    fn kind(&self) -> MtaKind {
        MtaKind::Sendmail
    }

    fn title(&self) -> &'static str {
        "Sendmail"
    }

    fn installed(&self) -> bool {
        Sendmail::installed()
    }

    fn recognizes(&self, config: &Path) -> bool {
        Sendmail::recognizes(config)
    }

    fn open(&self, config: Option<&Path>) -> Result<Box<dyn Instance>> {
        Ok(Box::new(Sendmail::open(config)?))
    }

    fn profile_settings(&self, profile: &Profile) -> Vec<(String, Vec<(&'static str, String)>)> {
        vec![(
            "Sendmail (sendmail.mc or Debian's starttls.m4; sendmail.cf is regenerated):".into(),
            super::settings_for(profile),
        )]
    }

    fn profile_json(&self, profile: &Profile) -> serde_json::Value {
        serde_json::json!(super::settings_for(profile))
    }
}

impl Instance for Sendmail {
    fn instance(&self) -> PathBuf {
        self.config_file().to_path_buf()
    }

    fn detect(&self) -> Result<Detected> {
        Sendmail::detect(self)
    }

    fn plan(&self, request: &Request) -> Result<Plan> {
        Sendmail::plan(self, request)
    }

    fn validate(&self, plan: &Plan) -> Result<()> {
        Sendmail::validate(self, plan)
    }

    fn running(&self) -> bool {
        Sendmail::running(self)
    }

    fn per_listener(&self) -> std::result::Result<(), String> {
        Err("Sendmail builds one server TLS context (CipherList, ServerSSLOptions) for every DaemonPortOptions port; its per-connection tls_srv_features ruleset (8.16 and later) is keyed by the client, and mailtls does not write rulesets".into())
    }
}
