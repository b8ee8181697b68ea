//! The certificate: one real TLS 1.3/1.2 handshake with rustls collects the
//! chain as served (or, for servers rustls cannot talk to, the chain a TLS
//! 1.2-or-older server sends in the clear); then validity, key, signature
//! algorithm, hostname match and trust against the system roots or a CA file.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::Serialize;
use sha2::{Digest, Sha256};
use x509_parser::prelude::*;

use super::connector::{ConnectError, Connector};
use super::deadline::Deadline;

/// What the probe reports about the served certificate.
#[derive(Clone, Debug, Serialize)]
pub struct CertificateReport {
    #[serde(skip)]
    pub leaf_der: Vec<u8>,
    /// SHA-256 of the leaf's DER, in lowercase hex.
    pub sha256: String,
    pub subject: String,
    pub issuer: String,
    /// RFC 3339, UTC.
    pub not_before: String,
    pub not_after: String,
    pub expired: bool,
    pub not_yet_valid: bool,
    pub lifespan_days: i64,
    /// "RSA", "ECDSA", "Ed25519", "Ed448", "DSA" or the key's OID.
    pub key_type: String,
    pub key_bits: Option<u32>,
    pub curve: Option<String>,
    pub signature_algorithm: String,
    pub subject_alt_names: Vec<String>,
    /// Certificates served, leaf included.
    pub chain_length: usize,
    pub self_signed: bool,
    /// A distribution's placeholder (Debian's ssl-cert "snakeoil"): self-signed
    /// for a bare host name, or the very certificate in /etc/ssl/certs/ssl-cert-snakeoil.pem.
    pub snakeoil: bool,
    /// The chain leads to a trusted root (system roots or --ca-file).
    pub trusted: bool,
    pub trust_error: Option<String>,
    /// The name checked against the certificate.
    pub hostname: String,
    pub hostname_match: bool,
    /// How the chain was obtained: "TLSv1.3 TLS_AES_256_GCM_SHA384" for a
    /// rustls handshake, or "TLSv1.0 in the clear".
    pub obtained_with: String,
}

/// A chain as served (DER, leaf first) and how it was obtained.
pub type Served = (Vec<Vec<u8>>, String);

/// Why no chain came back from the real handshake.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No TLS could even start (connect, dialogue, or the first bytes).
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// TLS started and the handshake failed.
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
}

/// Why the rustls handshake gave no chain.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("{name:?} is not a valid server name: {source}")]
    ServerName {
        name: String,
        source: rustls::pki_types::InvalidDnsNameError,
    },
    #[error(transparent)]
    Rustls(#[from] rustls::Error),
    #[error("the TLS handshake timed out")]
    Timeout,
    #[error("TLS handshake: {0}")]
    Io(std::io::Error),
    #[error("the server sent no certificate")]
    NoCertificate,
}

/// Why a served chain could not be turned into a report.
#[derive(Debug, thiserror::Error)]
pub enum AnalyseError {
    #[error("no certificate")]
    Empty,
    #[error("the leaf certificate does not parse: {0}")]
    Leaf(#[from] x509_parser::nom::Err<X509Error>),
}

/// Why the trust anchors could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RootsError {
    #[error("{}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{}: no certificates", path.display())]
    Empty { path: std::path::PathBuf },
}

/// One real handshake with rustls: the chain it saw, or why not.
pub fn fetch(c: &Connector, name: &str, key: KeyFilter) -> Result<Served, FetchError> {
    let server_name = ServerName::try_from(name.to_string()).map_err(|source| HandshakeError::ServerName {
        name: name.to_string(),
        source,
    })?;
    Ok(c.with_stream(|stream, deadline| Ok(handshake(stream, deadline, server_name.clone(), key)))??)
}

