//! The apply pipeline: lock, plan every server, show and confirm, validate
//! with each server's own checker, back up, replace files atomically,
//! reload, verify, and roll everything back when any verification fails.

use std::io::IsTerminal;

use serde_json::json;

use crate::error::{exit, Error, Result};
use crate::fsutil::{self, Ownership};
use crate::journal::{crashpoint, FileRecord, InstanceLocks, Journal, Manifest, ServiceRecord, SetState};
use crate::mta::Instance;
use crate::output::Output;
use crate::plan::HostPlan;
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
    /// Refuse when more peers than this would lose TLS (`impact`).
    pub max_lose_tls: Option<usize>,
    /// Read the logs this long after the reload; roll back on new handshake failures.
    pub watch: Option<std::time::Duration>,
}

/// `--watch DURATION`, parsed like `impact --since`.
pub fn watch_duration(text: Option<&str>) -> Result<Option<std::time::Duration>> {
    text.map(|t| crate::impact::analysis::parse_duration(t).map(|(s, _)| std::time::Duration::from_secs(s as u64)))
        .transpose()
}

pub fn run(resolved: Resolved, options: ApplyOptions<'_>, out: &Output) -> Result<u8> {
    run_plans(resolved, None, options, out)
}

/// `run` with the plans made elsewhere, one per server in order (`impact
/// --enable-logging` plans log settings, not a profile): the same backup,
/// write, reload, verify and rollback.
pub fn run_plans(resolved: Resolved, planned: Option<HostPlan>, options: ApplyOptions<'_>, out: &Output) -> Result<u8> {
    let Resolved { servers, request } = resolved;
    let journal = if options.check {
        None
    } else {
        Some(Journal::open(options.journal_root)?)
    };
    let _lock = journal.as_ref().map(Journal::lock).transpose()?;
    // Held until apply ends, so that no other mailtls (whatever its --state-dir) changes these servers meanwhile.
    let mut locks = InstanceLocks::default();
    if let Some(journal) = &journal {
        for server in &servers {
            locks.hold(&server.instance())?;
        }
        crate::recover::run(journal, &mut locks, false, out)?;
    } else if Journal::existing(options.journal_root)?.is_some_and(|j| j.interrupted().is_ok_and(|i| !i.is_empty())) {
        out.warn("an interrupted mailtls run left a change half done; the next apply or rollback undoes it first");
    }
    let host = match planned {
        Some(host) => host,
        None => crate::mta::plan_all(&servers, &request)?,
    };
    for warning in host.warnings() {
        out.warn(warning);
    }
    if host.is_noop() {
        out.say(&host.nothing_to_do(&request.profile.name));
        for line in host.floor_lines() {
            out.say(&line);
        }
        out.result(&json!({"changed": false, "check": options.check, "backup_id": null, "files": [], "settings": [], "verified": null, "floors": host.floors(), "servers": host.servers_json()}));
        return Ok(exit::OK);
    }
    show(&host, out);
    let impact = crate::impact::flow::of(&servers, &request.profile);
    if let Some(impact) = &impact {
        crate::impact::flow::show(impact, out);
    }
    if let Some(max) = options.max_lose_tls {
        crate::impact::flow::enforce_max(impact.as_ref(), max)?;
    }
    if options.check {
        out.result(&json!({"changed": true, "check": true, "backup_id": null, "files": host.changed_paths(), "settings": host.settings(), "verified": null, "diff": host.diff(false), "file_diffs": host.file_diffs(), "floors": host.floors(), "servers": host.servers_json()}));
        return Ok(exit::CHANGES_PENDING);
    }
    let journal = journal.expect("opened unless --check");
    confirm(options.yes)?;
    for (server, plan) in servers.iter().zip(&host.plans) {
        if !plan.is_noop() {
            server.validate(plan)?;
        }
    }

    let mut manifest = back_up(&journal, &host, &request.profile.name)?;
    crashpoint("backed-up");
    write_files(&mut manifest, &host, out)?;
    crashpoint("written");
    out.say(&format!(
        "Wrote {} (backup {}).",
        host.changed_paths().join(", "),
        manifest.id
    ));

    out.progress("Reloading…");
    let reloaded = if options.no_reload {
        Vec::new()
    } else {
        reload(&servers, &mut manifest, out)?
    };
    crashpoint("reloaded");
    let verified = if !reloaded.is_empty() && !options.no_verify {
        out.progress("Verifying with the probe…");
        let mut summaries = Vec::new();
        for (server, plan) in servers.iter().zip(&host.plans) {
            if !reloaded.contains(&server.instance()) {
                continue;
            }
            // A restart or a re-exec leaves a gap before the server runs and listens again.
            verify::wait_listening(&plan.listeners, std::time::Duration::from_secs(15));
            if !server.running() {
                let failure = format!(
                    "{} at {} stopped after the reload",
                    plan.mta.name(),
                    plan.instance.display()
                );
                return Err(undo(&manifest, &failure, out));
            }
            match verify::against_profile(
                &plan.listeners,
                |l| request.profile_for(l),
                plan.expected_cert_sha256.as_deref(),
                plan.groups_unenforceable.is_none(),
            ) {
                Ok(summary) => summaries.push(summary),
                Err(failure) => return Err(undo(&manifest, &failure.to_string(), out)),
            }
        }
        if let (Some(duration), Some(impact)) = (options.watch, &impact) {
            for source in crate::impact::flow::unwatched(impact) {
                out.warn(&format!("--watch follows log files only, not {source}"));
            }
            let mut watch = crate::impact::flow::Watch::start(impact, &crate::impact::flow::instances(&servers));
            match watch.run(duration, out) {
                Ok(note) => summaries.push(note),
                Err(failure) => return Err(undo(&manifest, &failure.to_string(), out)),
            }
        } else if options.watch.is_some() {
            out.warn("--watch: no server log could be read; nothing was watched");
        }
        let summary = summaries.join("; ");
        crashpoint("verified");
        out.say(&format!("Verified: {summary}"));
        manifest.state = SetState::Verified;
        manifest.note = Some(format!("verified: {summary}"));
        Some(true)
    } else {
        None
    };
    manifest.in_progress = false;
    if let Err(e) = manifest.save() {
        // A change the journal cannot record is one rollback could not find: undo it now.
        return Err(unrecorded(&manifest, e, out));
    }
    out.progress_done();
    out.result(&json!({
        "changed": true,
        "backup_id": manifest.id,
        "files": host.changed_paths(),
        "settings": host.settings(),
        "reloaded": !reloaded.is_empty(),
        "verified": verified,
        "warnings": host.warnings(),
        "diff": host.diff(false),
        "file_diffs": host.file_diffs(),
        "floors": host.floors(),
        "servers": host.servers_json(),
    }));
    Ok(exit::OK)
}

