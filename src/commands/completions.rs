//! `mailtls completions SHELL`: a completion script generated from the clap definitions.

use crate::cli::Cli;
use crate::error::{exit, Result};

pub(crate) fn run(shell: clap_complete::Shell) -> Result<u8> {
    clap_complete::generate(
        shell,
        &mut <Cli as clap::CommandFactory>::command(),
        "mailtls",
        &mut std::io::stdout(),
    );
    Ok(exit::OK)
}
