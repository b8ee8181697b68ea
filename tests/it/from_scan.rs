//! `mailtls plan --from-scan FILE`: real testssl.sh and sslyze reports of a
//! stock Debian 12 Postfix (fixtures/scans, made by fixtures/scans/make-reports)
//! turned into the bundled profile that closes their findings, planned on
//! the same stock config, each setting with the findings it closes.
use crate::cmd;

use std::path::{Path, PathBuf};

use crate::cmd::{snapshot, Mailtls};
use crate::support::{self_signed, KeyKind};

fn stock_postfix() -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("etc");
    std::fs::create_dir(&dir).unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/debian-12");
    for f in ["main.cf", "master.cf"] {
        std::fs::copy(source.join(f), dir.join(f)).unwrap();
    }
    let (cert, key) = self_signed(root.path(), "server", KeyKind::Rsa2048);
    let main = std::fs::read_to_string(dir.join("main.cf"))
        .unwrap()
        .replace("/etc/ssl/certs/ssl-cert-snakeoil.pem", cert.to_str().unwrap())
        .replace("/etc/ssl/private/ssl-cert-snakeoil.key", key.to_str().unwrap());
    std::fs::write(dir.join("main.cf"), main).unwrap();
    (root, dir)
}

fn report(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scans").join(name)
}

fn plan_from(report: &Path) -> (cmd::Ran, serde_json::Value) {
    let (root, dir) = stock_postfix();
    let before = snapshot(&dir);
    let ran = Mailtls::new(&root.path().join("state"))
        .args(["--json", "plan", "--mta", "postfix", "--config"])
        .args([&dir])
        .arg_pair("--from-scan", report)
        .run();
    assert_eq!(snapshot(&dir), before, "plan writes nothing");
    let json = ran.json();
    (ran, json)
}

fn closes<'a>(json: &'a serde_json::Value, setting: &str) -> Vec<&'a str> {
    json["from_scan"]["closes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["setting"] == setting)
        .map(|c| {
            c["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|f| f.as_str())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_testssl_report_picks_the_profile_that_closes_its_findings() {
    let (ran, json) = plan_from(&report("testssl-postfix-debian-12.json"));
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert_eq!(json["from_scan"]["tool"], "testssl.sh");
    let profile = json["profile"].as_str().unwrap().to_string();
    let findings = json["from_scan"]["findings"].as_array().unwrap();
    let ids: Vec<&str> = findings.iter().filter_map(|f| f["id"].as_str()).collect();
    assert!(ids.contains(&"TLS1") && ids.contains(&"TLS1_1"), "{ids:?}");
    // The picked profile refuses TLS 1.0/1.1, and the protocol settings say they close them.
    let chosen = mailtls::profile::Profile::load(&profile).unwrap();
    assert!(!chosen.allows(mailtls::tls::Protocol::TlsV1_1), "{profile}");
    let protocols = closes(&json, "smtpd_tls_protocols");
    assert!(
        protocols.contains(&"TLS1") && protocols.contains(&"TLS1_1"),
        "{}",
        json["from_scan"]["closes"]
    );
    // Every finding about protocols or suites is closed by some planned setting.
    for f in findings {
        let id = f["id"].as_str().unwrap();
        if f["cause"] != "other" {
            assert!(
                json["from_scan"]["closes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["findings"].as_array().unwrap().iter().any(|x| x == id)),
                "{id} closed by no setting: {}",
                json["from_scan"]["closes"]
            );
        }
    }
    // The self-signed certificate is a finding no profile closes: said, not hidden.
    if findings.iter().any(|f| f["cause"] == "other") {
        assert!(ran.stderr.contains("no profile closes it"), "{}", ran.stderr);
    }
}

#[test]
fn an_sslyze_report_picks_the_profile_that_closes_its_findings() {
    let (ran, json) = plan_from(&report("sslyze-postfix-debian-12.json"));
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert_eq!(json["from_scan"]["tool"], "sslyze");
    let ids: Vec<&str> = json["from_scan"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(ids.contains(&"tls_1_0_cipher_suites"), "{ids:?}");
    assert!(ids.contains(&"cbc") && ids.contains(&"no-forward-secrecy"), "{ids:?}");
    assert!(closes(&json, "smtpd_tls_protocols").contains(&"tls_1_0_cipher_suites"));
    assert!(
        closes(&json, "tls_high_cipherlist").contains(&"cbc"),
        "{}",
        json["from_scan"]["closes"]
    );
}

#[test]
fn a_file_that_is_no_scanner_report_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("report.json");
    std::fs::write(&bogus, "{\"hello\": 1}").unwrap();
    let (ran, json) = plan_from(&bogus);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let error = json["error"].as_str().unwrap_or_default();
    assert!(error.contains("neither a testssl.sh JSON report"), "{json}");
    assert!(!error.contains('\n'), "{error}");
}
