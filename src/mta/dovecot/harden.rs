//! What a profile means in Dovecot settings (2.3 names, and 2.4's renames),
//! mapped to what the running version knows (2.2 has `ssl_protocols` and no
//! `ssl_min_protocol` or `ssl_curve_list`; `ssl_cipher_suites` exists from
//! 2.3.15), and when a value the user already has is strict enough to keep.

use crate::profile::Profile;
use crate::tls::{CipherSuite, Group, Protocol};

/// Dovecot 2.4 renamed the certificate and cipher-order settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generation {
    V2_3,
    V2_4,
}

impl Generation {
    pub fn cert_key(self) -> &'static str {
        match self {
            Generation::V2_3 => "ssl_cert",
            Generation::V2_4 => "ssl_server_cert_file",
        }
    }

    pub fn key_key(self) -> &'static str {
        match self {
            Generation::V2_3 => "ssl_key",
            Generation::V2_4 => "ssl_server_key_file",
        }
    }

    /// A path as the cert/key settings take it: `<path` in 2.3 (read the file), a plain path in 2.4.
    pub fn path_value(self, path: &str) -> String {
        match self {
            Generation::V2_3 => format!("<{path}"),
            Generation::V2_4 => path.to_string(),
        }
    }

    pub fn path_of(self, value: &str) -> String {
        value.trim().trim_start_matches('<').trim().to_string()
    }
}

/// The settings a profile makes, in the order they are added.
pub fn desired(profile: &Profile, generation: Generation) -> Vec<(&'static str, String)> {
    let mut out = vec![("ssl_min_protocol", profile.min_protocol.openssl_name().to_string())];
    if profile.min_protocol <= Protocol::TlsV1_2 && !profile.tls12_ciphers.is_empty() {
        let mut names: Vec<&str> = profile.tls12_ciphers.iter().filter_map(|s| s.openssl_name()).collect();
        // OpenSSL 3 refuses TLS 1.0 and 1.1 at security level 1 and up (Debian 12's default is 2).
        if profile.min_protocol < Protocol::TlsV1_2 {
            names.push("@SECLEVEL=0");
        }
        out.push(("ssl_cipher_list", names.join(":")));
    }
    let suites: Vec<&str> = profile
        .tls13_ciphersuites
        .iter()
        .filter_map(|s| s.openssl_name())
        .collect();
    out.push(("ssl_cipher_suites", suites.join(":")));
    let groups: Vec<&str> = profile.groups.iter().filter_map(|g| g.openssl_name()).collect();
    out.push(("ssl_curve_list", groups.join(":")));
    match generation {
        Generation::V2_3 => out.push(("ssl_prefer_server_ciphers", yes_no(profile.server_cipher_order).into())),
        Generation::V2_4 => out.push((
            "ssl_server_prefer_ciphers",
            if profile.server_cipher_order {
                "server"
            } else {
                "client"
            }
            .into(),
        )),
    }
    out
}

