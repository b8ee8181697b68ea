//! Cyrus IMAP config-level plans: Debian 12's stock imapd.conf and
//! cyrus.conf (TLS off), a real-world imapd.conf with a certificate, one
//! that Cyrus itself refuses, and service-prefixed overrides. No daemon
//! runs here; tests/cyrus_e2e.rs runs one.
use crate::support;

use std::path::{Path, PathBuf};

use crate::cmd::Mailtls;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(path)
}

/// A folder with `imapd` as imapd.conf and Debian's cyrus.conf beside it,
/// each service told to read that imapd.conf (`-C`), as a second instance's would.
fn instance(imapd: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("imapd.conf");
    std::fs::write(&config, imapd).unwrap();
    let stock = std::fs::read_to_string(fixture("debian-12/cyrus/cyrus.conf")).unwrap();
    let services = stock
        .replace("cmd=\"imapd ", &format!("cmd=\"imapd -C {} ", config.display()))
        .replace("cmd=\"pop3d ", &format!("cmd=\"pop3d -C {} ", config.display()));
    assert_ne!(services, stock);
    std::fs::write(dir.path().join("cyrus.conf"), services).unwrap();
    (dir, config)
}

fn cert(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("c.pem"), dir.join("k.pem"));
    let ok = std::process::Command::new("openssl")
        .args(["req", "-x509", "-nodes", "-days", "30", "-subj", "/CN=localhost"])
        .args(["-newkey", "rsa:2048", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap()
        .status
        .success();
    assert!(ok);
    (cert, key)
}

fn mailtls(dir: &Path) -> Mailtls {
    Mailtls::new(&dir.join("state")).env("PATH", "/nonexistent")
}

#[test]
fn debian_stock_gets_tls_settings_and_a_certificate_at_its_end() {
    let stock = std::fs::read_to_string(fixture("debian-12/cyrus/imapd.conf")).unwrap();
    let (dir, config) = instance(&stock);
    let (c, k) = cert(dir.path());
    let planned = mailtls(dir.path())
        .args(["--json", "plan", "--mta", "cyrus", "--config"])
        .args([&config])
        .arg_pair("--cert", &c)
        .arg_pair("--key", &k)
        .status(2)
        .run()
        .json();
    let diff = planned["diff"].as_str().unwrap();
    let added = format!(
        "+# TLS settings added by mailtls (`mailtls history` lists its changes)\n\
         +tls_versions: tls1_2 tls1_3\n\
         +tls_ciphers: ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:\
ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:\
DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305\n\
         +tls_server_cert: {}\n\
         +tls_server_key: {}\n",
        c.display(),
        k.display()
    );
    assert!(diff.contains(&added), "{diff}");
    assert!(
        diff.lines().all(|l| !l.starts_with('-') || l.starts_with("---")),
        "only added lines: {diff}"
    );
    assert!(
        !diff.contains("tls_prefer_server_ciphers"),
        "Cyrus's default (off) is the profile's"
    );
    // The commented-out certificate lines stay as they are.
    assert!(!diff.contains("-#tls_server_cert"), "{diff}");

    // IMAP and POP3 on their standard ports, STARTTLS; nntp, http, lmtp and sieve are not probed.
    let listeners = &planned["servers"][0]["listeners"];
    let found: Vec<(String, u64, String)> = listeners
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["service"].as_str().unwrap().to_string(),
                l["port"].as_u64().unwrap(),
                l["tls"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("imap".to_string(), 143, "starttls".to_string()),
            ("pop3".to_string(), 110, "starttls".to_string())
        ],
        "{planned}"
    );

    // Without a certificate there is no TLS to harden: one line, nothing written.
    let before = std::fs::read(&config).unwrap();
    let refused = mailtls(dir.path())
        .args(["--json", "plan", "--config"])
        .args([&config])
        .status(1)
        .run();
    assert!(
        refused.json()["error"].as_str().unwrap().contains("--cert"),
        "{}",
        refused.stdout
    );
    assert_eq!(std::fs::read(&config).unwrap(), before);
}

