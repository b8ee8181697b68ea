//! The progress bars on stderr, in a real terminal (a tmux pane, recorded
//! byte for byte with `pipe-pane`): a fleet probe of three loopback targets
//! (a private Postfix and a private Dovecot's IMAP and IMAPS ports) draws
//! `[n/3]`, and `impact` reading a log of more than 8 MiB draws `Reading
//! FILE ... MiB`; both bars are erased when done. With stderr sent to a pipe
//! (stdout still the terminal) neither bar nor any escape code appears.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{Dovecot, Pane, Postfix};

fn mailtls(state: &Path, args: &str) -> String {
    format!(
        "NO_COLOR=1 '{}' --state-dir '{}' {args}",
        env!("CARGO_BIN_EXE_mailtls"),
        state.display()
    )
}

/// Runs `command` in a recorded pane; returns its exit code, the bytes it
/// wrote to the terminal and the screen left at the end.
fn at_terminal(name: &str, command: &str, dir: &Path) -> (i32, String, String) {
    let raw = dir.join(format!("{name}.raw"));
    let pane = Pane::recorded(name, command, &raw);
    let (code, screen) = pane.finish();
    // pipe-pane copies asynchronously: wait for the `[exit N]` line to arrive.
    let deadline = Instant::now() + Duration::from_secs(10);
    let bytes = loop {
        let bytes = String::from_utf8_lossy(&std::fs::read(&raw).unwrap_or_default()).into_owned();
        if bytes.contains("[exit ") || Instant::now() > deadline {
            break bytes;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (code, bytes, screen)
}

/// The text of the screen before the `[exit N]` line.
fn before_exit(screen: &str) -> &str {
    screen.split("[exit ").next().unwrap()
}

#[test]
fn fleet_probe_draws_a_bar_only_on_a_terminal() {
    let pf = Postfix::new();
    pf.start();
    let dc = Dovecot::start("");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let probe = mailtls(
        &state,
        &format!(
            "probe --concurrency 1 --servername localhost 127.0.0.1:{} 127.0.0.1:{} 127.0.0.1:{}",
            pf.port, dc.imap_port, dc.imaps_port
        ),
    );

    let (code, raw, screen) = at_terminal("probe-tty", &probe, dir.path());
    assert!(raw.contains("/3] "), "no [n/3] bar in what was written:\n{raw:?}");
    assert!(raw.contains('\x1b'), "the bar is redrawn with escape codes:\n{raw:?}");
    assert!(screen.contains("Summary (3 targets):"), "{screen}");
    assert!(
        !before_exit(&screen).contains("/3] "),
        "the bar is erased when done:\n{screen}"
    );

    let err = dir.path().join("probe.err");
    let piped = format!("{probe} 2> '{}'", err.display());
    let (piped_code, raw, screen) = at_terminal("probe-pipe", &piped, dir.path());
    assert_eq!(piped_code, code, "{screen}");
    assert!(screen.contains("Summary (3 targets):"), "{screen}");
    assert!(!raw.contains("/3] "), "a bar with stderr on a pipe:\n{raw:?}");
    let err = std::fs::read_to_string(&err).unwrap();
    assert!(!err.contains('\x1b') && !err.contains("/3]"), "{err:?}");
}

/// A Postfix log of about 20 MiB: TLS lines from 200 peers.
fn large_log(path: &Path) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..140_000u32 {
        let peer = i % 200;
        let (version, cipher) = if peer % 4 == 0 {
            ("TLSv1", "ECDHE-RSA-AES256-SHA")
        } else {
            ("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384")
        };
        writeln!(
            out,
            "Nov 30 {:02}:{:02}:{:02} mx1 postfix/smtpd[{}]: Anonymous TLS connection established from \
             peer{peer}.example.net[192.0.2.{peer}]: {version} with cipher {cipher} (256/256 bits)",
            i / 7200 % 24,
            i / 60 % 60,
            i % 60,
            1000 + i % 5000,
        )
        .unwrap();
    }
}

#[test]
fn impact_of_a_large_log_draws_a_bar_only_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    large_log(&log);
    assert!(std::fs::metadata(&log).unwrap().len() > 8 << 20);
    let state = dir.path().join("state");
    let impact = mailtls(&state, &format!("impact --mta postfix --log '{}'", log.display()));

    let (code, raw, screen) = at_terminal("impact-tty", &impact, dir.path());
    assert_eq!(code, 0, "{screen}");
    let reading = format!("Reading {}", log.display());
    assert!(raw.contains(&reading), "no bar in what was written:\n{raw:?}");
    assert!(raw.contains("MiB"), "the bar counts bytes:\n{raw:?}");
    assert!(
        !before_exit(&screen).contains(&reading),
        "the bar is erased when done:\n{screen}"
    );
    assert!(screen.contains("192.0.2.4"), "{screen}");

    let err = dir.path().join("impact.err");
    let piped = format!("{impact} 2> '{}'", err.display());
    let (code, raw, screen) = at_terminal("impact-pipe", &piped, dir.path());
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("192.0.2.4"), "{screen}");
    assert!(!raw.contains("Reading "), "a bar with stderr on a pipe:\n{raw:?}");
    let err = std::fs::read_to_string(&err).unwrap();
    assert!(!err.contains('\x1b') && !err.contains("Reading "), "{err:?}");
}
