//! `mailtls history`: the backup sets in the journal.

use serde_json::json;

use crate::error::{exit, Result};
use crate::escape::escape;
use crate::journal::Journal;
use crate::output::Output;

pub(crate) fn run(journal: Option<Journal>, out: &Output) -> Result<u8> {
    let sets = match &journal {
        Some(j) => j.sets()?,
        None => Vec::new(),
    };
    let unreadable = journal.as_ref().map(Journal::unreadable).unwrap_or_default();
    for problem in &unreadable {
        out.warn(problem);
    }
    if sets.is_empty() {
        out.say("No backup sets yet.");
    }
    for m in &sets {
        let files: Vec<String> = m
            .files
            .iter()
            .map(|f| escape(&f.path.display().to_string()).into_owned())
            .collect();
        let servers: Vec<String> = m
            .services
            .iter()
            .map(|s| format!("{} {}", s.mta.name(), escape(&s.instance.display().to_string())))
            .collect();
        out.say(&format!(
            "{}  {}  {}  profile {}  {}  [{}]",
            escape(&m.id),
            escape(&m.created),
            servers.join(" + "),
            escape(&m.profile),
            files.join(", "),
            if m.in_progress {
                format!("{}, interrupted", m.state.name())
            } else {
                m.state.name().to_string()
            }
        ));
        for floor in &m.floors {
            out.say(&format!("    listener {}", escape(&floor.describe())));
        }
        if let Some(note) = m.note.as_ref().filter(|_| out.verbose > 0) {
            out.say(&format!("    {}", escape(note)));
        }
    }
    let sets_json: Vec<_> = sets
        .iter()
        .map(|m| {
            json!({
                "id": m.id, "created": m.created, "profile": m.profile, "state": m.state, "note": m.note, "interrupted": m.in_progress,
                "servers": m.services.iter().map(|s| json!({"mta": s.mta, "instance": s.instance})).collect::<Vec<_>>(),
                "files": m.files.iter().map(|f| &f.path).collect::<Vec<_>>(),
                "floors": m.floors,
            })
        })
        .collect();
    out.result(&json!({ "sets": sets_json, "unreadable": unreadable }));
    Ok(exit::OK)
}
