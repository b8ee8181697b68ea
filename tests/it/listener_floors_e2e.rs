//! Per-listener floors and named exceptions (issue 12 item 3) on real,
//! private daemons: port 25 held to `old` while submission stays strict,
//! one listener kept looser with its reason in the journal, verified by
//! the probe per listener and by `openssl s_client`, and idempotent.

use crate::cmd::{self, Mailtls};
use crate::support;
use crate::support::{free_port, openssl_accepts, wait_for_port, Dovecot, Postfix};

/// Adds two implicit-TLS submission listeners (like 465) on loopback ports.
fn add_submissions(pf: &Postfix) -> (u16, u16) {
    let (strict, printer) = (free_port(), free_port());
    let master = pf.config_dir.join("master.cf");
    let mut text = std::fs::read_to_string(&master).unwrap();
    for port in [strict, printer] {
        text.push_str(&format!(
            "127.0.0.1:{port} inet n - y - - smtpd\n  -o syslog_name=postfix/submissions\n  -o smtpd_tls_wrappermode=yes\n"
        ));
    }
    std::fs::write(&master, text).unwrap();
    (strict, printer)
}

#[test]
fn postfix_port_25_looser_with_old_submission_strict_and_a_named_exception() {
    let pf = Postfix::new();
    let (strict, printer) = add_submissions(&pf);
    pf.start();
    for port in [strict, printer] {
        assert!(
            wait_for_port(port, std::time::Duration::from_secs(10)),
            "{}",
            pf.maillog()
        );
    }
    let state = pf.root.path().join("state");
    let except = format!("127.0.0.1:{printer}=old:a legacy scanner that speaks TLS 1.0 only");
    let args = |m: Mailtls| {
        m.args([
            "--json",
            "-y",
            "apply",
            "--profile",
            "intermediate",
            "--listener-profile",
            "smtp=old",
            "--except",
        ])
        .args([&except])
        .args(["--config"])
        .args([&pf.config_dir])
    };

    let applied = args(Mailtls::new(&state)).run().code(0);
    let json = applied.json();
    assert_eq!(json["verified"], true, "{}\n{}", applied.stderr, pf.maillog());
    let floors = json["floors"].as_array().unwrap();
    assert_eq!(floors.len(), 2, "{json}");
    assert!(
        applied.stderr.contains("profile old (floor for smtp listeners)"),
        "{}",
        applied.stderr
    );
    // Verification judged each listener by its own floor.
    assert!(
        applied
            .stderr
            .contains(&format!("127.0.0.1:{} accepts TLSv1.0", pf.port)),
        "{}",
        applied.stderr
    );
    assert!(applied.stderr.contains("(profile intermediate)"), "{}", applied.stderr);

    // An independent client: TLS 1.0 on 25 and on the exception, not on strict submission.
    assert!(
        openssl_accepts(pf.port, "smtp", "-tls1", None),
        "port 25 accepts TLS 1.0 (old)"
    );
    assert!(
        openssl_accepts(printer, "none", "-tls1", None),
        "the exception accepts TLS 1.0"
    );
    assert!(
        !openssl_accepts(strict, "none", "-tls1", None),
        "submission refuses TLS 1.0"
    );
    assert!(
        !openssl_accepts(strict, "none", "-tls1_1", None),
        "submission refuses TLS 1.1"
    );
    assert!(openssl_accepts(strict, "none", "-tls1_2", None));
    assert!(
        !openssl_accepts(strict, "none", "-tls1_2", Some("AES128-SHA:@SECLEVEL=0")),
        "no CBC-SHA1 suite on submission"
    );
    // master.cf carries the floors as -o overrides; main.cf the run's profile.
    let master = std::fs::read_to_string(pf.config_dir.join("master.cf")).unwrap();
    assert!(master.contains("  -o smtpd_tls_protocols=>=TLSv1\n"), "{master}");
    let main = std::fs::read_to_string(pf.config_dir.join("main.cf")).unwrap();
    assert!(main.contains("smtpd_tls_protocols = >=TLSv1.2"), "{main}");

    // The reason is recorded in the journal and shown by history.
    let history = Mailtls::new(&state).args(["--json", "history"]).run().code(0).json();
    let recorded = &history["sets"][0]["floors"];
    let exception = recorded
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["port"] == printer)
        .unwrap_or_else(|| panic!("no floor for the exception: {history}"));
    assert_eq!(exception["reason"], "a legacy scanner that speaks TLS 1.0 only");
    assert_eq!(exception["profile"], "old");
    let text = Mailtls::new(&state).args(["history"]).run().code(0);
    assert!(text.stdout.contains("exception: a legacy scanner") || text.stderr.contains("exception: a legacy scanner"));

    // Idempotent: the same options plan nothing, and apply changes nothing.
    let again = args(Mailtls::new(&state)).run().code(0).json();
    assert_eq!(again["changed"], false, "{again}");
    Mailtls::new(&state)
        .args(["plan", "--listener-profile", "smtp=old", "--except"])
        .args([&except])
        .args(["--config"])
        .args([&pf.config_dir])
        .run()
        .code(0);
}

