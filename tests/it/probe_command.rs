//! `mailtls probe` as a command: targets from arguments and files, several
//! targets at once where one bad target never stops the others, exit codes,
//! and the JSON document's shape.

use std::io::Write;

use crate::support::scripted::{serve, smtp_until_starttls};
use crate::support::Postfix;
use mailtls::commands::probe::{exit_code, scan_all, ProbeArgs, StarttlsArg};
use mailtls::probe::{apply_profile, ScanOptions};

fn args(targets: &[String]) -> ProbeArgs {
    ProbeArgs {
        targets: targets.to_vec(),
        starttls: StarttlsArg::Auto,
        targets_in: None,
        servername: Some("localhost".into()),
        ehlo: Some("probe.test".into()),
        ca_file: None,
        profile: None,
        concurrency: 4,
        connections_per_target: 4,
        timeout: 3,
        mx: Default::default(),
        output: None,
        nagios: Default::default(),
    }
}

#[test]
fn targets_file_comments_and_errors_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("targets");
    let mut f = std::fs::File::create(&file).unwrap();
    writeln!(
        f,
        "# mail servers\n\nmx1.example.org\nmx2.example.org:465  # implicit\n127.0.0.1:143"
    )
    .unwrap();
    let mut a = args(&["mx0.example.org:587".into()]);
    a.targets_in = Some(file.clone());
    let r = a.resolve().unwrap();
    let shown: Vec<(String, &str)> = r.targets.iter().map(|t| (t.display(), t.starttls.name())).collect();
    assert_eq!(
        shown,
        [
            ("mx0.example.org:587".to_string(), "smtp"),
            ("mx1.example.org:25".to_string(), "smtp"),
            ("mx2.example.org:465".to_string(), "none"),
            ("127.0.0.1:143".to_string(), "imap"),
        ]
    );
    assert_eq!(r.opts.ehlo, "probe.test");
    std::fs::write(&file, "ok.example\nbad:port\n").unwrap();
    let err = a.resolve().err().unwrap().to_string();
    assert!(err.contains(":2:") && err.contains("not a port number"), "{err}");
    assert!(args(&[]).resolve().is_err());
}

#[test]
fn one_bad_target_never_stops_the_others_and_exit_codes_follow_the_verdicts() {
    let postfix = Postfix::new();
    postfix.start();
    let no_starttls = serve(|mut s, _| {
        smtp_until_starttls(&mut s, false);
    });
    let good = format!("127.0.0.1:{}", postfix.port);
    let bad = format!("127.0.0.1:{no_starttls}");
    let mut a = args(&[bad.clone(), good.clone()]);
    a.profile = Some("intermediate".into());
    let r = a.resolve().unwrap();
    let mut reports = scan_all(&r.targets, &r.opts, r.concurrency, &|_, _| {});
    for report in &mut reports {
        apply_profile(report, r.profile.as_ref().unwrap());
    }
    assert_eq!(reports[0].target, bad);
    assert_eq!(reports[0].error.as_deref(), Some("STARTTLS not supported"));
    assert_eq!(reports[1].target, good);
    assert_eq!(reports[1].error, None);
    assert_eq!(reports[1].compliant, Some(false), "stock Postfix accepts TLS 1.0");
    assert_eq!(exit_code(&reports), 1, "a target that could not be scanned wins");
    assert_eq!(exit_code(&reports[1..]), 3, "scanned but not compliant");

    // The JSON document: targets, protocols keyed by name, IANA suite names.
    let doc = serde_json::to_value(serde_json::json!({ "targets": reports })).unwrap();
    let t = &doc["targets"][1];
    assert_eq!(t["starttls"], "smtp");
    assert_eq!(t["starttls_offered"], true);
    assert!(t["error"].is_null());
    let protocols = t["protocols"].as_object().unwrap();
    let keys: Vec<&str> = protocols.keys().map(String::as_str).collect();
    for k in ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"] {
        assert!(keys.contains(&k), "{keys:?}");
    }
    assert_eq!(t["protocols"]["SSLv3"]["accepted"], false);
    let tls12 = t["protocols"]["TLSv1.2"]["cipher_suites"].as_array().unwrap();
    assert!(tls12.iter().any(|s| s == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
    assert!(t["certificate"]["sha256"].as_str().unwrap().len() == 64);
    assert!(t["certificate"].get("leaf_der").is_none());
    assert!(t["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "profile-protocol-accepted"));
    assert_eq!(doc["targets"][0]["starttls_offered"], false);

    // Hardened to the profile: compliant, exit 0.
    let list = "tls_high_cipherlist=ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384";
    // The profile's groups too: --profile judges them.
    postfix.postconf_e(&[
        "smtpd_tls_protocols=>=TLSv1.2",
        "smtpd_tls_ciphers=high",
        list,
        "tls_eecdh_auto_curves=X25519 prime256v1 secp384r1",
    ]);
    postfix.reload();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mut reports = scan_all(
        &r.targets[1..],
        &ScanOptions {
            servername: Some("localhost".into()),
            ..ScanOptions::default()
        },
        1,
        &|_, _| {},
    );
    apply_profile(&mut reports[0], r.profile.as_ref().unwrap());
    assert_eq!(reports[0].compliant, Some(true), "{}", reports[0].render());
    assert_eq!(exit_code(&reports), 0);
}

#[test]
fn a_fleet_scan_ends_with_one_summary_line_per_host() {
    let postfix = Postfix::shared();
    let no_starttls = serve(|mut s, _| {
        smtp_until_starttls(&mut s, false);
    });
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts.txt");
    let mut file = std::fs::File::create(&hosts).unwrap();
    writeln!(file, "# the fleet\n127.0.0.1:{}\n127.0.0.1:{no_starttls}", postfix.port).unwrap();
    let run = |json: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_mailtls"));
        c.args(["probe", "--timeout", "3", "--profile", "intermediate", "--targets-in"])
            .arg(&hosts);
        if json {
            c.arg("--json");
        }
        c.output().unwrap()
    };
    let human = run(false);
    assert_eq!(human.status.code(), Some(1), "one target could not be scanned");
    let text = String::from_utf8_lossy(&human.stdout);
    let summary = text.split("Summary (2 targets):\n").nth(1).expect(&text);
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines.len(), 2, "{summary}");
    assert!(
        lines[0].contains(&format!("127.0.0.1:{}", postfix.port))
            && lines[0].contains("STARTTLS yes")
            && lines[0].contains("lowest TLSv1.0")
            && lines[0].contains("DOES NOT COMPLY with intermediate"),
        "{summary}"
    );
    assert!(
        lines[1].contains("STARTTLS NO") && lines[1].contains("error: STARTTLS not supported"),
        "{summary}"
    );

    let doc: serde_json::Value = serde_json::from_slice(&run(true).stdout).unwrap();
    assert_eq!(doc["summary"][0]["lowest_protocol"], "TLSv1.0");
    assert_eq!(doc["summary"][0]["compliant"], false);
    assert_eq!(doc["summary"][1]["starttls_offered"], false);
    assert_eq!(doc["targets"].as_array().unwrap().len(), 2);
}
