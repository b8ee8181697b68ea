//! The apply pipeline: lock, plan, show and confirm, validate with the
//! server's own checker, back up, replace files atomically, reload, verify,
//! and roll back by itself when verification fails.

use std::io::IsTerminal;
use std::os::unix::fs::DirBuilderExt;

use serde_json::json;

use crate::error::{exit, Error, Result};
use crate::fsutil::{self, Ownership};
use crate::journal::{FileRecord, Journal, Manifest, SetState};
use crate::mta::Server;
use crate::output::Output;
use crate::plan::Plan;
use crate::resolve::Resolved;
use crate::rollback;
use crate::verify;

/// What `apply` was told besides the target.
pub struct ApplyOptions<'a> {
    pub journal_root: &'a std::path::Path,
    pub yes: bool,
    pub check: bool,
    pub no_reload: bool,
    pub no_verify: bool,
}

pub fn run(resolved: Resolved, options: ApplyOptions<'_>, out: &Output) -> Result<u8> {
    let Resolved { server, request } = resolved;
    let journal = if options.check {
        None
    } else {
        Some(Journal::open(options.journal_root)?)
    };
    let _lock = journal.as_ref().map(Journal::lock).transpose()?;
    let plan = server.plan(&request)?;
    for warning in &plan.warnings {
        out.warn(warning);
    }
    if plan.is_noop() {
        out.say(&format!(
            "{} at {} already meets profile {:?}: nothing to change.",
            plan.mta,
            plan.instance.display(),
            plan.profile
        ));
        out.result(&json!({"changed": false, "backup_id": null, "files": [], "settings": [], "verified": null, "check": options.check}));
        return Ok(exit::OK);
    }
    show(&plan, out);
    if options.check {
        out.result(&json!({"changed": true, "check": true, "backup_id": null, "files": changed_paths(&plan), "settings": plan.settings, "verified": null}));
        return Ok(exit::CHANGES_PENDING);
    }
    let journal = journal.expect("opened unless --check");
    confirm(options.yes)?;
    server.validate(&plan)?;

    let mut manifest = back_up(&journal, &plan)?;
    write_files(&mut manifest, &plan)?;
    out.say(&format!(
        "Wrote {} (backup {}).",
        changed_paths(&plan).join(", "),
        manifest.id
    ));

    let reloaded = !options.no_reload && reload(&server, &mut manifest, out)?;
    let verified = if reloaded && !options.no_verify {
        match verify::against_profile(&plan.listeners, &request.profile, plan.expected_cert_sha256.as_deref()) {
            Ok(summary) => {
                out.say(&format!("Verified: {summary}"));
                manifest.state = SetState::Verified;
                manifest.note = Some(format!("verified: {summary}"));
                manifest.save()?;
                Some(true)
            }
            Err(failure) => return Err(undo(&manifest, &failure, out)),
        }
    } else {
        None
    };
    out.result(&json!({
        "changed": true,
        "backup_id": manifest.id,
        "files": changed_paths(&plan),
        "settings": plan.settings,
        "reloaded": reloaded,
        "verified": verified,
        "warnings": plan.warnings,
    }));
    Ok(exit::OK)
}

fn changed_paths(plan: &Plan) -> Vec<String> {
    plan.changed_files().map(|c| c.path.display().to_string()).collect()
}

fn show(plan: &Plan, out: &Output) {
    out.say(&plan.diff(out.color));
    for s in &plan.settings {
        out.say(&format!(
            "  {}: {} -> {}",
            s.name,
            s.before.as_deref().unwrap_or("(unset)"),
            s.after
        ));
    }
}

fn confirm(yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Error::Refused(
            "no terminal to ask for confirmation: add --yes to apply without asking".into(),
        ));
    }
    let go = dialoguer::Confirm::new()
        .with_prompt("Apply these changes?")
        .default(false)
        .interact()
        .map_err(|e| Error::Refused(format!("could not ask for confirmation: {e}")))?;
    if go {
        Ok(())
    } else {
        Err(Error::Refused("not applied: you said no".into()))
    }
}

