//! MTA-STS (RFC 8461): the `_mta-sts.DOMAIN` TXT record, the policy fetched
//! over HTTPS from `mta-sts.DOMAIN/.well-known/mta-sts.txt`, whether an MX
//! host matches its `mx` patterns, and whether a certificate chain is one an
//! MTA-STS sender accepts (chains to a trusted root, names the MX).
//!
//! Trust is the system's roots plus `--ca-file`. Names are resolved through
//! the same `dns::Resolver` as everything else, so a test zone works.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::RootCertStore;
use serde::Serialize;

use crate::dns::Resolver;

const TIMEOUT: Duration = Duration::from_secs(10);
/// RFC 8461 3.3: senders should not accept policies over 64 KB.
const MAX_POLICY: usize = 64 * 1024;

/// A domain's MTA-STS state, as `probe --mx` reports it and the guard reads it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MtaSts {
    /// none, testing or enforce; null without a policy.
    pub mode: Option<String>,
    pub max_age: Option<u64>,
    pub mx: Vec<String>,
    /// For a probed MX: the policy is valid, the host matches a pattern and its
    /// certificate chains to a trusted root and names it. Null without a policy.
    pub valid: Option<bool>,
    pub error: Option<String>,
}

impl MtaSts {
    /// Whether the domain publishes a policy senders act on (testing or enforce).
    pub fn active(&self) -> bool {
        self.error.is_none() && matches!(self.mode.as_deref(), Some("testing" | "enforce"))
    }

    /// Why `chain`, served by `mx_host`, fails the policy; None when it passes.
    pub fn refuses(&self, mx_host: &str, chain: &[Vec<u8>], ca_file: Option<&Path>) -> Option<String> {
        if !self.mx.iter().any(|p| mx_matches(p, mx_host)) {
            return Some(format!(
                "{mx_host} matches none of the policy's mx patterns ({})",
                self.mx.join(", ")
            ));
        }
        chain_trusted(chain, mx_host, ca_file).err().map(|e| e.to_string())
    }
}

/// Looks the domain's policy up: the TXT record, then the HTTPS fetch.
/// `port` is 443 except in tests. Never fails: problems are in `error`.
pub fn lookup(resolver: &Resolver, domain: &str, port: u16, ca_file: Option<&Path>) -> MtaSts {
    let domain = domain.trim_end_matches('.');
    let (texts, answer) = resolver.txt(&format!("_mta-sts.{domain}"));
    if let Some(error) = answer.error {
        return MtaSts {
            error: Some(error),
            ..MtaSts::default()
        };
    }
    if !texts.iter().any(|t| t.trim_start().starts_with("v=STSv1")) {
        return MtaSts::default();
    }
    let host = format!("mta-sts.{domain}");
    match fetch(resolver, &host, port, ca_file).and_then(|body| parse_policy(&body)) {
        Ok(policy) => policy,
        Err(e) => MtaSts {
            error: Some(format!("MTA-STS policy of {domain}: {e}")),
            ..MtaSts::default()
        },
    }
}

