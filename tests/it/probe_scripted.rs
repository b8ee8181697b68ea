//! The probe against scripted fake servers: legacy SSLv2/SSLv3 answers, 421
//! back-off, silence, garbage, disconnects, missing STARTTLS (tried once, not
//! once per job), and data injected after the STARTTLS go-ahead.
use crate::support;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::scripted::{
    alert, read_client_hello, serve, server_hello, smtp_until_starttls, sslv2_server_hello,
};
use mailtls::probe::{self, Proto, ScanOptions, Target, TargetReport, TlsStart};
use mailtls::tls::{CipherSuite, Protocol};

fn scan(port: u16, opts: ScanOptions) -> TargetReport {
    let target = Target {
        host: "127.0.0.1".into(),
        port,
        starttls: TlsStart::Starttls(Proto::Smtp),
    };
    probe::scan(&target, &opts)
}

fn quick() -> ScanOptions {
    ScanOptions {
        timeout: Duration::from_secs(2),
        busy_pause: Duration::from_millis(50),
        ..ScanOptions::default()
    }
}

/// SSLv3 with two suites, SSLv2 with two cipher kinds, nothing newer.
#[test]
fn legacy_server_hellos_are_recognised() {
    const SSLV3_SUITES: [u16; 2] = [0x000a, 0x0005];
    let port = serve(|mut s, _| {
        if !smtp_until_starttls(&mut s, true) {
            return;
        }
        let answer = match read_client_hello(&mut s) {
            Some((0x0002, _)) => sslv2_server_hello(&[[0x01, 0x00, 0x80], [0x07, 0x00, 0xc0]]),
            Some((0x0300, offered)) => match offered.iter().find(|c| SSLV3_SUITES.contains(c)) {
                Some(&suite) => server_hello(0x0300, suite),
                None => alert(40),
            },
            Some(_) => alert(70),
            None => return,
        };
        let _ = s.write_all(&answer);
    });
    let report = scan(port, quick());
    println!("{}", report.render());
    assert_eq!(report.error, None);
    let v2 = &report.protocols[&Protocol::SslV2];
    assert!(v2.accepted);
    assert_eq!(
        v2.sslv2_ciphers,
        ["SSL_CK_RC4_128_WITH_MD5", "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"]
    );
    let mut v3 = report.protocols[&Protocol::SslV3].cipher_suites.clone();
    v3.sort();
    assert_eq!(
        v3,
        [
            CipherSuite::TLS_RSA_WITH_RC4_128_SHA,
            CipherSuite::TLS_RSA_WITH_3DES_EDE_CBC_SHA
        ]
    );
    for p in [
        Protocol::TlsV1_0,
        Protocol::TlsV1_1,
        Protocol::TlsV1_2,
        Protocol::TlsV1_3,
    ] {
        assert!(!report.accepts(p), "{p}");
    }
    let ids: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
    assert!(
        ids.contains(&"protocol-sslv2") && ids.contains(&"protocol-sslv3"),
        "{ids:?}"
    );
}

#[test]
fn missing_starttls_is_reported_like_sslyze_does() {
    let port = serve(|mut s, _| {
        smtp_until_starttls(&mut s, false);
    });
    let report = scan(port, quick());
    assert_eq!(report.error.as_deref(), Some("STARTTLS not supported"));
    assert!(!report.starttls_offered);
    assert_eq!(report.findings[0].id, "starttls-not-offered");
    assert_eq!(report.findings[0].message, "SMTP STARTTLS not supported");
    let profile = mailtls::profile::Profile::load("intermediate").unwrap();
    assert_eq!(probe::judge(&report, &profile)[0].id, "profile-starttls-not-offered");
}

/// The jobs start beside the first handshake, but none connects before the
/// dialogue is known to work: a server without STARTTLS sees one connection,
/// one that is always busy only the first connection's retries.
#[test]
fn a_dialogue_that_fails_is_tried_once_not_once_per_job() {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let port = serve(move |mut s, _| {
        counter.fetch_add(1, Ordering::SeqCst);
        smtp_until_starttls(&mut s, false);
    });
    let report = scan(port, quick());
    assert_eq!(report.error.as_deref(), Some("STARTTLS not supported"));
    assert_eq!((seen.load(Ordering::SeqCst), report.connections), (1, 1));

    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let port = serve(move |mut s, _| {
        counter.fetch_add(1, Ordering::SeqCst);
        let _ = s.write_all(b"421 4.7.0 fake.example Error: too many connections\r\n");
    });
    let opts = quick();
    let report = scan(port, opts.clone());
    assert!(report.error.unwrap_or_default().contains("421"));
    let tries = opts.busy_retries as usize + 1;
    assert_eq!((seen.load(Ordering::SeqCst), report.connections), (tries, tries));
}

