//! The bundled baselines every backend must plan (issue 12), and what a
//! plan for each must show.

use crate::cmd::Mailtls;

/// The baseline profiles beside Mozilla's intermediate and modern.
pub const BASELINES: [&str; 4] = ["old", "ncsc-nl-2025", "bsi-tr-02102-2", "nist-sp800-52r2"];

/// Plans every baseline on one server: `plan(profile)` gives a fresh copy
/// of the config (kept until the run ends) and its `mailtls --json plan ...
/// --profile PROFILE`; each must exit 2 (changes planned) and pass
/// `check_baseline_plan`.
pub fn check_every_baseline_plans(
    server: &str,
    openssl_names: bool,
    tls13_setting: bool,
    plan: impl Fn(&str) -> (tempfile::TempDir, Mailtls),
) {
    for profile in BASELINES {
        let (_copy, mailtls) = plan(profile);
        let json = mailtls.status(2).run().json();
        check_baseline_plan(server, profile, &json, openssl_names, tls13_setting);
    }
}

/// Checks a `plan --json` for `profile`: changes are planned, the suite
/// list is the profile's (`openssl_names`: the server takes OpenSSL cipher
/// strings), and a server without a TLS 1.3 suite setting
/// (`tls13_setting` false) says so for profiles that drop one of
/// OpenSSL's default three, instead of planning as if it could.
pub fn check_baseline_plan(
    server: &str,
    profile: &str,
    json: &serde_json::Value,
    openssl_names: bool,
    tls13_setting: bool,
) {
    let diff = json["diff"]
        .as_str()
        .unwrap_or_else(|| panic!("{server} {profile}: no diff: {json}"));
    assert_eq!(json["changed"], true, "{server} {profile}: {json}");
    let added: String = diff
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect::<Vec<_>>()
        .join("\n");
    if openssl_names {
        let (wanted, absent): (&str, &[&str]) = match profile {
            "old" => ("DES-CBC3-SHA", &[]),
            "ncsc-nl-2025" => (
                "ECDHE-ECDSA-AES256-GCM-SHA384",
                &["DHE-RSA-", "ECDHE-RSA-AES128-SHA256"],
            ),
            "bsi-tr-02102-2" => ("ECDHE-RSA-AES128-SHA256", &["CHACHA20"]),
            "nist-sp800-52r2" => ("ECDHE-ECDSA-AES128-GCM-SHA256", &["CHACHA20"]),
            other => panic!("unknown baseline {other}"),
        };
        assert!(
            added.contains(wanted),
            "{server} {profile}: {wanted} not planned:\n{diff}"
        );
        // OpenSSL names, one per token: DHE-RSA- must not match ECDHE-RSA-.
        let tokens: Vec<&str> = added.split([':', ' ', '"', ',', '\n', '=']).collect();
        for a in absent {
            assert!(
                !tokens
                    .iter()
                    .any(|t| t.starts_with(a) || (a == &"CHACHA20" && t.contains(a))),
                "{server} {profile}: {a} planned:\n{diff}"
            );
        }
    }
    let warnings = json["warnings"].to_string();
    let drops_a_default = matches!(profile, "bsi-tr-02102-2" | "nist-sp800-52r2");
    assert_eq!(
        warnings.contains("no setting for TLS 1.3 suites"),
        drops_a_default && !tls13_setting,
        "{server} {profile}: warnings {warnings}"
    );
}

/// The arguments of `mailtls probe --profile PROFILE` against one listener.
pub fn probe_args(port: u16, starttls: &str, profile: &str) -> Vec<String> {
    [
        "--json",
        "probe",
        "--servername",
        "localhost",
        "--starttls",
        starttls,
        "--profile",
        profile,
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("127.0.0.1:{port}")])
    .collect()
}

/// After `apply --profile PROFILE` on a live server: the JSON of `mailtls
/// probe` with `probe_args` finds the listener compliant (by the profile's
/// tiers when it has them), and an independent OpenSSL client is refused
/// `refused` and served `served` at TLS 1.2.
pub fn check_live_baseline(
    probe: &serde_json::Value,
    port: u16,
    starttls: &str,
    profile: &str,
    refused: &str,
    served: &str,
) {
    assert!(
        !super::openssl_accepts(port, starttls, "-tls1_2", Some(refused)),
        "{profile}: {refused} still accepted on {port}"
    );
    assert!(
        super::openssl_accepts(port, starttls, "-tls1_2", Some(served)),
        "{profile}: {served} refused on {port}"
    );
    assert!(
        !super::openssl_accepts(port, starttls, "-tls1_1", None),
        "{profile}: TLS 1.1 on {port}"
    );
    let target = &probe["targets"][0];
    assert_eq!(target["compliant"], true, "{profile} on {port}: {target}");
    if profile == "ncsc-nl-2025" {
        let tiers = target["protocols"]["TLSv1.2"]["tiers"]
            .as_object()
            .expect("tiers per suite");
        assert!(
            !tiers.is_empty() && tiers.values().all(|t| t == "good" || t == "sufficient"),
            "{target}"
        );
    }
}
