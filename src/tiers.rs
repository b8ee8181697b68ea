//! Tiers: how a baseline grades what a server accepts, the way NCSC-NL and
//! internet.nl do (good, sufficient, phase-out, insufficient), and which
//! tiers it allows. Pure data read from a profile's `[tiers]` table; the
//! probe's judge asks it for a grade, nothing here scans or edits.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::tls::{CipherSuite, Group, Protocol};

/// One grade, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    Good,
    Sufficient,
    PhaseOut,
    Insufficient,
}

impl Tier {
    pub fn name(self) -> &'static str {
        match self {
            Tier::Good => "good",
            Tier::Sufficient => "sufficient",
            Tier::PhaseOut => "phase-out",
            Tier::Insufficient => "insufficient",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One kind's lists as written; whatever no list names is insufficient.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLists {
    #[serde(default)]
    good: Vec<String>,
    #[serde(default)]
    sufficient: Vec<String>,
    #[serde(default)]
    phase_out: Vec<String>,
}

/// `[tiers]` as written in a profile.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTiers {
    allow: Vec<Tier>,
    #[serde(default)]
    protocols: RawLists,
    #[serde(default)]
    suites: RawLists,
    #[serde(default)]
    groups: RawLists,
}

/// A validated `[tiers]` table.
#[derive(Clone, Debug, Serialize)]
pub struct Tiers {
    pub allow: Vec<Tier>,
    pub protocols: Vec<(Protocol, Tier)>,
    pub suites: Vec<(CipherSuite, Tier)>,
    pub groups: Vec<(Group, Tier)>,
}

/// What is wrong with a `[tiers]` table; each names the list at fault.
#[derive(Debug, thiserror::Error)]
pub enum TiersError {
    #[error("tiers.allow is empty: name the tiers the profile accepts")]
    NoAllow,
    #[error("tiers.{kind}.{key}: unknown name {name:?}")]
    Unknown {
        kind: &'static str,
        key: &'static str,
        name: String,
    },
    #[error("tiers.{kind}: {name} is listed in two tiers")]
    Twice { kind: &'static str, name: String },
}

impl Tiers {
    /// Resolves every name; an unknown one is an error naming its list.
    pub fn from_raw(raw: RawTiers) -> Result<Tiers, TiersError> {
        if raw.allow.is_empty() {
            return Err(TiersError::NoAllow);
        }
        Ok(Tiers {
            allow: raw.allow,
            protocols: resolve(&raw.protocols, "protocols", |s| s.parse::<Protocol>().ok())?,
            suites: resolve(&raw.suites, "suites", CipherSuite::from_name)?,
            groups: resolve(&raw.groups, "groups", |s| s.parse::<Group>().ok())?,
        })
    }

    pub fn allows(&self, tier: Tier) -> bool {
        self.allow.contains(&tier)
    }

    pub fn protocol(&self, p: Protocol) -> Tier {
        lookup(&self.protocols, p)
    }

    pub fn suite(&self, s: CipherSuite) -> Tier {
        lookup(&self.suites, s)
    }

    pub fn group(&self, g: Group) -> Tier {
        lookup(&self.groups, g)
    }

    /// The allowed tiers in words: "good or sufficient".
    pub fn allowed_words(&self) -> String {
        let names: Vec<&str> = self.allow.iter().map(|t| t.name()).collect();
        names.join(" or ")
    }
}

fn lookup<T: PartialEq + Copy>(table: &[(T, Tier)], key: T) -> Tier {
    table
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, t)| *t)
        .unwrap_or(Tier::Insufficient)
}

fn resolve<T: PartialEq>(
    lists: &RawLists,
    kind: &'static str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<(T, Tier)>, TiersError> {
    let mut out: Vec<(T, Tier)> = Vec::new();
    for (tier, names, key) in [
        (Tier::Good, &lists.good, "good"),
        (Tier::Sufficient, &lists.sufficient, "sufficient"),
        (Tier::PhaseOut, &lists.phase_out, "phase_out"),
    ] {
        for name in names {
            let value = parse(name).ok_or_else(|| TiersError::Unknown {
                kind,
                key,
                name: name.clone(),
            })?;
            if out.iter().any(|(v, _)| *v == value) {
                return Err(TiersError::Twice {
                    kind,
                    name: name.clone(),
                });
            }
            out.push((value, tier));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table, or the error's message (a TOML one included).
    fn tiers(text: &str) -> Result<Tiers, std::borrow::Cow<'static, str>> {
        let raw = toml::from_str(text).map_err(|e: toml::de::Error| e.to_string())?;
        Tiers::from_raw(raw).map_err(|e| e.to_string().into())
    }

    #[test]
    fn unlisted_is_insufficient_and_names_resolve() {
        let t = tiers(
            "allow = [\"good\", \"sufficient\"]\n[suites]\ngood = [\"TLS_AES_256_GCM_SHA384\"]\nphase_out = [\"DHE-RSA-AES128-GCM-SHA256\"]\n[groups]\ngood = [\"P-256\"]\n",
        )
        .unwrap();
        assert_eq!(
            t.suite(CipherSuite::from_name("TLS_AES_256_GCM_SHA384").unwrap()),
            Tier::Good
        );
        assert_eq!(
            t.suite(CipherSuite::from_name("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256").unwrap()),
            Tier::PhaseOut
        );
        assert_eq!(
            t.suite(CipherSuite::from_name("TLS_RSA_WITH_AES_128_CBC_SHA").unwrap()),
            Tier::Insufficient
        );
        assert_eq!(t.group(Group::SECP256R1), Tier::Good);
        assert_eq!(t.group(Group::X25519), Tier::Insufficient);
        assert!(t.allows(Tier::Sufficient) && !t.allows(Tier::PhaseOut));
        assert_eq!(t.allowed_words(), "good or sufficient");
    }

    #[test]
    fn bad_tables_are_refused() {
        assert!(tiers("allow = []").unwrap_err().contains("allow is empty"));
        assert!(tiers("allow = [\"great\"]").is_err());
        let e = tiers("allow = [\"good\"]\n[suites]\ngood = [\"TLS_NOPE\"]\n").unwrap_err();
        assert!(e.contains("tiers.suites.good") && e.contains("TLS_NOPE"), "{e}");
        let e = tiers("allow = [\"good\"]\n[groups]\ngood = [\"X25519\"]\nphase_out = [\"x25519\"]\n").unwrap_err();
        assert!(e.contains("two tiers"), "{e}");
    }
}
