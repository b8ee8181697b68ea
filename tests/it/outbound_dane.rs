//! `--outbound-dane` against the DNSSEC sandbox of tests/dane.rs (nsd and a
//! validating unbound on loopback): planned only when the resolver sets the
//! AD bit, on a private Postfix built from fixtures/debian-12.

use std::process::Command;

use crate::cmd::{snapshot, Mailtls};
use crate::support::{DnsSandbox, Exim, Postfix};

/// `mailtls ARGS --outbound-dane` on `pf`, asking `resolver` about the signed zone.
fn outbound(pf: &Postfix, resolver: &str, args: &[&str]) -> Mailtls {
    Mailtls::new(&pf.root.path().join("state"))
        .args(args)
        .arg_pair("--config", &pf.config_dir)
        .args([
            "--outbound-dane",
            "--resolver",
            resolver,
            "--dnssec-probe-name",
            "dane.test",
        ])
}

fn postconf_n(pf: &Postfix) -> String {
    let out = Command::new("postconf")
        .arg("-c")
        .arg(&pf.config_dir)
        .arg("-n")
        .output()
        .expect("run postconf");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.stderr.is_empty(),
        "postconf warns: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Validating unbound: both settings planned, applied (no reload), accepted
/// by postconf, idempotent; rollback restores every file byte for byte.
#[test]
fn validating_resolver_plans_dane_and_rollback_restores() {
    let dns = DnsSandbox::shared();
    let pf = Postfix::new();
    let before = snapshot(&pf.config_dir);
    let planned = outbound(&pf, &dns.resolver, &["--json", "plan"]).status(2).run();
    let settings = planned.json()["settings"].to_string();
    assert!(settings.contains("\"smtp_tls_security_level\""), "{settings}");
    assert!(settings.contains("\"after\":\"dane\""), "{settings}");
    assert!(settings.contains("\"smtp_dns_support_level\""), "{settings}");
    assert!(settings.contains("\"after\":\"dnssec\""), "{settings}");
    assert_eq!(snapshot(&pf.config_dir), before, "plan writes nothing");

    outbound(&pf, &dns.resolver, &["--yes", "apply", "--no-reload"])
        .status(0)
        .run();
    let effective = postconf_n(&pf);
    assert!(effective.contains("smtp_tls_security_level = dane\n"), "{effective}");
    assert!(effective.contains("smtp_dns_support_level = dnssec\n"), "{effective}");
    outbound(&pf, &dns.resolver, &["plan"]).status(0).run();
    let applied = snapshot(&pf.config_dir);
    let again = outbound(&pf, &dns.resolver, &["--json", "--yes", "apply", "--no-reload"])
        .status(0)
        .run()
        .json();
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(snapshot(&pf.config_dir), applied, "a second apply changed nothing");

    Mailtls::new(&pf.root.path().join("state"))
        .args(["--yes", "rollback"])
        .status(0)
        .run();
    assert_eq!(snapshot(&pf.config_dir), before, "rollback restores byte for byte");
}

/// A stricter level than dane is left alone, and the plan says so; so is a
/// transport's own level in master.cf.
#[test]
fn a_stricter_level_is_left_alone() {
    let dns = DnsSandbox::shared();
    let pf = Postfix::new();
    pf.postconf_e(&["smtp_tls_security_level=secure"]);
    let master = pf.config_dir.join("master.cf");
    let mut text = std::fs::read_to_string(&master).unwrap();
    text.push_str(
        "partner   unix  -       -       n       -       -       smtp\n  -o smtp_tls_security_level=encrypt\n",
    );
    std::fs::write(&master, text).unwrap();
    let planned = outbound(&pf, &dns.resolver, &["--json", "plan"]).run();
    let json = planned.json();
    assert!(
        !json["settings"].to_string().contains("smtp_tls_security_level"),
        "{json}"
    );
    assert!(
        planned.stderr.contains("stricter than dane: left as it is"),
        "{}",
        planned.stderr
    );
}

/// nsd answers authoritatively, without the AD bit: refused, nothing written.
#[test]
fn a_resolver_that_does_not_validate_is_refused() {
    let dns = DnsSandbox::shared();
    let pf = Postfix::new();
    let before = snapshot(&pf.config_dir);
    let nsd = format!("127.0.0.1:{}", dns.nsd_port);
    for command in [&["plan"][..], &["--yes", "apply", "--no-reload"][..]] {
        let ran = outbound(&pf, &nsd, command).status(1).run();
        assert!(
            ran.stderr.contains(&format!(
                "the resolver at {nsd} does not validate DNSSEC (no AD bit): outbound DANE would fail open"
            )),
            "{}",
            ran.stderr
        );
    }
    assert_eq!(snapshot(&pf.config_dir), before, "nothing written");
}

/// Exim: mailtls cannot set remote_smtp's transport options, so it refuses.
#[test]
fn exim_is_refused_with_the_reason() {
    let dns = DnsSandbox::shared();
    let exim = Exim::new("");
    let config = std::fs::read(&exim.config).unwrap();
    let ran = Mailtls::new(&exim.root.path().join("state"))
        .args(["plan", "--mta", "exim"])
        .arg_pair("--config", &exim.config)
        .args([
            "--outbound-dane",
            "--resolver",
            dns.resolver.as_str(),
            "--dnssec-probe-name",
            "dane.test",
        ])
        .status(1)
        .run();
    assert!(
        ran.stderr.contains("--outbound-dane is not supported for Exim") && ran.stderr.contains("hosts_try_dane"),
        "{}",
        ran.stderr
    );
    assert_eq!(std::fs::read(&exim.config).unwrap(), config);
}
