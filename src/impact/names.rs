//! The names servers log for what they negotiated, turned into the crate's
//! TLS vocabulary: OpenSSL's and GnuTLS's protocol names ("TLSv1", "TLS1.2",
//! "SSL3.0") and suite names (OpenSSL "ECDHE-RSA-AES256-SHA", GnuTLS
//! "ECDHE_RSA_AES_256_GCM_SHA384", IANA "TLS_AES_256_GCM_SHA384"). Lookups go
//! through the suite registry in `tls::suite`; nothing here keeps a table.

use crate::tls::{CipherSuite, Protocol};

/// "TLSv1", "TLSv1.2", "TLS1.3", "TLS1.0", "SSLv3", "SSL3.0".
pub fn protocol(name: &str) -> Option<Protocol> {
    let lower = name.trim().to_ascii_lowercase();
    let (family, number) = if let Some(rest) = lower.strip_prefix("tls") {
        ("tls", rest.trim_start_matches('v'))
    } else if let Some(rest) = lower.strip_prefix("ssl") {
        ("ssl", rest.trim_start_matches('v'))
    } else {
        return None;
    };
    Some(match (family, number) {
        ("tls", "1" | "1.0") => Protocol::TlsV1_0,
        ("tls", "1.1") => Protocol::TlsV1_1,
        ("tls", "1.2") => Protocol::TlsV1_2,
        ("tls", "1.3") => Protocol::TlsV1_3,
        ("ssl", "3" | "3.0") => Protocol::SslV3,
        ("ssl", "2" | "2.0") => Protocol::SslV2,
        _ => return None,
    })
}

/// A suite as logged under `protocol`, by any of the naming schemes; `None`
/// when the registry knows no suite by that name.
pub fn suite(protocol: Option<Protocol>, name: &str) -> Option<CipherSuite> {
    let name = name.trim();
    if let Some(s) = CipherSuite::from_name(name) {
        return Some(s);
    }
    if name.contains("__") {
        return gnutls_description(protocol?, name);
    }
    gnutls(name)
}

/// What GnuTLS's session description becomes in Exim's log: the parts of
/// `(TLS1.2)-(ECDHE-X25519)-(RSA-PSS-RSAE-SHA256)-(AES-128-CBC)-(SHA1)` joined
/// with `__`: key exchange (or group), signature, cipher, and the MAC unless
/// the cipher is an AEAD. TLS 1.3 has no key exchange in its suites.
fn gnutls_description(protocol: Protocol, name: &str) -> Option<CipherSuite> {
    let parts: Vec<&str> = name.split("__").collect();
    let aead_hash = |cipher: &str| if cipher.contains("256_GCM") { "SHA384" } else { "SHA256" };
    let cipher_name = |c: &str| c.replace("3DES_CBC", "3DES_EDE_CBC").replace("ARCFOUR_128", "RC4_128");
    if protocol == Protocol::TlsV1_3 {
        let cipher = parts.last()?;
        return CipherSuite::from_name(&format!("TLS_{}_{}", cipher_name(cipher), aead_hash(cipher)));
    }
    let kx = parts.first()?;
    let (prefix, rest) = if kx.starts_with("ECDHE") || kx.starts_with("DHE") {
        let signature = parts.get(1)?;
        let auth = if signature.contains("ECDSA") {
            "ECDSA"
        } else if signature.contains("DSS") || signature.contains("DSA_") {
            "DSS"
        } else {
            "RSA"
        };
        let exchange = if kx.starts_with("ECDHE") { "ECDHE" } else { "DHE" };
        (format!("{exchange}_{auth}"), &parts[2..])
    } else {
        (kx.to_string(), &parts[1..])
    };
    let cipher = rest.first()?;
    let mac = match rest.get(1) {
        Some(&"SHA1") => "SHA",
        Some(mac) => mac,
        None => aead_hash(cipher),
    };
    CipherSuite::from_name(&format!("TLS_{prefix}_WITH_{}_{mac}", cipher_name(cipher)))
}

