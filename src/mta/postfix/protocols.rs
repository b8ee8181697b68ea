//! Postfix's `*_tls_protocols` syntax: `>=TLSv1.2` (3.6+), exclusions
//! `!SSLv2, !SSLv3, !TLSv1`, inclusions `TLSv1.2 TLSv1.3`, or a mix.

use crate::tls::Protocol;

/// The protocols a Postfix protocol spec leaves enabled. Unknown names are ignored, as Postfix does.
pub fn enabled(spec: &str) -> Vec<Protocol> {
    let mut included: Option<Vec<Protocol>> = None;
    let mut min = Protocol::SslV2;
    let mut max = Protocol::TlsV1_3;
    let mut excluded = Vec::new();
    for token in spec.split([',', ':', ' ', '\t']).filter(|t| !t.is_empty()) {
        if let Some(name) = token.strip_prefix(">=") {
            if let Ok(p) = name.parse() {
                min = min.max(p);
            }
        } else if let Some(name) = token.strip_prefix("<=") {
            if let Ok(p) = name.parse() {
                max = max.min(p);
            }
        } else if let Some(name) = token.strip_prefix('!') {
            if let Ok(p) = name.parse() {
                excluded.push(p);
            }
        } else if let Ok(p) = token.parse() {
            included.get_or_insert_with(Vec::new).push(p);
        }
    }
    // SSLv2 is gone from every OpenSSL Postfix links against today.
    Protocol::ALL
        .into_iter()
        .filter(|p| *p != Protocol::SslV2)
        .filter(|p| included.as_ref().is_none_or(|inc| inc.contains(p)))
        .filter(|p| *p >= min && *p <= max && !excluded.contains(p))
        .collect()
}

/// The spec that enables `min` and everything newer, in the syntax the version understands.
pub fn spec_from(min: Protocol, modern_syntax: bool) -> String {
    if modern_syntax {
        return format!(">={}", min.openssl_name());
    }
    Protocol::ALL
        .into_iter()
        .filter(|p| *p < min)
        .map(|p| format!("!{}", p.openssl_name()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use Protocol::*;

    #[test]
    fn every_syntax_gives_the_enabled_set() {
        assert_eq!(enabled(">=TLSv1.2"), [TlsV1_2, TlsV1_3]);
        assert_eq!(enabled("!SSLv2, !SSLv3, !TLSv1, !TLSv1.1"), [TlsV1_2, TlsV1_3]);
        assert_eq!(enabled("TLSv1.3"), [TlsV1_3]);
        assert_eq!(enabled(""), [SslV3, TlsV1_0, TlsV1_1, TlsV1_2, TlsV1_3]);
        assert_eq!(enabled(">=TLSv1 <=TLSv1.2"), [TlsV1_0, TlsV1_1, TlsV1_2]);
        assert_eq!(enabled(">=TLSv1.3, !TLSv1.3"), []);
    }

    #[test]
    fn specs_round_trip() {
        for min in [TlsV1_0, TlsV1_2, TlsV1_3] {
            for modern in [true, false] {
                let spec = spec_from(min, modern);
                assert_eq!(enabled(&spec).first(), Some(&min), "{spec}");
            }
        }
        assert_eq!(spec_from(TlsV1_2, false), "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1");
    }
}
