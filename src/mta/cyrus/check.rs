//! Cyrus's own checker on the new imapd.conf before anything goes live:
//! `cyr_info conf-lint`, which reads the file the way every Cyrus program
//! does and lists the options it does not know.

use std::path::Path;

use super::Cyrus;
use crate::error::{Error, Result};
use crate::mta::backend::Staging;
use crate::plan::Plan;

impl Cyrus {
    /// Runs `cyr_info conf-lint` on a staged copy of imapd.conf, as each
    /// IMAP/POP3 service reads it (`-n NAME`: service overrides apply) and
    /// plain: a fatal error refuses the plan, and so does an option it does
    /// not know that the live file does not already have.
    pub fn validate(&self, plan: &Plan) -> Result<()> {
        let cyr_info = self
            .bin
            .as_ref()
            .map(|b| b.join("cyr_info"))
            .filter(|c| c.is_file())
            .ok_or_else(|| Error::MissingProgram {
                program: "cyr_info".into(),
                hint: "applying needs Cyrus's own checker (`cyr_info conf-lint`, beside cyrmaster); `mailtls plan` works without it".into(),
            })?;
        let loaded = self.load()?;
        let staged_dir = tempfile::Builder::new()
            .prefix("mailtls-check-")
            .tempdir()
            .map_err(Error::io(std::env::temp_dir(), "cannot create a staging directory"))?;
        let staged = staged_dir.path().join("imapd.conf");
        let after = plan
            .changes
            .iter()
            .find(|c| c.path == self.config)
            .map_or(loaded.text.as_str(), |c| c.after.as_str());
        std::fs::write(&staged, after).map_err(Error::io(&staged, "cannot stage"))?;
        let mut idents: Vec<Option<&str>> = vec![None];
        let mut ignored = Vec::new();
        idents.extend(
            self.mail_services(&loaded, &mut ignored)
                .iter()
                .map(|s| Some(s.name.as_str())),
        );
        for ident in idents {
            let lint = |config: &Path| -> Result<Vec<String>> {
                let mut command = std::process::Command::new(&cyr_info);
                // A relative `@include` resolves the same way for the live file and the staged one.
                command.current_dir(self.config.parent().unwrap_or(Path::new("/")));
                command.arg("-C").arg(config).arg("-M").arg(&self.cyrus_conf);
                if let Some(name) = ident {
                    command.args(["-n", name]);
                }
                let output = command
                    .arg("conf-lint")
                    .output()
                    .map_err(Error::io(&cyr_info, "cannot run cyr_info"))?;
                if !output.status.success() {
                    return Err(Error::Command {
                        program: format!("cyr_info -C {} conf-lint", config.display()),
                        status: output.status.to_string(),
                        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
                    });
                }
                Ok(String::from_utf8_lossy(&output.stdout)
                    .lines()
                    .map(str::to_string)
                    .collect())
            };
            Staging::refuse_new_warnings("cyr_info conf-lint", lint(&self.config)?, lint(&staged)?)?;
        }
        Ok(())
    }
}
