//! The cipher suite registry: IANA code points with their IANA and OpenSSL
//! names. Unknown code points from the network survive as `CipherSuite(u16)`
//! and print in hex.

use std::fmt;

use serde::{Serialize, Serializer};

/// A cipher suite code point as it travels on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CipherSuite(pub u16);

/// One registry row: code point, IANA name, OpenSSL name (when OpenSSL has one).
pub struct SuiteInfo {
    pub suite: CipherSuite,
    pub iana: &'static str,
    pub openssl: Option<&'static str>,
}

macro_rules! registry {
    ($($code:literal $iana:ident $openssl:expr;)*) => {
        #[allow(non_upper_case_globals)]
        impl CipherSuite {
            $(pub const $iana: Self = Self($code);)*
        }
        /// Every suite this registry names, in code point order.
        pub static REGISTRY: &[SuiteInfo] = &[
            $(SuiteInfo { suite: CipherSuite($code), iana: stringify!($iana), openssl: $openssl },)*
        ];
    };
}

registry! {
    0x009e TLS_DHE_RSA_WITH_AES_128_GCM_SHA256 Some("DHE-RSA-AES128-GCM-SHA256");
    0x009f TLS_DHE_RSA_WITH_AES_256_GCM_SHA384 Some("DHE-RSA-AES256-GCM-SHA384");
    0x1301 TLS_AES_128_GCM_SHA256 Some("TLS_AES_128_GCM_SHA256");
    0x1302 TLS_AES_256_GCM_SHA384 Some("TLS_AES_256_GCM_SHA384");
    0x1303 TLS_CHACHA20_POLY1305_SHA256 Some("TLS_CHACHA20_POLY1305_SHA256");
    0xc02b TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 Some("ECDHE-ECDSA-AES128-GCM-SHA256");
    0xc02c TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 Some("ECDHE-ECDSA-AES256-GCM-SHA384");
    0xc02f TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 Some("ECDHE-RSA-AES128-GCM-SHA256");
    0xc030 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 Some("ECDHE-RSA-AES256-GCM-SHA384");
    0xcca8 TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 Some("ECDHE-RSA-CHACHA20-POLY1305");
    0xcca9 TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 Some("ECDHE-ECDSA-CHACHA20-POLY1305");
    0xccaa TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256 Some("DHE-RSA-CHACHA20-POLY1305");
}

impl CipherSuite {
    pub fn info(self) -> Option<&'static SuiteInfo> {
        REGISTRY.iter().find(|i| i.suite == self)
    }

    /// The IANA name, or `None` for a code point the registry does not know.
    pub fn iana_name(self) -> Option<&'static str> {
        self.info().map(|i| i.iana)
    }

    pub fn openssl_name(self) -> Option<&'static str> {
        self.info().and_then(|i| i.openssl)
    }

    /// Looks a suite up by its IANA or its OpenSSL name.
    pub fn from_name(name: &str) -> Option<CipherSuite> {
        REGISTRY
            .iter()
            .find(|i| i.iana == name || i.openssl == Some(name))
            .map(|i| i.suite)
    }

    /// TLS 1.3 suites (0x13xx) negotiate only in TLS 1.3 and nothing else does.
    pub fn is_tls13(self) -> bool {
        self.0 >> 8 == 0x13
    }
}

impl fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.iana_name() {
            Some(name) => f.write_str(name),
            None => write!(f, "0x{:04x}", self.0),
        }
    }
}

impl Serialize for CipherSuite {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_both_ways() {
        let s = CipherSuite::from_name("ECDHE-RSA-AES128-GCM-SHA256").unwrap();
        assert_eq!(s, CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256);
        assert_eq!(s.to_string(), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(CipherSuite(0xfefe).to_string(), "0xfefe");
        assert!(CipherSuite::TLS_AES_128_GCM_SHA256.is_tls13());
    }
}
