//! Protocol versions, as the probe sees them on the wire and as profiles and
//! reports name them ("TLSv1.2").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A TLS or SSL protocol version, ordered from oldest to newest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    SslV2,
    SslV3,
    TlsV1_0,
    TlsV1_1,
    TlsV1_2,
    TlsV1_3,
}

impl Protocol {
    pub const ALL: [Protocol; 6] = [
        Protocol::SslV2,
        Protocol::SslV3,
        Protocol::TlsV1_0,
        Protocol::TlsV1_1,
        Protocol::TlsV1_2,
        Protocol::TlsV1_3,
    ];

    /// The name used in profiles, reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::SslV2 => "SSLv2",
            Protocol::SslV3 => "SSLv3",
            Protocol::TlsV1_0 => "TLSv1.0",
            Protocol::TlsV1_1 => "TLSv1.1",
            Protocol::TlsV1_2 => "TLSv1.2",
            Protocol::TlsV1_3 => "TLSv1.3",
        }
    }

    /// The name OpenSSL-based servers use (Postfix, Dovecot): TLS 1.0 is "TLSv1".
    pub fn openssl_name(self) -> &'static str {
        match self {
            Protocol::TlsV1_0 => "TLSv1",
            other => other.name(),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Protocol {
    type Err = String;

    /// Accepts the report names and OpenSSL's ("TLSv1" for TLS 1.0).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "TLSv1" {
            return Ok(Protocol::TlsV1_0);
        }
        Protocol::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<_> = Protocol::ALL.iter().map(|p| p.name()).collect();
                format!("unknown protocol {s:?} (expected one of {})", names.join(", "))
            })
    }
}

impl Serialize for Protocol {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Protocol {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order() {
        for p in Protocol::ALL {
            assert_eq!(p.name().parse::<Protocol>().unwrap(), p);
        }
        assert_eq!("TLSv1".parse::<Protocol>().unwrap(), Protocol::TlsV1_0);
        assert!(Protocol::TlsV1_1 < Protocol::TlsV1_2);
        assert!("TLSv9".parse::<Protocol>().is_err());
    }
}
