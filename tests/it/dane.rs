//! DANE and MTA-STS against a real DNSSEC sandbox (nsd + a validating unbound
//! on loopback, tests/support/dns.rs) and private Postfix instances whose
//! `myhostname` is in the signed test zone.
use crate::support;

use std::path::Path;
use std::process::Command;

use crate::cmd::Mailtls;
use crate::support::dns::{self_signed_for, spki_sha256};
use crate::support::{DnsSandbox, Postfix};

fn drill(sandbox: &DnsSandbox, name: &str, rtype: &str) -> String {
    let port = sandbox.resolver.rsplit(':').next().unwrap();
    let out = Command::new("drill")
        .args(["-D", "-p", port, "@127.0.0.1", name, rtype])
        .output()
        .expect("run drill");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The sandbox itself, seen by ldns's drill: signed records validate (ad),
/// mx3's altered TLSA is bogus (SERVFAIL), mx4 has none.
#[test]
fn sandbox_validates_good_records_and_fails_the_bogus_one() {
    let dns = DnsSandbox::shared();
    let good = drill(dns, "_25._tcp.mx1.dane.test", "TLSA");
    assert!(good.contains(" ad "), "{good}");
    assert!(good.contains(&support::dns::spki_sha256(&dns.old_key)), "{good}");
    let bogus = drill(dns, "_25._tcp.mx3.dane.test", "TLSA");
    assert!(bogus.contains("SERVFAIL"), "{bogus}");
    let none = drill(dns, "_25._tcp.mx4.dane.test", "TLSA");
    assert!(none.contains("NXDOMAIN"), "{none}");
}

/// What every guard test starts from: the shared sandbox, and a private
/// Postfix whose myhostname is a host in its zones (not started).
struct Mx {
    dns: &'static DnsSandbox,
    pf: Postfix,
}

impl Mx {
    fn named(host: &str) -> Mx {
        let pf = Postfix::new();
        pf.postconf_e(&[&format!("myhostname={host}"), "mydomain=dane.test"]);
        Mx {
            dns: DnsSandbox::shared(),
            pf,
        }
    }

    /// `Mx::named`, listening.
    fn started(host: &str) -> Mx {
        let mx = Mx::named(host);
        mx.pf.start();
        mx
    }

    fn state(&self) -> std::path::PathBuf {
        self.pf.root.path().join("state")
    }

    /// A certificate for `key` naming `names`, from the sandbox's CA.
    fn ca_cert(&self, name: &str, key: &Path, names: &[&str]) -> std::path::PathBuf {
        self.dns.ca_cert_for(self.pf.root.path(), name, key, names)
    }

    /// `mailtls plan` (or apply) with the new pair and the sandbox's resolver.
    fn with_pair(&self, command: &[&str], cert: &Path, key: &Path) -> Mailtls {
        let dns = self.dns;
        Mailtls::new(&self.state())
            .args(command)
            .arg_pair("--config", &self.pf.config_dir)
            .arg_pair("--cert", cert)
            .arg_pair("--key", key)
            .args(["--resolver", dns.resolver.as_str()])
            .args(["--mta-sts-port", &dns.https_port.to_string()])
            .arg_pair("--ca-file", &dns.ca_cert)
    }

    /// `mailtls --json probe --mx dane.test`, reaching this Postfix's port.
    fn probe_mx(&self) -> serde_json::Value {
        let dns = self.dns;
        Mailtls::new(&self.state())
            .args([
                "--json",
                "probe",
                "--mx",
                "dane.test",
                "--resolver",
                dns.resolver.as_str(),
            ])
            .args(["--mx-port", &self.pf.port.to_string()])
            .args(["--mta-sts-port", &dns.https_port.to_string()])
            .arg_pair("--ca-file", &dns.ca_cert)
            .run()
            .json()
    }
}

/// A new key that the TLSA records at mx1 do not pin: refused, nothing
/// written, and the exact "3 1 1" record to publish is printed (checked
/// against openssl's own SHA-256 of the key).
#[test]
fn key_change_is_refused_with_the_tlsa_record_to_publish() {
    let mx = Mx::started("mx1.dane.test");
    let dns = mx.dns;
    let cert = mx.ca_cert("new", &dns.new_key, &["mx1.dane.test"]);
    let new = spki_sha256(&dns.new_key);
    let old = spki_sha256(&dns.old_key);
    for command in [&["plan"][..], &["--yes", "apply"][..]] {
        mx.with_pair(command, &cert, &dns.new_key)
            .status(1)
            .stderr_has(format!("_25._tcp.mx1.dane.test. IN TLSA 3 1 1 {new}"))
            .stderr_has(format!("IN TLSA 3 1 1 {old}"))
            .stderr_has("wait at least two TTLs")
            .stderr_has("--ignore-dane")
            .unchanged(&mx.pf.config_dir)
            .run();
    }

    // Explicitly overridden: it goes ahead, with a warning.
    mx.with_pair(&["plan", "--ignore-dane"], &cert, &dns.new_key)
        .status(2)
        .stderr_has("going ahead: --ignore-dane")
        .run();
}

/// A renewal: a new certificate for the same key still matches "3 1 1";
/// apply goes through and verifies, and `probe --mx` then sees the served
/// chain match the TLSA record.
#[test]
fn renewal_with_the_same_key_passes_and_the_served_chain_matches() {
    let mx = Mx::started("mx1.dane.test");
    let dns = mx.dns;
    let renewed = mx.ca_cert("renewed", &dns.old_key, &["mx1.dane.test"]);
    mx.with_pair(&["--json", "--yes", "apply"], &renewed, &dns.old_key)
        .status(0)
        .stderr_has("matches a TLSA record")
        .json_is("/verified", true)
        .run();

    let json = mx.probe_mx();
    assert_eq!(json["mx"], serde_json::json!(["mx1.dane.test"]), "{json}");
    let target = &json["targets"][0];
    assert_eq!(target["target"], format!("mx1.dane.test:{}", mx.pf.port));
    assert_eq!(target["address"], "127.0.0.1");
    assert_eq!(target["dane"]["name"], "_25._tcp.mx1.dane.test");
    assert_eq!(target["dane"]["secure"], true, "{target}");
    assert_eq!(
        target["dane"]["records"],
        serde_json::json!([format!("3 1 1 {}", spki_sha256(&dns.old_key))])
    );
    assert_eq!(target["dane"]["matches"], true, "{target}");
    assert_eq!(target["mta_sts"]["mode"], "enforce");
    assert_eq!(target["mta_sts"]["max_age"], 86400);
    assert_eq!(target["mta_sts"]["mx"], serde_json::json!(["*.dane.test"]));
    assert_eq!(target["mta_sts"]["valid"], true, "{target}");
}

/// The served chain is judged too: the stock self-signed certificate with
/// its own key matches no TLSA and fails MTA-STS.
#[test]
fn probe_mx_reports_a_served_chain_that_matches_nothing() {
    let mx = Mx::started("mx1.dane.test");
    let json = mx.probe_mx();
    let target = &json["targets"][0];
    assert_eq!(target["dane"]["secure"], true, "{target}");
    assert_eq!(target["dane"]["matches"], false, "{target}");
    assert_eq!(target["mta_sts"]["valid"], false, "{target}");
    assert!(
        target["mta_sts"]["error"]
            .as_str()
            .unwrap_or("")
            .contains("trusted root"),
        "{target}"
    );
}

/// mx2 publishes the new key's record beside the old one (a rollover under
/// way): the change to the new key passes.
#[test]
fn key_change_passes_once_the_new_tlsa_is_published_beside_the_old() {
    let mx = Mx::started("mx2.dane.test");
    let dns = mx.dns;
    let cert = mx.ca_cert("new", &dns.new_key, &["mx2.dane.test"]);
    mx.with_pair(&["--json", "--yes", "apply"], &cert, &dns.new_key)
        .status(0)
        .stderr_has("matches a TLSA record at _25._tcp.mx2.dane.test")
        .json_is("/verified", true)
        .run();
    let main_cf = std::fs::read_to_string(mx.pf.config_dir.join("main.cf")).unwrap();
    assert!(
        main_cf.contains(&cert.display().to_string()),
        "the new certificate is in main.cf"
    );
}

/// mx3's TLSA was altered after signing: unbound answers SERVFAIL, and the
/// guard refuses rather than treat it as "no records".
#[test]
fn bogus_tlsa_is_an_error_not_an_absence() {
    let mx = Mx::named("mx3.dane.test");
    let key = &mx.dns.new_key;
    let cert = mx.ca_cert("new", key, &["mx3.dane.test"]);
    mx.with_pair(&["plan"], &cert, key)
        .status(1)
        .stderr_has("SERVFAIL")
        .stderr_has("_25._tcp.mx3.dane.test")
        .unchanged(&mx.pf.config_dir)
        .run();
}

/// No TLSA at mx4 (a secure denial): no guard, only a note; the plan goes on.
#[test]
fn no_tlsa_is_no_guard_but_a_note() {
    let mx = Mx::named("mx4.dane.test");
    let key = &mx.dns.new_key;
    let cert = self_signed_for(mx.pf.root.path(), "new", key, &["mx4.dane.test"]);
    mx.with_pair(&["plan", "--domain", "no-policy.dane.test"], &cert, key)
        .status(2)
        .stdout_has("no TLSA records at _25._tcp.mx4.dane.test (secure: true)")
        .run();
}

/// dane.test's MTA-STS policy is `enforce` for *.dane.test: a self-signed
/// certificate, or one from the trusted CA naming another host, is refused;
/// one from the CA naming the host passes. Under testing.dane.test's
/// `testing` policy the self-signed one only warns.
#[test]
fn mta_sts_enforce_refuses_a_self_signed_or_misnamed_certificate() {
    let mx = Mx::named("mx4.dane.test");
    let key = &mx.dns.new_key;
    let config = &mx.pf.config_dir;
    let self_signed = self_signed_for(mx.pf.root.path(), "self", key, &["mx4.dane.test"]);
    mx.with_pair(&["plan"], &self_signed, key)
        .status(1)
        .stderr_has("enforce")
        .stderr_has("trusted root")
        .unchanged(config)
        .run();

    let misnamed = mx.ca_cert("misnamed", key, &["other.example.test"]);
    mx.with_pair(&["plan"], &misnamed, key)
        .status(1)
        .stderr_has("does not name mx4.dane.test")
        .unchanged(config)
        .run();

    let good = mx.ca_cert("good", key, &["mx4.dane.test"]);
    mx.with_pair(&["plan"], &good, key)
        .status(2)
        .stdout_has("MTA-STS (enforce) of dane.test: the new certificate is valid")
        .run();

    mx.with_pair(&["plan", "--domain", "testing.dane.test"], &self_signed, key)
        .status(2)
        .stderr_has("MTA-STS (testing) of testing.dane.test")
        .run();
}

/// `mailtls tlsa` gives the same "3 1 1" from the key and from a certificate
/// for it, equal to openssl's SHA-256 of the key's SubjectPublicKeyInfo.
#[test]
fn tlsa_command_prints_the_record_openssl_computes() {
    let dns = DnsSandbox::shared();
    let dir = tempfile::tempdir().unwrap();
    let cert = self_signed_for(dir.path(), "c", &dns.new_key, &["mx9.dane.test"]);
    let expected = format!("3 1 1 {}", spki_sha256(&dns.new_key));
    let state = dir.path().join("state");
    let from_key = Mailtls::new(&state)
        .args(["tlsa"])
        .arg_pair("--key", &dns.new_key)
        .status(0)
        .run();
    assert_eq!(from_key.stdout.trim(), expected);
    let from_cert = Mailtls::new(&state)
        .args(["--json", "tlsa", "--host", "mx9.dane.test"])
        .arg_pair("--cert", &cert)
        .status(0)
        .run();
    assert_eq!(from_cert.json()["records"], serde_json::json!([expected]));
    assert_eq!(from_cert.json()["name"], "_25._tcp.mx9.dane.test.");
    Mailtls::new(&state).args(["tlsa"]).status(1).run();
}

/// mx5.plain.test's TLSA record is real but unsigned: the resolver gives no
/// AD bit, senders ignore such records, so they are never called secure and
/// do not block a key change.
#[test]
fn unsigned_tlsa_is_never_called_secure_and_does_not_block() {
    let dns = DnsSandbox::shared();
    let unsigned = drill(dns, "_25._tcp.mx5.plain.test", "TLSA");
    assert!(
        unsigned.contains("IN\tTLSA\t3 1 1") && !unsigned.contains(" ad "),
        "{unsigned}"
    );
    let mx = Mx::named("mx5.plain.test");
    let cert = mx.ca_cert("new", &dns.new_key, &["mx5.plain.test"]);
    mx.with_pair(&["plan"], &cert, &dns.new_key)
        .status(2)
        .stdout_has("are not DNSSEC-validated")
        .run();
}

/// A resolver that does not answer is an answer in the report, not a crash:
/// probe --mx says so in its JSON and exits 1.
#[test]
fn probe_mx_with_a_dead_resolver_reports_the_failure() {
    let dir = tempfile::tempdir().unwrap();
    let ran = Mailtls::new(&dir.path().join("state"))
        .args([
            "--json",
            "probe",
            "--mx",
            "dane.test",
            "--resolver",
            "127.0.0.1:9",
            "--timeout",
            "2",
        ])
        .status(1)
        .run();
    let json = ran.json();
    assert_eq!(json["mx"], serde_json::json!([]));
    assert!(
        json["mx_error"]
            .as_str()
            .unwrap_or("")
            .contains("MX lookup of dane.test"),
        "{json}"
    );
    let ran = Mailtls::new(&dir.path().join("state"))
        .args(["probe", "--mx", "dane.test", "--output", "junit"])
        .status(1)
        .run();
    assert!(ran.stderr.contains("probe --mx prints text or JSON"), "{}", ran.stderr);
}

/// `--mx-host` names the host senders reach when it is not myhostname (here
/// "localhost"); a resolver that does not answer at all leaves DANE
/// unchecked with a warning rather than blocking every certificate change
/// on an offline host.
#[test]
fn guard_follows_mx_host_and_only_warns_when_dns_does_not_answer() {
    // A stock Postfix: its myhostname is localhost.
    let mx = Mx {
        dns: DnsSandbox::shared(),
        pf: Postfix::new(),
    };
    let key = &mx.dns.new_key;
    let cert = mx.ca_cert("new", key, &["mx1.dane.test"]);
    mx.with_pair(&["plan"], &cert, key)
        .status(2)
        .stdout_has("localhost is not a public DNS name")
        .run();
    mx.with_pair(&["plan", "--mx-host", "mx1.dane.test"], &cert, key)
        .status(1)
        .stderr_has("IN TLSA 3 1 1 ")
        .run();
    Mailtls::new(&mx.state())
        .args(["plan", "--mx-host", "mx1.dane.test", "--resolver", "127.0.0.1:9"])
        .arg_pair("--config", &mx.pf.config_dir)
        .arg_pair("--cert", &cert)
        .arg_pair("--key", key)
        .status(2)
        .stderr_has("warning: DANE not checked")
        .run();
}
