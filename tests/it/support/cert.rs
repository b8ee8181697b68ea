//! Throwaway self-signed certificates made with `openssl req`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The key type of a test certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Rsa2048,
    EcdsaP256,
}

/// Makes `DIR/NAME.pem` and `DIR/NAME.key` (mode 0o600): a self-signed
/// certificate for CN=localhost with SANs localhost and 127.0.0.1, valid 30
/// days. Returns (cert, key).
pub fn self_signed(dir: &Path, name: &str, kind: KeyKind) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let mut cmd = Command::new("openssl");
    cmd.args(["req", "-x509", "-nodes", "-days", "30", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]);
    match kind {
        KeyKind::Rsa2048 => cmd.args(["-newkey", "rsa:2048"]),
        KeyKind::EcdsaP256 => cmd.args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]),
    };
    cmd.arg("-keyout").arg(&key).arg("-out").arg(&cert);
    super::run(&mut cmd);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod 0600 the key");
    (cert, key)
}
