//! What `detect` reports of a Cyrus instance: version, TLS library, config
//! files, the IMAP/POP3 listeners of cyrus.conf with TLS on or off, the TLS
//! settings in effect (Cyrus's defaults where unset, service overrides) and
//! what is weak about them.

use std::path::Path;

use super::{harden, Cyrus, CERT, KEY, KEY_READERS};
use crate::error::Result;
use crate::mta::{certificate_weaknesses, Detected, MtaKind};
use crate::profile::Profile;

impl Cyrus {
    pub fn detect(&self) -> Result<Detected> {
        let loaded = self.load()?;
        let profile = Profile::load(crate::profile::DEFAULT)?;
        let mut weaknesses = Vec::new();
        let mut tls_settings = Vec::new();
        for key in harden::KEYS {
            let current = loaded.get(&loaded.conf, key);
            if !harden::acceptable(key, current, &profile) && key != "tls_prefer_server_ciphers" {
                weaknesses.push(match current {
                    Some(value) => format!("{key}: {value} allows more than profile {}", profile.name),
                    None => format!(
                        "{key} is unset: Cyrus's default ({}) allows more than profile {}",
                        harden::default_of(key).unwrap_or(""),
                        profile.name
                    ),
                });
            }
            tls_settings.push((
                key.to_string(),
                current.or(harden::default_of(key)).unwrap_or("").to_string(),
            ));
        }
        let mut ignored = Vec::new();
        let services = self.mail_services(&loaded, &mut ignored);
        let mut listeners = Vec::new();
        for service in services {
            let cert = Cyrus::cert_of(&loaded, &loaded.conf, &service.name);
            listeners.extend(service.listener(Cyrus::tls_on(&cert)));
            for key in harden::KEYS {
                let name = format!("{}_{key}", service.name);
                if let Some(value) = loaded.get(&loaded.conf, &name) {
                    if !harden::acceptable(key, Some(value), &profile) && key != "tls_prefer_server_ciphers" {
                        weaknesses.push(format!("{name}: {value} allows more than profile {}", profile.name));
                    }
                    tls_settings.push((name, value.to_string()));
                }
            }
        }
        if listeners.iter().any(|l| !l.tls.is_tls()) {
            weaknesses.push("no tls_server_cert/tls_server_key: some IMAP or POP3 services offer no TLS".into());
        }
        if let (Some(cert), Some(key)) = (loaded.get(&loaded.conf, CERT), loaded.get(&loaded.conf, KEY)) {
            if !cert.contains(',') && !cert.eq_ignore_ascii_case("disabled") {
                weaknesses.extend(certificate_weaknesses(
                    &Cyrus::expand(&loaded.conf, cert),
                    &Cyrus::expand(&loaded.conf, key),
                    &profile.certificate,
                    KEY_READERS,
                ));
            }
        }
        let mut config_files = vec![self.config.clone(), self.cyrus_conf.clone()];
        config_files.extend(loaded.included.iter().map(|i| i.path.clone()));
        Ok(Detected {
            mta: MtaKind::Cyrus,
            version: self.version(),
            tls_library: crate::mta::run_program(Path::new("openssl"), &["version"])
                .ok()
                .map(|v| v.split_whitespace().take(2).collect::<Vec<_>>().join(" ")),
            config: self.config.clone(),
            config_files,
            listeners,
            tls_settings,
            weaknesses,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mta::TlsStart;

    #[test]
    fn detect_reports_defaults_overrides_and_services_without_tls() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("imapd.conf");
        std::fs::write(
            &config,
            "configdirectory: /var/lib/cyrus\npop3s_tls_versions: tls1_1 tls1_2\ntls_eccurve: X25519\n",
        )
        .unwrap();
        let c = config.display();
        std::fs::write(
            dir.path().join("cyrus.conf"),
            format!(
                "SERVICES {{\n  imap cmd=\"imapd -C {c}\" listen=\"1143\"\n  pop3s cmd=\"pop3d -s -C {c}\" listen=\"[::1]:1995\"\n  other cmd=\"imapd\" listen=\"2143\"\n}}\n"
            ),
        )
        .unwrap();
        let found = Cyrus::open(Some(&config)).unwrap().detect().unwrap();
        assert_eq!(found.mta, MtaKind::Cyrus);
        let ports: Vec<(u16, TlsStart)> = found.listeners.iter().map(|l| (l.port, l.tls)).collect();
        assert_eq!(
            ports,
            [(1143, TlsStart::Off), (1995, TlsStart::Off)],
            "no certificate: no TLS; `other` reads /etc/imapd.conf"
        );
        let weak = found.weaknesses.join("\n");
        assert!(
            weak.contains("tls_versions is unset: Cyrus's default (tls1_0 tls1_1 tls1_2 tls1_3)"),
            "{weak}"
        );
        assert!(weak.contains("pop3s_tls_versions: tls1_1 tls1_2 allows more"), "{weak}");
        assert!(weak.contains("tls_eccurve: X25519 allows more"), "{weak}");
        assert!(weak.contains("offer no TLS"), "{weak}");
        assert!(found
            .tls_settings
            .contains(&("tls_ciphers".to_string(), "DEFAULT".to_string())));
    }
}