fn show(host: &HostPlan, out: &Output) {
    out.say(host.diff(out.color).trim_end());
    for line in host.setting_lines() {
        out.say(&format!("  {line}"));
    }
    for line in host.floor_lines() {
        out.say(&line);
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

/// Copies every file the plans change into a new backup set (state `prepared`).
fn back_up(journal: &Journal, host: &HostPlan, profile: &str) -> Result<Manifest> {
    let id = journal.new_id();
    let dir = journal.create_set(&id)?;
    let made = back_up_into(&dir, id, host, profile);
    if made.is_err() {
        // Nothing live changed: a half-made set would only clutter `history`.
        let _ = std::fs::remove_dir_all(&dir);
    }
    made
}

fn back_up_into(dir: &std::path::Path, id: String, host: &HostPlan, profile: &str) -> Result<Manifest> {
    let dir = dir.to_path_buf();
    let mut files = Vec::new();
    for (n, change) in host.changed_files().enumerate() {
        let live = match std::fs::read(&change.path) {
            Err(e) if change.created && e.kind() == std::io::ErrorKind::NotFound => None,
            other => Some(other.map_err(Error::io(&change.path, "cannot read"))?),
        };
        if live.as_deref().unwrap_or_default() != change.before.as_bytes() || live.is_some() == change.created {
            return Err(Error::State(format!(
                "{} changed while mailtls was planning; run it again",
                change.path.display()
            )));
        }
        let backup = FileRecord::backup_name(n, &change.path);
        let owner = match &live {
            Some(bytes) => {
                fsutil::write_private(&dir.join(&backup), bytes)?;
                Ownership::of(&change.path)?
            }
            None => Ownership::for_new_file_in(change.path.parent().unwrap_or(std::path::Path::new("/")))?,
        };
        fsutil::write_private(&dir.join(format!("{backup}.new")), change.after.as_bytes())?;
        files.push(FileRecord {
            path: change.path.clone(),
            backup,
            sha256_before: fsutil::sha256_hex(change.before.as_bytes()),
            sha256_after: None,
            owner,
            existed: !change.created,
            target: Some(fsutil::target_of(&change.path)?),
        });
    }
    let services = host
        .plans
        .iter()
        .filter(|p| !p.is_noop())
        .map(|p| ServiceRecord {
            mta: p.mta,
            instance: p.instance.clone(),
            regenerate: p.regenerate.clone(),
            reload: p.reload.clone(),
            listeners: p.listeners.clone(),
        })
        .collect();
    let floors = host.floors().into_iter().cloned().collect();
    let manifest = Manifest {
        id,
        created: crate::cert::rfc3339(time::OffsetDateTime::now_utc()),
        profile: profile.to_string(),
        state: SetState::Prepared,
        services,
        floors,
        files,
        note: None,
        in_progress: true,
        dir,
    };
    manifest.save()?;
    Ok(manifest)
}

/// Replaces each file atomically, recording what was written before the
/// next one, then rebuilds what the servers read from them. Any failure
/// after the first write puts back what was written before returning.
fn write_files(manifest: &mut Manifest, host: &HostPlan, out: &Output) -> Result<()> {
    for (index, change) in host.changed_files().enumerate() {
        let record = &manifest.files[index];
        let target = record.target.clone().expect("recorded by back_up");
        // Read through the file it named at backup time: a path swapped for a symlink since is refused, never followed.
        if fsutil::target_of(&change.path).ok().as_ref() != Some(&target) {
            let err = Error::State(format!(
                "{} now leads to another file than when mailtls planned (a symlink swapped in?); nothing more was written",
                change.path.display()
            ));
            return Err(restore_after(manifest, err, out));
        }
        let live = fsutil::read_nofollow(&target).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound if change.created => Ok(Vec::new()),
            _ => Err(e),
        });
        let live = match live {
            Ok(live) => live,
            Err(e) => return Err(restore_after(manifest, Error::io(&change.path, "cannot read")(e), out)),
        };
        if fsutil::sha256_hex(&live) != record.sha256_before {
            let err = Error::State(format!(
                "{} changed while mailtls was running; nothing more was written",
                change.path.display()
            ));
            return Err(restore_after(manifest, err, out));
        }
        let owner = record.owner;
        manifest.files[index].sha256_after = Some(fsutil::sha256_hex(change.after.as_bytes()));
        if let Err(e) = manifest.save() {
            return Err(restore_after(manifest, e, out));
        }
        if let Err(e) = fsutil::replace_exact(&target, change.after.as_bytes(), owner) {
            return Err(restore_after(manifest, e, out));
        }
        crashpoint(&format!("wrote-file-{}", index + 1));
    }
    for service in manifest.services.clone() {
        if let Some(Err(e)) = service.regenerate.as_ref().map(|r| r.run()) {
            return Err(restore_after(manifest, e, out));
        }
    }
    manifest.state = SetState::Applied;
    if let Err(e) = manifest.save() {
        return Err(restore_after(manifest, e, out));
    }
    Ok(())
}

