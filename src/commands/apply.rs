//! `mailtls apply`: resolves the target and hands it to the apply pipeline
//! (`crate::apply`), or to the guided flow at a terminal without `--yes`.

use crate::apply::{self as pipeline, ApplyOptions};
use crate::cli::{ApplyArgs, Global};
use crate::error::Result;
use crate::output::Output;
use crate::resolve;

use super::guided;

pub(crate) fn run(args: &ApplyArgs, global: &Global, out: &Output) -> Result<u8> {
    if guided::wanted(global, args) {
        return guided::run(args, global, out);
    }
    let resolved = resolve::target(&args.target, args.reload_command.as_deref())?;
    super::guard::for_target(&resolved, &args.target, out)?;
    let options = ApplyOptions {
        journal_root: &global.state_dir,
        yes: global.yes,
        check: args.check,
        no_reload: args.no_reload,
        no_verify: args.no_verify,
        max_lose_tls: args.max_lose_tls,
        watch: pipeline::watch_duration(args.watch.as_deref())?,
    };
    pipeline::run(resolved, options, out)
}
