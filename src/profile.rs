//! Hardening profiles: server-neutral data loaded from TOML (the bundled
//! `profiles/*.toml`, embedded in the binary, or a user's file). Backends
//! translate a `Profile` into their own syntax; the probe judges against it.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::tiers::{RawTiers, Tier, Tiers};
use crate::tls::{CipherSuite, Group, Protocol};

/// The bundled profiles, by name; the first is the default.
pub const BUNDLED: &[(&str, &str)] = &[
    ("intermediate", include_str!("../profiles/intermediate.toml")),
    ("modern", include_str!("../profiles/modern.toml")),
    ("old", include_str!("../profiles/old.toml")),
    ("ncsc-nl-2025", include_str!("../profiles/ncsc-nl-2025.toml")),
    ("bsi-tr-02102-2", include_str!("../profiles/bsi-tr-02102-2.toml")),
    ("nist-sp800-52r2", include_str!("../profiles/nist-sp800-52r2.toml")),
];

pub const DEFAULT: &str = "intermediate";

/// A profile as written in TOML. Unknown keys are errors.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    description: String,
    guidelines: Option<String>,
    min_protocol: Protocol,
    tls12_ciphers: Vec<String>,
    tls13_ciphersuites: Vec<String>,
    groups: Vec<Group>,
    server_cipher_order: bool,
    dh_min_bits: Option<u32>,
    certificate: CertificatePolicy,
    tiers: Option<RawTiers>,
    /// `[listeners.smtp] profile = "old"`: another profile for a listener kind.
    listeners: Option<std::collections::BTreeMap<String, RawListener>>,
}

/// One `[listeners.KIND]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListener {
    profile: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CertificatePolicy {
    pub rsa_min_bits: u32,
    pub max_lifespan_days: u32,
}

/// A validated profile.
#[derive(Clone, Debug, Serialize)]
pub struct Profile {
    pub name: String,
    pub description: String,
    pub guidelines: Option<String>,
    /// Where it came from: "bundled" or a file path.
    pub origin: String,
    pub min_protocol: Protocol,
    /// Suites allowed in TLS 1.2 (and below, if `min_protocol` allows it), in preference order.
    pub tls12_ciphers: Vec<CipherSuite>,
    pub tls13_ciphersuites: Vec<CipherSuite>,
    pub groups: Vec<Group>,
    pub server_cipher_order: bool,
    pub dh_min_bits: Option<u32>,
    pub certificate: CertificatePolicy,
    /// How the baseline grades suites, protocols and groups, and which
    /// grades it allows; None: the lists above are the whole judgement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Tiers>,
    /// Listener kinds held to another profile (its name or file), from
    /// `[listeners.KIND]` tables; `floors` loads them.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub listeners: std::collections::BTreeMap<crate::vocabulary::ListenerKind, String>,
}

impl Profile {
    /// Loads a bundled profile by name, or a file when `spec` names one
    /// (contains a `/` or ends in `.toml`).
    pub fn load(spec: &str) -> Result<Profile> {
        if spec.contains('/') || spec.ends_with(".toml") {
            let text = fs_err::read_to_string(spec).map_err(|e| Error::Profile {
                source_name: spec.to_string(),
                message: format!("cannot read it: {e}"),
            })?;
            return Profile::parse(&text, spec);
        }
        let (_, text) = BUNDLED.iter().find(|(name, _)| *name == spec).ok_or_else(|| {
            let names: Vec<_> = BUNDLED.iter().map(|(n, _)| *n).collect();
            Error::Profile {
                source_name: spec.to_string(),
                message: format!(
                    "no such profile (bundled: {}; or give a path to a .toml file)",
                    names.join(", ")
                ),
            }
        })?;
        let mut profile = Profile::parse(text, spec)?;
        profile.origin = "bundled".into();
        Ok(profile)
    }

    pub fn bundled() -> Vec<Profile> {
        BUNDLED
            .iter()
            .map(|(name, _)| Profile::load(name).expect("bundled profiles are valid"))
            .collect()
    }