#[test]
fn bad_floors_are_refused_with_one_line_and_nothing_written() {
    let pf = Postfix::new();
    let state = pf.root.path().join("state");
    let before = cmd::snapshot(&pf.config_dir);
    for (args, says) in [
        (vec!["--except", "nosuch=old:why"], "no TLS listener of that name"),
        (vec!["--except", "smtp=old:two\nlines"], "control character"),
        (vec!["--except", "smtp=nosuch:why"], "no such profile"),
        (vec!["--listener-profile", "ftp=old"], "unknown listener kind"),
    ] {
        let ran = Mailtls::new(&state)
            .args(["-y", "apply"])
            .args(args)
            .args(["--config"])
            .args([&pf.config_dir])
            .run()
            .code(1);
        let lines: Vec<&str> = ran.stderr.lines().filter(|l| l.starts_with("mailtls:")).collect();
        assert_eq!(lines.len(), 1, "{}", ran.stderr);
        assert!(lines[0].contains(says), "{}", ran.stderr);
    }
    assert_eq!(cmd::snapshot(&pf.config_dir), before, "nothing changed on disk");
}

#[test]
fn dovecot_pop3_held_to_old_while_imap_follows_modern() {
    let dc = Dovecot::start("");
    let state = dc.root.path().join("state");
    let applied = Mailtls::new(&state)
        .args([
            "--json",
            "-y",
            "apply",
            "--profile",
            "modern",
            "--listener-profile",
            "pop3=old",
            "--config",
        ])
        .args([&dc.config])
        .run()
        .code(0);
    let json = applied.json();
    assert_eq!(json["verified"], true, "{}\n{}", applied.stderr, dc.log());
    assert!(
        openssl_accepts(dc.pop3_port, "pop3", "-tls1", None),
        "POP3 accepts TLS 1.0 (old)"
    );
    assert!(
        !openssl_accepts(dc.imap_port, "imap", "-tls1_2", None),
        "IMAP refuses TLS 1.2 (modern)"
    );
    assert!(
        !openssl_accepts(dc.imaps_port, "none", "-tls1_2", None),
        "IMAPS refuses TLS 1.2 (modern)"
    );
    assert!(openssl_accepts(dc.imap_port, "imap", "-tls1_3", None));
    let doveconf = std::process::Command::new("doveconf")
        .arg("-c")
        .arg(&dc.config)
        .args(["-f", "protocol=pop3", "ssl_min_protocol"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&doveconf.stdout).trim(),
        "ssl_min_protocol = TLSv1"
    );

    let again = Mailtls::new(&state)
        .args([
            "--json",
            "-y",
            "apply",
            "--profile",
            "modern",
            "--listener-profile",
            "pop3=old",
            "--config",
        ])
        .args([&dc.config])
        .run()
        .code(0)
        .json();
    assert_eq!(again["changed"], false, "{again}");

    // A single IMAP listener cannot get its own floor: Dovecot sets TLS per protocol.
    let ran = Mailtls::new(&state)
        .args(["plan", "--profile", "modern", "--except"])
        .args([format!("{}=old:an old phone", dc.imaps_port)])
        .args(["--config"])
        .args([&dc.config])
        .run()
        .code(1);
    assert!(ran.stderr.contains("Dovecot sets TLS per protocol"), "{}", ran.stderr);
}

