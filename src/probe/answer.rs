//! What a server answers to a hand-built ClientHello: a ServerHello (or
//! HelloRetryRequest), an alert, a closed connection, or an SSLv2
//! SERVER-HELLO. Reads records off the socket until it can tell, and never
//! trusts a length the server sent beyond the bytes it really sent.

use super::codec::Reader;
use super::deadline::Deadline;
use super::hello::{CONTENT_ALERT, CONTENT_HANDSHAKE};
use super::wire::Wire;
use crate::tls::{CipherSuite, Group, Protocol};

const HANDSHAKE_SERVER_HELLO: u8 = 0x02;
const HANDSHAKE_CERTIFICATE: u8 = 0x0b;
const HANDSHAKE_SERVER_KEY_EXCHANGE: u8 = 0x0c;
const HANDSHAKE_SERVER_HELLO_DONE: u8 = 0x0e;
const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;
const EXT_KEY_SHARE: u16 = 0x0033;
/// The random of a HelloRetryRequest: SHA-256 of "HelloRetryRequest" (RFC 8446 4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11,
    0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];
/// Records larger than this (2^14 plus expansion) are not TLS.
const MAX_RECORD: usize = 16384 + 2048;

/// A parsed ServerHello or HelloRetryRequest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerHello {
    /// The negotiated version (from supported_versions when present).
    pub version: u16,
    pub suite: CipherSuite,
    /// The group of the key share (TLS 1.3), or of the ServerKeyExchange
    /// (TLS 1.2 ECDHE, when asked for).
    pub group: Option<Group>,
    pub retry_request: bool,
    /// The certificate chain as sent in the clear (TLS 1.2 and older, when asked for).
    pub chain: Vec<Vec<u8>>,
    /// The extensions the server answered with, by code point.
    pub extensions: Vec<u16>,
    /// The compression method chosen (0: none).
    pub compression: u8,
    /// The size of the DHE prime in the ServerKeyExchange, in bits.
    pub dh_bits: Option<u32>,
    /// With `Depth::Flight`: the flight ended with ServerHelloDone. False when
    /// an alert or a closed connection cut it short: the server chose the
    /// suite and then could not go on with it (say, DHE without parameters),
    /// so no client can complete a handshake with that suite.
    pub complete: bool,
}

impl ServerHello {
    pub fn protocol(&self) -> Option<Protocol> {
        Protocol::from_wire(self.version)
    }
}

/// The server's answer to one hello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Hello(ServerHello),
    /// An SSLv2 SERVER-HELLO and the cipher kinds it lists.
    Sslv2Hello {
        ciphers: Vec<[u8; 3]>,
    },
    Alert {
        level: u8,
        description: u8,
    },
    /// The server closed the connection (or reset it) without a word.
    Closed,
}

#[derive(Debug)]
pub enum AnswerError {
    Timeout,
    /// The connection was reset (RST) before the answer was complete.
    Reset,
    Io(std::io::Error),
    /// Bytes that are no TLS record.
    Garbage(String),
}

impl std::fmt::Display for AnswerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnswerError::Timeout => f.write_str("no answer to the ClientHello in time"),
            AnswerError::Reset => f.write_str("the connection was reset before the answer to the ClientHello"),
            AnswerError::Io(e) => write!(f, "reading the answer to the ClientHello: {e}"),
            AnswerError::Garbage(what) => {
                write!(f, "the answer to the ClientHello is not TLS: {what}")
            }
        }
    }
}

/// How much of the server's first flight to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Stop at the ServerHello.
    Hello,
    /// Go on to the Certificate and ServerKeyExchange (TLS 1.2 and older).
    Flight,
}

/// No real handshake message (a certificate chain included) is near this.
const MAX_HANDSHAKE: usize = 1 << 17;

