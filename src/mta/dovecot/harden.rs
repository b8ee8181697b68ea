//! What a profile means in Dovecot settings (2.3 names, and 2.4's renames),
//! and when a value the user already has is strict enough to keep.

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
        let names: Vec<&str> = profile.tls12_ciphers.iter().filter_map(|s| s.openssl_name()).collect();
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
        "ssl_cipher_list" => list(current)
            .iter()
            .all(|n| CipherSuite::from_name(n).is_some_and(|s| profile.tls12_ciphers.contains(&s))),
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
