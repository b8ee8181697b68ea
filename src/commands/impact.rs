//! `mailtls impact`: who would lose TLS, from the servers' own logs
//! (`crate::impact`), and `--enable-logging` through apply's pipeline.

use crate::cli::ImpactArgs;
use crate::error::{exit, Error, Result};
use crate::impact::analysis::{analyse, Impact};
use crate::impact::Verdict;
use crate::mta;
use crate::output::Output;
use crate::profile::Profile;

/// `--enable-logging`: the gaps' settings, applied like any change.
fn enable_logging(args: &ImpactArgs, global: &crate::cli::Global, out: &Output) -> Result<u8> {
    if !args.log.is_empty() {
        return Err(Error::Usage(
            "--enable-logging changes server configs: name them with --config or --mta, not --log".into(),
        ));
    }
    let mut profile = Profile::load(args.profile.as_deref().unwrap_or(crate::profile::DEFAULT))?;
    profile.name = "enable-logging".into();
    let servers = mta::open_all(args.mta, &args.config)?;
    let request = crate::mta::Request {
        profile,
        floors: Default::default(),
        cert: None,
        reload_command: None,
        outbound_dane: false,
        container: Default::default(),
    };
    let host = crate::impact::logging::plans(&servers, &request)?;
    let options = crate::apply::ApplyOptions {
        journal_root: &global.state_dir,
        yes: global.yes,
        check: false,
        no_reload: false,
        no_verify: false,
        max_lose_tls: None,
        watch: None,
    };
    crate::apply::run_plans(crate::resolve::Resolved { servers, request }, Some(host), options, out)
}

pub fn run(args: &ImpactArgs, global: &crate::cli::Global, out: &Output) -> Result<u8> {
    if args.enable_logging {
        return enable_logging(args, global, out);
    }
    let impact = analyse(args)?;
    show(&impact, out);
    out.result(&impact.json());
    Ok(exit::OK)
}

fn show(impact: &Impact, out: &Output) {
    let lines: u64 = impact.sources.iter().map(|s| s.lines).sum();
    let events: u64 = impact.sources.iter().map(|s| s.events).sum();
    out.say(&format!(
        "Read {} source(s): {lines} lines, {events} TLS handshakes and failures{}; profile {}.",
        impact.sources.len(),
        impact
            .window
            .as_deref()
            .map_or(String::new(), |w| format!(" in the last {w}")),
        impact.report.summary.profile
    ));
    for s in &impact.sources {
        let mut notes = Vec::new();
        if s.overlong_lines > 0 {
            notes.push(format!("{} over-long line(s) skipped", s.overlong_lines));
        }
        if s.undecodable_lines > 0 {
            notes.push(format!("{} line(s) not UTF-8", s.undecodable_lines));
        }
        if let Some(e) = &s.error {
            notes.push(e.clone());
        }
        if !notes.is_empty() || out.verbose > 0 {
            out.say(&format!(
                "  {} ({}, {} lines): {}",
                s.source,
                s.kind,
                s.lines,
                notes.join("; ")
            ));
        }
    }
    if !impact.report.peers.is_empty() {
        out.say(&format!(
            "{:<11}  {:<40}  {:<20}  {:<16}  {:>6}  last seen",
            "verdict", "peer", "listener", "protocols", "count"
        ));
    }
    for p in &impact.report.peers {
        let peer = match &p.name {
            Some(name) => format!("{name} [{}]", p.address),
            None => p.address.clone(),
        };
        let color = match p.verdict {
            Verdict::LosesTls => "31",
            Verdict::AtRisk | Verdict::FailsToday => "33",
            Verdict::Ok => "32",
        };
        out.say(&format!(
            "{}  {peer:<40}  {:<20}  {:<16}  {:>6}  {}",
            out.paint(&format!("{:<11}", p.verdict.name()), color),
            format!("{} {}", p.mta.name(), p.listener),
            p.protocols.join(" "),
            p.count,
            p.last_seen.as_deref().unwrap_or("-")
        ));
        if p.verdict != Verdict::Ok && out.verbose > 0 {
            for reason in &p.reasons {
                out.say(&format!("             {reason}"));
            }
        }
    }
    for line in impact.summary_lines() {
        out.say(&line);
    }
    for gap in &impact.gaps {
        out.say(&format!("  to log it: {} = {}", gap.setting, gap.after));
        let diff = gap.diff();
        if !diff.is_empty() {
            out.say(diff.trim_end());
        }
    }
}