/// A write failed part way: put back what was written (unless someone
/// edited it meanwhile), then report the first error.
fn restore_after(manifest: &mut Manifest, err: Error, out: &Output) -> Error {
    let then = format!(
        "after this error: {err}; nothing was put back and backup set {} stays interrupted (see the diff above; `mailtls rollback --force` restores it)",
        manifest.id
    );
    match rollback::restore_unless_drifted(manifest, &then, out) {
        Ok(()) => {
            manifest.state = SetState::RolledBack;
            manifest.in_progress = false;
            manifest.note = Some(format!("apply failed and was undone: {err}"));
            // A full state disk may refuse this too: the next run then finds the set interrupted, with nothing left to undo.
            let _ = manifest.save();
            err
        }
        Err(drift @ Error::Refused(_)) => drift,
        Err(again) => Error::RollbackFailed {
            verify: err.to_string(),
            rollback: again.to_string(),
        },
    }
}

/// Reloads every changed server that runs; returns the instances reloaded.
fn reload(servers: &[Box<dyn Instance>], manifest: &mut Manifest, out: &Output) -> Result<Vec<std::path::PathBuf>> {
    let mut reloaded = Vec::new();
    for service in manifest.services.clone() {
        let running = servers.iter().any(|s| s.instance() == service.instance && s.running());
        if !running {
            out.warn(&format!(
                "{} at {} is not running: the new config takes effect when it starts (not verified)",
                service.mta.name(),
                service.instance.display()
            ));
            continue;
        }
        if let Err(e) = crate::mta::reload(&service.reload) {
            return Err(undo(
                manifest,
                &format!("reloading {} failed: {e}", service.mta.name()),
                out,
            ));
        }
        reloaded.push(service.instance.clone());
    }
    if reloaded.is_empty() {
        manifest.note = Some("written; no server running, nothing reloaded".into());
        if let Err(e) = manifest.save() {
            return Err(unrecorded(manifest, e, out));
        }
    }
    Ok(reloaded)
}

