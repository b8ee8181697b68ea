//! Hostile input against the real binary (issue 15, items 5, 6 and 8): a
//! server whose banner and certificate carry terminal escape sequences,
//! numbers that would overflow a deadline, certificate "files" that never
//! end, keys others may read or replace, and secret files given as configs.
//! Each ends in a clear one-line message; nothing panics, hangs or leaks.
use crate::support;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cmd::{snapshot, Mailtls};
use crate::support::scripted::{serve, smtp_until_starttls_after};
use crate::support::{run, Postfix};

const ESC: u8 = 0x1b;
/// RIGHT-TO-LEFT OVERRIDE, in UTF-8.
const RLO: &str = "\u{202e}";

fn probe() -> Mailtls {
    let state = std::env::temp_dir().join("mailtls-hostile-unused-state");
    Mailtls::new(&state)
}

/// A self-signed certificate whose subject holds an OSC title sequence, a
/// clear-screen, a BEL and a right-to-left override (`openssl req -utf8`).
fn hostile_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("evil.pem"), dir.join("evil.key"));
    run(Command::new("openssl")
        .args(["req", "-x509", "-nodes", "-days", "30", "-utf8"])
        .args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
        .args(["-subj", &format!("/CN=evil\x1b]0;pwned\x07\x1b[2J/O=moc.elgoog{RLO}x")])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    (cert, key)
}

fn tls_config(cert: &Path, key: &Path) -> Arc<rustls::ServerConfig> {
    use rustls_pki_types::pem::PemObject;
    let certs = rustls_pki_types::CertificateDer::pem_file_iter(cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls_pki_types::PrivateKeyDer::from_pem_file(key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    Arc::new(config)
}

/// What the run printed has no raw ESC, BEL or bidi override byte.
fn assert_inert(what: &str, bytes: &str) {
    assert!(
        !bytes.as_bytes().contains(&ESC) && !bytes.contains('\x07') && !bytes.contains(RLO),
        "{what} carries raw control characters: {bytes:?}"
    );
}

#[test]
fn a_hostile_server_cannot_write_escape_sequences_to_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = hostile_certificate(dir.path());
    let config = tls_config(&cert, &key);
    // One server completes STARTTLS and serves the certificate after a banner with escapes.
    let tls_port = serve(move |mut stream, _| {
        let banner = format!("220-\x1b]0;banner title\x07 hostile\r\n220 {RLO}ok\r\n");
        if !smtp_until_starttls_after(&mut stream, banner.as_bytes(), true) {
            return;
        }
        let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
            return;
        };
        let mut tls = rustls::StreamOwned::new(conn, stream);
        let mut sink = [0u8; 512];
        while matches!(tls.read(&mut sink), Ok(n) if n > 0) {}
    });
    // The other refuses us with a reply full of escapes: it ends in the error text.
    let refusing_port = serve(|mut stream, _| {
        let _ = stream.write_all(format!("554 \x1b]52;c;cm0gLXJmIH4=\x07\x1b[8mgo away{RLO}\r\n").as_bytes());
    });
    let targets = [format!("127.0.0.1:{tls_port}"), format!("127.0.0.1:{refusing_port}")];

    let human = probe()
        .args([
            "probe",
            "--starttls",
            "smtp",
            "--timeout",
            "5",
            "--servername",
            "localhost",
        ])
        .args(&targets)
        .status(1)
        .run();
    assert_inert("stdout", &human.stdout);
    assert_inert("stderr", &human.stderr);
    assert!(
        human.stdout.contains("CN=evil\\x1b]0;pwned\\x07\\x1b[2J") && human.stdout.contains("moc.elgoog\\u{202e}x"),
        "the subject shows escaped:\n{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("52;c;cm0gLXJmIH4=") && human.stdout.contains("Summary (2 targets)"),
        "the refusal shows escaped, in the report and the summary:\n{}",
        human.stdout
    );

    // --json stays exact: the subject as the certificate has it (serde escapes it as \u001b).
    let json = probe()
        .args([
            "--json",
            "probe",
            "--starttls",
            "smtp",
            "--timeout",
            "5",
            "--servername",
            "localhost",
        ])
        .args(&targets[..1])
        .status(0)
        .run()
        .json();
    let subject = json["targets"][0]["certificate"]["subject"].as_str().unwrap();
    assert!(
        subject.contains("evil\x1b]0;pwned\x07") && subject.contains(RLO),
        "{subject:?}"
    );
}

