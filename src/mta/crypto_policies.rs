//! RHEL, Rocky, Alma and Fedora's system-wide crypto policies
//! (`update-crypto-policies`): OpenSSL's defaults come from
//! `/etc/crypto-policies/back-ends/opensslcnf.config`, which Postfix and
//! Dovecot inherit unless configured otherwise. This module reads what the
//! policy enforces so a plan can say it; it writes nothing.

use std::path::Path;

/// What the active policy enforces, for a plan's warnings; `None` when the
/// host has no crypto-policies. `root` is `/` except in tests.
pub fn describe(root: &Path) -> Option<String> {
    let dir = root.join("etc/crypto-policies");
    let policy = std::fs::read_to_string(dir.join("config")).ok()?;
    let policy = policy
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("DEFAULT")
        .to_string();
    let backend = dir.join("back-ends/opensslcnf.config");
    let min = std::fs::read_to_string(&backend).ok().and_then(|text| {
        text.lines().find_map(|l| {
            let (key, value) = l.split_once('=')?;
            (key.trim() == "MinProtocol").then(|| value.trim().to_string())
        })
    });
    Some(match min {
        Some(min) => format!(
            "crypto-policies: the system policy {policy} already limits OpenSSL to {min} and up ({}); the settings here apply on top of it, for this server only (`update-crypto-policies --show` names it)",
            backend.display()
        ),
        None => format!(
            "crypto-policies: the system policy is {policy}; the settings here apply on top of it, for this server only"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_and_its_minimum_protocol_are_read() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(describe(root.path()), None, "no crypto-policies: nothing to say");
        let dir = root.path().join("etc/crypto-policies/back-ends");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            root.path().join("etc/crypto-policies/config"),
            "# comment\nDEFAULT:SHA1\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("opensslcnf.config"),
            "CipherString = @SECLEVEL=2:kEECDH:kRSA\nMinProtocol = TLSv1.2\nMaxProtocol = TLSv1.3\n",
        )
        .unwrap();
        let said = describe(root.path()).unwrap();
        assert!(
            said.contains("policy DEFAULT:SHA1 already limits OpenSSL to TLSv1.2 and up"),
            "{said}"
        );
    }
}
