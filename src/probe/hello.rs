//! ClientHellos built by hand, for every version from SSLv3 to TLS 1.3, with
//! any cipher suites and groups, including the many no local TLS library
//! would offer. Nothing here does I/O; `answer` reads what comes back.

use super::codec::Writer;
use super::enums::{ContentType, ExtensionType as Ext, HandshakeType, ProtocolVersion};
use crate::tls::{CipherSuite, Group, Protocol};

/// Every signature scheme a server might need to sign with, RSA and ECDSA
/// and EdDSA and DSA alike, so that the certificate type never hides a suite.
const SIGNATURE_SCHEMES: &[u16] = &[
    0x0403, 0x0503, 0x0603, // ecdsa_secp256r1_sha256 .. secp521r1_sha512
    0x0807, 0x0808, // ed25519, ed448
    0x0804, 0x0805, 0x0806, // rsa_pss_rsae_sha256 .. sha512
    0x0809, 0x080a, 0x080b, // rsa_pss_pss_sha256 .. sha512
    0x081a, 0x081b, 0x081c, // ecdsa_brainpool*tls13
    0x0401, 0x0501, 0x0601, // rsa_pkcs1_sha256 .. sha512
    0x0303, 0x0301, // ecdsa_sha224, rsa_sha224
    0x0203, 0x0201, // ecdsa_sha1, rsa_pkcs1_sha1
    0x0402, 0x0502, 0x0602, 0x0302, 0x0202, // dsa
];

/// A ClientHello to send. TLS 1.3 hellos carry an empty key_share, so a
/// server that accepts answers with a HelloRetryRequest naming its suite and
/// group: enough to learn both, and no key generation needed.
#[derive(Clone, Debug)]
pub struct ClientHello {
    pub version: Protocol,
    pub suites: Vec<CipherSuite>,
    pub groups: Vec<Group>,
    pub server_name: Option<String>,
    /// Offer DEFLATE compression before null (to learn whether the server takes it).
    pub deflate: bool,
}

impl ClientHello {
    /// The hello as one TLS record.
    pub fn to_record(&self) -> Vec<u8> {
        let body = self.body();
        let record_version = match self.version {
            Protocol::SslV3 => ProtocolVersion::SSLV3,
            _ => ProtocolVersion::TLSV1_0,
        };
        let mut w = Writer::default();
        w.put(&ContentType::HANDSHAKE).put(&record_version).nested(2, |w| {
            w.put(&HandshakeType::CLIENT_HELLO).nested(3, |w| {
                w.bytes(&body);
            });
        });
        w.buf
    }

    fn body(&self) -> Vec<u8> {
        let tls13 = self.version == Protocol::TlsV1_3;
        let legacy_version = ProtocolVersion::from(self.version.min(Protocol::TlsV1_2));
        let mut w = Writer::default();
        w.put(&legacy_version).bytes(&random());
        // TLS 1.3 middlebox compatibility wants a session id; older versions need none.
        w.nested(1, |w| {
            if tls13 {
                w.bytes(&[0x5a; 32]);
            }
        });
        w.nested(2, |w| {
            for s in &self.suites {
                w.put(s);
            }
        });
        if self.deflate {
            w.u8(2).u8(1).u8(0); // compression: DEFLATE, then null
        } else {
            w.u8(1).u8(0); // compression: null only
        }
        let before_extensions = w.buf.len() + 4 /* handshake header */;
        w.nested(2, |w| self.extensions(w, tls13, before_extensions));
        w.buf
    }

    fn extensions(&self, w: &mut Writer, tls13: bool, offset: usize) {
        let start = w.buf.len();
        if let Some(name) = self.server_name.as_deref().filter(|n| is_dns_name(n)) {
            extension(w, Ext::SERVER_NAME, |w| {
                w.nested(2, |w| {
                    w.u8(0).nested(2, |w| {
                        w.bytes(name.as_bytes());
                    });
                });
            });
        }
        extension(w, Ext::SUPPORTED_GROUPS, |w| {
            w.nested(2, |w| {
                for g in &self.groups {
                    w.put(g);
                }
            });
        });
        extension(w, Ext::EC_POINT_FORMATS, |w| {
            w.nested(1, |w| {
                w.u8(0);
            });
        });
        if self.version >= Protocol::TlsV1_2 {
            extension(w, Ext::SIGNATURE_ALGORITHMS, |w| {
                w.nested(2, |w| {
                    for s in SIGNATURE_SCHEMES {
                        w.u16(*s);
                    }
                });
            });
        }
        extension(w, Ext::SESSION_TICKET, |_| {});
        extension(w, Ext::EXTENDED_MASTER_SECRET, |_| {});
        if tls13 {
            extension(w, Ext::SUPPORTED_VERSIONS, |w| {
                w.nested(1, |w| {
                    w.put(&ProtocolVersion::TLSV1_3);
                });
            });
            extension(w, Ext::PSK_KEY_EXCHANGE_MODES, |w| {
                w.nested(1, |w| {
                    w.u8(1);
                });
            });
            extension(w, Ext::KEY_SHARE, |w| {
                w.nested(2, |_| {});
            });
        } else {
            extension(w, Ext::RENEGOTIATION_INFO, |w| {
                w.nested(1, |_| {});
            });
        }
        // Some servers hang on hellos of 256-511 bytes (RFC 7685): pad past them.
        let len = offset + 2 + (w.buf.len() - start);
        if (256..512).contains(&len) {
            let pad = (512 - len).saturating_sub(4);
            extension(w, Ext::PADDING, |w| {
                w.bytes(&vec![0; pad]);
            });
        }
    }
}

fn extension(w: &mut Writer, kind: Ext, body: impl FnOnce(&mut Writer)) {
    w.put(&kind).nested(2, body);
}

/// SNI carries DNS names only, never IP literals.
fn is_dns_name(name: &str) -> bool {
    name.parse::<std::net::IpAddr>().is_err() && !name.is_empty()
}

/// 32 bytes that differ from hello to hello; they need not be secret.
fn random() -> [u8; 32] {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut h = Sha256::new();
    h.update(now.to_le_bytes());
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::codec::Reader;

    #[test]
    fn record_lengths_are_consistent_and_padding_skips_the_f5_range() {
        for n in [1, 60, 100, 120] {
            let hello = ClientHello {
                version: Protocol::TlsV1_2,
                suites: (0..n).map(CipherSuite).collect(),
                groups: Group::known().collect(),
                server_name: Some("mx.example.org".into()),
                deflate: false,
            };
            let rec = hello.to_record();
            let mut r = Reader::new(&rec);
            assert_eq!(r.read(), Ok(ContentType::HANDSHAKE));
            assert_eq!(r.read(), Ok(ProtocolVersion::TLSV1_0));
            let mut body = r.vec16().unwrap();
            assert!(r.is_empty());
            assert_eq!(body.read(), Ok(HandshakeType::CLIENT_HELLO));
            let hs = body.vec24().unwrap().rest();
            assert!(!(256..512).contains(&(hs.len() + 4)), "{} bytes", hs.len());
            let mut hs = Reader::new(hs);
            assert_eq!(hs.read(), Ok(ProtocolVersion::TLSV1_2));
            hs.take(32).unwrap();
            hs.vec8().unwrap();
            assert_eq!(hs.vec16().unwrap().rest().len(), 2 * n as usize);
        }
    }
}
