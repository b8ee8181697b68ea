//! `mailtls plan`: the diff `apply` would make, written nowhere.

use serde_json::json;

use std::path::Path;

use crate::cli::TargetArgs;
use crate::error::{exit, Error, Result};
use crate::mta;
use crate::output::Output;
use crate::profile::Profile;
use crate::resolve;
use crate::resolve::Resolved;
use crate::scanreport::{Lever, ScanReport};

/// `plan --from-scan FILE`: the bundled profile that closes every finding
/// of the report a profile can close, planned, with each setting's findings.
pub(crate) fn from_scan(target: &TargetArgs, report_path: &Path, out: &Output) -> Result<u8> {
    let report = ScanReport::load(report_path)?;
    let bundled = Profile::bundled();
    let Some(profile) = report.pick(&bundled) else {
        let open: Vec<String> = report
            .findings
            .iter()
            .filter(|f| !bundled.iter().any(|p| f.closed_by(p)) && f.lever().is_some())
            .map(|f| format!("{} ({})", f.id, f.text))
            .collect();
        return Err(Error::Usage(format!(
            "no bundled profile closes every finding of {}: {} (write a profile of your own and pass --profile)",
            report_path.display(),
            open.join("; ")
        )));
    };
    for f in report.unclosable() {
        out.warn(&format!(
            "{} finding {} ({}: {}) is not about protocols or suites: no profile closes it",
            report.tool, f.id, f.severity, f.text
        ));
    }
    let mut args = target.clone();
    args.profile = Some(profile.name.clone());
    let resolved = resolve::target(&args, None)?;
    // Planned once here for the settings, and again by `run_with` (plans only read).
    let host = mta::plan_all(&resolved.servers, &resolved.request)?;
    let closes: Vec<(String, Vec<String>)> = host
        .settings()
        .iter()
        .map(|s| {
            let lever = lever_of(&s.name, &s.after);
            let ids = report
                .findings
                .iter()
                .filter(|f| {
                    lever.is_some_and(|l| {
                        f.lever() == Some(l) || (l == Lever::Suites && f.lever().is_some() && s.after.contains("VERS-"))
                    })
                })
                .filter(|f| f.closed_by(&profile))
                .map(|f| f.id.clone())
                .collect();
            (s.name.clone(), ids)
        })
        .collect();
    out.say(&format!(
        "From the {} report {}: profile {} closes every finding a profile can close.",
        report.tool,
        report_path.display(),
        profile.name
    ));
    for (name, ids) in &closes {
        if !ids.is_empty() {
            out.say(&format!("  {name} closes {}", ids.join(", ")));
        }
    }
    let scan = json!({
        "tool": report.tool,
        "findings": report.findings,
        "closes": closes.iter().map(|(n, ids)| json!({"setting": n, "findings": ids})).collect::<Vec<_>>(),
    });
    run_with(resolved, None, out, Some(scan))
}

/// Whether a setting sets protocol versions or suites, by its name (and,
/// for a GnuTLS priority string, by its value: it does both).
fn lever_of(name: &str, value: &str) -> Option<Lever> {
    let n = name.to_ascii_lowercase();
    if n.contains("protocol") || n.contains("version") || n.contains("ssl_options") || n.contains("openssl_options") {
        Some(Lever::Protocols)
    } else if n.contains("cipher") || value.contains("VERS-") {
        Some(Lever::Suites)
    } else {
        None
    }
}

pub(crate) fn run(resolved: Resolved, format: Option<crate::report::ReportFormat>, out: &Output) -> Result<u8> {
    run_with(resolved, format, out, None)
}

/// `plan` itself; `scan` is `--from-scan`'s part of the JSON.
fn run_with(
    resolved: Resolved,
    format: Option<crate::report::ReportFormat>,
    out: &Output,
    scan: Option<serde_json::Value>,
) -> Result<u8> {
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
    if format.is_none() {
        for line in host.floor_lines() {
            out.say(&line);
        }
    }
    let impact = crate::impact::flow::of(&servers, &request.profile);
    if let Some(impact) = &impact {
        crate::impact::flow::show(impact, out);
    }
    out.result(&json!({
        "impact": impact.as_ref().map(|i| json!({"summary": i.report.summary, "coverage_complete": i.gaps.is_empty()})),
        "changed": !host.is_noop(),
        "profile": request.profile.name,
        "from_scan": scan,
        "servers": host.servers_json(),
        "files": host.changed_paths(),
        "settings": host.settings(),
        "warnings": host.warnings(),
        "floors": host.floors(),
        "diff": host.diff(false),
        "file_diffs": host.file_diffs(),
    }));
    Ok(if host.is_noop() {
        exit::OK
    } else {
        exit::CHANGES_PENDING
    })
}