#[test]
fn cyrus_pop3_held_to_old_by_its_service_prefixed_options_while_imap_stays_intermediate() {
    let cyrus = support::Cyrus::start("");
    let mailtls = || {
        Mailtls::new(&cyrus.root.path().join("state"))
            .env("PATH", &cyrus.path_env())
            .env("LD_LIBRARY_PATH", &cyrus.library_path())
            .args([
                "--json",
                "-y",
                "apply",
                "--mta",
                "cyrus",
                "--listener-profile",
                "pop3=old",
                "--config",
            ])
            .args([&cyrus.config])
    };
    let applied = mailtls().run().code(0);
    let json = applied.json();
    assert_eq!(json["verified"], true, "{}\n{}", applied.stderr, cyrus.log());
    let conf = std::fs::read_to_string(&cyrus.config).unwrap();
    assert!(
        conf.contains("\npop3_tls_versions: tls1_0 tls1_1 tls1_2 tls1_3\n"),
        "{conf}"
    );
    assert!(
        openssl_accepts(cyrus.pop3_port, "pop3", "-tls1", None),
        "POP3 accepts TLS 1.0 (old)"
    );
    assert!(
        !openssl_accepts(cyrus.imap_port, "imap", "-tls1", None),
        "IMAP refuses TLS 1.0"
    );
    assert!(
        !openssl_accepts(cyrus.imaps_port, "none", "-tls1_1", None),
        "IMAPS refuses TLS 1.1"
    );
    let again = mailtls().run().code(0).json();
    assert_eq!(again["changed"], false, "{again}");
}

#[test]
fn exim_gnutls_port_25_intermediate_while_implicit_tls_submission_is_modern() {
    // Exim's default smtp_accept_max (20) answers the probe's parallel handshakes on the
    // second port with "421 Too many concurrent SMTP connections" while the first port's
    // connections are still being reaped; a busy real server has the same limit.
    let exim = support::Exim::new("smtp_accept_max = 100\n");
    let submissions = free_port();
    let text = std::fs::read_to_string(&exim.config).unwrap().replace(
        &format!("daemon_smtp_ports = {}\n", exim.port),
        &format!(
            "daemon_smtp_ports = {} : {submissions}\ntls_on_connect_ports = {submissions}\n",
            exim.port
        ),
    );
    std::fs::write(&exim.config, text).unwrap();
    exim.start();
    assert!(
        wait_for_port(submissions, std::time::Duration::from_secs(10)),
        "{}",
        exim.log("panic")
    );
    let mailtls = || {
        Mailtls::new(&exim.root.path().join("state"))
            .env("PATH", &exim.path_env())
            .args([
                "--json",
                "-y",
                "apply",
                "--profile",
                "modern",
                "--listener-profile",
                "smtp=intermediate",
                "--config",
            ])
            .args([&exim.config])
    };
    let applied = mailtls().run().code(0);
    let json = applied.json();
    assert_eq!(json["verified"], true, "{}\n{}", applied.stderr, exim.log("main"));
    assert!(
        openssl_accepts(exim.port, "smtp", "-tls1_2", None),
        "port 25's floor is intermediate"
    );
    assert!(!openssl_accepts(exim.port, "smtp", "-tls1_1", None));
    assert!(
        !openssl_accepts(submissions, "none", "-tls1_2", None),
        "submission is modern"
    );
    assert!(openssl_accepts(submissions, "none", "-tls1_3", None));
    let again = mailtls().run().code(0).json();
    assert_eq!(again["changed"], false, "{again}");
}
