//! What a profile means in Postfix's main.cf parameters, and when a value
//! the user already has is good enough to keep. A value is judged by what it
//! allows: a protocol list is kept when it allows nothing the profile forbids
//! and still allows the newest protocol the profile wants (`TLSv1.2` alone,
//! a positive list without TLS 1.3, is not kept).

use crate::profile::Profile;
use crate::tls::{CipherSuite, Group, Protocol};

use super::protocols;
use super::Version;

/// The Postfix version that understands `>=TLSv1.2`.
const MODERN_PROTOCOL_SYNTAX: Version = Version(3, 6);

/// The parameters the profile sets, each with its desired value, in the order they are added.
pub fn desired(profile: &Profile, version: Option<Version>) -> Vec<(&'static str, String)> {
    let modern = version.is_some_and(|v| v >= MODERN_PROTOCOL_SYNTAX);
    let protocols = protocols::spec_from(profile.min_protocol, modern);
    let mut out: Vec<(&'static str, String)> = [
        "smtpd_tls_protocols",
        "smtpd_tls_mandatory_protocols",
        "smtp_tls_protocols",
        "smtp_tls_mandatory_protocols",
    ]
    .into_iter()
    .map(|name| (name, protocols.clone()))
    .collect();
    if !profile.tls12_ciphers.is_empty() && profile.min_protocol <= Protocol::TlsV1_2 {
        for name in [
            "smtpd_tls_ciphers",
            "smtpd_tls_mandatory_ciphers",
            "smtp_tls_ciphers",
            "smtp_tls_mandatory_ciphers",
        ] {
            out.push((name, "high".to_string()));
        }
        let mut list: Vec<&str> = profile.tls12_ciphers.iter().filter_map(|s| s.openssl_name()).collect();
        // OpenSSL 3 refuses TLS 1.0 and 1.1 at security level 1 and up (Debian 12's default is 2).
        if profile.min_protocol < Protocol::TlsV1_2 {
            list.push(SECLEVEL_0);
        }
        out.push(("tls_high_cipherlist", list.join(":")));
    }
    out.push((
        "tls_preempt_cipherlist",
        if profile.server_cipher_order { "yes" } else { "no" }.to_string(),
    ));
    let curves: Vec<&str> = profile
        .groups
        .iter()
        .filter(|g| g.0 < 0x0100)
        .filter_map(|g| g.openssl_name())
        .collect();
    if !curves.is_empty() {
        out.push(("tls_eecdh_auto_curves", curves.join(" ")));
    }
    out
}

/// What lets OpenSSL 3 negotiate TLS 1.0 and 1.1, for profiles that allow them.
pub const SECLEVEL_0: &str = "@SECLEVEL=0";

/// The parameters that decide what one smtpd listener accepts: the
/// `smtpd_` ones and the shared cipher list, curves and order (the `smtp_`
/// client ones are not a listener's). A listener with its own floor gets
/// these as master.cf `-o` overrides.
pub fn listener_desired(profile: &Profile, version: Option<Version>) -> Vec<(&'static str, String)> {
    desired(profile, version)
        .into_iter()
        .filter(|(name, _)| !name.starts_with("smtp_"))
        .collect()
}

/// Whether `current` (the value in effect, `None` when unset) already meets the profile for `name`.
pub fn acceptable(name: &str, current: Option<&str>, wanted: &str, profile: &Profile) -> bool {
    let Some(current) = current.map(str::trim) else {
        return false;
    };
    if name.ends_with("_protocols") {
        let on = protocols::enabled(current);
        let newest = Protocol::ALL.into_iter().filter(|p| profile.allows(*p)).max();
        return !on.is_empty() && on.iter().all(|p| profile.allows(*p)) && newest.is_none_or(|n| on.contains(&n));
    }
    match name {
        "tls_high_cipherlist" => {
            // `@SECLEVEL=0` and the like are not suites; only a profile that allows TLS 1.0/1.1 keeps level 0.
            let names: Vec<&str> = list(current).into_iter().filter(|n| !n.starts_with('@')).collect();
            let level_0 = list(current).contains(&SECLEVEL_0);
            !names.is_empty()
                && level_0 == (profile.min_protocol < Protocol::TlsV1_2)
                && names
                    .iter()
                    .all(|n| CipherSuite::from_name(n).is_some_and(|s| profile.tls12_ciphers.contains(&s)))
        }
        "tls_eecdh_auto_curves" => {
            let names: Vec<&str> = list(current);
            !names.is_empty()
                && names
                    .iter()
                    .all(|n| n.parse::<Group>().is_ok_and(|g| profile.groups.contains(&g)))
        }
        "tls_preempt_cipherlist" => current.eq_ignore_ascii_case(wanted),
        _ => current == wanted,
    }
}

fn list(value: &str) -> Vec<&str> {
    value.split([':', ',', ' ', '\t']).filter(|t| !t.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_positive_list_without_tls_1_3_is_not_kept_when_the_profile_wants_1_3() {
        // Regression: `TLSv1.2` (TLS 1.2 only) was kept as "already as strict".
        for name in ["intermediate", "modern"] {
            let p = Profile::load(name).unwrap();
            assert!(
                !acceptable("smtpd_tls_protocols", Some("TLSv1.2"), ">=TLSv1.2", &p),
                "{name}"
            );
            assert!(
                !acceptable("smtp_tls_protocols", Some(">=TLSv1.2 <=TLSv1.2"), ">=TLSv1.2", &p),
                "{name}"
            );
            assert!(
                acceptable("smtpd_tls_protocols", Some("TLSv1.3"), ">=TLSv1.2", &p),
                "{name}"
            );
        }
    }

    #[test]
    fn intermediate_on_3_7_uses_the_modern_syntax_and_high_list() {
        let p = Profile::load("intermediate").unwrap();
        let d = desired(&p, Some(Version(3, 7)));
        assert!(d.contains(&("smtpd_tls_protocols", ">=TLSv1.2".into())));
        let high = &d.iter().find(|(n, _)| *n == "tls_high_cipherlist").unwrap().1;
        assert!(high.starts_with("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"));
        let old = desired(&p, Some(Version(3, 5)));
        assert!(old.contains(&("smtp_tls_protocols", "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1".into())));
    }

    #[test]
    fn stricter_values_are_kept_weaker_ones_are_not() {
        let p = Profile::load("intermediate").unwrap();
        assert!(acceptable("smtpd_tls_protocols", Some(">=TLSv1.3"), ">=TLSv1.2", &p));
        assert!(acceptable(
            "smtpd_tls_protocols",
            Some("!SSLv2, !SSLv3, !TLSv1, !TLSv1.1"),
            ">=TLSv1.2",
            &p
        ));
        assert!(!acceptable("smtpd_tls_protocols", Some(">=TLSv1"), ">=TLSv1.2", &p));
        assert!(acceptable(
            "smtpd_tls_protocols",
            Some("TLSv1.2, TLSv1.3"),
            ">=TLSv1.2",
            &p
        ));
        assert!(!acceptable("smtpd_tls_protocols", None, ">=TLSv1.2", &p));
        assert!(acceptable(
            "tls_high_cipherlist",
            Some("ECDHE-RSA-AES128-GCM-SHA256"),
            "x",
            &p
        ));
        assert!(!acceptable(
            "tls_high_cipherlist",
            Some("aNULL:-aNULL:HIGH:@STRENGTH"),
            "x",
            &p
        ));
        assert!(acceptable("tls_eecdh_auto_curves", Some("X25519"), "x", &p));
        assert!(!acceptable("tls_eecdh_auto_curves", Some("X25519 X448"), "x", &p));
    }
}
