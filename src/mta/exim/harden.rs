//! What a profile means in Exim's main-section options, for the TLS library
//! Exim was built with, and when a value already set is good enough to keep.
//!
//! GnuTLS (Debian): `tls_require_ciphers` is a GnuTLS priority string that
//! sets protocols, ciphers, key exchanges and groups together;
//! `openssl_options` does not exist there (setting it makes the config
//! invalid). OpenSSL: `tls_require_ciphers` is an OpenSSL cipher list (TLS
//! 1.2 and below), `openssl_options` turns protocols off, `tls_eccurve`
//! lists the groups.

use std::collections::BTreeSet;

use crate::profile::Profile;
use crate::tls::{CipherSuite, Group, Protocol};

/// The TLS library an Exim binary is built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsLibrary {
    GnuTls,
    OpenSsl,
}

impl TlsLibrary {
    pub fn name(self) -> &'static str {
        match self {
            TlsLibrary::GnuTls => "GnuTLS",
            TlsLibrary::OpenSsl => "OpenSSL",
        }
    }

    /// Exim's predefined macro for the library, as `.ifdef` tests it.
    pub fn have_macro(self) -> &'static str {
        match self {
            TlsLibrary::GnuTls => "_HAVE_GNUTLS",
            TlsLibrary::OpenSsl => "_HAVE_OPENSSL",
        }
    }
}

/// The library a config is written for, read from the file itself (for when
/// no Exim binary can say): a GnuTLS priority string (`NORMAL`, `SECURE...`,
/// `PERFORMANCE`, `+VERS-...`) or an OpenSSL cipher list / `openssl_options`.
/// Lines inside `.ifdef _HAVE_...` blocks are not evidence, and neither are
/// comments. Returns the library and the line that shows it.
pub fn library_written_for(text: &str) -> Option<(TlsLibrary, String)> {
    let mut depth_in_library_block = 0usize;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with(".ifdef _HAVE_GNUTLS") || t.starts_with(".ifdef _HAVE_OPENSSL") {
            depth_in_library_block += 1;
            continue;
        }
        if depth_in_library_block > 0 {
            if t.starts_with(".if") {
                depth_in_library_block += 1;
            } else if t.starts_with(".endif") {
                depth_in_library_block -= 1;
            }
            continue;
        }
        if t.starts_with('#') {
            continue;
        }
        let Some((name, value)) = t.split_once('=') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name == "openssl_options" {
            return Some((TlsLibrary::OpenSsl, t.to_string()));
        }
        if name == "tls_require_ciphers" && !value.contains('$') {
            let upper = value.to_ascii_uppercase();
            let keywords = [
                "NORMAL",
                "SECURE128",
                "SECURE192",
                "SECURE256",
                "PERFORMANCE",
                "PFS",
                "%SERVER_PRECEDENCE",
            ];
            let gnutls = upper
                .split(':')
                .any(|p| keywords.contains(&p.trim_start_matches(['+', '-', '!'])) || p.contains("VERS-"));
            let openssl = value.contains("!aNULL")
                || value.contains("ECDHE-")
                || value.contains("@STRENGTH")
                || upper.starts_with("HIGH");
            if gnutls && !openssl {
                return Some((TlsLibrary::GnuTls, t.to_string()));
            }
            if openssl && !gnutls {
                return Some((TlsLibrary::OpenSsl, t.to_string()));
            }
        }
    }
    None
}

