//! `--output prometheus` and `--output junit` against a private Postfix:
//! the metrics and test cases say what `--json` and openssl say about the
//! same server, and the JUnit XML parses (Python's XML parser reads it).

use std::io::Write;
use std::process::{Command, Stdio};

use crate::cmd::Mailtls;
use crate::support::{openssl_accepts, Postfix};

/// The value of the one sample of `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    let found: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?} in:\n{text}");
    found[0]
}

/// (tests, failures, errors) of a JUnit document, as Python's XML parser reads it.
fn junit_counts(xml: &str) -> (usize, usize, usize) {
    let mut python = Command::new("python3")
        .args([
            "-c",
            "import sys, xml.etree.ElementTree as E; r = E.fromstring(sys.stdin.read()); \
             print(len(r.findall('.//testcase')), len(r.findall('.//failure')), len(r.findall('.//error')))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    python.stdin.take().unwrap().write_all(xml.as_bytes()).unwrap();
    let out = python.wait_with_output().unwrap();
    assert!(out.status.success(), "the XML does not parse:\n{xml}");
    let counts: Vec<usize> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    (counts[0], counts[1], counts[2])
}

#[test]
fn probe_metrics_and_junit_match_the_json_report_and_openssl() {
    let pf = Postfix::shared();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let target = format!("127.0.0.1:{}", pf.port);
    let probe = |extra: &[&str]| {
        Mailtls::new(&state)
            .args(["probe", "--profile", "intermediate"])
            .args(extra)
            .args([&target])
            .status(3)
            .run()
    };
    let json = probe(&["--json"]).json();
    let report = &json["targets"][0];

    let metrics = probe(&["--output", "prometheus"]).stdout;
    let labels = format!("target=\"{target}\"");
    for (name, flag) in [("TLSv1.0", "-tls1"), ("TLSv1.2", "-tls1_2"), ("TLSv1.3", "-tls1_3")] {
        let accepted = sample(
            &metrics,
            "mailtls_protocol_accepted",
            &[&labels, &format!("protocol=\"{name}\"")],
        );
        assert_eq!(
            accepted == 1.0,
            openssl_accepts(pf.port, "smtp", flag, None),
            "{name}:\n{metrics}"
        );
    }
    assert_eq!(
        sample(&metrics, "mailtls_compliant", &[&labels, "profile=\"intermediate\""]),
        0.0
    );
    assert_eq!(sample(&metrics, "mailtls_scan_success", &[&labels]), 1.0);
    let not_after = time::OffsetDateTime::parse(
        report["certificate"]["not_after"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(
        sample(&metrics, "mailtls_certificate_expiry_timestamp_seconds", &[&labels]),
        not_after.unix_timestamp() as f64
    );
    let suites: usize = report["protocols"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p["cipher_suites"].as_array().unwrap().len())
        .sum();
    let by_tier: f64 = [
        "forward_secret_aead",
        "forward_secret_cbc",
        "no_forward_secrecy",
        "weak",
    ]
    .iter()
    .map(|t| sample(&metrics, "mailtls_cipher_suites", &[&labels, &format!("tier=\"{t}\"")]))
    .sum();
    assert_eq!(by_tier, suites as f64, "{metrics}");
    let high = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "high")
        .count();
    assert_eq!(
        sample(&metrics, "mailtls_findings", &[&labels, "severity=\"high\""]),
        high as f64
    );

    let junit = probe(&["--output", "junit"]).stdout;
    let findings = report["findings"].as_array().unwrap();
    let failing = findings
        .iter()
        .filter(|f| {
            ["medium", "high"].contains(&f["severity"].as_str().unwrap())
                || f["id"].as_str().unwrap().starts_with("profile-")
        })
        .count();
    assert!(failing > 0, "the stock config does not comply: {report}");
    assert_eq!(junit_counts(&junit), (findings.len(), failing, 0), "{junit}");
}

#[test]
fn plan_junit_has_one_failing_case_per_pending_change() {
    let pf = Postfix::new();
    let state = pf.root.path().join("state");
    let plan = |extra: &[&str]| {
        Mailtls::new(&state)
            .args(["plan", "--mta", "postfix", "--config"])
            .args([&pf.config_dir])
            .args(extra)
            .status(2)
            .run()
    };
    let settings = plan(&["--json"]).json()["settings"].as_array().unwrap().len();
    assert!(settings > 0);
    let junit = plan(&["--output", "junit"]).stdout;
    assert_eq!(junit_counts(&junit), (settings, settings, 0), "{junit}");
    assert!(junit.contains("smtpd_tls_protocols: (default "), "{junit}");

    let refused = Mailtls::new(&state)
        .args(["plan", "--output", "prometheus", "--config"])
        .args([&pf.config_dir])
        .status(1)
        .run();
    assert!(
        refused.stderr.contains("--output prometheus is for `mailtls probe`"),
        "{}",
        refused.stderr
    );
}
