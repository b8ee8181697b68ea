//! Certificate and key checks done before any config is written: the files
//! exist, are regular files of at most `MAX_PEM_BYTES` and parse, the key
//! matches the certificate, the certificate is valid now, and the key is
//! owned by root and readable by no one else but the groups its server reads
//! it with (`KeyReaders`). Softer problems (self-signed, snakeoil, expiring
//! soon, weak key) come back as warnings.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::{PemObject, SectionKind};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::error::{Error, Result};
use crate::profile::CertificatePolicy;

/// What a checked certificate is, for reports and the backup manifest.
#[derive(Clone, Debug, Serialize)]
pub struct CertInfo {
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    /// SHA-256 of the leaf certificate's DER, lowercase hex: what the probe compares.
    pub sha256: String,
    pub key: String,
    pub self_signed: bool,
    pub warnings: Vec<String>,
}

/// The largest certificate or key file read (1 MiB): a chain is a few
/// kilobytes, a CA bundle a few hundred.
pub const MAX_PEM_BYTES: u64 = 1 << 20;

/// The groups that may read a server's private key besides root (mode 0640
/// with one of these groups); any other group, or everyone, may not.
/// Each server's backend says which: Postfix, Dovecot and OpenSMTPD read the
/// key as root before they drop privileges, so only Debian's `ssl-cert`
/// (the group made for keys, the snakeoil key's) is accepted; Exim reads it
/// as its own user, so `Debian-exim` (Debian's documented `root:Debian-exim
/// 0640`) and `exim` are too; Sendmail's Debian keys are `root:smmsp 0640`;
/// Cyrus reads it as `cyrus`, whose Debian group is `mail`.
pub type KeyReaders = &'static [&'static str];

/// The union of every server's `KeyReaders`, for a check made before the
/// server is known (the guided flow's certificate choice; the plan then
/// checks again for each server).
pub const ANY_SERVER_KEY_READERS: KeyReaders = &["ssl-cert", "Debian-exim", "exim", "smmsp", "mail"];

/// The PEM sections of a file: certificates and private keys.
struct PemFile {
    certs: Vec<CertificateDer<'static>>,
    keys: Vec<PrivateKeyDer<'static>>,
}

fn read_pem(path: &Path, what: &str) -> Result<PemFile> {
    let fail = |message: String| Error::Certificate {
        path: path.to_path_buf(),
        message,
    };
    let bytes = read_capped(path).map_err(|e| fail(format!("cannot read the {what}: {e}")))?;
    let mut file = PemFile {
        certs: Vec::new(),
        keys: Vec::new(),
    };
    for section in <(SectionKind, Vec<u8>) as PemObject>::pem_slice_iter(&bytes) {
        let (kind, der) = section.map_err(|e| fail(format!("the {what} is not valid PEM: {e}")))?;
        match kind {
            SectionKind::Certificate => file.certs.push(CertificateDer::from(der)),
            SectionKind::PrivateKey => file.keys.push(PrivateKeyDer::Pkcs8(der.into())),
            SectionKind::RsaPrivateKey => file.keys.push(PrivateKeyDer::Pkcs1(der.into())),
            SectionKind::EcPrivateKey => file.keys.push(PrivateKeyDer::Sec1(der.into())),
            _ => {}
        }
    }
    Ok(file)
}

/// A regular file's bytes, at most `MAX_PEM_BYTES`. Opened without blocking
/// (a FIFO would wait for a writer) and refused unless it is a regular file,
/// so `/dev/zero` or `/dev/stdin` fail at once.
fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)?;
    let meta = file.metadata()?;
    let invalid = |message: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, message);
    if !meta.is_file() {
        return Err(invalid("it is not a regular file".into()));
    }
    if meta.len() > MAX_PEM_BYTES {
        return Err(invalid(format!(
            "{} bytes is more than the {MAX_PEM_BYTES} a PEM file may have",
            meta.len()
        )));
    }
    let mut bytes = Vec::new();
    file.take(MAX_PEM_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(invalid(format!(
            "more than the {MAX_PEM_BYTES} bytes a PEM file may have"
        )));
    }
    Ok(bytes)
}