/// Reads the server's answer to a TLS ClientHello.
pub fn read<W: Wire>(stream: &mut W, deadline: Deadline, depth: Depth) -> Result<Answer, AnswerError> {
    let mut rx = RecordReader {
        stream,
        deadline,
        buf: Vec::new(),
    };
    let mut handshake = Vec::new();
    let mut hello: Option<ServerHello> = None;
    loop {
        let Some((content, fragment)) = rx.next()? else {
            // Closed in the middle of the flight: the server gave up on its own choice.
            return Ok(match hello {
                Some(h) => Answer::Hello(ServerHello { complete: false, ..h }),
                None => Answer::Closed,
            });
        };
        match content {
            CONTENT_ALERT if hello.is_none() => {
                let mut r = Reader::new(&fragment);
                return Ok(match (r.u8(), r.u8()) {
                    (Some(level), Some(description)) => Answer::Alert { level, description },
                    _ => Answer::Closed,
                });
            }
            CONTENT_HANDSHAKE => handshake.extend_from_slice(&fragment),
            CONTENT_ALERT => {
                // An alert after the ServerHello: the server gave up on its own choice.
                return Ok(match hello {
                    Some(h) => Answer::Hello(ServerHello { complete: false, ..h }),
                    None => Answer::Closed,
                });
            }
            other => {
                // Anything else after the ServerHello ends what we can read in the clear.
                return match hello {
                    Some(h) => Ok(Answer::Hello(h)),
                    None => Err(AnswerError::Garbage(format!("record type 0x{other:02x}"))),
                };
            }
        }
        // Consume every complete handshake message.
        loop {
            let mut r = Reader::new(&handshake);
            let (Some(kind), Some(len)) = (r.u8(), r.u24()) else {
                break;
            };
            if len > MAX_HANDSHAKE {
                return Err(AnswerError::Garbage(format!(
                    "a handshake message claiming {len} bytes"
                )));
            }
            let Some(body) = r.take(len) else { break };
            let consumed = 4 + len;
            match (&mut hello, kind) {
                (None, HANDSHAKE_SERVER_HELLO) => {
                    let h =
                        parse_server_hello(body).ok_or_else(|| AnswerError::Garbage("malformed ServerHello".into()))?;
                    let done = depth == Depth::Hello || h.retry_request || h.version >= Protocol::TlsV1_3.wire();
                    if done {
                        // Not read any further: as complete as can be told here.
                        return Ok(Answer::Hello(ServerHello { complete: true, ..h }));
                    }
                    hello = Some(h);
                }
                (None, other) => {
                    return Err(AnswerError::Garbage(format!(
                        "handshake message 0x{other:02x} before ServerHello"
                    )))
                }
                (Some(h), HANDSHAKE_CERTIFICATE) => h.chain = parse_certificates(body),
                (Some(h), HANDSHAKE_SERVER_KEY_EXCHANGE) => {
                    let mut r = Reader::new(body);
                    if is_finite_field_dh(h.suite) {
                        // DHE: dh_p, dh_g, dh_Ys; the size of p is the group's.
                        h.dh_bits = r.vec16().map(|mut p| bits(p.rest()));
                    } else if r.u8() == Some(3) {
                        // ECDHE: curve_type named_curve (3), then the group.
                        h.group = r.u16().map(Group);
                    }
                }
                (Some(h), HANDSHAKE_SERVER_HELLO_DONE) => {
                    let mut done = std::mem::replace(h, empty_hello());
                    done.complete = true;
                    return Ok(Answer::Hello(done));
                }
                (Some(_), _) => {}
            }
            handshake.drain(..consumed);
        }
        if handshake.len() > MAX_HANDSHAKE {
            return Err(AnswerError::Garbage("handshake message too long".into()));
        }
    }
}

/// A placeholder left behind when the finished hello is moved out.
fn empty_hello() -> ServerHello {
    ServerHello {
        version: 0,
        suite: CipherSuite(0),
        group: None,
        retry_request: false,
        chain: Vec::new(),
        extensions: Vec::new(),
        compression: 0,
        dh_bits: None,
        complete: false,
    }
}

/// Suites whose ServerKeyExchange carries a finite-field DH group.
pub fn is_finite_field_dh(suite: CipherSuite) -> bool {
    suite
        .iana_name()
        .is_some_and(|n| n.starts_with("TLS_DHE_") || n.starts_with("TLS_DH_anon_"))
}

/// The size in bits of a big-endian unsigned number.
fn bits(n: &[u8]) -> u32 {
    let n: &[u8] = match n.iter().position(|b| *b != 0) {
        Some(i) => &n[i..],
        None => return 0,
    };
    (n.len() as u32 - 1) * 8 + (8 - n[0].leading_zeros())
}

fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut r = Reader::new(body);
    let mut version = r.u16()?;
    let random = r.take(32)?;
    r.vec8()?; // session id
    let suite = CipherSuite(r.u16()?);
    let compression = r.u8()?;
    let retry_request = random == HRR_RANDOM;
    let mut group = None;
    let mut extensions = Vec::new();
    if !r.is_empty() {
        let mut exts = r.vec16()?;
        while !exts.is_empty() {
            let kind = exts.u16()?;
            let mut data = exts.vec16()?;
            extensions.push(kind);
            match kind {
                EXT_SUPPORTED_VERSIONS => version = data.u16()?,
                EXT_KEY_SHARE => group = Some(Group(data.u16()?)),
                _ => {}
            }
        }
    }
    let complete = version >= Protocol::TlsV1_3.wire() || retry_request;
    Some(ServerHello {
        version,
        suite,
        group,
        retry_request,
        chain: Vec::new(),
        extensions,
        compression,
        dh_bits: None,
        complete,
    })
}

