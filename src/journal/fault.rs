//! Test-only hooks at the named steps of apply and rollback, so tests can
//! force what would otherwise be a race: with `MAILTLS_TEST_CRASH_AT=STEP`
//! the process kills itself (SIGKILL, as a power cut would) at that step;
//! with `MAILTLS_TEST_RUN_AT=STEP` it first runs `MAILTLS_TEST_RUN` (an
//! admin's edit landing mid-run, a disk filling up, a file swapped for a
//! symlink).
//!
//! They exist only in builds with the `fault-injection` feature, which only
//! the crate's own dev-dependency turns on: `cargo test` has them, a release
//! build (`cargo build --release`, `cargo install`, `scripts/build-deb`)
//! does not even contain the variables' names.

/// A named step: a no-op unless the build has `fault-injection`.
#[cfg(feature = "fault-injection")]
pub fn crashpoint(step: &str) {
    if std::env::var("MAILTLS_TEST_RUN_AT").is_ok_and(|s| s == step) {
        if let Ok(command) = std::env::var("MAILTLS_TEST_RUN") {
            let _ = std::process::Command::new("/bin/sh").arg("-c").arg(command).status();
        }
    }
    if std::env::var("MAILTLS_TEST_CRASH_AT").is_ok_and(|s| s == step) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}

/// A named step: a no-op unless the build has `fault-injection`.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn crashpoint(_step: &str) {}
