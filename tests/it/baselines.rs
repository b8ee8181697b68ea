//! Baselines with tiers: a stock Debian 12 Postfix graded by the
//! `ncsc-nl-2025` profile the way internet.nl grades it
//! (internetstandards/Internet.nl, checks/tasks/tls/tls_constants.py).

use crate::cmd::Mailtls;
use crate::support::Postfix;

#[test]
fn stock_postfix_suites_get_ncsc_nl_2025_tiers() {
    let postfix = Postfix::shared();
    let state = tempfile::tempdir().unwrap();
    let ran = Mailtls::new(state.path())
        .args([
            "--json",
            "probe",
            "--profile",
            "ncsc-nl-2025",
            "--servername",
            "localhost",
            &format!("127.0.0.1:{}", postfix.port),
        ])
        .run();
    let json = ran.json();
    let target = &json["targets"][0];
    let tiers12 = &target["protocols"]["TLSv1.2"]["tiers"];
    let tiers13 = &target["protocols"]["TLSv1.3"]["tiers"];
    let tier = |t: &serde_json::Value, s: &str| {
        t[s].as_str()
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{s} not graded: {target}"))
    };

    assert_eq!(tier(tiers13, "TLS_AES_256_GCM_SHA384"), "good");
    assert_eq!(tier(tiers13, "TLS_CHACHA20_POLY1305_SHA256"), "good");
    assert_eq!(tier(tiers13, "TLS_AES_128_GCM_SHA256"), "sufficient");
    assert_eq!(tier(tiers12, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"), "sufficient");
    assert_eq!(
        tier(tiers12, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
        "sufficient"
    );
    assert_eq!(tier(tiers12, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"), "phase-out");
    assert_eq!(tier(tiers12, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"), "phase-out");
    assert_eq!(tier(tiers12, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"), "insufficient");
    assert_eq!(tier(tiers12, "TLS_RSA_WITH_AES_256_GCM_SHA384"), "insufficient");
    // Every accepted suite is graded; every DHE suite is phase-out at best,
    // every CBC suite with SHA-1 insufficient.
    let accepted = target["protocols"]["TLSv1.2"]["cipher_suites"].as_array().unwrap();
    assert_eq!(accepted.len(), tiers12.as_object().unwrap().len(), "{target}");
    let mut dhe = 0;
    for s in accepted {
        let s = s.as_str().unwrap();
        if s.starts_with("TLS_DHE_") {
            dhe += 1;
            assert!(
                ["phase-out", "insufficient"].contains(&tier(tiers12, s).as_str()),
                "{s}"
            );
        }
        if s.ends_with("_CBC_SHA") {
            assert_eq!(tier(tiers12, s), "insufficient", "{s}");
        }
    }
    assert!(dhe >= 3, "a stock Postfix offers DHE suites: {target}");

    // The findings name the tiers, and the target does not comply.
    assert_eq!(target["compliant"], false, "{target}");
    let ids: Vec<&str> = target["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(ids.contains(&"profile-suite-phase-out"), "{ids:?}");
    assert!(ids.contains(&"profile-suite-insufficient"), "{ids:?}");
    let phase_out = target["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "profile-suite-phase-out")
        .unwrap();
    let message = phase_out["message"].as_str().unwrap();
    assert!(
        message.contains("phase-out suite(s)") && message.contains("good or sufficient"),
        "{message}"
    );
}
