//! `mailtls impact` on real-world log lines (fixtures/logs, see SOURCES.md
//! there): a rotated and gzipped Postfix set, a journal export, Dovecot,
//! Sendmail, Exim and OpenSMTPD lines; the log found from a Postfix config's
//! `maillog_file` with its rotated copies; and hostile input: binary junk,
//! a truncated last line, and a 2 GiB line fed through a FIFO (never on disk).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cmd::Mailtls;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/logs").join(name)
}

fn impact(args: &[&str]) -> Value {
    let state = tempfile::tempdir().unwrap();
    let ran = Mailtls::new(state.path())
        .args(["--json", "impact"])
        .args(args)
        .status(0)
        .run();
    serde_json::from_str(&ran.stdout).unwrap_or_else(|e| panic!("{e}: {}", ran.stdout))
}

fn logs(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .flat_map(|n| ["--log".to_string(), fixture(n).display().to_string()])
        .collect()
}

fn peer<'a>(report: &'a Value, address: &str, listener: &str) -> &'a Value {
    report["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["address"] == address && p["listener"] == listener)
        .unwrap_or_else(|| panic!("no peer {address} {listener}: {report:#}"))
}

#[test]
fn postfix_rotated_and_gzipped_logs_add_up_per_peer() {
    let args = logs(&["postfix-mail.log", "postfix-mail.log.1", "postfix-mail.log.2.gz"]);
    let report = impact(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let kinds: Vec<&str> = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["text", "text", "gzip"]);
    // One client seen in two files: TLS 1.3 last week, an anonymous CBC suite (AECDH) before.
    let julie = peer(&report, "10.163.89.202", "smtp");
    assert_eq!(julie["name"], "julie.example.com");
    assert_eq!(julie["count"], 2);
    assert_eq!(julie["protocols"], serde_json::json!(["TLSv1.2", "TLSv1.3"]));
    assert_eq!(julie["verdict"], "at-risk");
    assert!(
        julie["first_seen"].as_str().unwrap().contains("-11-21T17:02:10"),
        "{julie}"
    );
    assert!(
        julie["last_seen"].as_str().unwrap().contains("-11-28T09:12:01"),
        "{julie}"
    );
    // Outbound: a TLS 1.0-only destination loses TLS; Gmail negotiated TLS 1.3.
    assert_eq!(
        peer(&report, "2001:1578:400:111::7", "outbound")["verdict"],
        "loses-tls"
    );
    assert_eq!(peer(&report, "74.125.128.27", "outbound")["verdict"], "ok");
    assert_eq!(peer(&report, "185.55.116.145", "smtp")["verdict"], "fails-today");
    assert_eq!(report["summary"]["loses_tls"], 1);
    assert_eq!(report["summary"]["peers"], 8);
}

