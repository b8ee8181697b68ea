//! What the logs say: the selected servers' logs (or `--log` files) read,
//! every peer's negotiations counted, and each peer judged against the
//! profile. Read-only; `commands::impact` prints it.

use std::path::PathBuf;

use serde_json::json;

use super::coverage::Gap;
use super::reader::{Scanner, SourceStats};
use super::sources::{self, Located, Source};
use super::{formats, Report, Tally};
use crate::cli::ImpactArgs;
use crate::error::{Error, Result};
use crate::mta::{self, MtaKind};
use crate::profile::Profile;

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
        mta::open_all(args.mta, &args.config)?
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
    // Servers whose log mailtls does not read (none today) are left out.
    let instances: Vec<&Instance> = instances.iter().filter(|(k, _)| formats::of(*k).is_some()).collect();
    let mut kinds: Vec<MtaKind> = instances.iter().map(|(k, _)| *k).chain(mta).collect();
    kinds.dedup();
    let sources = match sources {
        Some(s) => s,
        None => {
            let located: Vec<Located> = instances
                .iter()
                .filter_map(|(k, c)| formats::of(*k).map(|f| f.locate(c)))
                .collect();
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
        .filter_map(|(k, c)| formats::of(*k).map(|f| f.coverage(c)))
        .flatten()
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
