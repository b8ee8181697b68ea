//! Postfix `$parameter` references and positive protocol lists (issue 17,
//! items 1 and 2), on Debian 12's stock main.cf and master.cf: plan judges
//! the effective value, leaves a compliant reference alone, changes the
//! parameter a weak one points to, and what it writes passes `postconf -n`
//! without new warnings.
use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::Mailtls;
use crate::support::{self_signed, KeyKind};

/// Debian's stock config with `main_extra` appended to main.cf and
/// `master_extra` to master.cf, and a certificate of its own.
fn config(main_extra: &str, master_extra: &str) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("etc");
    std::fs::create_dir(&dir).unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/debian-12");
    let (cert, key) = self_signed(root.path(), "server", KeyKind::Rsa2048);
    let main = std::fs::read_to_string(source.join("main.cf"))
        .unwrap()
        .replace("/etc/ssl/certs/ssl-cert-snakeoil.pem", cert.to_str().unwrap())
        .replace("/etc/ssl/private/ssl-cert-snakeoil.key", key.to_str().unwrap());
    std::fs::write(dir.join("main.cf"), main + main_extra).unwrap();
    let master = std::fs::read_to_string(source.join("master.cf")).unwrap();
    std::fs::write(dir.join("master.cf"), master + master_extra).unwrap();
    (root, dir)
}

/// Plans, writes what the plan would, and returns the plan's JSON.
fn plan_and_write(root: &Path, dir: &Path) -> serde_json::Value {
    let json = Mailtls::new(&root.join("state"))
        .args(["--json", "plan", "--mta", "postfix", "--config"])
        .args([dir])
        .run()
        .json();
    for file in json["file_diffs"].as_array().unwrap() {
        std::fs::write(file["path"].as_str().unwrap(), file["after"].as_str().unwrap()).unwrap();
    }
    json
}

fn postconf_warnings(dir: &Path) -> String {
    let out = Command::new("postconf").arg("-c").arg(dir).arg("-n").output().unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn postconf_h(dir: &Path, name: &str) -> String {
    support::run(Command::new("postconf").arg("-c").arg(dir).args(["-x", "-h", name]))
        .trim()
        .to_string()
}

#[test]
fn a_compliant_reference_is_left_alone() {
    // Regression: the reference was flattened into a literal, my_protos became unused and apply refused.
    let (root, dir) = config("my_protos = >=TLSv1.2\nsmtpd_tls_protocols = $my_protos\n", "");
    let json = plan_and_write(root.path(), &dir);
    let diff = json["diff"].as_str().unwrap();
    assert!(!diff.contains("-smtpd_tls_protocols"), "{diff}");
    assert!(!diff.contains("-my_protos"), "{diff}");
    let main = std::fs::read_to_string(dir.join("main.cf")).unwrap();
    assert!(main.contains("smtpd_tls_protocols = $my_protos\n"), "{main}");
    assert!(
        !postconf_warnings(&dir).contains("unused parameter"),
        "{}",
        postconf_warnings(&dir)
    );
}

#[test]
fn a_weak_reference_changes_the_parameter_it_points_to_and_says_so() {
    let (root, dir) = config("my_protos = !SSLv2, !SSLv3\nsmtpd_tls_protocols = $my_protos\n", "");
    let json = plan_and_write(root.path(), &dir);
    let main = std::fs::read_to_string(dir.join("main.cf")).unwrap();
    assert!(main.contains("smtpd_tls_protocols = $my_protos\n"), "{main}");
    assert_eq!(postconf_h(&dir, "smtpd_tls_protocols"), ">=TLSv1.2");
    let warnings = json["warnings"].to_string();
    assert!(
        warnings.contains("changed my_protos, the parameter it refers to"),
        "{warnings}"
    );
    assert!(
        !postconf_warnings(&dir).contains("unused parameter"),
        "{}",
        postconf_warnings(&dir)
    );
}

#[test]
fn a_master_cf_override_that_refers_to_main_cf_is_judged_by_its_value() {
    // The mail-stack pattern: -o smtpd_tls_mandatory_protocols=$submission_smtpd_tls_mandatory_protocols.
    let master = "submission inet n       -       y       -       -       smtpd\n  \
                  -o smtpd_tls_security_level=encrypt\n  \
                  -o smtpd_tls_mandatory_protocols=$submission_smtpd_tls_mandatory_protocols\n\
                  smtps     inet  n       -       y       -       -       smtpd\n  \
                  -o smtpd_tls_wrappermode=yes\n  \
                  -o smtpd_tls_mandatory_protocols=$smtps_smtpd_tls_mandatory_protocols\n";
    let (root, dir) = config(
        "submission_smtpd_tls_mandatory_protocols = >=TLSv1.2\nsmtps_smtpd_tls_mandatory_protocols = !SSLv2, !SSLv3\n",
        master,
    );
    let json = plan_and_write(root.path(), &dir);
    let after = std::fs::read_to_string(dir.join("master.cf")).unwrap();
    assert!(after.ends_with(master), "master.cf keeps both references:\n{after}");
    assert_eq!(
        postconf_h(&dir, "submission_smtpd_tls_mandatory_protocols"),
        ">=TLSv1.2"
    );
    assert_eq!(postconf_h(&dir, "smtps_smtpd_tls_mandatory_protocols"), ">=TLSv1.2");
    let warnings = json["warnings"].to_string();
    assert!(
        warnings.contains("changed smtps_smtpd_tls_mandatory_protocols in main.cf"),
        "{warnings}"
    );
    assert!(!warnings.contains("changed submission_smtpd"), "{warnings}");
    assert!(
        !postconf_warnings(&dir).contains("unused parameter"),
        "{}",
        postconf_warnings(&dir)
    );
}

#[test]
fn tls_1_2_only_gets_tls_1_3_when_the_profile_wants_it() {
    // Regression: `TLSv1.2` (TLS 1.3 off) was kept as "already as strict".
    let (root, dir) = config("smtpd_tls_protocols = TLSv1.2\n", "");
    plan_and_write(root.path(), &dir);
    assert_eq!(postconf_h(&dir, "smtpd_tls_protocols"), ">=TLSv1.2");
}
