//! The probe's wire enums: record content types, handshake message types,
//! extension types, alerts and protocol versions, each a newtype over its
//! wire integer made by one macro, the way `tls::CipherSuite` is. Known
//! values have consts and their RFC names; unknown values from the network
//! survive and print in hex. Everything here is data: no I/O.

use std::fmt;

use super::codec::{Codec, Reader, WireError, Writer};
use crate::tls::Protocol;

/// Defines a wire newtype: consts for the known values, `name()`, `KNOWN`,
/// `Display` (the name, else hex), `Debug` and `Codec`.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub struct $name:ident($int:ty) {
            $($konst:ident = $code:literal $text:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub $int);

        #[allow(dead_code)]
        impl $name {
            $(pub const $konst: Self = Self($code);)*

            /// Every value this type names, in the order written here.
            pub const KNOWN: &'static [Self] = &[$(Self::$konst),*];

            /// The registry's name for this value, when it has one.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $(Self::$konst => Some($text),)*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{:#0w$x}", self.0, w = 2 + 2 * std::mem::size_of::<$int>()),
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl Codec for $name {
            fn encode(&self, w: &mut Writer) {
                self.0.encode(w);
            }

            fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
                <$int>::read(r).map(Self)
            }
        }
    };
}

wire_enum! {
    /// The type of a TLS record (RFC 8446 B.1, RFC 6520).
    pub struct ContentType(u8) {
        CHANGE_CIPHER_SPEC = 0x14 "change_cipher_spec",
        ALERT = 0x15 "alert",
        HANDSHAKE = 0x16 "handshake",
        APPLICATION_DATA = 0x17 "application_data",
        HEARTBEAT = 0x18 "heartbeat",
    }
}

wire_enum! {
    /// The type of a handshake message (RFC 5246 7.4, RFC 8446 B.3).
    pub struct HandshakeType(u8) {
        HELLO_REQUEST = 0x00 "hello_request",
        CLIENT_HELLO = 0x01 "client_hello",
        SERVER_HELLO = 0x02 "server_hello",
        NEW_SESSION_TICKET = 0x04 "new_session_ticket",
        ENCRYPTED_EXTENSIONS = 0x08 "encrypted_extensions",
        CERTIFICATE = 0x0b "certificate",
        SERVER_KEY_EXCHANGE = 0x0c "server_key_exchange",
        CERTIFICATE_REQUEST = 0x0d "certificate_request",
        SERVER_HELLO_DONE = 0x0e "server_hello_done",
        CERTIFICATE_VERIFY = 0x0f "certificate_verify",
        CLIENT_KEY_EXCHANGE = 0x10 "client_key_exchange",
        FINISHED = 0x14 "finished",
    }
}

wire_enum! {
    /// A hello extension's code point (IANA TLS ExtensionType Values).
    pub struct ExtensionType(u16) {
        SERVER_NAME = 0x0000 "server_name",
        STATUS_REQUEST = 0x0005 "status_request",
        SUPPORTED_GROUPS = 0x000a "supported_groups",
        EC_POINT_FORMATS = 0x000b "ec_point_formats",
        SIGNATURE_ALGORITHMS = 0x000d "signature_algorithms",
        ALPN = 0x0010 "application_layer_protocol_negotiation",
        PADDING = 0x0015 "padding",
        ENCRYPT_THEN_MAC = 0x0016 "encrypt_then_mac",
        EXTENDED_MASTER_SECRET = 0x0017 "extended_master_secret",
        SESSION_TICKET = 0x0023 "session_ticket",
        SUPPORTED_VERSIONS = 0x002b "supported_versions",
        PSK_KEY_EXCHANGE_MODES = 0x002d "psk_key_exchange_modes",
        KEY_SHARE = 0x0033 "key_share",
        RENEGOTIATION_INFO = 0xff01 "renegotiation_info",
    }
}

wire_enum! {
    /// How bad an alert is (RFC 5246 7.2).
    pub struct AlertLevel(u8) {
        WARNING = 0x01 "warning",
        FATAL = 0x02 "fatal",
    }
}

