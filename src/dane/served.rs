//! The certificate chain an SMTP server serves after STARTTLS, as DANE and
//! MTA-STS checks need it whole (the probe's report keeps only the leaf).
//! The handshake accepts any chain on purpose: judging it is the caller's job.

use std::net::SocketAddr;
use std::time::Duration;

use crate::probe::cert::{fetch, FetchError, HandshakeError, KeyFilter};
use crate::probe::connector::{ConnectError, Connector};
use crate::probe::{Proto, ScanOptions, Target, TlsStart};

/// Why no chain came back from an MX.
#[derive(Debug, thiserror::Error)]
pub enum ServedError {
    #[error("{addr} served no certificate")]
    NoCertificate { addr: SocketAddr },
    #[error("TLS handshake with {addr}: {source}")]
    Handshake { addr: SocketAddr, source: HandshakeError },
    #[error("cannot reach {addr}: {source}")]
    Unreachable { addr: SocketAddr, source: ConnectError },
}

/// Connects to `addr`, says EHLO and STARTTLS, sends `sni`, and returns the
/// served chain (leaf first, DER), through the probe's own dialogue and
/// certificate fetch.
pub fn smtp_chain(addr: SocketAddr, sni: &str, timeout: Duration) -> Result<Vec<Vec<u8>>, ServedError> {
    let target = Target {
        host: addr.ip().to_string(),
        port: addr.port(),
        starttls: TlsStart::Starttls(Proto::Smtp),
    };
    let opts = ScanOptions {
        servername: Some(sni.to_string()),
        timeout,
        ..ScanOptions::default()
    };
    let connector = Connector::new(&target, &opts);
    match fetch(&connector, sni, KeyFilter::Any) {
        Ok((chain, _)) if !chain.is_empty() => Ok(chain),
        Ok(_) => Err(ServedError::NoCertificate { addr }),
        Err(FetchError::Handshake(source)) => Err(ServedError::Handshake { addr, source }),
        Err(FetchError::Connect(source)) => Err(ServedError::Unreachable { addr, source }),
    }
}