/// Why the key's owner or mode lets the wrong people at it.
#[derive(Debug, thiserror::Error)]
enum KeyAccess {
    #[error("cannot stat the key: {0}")]
    Stat(std::io::Error),
    #[error("the private key is {what} by everyone (mode {mode:o}); run `chmod o-rwx {shown}`")]
    World {
        what: &'static str,
        mode: u32,
        shown: String,
    },
    #[error("the private key is owned by {owner}, not root: that user could replace it; run `chown root {shown}`")]
    Owner { owner: String, shown: String },
    #[error("the private key is writable by its group (mode {mode:o}); run `chmod g-w {shown}`")]
    GroupWritable { mode: u32, shown: String },
    #[error("the private key is readable by group {group} (mode {mode:o}){allowed}; run `chmod g-rwx {shown}`")]
    GroupReadable {
        group: String,
        mode: u32,
        allowed: String,
        shown: String,
    },
}

/// Who may read and replace the key: its owner must be root (or the user
/// mailtls runs as, for a plan made without root), it must not be readable
/// by everyone, and its group may read it only when `readers` names it.
fn check_key_access(key_path: &Path, readers: KeyReaders) -> std::result::Result<(), KeyAccess> {
    let meta = std::fs::metadata(key_path).map_err(KeyAccess::Stat)?;
    let mode = meta.mode() & 0o777;
    let shown = key_path.display().to_string();
    for (bit, what) in [(0o004, "readable"), (0o002, "writable")] {
        if mode & bit != 0 {
            return Err(KeyAccess::World { what, mode, shown });
        }
    }
    let uid = meta.uid();
    if uid != 0 && uid != nix::unistd::geteuid().as_raw() {
        let owner = nix::unistd::User::from_uid(uid.into())
            .ok()
            .flatten()
            .map_or(format!("uid {uid}"), |u| u.name);
        return Err(KeyAccess::Owner { owner, shown });
    }
    if mode & 0o020 != 0 {
        return Err(KeyAccess::GroupWritable { mode, shown });
    }
    if mode & 0o040 != 0 {
        let group = nix::unistd::Group::from_gid(meta.gid().into())
            .ok()
            .flatten()
            .map_or(format!("gid {}", meta.gid()), |g| g.name);
        if !readers.contains(&group.as_str()) {
            let allowed = if readers.is_empty() {
                String::new()
            } else {
                format!(" (this server accepts only group {})", readers.join(" or "))
            };
            return Err(KeyAccess::GroupReadable {
                group,
                mode,
                allowed,
                shown,
            });
        }
    }
    Ok(())
}

