//! The certificate chain an SMTP server serves after STARTTLS, as DANE and
//! MTA-STS checks need it whole (the probe's report keeps only the leaf).
//! The handshake accepts any chain on purpose: judging it is the caller's job.

use std::net::SocketAddr;
use std::time::Duration;

use crate::probe::cert::{fetch, KeyFilter};
use crate::probe::connector::Connector;
use crate::probe::{Proto, ScanOptions, Target, TlsStart};

/// Connects to `addr`, says EHLO and STARTTLS, sends `sni`, and returns the
/// served chain (leaf first, DER), through the probe's own dialogue and
/// certificate fetch.
pub fn smtp_chain(addr: SocketAddr, sni: &str, timeout: Duration) -> Result<Vec<Vec<u8>>, String> {
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
        Ok(Ok((chain, _))) if !chain.is_empty() => Ok(chain),
        Ok(Ok(_)) => Err(format!("{addr} served no certificate")),
        Ok(Err(e)) => Err(format!("TLS handshake with {addr}: {e}")),
        Err(e) => Err(format!("cannot reach {addr}: {e}")),
    }
}
