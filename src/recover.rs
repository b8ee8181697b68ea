//! Recovery from an interrupted run. A backup set still marked in progress
//! when mailtls starts belongs to a run that died (SIGKILL, power cut)
//! somewhere between its first write and its last word. mailtls cannot know
//! whether that run's verification passed, so it never "finishes" such a
//! change: it undoes it, the way `rollback` would, and says so. Like
//! `rollback`, it never overwrites a file someone changed since mailtls
//! wrote it: it shows the diff, leaves the set interrupted and stops (exit
//! 1) until the admin decides (`rollback --force` puts the backup back).

use crate::error::Result;
use crate::journal::{InstanceLocks, Journal, SetState};
use crate::output::Output;
use crate::rollback;

/// Undoes every interrupted set; returns their ids. Runs under the state
/// directory's lock and takes each set's instance locks. `force` (from
/// `rollback --force`) restores over an admin's edits.
pub fn run(journal: &Journal, locks: &mut InstanceLocks, force: bool, out: &Output) -> Result<Vec<String>> {
    let mut undone = Vec::new();
    for mut manifest in journal.interrupted()? {
        for service in &manifest.services {
            locks.hold(&service.instance)?;
        }
        let was = manifest.state.name();
        out.warn(&format!(
            "backup set {} was interrupted ({was}); undoing it before anything else",
            manifest.id
        ));
        if force {
            rollback::restore(&manifest)?;
        } else {
            rollback::restore_unless_drifted(
                &manifest,
                &format!(
                    "the interrupted change {} was not undone (see the diff above); `mailtls rollback --force` puts the backup back over it",
                    manifest.id
                ),
                out,
            )?;
        }
        rollback::remove_stale_temporaries(&manifest);
        rollback::reload_running(&manifest, out)?;
        manifest.state = SetState::RolledBack;
        manifest.in_progress = false;
        manifest.note = Some(format!("interrupted while {was}; undone by the next mailtls run"));
        manifest.save()?;
        out.say(&format!(
            "Undid interrupted change {}: the previous config is back.",
            manifest.id
        ));
        undone.push(manifest.id);
    }
    Ok(undone)
}