    /// Parses and validates profile text; `source_name` names it in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Profile> {
        let fail = |message: String| Error::Profile {
            source_name: source_name.to_string(),
            message,
        };
        let raw: RawProfile = toml::from_str(text).map_err(|e| fail(one_line(&e.to_string())))?;

        if raw.min_protocol < Protocol::TlsV1_0 {
            return Err(fail(format!(
                "min_protocol = {:?} is not allowed: SSLv2 and SSLv3 are broken (use TLSv1.0 or later)",
                raw.min_protocol.name()
            )));
        }
        let tls12_ciphers = suites(&raw.tls12_ciphers, "tls12_ciphers", false).map_err(fail)?;
        let tls13_ciphersuites = suites(&raw.tls13_ciphersuites, "tls13_ciphersuites", true).map_err(fail)?;
        if raw.min_protocol <= Protocol::TlsV1_2 && tls12_ciphers.is_empty() {
            return Err(fail(format!(
                "tls12_ciphers is empty but min_protocol = {:?} allows TLS 1.2 or older: list the allowed suites",
                raw.min_protocol.name()
            )));
        }
        if tls13_ciphersuites.is_empty() {
            return Err(fail(
                "tls13_ciphersuites is empty: TLS 1.3 needs at least one suite".into(),
            ));
        }
        if raw.groups.is_empty() {
            return Err(fail("groups is empty: list at least one key exchange group".into()));
        }
        for text in [&raw.name, &raw.description] {
            if text.contains(['\n', '\r']) {
                return Err(fail("name and description must be one line".into()));
            }
        }
        let tiers = raw.tiers.map(Tiers::from_raw).transpose().map_err(fail)?;
        let mut listeners = std::collections::BTreeMap::new();
        for (kind, table) in raw.listeners.unwrap_or_default() {
            let kind: crate::vocabulary::ListenerKind =
                kind.parse().map_err(|e| fail(format!("[listeners.{kind}]: {e}")))?;
            if table.profile.trim().is_empty() || table.profile.contains(|c: char| c.is_control()) {
                return Err(fail(format!(
                    "[listeners.{kind}]: profile must name a profile on one line"
                )));
            }
            listeners.insert(kind, table.profile);
        }
        if let Some(t) = &tiers {
            check_tiers(t, raw.min_protocol, &tls12_ciphers, &tls13_ciphersuites, &raw.groups).map_err(fail)?;
        }
        Ok(Profile {
            name: raw.name,
            description: raw.description,
            guidelines: raw.guidelines,
            origin: source_name.to_string(),
            min_protocol: raw.min_protocol,
            tls12_ciphers,
            tls13_ciphersuites,
            groups: raw.groups,
            server_cipher_order: raw.server_cipher_order,
            dh_min_bits: raw.dh_min_bits,
            certificate: raw.certificate,
            tiers,
            listeners,
        })
    }

    /// Whether the TLS 1.3 suites are OpenSSL's default three, which a
    /// server without a TLS 1.3 suite setting (Postfix 3.7, OpenSMTPD,
    /// Cyrus 3.6) leaves on.
    pub fn tls13_is_openssl_default(&self) -> bool {
        let mut wanted: Vec<u16> = self.tls13_ciphersuites.iter().map(|s| s.0).collect();
        wanted.sort_unstable();
        wanted == [0x1301, 0x1302, 0x1303]
    }

    /// The plan's warning for a server with no TLS 1.3 suite setting, when
    /// the profile wants fewer than OpenSSL's default three.
    pub fn tls13_unexpressible(&self, server: &str) -> Option<String> {
        (!self.tls13_is_openssl_default()).then(|| {
            format!(
                "{server} has no setting for TLS 1.3 suites: OpenSSL's default three stay on, so profile {} (TLS 1.3: {}) cannot be met there and verification will fail",
                self.name,
                self.tls13_ciphersuites.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
            )
        })
    }

    /// Whether the profile allows a protocol version.
    pub fn allows(&self, protocol: Protocol) -> bool {
        protocol >= self.min_protocol
    }

    /// Whether the profile allows a suite negotiated under `protocol`: TLS 1.3
    /// suites from `tls13_ciphersuites`, the others from `tls12_ciphers`.
    pub fn allows_suite(&self, protocol: Protocol, suite: CipherSuite) -> bool {
        self.allows(protocol)
            && if protocol == Protocol::TlsV1_3 {
                self.tls13_ciphersuites.contains(&suite)
            } else {
                !suite.is_tls13() && self.tls12_ciphers.contains(&suite)
            }
    }
}