/// The options the profile sets, each with its desired value. `current` gives
/// the value in effect, so that `openssl_options` keeps the user's other flags.
pub fn desired(
    profile: &Profile,
    library: TlsLibrary,
    current: impl Fn(&str) -> Option<String>,
) -> Vec<(&'static str, String)> {
    match library {
        TlsLibrary::GnuTls => vec![("tls_require_ciphers", gnutls_priority(profile))],
        TlsLibrary::OpenSsl => {
            let mut out = Vec::new();
            if profile.min_protocol <= Protocol::TlsV1_2 {
                let list: Vec<&str> = profile.tls12_ciphers.iter().filter_map(|s| s.openssl_name()).collect();
                out.push(("tls_require_ciphers", list.join(":")));
            }
            out.push((
                "openssl_options",
                openssl_options(profile, current("openssl_options").as_deref().unwrap_or("")),
            ));
            let curves: Vec<&str> = ec_groups(profile).filter_map(|g| g.openssl_name()).collect();
            if !curves.is_empty() {
                out.push(("tls_eccurve", curves.join(":")));
            }
            out
        }
    }
}

/// Whether `current` (the value in effect, `None` when unset) already meets the profile.
pub fn acceptable(name: &str, current: Option<&str>, wanted: &str, profile: &Profile, library: TlsLibrary) -> bool {
    let Some(current) = current.map(str::trim) else {
        return false;
    };
    match (name, library) {
        ("tls_require_ciphers", TlsLibrary::GnuTls) => Priority::parse(current).is_some_and(|p| p.meets(profile)),
        ("tls_require_ciphers", TlsLibrary::OpenSsl) => {
            let names: Vec<&str> = current.split([':', ',', ' ']).filter(|t| !t.is_empty()).collect();
            !names.is_empty()
                && names
                    .iter()
                    .all(|n| CipherSuite::from_name(n).is_some_and(|s| profile.tls12_ciphers.contains(&s)))
        }
        ("openssl_options", _) => openssl_enabled(current).iter().all(|p| profile.allows(*p)) && current == wanted,
        ("tls_eccurve", _) => {
            let names: Vec<&str> = current.split(':').filter(|t| !t.is_empty()).collect();
            !names.is_empty()
                && names
                    .iter()
                    .all(|n| n.parse::<Group>().is_ok_and(|g| profile.groups.contains(&g)))
        }
        _ => current == wanted,
    }
}

/// Why a `tls_require_ciphers` value cannot work with GnuTLS, if it cannot:
/// an OpenSSL cipher list passes `exim -bV` under GnuTLS and then fails every handshake.
pub fn gnutls_mismatch(value: &str) -> Option<String> {
    // An expansion (mailtls's own per-port choice among others) is judged by the live probe.
    if Priority::parse(value).is_some() || value.contains("${") {
        return None;
    }
    Some(format!(
        "tls_require_ciphers = {value:?} is not a GnuTLS priority string (an OpenSSL cipher list?): this Exim uses GnuTLS, so every STARTTLS handshake fails with it"
    ))
}

/// The GnuTLS priority string for a profile, e.g. for Mozilla intermediate:
/// `NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:...`.
pub fn gnutls_priority(profile: &Profile) -> String {
    let mut parts = vec!["NORMAL".to_string(), "-VERS-ALL".to_string()];
    for p in Protocol::ALL.into_iter().rev().filter(|p| profile.allows(*p)) {
        if let Some(name) = gnutls_version(p) {
            parts.push(format!("+{name}"));
        }
    }
    parts.push("-CIPHER-ALL".into());
    let mut ciphers = Vec::new();
    for suite in profile.tls12_ciphers.iter().chain(&profile.tls13_ciphersuites) {
        if let Some(c) = gnutls_cipher(*suite) {
            if !ciphers.contains(&c) {
                ciphers.push(c);
            }
        }
    }
    parts.extend(ciphers.iter().map(|c| format!("+{c}")));
    parts.extend(["-MAC-ALL".to_string(), "+AEAD".to_string()]);
    let kx = key_exchanges(profile);
    if profile.allows(Protocol::TlsV1_2) && !kx.is_empty() {
        parts.push("-KX-ALL".into());
        parts.extend(kx.iter().map(|k| format!("+{k}")));
    }
    parts.push("-GROUP-ALL".into());
    parts.extend(allowed_groups(profile).iter().map(|g| format!("+{g}")));
    if profile.server_cipher_order {
        parts.push("%SERVER_PRECEDENCE".into());
    }
    parts.join(":")
}