/// Settings as `desired` gives them: name and value, in the order they are added.
pub type Settings = Vec<(&'static str, String)>;

/// The first version with `ssl_cipher_suites` (TLS 1.3 suites).
const CIPHER_SUITES_SINCE: [u32; 3] = [2, 3, 15];
/// The first version with `ssl_min_protocol` and `ssl_curve_list` (2.2 has `ssl_protocols`).
const MIN_PROTOCOL_SINCE: [u32; 3] = [2, 3, 0];

/// `2.3.13` (or `2.3.13 (89f716dc2)`, as `dovecot --version` prints it) as numbers.
pub fn parse_version(text: &str) -> Option<[u32; 3]> {
    let mut numbers = text.split_whitespace().next()?.split('.').map(|n| {
        n.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse::<u32>()
    });
    let major = numbers.next()?.ok()?;
    let minor = numbers.next()?.ok()?;
    let patch = numbers.next().and_then(Result::ok).unwrap_or(0);
    Some([major, minor, patch])
}

/// The profile's settings in the names `version` knows, and what it cannot do.
/// Unknown versions keep the 2.3.15+ names. Refused when the version cannot
/// express the profile at all (2.2 cannot limit TLS to 1.3).
pub fn for_version(
    desired: Settings,
    profile: &Profile,
    version: Option<&str>,
) -> Result<(Settings, Vec<String>), String> {
    let Some(numbers) = version.and_then(parse_version) else {
        return Ok((desired, Vec::new()));
    };
    let shown = version
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or_default();
    let mut notes = Vec::new();
    let mut out = Vec::new();
    for (key, value) in desired {
        match key {
            "ssl_cipher_suites" if numbers < CIPHER_SUITES_SINCE => notes.push(format!(
                "Dovecot {shown} has no ssl_cipher_suites (from 2.3.15): the TLS 1.3 suites are OpenSSL's defaults"
            )),
            "ssl_curve_list" if numbers < MIN_PROTOCOL_SINCE => notes.push(format!(
                "Dovecot {shown} has no ssl_curve_list (from 2.3.0): the groups are OpenSSL's defaults"
            )),
            "ssl_min_protocol" if numbers < MIN_PROTOCOL_SINCE => {
                if profile.min_protocol > Protocol::TlsV1_2 {
                    return Err(format!(
                        "Dovecot {shown} cannot limit TLS to {} and up: its ssl_protocols names protocols only up to TLSv1.2; use a profile that allows TLS 1.2, or Dovecot 2.3",
                        profile.min_protocol.openssl_name()
                    ));
                }
                let excluded: Vec<String> = [Protocol::SslV2, Protocol::SslV3, Protocol::TlsV1_0, Protocol::TlsV1_1]
                    .into_iter()
                    .filter(|p| *p < profile.min_protocol)
                    .map(|p| format!("!{}", p.openssl_name()))
                    .collect();
                notes.push(format!(
                    "Dovecot {shown} has no ssl_min_protocol (from 2.3.0): ssl_protocols excludes the older protocols instead"
                ));
                out.push(("ssl_protocols", excluded.join(" ")));
            }
            _ => out.push((key, value)),
        }
    }
    Ok((out, notes))
}

/// The protocols a Dovecot 2.2 `ssl_protocols` value leaves on: named ones
/// (when any is named) minus the `!excluded` ones.
fn protocols_enabled(value: &str) -> Vec<Protocol> {
    let mut included = Vec::new();
    let mut excluded = Vec::new();
    for token in value.split_whitespace() {
        match token.strip_prefix('!') {
            Some(name) => excluded.extend(name.parse::<Protocol>().ok()),
            None => included.extend(token.parse::<Protocol>().ok()),
        }
    }
    Protocol::ALL
        .into_iter()
        .filter(|p| *p != Protocol::SslV2)
        .filter(|p| included.is_empty() || included.contains(p))
        .filter(|p| !excluded.contains(p))
        .collect()
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Whether `current` already meets the profile for `key`.
pub fn acceptable(key: &str, current: Option<&str>, wanted: &str, profile: &Profile) -> bool {
    let Some(current) = current.map(str::trim).filter(|c| !c.is_empty()) else {
        return false;
    };
    let list = |v: &str| {
        v.split([':', ',', ' '])
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    match key {
        "ssl_min_protocol" => current.parse::<Protocol>().is_ok_and(|p| profile.allows(p)),
        "ssl_protocols" => {
            let on = protocols_enabled(current);
            !on.is_empty() && on.iter().all(|p| profile.allows(*p))
        }
        "ssl_cipher_list" => {
            // `@SECLEVEL=0` is not a suite; only a profile that allows TLS 1.0/1.1 keeps level 0.
            let all = list(current);
            let level_0 = all.iter().any(|t| t == "@SECLEVEL=0");
            level_0 == (profile.min_protocol < Protocol::TlsV1_2)
                && all
                    .iter()
                    .filter(|n| !n.starts_with('@'))
                    .all(|n| CipherSuite::from_name(n).is_some_and(|s| profile.tls12_ciphers.contains(&s)))
        }
        "ssl_cipher_suites" => list(current)
            .iter()
            .all(|n| CipherSuite::from_name(n).is_some_and(|s| profile.tls13_ciphersuites.contains(&s))),
        "ssl_curve_list" => list(current)
            .iter()
            .all(|n| n.parse::<Group>().is_ok_and(|g| profile.groups.contains(&g))),
        _ => current.eq_ignore_ascii_case(wanted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_version_gets_the_settings_it_knows() {
        let p = Profile::load("intermediate").unwrap();
        let keys = |v: &str| {
            let (d, notes) = for_version(desired(&p, Generation::V2_3), &p, Some(v)).unwrap();
            (d.iter().map(|(k, _)| *k).collect::<Vec<_>>(), notes)
        };
        let (k, notes) = keys("2.3.19.1 (9b53102964)");
        assert!(k.contains(&"ssl_cipher_suites") && notes.is_empty());
        let (k, notes) = keys("2.3.13 (89f716dc2)");
        assert!(!k.contains(&"ssl_cipher_suites") && k.contains(&"ssl_min_protocol"));
        assert!(notes[0].contains("no ssl_cipher_suites (from 2.3.15)"), "{notes:?}");
        let (d, notes) = for_version(desired(&p, Generation::V2_3), &p, Some("2.2.36")).unwrap();
        assert!(
            d.contains(&("ssl_protocols", "!SSLv2 !SSLv3 !TLSv1 !TLSv1.1".to_string())),
            "{d:?}"
        );
        assert!(!d
            .iter()
            .any(|(k, _)| ["ssl_min_protocol", "ssl_curve_list", "ssl_cipher_suites"].contains(k)));
        assert_eq!(notes.len(), 3, "{notes:?}");
        let modern = Profile::load("modern").unwrap();
        let refused = for_version(desired(&modern, Generation::V2_3), &modern, Some("2.2.36")).unwrap_err();
        assert!(
            refused.contains("Dovecot 2.2.36 cannot limit TLS to TLSv1.3"),
            "{refused}"
        );
        assert!(acceptable(
            "ssl_protocols",
            Some("!SSLv2 !SSLv3 !TLSv1 !TLSv1.1"),
            "x",
            &p
        ));
        assert!(!acceptable("ssl_protocols", Some("!SSLv2 !SSLv3"), "x", &p));
        assert!(acceptable("ssl_protocols", Some("TLSv1.2"), "x", &p));
    }

    #[test]
    fn intermediate_in_dovecot_terms() {
        let p = Profile::load("intermediate").unwrap();
        let d = desired(&p, Generation::V2_3);
        assert_eq!(d[0], ("ssl_min_protocol", "TLSv1.2".to_string()));
        assert!(d
            .iter()
            .any(|(k, v)| *k == "ssl_curve_list" && v == "X25519:prime256v1:secp384r1"));
        assert!(acceptable("ssl_min_protocol", Some("TLSv1.3"), "TLSv1.2", &p));
        assert!(!acceptable("ssl_min_protocol", Some("TLSv1"), "TLSv1.2", &p));
        assert!(!acceptable(
            "ssl_cipher_list",
            Some("ALL:!kRSA:!SRP:!kDHd:!DSS:!aNULL:!eNULL:!EXPORT:!DES:!3DES:!MD5:!PSK:!RC4:!ADH:!LOW@STRENGTH"),
            "x",
            &p
        ));
        assert!(acceptable(
            "ssl_cipher_list",
            Some("ECDHE-RSA-AES128-GCM-SHA256"),
            "x",
            &p
        ));
    }
}