/// GnuTLS names a suite like IANA without the `WITH` and with its own
/// spellings ("SHA1", "3DES_CBC", "ARCFOUR_128", "ANON_DH"); the `TLS_`
/// prefix is there or not depending on the GnuTLS version and caller.
fn gnutls(name: &str) -> Option<CipherSuite> {
    let bare = name.strip_prefix("TLS_").unwrap_or(name).to_ascii_uppercase();
    let mut bare = bare
        .replace("3DES_CBC", "3DES_EDE_CBC")
        .replace("ARCFOUR_128", "RC4_128")
        .replace("ANON_ECDH", "ECDH_anon")
        .replace("ANON_DH", "DH_anon");
    if let Some(stem) = bare.strip_suffix("_SHA1") {
        bare = format!("{stem}_SHA");
    }
    // The longest key exchange that prefixes the name: ECDHE_RSA before RSA.
    const KEY_EXCHANGES: &[&str] = &[
        "ECDHE_ECDSA",
        "ECDHE_RSA",
        "ECDHE_PSK",
        "ECDH_anon",
        "DHE_RSA",
        "DHE_DSS",
        "DHE_PSK",
        "DH_anon",
        "RSA_PSK",
        "SRP_SHA_RSA",
        "SRP_SHA_DSS",
        "SRP_SHA",
        "RSA",
        "PSK",
    ];
    KEY_EXCHANGES.iter().find_map(|kx| {
        let rest = bare.strip_prefix(kx)?.strip_prefix('_')?;
        CipherSuite::from_name(&format!("TLS_{kx}_WITH_{rest}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_in_every_spelling() {
        assert_eq!(protocol("TLSv1"), Some(Protocol::TlsV1_0));
        assert_eq!(protocol("TLS1.0"), Some(Protocol::TlsV1_0));
        assert_eq!(protocol("TLS1.2"), Some(Protocol::TlsV1_2));
        assert_eq!(protocol("TLSv1.3"), Some(Protocol::TlsV1_3));
        assert_eq!(protocol("SSL3.0"), Some(Protocol::SslV3));
        assert_eq!(protocol("TLSv9"), None);
    }

    #[test]
    fn suites_in_openssl_gnutls_and_iana_spelling() {
        let tls12 = Some(Protocol::TlsV1_2);
        let suite12 = |n| suite(tls12, n);
        let gcm = CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384;
        assert_eq!(suite12("ECDHE-RSA-AES256-GCM-SHA384"), Some(gcm));
        assert_eq!(suite12("ECDHE_RSA_AES_256_GCM_SHA384"), Some(gcm));
        assert_eq!(suite12("TLS_ECDHE_RSA_AES_256_GCM_SHA384"), Some(gcm));
        assert_eq!(
            suite12("ECDHE_RSA_AES_128_CBC_SHA1"),
            Some(CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA)
        );
        assert_eq!(
            suite12("RSA_3DES_CBC_SHA1"),
            Some(CipherSuite::TLS_RSA_WITH_3DES_EDE_CBC_SHA)
        );
        assert_eq!(
            suite12("TLS_AES_256_GCM_SHA384"),
            Some(CipherSuite::TLS_AES_256_GCM_SHA384)
        );
        assert_eq!(suite12("NOT-A-SUITE"), None);
    }

    /// As a real Exim 4.96 with GnuTLS 3.7 logged them (tests/it/impact_daemons.rs).
    #[test]
    fn gnutls_session_descriptions() {
        let t = |p, n| suite(Some(p), n);
        assert_eq!(
            t(Protocol::TlsV1_0, "ECDHE_X25519__RSA_SHA1__AES_256_CBC__SHA1"),
            Some(CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA)
        );
        assert_eq!(
            t(
                Protocol::TlsV1_2,
                "ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_128_CBC__SHA1"
            ),
            Some(CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA)
        );
        assert_eq!(
            t(
                Protocol::TlsV1_2,
                "ECDHE_SECP256R1__ECDSA_SECP256R1_SHA256__AES_256_GCM"
            ),
            Some(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)
        );
        assert_eq!(
            t(Protocol::TlsV1_2, "RSA__AES_128_CBC__SHA1"),
            Some(CipherSuite::TLS_RSA_WITH_AES_128_CBC_SHA)
        );
        assert_eq!(
            t(Protocol::TlsV1_3, "ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_256_GCM"),
            Some(CipherSuite::TLS_AES_256_GCM_SHA384)
        );
        assert_eq!(
            t(
                Protocol::TlsV1_3,
                "ECDHE_X25519__RSA_PSS_RSAE_SHA256__CHACHA20_POLY1305"
            ),
            Some(CipherSuite::TLS_CHACHA20_POLY1305_SHA256)
        );
    }
}