wire_enum! {
    /// Why an alert was sent (RFC 8446 6, RFC 5246 7.2, RFC 7507).
    pub struct AlertDescription(u8) {
        CLOSE_NOTIFY = 0x00 "close_notify",
        UNEXPECTED_MESSAGE = 0x0a "unexpected_message",
        BAD_RECORD_MAC = 0x14 "bad_record_mac",
        RECORD_OVERFLOW = 0x16 "record_overflow",
        DECOMPRESSION_FAILURE = 0x1e "decompression_failure",
        HANDSHAKE_FAILURE = 0x28 "handshake_failure",
        BAD_CERTIFICATE = 0x2a "bad_certificate",
        UNSUPPORTED_CERTIFICATE = 0x2b "unsupported_certificate",
        CERTIFICATE_REVOKED = 0x2c "certificate_revoked",
        CERTIFICATE_EXPIRED = 0x2d "certificate_expired",
        CERTIFICATE_UNKNOWN = 0x2e "certificate_unknown",
        ILLEGAL_PARAMETER = 0x2f "illegal_parameter",
        UNKNOWN_CA = 0x30 "unknown_ca",
        ACCESS_DENIED = 0x31 "access_denied",
        DECODE_ERROR = 0x32 "decode_error",
        DECRYPT_ERROR = 0x33 "decrypt_error",
        EXPORT_RESTRICTION = 0x3c "export_restriction",
        PROTOCOL_VERSION = 0x46 "protocol_version",
        INSUFFICIENT_SECURITY = 0x47 "insufficient_security",
        INTERNAL_ERROR = 0x50 "internal_error",
        INAPPROPRIATE_FALLBACK = 0x56 "inappropriate_fallback",
        USER_CANCELED = 0x5a "user_canceled",
        NO_RENEGOTIATION = 0x64 "no_renegotiation",
        MISSING_EXTENSION = 0x6d "missing_extension",
        UNSUPPORTED_EXTENSION = 0x6e "unsupported_extension",
        UNRECOGNIZED_NAME = 0x70 "unrecognized_name",
        NO_APPLICATION_PROTOCOL = 0x78 "no_application_protocol",
    }
}

wire_enum! {
    /// A protocol version as records and hellos carry it; SSLv2's hello says 0x0002.
    pub struct ProtocolVersion(u16) {
        SSLV2 = 0x0002 "SSLv2",
        SSLV3 = 0x0300 "SSLv3",
        TLSV1_0 = 0x0301 "TLSv1.0",
        TLSV1_1 = 0x0302 "TLSv1.1",
        TLSV1_2 = 0x0303 "TLSv1.2",
        TLSV1_3 = 0x0304 "TLSv1.3",
    }
}

impl From<Protocol> for ProtocolVersion {
    fn from(p: Protocol) -> Self {
        match p {
            Protocol::SslV2 => Self::SSLV2,
            Protocol::SslV3 => Self::SSLV3,
            Protocol::TlsV1_0 => Self::TLSV1_0,
            Protocol::TlsV1_1 => Self::TLSV1_1,
            Protocol::TlsV1_2 => Self::TLSV1_2,
            Protocol::TlsV1_3 => Self::TLSV1_3,
        }
    }
}

impl ProtocolVersion {
    /// The version as profiles and reports name it, when it is one.
    pub fn protocol(self) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| Self::from(*p) == self)
    }
}

/// A TLS alert: two bytes, level then description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alert {
    pub level: AlertLevel,
    pub description: AlertDescription,
}

impl Codec for Alert {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.level).put(&self.description);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(Alert {
            level: r.read()?,
            description: r.read()?,
        })
    }
}

impl fmt::Display for Alert {
    /// "alert 40 (handshake_failure)": the number as RFCs list it, then the name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "alert {} ({})", self.description.0, self.description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_print_names_and_unknown_ones_hex() {
        assert_eq!(ContentType::HANDSHAKE.to_string(), "handshake");
        assert_eq!(ContentType(0x99).to_string(), "0x99");
        assert_eq!(ExtensionType(0x1234).to_string(), "0x1234");
        assert_eq!(ExtensionType::RENEGOTIATION_INFO.to_string(), "renegotiation_info");
        assert_eq!(
            format!("{:?}", HandshakeType::SERVER_HELLO),
            "HandshakeType(server_hello)"
        );
        assert_eq!(ProtocolVersion::TLSV1_2.to_string(), "TLSv1.2");
        assert_eq!(ProtocolVersion(0x7f1c).protocol(), None);
        for p in Protocol::ALL {
            assert_eq!(ProtocolVersion::from(p).protocol(), Some(p));
            assert_eq!(ProtocolVersion::from(p).to_string(), p.name());
        }
    }

    #[test]
    fn alerts_read_and_write_two_bytes() {
        let mut w = Writer::default();
        let a = Alert {
            level: AlertLevel::FATAL,
            description: AlertDescription::HANDSHAKE_FAILURE,
        };
        w.put(&a);
        assert_eq!(w.buf, [2, 40]);
        assert_eq!(Reader::new(&w.buf).read::<Alert>(), Ok(a));
        assert_eq!(a.to_string(), "alert 40 (handshake_failure)");
        assert!(Reader::new(&[2]).read::<Alert>().is_err());
    }
}
