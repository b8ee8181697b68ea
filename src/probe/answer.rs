//! What a server answers to a hand-built ClientHello: a ServerHello (or
//! HelloRetryRequest), an alert, a closed connection, or an SSLv2
//! SERVER-HELLO. Reads records off the socket until it can tell, and never
//! trusts a length the server sent beyond the bytes it really sent.

use super::codec::{Reader, WireError};
use super::deadline::Deadline;
use super::enums::{Alert, ContentType, ExtensionType, HandshakeType, ProtocolVersion};
use super::wire::Wire;
use crate::tls::{CipherSuite, Group, Protocol};

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
    pub version: ProtocolVersion,
    pub suite: CipherSuite,
    /// The group of the key share (TLS 1.3), or of the ServerKeyExchange
    /// (TLS 1.2 ECDHE, when asked for).
    pub group: Option<Group>,
    pub retry_request: bool,
    /// The certificate chain as sent in the clear (TLS 1.2 and older, when asked for).
    pub chain: Vec<Vec<u8>>,
    /// The extensions the server answered with.
    pub extensions: Vec<ExtensionType>,
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
        self.version.protocol()
    }

    /// TLS 1.3 or newer: nothing after the ServerHello travels in the clear.
    fn is_tls13(&self) -> bool {
        self.version >= ProtocolVersion::TLSV1_3
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
    Alert(Alert),
    /// The server closed the connection (or reset it) without a word.
    Closed,
}

/// Why the answer to a hello could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("no answer to the ClientHello in time")]
    Timeout,
    /// The connection was reset (RST) before the answer was complete.
    #[error("the connection was reset before the answer to the ClientHello")]
    Reset,
    #[error("reading the answer to the ClientHello: {0}")]
    Io(std::io::Error),
    /// Bytes that are no TLS record, or no handshake a TLS server would send.
    #[error("the answer to the ClientHello is not TLS: {0}")]
    Garbage(Garbage),
}

/// What was wrong with bytes that are not TLS.
#[derive(Debug, thiserror::Error)]
pub enum Garbage {
    /// The start of what came instead of a record header, as text.
    #[error("{0:?}")]
    NotARecord(String),
    #[error("record type 0x{:02x}", .0 .0)]
    UnexpectedRecord(ContentType),
    #[error("record type 0x{:02x} in answer to SSLv2", .0 .0)]
    UnexpectedSslv2Record(ContentType),
    #[error("a handshake message claiming {0} bytes")]
    HandshakeClaims(usize),
    #[error("handshake message too long")]
    HandshakeTooLong,
    #[error("handshake message 0x{:02x} before ServerHello", .0 .0)]
    BeforeServerHello(HandshakeType),
    #[error("malformed ServerHello ({0})")]
    ServerHello(WireError),
}