fn handshake(
    stream: &mut TcpStream,
    deadline: Deadline,
    name: ServerName<'static>,
    key: KeyFilter,
) -> Result<Served, HandshakeError> {
    let recorder = Arc::new(Recorder {
        provider: provider(),
        chain: Mutex::new(Vec::new()),
        key,
    });
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(rustls::ALL_VERSIONS)?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name)?;
    while conn.is_handshaking() {
        let Some(left) = deadline.remaining() else {
            return Err(HandshakeError::Timeout);
        };
        let _ = stream.set_read_timeout(Some(left));
        let _ = stream.set_write_timeout(Some(left));
        conn.complete_io(stream).map_err(HandshakeError::Io)?;
    }
    // Say goodbye properly; the answer does not matter.
    conn.send_close_notify();
    let _ = conn.complete_io(stream);
    let _ = stream.flush();
    let how = match (conn.protocol_version(), conn.negotiated_cipher_suite()) {
        (Some(v), Some(s)) => {
            let v = super::enums::ProtocolVersion(u16::from(v))
                .protocol()
                .map_or("TLS", |p| p.name());
            format!("{v} {}", crate::tls::CipherSuite(u16::from(s.suite())))
        }
        _ => "TLS".into(),
    };
    let chain = recorder.chain.lock().map(|c| c.clone()).unwrap_or_default();
    if chain.is_empty() {
        return Err(HandshakeError::NoCertificate);
    }
    Ok((chain, how))
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER.get_or_init(|| Arc::new(ring::default_provider())).clone()
}

/// Accepts any chain (the verdict on it comes later, from `analyse`) but
/// checks the handshake signatures, so the chain really belongs to the peer.
#[derive(Debug)]
struct Recorder {
    provider: Arc<CryptoProvider>,
    chain: Mutex<Vec<Vec<u8>>>,
    key: KeyFilter,
}

/// Which certificate to ask a multi-certificate server for: the signature
/// schemes offered decide which one it serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFilter {
    Any,
    Rsa,
    Ecdsa,
}

impl KeyFilter {
    fn allows(self, scheme: SignatureScheme) -> bool {
        let name = format!("{scheme:?}");
        match self {
            KeyFilter::Any => true,
            KeyFilter::Rsa => name.starts_with("RSA_"),
            KeyFilter::Ecdsa => name.starts_with("ECDSA_") || name.starts_with("ED"),
        }
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut chain) = self.chain.lock() {
            *chain = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.as_ref().to_vec())
                .collect();
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        let mut schemes = self.provider.signature_verification_algorithms.supported_schemes();
        schemes.retain(|s| self.key.allows(*s));
        schemes
    }
}

/// Trust anchors, loaded once per file for every target of a scan.
fn roots(ca_file: Option<&Path>) -> Result<Arc<RootCertStore>, Arc<RootsError>> {
    type Loaded = Vec<(Option<PathBuf>, Result<Arc<RootCertStore>, Arc<RootsError>>)>;
    static LOADED: Mutex<Loaded> = Mutex::new(Vec::new());
    let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, r)) = loaded.iter().find(|(p, _)| p.as_deref() == ca_file) {
        return r.clone();
    }
    let r = load_roots(ca_file).map(Arc::new).map_err(Arc::new);
    loaded.push((ca_file.map(Path::to_path_buf), r.clone()));
    r
}

/// Loads trust anchors: the PEM file given, or the system bundle.
fn load_roots(ca_file: Option<&Path>) -> Result<RootCertStore, RootsError> {
    use rustls::pki_types::pem::PemObject;
    let path = match ca_file {
        Some(p) => p.to_path_buf(),
        None => std::env::var_os("SSL_CERT_FILE")
            .map(Into::into)
            .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into()),
    };
    let read = |source| RootsError::Read {
        path: path.clone(),
        source,
    };
    let certs = CertificateDer::pem_file_iter(&path).map_err(read)?;
    let mut store = RootCertStore::empty();
    for cert in certs {
        let _ = store.add(cert.map_err(read)?);
    }
    if store.is_empty() {
        return Err(RootsError::Empty { path });
    }
    Ok(store)
}

