//! Ground truth: one `openssl s_client` handshake per question. On a server
//! linked against the same OpenSSL this is exact, and it shares no code with
//! the probe.

use std::process::{Command, Stdio};

/// Whether a handshake with `openssl s_client` succeeds on 127.0.0.1:`port`.
///
/// `starttls` is "smtp", "imap", "pop3" or "none" (implicit TLS);
/// `protocol_flag` is an s_client flag such as "-tls1_2"; `cipher` limits the
/// offer to one suite by its OpenSSL name (a TLS 1.3 suite goes to
/// `-ciphersuites`). Without `cipher` every suite OpenSSL has is offered, at
/// security level 0 so that TLS 1.0/1.1 and weak suites are possible at all.
pub fn openssl_accepts(port: u16, starttls: &str, protocol_flag: &str, cipher: Option<&str>) -> bool {
    openssl_negotiates(port, starttls, protocol_flag, cipher, None).is_some()
}

/// Like `openssl_accepts`, and returns the negotiated suite's OpenSSL name.
/// `groups` limits the offered groups (`-groups`).
pub fn openssl_negotiates(
    port: u16,
    starttls: &str,
    protocol_flag: &str,
    cipher: Option<&str>,
    groups: Option<&str>,
) -> Option<String> {
    let mut cmd = Command::new("timeout");
    cmd.args(["10", "openssl", "s_client", "-brief"])
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .arg(protocol_flag);
    if starttls != "none" {
        cmd.args(["-starttls", starttls]);
    }
    let all = "ALL:COMPLEMENTOFALL:@SECLEVEL=0";
    match cipher {
        Some(c) if c.starts_with("TLS_") => {
            cmd.args(["-ciphersuites", c, "-cipher", all]);
        }
        Some(c) => {
            cmd.args(["-cipher", &format!("{c}:@SECLEVEL=0")]);
        }
        None => {
            cmd.args(["-cipher", all]);
        }
    }
    if let Some(g) = groups {
        cmd.args(["-groups", g]);
    }
    let out = cmd.stdin(Stdio::null()).output().expect("run openssl s_client");
    let text = String::from_utf8_lossy(&out.stderr);
    if !text.contains("CONNECTION ESTABLISHED") {
        return None;
    }
    text.lines()
        .find_map(|l| l.strip_prefix("Ciphersuite: "))
        .map(|s| s.trim().to_string())
}