impl From<Garbage> for AnswerError {
    fn from(g: Garbage) -> Self {
        AnswerError::Garbage(g)
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
pub(super) const MAX_HANDSHAKE: usize = 1 << 17;

/// Reads the server's answer to a TLS ClientHello.
pub fn read<W: Wire>(stream: &mut W, deadline: Deadline, depth: Depth) -> Result<Answer, AnswerError> {
    let mut rx = RecordReader::new(stream, deadline);
    let mut handshake = Vec::new();
    let mut hello: Option<ServerHello> = None;
    loop {
        let fragment = match rx.next()? {
            Some(Record::Tls(ContentType::HANDSHAKE, fragment)) => fragment,
            Some(Record::Tls(ContentType::ALERT, fragment)) => {
                return Ok(match hello {
                    None => alert(&fragment),
                    // An alert after the ServerHello: the server gave up on its own choice.
                    Some(h) => Answer::Hello(ServerHello { complete: false, ..h }),
                });
            }
            // Closed in the middle of the flight: the server gave up on its own choice.
            None => {
                return Ok(match hello {
                    Some(h) => Answer::Hello(ServerHello { complete: false, ..h }),
                    None => Answer::Closed,
                })
            }
            Some(other) => {
                // Anything else after the ServerHello ends what we can read in the clear.
                return match hello {
                    Some(h) => Ok(Answer::Hello(h)),
                    None => Err(Garbage::UnexpectedRecord(other.content_type()).into()),
                };
            }
        };
        handshake.extend_from_slice(&fragment);
        // Consume every complete handshake message.
        while let Some(Message {
            kind,
            body,
            len: consumed,
        }) = next_message(&handshake)?
        {
            match (&mut hello, kind) {
                (None, HandshakeType::SERVER_HELLO) => {
                    let h = parse_server_hello(body).map_err(Garbage::ServerHello)?;
                    if depth == Depth::Hello || h.retry_request || h.is_tls13() {
                        // Not read any further: as complete as can be told here.
                        return Ok(Answer::Hello(ServerHello { complete: true, ..h }));
                    }
                    hello = Some(h);
                }
                (None, other) => return Err(Garbage::BeforeServerHello(other).into()),
                (Some(h), HandshakeType::CERTIFICATE) => h.chain = parse_certificates(body),
                (Some(h), HandshakeType::SERVER_KEY_EXCHANGE) => {
                    let mut r = Reader::new(body);
                    if is_finite_field_dh(h.suite) {
                        // DHE: dh_p, dh_g, dh_Ys; the size of p is the group's.
                        h.dh_bits = r.vec16().ok().map(|mut p| bits(p.rest()));
                    } else if r.u8() == Ok(3) {
                        // ECDHE: curve_type named_curve (3), then the group.
                        h.group = r.read().ok();
                    }
                }
                (Some(h), HandshakeType::SERVER_HELLO_DONE) => {
                    let mut done = std::mem::replace(h, empty_hello());
                    done.complete = true;
                    return Ok(Answer::Hello(done));
                }
                (Some(_), _) => {}
            }
            handshake.drain(..consumed);
        }
        if handshake.len() > MAX_HANDSHAKE {
            return Err(Garbage::HandshakeTooLong.into());
        }
    }
}

/// One whole handshake message at the front of a buffer.
pub(super) struct Message<'a> {
    pub(super) kind: HandshakeType,
    pub(super) body: &'a [u8],
    /// Bytes it takes in the buffer, header included.
    pub(super) len: usize,
}

/// The first whole handshake message buffered in `pending`; None while it
/// is still incomplete.
pub(super) fn next_message(pending: &[u8]) -> Result<Option<Message<'_>>, Garbage> {
    let mut r = Reader::new(pending);
    let (Ok(kind), Ok(len)) = (r.read::<HandshakeType>(), r.u24()) else {
        return Ok(None);
    };
    if len > MAX_HANDSHAKE {
        return Err(Garbage::HandshakeClaims(len));
    }
    Ok(r.take(len).ok().map(|body| Message {
        kind,
        body,
        len: 4 + len,
    }))
}

/// An alert record's answer; a record too short to hold one is as good as a close.
fn alert(fragment: &[u8]) -> Answer {
    Reader::new(fragment).read().map_or(Answer::Closed, Answer::Alert)
}