/// Why a domain's policy could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy has no `version: STSv1` line")]
    NoVersion,
    #[error("the policy's mode is {0:?}, not none, testing or enforce")]
    Mode(Option<String>),
    #[error("the policy has no valid max_age")]
    MaxAge,
    #[error("{host} has no address{}", .why.as_ref().map(|e| format!(" ({e})")).unwrap_or_default())]
    NoAddress { host: String, why: Option<String> },
    #[error(transparent)]
    Tls(#[from] rustls::Error),
    #[error("{host}: {source}")]
    ServerName {
        host: String,
        source: rustls::pki_types::InvalidDnsNameError,
    },
    #[error("cannot connect to {host} ({addr}): {source}")]
    Connect {
        host: String,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Socket(std::io::Error),
    #[error("HTTPS to {host}: {source}")]
    Https { host: String, source: std::io::Error },
    #[error("the policy is larger than 64 KB")]
    TooLarge,
    #[error("not an HTTP response")]
    NotHttp,
    #[error("https://{host}/.well-known/mta-sts.txt answered {status:?}")]
    Status { host: String, status: String },
    #[error(transparent)]
    CaFile(#[from] CaFileError),
}

/// Why `--ca-file` gave no trust anchors.
#[derive(Debug, thiserror::Error)]
pub enum CaFileError {
    #[error("--ca-file {0}")]
    Read(#[from] crate::cert::PemFileError),
    #[error("--ca-file {}: {source}", path.display())]
    Pem {
        path: std::path::PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("--ca-file {}: {source}", path.display())]
    Add {
        path: std::path::PathBuf,
        source: rustls::Error,
    },
    #[error("--ca-file {}: no certificates", path.display())]
    Empty { path: std::path::PathBuf },
}

/// Why a served chain fails an MTA-STS sender's check.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("no certificate")]
    Empty,
    #[error("the certificate does not parse: {0}")]
    Parse(rustls::Error),
    #[error(transparent)]
    CaFile(#[from] CaFileError),
    #[error("the certificate does not chain to a trusted root ({0}); self-signed?")]
    Untrusted(rustls::Error),
    #[error("the certificate does not name {0}")]
    Name(String),
}

/// Parses a policy body (RFC 8461 3.2).
pub fn parse_policy(body: &str) -> Result<MtaSts, PolicyError> {
    let mut policy = MtaSts::default();
    let mut version = None;
    for line in body.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().to_string();
        match key.trim() {
            "version" => version = Some(value),
            "mode" => policy.mode = Some(value),
            "max_age" => policy.max_age = value.parse().ok(),
            "mx" => policy.mx.push(value.to_ascii_lowercase()),
            _ => {}
        }
    }
    if version.as_deref() != Some("STSv1") {
        return Err(PolicyError::NoVersion);
    }
    match policy.mode.as_deref() {
        Some("none" | "testing" | "enforce") => {}
        other => return Err(PolicyError::Mode(other.map(str::to_string))),
    }
    if policy.max_age.is_none() {
        return Err(PolicyError::MaxAge);
    }
    Ok(policy)
}

/// An `mx` pattern against a host: exact, or `*.` standing for one leftmost label.
pub fn mx_matches(pattern: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(rest) => host
            .split_once('.')
            .is_some_and(|(label, parent)| !label.is_empty() && parent == rest),
        None => host == pattern,
    }
}

/// Whether the leaf certificate names `host` (subjectAltName DNS names, `*.` wildcards).
pub fn names_host(leaf_der: &[u8], host: &str) -> bool {
    let der = CertificateDer::from(leaf_der);
    let Ok(parsed) = ParsedCertificate::try_from(&der) else {
        return false;
    };
    ServerName::try_from(host.trim_end_matches('.'))
        .ok()
        .is_some_and(|n| rustls::client::verify_server_name(&parsed, &n).is_ok())
}

/// Whether `chain` (leaf first, DER) chains to a trusted root (the system's
/// plus `ca_file`) and names `host`, as an MTA-STS sender checks it.
pub fn chain_trusted(chain: &[Vec<u8>], host: &str, ca_file: Option<&Path>) -> Result<(), TrustError> {
    let leaf = chain.first().ok_or(TrustError::Empty)?;
    let der = CertificateDer::from(leaf.as_slice());
    let parsed = ParsedCertificate::try_from(&der).map_err(TrustError::Parse)?;
    let intermediates: Vec<CertificateDer> = chain[1..].iter().map(|c| CertificateDer::from(c.as_slice())).collect();
    let roots = roots(ca_file)?;
    rustls::client::verify_server_cert_signed_by_trust_anchor(
        &parsed,
        &roots,
        &intermediates,
        UnixTime::now(),
        provider().signature_verification_algorithms.all,
    )
    .map_err(TrustError::Untrusted)?;
    if !names_host(leaf, host) {
        return Err(TrustError::Name(host.to_string()));
    }
    Ok(())
}

fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The system's roots (SSL_CERT_FILE, else Debian's bundle, when present) plus `ca_file`.
fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, CaFileError> {
    let mut store = RootCertStore::empty();
    let system = std::env::var_os("SSL_CERT_FILE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into());
    if let Ok(certs) = CertificateDer::pem_file_iter(&system) {
        for cert in certs.flatten() {
            let _ = store.add(cert);
        }
    }
    if let Some(path) = ca_file {
        let bytes = crate::cert::read_pem_file(path)?;
        let certs = CertificateDer::pem_slice_iter(&bytes);
        let before = store.len();
        let path = path.to_path_buf();
        for cert in certs {
            let cert = cert.map_err(|source| CaFileError::Pem {
                path: path.clone(),
                source,
            })?;
            store.add(cert).map_err(|source| CaFileError::Add {
                path: path.clone(),
                source,
            })?;
        }
        if store.len() == before {
            return Err(CaFileError::Empty { path });
        }
    }
    Ok(store)
}

/// GET https://HOST:PORT/.well-known/mta-sts.txt, HOST resolved through `resolver`.
fn fetch(resolver: &Resolver, host: &str, port: u16, ca_file: Option<&Path>) -> Result<String, PolicyError> {
    let (addrs, errors) = resolver.addresses(host);
    let addr = addrs.first().ok_or_else(|| PolicyError::NoAddress {
        host: host.to_string(),
        why: errors.first().map(|e| e.to_string()),
    })?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots(ca_file)?)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string()).map_err(|source| PolicyError::ServerName {
        host: host.to_string(),
        source,
    })?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name)?;
    let addr = SocketAddr::new(*addr, port);
    let mut sock = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|source| PolicyError::Connect {
        host: host.to_string(),
        addr,
        source,
    })?;
    sock.set_read_timeout(Some(TIMEOUT)).map_err(PolicyError::Socket)?;
    let https = |source| PolicyError::Https {
        host: host.to_string(),
        source,
    };
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    // HTTP/1.0: the server closes after the body and never chunks it.
    let request = format!("GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: {host}\r\nUser-Agent: mailtls\r\n\r\n");
    tls.write_all(request.as_bytes()).map_err(https)?;
    let mut response = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                response.extend_from_slice(&buf[..n]);
                if response.len() > MAX_POLICY + 8192 {
                    return Err(PolicyError::TooLarge);
                }
            }
            // Many servers close without close_notify; the body is complete anyway.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() => break,
            Err(e) => return Err(https(e)),
        }
    }
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").ok_or(PolicyError::NotHttp)?;
    let status = head.lines().next().unwrap_or("");
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(PolicyError::Status {
            host: host.to_string(),
            status: status.to_string(),
        });
    }
    Ok(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mx_patterns_match_one_label_under_a_wildcard() {
        assert!(mx_matches("*.example.test", "mx1.example.test"));
        assert!(mx_matches("mx1.example.test", "MX1.example.test."));
        assert!(!mx_matches("*.example.test", "example.test"));
        assert!(!mx_matches("*.example.test", "a.b.example.test"));
        assert!(!mx_matches("mx2.example.test", "mx1.example.test"));
    }

    #[test]
    fn a_policy_needs_version_mode_and_max_age() {
        let p = parse_policy(
            "version: STSv1\r\nmode: enforce\r\nmx: *.example.test\r\nmx: mx.other.test\r\nmax_age: 86400\r\n",
        )
        .unwrap();
        assert_eq!(p.mode.as_deref(), Some("enforce"));
        assert_eq!(p.mx, ["*.example.test", "mx.other.test"]);
        assert_eq!(p.max_age, Some(86400));
        assert!(parse_policy("mode: enforce\nmax_age: 1\n").is_err());
        assert!(parse_policy("version: STSv1\nmode: strict\nmax_age: 1\n").is_err());
        assert!(parse_policy("version: STSv1\nmode: testing\n").is_err());
    }
}
