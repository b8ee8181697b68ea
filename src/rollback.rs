//! Rollback: put a backup set's files back byte for byte, with their mode
//! and owner, after checking that nobody changed them since mailtls wrote
//! them; then reload and check the server still serves TLS.

use serde_json::json;
use similar::TextDiff;

use crate::error::{exit, Error, Result};
use crate::fsutil;
use crate::journal::{crashpoint, FileRecord, InstanceLocks, Journal, Manifest, ServiceRecord, SetState};
use crate::output::Output;
use crate::reload::Regenerate;
use crate::verify;

/// Rolls back under the journal's lock, after `recover::run` undid any
/// interrupted sets (`recovered`, their ids). `locks` holds the instance
/// locks taken so far; the set's own are added before anything is restored.
pub fn run(
    journal: &Journal,
    id: Option<&str>,
    force: bool,
    recovered: &[String],
    locks: &mut InstanceLocks,
    out: &Output,
) -> Result<u8> {
    if id.is_none() && !recovered.is_empty() {
        // The interrupted change was the latest one; undoing it was the rollback.
        out.result(&json!({"restored": [], "backup_id": recovered.last(), "recovered": recovered, "reloaded": null, "verified": null}));
        return Ok(exit::OK);
    }
    let mut manifest = match id {
        Some(id) => journal.find(id)?,
        None => journal.latest_live()?,
    };
    if manifest.state == SetState::RolledBack {
        return Err(Error::State(format!(
            "backup set {} was already rolled back",
            manifest.id
        )));
    }
    for service in &manifest.services {
        locks.hold(&service.instance)?;
    }
    let drift = drifted(&manifest)?;
    if !drift.is_empty() && !force {
        return Err(refuse_drift(
            &drift,
            "nothing was restored (see the diff above; --force restores anyway)",
            out,
        ));
    }
    manifest.in_progress = true;
    manifest.save()?;
    restore(&manifest)?;
    crashpoint("rollback-restored");
    let restored: Vec<String> = manifest.files.iter().map(|f| f.path.display().to_string()).collect();
    out.say(&format!(
        "Restored {} from backup {}.",
        restored.join(", "),
        manifest.id
    ));
    manifest.state = SetState::RolledBack;
    manifest.in_progress = false;
    manifest.note = Some("rolled back by `mailtls rollback`".into());
    manifest.save()?;

    let stopped = reload_running(&manifest, out)?;
    let reloaded = stopped.len() < manifest.services.len();
    let mut verified = None;
    for service in manifest
        .services
        .iter()
        .filter(|s| !stopped.iter().any(|t| t.instance == s.instance))
    {
        verify::wait_listening(&service.listeners, std::time::Duration::from_secs(15));
        match verify::serves_tls(&service.listeners) {
            Ok(summary) => {
                out.say(&format!("Verified: {summary}"));
                verified = verified.or(Some(true));
            }
            Err(failure) => {
                out.warn(&format!("after rollback: {failure}"));
                verified = Some(false);
            }
        }
    }
    out.result(&json!({"restored": restored, "backup_id": manifest.id, "reloaded": reloaded, "verified": verified}));
    Ok(if verified == Some(false) { exit::ERROR } else { exit::OK })
}

/// Restores the set unless someone changed one of its files since mailtls
/// wrote it: then nothing is restored, each diff is shown, and the error
/// says `then` (what became of the set). Automatic restores (recovery, a
/// failed apply) go through here; only `--force` skips the check.
pub fn restore_unless_drifted(manifest: &Manifest, then: &str, out: &Output) -> Result<()> {
    let drift = drifted(manifest)?;
    if !drift.is_empty() {
        return Err(refuse_drift(&drift, then, out));
    }
    restore(manifest)
}

fn refuse_drift(drift: &[String], then: &str, out: &Output) -> Error {
    for d in drift {
        out.say(d);
    }
    Error::Refused(format!(
        "{} changed since mailtls wrote it; {then}",
        if drift.len() == 1 { "a file" } else { "some files" }
    ))
}

/// The file a record's writes go to: the one it named when backed up.
fn target(record: &FileRecord) -> Result<std::path::PathBuf> {
    match &record.target {
        Some(target) => Ok(target.clone()),
        None => fsutil::target_of(&record.path),
    }
}

