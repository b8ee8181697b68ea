//! The certificate chain an SMTP server serves after STARTTLS, as DANE and
//! MTA-STS checks need it whole (the probe's report keeps only the leaf).
//! The handshake accepts any chain on purpose: judging it is the caller's job.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Connects to `addr`, says EHLO and STARTTLS, sends `sni`, and returns the
/// served chain (leaf first, DER).
pub fn smtp_chain(addr: SocketAddr, sni: &str, timeout: Duration) -> Result<Vec<Vec<u8>>, String> {
    let mut sock = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    sock.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    sock.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    {
        let mut reader = BufReader::new(sock.try_clone().map_err(|e| e.to_string())?);
        expect(&mut reader, "220", "banner")?;
        sock.write_all(b"EHLO mailtls.invalid\r\n").map_err(|e| e.to_string())?;
        let ehlo = expect(&mut reader, "250", "EHLO")?;
        if !ehlo
            .iter()
            .any(|l| l.get(4..).is_some_and(|k| k.trim().eq_ignore_ascii_case("STARTTLS")))
        {
            return Err(format!("{addr} does not offer STARTTLS"));
        }
        sock.write_all(b"STARTTLS\r\n").map_err(|e| e.to_string())?;
        expect(&mut reader, "220", "STARTTLS")?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyChain(provider)))
        .with_no_client_auth();
    let name = ServerName::try_from(sni.to_string()).map_err(|e| format!("{sni}: {e}"))?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock)
            .map_err(|e| format!("TLS handshake with {addr}: {e}"))?;
    }
    let chain: Vec<Vec<u8>> = conn
        .peer_certificates()
        .unwrap_or_default()
        .iter()
        .map(|c| c.as_ref().to_vec())
        .collect();
    if chain.is_empty() {
        return Err(format!("{addr} served no certificate"));
    }
    Ok(chain)
}

/// Reads one SMTP reply (multi-line included) and checks its code.
fn expect(reader: &mut impl BufRead, code: &str, what: &str) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).map_err(|e| format!("{what}: {e}"))?;
        if n == 0 || lines.len() > 100 {
            return Err(format!("{what}: the server closed the connection"));
        }
        let line = line.trim_end().to_string();
        let last = line.as_bytes().get(3) != Some(&b'-');
        lines.push(line);
        if last {
            break;
        }
    }
    if !lines.last().is_some_and(|l| l.starts_with(code)) {
        return Err(format!(
            "{what}: expected {code}, got {:?}",
            lines.last().unwrap_or(&String::new())
        ));
    }
    Ok(lines)
}

/// Accepts any chain, still checking the handshake signatures.
#[derive(Debug)]
struct AnyChain(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyChain {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
