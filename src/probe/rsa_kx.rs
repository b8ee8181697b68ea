//! Whether RSA key exchange really completes. A ServerHello choosing a
//! `TLS_RSA_WITH_*` suite proves little: the server has yet to decrypt the
//! premaster secret, and some cannot (OpenSMTPD keeps its key in a process
//! that only signs, and answers "decrypt error"). rustls cannot do RSA key
//! exchange, so this module does the client's side by hand, once per
//! target: the premaster secret encrypted to the certificate's key, then
//! ChangeCipherSpec and Finished. With an AES-GCM suite in TLS 1.2 the whole
//! handshake is done and the server's Finished checked; otherwise the
//! Finished sent is noise, and a server that got as far as the record layer
//! (it answers bad_record_mac) has decrypted the premaster.

use std::io::Write;

use num_bigint::BigUint;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{aead, digest, hmac};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use super::answer::{next_message, AnswerError, Garbage, Message, Record, RecordReader, MAX_HANDSHAKE};
use super::codec::{Reader, WireError, Writer};
use super::connector::{ConnectError, Connector};
use super::enumerate::hello;
use super::enums::{Alert, AlertDescription, AlertLevel, ContentType, ExtensionType, HandshakeType, ProtocolVersion};
use crate::tls::{CipherSuite, Group, Protocol};

/// What the key exchange showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The server decrypted the premaster secret (its Finished checked, or
    /// its record layer reached); whether it then accepted a renegotiation
    /// the client started (None: not tried, without a full handshake).
    Completes { client_renegotiation: Option<bool> },
    /// The server could not go on after the key exchange; why.
    Fails(String),
    /// Nothing could be told (no RSA certificate in the flight, or a server
    /// that closes without a word after a Finished it cannot read); why.
    Untried(String),
}

/// Whether an RSA key exchange suite is one this module can finish in full.
fn full(
    protocol: Protocol,
    suite: CipherSuite,
) -> Option<(&'static aead::Algorithm, hmac::Algorithm, &'static digest::Algorithm)> {
    match (protocol, suite) {
        (Protocol::TlsV1_2, CipherSuite::TLS_RSA_WITH_AES_128_GCM_SHA256) => {
            Some((&aead::AES_128_GCM, hmac::HMAC_SHA256, &digest::SHA256))
        }
        (Protocol::TlsV1_2, CipherSuite::TLS_RSA_WITH_AES_256_GCM_SHA384) => {
            Some((&aead::AES_256_GCM, hmac::HMAC_SHA384, &digest::SHA384))
        }
        _ => None,
    }
}

/// Whether `suite` uses RSA key exchange (the premaster encrypted to the certificate's key).
pub fn is_rsa_kx(suite: CipherSuite) -> bool {
    suite.iana_name().is_some_and(|n| n.starts_with("TLS_RSA_WITH_"))
}

/// The best (protocol, suite) to check with among those accepted: one that
/// can be finished in full when there is one.
pub fn pick(accepted: &[(Protocol, CipherSuite)]) -> Option<(Protocol, CipherSuite)> {
    let rsa = accepted.iter().copied().filter(|(_, s)| is_rsa_kx(*s));
    let all: Vec<_> = rsa.collect();
    all.iter()
        .copied()
        .find(|(p, s)| full(*p, *s).is_some())
        .or_else(|| all.first().copied())
}

