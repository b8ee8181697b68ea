//! Paths the target format re-reads (issue 15, item 7). A `--cert`/`--key`
//! path holding every ASCII punctuation character a format does not read as
//! syntax is written, and the server's own checker (postconf, doveconf,
//! exim -bP, m4 on the sendmail.mc, smtpd -n) reads the same path back; a
//! path holding a character it would misread (or, for Exim and m4, a macro
//! name) is refused with one line naming it and the server, and nothing on
//! disk changes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{snapshot, Mailtls};
use crate::support::{run, Cyrus, Dovecot, Exim, Opensmtpd, Postfix, Sendmail};

/// Printable ASCII punctuation, but `/` and the format's `refused` characters.
fn odd_name(refused: &[char]) -> String {
    let name: String = (b'!'..=b'~')
        .map(char::from)
        .filter(|c| c.is_ascii_punctuation() && *c != '/' && !refused.contains(c))
        .collect();
    format!("odd{name}end")
}

/// Copies the instance's certificate and key into `dir/NAME/` (mode kept).
fn copy_pair(cert: &Path, key: &Path, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let odd = dir.join(name);
    std::fs::create_dir_all(&odd).unwrap();
    let (new_cert, new_key) = (odd.join("cert.pem"), odd.join("key.pem"));
    run(Command::new("cp").arg("-p").arg(cert).arg(&new_cert));
    run(Command::new("cp").arg("-p").arg(key).arg(&new_key));
    (new_cert, new_key)
}

/// The files of `path`, a folder or one file.
fn contents(path: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    if path.is_dir() {
        snapshot(path)
    } else {
        [(path.display().to_string(), std::fs::read(path).unwrap())].into()
    }
}

/// Every refused character, in the middle of a directory name and (for `\`,
/// a line continuation in Dovecot) at the end of one: exit 1, one line
/// naming the character and the server, and `watched` unchanged.
fn assert_refused(mailtls: impl Fn() -> Mailtls, config: &Path, watched: &Path, refused: &[char], server: &str) {
    let dir = config.parent().unwrap();
    let before = contents(watched);
    for c in refused {
        for name in [format!("a{c}b"), format!("ends{c}")] {
            let cert = dir.join(&name).join("cert.pem");
            let ran = mailtls()
                .args(["-y", "apply", "--no-reload", "--config"])
                .args([config])
                .arg_pair("--cert", &cert)
                .arg_pair("--key", &cert)
                .status(1)
                .run();
            let line = ran.stderr.trim_end();
            assert!(
                !line.contains('\n') && line.contains(&format!("{c:?}")) && line.contains(server),
                "{name}: {line}"
            );
        }
    }
    assert!(
        contents(watched) == before,
        "a refused path changed {}",
        watched.display()
    );
}

fn apply_with(mailtls: Mailtls, config: &Path, cert: &Path, key: &Path) {
    let ran = mailtls
        .args(["--json", "-y", "apply", "--no-reload", "--config"])
        .args([config])
        .arg_pair("--cert", cert)
        .arg_pair("--key", key)
        .status(0)
        .run();
    assert_eq!(ran.json()["changed"], true, "{}", ran.stderr);
}

#[test]
fn postfix_reads_back_the_path_postconf_expands() {
    const REFUSED: [char; 6] = [',', '$', '#', '{', '}', '='];
    let pf = Postfix::new();
    let state = pf.root.path().join("state");
    let mailtls = || Mailtls::new(&state);
    assert_refused(mailtls, &pf.config_dir, &pf.config_dir, &REFUSED, "Postfix");

    let (cert, key) = copy_pair(&pf.cert, &pf.key, pf.root.path(), &odd_name(&REFUSED));
    apply_with(mailtls(), &pf.config_dir, &cert, &key);
    for (name, path) in [("smtpd_tls_cert_file", &cert), ("smtpd_tls_key_file", &key)] {
        let value = run(Command::new("postconf")
            .arg("-c")
            .arg(&pf.config_dir)
            .args(["-xh", name]));
        assert_eq!(value.trim_end(), path.to_str().unwrap(), "postconf -xh {name}");
    }
}

#[test]
fn dovecot_reads_back_the_path_doveconf_shows() {
    const REFUSED: [char; 7] = ['#', '{', '}', '$', '%', '"', '\\'];
    let dc = Dovecot::start("ssl_min_protocol = TLSv1.2");
    let state = dc.root.path().join("state");
    let mailtls = || Mailtls::new(&state);
    assert_refused(mailtls, &dc.config, &dc.config, &REFUSED, "Dovecot");

    let dir = dc.root.path();
    let (cert, key) = copy_pair(
        &dir.join("dovecot.pem"),
        &dir.join("dovecot.key"),
        dir,
        &odd_name(&REFUSED),
    );
    apply_with(mailtls(), &dc.config, &cert, &key);
    let shown = run(Command::new("doveconf").arg("-c").arg(&dc.config).args(["-n", "-P"]));
    for (name, path) in [("ssl_cert", &cert), ("ssl_key", &key)] {
        let line = format!("{name} = <{}", path.display());
        assert!(
            shown.lines().any(|l| l.trim() == line),
            "doveconf -n has no {line:?}:\n{shown}"
        );
    }
}

