//! mailtls: harden the TLS of a mail server in place, and prove the result.
//!
//! Table of contents:
//! - `tls`: protocol versions, cipher suites and groups (vocabulary, no I/O).
//! - `profile`: hardening profiles, loaded from TOML.
//! - `error`: the error type and exit codes.

pub mod error;
pub mod probe;
pub mod profile;
pub mod tls;

/// Runs mailtls with the given command line and returns the exit code.
pub fn run(_args: impl IntoIterator<Item = std::ffi::OsString>) -> u8 {
    0
}
