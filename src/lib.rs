//! mailtls: harden the TLS of a mail server in place, and prove the result.
//!
//! Table of contents:
//! - `cli`, `resolve`: the command line, parsed then resolved.
//! - `commands`, `apply`, `rollback`: what each subcommand does.
//! - `guided`, `table`: the guided flow at a terminal and its before/after table.
//! - `mta`: one backend per mail server (detect, plan, validate, reload).
//! - `edit`: layout-preserving config formats (no I/O).
//! - `plan`: the data a change is, before it is made.
//! - `journal`, `fsutil`: backup sets, the lock, atomic file replacement.
//! - `probe`, `verify`: the STARTTLS scanner and what apply checks with it.
//! - `dns`, `dane`, `mta_sts`: a DNSSEC-aware resolver client, TLSA and MTA-STS
//!   checks, the guard on certificate changes and `probe --mx`.
//! - `profile`, `tls`, `cert`: profiles, TLS vocabulary, certificate checks.
//! - `error`, `output`, `escape`: errors with exit codes; where text and JSON go;
//!   text from outside made safe for a terminal.

pub mod apply;
pub mod cert;
pub mod cli;
pub mod commands;
pub mod dane;
pub mod dns;
pub mod edit;
pub mod error;
pub mod escape;
pub mod fsutil;
pub mod guided;
pub mod journal;
pub mod mta;
pub mod mta_sts;
pub mod output;
pub mod plan;
pub mod probe;
pub mod profile;
pub mod recover;
pub mod resolve;
pub mod rollback;
pub mod table;
pub mod tls;
pub mod verify;

use std::ffi::OsString;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::{exit, Result};
use crate::output::Output;

/// Runs mailtls with the given command line and returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { exit::ERROR } else { exit::OK };
        }
    };
    let out = Output::new(&cli.global);
    let result = dispatch(cli, &out);
    out.progress_done();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}", out.paint(&format!("mailtls: {e}"), "31"));
            if out.json {
                println!("{}", serde_json::json!({"error": e.to_string(), "exit_code": e.code()}));
            }
            e.code()
        }
    }
}

fn dispatch(cli: Cli, out: &Output) -> Result<u8> {
    let global = &cli.global;
    mta::set_reload_timeout(std::time::Duration::from_secs(global.reload_timeout));
    let command = match cli.command {
        Some(command) => command,
        // Someone at a terminal typed just `mailtls`: guide them; scripts get `detect`.
        None if guided::at_terminal() && !global.json => {
            return guided::run(&cli::ApplyArgs::default(), global, out);
        }
        None => Command::Detect,
    };
    match command {
        Command::Detect => commands::detect(out),
        Command::Plan(target) => {
            let resolved = resolve::target(&target, None)?;
            dane::guard::for_target(&resolved, &target, out)?;
            commands::plan(resolved, out)
        }
        Command::Apply(args) if guided::wanted(global, &args) => guided::run(&args, global, out),
        Command::Apply(args) => {
            let resolved = resolve::target(&args.target, args.reload_command.as_deref())?;
            dane::guard::for_target(&resolved, &args.target, out)?;
            let options = apply::ApplyOptions {
                journal_root: &global.state_dir,
                yes: global.yes,
                check: args.check,
                no_reload: args.no_reload,
                no_verify: args.no_verify,
            };
            apply::run(resolved, options, out)
        }
        Command::Rollback(args) => {
            let journal = journal::Journal::open(&global.state_dir)?;
            rollback::run(&journal, args.backup_id.as_deref(), args.force, out)
        }
        Command::History => commands::history(journal::Journal::existing(&global.state_dir)?, out),
        Command::Profiles { name } => commands::profiles(name.as_deref(), out),
        Command::Probe(args) => probe::command::run(&args, global.json),
        Command::Tlsa(args) => dane::command::run(&args, out),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "mailtls",
                &mut std::io::stdout(),
            );
            Ok(exit::OK)
        }
        Command::Man => {
            let man = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command());
            man.render(&mut std::io::stdout())
                .map_err(error::Error::io("stdout", "cannot write the man page"))?;
            Ok(exit::OK)
        }
    }
}