/// A placeholder left behind when the finished hello is moved out.
fn empty_hello() -> ServerHello {
    ServerHello {
        version: ProtocolVersion(0),
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

pub(super) fn parse_server_hello(body: &[u8]) -> Result<ServerHello, WireError> {
    let mut r = Reader::new(body);
    let mut version: ProtocolVersion = r.read()?;
    let random: [u8; 32] = r.array()?;
    r.vec8()?; // session id
    let suite: CipherSuite = r.read()?;
    let compression = r.u8()?;
    let retry_request = random == HRR_RANDOM;
    let mut group = None;
    let mut extensions = Vec::new();
    if !r.is_empty() {
        let mut exts = r.vec16()?;
        while !exts.is_empty() {
            let kind: ExtensionType = exts.read()?;
            let mut data = exts.vec16()?;
            extensions.push(kind);
            match kind {
                ExtensionType::SUPPORTED_VERSIONS => version = data.read()?,
                ExtensionType::KEY_SHARE => group = Some(data.read()?),
                _ => {}
            }
        }
    }
    let mut hello = ServerHello {
        version,
        suite,
        group,
        retry_request,
        chain: Vec::new(),
        extensions,
        compression,
        dh_bits: None,
        complete: false,
    };
    hello.complete = hello.is_tls13() || retry_request;
    Ok(hello)
}

/// The DER certificates of a Certificate message (TLS 1.2 and older), as
/// many as can be read.
pub(super) fn parse_certificates(body: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let Ok(mut list) = Reader::new(body).vec24() else {
        return out;
    };
    while let Ok(mut cert) = list.vec24() {
        out.push(cert.rest().to_vec());
    }
    out
}

/// One record off the wire.
#[derive(Debug)]
pub(super) enum Record {
    /// A TLS record: content type and fragment.
    Tls(ContentType, Vec<u8>),
    /// An SSLv2 record (two-byte header, top bit set): the message.
    Sslv2(Vec<u8>),
}

impl Record {
    fn content_type(&self) -> ContentType {
        match self {
            Record::Tls(content, _) => *content,
            // SSLv2 records have no content type; their first byte has the top bit set.
            Record::Sslv2(_) => ContentType(0x80),
        }
    }
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

    /// The next record, or None at end of stream.
    pub(super) fn next(&mut self) -> Result<Option<Record>, AnswerError> {
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
            return Ok(Some(Record::Sslv2(msg)));
        }
        if !self.fill(5)? {
            return Ok(None);
        }
        let mut header = Reader::new(&self.buf[..5]);
        let (Ok(content), Ok(version), Ok(len)) = (
            header.read::<ContentType>(),
            header.read::<ProtocolVersion>(),
            header.u16(),
        ) else {
            return Ok(None); // not reached: five bytes are buffered
        };
        let len = usize::from(len);
        if content.name().is_none() || version.0 >> 8 != 3 || len > MAX_RECORD {
            let shown = String::from_utf8_lossy(&self.buf[..self.buf.len().min(40)]).into_owned();
            return Err(Garbage::NotARecord(shown).into());
        }
        if !self.fill(5 + len)? {
            return Ok(None);
        }
        let fragment = self.buf[5..5 + len].to_vec();
        self.buf.drain(..5 + len);
        Ok(Some(Record::Tls(content, fragment)))
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
    match RecordReader::new(stream, deadline).next()? {
        None => Ok(Answer::Closed),
        Some(Record::Sslv2(msg)) => Ok(parse(&msg)),
        Some(Record::Tls(ContentType::ALERT, fragment)) => Ok(alert(&fragment)),
        Some(Record::Tls(other, _)) => Err(Garbage::UnexpectedSslv2Record(other).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::enums::{AlertDescription, AlertLevel};
    use crate::probe::wire::Replay;

    #[test]
    fn server_hello_with_supported_versions_and_hrr() {
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&HRR_RANDOM);
        body.extend_from_slice(&[0, 0x13, 0x02, 0]);
        body.extend_from_slice(&[0, 12, 0, 0x2b, 0, 2, 3, 4, 0, 0x33, 0, 2, 0, 0x1d]);
        let h = parse_server_hello(&body).unwrap();
        assert_eq!(h.version, ProtocolVersion::TLSV1_3);
        assert_eq!(h.suite, CipherSuite::TLS_AES_256_GCM_SHA384);
        assert_eq!(h.group, Some(Group::X25519));
        assert_eq!(
            h.extensions,
            [ExtensionType::SUPPORTED_VERSIONS, ExtensionType::KEY_SHARE]
        );
        assert!(h.retry_request);
        // Truncated: no panic, no hello, and the error says what was short.
        let short = parse_server_hello(&body[..40]).unwrap_err();
        assert!(matches!(short, WireError::Short { .. }), "{short}");
    }

    #[test]
    fn an_alert_record_is_a_typed_alert() {
        let deadline = Deadline::after(std::time::Duration::from_secs(5));
        let answer = read(&mut Replay(b"\x15\x03\x03\x00\x02\x02\x28"), deadline, Depth::Hello).unwrap();
        assert_eq!(
            answer,
            Answer::Alert(Alert {
                level: AlertLevel::FATAL,
                description: AlertDescription::HANDSHAKE_FAILURE
            })
        );
        let err = read(&mut Replay(b"\x17\x03\x03\x00\x01\x00"), deadline, Depth::Hello).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the answer to the ClientHello is not TLS: record type 0x17"
        );
    }
}
