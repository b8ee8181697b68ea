//! What a profile means in Sendmail's m4 macros, and when a value already
//! set is good enough to keep. Sendmail links OpenSSL: `confCIPHER_LIST` is
//! an OpenSSL cipher list (TLS 1.2 and below), `confSERVER_SSL_OPTIONS` and
//! `confCLIENT_SSL_OPTIONS` turn protocols off with `+SSL_OP_NO_*`, and TLS
//! 1.3 suites have no macro: `O CipherSuites=` in a LOCAL_CONFIG block.
//! Sendmail 8.17 has no option for the key exchange groups.

use crate::profile::Profile;
use crate::tls::{CipherSuite, Protocol};

/// Where a setting lives: an m4 macro, or an `O` line of LOCAL_CONFIG.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Macro,
    LocalOption,
}

/// OpenSSL's default TLS 1.3 suites: a profile that allows exactly these needs no `CipherSuites`.
const OPENSSL_TLS13_DEFAULT: [&str; 3] = [
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
];

/// The settings the profile sets, each with where it goes and its value.
/// `current` gives the value in effect, so SSL options keep the user's other flags.
pub fn desired(profile: &Profile, current: impl Fn(&str) -> Option<String>) -> Vec<(&'static str, Place, String)> {
    let mut out = Vec::new();
    if profile.min_protocol <= Protocol::TlsV1_2 {
        let list: Vec<&str> = profile.tls12_ciphers.iter().filter_map(|s| s.openssl_name()).collect();
        out.push(("confCIPHER_LIST", Place::Macro, list.join(":")));
    }
    for name in ["confSERVER_SSL_OPTIONS", "confCLIENT_SSL_OPTIONS"] {
        let server = name == "confSERVER_SSL_OPTIONS";
        out.push((
            name,
            Place::Macro,
            ssl_options(profile, current(name).as_deref().unwrap_or(""), server),
        ));
    }
    let tls13: Vec<&str> = profile
        .tls13_ciphersuites
        .iter()
        .filter_map(|s| s.iana_name())
        .collect();
    let default = tls13.len() == OPENSSL_TLS13_DEFAULT.len() && tls13.iter().all(|s| OPENSSL_TLS13_DEFAULT.contains(s));
    if !default || current("CipherSuites").is_some() {
        out.push(("CipherSuites", Place::LocalOption, tls13.join(":")));
    }
    out
}

/// Whether `current` (the value in effect, `None` when unset) already meets the profile.
pub fn acceptable(name: &str, current: Option<&str>, wanted: &str, profile: &Profile) -> bool {
    let Some(current) = current.map(str::trim) else {
        return false;
    };
    let names: Vec<&str> = current.split([':', ',', ' ']).filter(|t| !t.is_empty()).collect();
    match name {
        "confCIPHER_LIST" => {
            !names.is_empty()
                && names
                    .iter()
                    .all(|n| CipherSuite::from_name(n).is_some_and(|s| profile.tls12_ciphers.contains(&s)))
        }
        "CipherSuites" => {
            !names.is_empty()
                && names
                    .iter()
                    .all(|n| CipherSuite::from_name(n).is_some_and(|s| profile.tls13_ciphersuites.contains(&s)))
        }
        _ => current == wanted,
    }
}

/// The user's SSL option flags, minus those that turn a refused protocol back
/// on, plus `+SSL_OP_NO_*` for every protocol the profile refuses (and server
/// cipher order when the profile asks for it).
pub fn ssl_options(profile: &Profile, current: &str, server: bool) -> String {
    let refused: Vec<&str> = [
        (Protocol::SslV2, "SSL_OP_NO_SSLv2"),
        (Protocol::SslV3, "SSL_OP_NO_SSLv3"),
        (Protocol::TlsV1_0, "SSL_OP_NO_TLSv1"),
        (Protocol::TlsV1_1, "SSL_OP_NO_TLSv1_1"),
        (Protocol::TlsV1_2, "SSL_OP_NO_TLSv1_2"),
    ]
    .into_iter()
    .filter(|(p, _)| !profile.allows(*p))
    .map(|(_, flag)| flag)
    .collect();
    let mut tokens: Vec<String> = current
        .split_whitespace()
        .filter(|t| !(t.starts_with('-') && refused.contains(&&t[1..])))
        .map(str::to_string)
        .collect();
    let mut wanted: Vec<String> = refused.iter().map(|f| format!("+{f}")).collect();
    if server && profile.server_cipher_order {
        wanted.push("+SSL_OP_CIPHER_SERVER_PREFERENCE".into());
    }
    for flag in wanted {
        if !tokens.contains(&flag) {
            tokens.push(flag);
        }
    }
    tokens.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intermediate_turns_off_tls_1_0_and_1_1_and_keeps_other_flags() {
        let profile = Profile::load("intermediate").unwrap();
        assert_eq!(
            ssl_options(&profile, "+SSL_OP_NO_TICKET -SSL_OP_NO_TLSv1", true),
            "+SSL_OP_NO_TICKET +SSL_OP_NO_SSLv2 +SSL_OP_NO_SSLv3 +SSL_OP_NO_TLSv1 +SSL_OP_NO_TLSv1_1"
        );
        let names: Vec<&str> = desired(&profile, |_| None).iter().map(|(n, _, _)| *n).collect();
        assert_eq!(
            names,
            ["confCIPHER_LIST", "confSERVER_SSL_OPTIONS", "confCLIENT_SSL_OPTIONS"],
            "OpenSSL's default TLS 1.3 suites are the profile's: no CipherSuites line"
        );
    }
}