/// One RSA key exchange with `suite` over `protocol`.
pub fn check(
    c: &Connector,
    protocol: Protocol,
    suite: CipherSuite,
    sni: Option<&str>,
) -> Result<Outcome, ConnectError> {
    c.with_stream(|stream, deadline| {
        let groups: Vec<Group> = Group::known().collect();
        let record = hello(protocol, &[suite], &groups, sni).to_record();
        let mut transcript = record[5..].to_vec();
        let client_random = record[11..43].to_vec();
        stream.write_all(&record).map_err(AnswerError::Io)?;
        let mut rx = RecordReader::new(stream, deadline);
        let flight = match read_flight(&mut rx, &mut transcript) {
            Ok(f) => f,
            Err(FlightError::Answer(e)) => return Err(e.into()),
            Err(why) => return Ok(Outcome::Untried(why.to_string())),
        };
        if flight.suite != suite {
            return Ok(Outcome::Untried(format!("the server chose {} instead", flight.suite)));
        }
        let Some((n, e)) = rsa_key(&flight.leaf) else {
            return Ok(Outcome::Untried("the server sent no RSA certificate".into()));
        };
        let rng = SystemRandom::new();
        let mut out = Vec::new();
        if flight.client_certificate_requested {
            // An empty Certificate: no client certificate.
            let msg = [HandshakeType::CERTIFICATE.0, 0, 0, 3, 0, 0, 0];
            transcript.extend_from_slice(&msg);
            out.extend(record_of(ContentType::HANDSHAKE, protocol, &msg));
        }
        let mut premaster = vec![0u8; 48];
        fill(&rng, &mut premaster);
        let version = ProtocolVersion::from(protocol.min(Protocol::TlsV1_2)).0.to_be_bytes();
        premaster[..2].copy_from_slice(&version);
        let Some(encrypted) = rsa_encrypt(&n, &e, &premaster, &rng) else {
            return Ok(Outcome::Untried("the certificate's RSA key is too small".into()));
        };
        let mut cke = Writer::default();
        cke.put(&HandshakeType::CLIENT_KEY_EXCHANGE).nested(3, |w| {
            if protocol == Protocol::SslV3 {
                w.bytes(&encrypted);
            } else {
                w.nested(2, |w| {
                    w.bytes(&encrypted);
                });
            }
        });
        transcript.extend_from_slice(&cke.buf);
        out.extend(record_of(ContentType::HANDSHAKE, protocol, &cke.buf));
        out.extend(record_of(ContentType::CHANGE_CIPHER_SPEC, protocol, &[1]));

        let Some((aead_alg, prf, hash)) = full(protocol, suite) else {
            // Noise as Finished: a server that decrypted the premaster fails on the record's MAC.
            let mut noise = vec![0u8; 64];
            fill(&rng, &mut noise);
            out.extend(record_of(ContentType::HANDSHAKE, protocol, &noise));
            send(rx.stream(), &out)?;
            // Only an alert that names the key exchange is proof of failure:
            // some servers (Dovecot) close without a word either way.
            return Ok(match read_alert(&mut rx)? {
                Some(a) if a.description == AlertDescription::BAD_RECORD_MAC => Outcome::Completes {
                    client_renegotiation: None,
                },
                Some(a)
                    if [AlertDescription::DECRYPT_ERROR, AlertDescription::INTERNAL_ERROR].contains(&a.description) =>
                {
                    Outcome::Fails(format!("{a} after the key exchange"))
                }
                Some(a) => Outcome::Untried(format!("{a} after a key exchange with noise as Finished")),
                None => Outcome::Untried(
                    "the server closed the connection after a key exchange with noise as Finished".into(),
                ),
            });
        };

        let master = if flight.extended_master_secret {
            let session_hash = digest::digest(hash, &transcript);
            prf_tls12(prf, &premaster, b"extended master secret", session_hash.as_ref(), 48)
        } else {
            let seed = [client_random.as_slice(), flight.server_random.as_slice()].concat();
            prf_tls12(prf, &premaster, b"master secret", &seed, 48)
        };
        let key_len = aead_alg.key_len();
        let seed = [flight.server_random.as_slice(), client_random.as_slice()].concat();
        let block = prf_tls12(prf, &master, b"key expansion", &seed, 2 * key_len + 8);
        let (client_key, rest) = block.split_at(key_len);
        let (server_key, rest) = rest.split_at(key_len);
        let (client_iv, server_iv) = rest.split_at(4);

        let verify = prf_tls12(
            prf,
            &master,
            b"client finished",
            digest::digest(hash, &transcript).as_ref(),
            12,
        );
        let mut finished = vec![HandshakeType::FINISHED.0, 0, 0, 12];
        finished.extend_from_slice(&verify);
        transcript.extend_from_slice(&finished);
        let sealed = seal(aead_alg, client_key, client_iv, 0, ContentType::HANDSHAKE, &finished);
        out.extend(record_of(ContentType::HANDSHAKE, protocol, &sealed));
        send(rx.stream(), &out)?;

        // The server's answer: [NewSessionTicket] ChangeCipherSpec Finished, or an alert.
        loop {
            let Some(record) = rx.next()? else {
                return Ok(Outcome::Fails(
                    "the server closed the connection after the key exchange".into(),
                ));
            };
            let Record::Tls(content, fragment) = record else {
                return Ok(Outcome::Fails("an SSLv2 record after the key exchange".into()));
            };
            match content {
                ContentType::ALERT => {
                    return Ok(Outcome::Fails(format!(
                        "{} after the key exchange",
                        alert_in(&fragment)
                    )));
                }
                ContentType::HANDSHAKE if fragment.first() == Some(&HandshakeType::NEW_SESSION_TICKET.0) => {
                    // NewSessionTicket: part of the transcript the server's Finished covers.
                    transcript.extend_from_slice(&fragment);
                }
                ContentType::CHANGE_CIPHER_SPEC => {}
                ContentType::HANDSHAKE => {
                    let expected = prf_tls12(
                        prf,
                        &master,
                        b"server finished",
                        digest::digest(hash, &transcript).as_ref(),
                        12,
                    );
                    match open(aead_alg, server_key, server_iv, &fragment) {
                        Some(plain)
                            if plain.len() == 16
                                && plain[..4] == [HandshakeType::FINISHED.0, 0, 0, 12]
                                && plain[4..] == expected[..] => {}
                        _ => return Ok(Outcome::Fails("the server's Finished does not verify".into())),
                    }
                    // Renegotiation started by the client: a new ClientHello under the
                    // keys just made, with the client's verify_data (RFC 5746).
                    let again = renegotiation_hello(protocol, suite, sni, &verify);
                    let sealed = seal(aead_alg, client_key, client_iv, 1, ContentType::HANDSHAKE, &again);
                    if send(rx.stream(), &record_of(ContentType::HANDSHAKE, protocol, &sealed)).is_err() {
                        return Ok(Outcome::Completes {
                            client_renegotiation: Some(false),
                        });
                    }
                    // The record type travels in the clear: a handshake record is the
                    // ServerHello of the renegotiation, an alert (no_renegotiation) or
                    // a close is a refusal.
                    let accepted = match rx.next() {
                        Ok(Some(Record::Tls(ContentType::HANDSHAKE, _))) => Some(true),
                        Ok(Some(Record::Tls(ContentType::ALERT, _))) | Ok(None) | Err(AnswerError::Reset) => {
                            Some(false)
                        }
                        Ok(Some(_)) | Err(_) => None,
                    };
                    return Ok(Outcome::Completes {
                        client_renegotiation: accepted,
                    });
                }
                other => {
                    return Ok(Outcome::Fails(format!(
                        "record type 0x{:02x} after the key exchange",
                        other.0
                    )))
                }
            }
        }
    })
}

