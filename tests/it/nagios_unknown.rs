//! Under `--output nagios` every failure is UNKNOWN: exit code 3 and one
//! `MAILTLS UNKNOWN - ...` line on stdout, nothing on stderr (Icinga 2
//! appends stderr to the plugin output). Before, a usage error from clap
//! exited 2 and an error before the scan exited 1, which a monitoring system
//! reads as WARNING or CRITICAL.

use crate::cmd::Mailtls;
use crate::support::free_port;

/// Runs mailtls with `args`, asserts the UNKNOWN contract and returns the line.
fn unknown(args: &[&str]) -> String {
    let state = tempfile::tempdir().unwrap();
    let ran = Mailtls::new(state.path()).args(args).run().code(3);
    assert_eq!(ran.stdout.lines().count(), 1, "one line: {}", ran.stdout);
    assert!(ran.stdout.starts_with("MAILTLS UNKNOWN - "), "{}", ran.stdout);
    assert!(!ran.stdout.contains('|'), "no perfdata without a scan: {}", ran.stdout);
    assert_eq!(ran.stderr, "", "nothing on stderr");
    ran.stdout
}

#[test]
fn usage_errors_from_clap_are_unknown() {
    let target = format!("127.0.0.1:{}", free_port());
    let line = unknown(&["probe", "--output", "nagios", "--no-such-flag", &target]);
    assert!(line.contains("usage: ") && line.contains("--no-such-flag"), "{line}");
    let line = unknown(&["probe", "--output", "nagios", "--warn-days", "soon", &target]);
    assert!(line.contains("soon"), "{line}");
    let line = unknown(&["probe", "--output", "nagios", "--crit-severity", "dire", &target]);
    assert!(line.contains("dire"), "{line}");
    // The `=` form, and a flag before the subcommand's own ones.
    unknown(&["probe", "--output=nagios", "--timeout", &target]);
    // `--output nagios` where no subcommand takes it.
    unknown(&["plan", "--output", "nagios", "--bogus"]);
}

#[test]
fn errors_before_the_scan_are_unknown() {
    let target = format!("127.0.0.1:{}", free_port());
    let line = unknown(&["probe", "--output", "nagios", "--profile", "no-such-profile", &target]);
    assert!(line.contains("no-such-profile"), "{line}");
    // A CA file that cannot be read fails the scan: UNKNOWN as well.
    unknown(&[
        "probe",
        "--output",
        "nagios",
        "--ca-file",
        "/nonexistent/ca.pem",
        &target,
    ]);
    unknown(&["probe", "--output", "nagios", "--mx", "example.org"]);
    unknown(&["probe", "--output", "nagios"]);
}

#[test]
fn help_is_not_a_failure() {
    let state = tempfile::tempdir().unwrap();
    let ran = Mailtls::new(state.path())
        .args(["probe", "--output", "nagios", "--help"])
        .run()
        .code(0);
    assert!(ran.stdout.contains("--warn-days"), "{}", ran.stdout);
}