/// A config value with escapes (a certificate path in main.cf) ends up in
/// an error message: it prints escaped.
#[test]
fn error_text_quoting_a_config_value_is_escaped() {
    let pf = Postfix::new();
    pf.postconf_e(&["smtpd_tls_cert_file=/nowhere/x\x1b]0;title\x07\u{202e}y/c.pem"]);
    let ran = Mailtls::new(&pf.root.path().join("state"))
        .args(["plan", "--config"])
        .args([&pf.config_dir])
        .status(1)
        .run();
    assert_inert("stderr", &ran.stderr);
    assert!(ran.stderr.contains("x\\x1b]0;title\\x07\\u{202e}y"), "{}", ran.stderr);
}

/// Every option that takes a number refuses 0 and values past its bound,
/// u64::MAX and beyond it included, at once and without a panic.
#[test]
fn numbers_out_of_range_are_refused_when_parsed() {
    let cases: [(&[&str], &[&str]); 4] = [
        (&["probe", "127.0.0.1:9"], &["--timeout"]),
        (&["--reload-timeout"], &[]),
        (&["probe", "127.0.0.1:9"], &["--concurrency"]),
        (&["probe", "127.0.0.1:9"], &["--connections-per-target"]),
    ];
    for (before, option) in cases {
        for value in ["0", "3601", "100000", "18446744073709551615", "99999999999999999999999"] {
            let mut args: Vec<&str> = before.to_vec();
            args.extend(option);
            args.push(value);
            if option.is_empty() {
                args.extend(["apply", "--check"]);
            }
            let started = Instant::now();
            let ran = probe().args(&args).run();
            let shown = args.join(" ");
            assert_eq!(ran.code, 1, "mailtls {shown}: {}{}", ran.stdout, ran.stderr);
            assert!(
                ran.stderr.starts_with("error: invalid value") && !ran.stderr.contains("panicked"),
                "mailtls {shown}: {}",
                ran.stderr
            );
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "mailtls {shown} took {:?}",
                started.elapsed()
            );
        }
    }
    // The bounds themselves are accepted: a scan that fails on a closed port, not a usage error.
    probe()
        .args([
            "probe",
            "--timeout",
            "3600",
            "--concurrency",
            "256",
            "--connections-per-target",
            "64",
        ])
        .args(["--starttls", "smtp", &format!("127.0.0.1:{}", support::free_port())])
        .status(1)
        .run();
}

/// `--cert /dev/zero`, a FIFO nobody writes, and a file past the 1 MiB cap
/// fail at once with the reason; the config is untouched.
#[test]
fn certificate_files_that_never_end_fail_fast() {
    let pf = Postfix::new();
    let state = pf.root.path().join("state");
    let before = snapshot(&pf.config_dir);
    let fifo = pf.root.path().join("fifo.pem");
    run(Command::new("mkfifo").arg(&fifo));
    let big = pf.root.path().join("big.pem");
    let mut text = std::fs::read(&pf.cert).unwrap();
    while text.len() <= 1 << 20 {
        text.extend_from_within(..);
    }
    std::fs::write(&big, text).unwrap();
    for (cert, key, says) in [
        (Path::new("/dev/zero"), pf.key.as_path(), "not a regular file"),
        (pf.cert.as_path(), Path::new("/dev/zero"), "not a regular file"),
        (fifo.as_path(), pf.key.as_path(), "not a regular file"),
        (big.as_path(), pf.key.as_path(), "bytes"),
    ] {
        let started = Instant::now();
        let ran = Mailtls::new(&state)
            .args(["-y", "apply", "--no-reload", "--config"])
            .args([&pf.config_dir])
            .arg_pair("--cert", cert)
            .arg_pair("--key", key)
            .status(1)
            .run();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{cert:?} took {:?}",
            started.elapsed()
        );
        assert!(
            ran.stderr.contains(says) && ran.stderr.trim_end().lines().count() == 1,
            "{}",
            ran.stderr
        );
    }
    assert_eq!(snapshot(&pf.config_dir), before);
}