/// A ClientHello for a renegotiation: renegotiation_info carries the
/// client's verify_data instead of being empty.
fn renegotiation_hello(protocol: Protocol, suite: CipherSuite, sni: Option<&str>, verify: &[u8]) -> Vec<u8> {
    let groups: Vec<Group> = Group::known().collect();
    let record = hello(protocol, &[suite], &groups, sni).to_record();
    let mut msg = record[5..].to_vec();
    let empty_ri = [0xff, 0x01, 0x00, 0x01, 0x00];
    let Some(at) = msg.windows(5).position(|w| w == empty_ri) else {
        return msg;
    };
    let mut ri = vec![0xff, 0x01, 0x00, 1 + verify.len() as u8, verify.len() as u8];
    ri.extend_from_slice(verify);
    msg.splice(at..at + 5, ri);
    let grown = verify.len();
    // Handshake length (u24 after the type), then the extensions' u16 length.
    let len = (usize::from(msg[1]) << 16 | usize::from(msg[2]) << 8 | usize::from(msg[3])) + grown;
    msg[1..4].copy_from_slice(&(len as u32).to_be_bytes()[1..]);
    let sid = usize::from(msg[4 + 34]);
    let suites_at = 4 + 35 + sid;
    let suites = usize::from(msg[suites_at]) << 8 | usize::from(msg[suites_at + 1]);
    let comp_at = suites_at + 2 + suites;
    let ext_at = comp_at + 1 + usize::from(msg[comp_at]);
    let ext_len = (usize::from(msg[ext_at]) << 8 | usize::from(msg[ext_at + 1])) + grown;
    msg[ext_at..ext_at + 2].copy_from_slice(&(ext_len as u16).to_be_bytes());
    msg
}

/// What the server's first flight says, for the key exchange.
struct Flight {
    suite: CipherSuite,
    server_random: Vec<u8>,
    extended_master_secret: bool,
    leaf: Vec<u8>,
    client_certificate_requested: bool,
}

