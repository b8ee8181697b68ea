//! `mailtls probe --output nagios` against a private Postfix: the status
//! word, the exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) and the
//! performance data, for compliance, certificate expiry (the test
//! certificate from `support::self_signed` is valid 30 days, so 29 whole
//! days are left when probed) and a scan that fails.

use crate::cmd::Mailtls;
use crate::support::{free_port, Postfix};

fn nagios(pf: &Postfix, extra: &[&str], targets: &[String], code: i32) -> String {
    Mailtls::new(&pf.root.path().join("state"))
        .args(["probe", "--servername", "localhost", "--output", "nagios"])
        .arg_pair("--ca-file", &pf.cert)
        .args(extra)
        .args(targets)
        .status(code)
        .run()
        .stdout
}

/// The status line split at ` | `: the text, and the perfdata as (label, value) pairs.
fn status(out: &str) -> (&str, Vec<(String, String)>) {
    let first = out.lines().next().unwrap();
    let (text, perf) = first.split_once(" | ").unwrap_or_else(|| panic!("no perfdata: {out}"));
    let perf = perf
        .split(' ')
        .map(|p| {
            let (label, value) = p.split_once('=').unwrap_or_else(|| panic!("bad perfdata {p:?}"));
            (label.to_string(), value.to_string())
        })
        .collect();
    (text, perf)
}

fn value<'a>(perf: &'a [(String, String)], label: &str) -> &'a str {
    &perf
        .iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("{label} in {perf:?}"))
        .1
}

#[test]
fn compliance_and_certificate_days_set_the_state() {
    let pf = Postfix::new();
    pf.start();
    let target = format!("127.0.0.1:{}", pf.port);
    let targets = [target.clone()];

    // Stock Postfix takes TLS 1.0 and 1.1: not compliant with modern, CRITICAL.
    let out = nagios(
        &pf,
        &["--profile", "modern", "--warn-days", "20", "--crit-days", "10"],
        &targets,
        2,
    );
    let (text, perf) = status(&out);
    assert!(text.starts_with(&format!("MAILTLS CRITICAL - {target}: ")), "{out}");
    assert!(text.contains("not compliant with modern"), "{out}");
    assert_eq!(value(&perf, "compliant"), "0", "{out}");
    assert_eq!(value(&perf, "protocols"), "4", "{out}");
    assert_eq!(value(&perf, "days_left"), "29;20;10", "{out}");
    for label in ["findings_high", "findings_medium", "findings_low", "findings_info"] {
        value(&perf, label).parse::<u32>().unwrap();
    }
    assert!(value(&perf, "scan_time").ends_with('s'), "{out}");
    // ... unless the thresholds say otherwise.
    let out = nagios(
        &pf,
        &[
            "--profile",
            "modern",
            "--not-compliant",
            "warning",
            "--warn-severity",
            "none",
            "--crit-severity",
            "none",
        ],
        &targets,
        1,
    );
    assert!(out.starts_with("MAILTLS WARNING - "), "{out}");

    // TLS 1.3 only with modern's groups: compliant, and 29 days are more than 20: OK.
    pf.postconf_e(&[
        "smtpd_tls_protocols=>=TLSv1.3",
        "smtpd_tls_mandatory_protocols=>=TLSv1.3",
        "tls_eecdh_auto_curves=X25519 prime256v1 secp384r1",
    ]);
    pf.reload();
    let out = nagios(
        &pf,
        &["--profile", "modern", "--warn-days", "20", "--crit-days", "10"],
        &targets,
        0,
    );
    let (text, perf) = status(&out);
    assert!(
        text.starts_with(&format!(
            "MAILTLS OK - {target}: TLSv1.3; certificate valid 29 more days"
        )),
        "{out}"
    );
    assert!(text.contains("complies with modern"), "{out}");
    assert_eq!(value(&perf, "compliant"), "1");
    assert_eq!(value(&perf, "protocols"), "1");
    assert_eq!(value(&perf, "findings_high"), "0");
    assert_eq!(out.lines().count(), 1, "{out}");

    // The default thresholds (30/14): 29 days left is WARNING.
    let out = nagios(&pf, &["--profile", "modern"], &targets, 1);
    let (text, perf) = status(&out);
    assert!(text.starts_with(&format!("MAILTLS WARNING - {target}: ")), "{out}");
    assert!(text.contains("certificate expires in 29 days"), "{out}");
    assert_eq!(value(&perf, "days_left"), "29;30;14");
    // Under --crit-days: CRITICAL.
    let out = nagios(
        &pf,
        &["--profile", "modern", "--warn-days", "90", "--crit-days", "60"],
        &targets,
        2,
    );
    let (text, perf) = status(&out);
    assert!(text.starts_with(&format!("MAILTLS CRITICAL - {target}: ")), "{out}");
    assert_eq!(value(&perf, "days_left"), "29;90;60");

    // Several targets: the worst state wins, one line per target after the first.
    let closed = format!("127.0.0.1:{}", free_port());
    let out = nagios(
        &pf,
        &["--profile", "modern", "--warn-days", "20", "--crit-days", "10"],
        &[target.clone(), closed.clone()],
        3,
    );
    let (text, perf) = status(&out);
    assert_eq!(text, "MAILTLS UNKNOWN - 2 targets: 1 unknown, 1 ok", "{out}");
    assert_eq!(value(&perf, &format!("'{target}_days_left'")), "29;20;10", "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[1].starts_with(&format!("OK - {target}: ")), "{out}");
    assert!(
        lines[2].starts_with(&format!("UNKNOWN - {closed}: scan failed: ")),
        "{out}"
    );
}

#[test]
fn a_port_nothing_listens_on_is_unknown() {
    let state = tempfile::tempdir().unwrap();
    let closed = format!("127.0.0.1:{}", free_port());
    let out = Mailtls::new(state.path())
        .args(["probe", "--output", "nagios", "--timeout", "3", &closed])
        .status(3)
        .run()
        .stdout;
    assert!(
        out.starts_with(&format!("MAILTLS UNKNOWN - {closed}: scan failed: ")),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(!out.contains(" | "), "no perfdata without a scan: {out}");
}