/// Copies every file the plan changes into a new backup set (state `prepared`).
fn back_up(journal: &Journal, plan: &Plan) -> Result<Manifest> {
    let id = journal.new_id();
    let dir = journal.set_dir(&id);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(Error::io(&dir, "cannot create the backup set"))?;
    let mut files = Vec::new();
    for (n, change) in plan.changed_files().enumerate() {
        let created = change.before.is_empty() && !change.path.exists();
        let live = if created {
            Vec::new()
        } else {
            std::fs::read(&change.path).map_err(Error::io(&change.path, "cannot read"))?
        };
        if live != change.before.as_bytes() {
            return Err(Error::State(format!(
                "{} changed while mailtls was planning; run it again",
                change.path.display()
            )));
        }
        let backup = format!(
            "{n}-{}",
            change.path.file_name().and_then(|f| f.to_str()).unwrap_or("file")
        );
        fsutil::write_private(&dir.join(&backup), &live)?;
        fsutil::write_private(&dir.join(format!("{backup}.new")), change.after.as_bytes())?;
        files.push(FileRecord {
            path: change.path.clone(),
            backup,
            sha256_before: fsutil::sha256_hex(&live),
            sha256_after: None,
            owner: if created {
                new_file_owner(&change.path)?
            } else {
                Ownership::of(&change.path)?
            },
            created,
        });
    }
    let manifest = Manifest {
        id,
        created: crate::cert::rfc3339(time::OffsetDateTime::now_utc()),
        mta: serde_json::from_value(json!(plan.mta)).map_err(|e| Error::State(e.to_string()))?,
        instance: plan.instance.clone(),
        profile: plan.profile.clone(),
        state: SetState::Prepared,
        regenerate: plan.regenerate.clone(),
        reload: plan.reload.clone(),
        listeners: plan.listeners.clone(),
        files,
        note: None,
        dir,
    };
    manifest.save()?;
    Ok(manifest)
}

/// A file apply creates gets mode 0o644 and its folder's owner and group.
fn new_file_owner(path: &std::path::Path) -> Result<Ownership> {
    let dir = path.parent().unwrap_or(std::path::Path::new("/"));
    Ok(Ownership {
        mode: 0o644,
        ..Ownership::of(dir)?
    })
}

/// Replaces each file atomically, recording what was written before the next one.
fn write_files(manifest: &mut Manifest, plan: &Plan) -> Result<()> {
    for (index, change) in plan.changed_files().enumerate() {
        let live = if manifest.files[index].created && !change.path.exists() {
            Vec::new()
        } else {
            std::fs::read(&change.path).map_err(Error::io(&change.path, "cannot read"))?
        };
        if fsutil::sha256_hex(&live) != manifest.files[index].sha256_before {
            let err = Error::State(format!(
                "{} changed while mailtls was running; nothing more was written",
                change.path.display()
            ));
            return Err(restore_after(manifest, err));
        }
        manifest.files[index].sha256_after = Some(fsutil::sha256_hex(change.after.as_bytes()));
        manifest.save()?;
        if let Err(e) = fsutil::replace(&change.path, change.after.as_bytes(), manifest.files[index].owner) {
            return Err(restore_after(manifest, e));
        }
    }
    if let Some(regenerate) = &manifest.regenerate {
        if let Err(e) = regenerate.run() {
            return Err(restore_after(manifest, e));
        }
    }
    manifest.state = SetState::Applied;
    manifest.save()
}

/// A write failed part way: put back what was written, then report the first error.
fn restore_after(manifest: &mut Manifest, err: Error) -> Error {
    match rollback::restore(manifest) {
        Ok(()) => {
            manifest.state = SetState::RolledBack;
            manifest.note = Some(format!("apply failed and was undone: {err}"));
            let _ = manifest.save();
            err
        }
        Err(again) => Error::RollbackFailed {
            verify: err.to_string(),
            rollback: again.to_string(),
        },
    }
}

/// Reloads the server when it runs; returns whether it did.
fn reload(server: &Server, manifest: &mut Manifest, out: &Output) -> Result<bool> {
    if !server.running() {
        out.warn("the server is not running: the new config takes effect when it starts (not verified)");
        manifest.note = Some("written; server not running, not reloaded".into());
        manifest.save()?;
        return Ok(false);
    }
    if let Err(e) = manifest.reload.run() {
        return Err(undo(manifest, &format!("reload failed: {e}"), out));
    }
    Ok(true)
}

/// Verification or reload failed: restore the originals, reload, and say so.
fn undo(manifest: &Manifest, failure: &str, out: &Output) -> Error {
    out.warn(&format!("{failure}; rolling back"));
    let mut manifest = manifest.clone();
    let result = rollback::restore(&manifest).and_then(|()| manifest.reload.run());
    match result {
        Ok(()) => {
            manifest.state = SetState::RolledBack;
            manifest.note = Some(format!("rolled back automatically: {failure}"));
            let _ = manifest.save();
            Error::RolledBack(failure.to_string())
        }
        Err(e) => {
            manifest.note = Some(format!("automatic rollback failed: {e}"));
            let _ = manifest.save();
            Error::RollbackFailed {
                verify: failure.to_string(),
                rollback: e.to_string(),
            }
        }
    }
}
