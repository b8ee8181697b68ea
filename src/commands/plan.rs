//! `mailtls plan`: the diff `apply` would make, written nowhere.

use serde_json::json;

use crate::error::{exit, Result};
use crate::mta;
use crate::output::Output;
use crate::resolve::Resolved;

pub(crate) fn run(resolved: Resolved, out: &Output) -> Result<u8> {
    let Resolved { servers, request } = resolved;
    let host = mta::plan_all(&servers, &request)?;
    for warning in host.warnings() {
        out.warn(warning);
    }
    if host.is_noop() {
        out.say(&host.nothing_to_do(&request.profile.name));
    } else {
        out.say(host.diff(out.color).trim_end());
    }
    out.result(&json!({
        "changed": !host.is_noop(),
        "profile": request.profile.name,
        "servers": host.servers_json(),
        "files": host.changed_paths(),
        "settings": host.settings(),
        "warnings": host.warnings(),
        "diff": host.diff(false),
        "file_diffs": host.file_diffs(),
    }));
    Ok(if host.is_noop() {
        exit::OK
    } else {
        exit::CHANGES_PENDING
    })
}
