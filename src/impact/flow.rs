//! Impact inside the change: what `plan`, `apply` and the guided flow show
//! next to the diff, `apply --max-lose-tls N` (refuse when more peers would
//! lose TLS), and `apply --watch DURATION` (after the reload, keep reading the
//! logs; new handshake failures from peers that negotiated fine before roll
//! the change back). Only log files are watched, not the journal.

use std::collections::{HashMap, HashSet};
use std::io::{Seek, SeekFrom};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::analysis::{analyse_instances, Impact, Instance};
use super::reader::{Scanner, SourceStats};
use super::{formats, Tally};
use crate::error::{Error, Result};
use crate::mta::Instance as Server;
use crate::output::Output;
use crate::profile::Profile;

/// The window `plan` and `apply` look back over.
pub const WINDOW_DAYS: i64 = 30;

/// The servers' kinds and configs (what `impact` needs of them).
pub fn instances(servers: &[Box<dyn Server>]) -> Vec<Instance> {
    servers
        .iter()
        .filter_map(|s| s.detect().ok())
        .map(|d| (d.mta, d.config))
        .collect()
}

/// The impact of `profile` over the last 30 days of the servers' logs;
/// `None` when no log could be read (the flow goes on without it).
pub fn of(servers: &[Box<dyn Server>], profile: &Profile) -> Option<Impact> {
    let window = (WINDOW_DAYS * 86_400, format!("{WINDOW_DAYS} days"));
    let impact = analyse_instances(&instances(servers), None, None, profile, Some(window)).ok()?;
    impact.sources.iter().any(|s| s.lines > 0).then_some(impact)
}

/// The summary lines, under a heading, for beside the diff.
pub fn show(impact: &Impact, out: &Output) {
    out.say(&out.paint("Who would lose TLS (from the servers' logs)", "1"));
    for line in impact.summary_lines() {
        out.say(&format!("  {line}"));
    }
}

/// `--max-lose-tls N`: refuses when more peers would lose TLS.
pub fn enforce_max(impact: Option<&Impact>, max: usize) -> Result<()> {
    let Some(impact) = impact else {
        return Err(Error::Refused(format!(
            "--max-lose-tls {max}: no server log could be read to count who would lose TLS; check with `mailtls impact`"
        )));
    };
    let losing = impact.report.summary.loses_tls;
    if losing > max {
        return Err(Error::Refused(format!(
            "{losing} peer(s) would lose TLS, more than --max-lose-tls {max}: {}",
            impact.summary_lines().join("; ")
        )));
    }
    Ok(())
}

/// The log files being watched and how far they had been read.
pub struct Watch {
    files: Vec<(PathBuf, u64)>,
    /// (server, address, listener) of every peer that completed a handshake before.
    negotiated_before: HashSet<(String, String, String)>,
    kinds: Vec<crate::mta::MtaKind>,
}

/// Peers that negotiated TLS before a change and fail after it: one
/// "address (server listener): count, last reason" each.
#[derive(Debug, thiserror::Error)]
#[error("peers that negotiated TLS before the change now fail: {}", .0.join("; "))]
pub struct NewFailures(Vec<String>);

impl Watch {
    /// Starts watching the files `impact` read, from their current ends.
    pub fn start(impact: &Impact, instances: &[Instance]) -> Watch {
        let files = impact
            .sources
            .iter()
            .filter(|s| s.kind == "text" && s.error.is_none())
            .map(|s| PathBuf::from(&s.source))
            .map(|p| {
                let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                (p, size)
            })
            .collect();
        let negotiated_before = impact
            .report
            .peers
            .iter()
            .filter(|p| p.count > 0)
            .map(|p| (p.mta.name().to_string(), p.address.clone(), p.listener.clone()))
            .collect();
        Watch {
            files,
            negotiated_before,
            kinds: instances.iter().map(|(k, _)| *k).collect(),
        }
    }

    /// Reads what the logs get for `duration`; the first new handshake
    /// failure from a peer that negotiated before ends it with an error
    /// naming those peers.
    /// Failures from 127.0.0.1 and ::1 are mailtls's own verification probe.
    pub fn run(&mut self, duration: Duration, out: &Output) -> std::result::Result<String, NewFailures> {
        let deadline = Instant::now() + duration;
        let mut failures: HashMap<(String, String, String), (u64, String)> = HashMap::new();
        loop {
            let mut tally = Tally::default();
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let mut scanner = Scanner::new(formats::for_servers(&self.kinds), now, None, &mut tally);
            for (path, offset) in &mut self.files {
                let Ok(mut file) = std::fs::File::open(&*path) else {
                    continue;
                };
                let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                if size < *offset {
                    *offset = 0; // rotated or truncated: read the new file from its start
                }
                if file.seek(SeekFrom::Start(*offset)).is_err() {
                    continue;
                }
                let mut stats = SourceStats::default();
                let _ = scanner.scan_text(std::io::Read::take(&mut file, size - *offset), &mut stats);
                *offset = size;
            }
            drop(scanner);
            // Only failures count here; the profile does not matter.
            let any = Profile::load(crate::profile::DEFAULT).expect("the bundled profile loads");
            for peer in tally.report(&any) {
                let key = (peer.mta.name().to_string(), peer.address.clone(), peer.listener.clone());
                if peer.failures == 0 || matches!(peer.address.as_str(), "127.0.0.1" | "::1") {
                    continue;
                }
                if self.negotiated_before.contains(&key) {
                    let entry = failures.entry(key).or_insert((0, String::new()));
                    entry.0 += peer.failures;
                    entry.1 = peer.last_failure.clone().unwrap_or_default();
                }
            }
            if !failures.is_empty() {
                let what: Vec<String> = failures
                    .iter()
                    .map(|((mta, address, listener), (n, reason))| {
                        format!("{address} ({mta} {listener}): {n} failed handshake(s), last: {reason}")
                    })
                    .collect();
                return Err(NewFailures(what));
            }
            if Instant::now() >= deadline {
                return Ok(format!(
                    "no new TLS handshake failures in {} s of logs",
                    duration.as_secs()
                ));
            }
            out.progress(&format!(
                "Watching the logs for failed handshakes ({} s left)…",
                deadline.saturating_duration_since(Instant::now()).as_secs()
            ));
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// Sources a file watch cannot follow (the journal): said so the admin knows.
pub fn unwatched(impact: &Impact) -> Vec<String> {
    impact
        .sources
        .iter()
        .filter(|s| s.kind == "journal")
        .map(|s| s.source.clone())
        .collect()
}
