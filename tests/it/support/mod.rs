//! Test support shared by the integration tests: private Postfix and Dovecot
//! instances on loopback ports, throwaway certificates, and `openssl s_client`
//! as the ground truth for what a server accepts.
//!
//! Every daemon started here stops on drop, also when a test panics; each
//! instance lives in its own temporary folder and never touches the host's
//! own /etc/postfix or /etc/dovecot. Every test module reaches it as `crate::support`.

pub mod baselines;
mod cert;
mod cyrus;
pub mod dns;
mod dovecot;
mod exim;
mod opensmtpd;
mod openssl;
mod postfix;
pub mod scripted;
mod sendmail;
mod syslog;
mod terminal;
mod tls_client;

pub use cert::{self_signed, KeyKind};
pub use cyrus::{key_for_cyrus, Cyrus};
pub use dns::DnsSandbox;
pub use dovecot::Dovecot;
pub use exim::Exim;
pub use opensmtpd::Opensmtpd;
pub use openssl::{assert_matches, ground_truth, openssl_accepts, openssl_negotiates};
pub use postfix::Postfix;
pub use sendmail::{qualify_hostname, sendmail_bin, Sendmail};
pub use syslog::Syslog;
pub use terminal::Pane;
pub use tls_client::{client, three_clients};

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

/// A loopback TCP port that nothing listens on right now.
///
/// A temporary folder no world-writable folder leads to, for the keys
/// Sendmail (and mailtls's check of its key) refuses below one such as /tmp:
/// under /run (root's, mode 755) when it can be written, else under cargo's
/// target folder (which is below /tmp when the checkout is).
pub fn tempdir_for_keys() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("mailtls-test-")
        .tempdir_in("/run")
        .or_else(|_| tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")))
        .expect("temporary folder")
}

/// Ports come from a per-process sequence offset by the pid, so parallel
/// tests in one process and parallel test binaries rarely collide; each
/// candidate is checked by binding it.
pub fn free_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let start = (std::process::id() % 400) * 97;
    loop {
        let n = u32::from(NEXT.fetch_add(1, Ordering::Relaxed));
        let port = 20000 + ((start + n) % 40000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Waits until something accepts connections on the loopback `port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Waits until nothing accepts connections on the loopback `port` any more.
pub fn wait_for_port_closed(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_err() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A server that `scripts/test-deps-NAME` unpacks beside Postfix, under
/// /opt/mailtls-test/NAME (`MAILTLS_<NAME>_SANDBOX` overrides): its folder,
/// after running that script when `binary` (relative to it) is missing.
/// The tests cannot run without it, so this panics rather than skip.
pub fn sandbox(name: &str, binary: &str) -> PathBuf {
    let var = format!("MAILTLS_{}_SANDBOX", name.to_uppercase());
    let root = std::env::var_os(&var)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new("/opt/mailtls-test").join(name));
    if !root.join(binary).is_file() {
        run(&mut std::process::Command::new(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scripts/test-deps-{name}")),
        ));
    }
    assert!(
        root.join(binary).is_file(),
        "no {name} sandbox at {} (run scripts/test-deps-{name} as root)",
        root.display()
    );
    root
}

/// Runs a command to completion and panics with its output if it fails.
pub fn run(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