/// A profile with tiers configures only what its tiers allow: a listed
/// suite, group or protocol graded below them is a contradiction.
fn check_tiers(
    t: &Tiers,
    min: Protocol,
    tls12: &[CipherSuite],
    tls13: &[CipherSuite],
    groups: &[crate::tls::Group],
) -> Result<(), String> {
    let refuse = |what: String, tier: Tier| {
        Err(format!(
            "{what} is graded {tier} by the profile's tiers, which allow {} only",
            t.allowed_words()
        ))
    };
    for p in Protocol::ALL
        .into_iter()
        .filter(|p| *p >= min && *p <= Protocol::TlsV1_3)
    {
        if !t.allows(t.protocol(p)) {
            return refuse(format!("min_protocol allows {p}, which"), t.protocol(p));
        }
    }
    for s in tls12.iter().chain(tls13) {
        if !t.allows(t.suite(*s)) {
            return refuse(format!("suite {s}"), t.suite(*s));
        }
    }
    for g in groups {
        if !t.allows(t.group(*g)) {
            return refuse(format!("group {g}"), t.group(*g));
        }
    }
    Ok(())
}

/// Resolves suite names (IANA or OpenSSL) for one profile key.
fn suites(names: &[String], key: &str, tls13: bool) -> Result<Vec<CipherSuite>, String> {
    let mut out = Vec::new();
    for name in names {
        let suite = CipherSuite::from_name(name)
            .filter(|s| s.openssl_name().is_some())
            .ok_or_else(|| {
                format!(
                    "{key}: unknown cipher suite {name:?} (use IANA names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)"
                )
            })?;
        if suite.is_tls13() != tls13 {
            let other = if tls13 { "tls12_ciphers" } else { "tls13_ciphersuites" };
            return Err(format!("{key}: {name} belongs in {other}"));
        }
        if !out.contains(&suite) {
            out.push(suite);
        }
    }
    Ok(out)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_profiles_load() {
        let all = Profile::bundled();
        assert_eq!(all.len(), BUNDLED.len());
        for p in &all {
            assert!(p.guidelines.is_some(), "{} names no source", p.name);
        }
        let i = Profile::load("intermediate").unwrap();
        assert_eq!(i.min_protocol, Protocol::TlsV1_2);
        assert_eq!(i.tls12_ciphers.len(), 9);
        assert!(!i.allows(Protocol::TlsV1_1));
        assert_eq!(Profile::load("modern").unwrap().min_protocol, Protocol::TlsV1_3);
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let text = BUNDLED[0].1.replace("server_cipher_order", "server_cipher_ordr");
        let err = Profile::parse(&text, "mine.toml").unwrap_err().to_string();
        assert!(err.starts_with("profile mine.toml:"), "{err}");
        assert!(err.contains("server_cipher_ordr"), "{err}");
    }

    #[test]
    fn bad_values_are_refused() {
        let text = BUNDLED[0].1.replace("\"TLSv1.2\"", "\"SSLv3\"");
        assert!(Profile::parse(&text, "p")
            .unwrap_err()
            .to_string()
            .contains("SSLv2 and SSLv3"));
        let text = BUNDLED[0].1.replace("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_NOPE");
        assert!(Profile::parse(&text, "p").unwrap_err().to_string().contains("TLS_NOPE"));
        let text = BUNDLED[0]
            .1
            .replace("\"TLS_DHE_RSA_WITH_AES_128_GCM_SHA256\"", "\"TLS_AES_128_GCM_SHA256\"");
        assert!(Profile::parse(&text, "p")
            .unwrap_err()
            .to_string()
            .contains("belongs in"));
        assert!(Profile::load("nope").is_err());
    }
}