#[test]
fn debian_stock_services_read_etc_imapd_conf_so_a_copy_has_no_listeners() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["imapd.conf", "cyrus.conf"] {
        std::fs::copy(fixture("debian-12/cyrus").join(name), dir.path().join(name)).unwrap();
    }
    let (c, k) = cert(dir.path());
    let planned = mailtls(dir.path())
        .args(["--json", "plan", "--config"])
        .args([dir.path().join("imapd.conf")])
        .arg_pair("--cert", &c)
        .arg_pair("--key", &k)
        .status(2)
        .run()
        .json();
    assert_eq!(planned["servers"][0]["mta"], "cyrus", "recognised from the file name");
    assert_eq!(planned["servers"][0]["listeners"], serde_json::json!([]));
    let warnings = planned["warnings"].to_string();
    assert!(warnings.contains("service imap reads /etc/imapd.conf"), "{warnings}");
}

#[test]
fn a_real_world_config_has_its_certificate_replaced_in_place() {
    let text = std::fs::read_to_string(fixture("cyrus-l3nn1e-mail/imapd.conf")).unwrap();
    let (dir, config) = instance(&text);
    let (c, k) = cert(dir.path());
    let planned = mailtls(dir.path())
        .args(["--json", "plan", "--profile", "modern", "--config"])
        .args([&config])
        .arg_pair("--cert", &c)
        .arg_pair("--key", &k)
        .status(2)
        .run()
        .json();
    let diff = planned["diff"].as_str().unwrap();
    assert!(
        diff.contains(&format!(
            "-tls_server_cert: /etc/pki/tls/certs/mail.crt\n-tls_server_key: /etc/pki/tls/private/mail.key\n+tls_server_cert: {}\n+tls_server_key: {}\n",
            c.display(),
            k.display()
        )),
        "{diff}"
    );
    assert!(diff.contains("+tls_versions: tls1_3\n"), "{diff}");
    assert!(
        !diff.contains("tls_ciphers"),
        "modern has no TLS 1.2 suites to list: {diff}"
    );
    // Everything else, even `ptscache_db_path:  /run...` with its two blanks, is untouched.
    let after = planned["file_diffs"][0]["after"].as_str().unwrap();
    assert!(after.starts_with(&text[..text.find("tls_server_cert").unwrap()]));

    // The configured certificate does not exist here: the plan says so and how to fix it.
    let refused = mailtls(dir.path())
        .args(["--json", "plan", "--config"])
        .args([&config])
        .status(1)
        .run();
    let error = refused.json()["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("/etc/pki/tls/certs/mail.crt") && error.contains("--cert"),
        "{error}"
    );
}

#[test]
fn a_config_cyrus_refuses_is_refused_with_its_line() {
    let text = std::fs::read_to_string(fixture("cyrus-docker-test-server/imapd.conf")).unwrap();
    let (dir, config) = instance(&text);
    let refused = mailtls(dir.path())
        .args(["--json", "plan", "--mta", "cyrus", "--config"])
        .args([&config])
        .status(1)
        .run();
    let error = refused.json()["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("imapd.conf") && error.contains("49") && error.contains("search_batchsize"),
        "{error}"
    );
}

