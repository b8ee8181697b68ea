//! SSLv2: the CLIENT-HELLO in its own two-byte-header record format, and the
//! SERVER-HELLO that says a server still speaks it. No modern library can
//! even build these, so they are written out byte by byte here.

use super::answer::Answer;
use super::codec::{Reader, WireError, Writer};
use super::enums::ProtocolVersion;

/// SSLv2 message types (they are not TLS handshake types).
const MSG_CLIENT_HELLO: u8 = 0x01;
const MSG_SERVER_HELLO: u8 = 0x04;

/// The seven SSLv2 cipher kinds (RFC draft "The SSL Protocol", appendix C).
pub const CIPHER_KINDS: &[([u8; 3], &str)] = &[
    ([0x01, 0x00, 0x80], "SSL_CK_RC4_128_WITH_MD5"),
    ([0x02, 0x00, 0x80], "SSL_CK_RC4_128_EXPORT40_WITH_MD5"),
    ([0x03, 0x00, 0x80], "SSL_CK_RC2_128_CBC_WITH_MD5"),
    ([0x04, 0x00, 0x80], "SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5"),
    ([0x05, 0x00, 0x80], "SSL_CK_IDEA_128_CBC_WITH_MD5"),
    ([0x06, 0x00, 0x40], "SSL_CK_DES_64_CBC_WITH_MD5"),
    ([0x07, 0x00, 0xc0], "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"),
];

/// The name of an SSLv2 cipher kind, or its hex.
pub fn kind_name(kind: [u8; 3]) -> String {
    CIPHER_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, n)| (*n).to_string())
        .unwrap_or_else(|| format!("0x{:02x}{:02x}{:02x}", kind[0], kind[1], kind[2]))
}

/// An SSLv2 CLIENT-HELLO offering every cipher kind, as one record.
pub fn client_hello() -> Vec<u8> {
    let mut msg = Writer::default();
    msg.u8(MSG_CLIENT_HELLO)
        .put(&ProtocolVersion::SSLV2)
        .u16((CIPHER_KINDS.len() * 3) as u16)
        .u16(0) // session id length
        .u16(16); // challenge length
    for (kind, _) in CIPHER_KINDS {
        msg.bytes(kind);
    }
    msg.bytes(&[0x42; 16]);
    let len = msg.buf.len() as u16;
    let mut record = Writer::default();
    record.u16(0x8000 | len).bytes(&msg.buf);
    record.buf
}

/// Parses an SSLv2 message; only a SERVER-HELLO for version 2 with at least
/// one cipher kind means the server speaks SSLv2.
pub fn parse_server_hello(msg: &[u8]) -> Answer {
    let parsed = (|| -> Result<Option<Vec<[u8; 3]>>, WireError> {
        let mut r = Reader::new(msg);
        if r.u8()? != MSG_SERVER_HELLO {
            return Ok(None);
        }
        r.u8()?; // session id hit
        r.u8()?; // certificate type
        let version: ProtocolVersion = r.read()?;
        let cert_len = usize::from(r.u16()?);
        let specs_len = usize::from(r.u16()?);
        r.u16()?; // connection id length
        r.take(cert_len)?;
        let mut specs = Reader::new(r.take(specs_len)?);
        let mut kinds = Vec::new();
        while let Ok(kind) = specs.array::<3>() {
            kinds.push(kind);
        }
        Ok((version == ProtocolVersion::SSLV2).then_some(kinds))
    })();
    match parsed {
        Ok(Some(ciphers)) if !ciphers.is_empty() => Answer::Sslv2Hello { ciphers },
        _ => Answer::Closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hello_layout_and_server_hello_round_trip() {
        let hello = client_hello();
        assert_eq!(hello[0] & 0x80, 0x80);
        assert_eq!(usize::from(hello[1]) + 2, hello.len());
        assert_eq!(&hello[2..5], &[0x01, 0x00, 0x02]);

        let mut sh = vec![MSG_SERVER_HELLO, 0, 1, 0, 2, 0, 1, 0, 6, 0, 0, 0xaa];
        sh.extend_from_slice(&[0x01, 0x00, 0x80, 0x07, 0x00, 0xc0]);
        assert_eq!(
            parse_server_hello(&sh),
            Answer::Sslv2Hello {
                ciphers: vec![[1, 0, 0x80], [7, 0, 0xc0]]
            }
        );
        assert_eq!(parse_server_hello(&sh[..8]), Answer::Closed);
        assert_eq!(kind_name([7, 0, 0xc0]), "SSL_CK_DES_192_EDE3_CBC_WITH_MD5");
    }
}