/// Postfix reads its key as root: a key its group may read (other than
/// Debian's ssl-cert), or that another user owns, is refused; 0640 with
/// group ssl-cert (the snakeoil key's way) is accepted. Exim's
/// `root:Debian-exim 0640` is accepted by tests/exim_e2e.rs and tests/config_paths.rs.
#[test]
fn keys_others_may_read_or_replace_are_refused() {
    let pf = Postfix::new();
    let state = pf.root.path().join("state");
    let before = snapshot(&pf.config_dir);
    let plan = |key: &Path| {
        Mailtls::new(&state)
            .args(["plan", "--config"])
            .args([&pf.config_dir])
            .arg_pair("--cert", &pf.cert)
            .arg_pair("--key", key)
            .run()
    };
    let key = pf.root.path().join("copy.key");
    std::fs::copy(&pf.key, &key).unwrap();
    let set = |owner: &str, mode: u32| {
        run(Command::new("chown").arg(owner).arg(&key));
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
    };

    set("root:adm", 0o640);
    let ran = plan(&key).code(1);
    assert!(
        ran.stderr.contains("readable by group adm") && ran.stderr.contains("chmod g-rwx"),
        "{}",
        ran.stderr
    );
    set("root:root", 0o604);
    assert!(plan(&key).code(1).stderr.contains("readable by everyone"));
    set("root:root", 0o602);
    assert!(plan(&key).code(1).stderr.contains("writable by everyone"));
    set("root:ssl-cert", 0o660);
    assert!(plan(&key).code(1).stderr.contains("writable by its group"));
    set("nobody:root", 0o600);
    let ran = plan(&key).code(1);
    assert!(
        ran.stderr.contains("owned by nobody") && ran.stderr.contains("chown root"),
        "{}",
        ran.stderr
    );
    set("root:ssl-cert", 0o640);
    plan(&key).code(2);
    set("root:root", 0o600);
    plan(&key).code(2);
    assert_eq!(snapshot(&pf.config_dir), before);
}

/// A secret file given as any server's config is refused without a line of
/// it in the output (Sendmail's m4 used to copy it whole into the diff).
#[test]
fn a_file_that_is_not_a_config_is_never_quoted() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "root:$y$j9T$SECRETHASHSECRETHASH:20228:0:99999:7:::\nalice:$y$j9T$ALICEHASH:20228:0:99999:7:::\n";
    let shadow = dir.path().join("shadow");
    std::fs::write(&shadow, secret).unwrap();
    // Postfix takes a folder: give it one whose main.cf is that file.
    let postfix_dir = dir.path().join("postfix");
    std::fs::create_dir(&postfix_dir).unwrap();
    std::fs::write(postfix_dir.join("main.cf"), secret).unwrap();
    std::fs::write(postfix_dir.join("master.cf"), "").unwrap();
    let state = dir.path().join("state");
    let mut files = vec![("postfix", postfix_dir.clone())];
    for mta in ["exim", "sendmail", "opensmtpd", "dovecot", "cyrus"] {
        files.push((mta, shadow.clone()));
    }
    if Path::new("/etc/shadow").is_file() {
        for mta in ["exim", "sendmail", "opensmtpd", "dovecot", "cyrus"] {
            files.push((mta, PathBuf::from("/etc/shadow")));
        }
    }
    for (mta, config) in files {
        let ran = Mailtls::new(&state)
            .args(["plan", "--mta", mta, "--config"])
            .args([&config])
            .status(1)
            .run();
        let printed = format!("{}{}", ran.stdout, ran.stderr);
        assert!(
            printed.contains("does not look like") && !printed.contains("HASH") && !printed.contains("root:"),
            "{mta} {}: {printed}",
            config.display()
        );
    }
}
