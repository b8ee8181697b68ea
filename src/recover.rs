//! Recovery from an interrupted run. A backup set still marked in progress
//! when mailtls starts belongs to a run that died (SIGKILL, power cut)
//! somewhere between its first write and its last word. mailtls cannot know
//! whether that run's verification passed, so it never "finishes" such a
//! change: it undoes it, the way `rollback --force` would, and says so.

use crate::error::Result;
use crate::journal::{Journal, SetState};
use crate::output::Output;
use crate::rollback;

/// Undoes every interrupted set; returns their ids. Runs under the lock.
pub fn run(journal: &Journal, out: &Output) -> Result<Vec<String>> {
    let mut undone = Vec::new();
    for mut manifest in journal.interrupted()? {
        let was = manifest.state.name();
        out.warn(&format!(
            "backup set {} was interrupted ({was}); undoing it before anything else",
            manifest.id
        ));
        rollback::restore(&manifest)?;
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
