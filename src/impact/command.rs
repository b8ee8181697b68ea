//! `mailtls impact`: read the selected servers' logs (or `--log` files),
//! count what every peer negotiated, and say per peer what the profile
//! would do to it. Read-only.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::coverage::Gap;
use super::reader::{Scanner, Source, SourceStats};
use super::sources::{self, Located};
use super::{formats, Report, Tally, Verdict};
use crate::error::{exit, Error, Result};
use crate::mta::{MtaKind, Server};
use crate::output::Output;
use crate::profile::Profile;

#[derive(Args, Debug, Clone, Default)]
pub struct ImpactArgs {
    /// Only this server's logs and formats (default: every server found, or every format for --log files).
    #[arg(long, value_enum)]
    pub mta: Option<MtaKind>,
    /// A server instance's config, as `plan` takes it: its logs are found from it. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub config: Vec<PathBuf>,
    /// The profile to judge against (bundled name or .toml file) [default: intermediate].
    #[arg(long, value_name = "NAME|FILE")]
    pub profile: Option<String>,
    /// Read this log file instead of finding the servers' logs (plain, .gz or `journalctl -o export`). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub log: Vec<PathBuf>,
    /// Only lines newer than this: 30d, 12h, 90m, 2w [default: everything].
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// Turn on the logging the coverage gaps name (e.g. smtpd_tls_loglevel = 1), through
    /// apply's backup, diff, confirmation, reload and rollback.
    #[arg(long)]
    pub enable_logging: bool,
}

/// What `impact` found: the report, the sources read and the coverage gaps.
pub struct Impact {
    pub report: Report,
    pub sources: Vec<SourceStats>,
    pub gaps: Vec<Gap>,
    /// The servers whose configs were checked for coverage: "postfix /etc/postfix".
    pub checked: Vec<String>,
    /// `--since` in words ("30 days").
    pub window: Option<String>,
}

/// A server to read the logs of: its kind and its config.
pub type Instance = (MtaKind, PathBuf);

/// Resolves the arguments and reads the logs.
pub fn analyse(args: &ImpactArgs) -> Result<Impact> {
    let profile = Profile::load(args.profile.as_deref().unwrap_or(crate::profile::DEFAULT))?;
    let window = args.since.as_deref().map(parse_duration).transpose()?;
    let instances: Vec<Instance> = if !args.config.is_empty() || args.log.is_empty() {
        Server::open_all(args.mta, &args.config)?
            .iter()
            .map(|s| s.detect().map(|d| (d.mta, d.config)))
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    for log in &args.log {
        std::fs::File::open(log).map_err(Error::io(log, "--log: cannot read the log"))?;
    }
    let sources = if args.log.is_empty() {
        None
    } else {
        Some(args.log.iter().cloned().map(Source::File).collect())
    };
    analyse_instances(&instances, args.mta, sources, &profile, window)
}

/// The same, for servers already opened (`plan` and the guided flow call this).
pub fn analyse_instances(
    instances: &[Instance],
    mta: Option<MtaKind>,
    sources: Option<Vec<Source>>,
    profile: &Profile,
    window: Option<(i64, String)>,
) -> Result<Impact> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let since = window.as_ref().map(|(seconds, _)| now - seconds);
    let mut kinds: Vec<MtaKind> = instances.iter().map(|(k, _)| *k).chain(mta).collect();
    kinds.dedup();
    let sources = match sources {
        Some(s) => s,
        None => {
            let located: Vec<Located> = instances.iter().map(|(k, c)| formats::of(*k).locate(c)).collect();
            sources::sources(&located, since)
        }
    };
    if sources.is_empty() {
        return Err(Error::Usage(
            "found no log to read (no log file the servers' configs name, no syslog file, no journal); name one with --log".into(),
        ));
    }
    let mut tally = Tally::default();
    let mut scanner = Scanner::new(formats::for_servers(&kinds), now, since, &mut tally);
    let stats: Vec<SourceStats> = sources.iter().map(|s| scanner.scan(s)).collect();
    let gaps = instances
        .iter()
        .flat_map(|(k, c)| formats::of(*k).coverage(c))
        .collect();
    let checked = instances
        .iter()
        .map(|(k, c)| format!("{} {}", k.name(), c.display()))
        .collect();
    let window_words = window.map(|(_, words)| words);
    Ok(Impact {
        report: Report::new(&tally, profile, window_words.as_deref()),
        sources: stats,
        gaps,
        checked,
        window: window_words,
    })
}

/// `--enable-logging`: the gaps' settings, applied like any change.
fn enable_logging(args: &ImpactArgs, global: &crate::cli::Global, out: &Output) -> Result<u8> {
    if !args.log.is_empty() {
        return Err(Error::Usage(
            "--enable-logging changes server configs: name them with --config or --mta, not --log".into(),
        ));
    }
    let mut profile = Profile::load(args.profile.as_deref().unwrap_or(crate::profile::DEFAULT))?;
    profile.name = "enable-logging".into();
    let servers = Server::open_all(args.mta, &args.config)?;
    let request = crate::mta::Request {
        profile,
        cert: None,
        reload_command: None,
    };
    let host = super::logging::plans(&servers, &request)?;
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

/// "30d" -> (seconds, "30 days"); s, m, h, d, w.
pub fn parse_duration(text: &str) -> Result<(i64, String)> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let bad = || {
        Error::Usage(format!(
            "--since {text:?}: expected a number and a unit, like 30d, 12h, 90m, 2w"
        ))
    };
    let number: i64 = text[..digits].parse().map_err(|_| bad())?;
    let (seconds, unit) = match &text[digits..] {
        "s" => (1, "second"),
        "m" | "min" => (60, "minute"),
        "h" => (3600, "hour"),
        "d" | "" => (86_400, "day"),
        "w" => (7 * 86_400, "week"),
        _ => return Err(bad()),
    };
    let total = number.checked_mul(seconds).ok_or_else(bad)?;
    Ok((total, format!("{number} {unit}{}", if number == 1 { "" } else { "s" })))
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

impl Impact {
    pub fn json(&self) -> serde_json::Value {
        json!({
            "peers": self.report.peers,
            "summary": self.report.summary,
            "sources": self.sources,
            "coverage": {
                "complete": self.gaps.is_empty(),
                "checked": self.checked,
                "gaps": self.gaps.iter().map(|g| {
                    let mut v = serde_json::to_value(g).expect("gaps serialize");
                    v["diff"] = json!(g.diff());
                    v
                }).collect::<Vec<_>>(),
            },
        })
    }

    /// The summary lines `plan` shows next to its diff.
    pub fn summary_lines(&self) -> Vec<String> {
        let mut lines = self.report.summary.lines.clone();
        if lines.is_empty() {
            lines.push(format!(
                "No peer in the logs{} would lose TLS under profile {} ({} peers seen).",
                self.window
                    .as_deref()
                    .map_or(String::new(), |w| format!(" of the last {w}")),
                self.report.summary.profile,
                self.report.summary.peers
            ));
        }
        for gap in &self.gaps {
            lines.push(format!(
                "Not in the log: {} {}: {}",
                gap.mta.name(),
                gap.instance.display(),
                gap.what
            ));
        }
        lines
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d").unwrap(), (30 * 86_400, "30 days".into()));
        assert_eq!(parse_duration("1h").unwrap(), (3600, "1 hour".into()));
        assert_eq!(parse_duration("2w").unwrap().0, 14 * 86_400);
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }
}