/// Turns a served chain into the report.
pub fn analyse(
    chain: &[Vec<u8>],
    hostname: &str,
    ca_file: Option<&Path>,
    obtained_with: String,
) -> Result<CertificateReport, AnalyseError> {
    let leaf_der = chain.first().ok_or(AnalyseError::Empty)?.clone();
    let (_, x509) = X509Certificate::from_der(&leaf_der)?;
    let validity = x509.validity();
    let now = ASN1Time::now();
    let (key_type, key_bits, curve) = key(&x509);
    let subject_alt_names = sans(&x509);
    let self_signed = x509.subject().as_raw() == x509.issuer().as_raw();
    let cn = x509
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or("")
        .to_string();
    let snakeoil =
        self_signed && (!cn.contains('.') && !cn.is_empty() && cn != "localhost" || is_local_snakeoil(&leaf_der));

    let der = CertificateDer::from(leaf_der.as_slice());
    let intermediates: Vec<CertificateDer> = chain[1..].iter().map(|c| CertificateDer::from(c.as_slice())).collect();
    let (trusted, trust_error, hostname_match) = match ParsedCertificate::try_from(&der) {
        Ok(parsed) => {
            let trust = roots(ca_file).map_err(|e| e.to_string()).and_then(|roots| {
                rustls::client::verify_server_cert_signed_by_trust_anchor(
                    &parsed,
                    &roots,
                    &intermediates,
                    UnixTime::now(),
                    provider().signature_verification_algorithms.all,
                )
                .map_err(|e| e.to_string())
            });
            let name_ok = ServerName::try_from(hostname)
                .ok()
                .is_some_and(|n| rustls::client::verify_server_name(&parsed, &n).is_ok());
            (trust.is_ok(), trust.err(), name_ok)
        }
        Err(e) => (false, Some(e.to_string()), false),
    };

    Ok(CertificateReport {
        sha256: hex(&Sha256::digest(&leaf_der)),
        subject: x509.subject().to_string(),
        issuer: x509.issuer().to_string(),
        not_before: rfc3339(validity.not_before),
        not_after: rfc3339(validity.not_after),
        expired: validity.not_after < now,
        not_yet_valid: validity.not_before > now,
        lifespan_days: (validity.not_after.timestamp() - validity.not_before.timestamp()) / 86400,
        key_type,
        key_bits,
        curve,
        signature_algorithm: signature_name(&x509.signature_algorithm.algorithm.to_id_string()),
        subject_alt_names,
        chain_length: chain.len(),
        self_signed,
        snakeoil,
        trusted,
        trust_error,
        hostname: hostname.to_string(),
        hostname_match,
        obtained_with,
        leaf_der,
    })
}

fn key(x509: &X509Certificate) -> (String, Option<u32>, Option<String>) {
    let spki = x509.public_key();
    let oid = spki.algorithm.algorithm.to_id_string();
    match oid.as_str() {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => {
            let bits = match spki.parsed() {
                Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => Some(rsa.key_size() as u32),
                _ => None,
            };
            ("RSA".into(), bits, None)
        }
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| match o.to_id_string().as_str() {
                    "1.2.840.10045.3.1.7" => "secp256r1".to_string(),
                    "1.3.132.0.34" => "secp384r1".to_string(),
                    "1.3.132.0.35" => "secp521r1".to_string(),
                    other => other.to_string(),
                });
            let bits = match spki.parsed() {
                Ok(x509_parser::public_key::PublicKey::EC(ec)) => Some(ec.key_size() as u32),
                _ => None,
            };
            ("ECDSA".into(), bits, curve)
        }
        "1.3.101.112" => ("Ed25519".into(), Some(256), None),
        "1.3.101.113" => ("Ed448".into(), Some(456), None),
        "1.2.840.10040.4.1" => ("DSA".into(), None, None),
        _ => (oid, None, None),
    }
}

fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        other => return other.to_string(),
    }
    .to_string()
}

fn sans(x509: &X509Certificate) -> Vec<String> {
    let Ok(Some(ext)) = x509.subject_alternative_name() else {
        return Vec::new();
    };
    ext.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(format!("DNS:{d}")),
            GeneralName::IPAddress(ip) => match ip.len() {
                4 => Some(format!(
                    "IP:{}",
                    std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*ip).ok()?)
                )),
                16 => Some(format!(
                    "IP:{}",
                    std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*ip).ok()?)
                )),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn is_local_snakeoil(der: &[u8]) -> bool {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_file("/etc/ssl/certs/ssl-cert-snakeoil.pem").is_ok_and(|c| c.as_ref() == der)
}

fn rfc3339(t: ASN1Time) -> String {
    let d = t.to_datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