#[test]
fn weaker_service_overrides_are_rewritten_and_a_disabled_service_is_left_alone() {
    let (dir, config) = instance("");
    let (c, k) = cert(dir.path());
    let text = format!(
        "configdirectory: /var/lib/cyrus\n\
         tls_server_cert: {c}\n\
         tls_server_key: {k}\n\
         tls_versions: tls1_2 tls1_3\n\
         IMAP_TLS_Versions: tls1_0 tls1_1 tls1_2\n\
         pop3_tls_ciphers: ECDHE-RSA-AES128-GCM-SHA256\n\
         imap_tls_prefer_server_ciphers: yes\n\
         pop3_tls_server_cert: disabled\n",
        c = c.display(),
        k = k.display()
    );
    std::fs::write(&config, &text).unwrap();
    let planned = mailtls(dir.path())
        .args(["--json", "plan", "--config"])
        .args([&config])
        .status(2)
        .run()
        .json();
    let diff = planned["diff"].as_str().unwrap();
    assert!(
        diff.contains("-IMAP_TLS_Versions: tls1_0 tls1_1 tls1_2\n+IMAP_TLS_Versions: tls1_2 tls1_3\n"),
        "{diff}"
    );
    assert!(
        diff.contains("-imap_tls_prefer_server_ciphers: yes\n+imap_tls_prefer_server_ciphers: no\n"),
        "{diff}"
    );
    assert!(
        !diff.contains("-pop3_tls_ciphers"),
        "a stricter override is kept: {diff}"
    );
    assert!(!diff.contains("-tls_versions"), "{diff}");
    let listeners: Vec<&str> = planned["servers"][0]["listeners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["service"].as_str().unwrap())
        .collect();
    assert_eq!(listeners, ["imap"], "pop3 has TLS disabled: nothing to verify there");
    assert!(planned["warnings"]
        .to_string()
        .contains("service pop3: its certificate is `disabled`"));
}

#[test]
fn a_certificate_path_cyrus_would_misread_is_refused_before_anything() {
    let stock = std::fs::read_to_string(fixture("debian-12/cyrus/imapd.conf")).unwrap();
    let (dir, config) = instance(&stock);
    let (c, k) = cert(dir.path());
    let odd = dir.path().join("a,b.pem");
    std::fs::copy(&c, &odd).unwrap();
    let refused = mailtls(dir.path())
        .args(["--json", "plan", "--config"])
        .args([&config])
        .arg_pair("--cert", &odd)
        .arg_pair("--key", &k)
        .status(1)
        .run();
    assert!(
        refused.json()["error"].as_str().unwrap().contains("','"),
        "{}",
        refused.stdout
    );
}

#[test]
fn the_fixtures_round_trip() {
    for path in ["debian-12/cyrus/imapd.conf", "cyrus-l3nn1e-mail/imapd.conf"] {
        let text = std::fs::read_to_string(fixture(path)).unwrap();
        assert_eq!(
            mailtls::edit::imapd_conf::ImapdConf::parse(&text).unwrap().to_string(),
            text,
            "{path}"
        );
    }
}

#[test]
fn settings_in_an_included_file_count_and_are_never_edited_there() {
    let (dir, config) = instance("");
    let (c, k) = cert(dir.path());
    let tls = dir.path().join("tls.conf");
    let main = format!("configdirectory: /var/lib/cyrus\n@include: {}\n", tls.display());
    std::fs::write(&config, &main).unwrap();
    let strict = format!(
        "tls_server_cert: {}\ntls_server_key: {}\ntls_versions: tls1_3\n",
        c.display(),
        k.display()
    );
    std::fs::write(&tls, &strict).unwrap();
    let planned = mailtls(dir.path())
        .args(["--json", "plan", "--config"])
        .args([&config])
        .status(2)
        .run()
        .json();
    let diff = planned["diff"].as_str().unwrap();
    assert!(
        !diff.contains("tls_versions"),
        "the included value is in effect and strict: {diff}"
    );
    assert!(diff.contains("+tls_ciphers: "), "{diff}");
    assert_eq!(
        planned["servers"][0]["listeners"].as_array().unwrap().len(),
        2,
        "TLS is on through the include"
    );

    // A weak value there is not Cyrus-legal to repeat in imapd.conf: the error says where to change it.
    std::fs::write(&tls, strict.replace("tls1_3", "tls1_0 tls1_1 tls1_2")).unwrap();
    let refused = mailtls(dir.path())
        .args(["--json", "plan", "--config"])
        .args([&config])
        .status(1)
        .run();
    let error = refused.json()["error"].as_str().unwrap().to_string();
    assert!(error.contains(&format!("{}:3: tls_versions", tls.display())), "{error}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), main);
}

#[test]
fn every_baseline_profile_plans_on_debian_cyrus() {
    let stock = std::fs::read_to_string(fixture("debian-12/cyrus/imapd.conf")).unwrap();
    support::baselines::check_every_baseline_plans("cyrus", true, false, |profile| {
        let (dir, config) = instance(&stock);
        let (c, k) = cert(dir.path());
        let plan = mailtls(dir.path())
            .args(["--json", "plan", "--mta", "cyrus", "--profile", profile, "--config"])
            .args([&config])
            .arg_pair("--cert", &c)
            .arg_pair("--key", &k);
        (dir, plan)
    });
}
