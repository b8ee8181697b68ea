//! `mailtls impact` on the logs of the two servers that log only through
//! syslog() to /dev/log: Sendmail (in its sandbox) and Cyrus IMAP 3.6. Each
//! runs in its own mount namespace whose /dev/log is a private socket read by
//! the test (`support::Syslog`), which writes the messages to a file as
//! rsyslog would. Real clients (Python's smtplib and imaplib) connect from
//! 127.0.0.2 with TLS 1.0, from 127.0.0.3 with TLS 1.2 and a CBC-only suite,
//! and from 127.0.0.4 with TLS 1.3, and from 127.0.0.5 offering only a suite
//! the server lacks (a failed handshake); the verdicts per peer are asserted
//! against the bundled intermediate profile, from the file the daemon's own
//! syslog lines ended up in.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::cmd::Mailtls;
use crate::support::{client, three_clients, Cyrus, Sendmail, Syslog};
use serde_json::Value;

/// Waits until the syslog holds `n` lines containing `needle` (messages arrive asynchronously).
fn wait_for_lines(syslog: &Syslog, needle: &str, n: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = syslog.text();
        if text.matches(needle).count() >= n || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn impact(state: &Path, mta: &str, log: &Path) -> Value {
    let ran = Mailtls::new(state)
        .args(["--json", "impact", "--mta", mta, "--log"])
        .args([log])
        .run()
        .code(0);
    serde_json::from_str(&ran.stdout).unwrap_or_else(|e| panic!("{e}: {}", ran.stdout))
}

/// The one peer at `address`: its verdict, protocols and listener.
fn peer<'a>(report: &'a Value, address: &str, log: &str) -> &'a Value {
    let found: Vec<&Value> = report["peers"]
        .as_array()
        .expect("peers")
        .iter()
        .filter(|p| p["address"] == address)
        .collect();
    assert_eq!(found.len(), 1, "one peer {address} in {report}\nfrom the log:\n{log}");
    found[0]
}

/// The four clients' verdicts: TLS 1.0 only loses TLS, a TLS 1.2 CBC suite is
/// at risk, TLS 1.3 is fine, and the failed handshake fails today.
fn assert_four_verdicts(report: &Value, listener: &str, log: &str) {
    for (address, verdict, protocol) in [
        ("127.0.0.2", "loses-tls", "TLSv1.0"),
        ("127.0.0.3", "at-risk", "TLSv1.2"),
        ("127.0.0.4", "ok", "TLSv1.3"),
    ] {
        let p = peer(report, address, log);
        assert_eq!(p["verdict"], verdict, "{p}\n{log}");
        assert_eq!(p["protocols"], serde_json::json!([protocol]), "{p}");
        assert_eq!(p["listener"], listener, "{p}");
        assert_eq!(p["count"], 1, "{p}");
    }
    let suites = &peer(report, "127.0.0.3", log)["suites"];
    assert_eq!(
        suites,
        &serde_json::json!(["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]),
        "{suites}"
    );
    let failed = peer(report, "127.0.0.5", log);
    assert_eq!(failed["verdict"], "fails-today", "{failed}\n{log}");
    assert_eq!(failed["failures"], 1, "{failed}");
}

#[test]
fn sendmail_syslog_gives_a_verdict_per_peer() {
    let syslog = Syslog::new();
    let sendmail = Sendmail::new("define(`confCIPHER_LIST', `DEFAULT:@SECLEVEL=0')dnl\n");
    sendmail.start_logging_to(&syslog);
    assert_eq!(
        three_clients("smtp", sendmail.port),
        [true, true, true],
        "{}",
        syslog.text()
    );
    // A client offering only a suite the server lacks: a failed handshake.
    assert!(!client(
        "smtp",
        sendmail.port,
        "127.0.0.5",
        "1.2",
        "NULL-SHA:@SECLEVEL=0"
    ));
    wait_for_lines(&syslog, "STARTTLS=server, error:", 1);
    let log = wait_for_lines(&syslog, "STARTTLS=server, relay=", 3);
    let report = impact(&sendmail.root.path().join("state"), "sendmail", &syslog.messages);
    assert_four_verdicts(&report, "smtp", &log);
}

#[test]
fn cyrus_syslog_gives_a_verdict_per_peer() {
    let syslog = Syslog::new();
    let cyrus = Cyrus::start_logging_to(
        "tls_ciphers: DEFAULT:@SECLEVEL=0\ntls_versions: tls1_0 tls1_1 tls1_2 tls1_3\n",
        &syslog,
    );
    assert_eq!(
        three_clients("imap", cyrus.imap_port),
        [true, true, true],
        "{}",
        syslog.text()
    );
    assert!(!client(
        "imap",
        cyrus.imap_port,
        "127.0.0.5",
        "1.2",
        "NULL-SHA:@SECLEVEL=0"
    ));
    wait_for_lines(&syslog, "negotiation failed: ", 1);
    let log = wait_for_lines(&syslog, "badlogin: ", 3);
    let report = impact(&cyrus.root.path().join("state"), "cyrus", &syslog.messages);
    assert_four_verdicts(&report, "imap", &log);
}

/// Real Cyrus lines from public sources and from Debian 12's 3.6 (fixtures/logs/SOURCES.md).
#[test]
fn cyrus_fixture_holds_each_handshake_until_its_peer_is_named() {
    let state = tempfile::tempdir().unwrap();
    let log = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/logs/cyrus-syslog");
    let text = std::fs::read_to_string(&log).unwrap();
    let report = impact(state.path(), "cyrus", &log);
    let peers = report["peers"].as_array().unwrap();
    // pop3d[1371] named no peer after its handshake; the 09:38 login had no handshake before it.
    assert_eq!(peers.len(), 3, "{report}");
    let old = peer(&report, "84.253.166.106", &text);
    assert_eq!(old["verdict"], "loses-tls", "{old}");
    assert_eq!(old["name"], "net84-253-166-106.mclink.it", "{old}");
    assert_eq!(old["count"], 1, "two badlogins, one handshake: {old}");
    assert_eq!(peer(&report, "127.0.0.3", &text)["verdict"], "at-risk");
    assert_eq!(peer(&report, "127.0.0.4", &text)["verdict"], "ok");
}
