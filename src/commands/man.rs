//! `mailtls man`: the man page (roff) generated from the clap definitions.

use crate::cli::Cli;
use crate::error::{exit, Error, Result};

pub(crate) fn run() -> Result<u8> {
    let man = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command());
    man.render(&mut std::io::stdout())
        .map_err(Error::io("stdout", "cannot write the man page"))?;
    Ok(exit::OK)
}