#[test]
fn busy_421_backs_off_lowers_concurrency_and_retries() {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let port = serve(move |mut s, n| {
        counter.fetch_add(1, Ordering::SeqCst);
        // The first two connections are turned away, as a loaded MTA would.
        if n < 2 {
            let _ = s.write_all(b"421 4.7.0 fake.example Error: too many connections\r\n");
            return;
        }
        if smtp_until_starttls(&mut s, true) && read_client_hello(&mut s).is_some() {
            let _ = s.write_all(&alert(40));
        }
    });
    let started = Instant::now();
    let report = scan(port, quick());
    assert_eq!(report.error, None, "{}", report.render());
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "paused 50 ms then 100 ms"
    );
    assert!(report.findings.iter().any(|f| f.id == "busy"), "{:?}", report.findings);
    assert!(seen.load(Ordering::SeqCst) > 2);
}

#[test]
fn always_busy_server_ends_in_a_clear_error() {
    let port = serve(|mut s, _| {
        let _ = s.write_all(b"421-fake.example busy\r\n421 come back later\r\n");
    });
    let report = scan(port, quick());
    let error = report.error.unwrap_or_default();
    assert!(error.contains("busy") && error.contains("421"), "{error}");
}

#[test]
fn silent_server_times_out_within_the_timeout() {
    let port = serve(|s, _| {
        std::thread::sleep(Duration::from_secs(5));
        drop(s);
    });
    let started = Instant::now();
    let opts = ScanOptions {
        timeout: Duration::from_secs(1),
        ..quick()
    };
    let report = scan(port, opts);
    assert!(
        started.elapsed() < Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report.error.as_deref(), Some("timed out waiting for the SMTP banner"));
}

#[test]
fn trickling_server_cannot_stretch_the_timeout() {
    let port = serve(|mut s, _| {
        for _ in 0..50 {
            if s.write_all(b"2").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let started = Instant::now();
    let opts = ScanOptions {
        timeout: Duration::from_secs(1),
        ..quick()
    };
    let report = scan(port, opts);
    assert!(started.elapsed() < Duration::from_millis(1900));
    assert!(report.error.unwrap_or_default().contains("timed out"));
}

#[test]
fn garbage_and_disconnects_are_clear_errors() {
    let garbage = serve(|mut s, _| {
        let _ = s.write_all(b"\x00\x01HELLO THERE, I AM NOT SMTP\r\n");
    });
    let error = scan(garbage, quick()).error.unwrap_or_default();
    assert!(
        error.starts_with("unexpected answer while waiting for the SMTP banner"),
        "{error}"
    );

    let hangup = serve(|s, _| drop(s));
    let error = scan(hangup, quick()).error.unwrap_or_default();
    assert_eq!(
        error,
        "the server closed the connection while we waited for the SMTP banner"
    );

    let garbage_tls = serve(|mut s, _| {
        if smtp_until_starttls(&mut s, true) && read_client_hello(&mut s).is_some() {
            let _ = s.write_all(b"this is not TLS at all, sorry\r\n");
        }
    });
    let error = scan(garbage_tls, quick()).error.unwrap_or_default();
    assert!(error.contains("not TLS") || error.contains("TLS handshake"), "{error}");

    let closed = support::free_port();
    let error = scan(closed, quick()).error.unwrap_or_default();
    assert!(error.starts_with("cannot connect"), "{error}");
}

#[test]
fn data_after_the_starttls_go_ahead_is_refused() {
    let injected = serve(|mut s, _| {
        let _ = s.write_all(b"220 fake.example ESMTP\r\n");
        let mut buf = [0u8; 512];
        let _ = std::io::Read::read(&mut s, &mut buf);
        let _ = s.write_all(b"250-fake.example\r\n250 STARTTLS\r\n");
        let _ = std::io::Read::read(&mut s, &mut buf);
        let _ = s.write_all(b"220 go ahead\r\n250 injected\r\n");
        std::thread::sleep(Duration::from_millis(200));
    });
    let report = scan(injected, quick());
    assert_eq!(
        report.error.as_deref(),
        Some("the server sent data after its STARTTLS go-ahead")
    );
    assert!(report.starttls_offered);
}

/// Regression: a TLS stack that waits in silence after an SSLv2 hello it
/// does not understand must read as "SSLv2 refused", not fail the scan.
#[test]
fn silence_after_an_sslv2_hello_is_a_refusal() {
    let port = serve(|mut s, _| {
        if !smtp_until_starttls(&mut s, true) {
            return;
        }
        match read_client_hello(&mut s) {
            Some((0x0002, _)) => std::thread::sleep(Duration::from_secs(3)),
            Some((0x0303, offered)) if offered.contains(&0xc02f) => {
                let _ = s.write_all(&server_hello(0x0303, 0xc02f));
            }
            _ => {
                let _ = s.write_all(&alert(40));
            }
        }
    });
    let opts = ScanOptions {
        timeout: Duration::from_secs(1),
        ..quick()
    };
    let report = scan(port, opts);
    assert_eq!(report.error, None, "{}", report.render());
    assert!(!report.accepts(Protocol::SslV2));
    assert_eq!(
        report.protocols[&Protocol::TlsV1_2].cipher_suites,
        [CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
    );
}