/// The state directory refused the set's record (full, read-only): the
/// change could not be found by rollback, so it is undone now (exit 1).
fn unrecorded(manifest: &Manifest, err: Error, out: &Output) -> Error {
    match undo(
        manifest,
        &format!("cannot record the change in the state directory ({err})"),
        out,
    ) {
        Error::RolledBack(message) => Error::State(format!("{message}; the change was undone")),
        other => other,
    }
}

/// Verification or a reload failed: restore the originals, reload every server, and say so.
fn undo(manifest: &Manifest, failure: &str, out: &Output) -> Error {
    out.warn(&format!("{failure}; rolling back"));
    out.progress("Rolling back…");
    let mut manifest = manifest.clone();
    let then = format!(
        "after this failure: {failure}; nothing was put back and backup set {} stays interrupted (see the diff above; `mailtls rollback --force` restores it)",
        manifest.id
    );
    if let Err(e) = rollback::restore_unless_drifted(&manifest, &then, out) {
        if matches!(e, Error::Refused(_)) {
            return e;
        }
        manifest.note = Some(format!("automatic rollback failed: {e}"));
        let _ = manifest.save();
        return Error::RollbackFailed {
            verify: failure.to_string(),
            rollback: e.to_string(),
        };
    }
    manifest.state = SetState::RolledBack;
    manifest.in_progress = false;
    manifest.note = Some(format!("rolled back automatically: {failure}"));
    let _ = manifest.save();
    let mut message = failure.to_string();
    match rollback::reload_running(&manifest, out) {
        Ok(stopped) => {
            for service in stopped {
                message.push_str(&format!(
                    "; {} at {} is not running: start it (its previous config is back)",
                    service.mta.name(),
                    service.instance.display()
                ));
            }
        }
        Err(e) => message.push_str(&format!(
            "; the previous files are back, but reloading failed ({e}): reload by hand"
        )),
    }
    Error::RolledBack(message)
}
