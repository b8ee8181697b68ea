//! `mailtls plan`: the diff `apply` would make, written nowhere.

use serde_json::json;

use crate::error::{exit, Result};
use crate::mta;
use crate::output::Output;
use crate::resolve::Resolved;

pub(crate) fn run(resolved: Resolved, format: Option<crate::report::ReportFormat>, out: &Output) -> Result<u8> {
    let Resolved { servers, request } = resolved;
    let host = mta::plan_all(&servers, &request)?;
    for warning in host.warnings() {
        out.warn(warning);
    }
    if let Some(format) = format {
        print!("{}", crate::report::plan(format, &host, &request.profile.name)?);
    } else if host.is_noop() {
        out.say(&host.nothing_to_do(&request.profile.name));
    } else {
        out.say(host.diff(out.color).trim_end());
    }
    let impact = crate::impact::flow::of(&servers, &request.profile);
    if let Some(impact) = &impact {
        crate::impact::flow::show(impact, out);
    }
    out.result(&json!({
        "impact": impact.as_ref().map(|i| json!({"summary": i.report.summary, "coverage_complete": i.gaps.is_empty()})),
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
