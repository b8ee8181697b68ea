//! What a profile means in imapd.conf, and when a value the user already
//! has (or Cyrus's default, when it is unset) is strict enough to keep.
//!
//! Cyrus 3.6 reads three TLS settings here (imap/tls.c,
//! `tls_init_serverengine`): `tls_versions` (each of `tls1_0` ... `tls1_3`
//! found in the text stays enabled), `tls_ciphers` (OpenSSL's cipher list,
//! TLS 1.2 and below) and `tls_prefer_server_ciphers`. It has no setting for
//! TLS 1.3 suites. `tls_eccurve` names the one elliptic curve it offers
//! (`SSL_CTX_set_tmp_ecdh`, default prime256v1): measured on Debian 12's
//! build, the server then offers that single group for TLS 1.2 and 1.3
//! alike; a name that is not a NIST curve (X25519, a typo) is skipped and
//! OpenSSL's whole default list (X448, secp521r1, ffdhe...) comes back.

use crate::profile::Profile;
use crate::tls::{CipherSuite, Protocol};

/// The settings a profile makes, with Cyrus's defaults where it makes none.
pub const KEYS: [&str; 4] = [
    "tls_versions",
    "tls_ciphers",
    "tls_prefer_server_ciphers",
    "tls_eccurve",
];

/// The curves `tls_eccurve` can name (short names, as OpenSSL's `OBJ_sn2nid` reads them).
const CURVES: [&str; 3] = ["prime256v1", "secp384r1", "secp521r1"];

/// Cyrus 3.6's built-in value of a setting (imapd.conf(5)).
pub fn default_of(key: &str) -> Option<&'static str> {
    match key {
        "tls_versions" => Some("tls1_0 tls1_1 tls1_2 tls1_3"),
        "tls_ciphers" => Some("DEFAULT"),
        "tls_prefer_server_ciphers" => Some("0"),
        "tls_eccurve" => Some("prime256v1"),
        _ => None,
    }
}

const VERSIONS: [(&str, Protocol); 4] = [
    ("tls1_0", Protocol::TlsV1_0),
    ("tls1_1", Protocol::TlsV1_1),
    ("tls1_2", Protocol::TlsV1_2),
    ("tls1_3", Protocol::TlsV1_3),
];

/// The settings a profile makes, in the order they are added.
pub fn desired(profile: &Profile) -> Vec<(&'static str, String)> {
    let versions: Vec<&str> = VERSIONS
        .iter()
        .filter(|(_, p)| profile.allows(*p))
        .map(|(n, _)| *n)
        .collect();
    let mut out = vec![("tls_versions", versions.join(" "))];
    if profile.allows(Protocol::TlsV1_2) && !profile.tls12_ciphers.is_empty() {
        let mut names: Vec<&str> = profile.tls12_ciphers.iter().filter_map(|s| s.openssl_name()).collect();
        // OpenSSL 3 refuses TLS 1.0 and 1.1 at security level 1 and up (Debian 12's default is 2).
        if profile.min_protocol < Protocol::TlsV1_2 {
            names.push("@SECLEVEL=0");
        }
        out.push(("tls_ciphers", names.join(":")));
    }
    out.push((
        "tls_prefer_server_ciphers",
        if profile.server_cipher_order { "yes" } else { "no" }.into(),
    ));
    if let Some(curve) = curve(profile) {
        out.push(("tls_eccurve", curve.to_string()));
    }
    out
}

/// The profile's first group that `tls_eccurve` can name.
fn curve(profile: &Profile) -> Option<&'static str> {
    profile
        .groups
        .iter()
        .filter_map(|g| g.openssl_name())
        .find(|n| CURVES.contains(n))
}

fn curve_allowed(name: &str, profile: &Profile) -> bool {
    CURVES.contains(&name) && profile.groups.iter().any(|g| g.openssl_name() == Some(name))
}

/// The protocols a `tls_versions` value leaves enabled: Cyrus looks for each
/// name as a substring (`strstr`), so that is what this does.
pub fn enabled_versions(value: &str) -> Vec<Protocol> {
    VERSIONS
        .iter()
        .filter(|(n, _)| value.contains(n))
        .map(|(_, p)| *p)
        .collect()
}

