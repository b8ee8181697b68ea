//! mailtls: harden the TLS of a mail server in place, and prove the result.
//!
//! Table of contents, top layer first (a module only uses those below it):
//! - `cli`, `resolve`: the command line, parsed then resolved.
//! - `commands`: one file per subcommand, and the guided flow at a terminal.
//! - `apply`, `rollback`, `recover`: the apply pipeline and its undo.
//! - `mta`: the backend contract, its registry and one folder per server
//!   (detect, plan, validate); `verify`: what apply checks with the probe;
//!   `journal`, `fsutil`: backup sets, the lock, atomic file replacement.
//! - `plan`: the data a change is; `edit`: layout-preserving config formats
//!   (no I/O); `probe`: the STARTTLS scanner; `reload`: reload and regenerate
//!   commands; `table`: the before/after table.
//! - `profile`, `floors`, `tls`, `cert`: profiles, per-listener floors and
//!   named exceptions, TLS names, certificate checks;
//!   `error`, `output`, `escape`: errors with exit codes, where text and JSON
//!   go, text from outside made safe for a terminal.
//! - `dns`, `dane`, `mta_sts`: a DNSSEC-aware resolver client, TLSA and
//!   MTA-STS checks, the guard on certificate changes and `probe --mx`.
//! - `impact`: who would lose TLS, from the servers' own logs; `report`:
//!   probe and plan results as Prometheus text or JUnit XML.
//! - `vocabulary`: the words every layer shares (server kind, listener, how
//!   TLS starts); it imports nothing of ours.

pub(crate) mod apply;
pub(crate) mod cert;
pub(crate) mod cli;
pub mod commands;
pub mod dane;
pub(crate) mod dns;
pub mod edit;
pub(crate) mod error;
pub(crate) mod escape;
pub mod floors;
pub(crate) mod fsutil;
pub(crate) mod impact;
pub(crate) mod journal;
pub(crate) mod mta;
pub(crate) mod mta_sts;
pub(crate) mod output;
pub(crate) mod plan;
pub mod probe;
pub mod profile;
pub(crate) mod recover;
pub(crate) mod reload;
pub(crate) mod report;
pub(crate) mod resolve;
pub(crate) mod rollback;
pub mod scanreport;
pub(crate) mod table;
pub mod tiers;
pub mod tls;
pub(crate) mod verify;
pub mod vocabulary;

use std::ffi::OsString;

use clap::Parser;

use crate::cli::Cli;
use crate::error::exit;
use crate::output::Output;

/// Runs mailtls with the given command line and returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> u8 {
    let args: Vec<OsString> = args.into_iter().collect();
    let nagios = report::nagios::requested(&args);
    if nagios {
        report::nagios::unknown_on_panic();
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if nagios && e.use_stderr() => return report::nagios::unknown(&usage_line(&e)),
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { exit::ERROR } else { exit::OK };
        }
    };
    let out = Output::new(&cli.global);
    let result = commands::dispatch(cli, &out);
    out.progress_done();
    match result {
        Ok(code) => code,
        Err(e) if nagios => report::nagios::unknown(&e.to_string()),
        Err(e) => {
            eprintln!("{}", out.paint(&format!("mailtls: {e}"), "31"));
            if out.json {
                println!("{}", serde_json::json!({"error": e.to_string(), "exit_code": e.code()}));
            }
            e.code()
        }
    }
}

/// clap's message as one line: its first line without the `error: ` prefix
/// (the rest is usage and a pointer to `--help`).
fn usage_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments");
    format!("usage: {}", first.trim().trim_start_matches("error: "))
}
