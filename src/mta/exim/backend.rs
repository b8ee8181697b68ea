//! Exim's side of the backend contract: thin wrappers over `Exim`.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::mta::backend::{Backend, Instance};
use crate::mta::{Detected, MtaKind, Request};
use crate::plan::Plan;
use crate::profile::Profile;

use super::{Exim, TlsLibrary};

pub(crate) struct EximBackend;

impl Backend for EximBackend {
    fn kind(&self) -> MtaKind {
        MtaKind::Exim
    }

    fn title(&self) -> &'static str {
        "Exim"
    }

    fn installed(&self) -> bool {
        Exim::installed()
    }

    fn recognizes(&self, config: &Path) -> bool {
        Exim::recognizes(config)
    }

    fn open(&self, config: Option<&Path>) -> Result<Box<dyn Instance>> {
        Ok(Box::new(Exim::open(config)?))
    }

    fn profile_settings(&self, profile: &Profile) -> Vec<(String, Vec<(&'static str, String)>)> {
        [("GnuTLS", TlsLibrary::GnuTls), ("OpenSSL", TlsLibrary::OpenSsl)]
            .into_iter()
            .map(|(name, library)| {
                (
                    format!("Exim built with {name} (main section):"),
                    super::settings_for(profile, library),
                )
            })
            .collect()
    }

    fn profile_json(&self, profile: &Profile) -> serde_json::Value {
        serde_json::json!({
            "gnutls": super::settings_for(profile, TlsLibrary::GnuTls),
            "openssl": super::settings_for(profile, TlsLibrary::OpenSsl),
        })
    }
}

impl Instance for Exim {
    fn instance(&self) -> PathBuf {
        Exim::instance(self)
    }

    fn detect(&self) -> Result<Detected> {
        Exim::detect(self)
    }

    fn plan(&self, request: &Request) -> Result<Plan> {
        Exim::plan(self, request)
    }

    fn validate(&self, plan: &Plan) -> Result<()> {
        Exim::validate(self, plan)
    }

    fn running(&self) -> bool {
        Exim::running(self)
    }

    /// GnuTLS: a `tls_require_ciphers` expanded on `$received_port` (OpenSSL builds are refused in `plan`).
    fn per_listener(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}