fn gnutls_version(p: Protocol) -> Option<&'static str> {
    Some(match p {
        Protocol::TlsV1_0 => "VERS-TLS1.0",
        Protocol::TlsV1_1 => "VERS-TLS1.1",
        Protocol::TlsV1_2 => "VERS-TLS1.2",
        Protocol::TlsV1_3 => "VERS-TLS1.3",
        Protocol::SslV3 => "VERS-SSL3.0",
        Protocol::SslV2 => return None,
    })
}

/// The bulk cipher of a suite, by GnuTLS's name.
fn gnutls_cipher(suite: CipherSuite) -> Option<&'static str> {
    let name = suite.iana_name()?;
    [
        ("AES_128_GCM", "AES-128-GCM"),
        ("AES_256_GCM", "AES-256-GCM"),
        ("CHACHA20_POLY1305", "CHACHA20-POLY1305"),
    ]
    .into_iter()
    .find(|(iana, _)| name.contains(iana))
    .map(|(_, gnutls)| gnutls)
}

/// The TLS 1.2 key exchanges of the profile's suites, by GnuTLS's names.
fn key_exchanges(profile: &Profile) -> Vec<&'static str> {
    let mut out = Vec::new();
    for suite in &profile.tls12_ciphers {
        let Some(name) = suite.iana_name() else { continue };
        let kx = [
            ("TLS_ECDHE_ECDSA_", "ECDHE-ECDSA"),
            ("TLS_ECDHE_RSA_", "ECDHE-RSA"),
            ("TLS_DHE_RSA_", "DHE-RSA"),
        ]
        .into_iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, kx)| kx);
        if let Some(kx) = kx.filter(|k| !out.contains(k)) {
            out.push(kx);
        }
    }
    out
}

fn ec_groups(profile: &Profile) -> impl Iterator<Item = Group> + '_ {
    profile.groups.iter().copied().filter(|g| g.0 < 0x0100)
}