/// Why there is no flight to go on with.
#[derive(Debug, thiserror::Error)]
enum FlightError {
    #[error("the server closed the connection during its hello")]
    Closed,
    #[error("{0} during the server's hello")]
    Alert(Alert),
    #[error("record type 0x{:02x} during the server's hello", .0 .0)]
    Record(ContentType),
    #[error("an SSLv2 record during the server's hello")]
    Sslv2,
    #[error(transparent)]
    Answer(#[from] AnswerError),
}

impl From<Garbage> for FlightError {
    fn from(g: Garbage) -> Self {
        FlightError::Answer(g.into())
    }
}

/// Reads ServerHello .. ServerHelloDone, adding each message to `transcript`.
fn read_flight<W: super::wire::Wire>(
    rx: &mut RecordReader<'_, W>,
    transcript: &mut Vec<u8>,
) -> Result<Flight, FlightError> {
    let mut pending = Vec::new();
    let mut flight = Flight {
        suite: CipherSuite(0),
        server_random: Vec::new(),
        extended_master_secret: false,
        leaf: Vec::new(),
        client_certificate_requested: false,
    };
    loop {
        match rx.next()? {
            None => return Err(FlightError::Closed),
            Some(Record::Tls(ContentType::HANDSHAKE, fragment)) => pending.extend_from_slice(&fragment),
            Some(Record::Tls(ContentType::ALERT, fragment)) => return Err(FlightError::Alert(alert_in(&fragment))),
            Some(Record::Tls(other, _)) => return Err(FlightError::Record(other)),
            Some(Record::Sslv2(_)) => return Err(FlightError::Sslv2),
        }
        while let Some(Message { kind, body, len: used }) = next_message(&pending)? {
            let body = body.to_vec();
            transcript.extend_from_slice(&pending[..used]);
            pending.drain(..used);
            match kind {
                HandshakeType::SERVER_HELLO => {
                    let (random, suite, ems) = server_hello(&body).map_err(Garbage::ServerHello)?;
                    flight.server_random = random.to_vec();
                    flight.suite = suite;
                    flight.extended_master_secret = ems;
                }
                HandshakeType::CERTIFICATE => {
                    if let Some(leaf) = super::answer::parse_certificates(&body).into_iter().next() {
                        flight.leaf = leaf;
                    }
                }
                HandshakeType::CERTIFICATE_REQUEST => flight.client_certificate_requested = true,
                HandshakeType::SERVER_HELLO_DONE => return Ok(flight),
                _ => {}
            }
        }
        if pending.len() > MAX_HANDSHAKE {
            return Err(Garbage::HandshakeTooLong.into());
        }
    }
}

/// The random, suite and extended_master_secret of a ServerHello; the
/// extensions are read as far as they go.
fn server_hello(body: &[u8]) -> Result<([u8; 32], CipherSuite, bool), WireError> {
    let mut b = Reader::new(body);
    b.read::<ProtocolVersion>()?;
    let random = b.array::<32>()?;
    b.vec8()?;
    let suite = b.read()?;
    b.u8()?;
    let mut ems = false;
    if let Ok(mut exts) = b.vec16() {
        while let (Ok(kind), Ok(_)) = (exts.read::<ExtensionType>(), exts.vec16()) {
            ems |= kind == ExtensionType::EXTENDED_MASTER_SECRET;
        }
    }
    Ok((random, suite, ems))
}

/// The alert in an alert record; a short one reads as alert 0.
fn alert_in(fragment: &[u8]) -> Alert {
    Reader::new(fragment).read().unwrap_or(Alert {
        level: AlertLevel(0),
        description: AlertDescription(0),
    })
}

/// The first alert the server sends, if any, before it closes.
fn read_alert<W: super::wire::Wire>(rx: &mut RecordReader<'_, W>) -> Result<Option<Alert>, AnswerError> {
    loop {
        match rx.next()? {
            None => return Ok(None),
            Some(Record::Tls(ContentType::ALERT, fragment)) => return Ok(Some(alert_in(&fragment))),
            Some(_) => {}
        }
    }
}

fn send<W: Write>(stream: &mut W, bytes: &[u8]) -> Result<(), ConnectError> {
    Ok(stream.write_all(bytes).map_err(AnswerError::Io)?)
}

fn record_of(content: ContentType, protocol: Protocol, fragment: &[u8]) -> Vec<u8> {
    let mut w = Writer::default();
    w.put(&content)
        .put(&ProtocolVersion::from(protocol.min(Protocol::TlsV1_2)))
        .nested(2, |w| {
            w.bytes(fragment);
        });
    w.buf
}

fn fill(rng: &SystemRandom, buf: &mut [u8]) {
    // The system's random source does not fail on Linux; zeros would only make the check weaker.
    let _ = rng.fill(buf);
}

/// The RSA modulus and public exponent of a certificate.
fn rsa_key(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    match cert.public_key().parsed().ok()? {
        PublicKey::RSA(k) => Some((k.modulus.to_vec(), k.exponent.to_vec())),
        _ => None,
    }
}

/// RSAES-PKCS1-v1_5 encryption (RFC 8017 7.2.1).
fn rsa_encrypt(modulus: &[u8], exponent: &[u8], message: &[u8], rng: &SystemRandom) -> Option<Vec<u8>> {
    let n = BigUint::from_bytes_be(modulus);
    let k = (n.bits() as usize).div_ceil(8);
    let padding = k.checked_sub(message.len() + 3).filter(|p| *p >= 8)?;
    let mut em = vec![0u8, 2];
    let mut ps = vec![0u8; padding];
    fill(rng, &mut ps);
    for b in &mut ps {
        if *b == 0 {
            *b = 0x5a;
        }
    }
    em.extend_from_slice(&ps);
    em.push(0);
    em.extend_from_slice(message);
    let c = BigUint::from_bytes_be(&em).modpow(&BigUint::from_bytes_be(exponent), &n);
    let bytes = c.to_bytes_be();
    let mut out = vec![0u8; k - bytes.len()];
    out.extend_from_slice(&bytes);
    Some(out)
}

/// The TLS 1.2 PRF (RFC 5246 section 5).
fn prf_tls12(alg: hmac::Algorithm, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let key = hmac::Key::new(alg, secret);
    let seed = [label, seed].concat();
    let mut a = hmac::sign(&key, &seed);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let block = hmac::sign(&key, &[a.as_ref(), seed.as_slice()].concat());
        out.extend_from_slice(block.as_ref());
        a = hmac::sign(&key, a.as_ref());
    }
    out.truncate(len);
    out
}

