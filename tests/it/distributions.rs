//! Distribution stock configs beyond Debian, planned as their packages
//! install them (fixtures/real-world, sources in SOURCES): RHEL 8/9's Dovecot
//! 2.3.16 (upstream's example config with the package's patch and path edit).

use std::path::Path;

use crate::cmd::Mailtls;
use crate::support;

#[test]
fn rhel_dovecot_gets_local_conf_and_its_crypto_policy_list_is_named() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("dovecot");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/real-world/dovecot-rhel-2.3.16");
    std::fs::create_dir_all(dir.join("conf.d")).unwrap();
    for entry in std::fs::read_dir(source.join("conf.d")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join("conf.d").join(entry.file_name())).unwrap();
    }
    std::fs::copy(source.join("dovecot.conf"), dir.join("dovecot.conf")).unwrap();
    let certs = support::tempdir_for_keys();
    let (cert, key) = support::self_signed(certs.path(), "server", support::KeyKind::Rsa2048);
    let state = root.path().join("state");
    let plan = || {
        Mailtls::new(&state)
            .args(["--json", "plan", "--profile", "intermediate"])
            .arg_pair("--config", &dir.join("dovecot.conf"))
            .arg_pair("--cert", &cert)
            .arg_pair("--key", &key)
            .run()
    };
    let json = plan().code(2).json();
    // The rpm marks 10-ssl.conf %config(noreplace): an edited one makes every update leave a .rpmnew.
    let paths: Vec<&str> = json["file_diffs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, [dir.join("local.conf").to_str().unwrap()]);
    assert!(
        json["warnings"]
            .to_string()
            .contains("ssl_cipher_list = PROFILE=SYSTEM"),
        "{}",
        json["warnings"]
    );
    let local = json["file_diffs"][0]["after"].as_str().unwrap();
    std::fs::write(dir.join("local.conf"), local).unwrap();
    plan().code(0);
    // The package's `ssl = required` and its cert paths stay where they are, overridden from local.conf.
    let out = std::process::Command::new("doveconf")
        .arg("-c")
        .arg(dir.join("dovecot.conf"))
        .args(["ssl", "ssl_min_protocol", "ssl_cipher_list", "ssl_cert"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(shown.contains("ssl = required"), "{shown}");
    assert!(shown.contains("ssl_min_protocol = TLSv1.2"), "{shown}");
    assert!(shown.contains("ssl_cipher_list = ECDHE-"), "{shown}");
    assert!(shown.contains(&format!("ssl_cert = <{}", cert.display())), "{shown}");
}