#[test]
fn journal_export_reads_like_syslog() {
    let args = logs(&["postfix-journal.export"]);
    let report = impact(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let source = &report["sources"][0];
    assert_eq!(
        (
            source["kind"].as_str(),
            source["lines"].as_u64(),
            source["events"].as_u64()
        ),
        (Some("journal-export"), Some(3), Some(3))
    );
    let sys4 = peer(&report, "2001:1578:400:111::7", "outbound");
    assert_eq!(sys4["verdict"], "loses-tls");
    assert_eq!(sys4["first_seen"], "2025-11-21T17:05:31Z");
}

#[test]
fn the_log_postfix_names_is_found_with_its_rotated_copies() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("etc");
    let logs = dir.path().join("log");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::create_dir_all(&logs).unwrap();
    let stock = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/debian-12");
    for f in ["main.cf", "master.cf"] {
        std::fs::copy(stock.join(f), config.join(f)).unwrap();
    }
    for (from, to) in [
        ("postfix-mail.log", "mail.log"),
        ("postfix-mail.log.1", "mail.log.1"),
        ("postfix-mail.log.2.gz", "mail.log.2.gz"),
    ] {
        std::fs::copy(fixture(from), logs.join(to)).unwrap();
    }
    let status = std::process::Command::new("postconf")
        .arg("-c")
        .arg(&config)
        .arg("-e")
        .arg(format!("maillog_file={}", logs.join("mail.log").display()))
        .arg("smtpd_tls_loglevel=1")
        .status()
        .unwrap();
    assert!(status.success());
    let report = impact(&["--config", config.to_str().unwrap()]);
    let sources: Vec<&str> = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = ["mail.log", "mail.log.1", "mail.log.2.gz"]
        .iter()
        .map(|n| logs.join(n).display().to_string())
        .collect();
    assert_eq!(sources, expected);
    assert_eq!(report["summary"]["peers"], 8);
    // smtp_tls_loglevel is still 0 in the stock main.cf: outbound lines would be missing.
    let gaps = report["coverage"]["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["setting"], "smtp_tls_loglevel");
    // `--since` leaves out lines (and rotated files) older than the window.
    let recent = impact(&["--config", config.to_str().unwrap(), "--since", "1h"]);
    assert_eq!(recent["summary"]["peers"], 0);
}

#[test]
fn dovecot_sendmail_exim_and_opensmtpd_lines() {
    let report = impact(&["--mta", "dovecot", "--log", fixture("dovecot.log").to_str().unwrap()]);
    assert_eq!(peer(&report, "192.0.2.3", "imap")["verdict"], "ok");
    assert_eq!(
        peer(&report, "192.0.2.6", "imap")["verdict"],
        "ok",
        "DHE-RSA-AES256-GCM-SHA384 is in intermediate"
    );
    assert_eq!(peer(&report, "192.0.2.100", "managesieve")["verdict"], "ok");
    assert_eq!(peer(&report, "192.0.2.5", "imap")["verdict"], "fails-today");
    assert_eq!(peer(&report, "176.61.137.100", "pop3")["verdict"], "fails-today");

    let report = impact(&["--log", fixture("sendmail-maillog").to_str().unwrap()]);
    let old = peer(&report, "173.8.135.25", "smtp");
    assert_eq!(old["verdict"], "at-risk");
    assert!(
        old["reasons"][0].as_str().unwrap().contains("cannot tell which"),
        "{old}"
    );
    assert_eq!(
        peer(&report, "184.21.104.253", "smtp")["suites"],
        serde_json::json!(["TLS_RSA_WITH_RC4_128_MD5"])
    );
    assert_eq!(
        peer(&report, "gmail-smtp-in.l.google.com.", "outbound")["mta"],
        "sendmail"
    );

    let report = impact(&["--log", fixture("exim-mainlog").to_str().unwrap()]);
    assert_eq!(peer(&report, "127.0.0.2", "smtp")["verdict"], "loses-tls");
    assert_eq!(
        peer(&report, "127.0.0.3", "smtp")["suites"],
        serde_json::json!(["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"])
    );
    assert_eq!(
        peer(&report, "127.0.0.4", "smtp")["suites"],
        serde_json::json!(["TLS_AES_256_GCM_SHA384"])
    );

    let report = impact(&["--log", fixture("opensmtpd-smtpd.log").to_str().unwrap()]);
    assert_eq!(peer(&report, "127.0.0.2", "smtp")["verdict"], "fails-today");
    assert_eq!(peer(&report, "127.0.0.3", "smtp")["verdict"], "at-risk");
    assert_eq!(peer(&report, "127.0.0.4", "smtp")["verdict"], "ok");
}

const GOOD: &[u8] = b"Nov 28 09:12:01 mx postfix/smtpd[1]: Anonymous TLS connection established from unknown[192.0.2.9]: TLSv1 with cipher AES128-SHA (128/128 bits)\n";

#[test]
fn binary_junk_and_a_truncated_last_line_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.log");
    let mut data = GOOD.to_vec();
    data.extend((0..=255u8).cycle().take(100_000));
    data.extend_from_slice(b"\nNov 28 09:12:02 mx postfix/smtpd[1]: Anonymous TLS connection established from unknown[192.0.2.9]: \xff\xfeTLSv1 with cipher\n");
    data.extend_from_slice(GOOD);
    data.extend_from_slice(&GOOD[..60]);
    std::fs::write(&path, data).unwrap();
    let report = impact(&["--log", path.to_str().unwrap()]);
    let source = &report["sources"][0];
    assert_eq!(source["events"], 2, "{source}");
    assert!(source["undecodable_lines"].as_u64().unwrap() >= 1, "{source}");
    assert_eq!(source["error"], Value::Null);
    assert_eq!(peer(&report, "192.0.2.9", "smtp")["count"], 2);

    // A file that is not there, or a gzip file cut short: one clear line, exit 1, or the damage reported.
    let state = tempfile::tempdir().unwrap();
    let ran = Mailtls::new(state.path())
        .args(["impact", "--log", "/nonexistent/mail.log"])
        .status(1)
        .run();
    assert!(
        ran.stderr.contains("/nonexistent/mail.log") && ran.stderr.lines().count() == 1,
        "{}",
        ran.stderr
    );
    let gz = std::fs::read(fixture("postfix-mail.log.2.gz")).unwrap();
    let cut = dir.path().join("cut.log.gz");
    std::fs::write(&cut, &gz[..gz.len() - 12]).unwrap();
    let report = impact(&["--log", cut.to_str().unwrap()]);
    assert!(
        report["sources"][0]["error"]
            .as_str()
            .unwrap()
            .contains("damaged or truncated"),
        "{report:#}"
    );
}

/// A 2 GiB line without a newline, between two good lines, through a FIFO:
/// read in bounded memory (its peak RSS is sampled while it runs), skipped and counted.
#[test]
fn a_two_gigabyte_line_is_skipped_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("huge.log");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().write(true).open(writer_path).unwrap();
        let chunk = vec![b'x'; 1 << 20];
        let _ = f.write_all(GOOD);
        for _ in 0..2048 {
            if f.write_all(&chunk).is_err() {
                return;
            }
        }
        let _ = f.write_all(b"\n");
        let _ = f.write_all(GOOD);
    });
    let state = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mailtls"))
        .args([
            "--state-dir",
            state.path().to_str().unwrap(),
            "--json",
            "impact",
            "--log",
            fifo.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
            {
                peak_kib = peak_kib.max(kib);
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "still reading after 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    writer.join().unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let source = &report["sources"][0];
    assert_eq!(
        (
            source["lines"].as_u64(),
            source["overlong_lines"].as_u64(),
            source["events"].as_u64()
        ),
        (Some(3), Some(1), Some(2)),
        "{source}"
    );
    assert!(
        peak_kib > 0 && peak_kib < 64 * 1024,
        "peak RSS {peak_kib} KiB while reading a 2 GiB line"
    );
}