/// The first record under a TLS 1.2 AES-GCM key: explicit nonce (the
/// sequence number, 0), ciphertext, tag.
fn seal(alg: &'static aead::Algorithm, key: &[u8], iv: &[u8], seq: u64, content: ContentType, plain: &[u8]) -> Vec<u8> {
    let explicit = seq.to_be_bytes();
    let Ok(key) = aead::UnboundKey::new(alg, key) else {
        return Vec::new();
    };
    let key = aead::LessSafeKey::new(key);
    let mut buf = plain.to_vec();
    let Ok(tag) = key.seal_in_place_separate_tag(nonce(iv, &explicit), aad(seq, content, plain.len()), &mut buf) else {
        return Vec::new();
    };
    let mut out = explicit.to_vec();
    out.extend_from_slice(&buf);
    out.extend_from_slice(tag.as_ref());
    out
}

fn open(alg: &'static aead::Algorithm, key: &[u8], iv: &[u8], record: &[u8]) -> Option<Vec<u8>> {
    let (explicit, sealed) = (record.get(..8)?, record.get(8..)?);
    let plain_len = sealed.len().checked_sub(alg.tag_len())?;
    let key = aead::LessSafeKey::new(aead::UnboundKey::new(alg, key).ok()?);
    let mut buf = sealed.to_vec();
    let plain = key
        .open_in_place(nonce(iv, explicit), aad(0, ContentType::HANDSHAKE, plain_len), &mut buf)
        .ok()?;
    Some(plain.to_vec())
}

fn nonce(iv: &[u8], explicit: &[u8]) -> aead::Nonce {
    let mut n = [0u8; 12];
    n[..4].copy_from_slice(iv);
    n[4..].copy_from_slice(explicit);
    aead::Nonce::assume_unique_for_key(n)
}

/// The additional data of a TLS 1.2 record: sequence number, type, version, length.
fn aad(seq: u64, content: ContentType, len: usize) -> aead::Aad<[u8; 13]> {
    let mut a = [0u8; 13];
    a[..8].copy_from_slice(&seq.to_be_bytes());
    a[8] = content.0;
    a[9..11].copy_from_slice(&ProtocolVersion::TLSV1_2.0.to_be_bytes());
    a[11..].copy_from_slice(&(len as u16).to_be_bytes());
    aead::Aad::from(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5246 has no PRF vectors; this one is the widely used TLS 1.2
    /// SHA-256 test vector (from the IETF TLS mailing list, also in Go's
    /// crypto/tls prf_test.go): secret, label "test label", seed, 100 bytes.
    #[test]
    fn prf_matches_the_published_sha256_vector() {
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let secret = hex("9bbe436ba940f017b17652849a71db35");
        let seed = hex("a0ba9f936cda311827a6f796ffd5198c");
        let out = prf_tls12(hmac::HMAC_SHA256, &secret, b"test label", &seed, 16);
        assert_eq!(out, hex("e3f229ba727be17b8d122620557cd453"));
    }

    #[test]
    fn gcm_records_round_trip() {
        let key = [7u8; 16];
        let iv = [1u8, 2, 3, 4];
        let sealed = seal(&aead::AES_128_GCM, &key, &iv, 0, ContentType::HANDSHAKE, b"finished!");
        assert_eq!(
            open(&aead::AES_128_GCM, &key, &iv, &sealed).as_deref(),
            Some(&b"finished!"[..])
        );
    }
}