/// The profile's groups by GnuTLS's names, plus the finite-field groups of
/// at least `dh_min_bits` when a DHE suite is allowed (GnuTLS negotiates
/// DHE only over a named group it has enabled).
fn allowed_groups(profile: &Profile) -> Vec<String> {
    let mut out: Vec<String> = profile.groups.iter().filter_map(|g| gnutls_group(*g)).collect();
    if key_exchanges(profile).contains(&"DHE-RSA") {
        let min = profile.dh_min_bits.unwrap_or(2048);
        for bits in [2048, 3072, 4096] {
            let name = format!("GROUP-FFDHE{bits}");
            if bits >= min && !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

fn gnutls_group(group: Group) -> Option<String> {
    let name = group.to_string();
    if name.starts_with("0x") {
        return None;
    }
    Some(format!("GROUP-{}", name.to_ascii_uppercase()))
}

/// The profile's `openssl_options`: the user's flags, minus those that turn
/// an old protocol back on, plus `+no_*` for every protocol the profile refuses.
fn openssl_options(profile: &Profile, current: &str) -> String {
    let refused: Vec<String> = [
        (Protocol::SslV2, "no_sslv2"),
        (Protocol::SslV3, "no_sslv3"),
        (Protocol::TlsV1_0, "no_tlsv1"),
        (Protocol::TlsV1_1, "no_tlsv1_1"),
        (Protocol::TlsV1_2, "no_tlsv1_2"),
    ]
    .into_iter()
    .filter(|(p, _)| !profile.allows(*p))
    .map(|(_, flag)| flag.to_string())
    .collect();
    let mut tokens: Vec<String> = current
        .split_whitespace()
        .filter(|t| !(t.starts_with('-') && refused.iter().any(|r| &t[1..] == r)))
        .map(str::to_string)
        .collect();
    for flag in refused {
        let plus = format!("+{flag}");
        if !tokens.contains(&plus) {
            tokens.push(plus);
        }
    }
    let preference = "+cipher_server_preference".to_string();
    if profile.server_cipher_order && !tokens.contains(&preference) {
        tokens.push(preference);
    }
    tokens.join(" ")
}

/// The protocols an `openssl_options` value leaves on.
fn openssl_enabled(value: &str) -> Vec<Protocol> {
    let off: Vec<&str> = value.split_whitespace().filter_map(|t| t.strip_prefix('+')).collect();
    [
        (Protocol::TlsV1_0, "no_tlsv1"),
        (Protocol::TlsV1_1, "no_tlsv1_1"),
        (Protocol::TlsV1_2, "no_tlsv1_2"),
        (Protocol::TlsV1_3, "no_tlsv1_3"),
    ]
    .into_iter()
    .filter(|(_, flag)| !off.contains(flag))
    .map(|(p, _)| p)
    .collect()
}

/// A GnuTLS priority string, as far as mailtls judges it. A category is
/// `None` while the base keyword's defaults are in force.
#[derive(Debug, PartialEq)]
struct Priority {
    versions: BTreeSet<Protocol>,
    ciphers: Option<BTreeSet<String>>,
    macs: Option<BTreeSet<String>>,
    kx: Option<BTreeSet<String>>,
    groups: Option<BTreeSet<String>>,
}

const BASE_KEYWORDS: [&str; 11] = [
    "PERFORMANCE",
    "NORMAL",
    "LEGACY",
    "PFS",
    "SECURE128",
    "SECURE192",
    "SECURE256",
    "SUITEB128",
    "SUITEB192",
    "NONE",
    "SYSTEM",
];

impl Priority {
    /// Parses a priority string; `None` when it is not one (an OpenSSL cipher list, say).
    fn parse(text: &str) -> Option<Priority> {
        let mut tokens = text.trim().split(':');
        let base = tokens.next()?.trim().trim_start_matches('@');
        if !BASE_KEYWORDS.contains(&base) {
            return None;
        }
        // GnuTLS 3.7 enables TLS 1.0 to 1.3 in every base but NONE.
        let mut versions: BTreeSet<Protocol> = if base == "NONE" {
            BTreeSet::new()
        } else {
            [
                Protocol::TlsV1_0,
                Protocol::TlsV1_1,
                Protocol::TlsV1_2,
                Protocol::TlsV1_3,
            ]
            .into()
        };
        let mut p = Priority {
            versions: BTreeSet::new(),
            ciphers: None,
            macs: None,
            kx: None,
            groups: None,
        };
        if base == "NONE" {
            p.ciphers = Some(BTreeSet::new());
            p.macs = Some(BTreeSet::new());
            p.kx = Some(BTreeSet::new());
            p.groups = Some(BTreeSet::new());
        }
        for token in tokens.map(str::trim).filter(|t| !t.is_empty()) {
            if token.starts_with('%') {
                continue;
            }
            let (add, name) = match token.split_at(1) {
                ("+", rest) => (true, rest),
                ("-" | "!", rest) => (false, rest),
                _ => return None,
            };
            if let Some(version) = name.strip_prefix("VERS-") {
                let protocol = match version {
                    "ALL" | "TLS-ALL" => None,
                    "TLS1.0" => Some(Protocol::TlsV1_0),
                    "TLS1.1" => Some(Protocol::TlsV1_1),
                    "TLS1.2" => Some(Protocol::TlsV1_2),
                    "TLS1.3" => Some(Protocol::TlsV1_3),
                    "SSL3.0" => Some(Protocol::SslV3),
                    _ if version.starts_with("DTLS") => continue,
                    _ => return None,
                };
                match (protocol, add) {
                    (None, false) => versions.clear(),
                    (None, true) => versions.extend([
                        Protocol::TlsV1_0,
                        Protocol::TlsV1_1,
                        Protocol::TlsV1_2,
                        Protocol::TlsV1_3,
                    ]),
                    (Some(v), true) => {
                        versions.insert(v);
                    }
                    (Some(v), false) => {
                        versions.remove(&v);
                    }
                }
                continue;
            }
            let (category, item) = if let Some(rest) = name.strip_prefix("CIPHER-") {
                (&mut p.ciphers, rest.to_string())
            } else if let Some(rest) = name.strip_prefix("MAC-") {
                (&mut p.macs, rest.to_string())
            } else if let Some(rest) = name.strip_prefix("KX-") {
                (&mut p.kx, rest.to_string())
            } else if let Some(rest) = name.strip_prefix("GROUP-").or_else(|| name.strip_prefix("CURVE-")) {
                (&mut p.groups, rest.to_string())
            } else if name.starts_with("SIGN-") || name.starts_with("COMP-") || name.starts_with("CTYPE-") {
                continue;
            } else if ["AEAD", "SHA1", "SHA256", "SHA384", "MD5", "UMAC-128"].contains(&name) {
                (&mut p.macs, name.to_string())
            } else if [
                "RSA",
                "DHE-RSA",
                "DHE-DSS",
                "ECDHE-RSA",
                "ECDHE-ECDSA",
                "ANON-DH",
                "ANON-ECDH",
                "PSK",
                "DHE-PSK",
                "ECDHE-PSK",
                "RSA-PSK",
            ]
            .contains(&name)
            {
                (&mut p.kx, name.to_string())
            } else if name.contains('-')
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
            {
                (&mut p.ciphers, name.to_string())
            } else {
                return None;
            };
            match (item.as_str(), add) {
                ("ALL", false) => *category = Some(BTreeSet::new()),
                ("ALL", true) => *category = None,
                (_, true) => {
                    if let Some(set) = category {
                        set.insert(item);
                    }
                }
                (_, false) => {
                    // Removing one item from the defaults leaves the rest on: still unrestricted.
                    if let Some(set) = category {
                        set.remove(&item);
                    }
                }
            }
        }
        p.versions = versions;
        Some(p)
    }

    /// Whether this priority allows nothing the profile does not.
    fn meets(&self, profile: &Profile) -> bool {
        let subset = |set: &Option<BTreeSet<String>>, allowed: &[String]| {
            set.as_ref()
                .is_some_and(|s| !s.is_empty() && s.iter().all(|i| allowed.contains(i)))
        };
        if self.versions.is_empty() || !self.versions.iter().all(|v| profile.allows(*v)) {
            return false;
        }
        let ciphers: Vec<String> = profile
            .tls12_ciphers
            .iter()
            .chain(&profile.tls13_ciphersuites)
            .filter_map(|s| gnutls_cipher(*s).map(str::to_string))
            .collect();
        let groups: Vec<String> = allowed_groups(profile)
            .iter()
            .map(|g| g.trim_start_matches("GROUP-").to_string())
            .collect();
        if !subset(&self.ciphers, &ciphers) || !subset(&self.groups, &groups) {
            return false;
        }
        if self.versions.contains(&Protocol::TlsV1_2) {
            let kx: Vec<String> = key_exchanges(profile).iter().map(|k| k.to_string()).collect();
            if !subset(&self.kx, &kx) || !subset(&self.macs, &["AEAD".to_string()]) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The intermediate string from the notes, checked live against Exim 4.96 + GnuTLS 3.7.
    const CHECKED: &str = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1";

    #[test]
    fn the_library_is_read_from_the_file() {
        // Regression: a GnuTLS priority string in a single file was taken for OpenSSL.
        let hestia = "tls_on_connect_ports = 465\ntls_require_ciphers = PERFORMANCE:-RSA:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.3:%SERVER_PRECEDENCE\n";
        assert_eq!(library_written_for(hestia).map(|l| l.0), Some(TlsLibrary::GnuTls));
        let openssl = "tls_require_ciphers = ECDHE-RSA-AES128-GCM-SHA256:!aNULL\n";
        assert_eq!(library_written_for(openssl).map(|l| l.0), Some(TlsLibrary::OpenSsl));
        assert_eq!(
            library_written_for("openssl_options = +no_sslv3\n").map(|l| l.0),
            Some(TlsLibrary::OpenSsl)
        );
        let both_branches =
            ".ifdef _HAVE_OPENSSL\nopenssl_options = +no_sslv3\n.endif\n# tls_require_ciphers = NORMAL\n";
        assert_eq!(library_written_for(both_branches), None);
    }

    #[test]
    fn intermediate_in_gnutls_syntax() {
        let p = Profile::load("intermediate").unwrap();
        let s = gnutls_priority(&p);
        assert_eq!(
            s,
            "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:+DHE-RSA:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-FFDHE2048:+GROUP-FFDHE3072:+GROUP-FFDHE4096"
        );
        assert!(acceptable("tls_require_ciphers", Some(&s), &s, &p, TlsLibrary::GnuTls));
        assert!(acceptable(
            "tls_require_ciphers",
            Some(CHECKED),
            &s,
            &p,
            TlsLibrary::GnuTls
        ));
    }

    #[test]
    fn modern_in_gnutls_syntax_is_tls13_only() {
        let p = Profile::load("modern").unwrap();
        let s = gnutls_priority(&p);
        assert!(s.starts_with("NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:"), "{s}");
        assert!(!s.contains("KX"), "{s}");
        let intermediate = Profile::load("intermediate").unwrap();
        assert!(acceptable(
            "tls_require_ciphers",
            Some(&s),
            "x",
            &intermediate,
            TlsLibrary::GnuTls
        ));
        assert!(!acceptable(
            "tls_require_ciphers",
            Some(CHECKED),
            "x",
            &p,
            TlsLibrary::GnuTls
        ));
    }

    #[test]
    fn weak_or_foreign_strings_are_replaced() {
        let p = Profile::load("intermediate").unwrap();
        for weak in [
            "NORMAL",
            "SECURE192:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1",
            "NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.1",
            "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384",
        ] {
            assert!(
                !acceptable("tls_require_ciphers", Some(weak), "x", &p, TlsLibrary::GnuTls),
                "{weak}"
            );
        }
        assert!(gnutls_mismatch("ECDHE-RSA-AES128-GCM-SHA256").is_some());
        assert!(gnutls_mismatch(CHECKED).is_none());
    }

    #[test]
    fn openssl_builds_get_a_cipher_list_and_protocol_flags() {
        let p = Profile::load("intermediate").unwrap();
        let d = desired(&p, TlsLibrary::OpenSsl, |_| Some("+no_compression -no_tlsv1".into()));
        assert_eq!(d[0].0, "tls_require_ciphers");
        assert!(d[0]
            .1
            .starts_with("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"));
        assert_eq!(
            d[1],
            (
                "openssl_options",
                "+no_compression +no_sslv2 +no_sslv3 +no_tlsv1 +no_tlsv1_1".into()
            )
        );
        assert_eq!(d[2], ("tls_eccurve", "X25519:prime256v1:secp384r1".into()));
        assert!(acceptable(
            "openssl_options",
            Some(&d[1].1),
            &d[1].1,
            &p,
            TlsLibrary::OpenSsl
        ));
        assert!(!acceptable(
            "openssl_options",
            Some("+no_sslv3"),
            &d[1].1,
            &p,
            TlsLibrary::OpenSsl
        ));
        let modern = Profile::load("modern").unwrap();
        let d = desired(&modern, TlsLibrary::OpenSsl, |_| None);
        assert_eq!(
            d[0],
            (
                "openssl_options",
                "+no_sslv2 +no_sslv3 +no_tlsv1 +no_tlsv1_1 +no_tlsv1_2".into()
            )
        );
    }
}
