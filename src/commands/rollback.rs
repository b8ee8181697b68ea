//! `mailtls rollback`: under the journal's lock, first undo any interrupted
//! change (`recover`), then restore the named or latest set (`crate::rollback`).

use crate::cli::{Global, RollbackArgs};
use crate::error::Result;
use crate::journal::{InstanceLocks, Journal};
use crate::output::Output;
use crate::{recover, rollback};

pub(crate) fn run(args: &RollbackArgs, global: &Global, out: &Output) -> Result<u8> {
    let journal = Journal::open(&global.state_dir)?;
    let _lock = journal.lock()?;
    let mut locks = InstanceLocks::default();
    let recovered = recover::run(&journal, &mut locks, args.force, out)?;
    rollback::run(
        &journal,
        args.backup_id.as_deref(),
        args.force,
        &recovered,
        &mut locks,
        out,
    )
}
