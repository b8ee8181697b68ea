//! docker-mailserver's Dovecot override file, `docker-data/dms/config/dovecot.cf`
//! on its host: `setup.d/dovecot.sh` copies it to the container's
//! `/etc/dovecot/local.conf`, which the image's dovecot.conf includes last,
//! at every start. The Dovecot that reads it is the image's, so its version
//! comes from the image tag in the compose file, not from this host:
//! Debian 13 and Dovecot 2.4 from v16 (and `edge`), Debian 12 and 2.3.19 in
//! v14-v15, Debian 11 before (2.3.13 from Debian, or 2.3.21 from Dovecot's
//! repository; the older is assumed). With `latest` or no tag, only the
//! names 2.3.19 and 2.4 share are written.

use std::path::Path;

use crate::error::{Error, Result};
use crate::mta::container::{self, Compose};
use crate::mta::Reload;

/// Where docker-mailserver mounts its config folder in the container.
const MOUNT: &str = "/tmp/docker-mailserver";

/// What the image tag says about the Dovecot inside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageDovecot {
    /// One known version, as `dovecot --version` prints it.
    Known(&'static str),
    /// `latest` or untagged: 2.3.19 or 2.4, which the tag does not tell.
    Either,
}

pub struct DmsDovecot {
    pub image: String,
    target: container::Target,
}

impl DmsDovecot {
    /// docker-mailserver's `dovecot.cf`: named so, or in a folder its compose file mounts at /tmp/docker-mailserver.
    pub fn detect(file: &Path) -> Option<DmsDovecot> {
        let dir = file.parent()?;
        let found = Compose::mounting(dir, MOUNT);
        if found.is_none() && file.file_name().is_none_or(|n| n != "dovecot.cf") {
            return None;
        }
        Some(DmsDovecot {
            image: found.as_ref().map(|(_, s)| s.image.clone()).unwrap_or_default(),
            target: container::Target::of(found),
        })
    }

    pub fn dovecot(&self) -> ImageDovecot {
        let tag = self
            .image
            .rsplit_once(':')
            .map(|(_, t)| t)
            .filter(|t| !t.contains('/'))
            .unwrap_or("latest");
        if tag == "edge" {
            return ImageDovecot::Known("2.4.1");
        }
        match tag
            .trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok())
        {
            Some(major) if major >= 16 => ImageDovecot::Known("2.4.1"),
            Some(14 | 15) => ImageDovecot::Known("2.3.19"),
            Some(_) => ImageDovecot::Known("2.3.13"),
            None => ImageDovecot::Either,
        }
    }

    pub fn note(&self, file: &Path) -> String {
        let version = match self.dovecot() {
            ImageDovecot::Known(v) => format!("Dovecot {v}, from the image tag of {}", self.image),
            ImageDovecot::Either => format!(
                "Dovecot 2.3.19 up to v15 or 2.4 from v16, which `{}` does not tell, so only the settings both know are written (pin a version tag to get the rest)",
                if self.image.is_empty() { "the image" } else { &self.image }
            ),
        };
        format!(
            "docker-mailserver: {} is copied to the container's local.conf at every start (target/scripts/startup/setup.d/dovecot.sh), read after the image's config; the image's {version}; the change takes effect when the container restarts, and this host's doveconf cannot check it",
            file.display()
        )
    }

    pub fn refuse_cert(&self, file: &Path) -> Result<()> {
        Err(Error::Config(format!(
            "{}: --cert is not supported for docker-mailserver: the certificate is docker-mailserver's (SSL_TYPE in mailserver.env), and a path on this host means nothing inside the container",
            file.display()
        )))
    }

    pub fn reload(&self, choice: &container::Choice, file: &Path) -> Result<Reload> {
        self.target.restart(choice).map_err(|why| {
            Error::Config(format!(
                "{}: cannot tell which container runs docker-mailserver's Dovecot: {why}; give --container NAME or --reload-command",
                file.display()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(image: &str) -> ImageDovecot {
        DmsDovecot {
            image: image.into(),
            target: container::Target::of(None),
        }
        .dovecot()
    }

    #[test]
    fn the_image_tag_says_which_dovecot_runs() {
        assert_eq!(
            of("ghcr.io/docker-mailserver/docker-mailserver:edge"),
            ImageDovecot::Known("2.4.1")
        );
        assert_eq!(
            of("ghcr.io/docker-mailserver/docker-mailserver:16.0.0"),
            ImageDovecot::Known("2.4.1")
        );
        assert_eq!(
            of("docker.io/mailserver/docker-mailserver:15.1.0"),
            ImageDovecot::Known("2.3.19")
        );
        assert_eq!(of("mailserver/docker-mailserver:v14"), ImageDovecot::Known("2.3.19"));
        assert_eq!(of("mailserver/docker-mailserver:13.3.1"), ImageDovecot::Known("2.3.13"));
        assert_eq!(
            of("ghcr.io/docker-mailserver/docker-mailserver:latest"),
            ImageDovecot::Either
        );
        assert_eq!(of("localhost:5000/docker-mailserver"), ImageDovecot::Either);
        assert_eq!(of(""), ImageDovecot::Either);
    }
}
