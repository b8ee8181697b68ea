//! `mailtls tlsa`: the TLSA record to publish for a certificate or key,
//! "3 1 1" (DANE-EE, the key's SubjectPublicKeyInfo, SHA-256), the record
//! RFC 7672 recommends since it survives renewals with the same key.

use std::path::Path;

use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::cli::TlsaArgs;
use crate::dane::Tlsa;
use crate::error::{exit, Error, Result};
use crate::output::Output;

pub(crate) fn run(args: &TlsaArgs, out: &Output) -> Result<u8> {
    let spki = match (&args.cert, &args.key) {
        (Some(cert), _) => cert_spki(cert)?,
        (None, Some(key)) => key_spki(key)?,
        (None, None) => return Err(Error::Usage("mailtls tlsa: give --cert PEM or --key PEM".into())),
    };
    let record = Tlsa {
        usage: 3,
        selector: 1,
        matching: 1,
        data: Sha256::digest(&spki).to_vec(),
    };
    let name = args
        .host
        .as_ref()
        .map(|h| format!("_{}._tcp.{}.", args.port, h.trim_end_matches('.')));
    match &name {
        Some(name) => out.say(&format!("{name} IN TLSA {record}")),
        None => out.say(&record.to_string()),
    }
    out.result(&serde_json::json!({"name": name, "records": [record.to_string()]}));
    Ok(exit::OK)
}

fn cert_spki(path: &Path) -> Result<Vec<u8>> {
    let bad = |message: String| Error::Certificate {
        path: path.to_path_buf(),
        message,
    };
    let bytes = crate::cert::read_pem_file(path).map_err(|e| bad(e.to_string()))?;
    let cert = CertificateDer::pem_slice_iter(&bytes)
        .next()
        .ok_or_else(|| bad("no certificate in the file".into()))?
        .map_err(|e| bad(e.to_string()))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|e| bad(e.to_string()))?;
    Ok(parsed.tbs_certificate.subject_pki.raw.to_vec())
}

fn key_spki(path: &Path) -> Result<Vec<u8>> {
    let bad = |message: String| Error::Certificate {
        path: path.to_path_buf(),
        message,
    };
    let bytes = crate::cert::read_pem_file(path).map_err(|e| bad(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| bad(format!("not a PEM private key: {e}")))?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&key).map_err(|e| bad(e.to_string()))?;
    let spki = signer
        .public_key()
        .ok_or_else(|| bad("cannot derive the public key of this key type".into()))?;
    Ok(spki.as_ref().to_vec())
}
