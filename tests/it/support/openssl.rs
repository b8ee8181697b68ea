//! Ground truth: one `openssl s_client` handshake per question. On a server
//! linked against the same OpenSSL this is exact, and it shares no code with
//! the probe.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use mailtls::probe::TargetReport;
use mailtls::tls::{CipherSuite, Protocol};

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

/// (protocol, s_client flag) for the versions this OpenSSL can speak.
const VERSIONS: [(Protocol, &str); 4] = [
    (Protocol::TlsV1_0, "-tls1"),
    (Protocol::TlsV1_1, "-tls1_1"),
    (Protocol::TlsV1_2, "-tls1_2"),
    (Protocol::TlsV1_3, "-tls1_3"),
];

/// Every TLS 1.3 suite OpenSSL 3 implements.
const TLS13_ALL: &str =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256";

/// Every suite the local OpenSSL knows, as (code, OpenSSL name).
pub fn openssl_suites() -> Vec<(CipherSuite, String)> {
    let out = Command::new("openssl")
        // TLS 1.3: every suite OpenSSL has, not only its default three.
        .args([
            "ciphers",
            "-V",
            "-ciphersuites",
            TLS13_ALL,
            "ALL:COMPLEMENTOFALL:@SECLEVEL=0",
        ])
        .output()
        .expect("openssl ciphers");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let code = words.next()?; // 0xC0,0x2C
            let name = words.nth(1)?;
            let hex = code.replace("0x", "").replace(',', "");
            Some((CipherSuite(u16::from_str_radix(&hex, 16).ok()?), name.to_string()))
        })
        .collect()
}

/// What `openssl s_client` says the server accepts: per protocol, the set
/// of suites. Runs the handshakes on a few threads.
pub fn ground_truth(port: u16, starttls: &str) -> Vec<(Protocol, bool, BTreeSet<CipherSuite>)> {
    let suites = openssl_suites();
    VERSIONS
        .iter()
        .map(|&(p, flag)| {
            let accepted = openssl_accepts(port, starttls, flag, None);
            let mut set = BTreeSet::new();
            if accepted {
                let candidates: Vec<_> = suites
                    .iter()
                    .filter(|(s, _)| s.is_tls13() == (p == Protocol::TlsV1_3))
                    .collect();
                let found = std::sync::Mutex::new(BTreeSet::new());
                std::thread::scope(|s| {
                    for part in candidates.chunks(candidates.len().div_ceil(4).max(1)) {
                        let found = &found;
                        s.spawn(move || {
                            for (suite, name) in part {
                                if openssl_accepts(port, starttls, flag, Some(name)) {
                                    found.lock().unwrap().insert(*suite);
                                }
                            }
                        });
                    }
                });
                set = found.into_inner().unwrap();
            }
            (p, accepted, set)
        })
        .collect()
}

/// Asserts the probe's protocols and suites equal `truth` (from `ground_truth`).
pub fn assert_matches(report: &TargetReport, truth: &[(Protocol, bool, BTreeSet<CipherSuite>)]) {
    assert_eq!(report.error, None, "{}", report.render());
    for (p, accepted, suites) in truth {
        let got = &report.protocols[p];
        assert_eq!(
            got.accepted,
            *accepted,
            "{p} acceptance differs from openssl s_client\n{}",
            report.render()
        );
        let got: BTreeSet<CipherSuite> = got.cipher_suites.iter().copied().collect();
        let missing: Vec<_> = suites.difference(&got).map(|s| s.to_string()).collect();
        let extra: Vec<_> = got.difference(suites).map(|s| s.to_string()).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{}: {p}: probe misses {missing:?}, probe has extra {extra:?}\n{}",
            report.target,
            report.render()
        );
    }
}
