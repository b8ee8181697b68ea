//! The STARTTLS scanner: which protocol versions, cipher suites and groups a
//! mail server accepts, whether it imposes its cipher order, and what
//! certificate it serves; then findings, and compliance against a profile.
//!
//! Layout: `dialogue` speaks SMTP/IMAP/POP3 up to STARTTLS; `codec` and
//! `enums` are the wire layer (a `Reader` with typed errors, newtype wire
//! enums); `hello`, `answer` and `sslv2` are the hand-built wire messages
//! (any version, any suite, SSLv2 included); `connector` paces connections per target (421
//! back-off); `enumerate` finds suites and groups by elimination; `rsa_kx`
//! proves RSA key exchange completes where a ServerHello is no proof; `cert`
//! does one real rustls handshake for the chain; `report`, `findings` and
//! `judge` turn results into verdicts. `mailtls probe` itself lives in
//! `commands::probe`: the probe knows nothing of commands or report formats.
//! The probe never changes anything on the server.

pub mod answer;
pub mod cert;
mod codec;
pub(crate) mod connector;
mod deadline;
pub mod dialogue;
mod enumerate;
pub mod enums;
mod findings;
/// Only in fuzz builds (cargo-fuzz passes `--cfg fuzzing`) and unit tests.
#[cfg(any(fuzzing, test))]
#[doc(hidden)]
pub mod fuzzing;
pub mod hello;
mod judge;
mod report;
mod rsa_kx;
mod scan;
pub mod sslv2;
mod target;
pub mod wire;

use std::time::Duration;

pub use cert::CertificateReport;
pub use judge::{apply_profile, judge};
pub use report::{Finding, ProtocolReport, Severity, Summary, TargetReport};
pub use scan::scan;
pub use target::{parse_target, TargetError};

pub use crate::vocabulary::{Proto, TlsStart};

/// One server to scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub starttls: TlsStart,
}

impl Target {
    /// `host:port`, with brackets around an IPv6 address.
    pub fn display(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// How to scan.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// Name for SNI and the certificate's hostname check (default: the target's host).
    pub servername: Option<String>,
    /// The name sent with EHLO.
    pub ehlo: String,
    /// Deadline for each connection: connect, dialogue and handshake together.
    pub timeout: Duration,
    /// Trust anchors instead of the system's roots.
    pub ca_file: Option<std::path::PathBuf>,
    /// Connections open at once to one target.
    pub connections_per_target: usize,
    /// Suites per ClientHello: some servers choke on hellos with 128 or more.
    pub suites_per_hello: usize,
    /// How often a 4xx "busy" answer (SMTP 421) is retried, with growing pauses.
    pub busy_retries: u32,
    /// The first pause after a busy answer; it doubles on each retry.
    pub busy_pause: Duration,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            servername: None,
            ehlo: default_ehlo(),
            timeout: Duration::from_secs(10),
            ca_file: None,
            connections_per_target: 8,
            suites_per_hello: 64,
            busy_retries: 4,
            busy_pause: Duration::from_secs(1),
        }
    }
}

/// This machine's name, which is what an MTA would say in EHLO.
fn default_ehlo() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "mailtls.localdomain".into())
}