#[test]
fn cyrus_reads_back_the_path_cyr_info_shows() {
    const REFUSED: [char; 3] = [',', '{', '\\'];
    let cy = Cyrus::new("");
    let state = cy.root.path().join("state");
    let mailtls = || {
        Mailtls::new(&state)
            .env("PATH", &cy.path_env())
            .env("LD_LIBRARY_PATH", &cy.library_path())
    };
    assert_refused(mailtls, &cy.config, &cy.config, &REFUSED, "Cyrus");

    let (cert, key) = copy_pair(&cy.cert, &cy.key, cy.root.path(), &odd_name(&REFUSED));
    apply_with(mailtls(), &cy.config, &cert, &key);
    let shown = run(Command::new(cy.sandbox.join("usr/lib/cyrus/bin/cyr_info"))
        .env("LD_LIBRARY_PATH", cy.library_path())
        .arg("-C")
        .arg(&cy.config)
        .arg("-M")
        .arg(cy.root.path().join("cyrus.conf"))
        .arg("conf"));
    for (name, path) in [("tls_server_cert", &cert), ("tls_server_key", &key)] {
        let line = format!("{name}: {}", path.display());
        assert!(
            shown.lines().any(|l| l == line),
            "cyr_info conf has no {line:?}:\n{shown}"
        );
    }
}

#[test]
fn exim_reads_back_the_path_and_refuses_macro_names() {
    const REFUSED: [char; 2] = ['$', '\\'];
    let exim = Exim::new("MYDIR = /nowhere\n");
    let state = exim.root.path().join("state");
    let mailtls = || Mailtls::new(&state).env("PATH", &exim.path_env());
    assert_refused(mailtls, &exim.config, exim.root.path(), &REFUSED, "Exim");
    // `exim -bP` showed `/x/bMYDIRc` read as `/x/b/nowherec`: macros are replaced inside words.
    let before = snapshot(exim.root.path());
    for (name, named) in [("xMYDIRy", "\"MYDIR\""), ("a_HAVE_TLSb", "\"_HAVE_TLSb\"")] {
        let (cert, key) = copy_pair(&exim.cert, &exim.key, exim.root.path(), name);
        let ran = mailtls()
            .args(["-y", "apply", "--no-reload", "--config"])
            .args([&exim.config])
            .arg_pair("--cert", &cert)
            .arg_pair("--key", &key)
            .status(1)
            .run();
        assert!(
            ran.stderr.contains(named) && ran.stderr.contains("Exim"),
            "{}",
            ran.stderr
        );
    }
    assert_eq!(snapshot(exim.root.path()), before);

    let (cert, key) = copy_pair(&exim.cert, &exim.key, exim.root.path(), &odd_name(&REFUSED));
    apply_with(mailtls(), &exim.config, &cert, &key);
    for (name, path) in [("tls_certificate", &cert), ("tls_privatekey", &key)] {
        let shown = run(Command::new(exim.sbin.join("exim4"))
            .arg("-C")
            .arg(&exim.config)
            .args(["-bP", name]));
        assert_eq!(
            shown.trim_end(),
            format!("{name} = {}", path.display()),
            "exim -bP {name}"
        );
    }
}

#[test]
fn sendmail_m4_reads_back_the_path_and_macro_names_are_refused() {
    const REFUSED: [char; 8] = ['`', '\'', ',', '(', ')', '#', '$', '\\'];
    let sendmail = Sendmail::new("");
    let dir = sendmail.root.path();
    let state = dir.join("state");
    let mailtls = || Mailtls::new(&state).env("PATH", &sendmail.path_env());
    assert_refused(mailtls, &sendmail.mc, dir, &REFUSED, "Sendmail");
    // m4 expands `divert` and `dnl` inside the path: the certificate line would vanish.
    let before = snapshot(dir);
    let (cert, key) = copy_pair(&sendmail.cert, &sendmail.key, &dir.join("x/divert/dnl"), "c");
    let ran = mailtls()
        .args(["-y", "apply", "--no-reload", "--config"])
        .args([&sendmail.mc])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &key)
        .status(1)
        .run();
    assert!(
        ran.stderr.contains("Sendmail's m4 reads the path") && ran.stderr.contains("m4 macro"),
        "{}",
        ran.stderr
    );
    assert_eq!(snapshot(dir), before);

    let (cert, key) = copy_pair(&sendmail.cert, &sendmail.key, dir, &odd_name(&REFUSED));
    apply_with(mailtls(), &sendmail.mc, &cert, &key);
    let cf = std::fs::read_to_string(&sendmail.cf).unwrap();
    for (name, path) in [("ServerCertFile", &cert), ("ServerKeyFile", &key)] {
        let line = format!("O {name}={}", path.display());
        assert!(cf.lines().any(|l| l == line), "sendmail.cf has no {line:?}");
    }
}

#[test]
fn opensmtpd_loads_the_certificate_from_the_path_written() {
    const REFUSED: [char; 2] = ['"', '\\'];
    let smtpd = Opensmtpd::new("");
    let state = smtpd.root.path().join("state");
    let mailtls = || Mailtls::new(&state).env("PATH", &smtpd.path_env());
    assert_refused(mailtls, &smtpd.config, smtpd.root.path(), &REFUSED, "OpenSMTPD");

    let (cert, key) = copy_pair(&smtpd.cert, &smtpd.key, smtpd.root.path(), &odd_name(&REFUSED));
    apply_with(mailtls(), &smtpd.config, &cert, &key);
    let conf = std::fs::read_to_string(&smtpd.config).unwrap();
    assert!(
        conf.contains(&format!("\"{}\"", cert.display())),
        "{conf}\n{}",
        cert.display()
    );
    // smtpd -n loads every pki file: it finds the certificate only at the path written.
    let checked = Command::new(smtpd.sbin.join("smtpd"))
        .arg("-n")
        .arg("-f")
        .arg(&smtpd.config)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&checked.stderr);
    assert!(checked.status.success() && said.contains("configuration OK"), "{said}");
}