/// A Cyrus switch as `config_parse_switch` reads it (`0`, `no`, `off`, `f`...).
pub fn switch(value: &str) -> Option<bool> {
    let v = value.trim();
    match v.as_bytes().first()? {
        b'0' | b'n' | b'f' => Some(false),
        b'o' if v.as_bytes().get(1) == Some(&b'f') => Some(false),
        b'1' | b'y' | b't' => Some(true),
        b'o' if v.as_bytes().get(1) == Some(&b'n') => Some(true),
        _ => None,
    }
}

/// Whether `current` (the file's value, or Cyrus's default when `None`) meets the profile for `key`.
pub fn acceptable(key: &str, current: Option<&str>, profile: &Profile) -> bool {
    let Some(current) = current.or(default_of(key)).map(str::trim) else {
        return false;
    };
    match key {
        "tls_versions" => {
            let enabled = enabled_versions(current);
            !enabled.is_empty() && enabled.iter().all(|p| profile.allows(*p))
        }
        "tls_ciphers" => {
            let all: Vec<&str> = current.split([':', ',', ' ']).filter(|t| !t.is_empty()).collect();
            // `@SECLEVEL=0` is not a suite; only a profile that allows TLS 1.0/1.1 keeps level 0.
            let level_0 = all.contains(&"@SECLEVEL=0");
            let names: Vec<&str> = all.into_iter().filter(|n| !n.starts_with('@')).collect();
            level_0 == (profile.min_protocol < Protocol::TlsV1_2)
                && !names.is_empty()
                && names
                    .iter()
                    .all(|n| CipherSuite::from_name(n).is_some_and(|s| profile.tls12_ciphers.contains(&s)))
        }
        "tls_prefer_server_ciphers" => switch(current) == Some(profile.server_cipher_order),
        "tls_eccurve" => curve_allowed(current, profile),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intermediate_in_cyrus_terms() {
        let p = Profile::load("intermediate").unwrap();
        let d = desired(&p);
        assert_eq!(d[0], ("tls_versions", "tls1_2 tls1_3".to_string()));
        assert!(d[1]
            .1
            .starts_with("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"));
        assert_eq!(d[2], ("tls_prefer_server_ciphers", "no".to_string()));
        assert_eq!(
            d[3],
            ("tls_eccurve", "prime256v1".to_string()),
            "X25519 is no curve Cyrus can name"
        );
        assert!(
            acceptable("tls_eccurve", None, &p),
            "the default, prime256v1, is the profile's"
        );
        assert!(acceptable("tls_eccurve", Some("secp384r1"), &p));
        assert!(
            !acceptable("tls_eccurve", Some("X25519"), &p),
            "it would bring back every group"
        );
        assert!(!acceptable("tls_eccurve", Some("secp521r1"), &p));
        assert!(!acceptable("tls_versions", None, &p), "the default allows TLS 1.0");
        assert!(acceptable("tls_versions", Some("tls1_3"), &p));
        assert!(
            acceptable("tls_versions", Some("tls1_2tls1_3"), &p),
            "substrings, as Cyrus reads them"
        );
        assert!(!acceptable("tls_versions", Some("ssl3"), &p), "nothing enabled");
        assert!(!acceptable("tls_ciphers", None, &p));
        assert!(acceptable("tls_ciphers", Some("ECDHE-RSA-AES128-GCM-SHA256"), &p));
        assert!(acceptable("tls_prefer_server_ciphers", None, &p));
        assert!(!acceptable("tls_prefer_server_ciphers", Some("on"), &p));
        assert!(acceptable("tls_prefer_server_ciphers", Some("off"), &p));
    }

    #[test]
    fn modern_sets_no_tls12_suites() {
        let p = Profile::load("modern").unwrap();
        let d = desired(&p);
        assert_eq!(d[0], ("tls_versions", "tls1_3".to_string()));
        assert!(d.iter().all(|(k, _)| *k != "tls_ciphers"));
    }
}