/// Checks a certificate file (leaf first, then its chain) and its key file,
/// which may be the same file; `readers` are the groups the server may read
/// its key with. `now` is passed in so tests can move time.
pub fn check_pair(
    cert_path: &Path,
    key_path: &Path,
    policy: &CertificatePolicy,
    readers: KeyReaders,
    now: OffsetDateTime,
) -> Result<CertInfo> {
    let cert_fail = |message: String| Error::Certificate {
        path: cert_path.to_path_buf(),
        message,
    };
    let certs = read_pem(cert_path, "certificate")?.certs;
    let Some(leaf) = certs.first() else {
        return Err(cert_fail("no CERTIFICATE block found in the file".into()));
    };
    let key_fail = |message: String| Error::Certificate {
        path: key_path.to_path_buf(),
        message,
    };
    let mut keys = read_pem(key_path, "key")?.keys;
    if keys.len() != 1 {
        return Err(key_fail(format!(
            "expected one PRIVATE KEY block, found {}",
            keys.len()
        )));
    }
    let key = keys.remove(0);

    check_key_access(key_path, readers).map_err(|e| key_fail(e.to_string()))?;

    let signing_key = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| key_fail(format!("unsupported or corrupt private key: {e}")))?;
    CertifiedKey::new(certs.clone(), Arc::clone(&signing_key))
        .keys_match()
        .map_err(|_| {
            key_fail(format!(
                "this key does not match the certificate {}",
                cert_path.display()
            ))
        })?;

    let (_, x509) =
        X509Certificate::from_der(leaf).map_err(|e| cert_fail(format!("the certificate does not parse: {e}")))?;
    let not_before = x509.validity().not_before.to_datetime();
    let not_after = x509.validity().not_after.to_datetime();
    if now > not_after {
        return Err(cert_fail(format!("the certificate expired on {}", rfc3339(not_after))));
    }
    if now < not_before {
        return Err(cert_fail(format!(
            "the certificate is not valid before {}",
            rfc3339(not_before)
        )));
    }

    let self_signed = x509.subject() == x509.issuer() && x509.verify_signature(None).is_ok();
    let (key_desc, rsa_bits) = describe_key(&x509);
    let mut warnings = Vec::new();
    if self_signed {
        warnings.push("the certificate is self-signed: peers that verify certificates will not trust it".to_string());
    }
    let path_text = format!("{} {}", cert_path.display(), key_path.display());
    if path_text.contains("snakeoil") {
        warnings.push("this is the distribution's snakeoil certificate, made at install time: replace it with a real one (--cert/--key)".to_string());
    }
    let days_left = (not_after - now).whole_days();
    if days_left < 30 {
        warnings.push(format!(
            "the certificate expires in {days_left} days ({})",
            rfc3339(not_after)
        ));
    }
    let lifespan = (not_after - not_before).whole_days();
    if lifespan > i64::from(policy.max_lifespan_days) {
        warnings.push(format!(
            "the certificate's lifespan is {lifespan} days; the profile recommends at most {}",
            policy.max_lifespan_days
        ));
    }
    if let Some(bits) = rsa_bits.filter(|b| *b < policy.rsa_min_bits) {
        warnings.push(format!(
            "the RSA key has {bits} bits; the profile asks for at least {}",
            policy.rsa_min_bits
        ));
    }

    Ok(CertInfo {
        cert_path: cert_path.to_path_buf(),
        key_path: key_path.to_path_buf(),
        subject: x509.subject().to_string(),
        issuer: x509.issuer().to_string(),
        not_before: rfc3339(not_before),
        not_after: rfc3339(not_after),
        sha256: hex(&Sha256::digest(leaf.as_ref())),
        key: key_desc,
        self_signed,
        warnings,
    })
}

fn describe_key(x509: &X509Certificate<'_>) -> (String, Option<u32>) {
    match x509.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let bits = rsa.key_size() as u32;
            (format!("RSA {bits}"), Some(bits))
        }
        Ok(PublicKey::EC(point)) => (format!("EC {}", point.key_size()), None),
        Ok(PublicKey::DSA(_)) => ("DSA".to_string(), None),
        Ok(PublicKey::GostR3410(_)) => ("GOST R 34.10-94".to_string(), None),
        Ok(PublicKey::GostR3410_2012(_)) => ("GOST R 34.10-2012".to_string(), None),
        Ok(PublicKey::Unknown(_)) => ("unknown".to_string(), None),
        Err(_) => ("unknown".to_string(), None),
    }
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a PEM file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PemFileError {
    #[error("{}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a regular file of at most 1 MiB", path.display())]
    NotRegular { path: std::path::PathBuf },
}

/// A PEM file's bytes: a regular file of at most 1 MiB (never /dev/zero or a FIFO).
pub fn read_pem_file(path: &std::path::Path) -> Result<Vec<u8>, PemFileError> {
    let io = |source| PemFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() || meta.len() > 1 << 20 {
        return Err(PemFileError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    std::fs::read(path).map_err(io)
}
