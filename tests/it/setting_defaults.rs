//! Human output names the server's own default for a setting the config
//! does not set (`smtpd_tls_protocols: (default >=TLSv1) -> >=TLSv1.2`),
//! read from the server's tool at test time, never "(unset)".

use std::process::Command;

use crate::cmd::Mailtls;
use crate::support::{run, Dovecot, Postfix};

#[test]
fn postfix_unset_settings_show_postconf_default() {
    let pf = Postfix::new();
    let ran = Mailtls::new(&pf.root.path().join("state"))
        .args(["apply", "--check", "--mta", "postfix", "--config"])
        .args([&pf.config_dir])
        .status(2)
        .run();
    let shown = format!("{}{}", ran.stdout, ran.stderr);
    let default = run(Command::new("postconf")
        .arg("-c")
        .arg(&pf.config_dir)
        .args(["-d", "-h", "smtpd_tls_protocols"]));
    assert!(
        shown.contains(&format!("  smtpd_tls_protocols: (default {}) -> ", default.trim())),
        "{shown}"
    );
    assert!(!shown.contains("(unset)"), "{shown}");
}

#[test]
fn dovecot_unset_settings_show_doveconf_default() {
    let dovecot = Dovecot::start("");
    let ran = Mailtls::new(&dovecot.root.path().join("state"))
        .args(["apply", "--check", "--mta", "dovecot", "--config"])
        .args([&dovecot.config])
        .status(2)
        .run();
    let shown = format!("{}{}", ran.stdout, ran.stderr);
    let line = shown
        .lines()
        .find(|l| l.starts_with("  ssl_cipher_list: "))
        .unwrap_or_else(|| panic!("apply shows ssl_cipher_list: {shown}"));
    let default = run(Command::new("doveconf")
        .arg("-c")
        .arg(&dovecot.config)
        .args(["-d", "-h", "ssl_cipher_list"]));
    assert!(
        line.starts_with(&format!("  ssl_cipher_list: (default {}) -> ", default.trim())),
        "{shown}"
    );
    assert!(!shown.contains("(unset)"), "{shown}");
}
