//! The subcommands, one file each. A command receives resolved values
//! (`crate::resolve`), calls the layers below (backends, the apply
//! pipeline, rollback, the journal, the probe) and reports through `Output`.
//! Nothing below this module prints a command's result.

mod apply;
mod completions;
mod detect;
mod guard;
mod guided;
mod history;
mod impact;
mod man;
mod plan;
pub mod probe;
mod profiles;
mod rollback;
mod tlsa;

use crate::cli::{ApplyArgs, Cli, Command};
use crate::error::Result;
use crate::journal::Journal;
use crate::output::Output;
use crate::{reload, resolve};

/// Runs the subcommand the command line names.
pub(crate) fn dispatch(cli: Cli, out: &Output) -> Result<u8> {
    let global = &cli.global;
    reload::set_reload_timeout(std::time::Duration::from_secs(global.reload_timeout));
    let command = match cli.command {
        Some(command) => command,
        // Someone at a terminal typed just `mailtls`: guide them; scripts get `detect`.
        None if guided::at_terminal() && !global.json => {
            return guided::run(&ApplyArgs::default(), global, out);
        }
        None => Command::Detect,
    };
    match command {
        Command::Detect => detect::run(out),
        Command::Plan(args) => match &args.from_scan {
            Some(report) => plan::from_scan(&args.target, report, out),
            None => {
                let resolved = resolve::target(&args.target, None)?;
                guard::for_target(&resolved, &args.target, out)?;
                plan::run(resolved, args.output, out)
            }
        },
        Command::Apply(args) => apply::run(&args, global, out),
        Command::Rollback(args) => rollback::run(&args, global, out),
        Command::History => history::run(Journal::existing(&global.state_dir)?, out),
        Command::Profiles { name } => profiles::run(name.as_deref(), out),
        Command::Probe(args) => probe::run(&args, global.json),
        Command::Impact(args) => impact::run(&args, global, out),
        Command::Completions { shell } => completions::run(shell),
        Command::Man => man::run(),
        Command::Tlsa(args) => tlsa::run(&args, out),
    }
}