fn parse_certificates(body: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let Some(mut list) = Reader::new(body).vec24() else {
        return out;
    };
    while let Some(mut cert) = list.vec24() {
        out.push(cert.rest().to_vec());
    }
    out
}

/// Reads whole TLS records (or one SSLv2 record) against a deadline.
pub(super) struct RecordReader<'a, W: Wire> {
    stream: &'a mut W,
    deadline: Deadline,
    buf: Vec<u8>,
}

impl<'a, W: Wire> RecordReader<'a, W> {
    pub(super) fn new(stream: &'a mut W, deadline: Deadline) -> Self {
        RecordReader {
            stream,
            deadline,
            buf: Vec::new(),
        }
    }

    pub(super) fn stream(&mut self) -> &mut W {
        self.stream
    }

    /// The next record as (content type, fragment), or None at end of stream.
    /// An SSLv2 SERVER-HELLO comes back as content type 0x80 with the message.
    pub(super) fn next(&mut self) -> Result<Option<(u8, Vec<u8>)>, AnswerError> {
        if !self.fill(1)? {
            return Ok(None);
        }
        if self.buf[0] & 0x80 != 0 {
            // SSLv2 record: two-byte header with the top bit set.
            if !self.fill(2)? {
                return Ok(None);
            }
            let len = usize::from(self.buf[0] & 0x7f) << 8 | usize::from(self.buf[1]);
            if !self.fill(2 + len)? {
                return Ok(None);
            }
            let msg = self.buf[2..2 + len].to_vec();
            self.buf.drain(..2 + len);
            return Ok(Some((0x80, msg)));
        }
        if !self.fill(5)? {
            return Ok(None);
        }
        let content = self.buf[0];
        let major = self.buf[1];
        let len = usize::from(self.buf[3]) << 8 | usize::from(self.buf[4]);
        if !(0x14..=0x18).contains(&content) || major != 3 || len > MAX_RECORD {
            let shown = String::from_utf8_lossy(&self.buf[..self.buf.len().min(40)]).into_owned();
            return Err(AnswerError::Garbage(format!("{shown:?}")));
        }
        if !self.fill(5 + len)? {
            return Ok(None);
        }
        let fragment = self.buf[5..5 + len].to_vec();
        self.buf.drain(..5 + len);
        Ok(Some((content, fragment)))
    }

    /// Reads until `n` bytes are buffered; false when the stream ends first.
    fn fill(&mut self, n: usize) -> Result<bool, AnswerError> {
        let mut chunk = [0u8; 4096];
        while self.buf.len() < n {
            let Some(left) = self.deadline.remaining() else {
                return Err(AnswerError::Timeout);
            };
            self.stream.set_deadline(left).map_err(AnswerError::Io)?;
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(k) => self.buf.extend_from_slice(&chunk[..k]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    return Err(AnswerError::Timeout)
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    return Err(AnswerError::Reset)
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(AnswerError::Io(e)),
            }
        }
        Ok(true)
    }
}

/// The answer to an SSLv2 hello: `parse` (the SSLv2 module's) reads its
/// SERVER-HELLO; a TLS alert or nothing is told apart here.
pub fn read_sslv2<W: Wire>(
    stream: &mut W,
    deadline: Deadline,
    parse: fn(&[u8]) -> Answer,
) -> Result<Answer, AnswerError> {
    let mut rx = RecordReader {
        stream,
        deadline,
        buf: Vec::new(),
    };
    match rx.next()? {
        None => Ok(Answer::Closed),
        Some((0x80, msg)) => Ok(parse(&msg)),
        Some((CONTENT_ALERT, fragment)) => {
            let mut r = Reader::new(&fragment);
            Ok(match (r.u8(), r.u8()) {
                (Some(level), Some(description)) => Answer::Alert { level, description },
                _ => Answer::Closed,
            })
        }
        Some((other, _)) => Err(AnswerError::Garbage(format!(
            "record type 0x{other:02x} in answer to SSLv2"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_hello_with_supported_versions_and_hrr() {
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&HRR_RANDOM);
        body.extend_from_slice(&[0, 0x13, 0x02, 0]);
        body.extend_from_slice(&[0, 12, 0, 0x2b, 0, 2, 3, 4, 0, 0x33, 0, 2, 0, 0x1d]);
        let h = parse_server_hello(&body).unwrap();
        assert_eq!(h.version, 0x0304);
        assert_eq!(h.suite, CipherSuite::TLS_AES_256_GCM_SHA384);
        assert_eq!(h.group, Some(Group::X25519));
        assert!(h.retry_request);
        // Truncated: no panic, no hello.
        assert!(parse_server_hello(&body[..40]).is_none());
    }
}