/// The files someone changed since apply wrote them, each as a diff (or
/// as one line, when the path now leads to another file).
pub fn drifted(manifest: &Manifest) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for record in &manifest.files {
        if record.sha256_after.is_none() {
            // Never written: whatever is there now is not ours to undo.
            continue;
        }
        let target = target(record)?;
        let now = fsutil::target_of(&record.path).ok();
        if now.as_ref() != Some(&target) && (record.existed || now.is_some()) {
            let elsewhere = now.map_or("nowhere".to_string(), |p| p.display().to_string());
            out.push(format!(
                "{} now leads to {elsewhere}, not to {} as when mailtls wrote it",
                record.path.display(),
                target.display()
            ));
            continue;
        }
        let live = match fsutil::read_nofollow(&target) {
            Err(e) if !record.existed && e.kind() == std::io::ErrorKind::NotFound => continue,
            other => other.map_err(Error::io(&target, "cannot read"))?,
        };
        let live_sha = fsutil::sha256_hex(&live);
        if live_sha == record.sha256_before || record.sha256_after.as_deref() == Some(live_sha.as_str()) {
            continue;
        }
        let wrote_path = manifest.dir.join(format!("{}.new", record.backup));
        let wrote = fsutil::read_nofollow(&wrote_path).unwrap_or_default();
        let wrote = String::from_utf8_lossy(&wrote);
        let live = String::from_utf8_lossy(&live);
        let path = record.path.display().to_string();
        let diff = TextDiff::from_lines(wrote.as_ref(), live.as_ref())
            .unified_diff()
            .header(&format!("{path} (as mailtls wrote it)"), &format!("{path} (now)"))
            .to_string();
        out.push(diff);
    }
    Ok(out)
}

/// Removes the temporary files (`.mailtls-*`) a killed run left beside the
/// set's files and in the set itself: half-written copies nobody will finish.
/// Runs under the set's instance locks, so no other mailtls is writing them.
pub fn remove_stale_temporaries(manifest: &Manifest) {
    let mut dirs: Vec<std::path::PathBuf> = manifest
        .files
        .iter()
        .filter_map(|r| target(r).ok()?.parent().map(|p| p.to_path_buf()))
        .collect();
    dirs.push(manifest.dir.clone());
    dirs.dedup();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let stale = entry.file_name().to_str().is_some_and(|n| n.starts_with(".mailtls-"))
                && entry.file_type().is_ok_and(|t| t.is_file());
            if stale {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Reloads every server of the set that is running; returns the ones that
/// are not (their restored files take effect when they start).
pub fn reload_running(manifest: &Manifest, out: &Output) -> Result<Vec<ServiceRecord>> {
    let mut stopped = Vec::new();
    for service in &manifest.services {
        if crate::mta::open(Some(service.mta), Some(&service.instance)).is_ok_and(|s| s.running()) {
            crate::mta::reload(&service.reload)?;
        } else {
            out.warn(&format!(
                "{} at {} is not running: its restored config takes effect when it starts",
                service.mta.name(),
                service.instance.display()
            ));
            stopped.push(service.clone());
        }
    }
    Ok(stopped)
}

/// Puts every file apply wrote back as it was, atomically, with its mode and
/// owner, and rebuilds what the server reads from them. Files already back to
/// their original content are left alone.
pub fn restore(manifest: &Manifest) -> Result<()> {
    for (n, record) in manifest.files.iter().enumerate() {
        if record.sha256_after.is_none() {
            // Apply stopped before it got to this file: whatever is there now is not ours to undo.
            continue;
        }
        let target = target(record)?;
        if !record.existed {
            match std::fs::remove_file(&target) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::Io {
                        path: record.path.clone(),
                        message: "cannot remove the file mailtls created",
                        source: e,
                    })
                }
                _ => continue,
            }
        }
        let original = manifest.original(record)?;
        let live = fsutil::read_nofollow(&target).ok();
        if live.as_deref() == Some(original.as_slice()) && fsutil::Ownership::of(&target).ok() == Some(record.owner) {
            continue;
        }
        fsutil::replace_exact(&target, &original, record.owner)?;
        crashpoint(&format!("restored-file-{}", n + 1));
    }
    manifest
        .services
        .iter()
        .filter_map(|s| s.regenerate.as_ref())
        .try_for_each(Regenerate::run)
}
