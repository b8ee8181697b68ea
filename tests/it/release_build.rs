//! The test hooks (`MAILTLS_TEST_CRASH_AT`, `MAILTLS_TEST_RUN_AT`,
//! `MAILTLS_TEST_RUN`) are compiled only with the `fault-injection` feature
//! (`src/journal/fault.rs`). `cargo test` turns it on through the crate's
//! own dev-dependency; this checks that nothing else does, so a release
//! build (`cargo build --release`, `cargo install`, `scripts/build-deb`,
//! which also greps its binary for the names) has no hooks at all.

use std::process::Command;

/// `cargo tree` of this package's features along the given kinds of edges.
fn features(edges: &str) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--locked",
            "--prefix",
            "none",
            "--package",
            "mailtls",
            "--edges",
        ])
        .arg(format!("features,{edges}"))
        .arg("--manifest-path")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn only_the_tests_turn_the_fault_injection_hooks_on() {
    const FEATURE: &str = "mailtls feature \"fault-injection\"";
    let release = features("normal,build");
    assert!(release.contains("mailtls v"), "{release}");
    assert!(
        !release.contains(FEATURE),
        "a release build would have the test hooks:\n{release}"
    );
    let tests = features("normal,build,dev");
    assert!(
        tests.contains(FEATURE),
        "the tests would run without their hooks:\n{tests}"
    );
}
