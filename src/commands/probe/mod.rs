//! `mailtls probe`: parse the targets, resolve the options, scan every target
//! (several at once), print tables or one JSON document, and turn the
//! verdicts into the exit code. `mx` is `probe --mx DOMAIN`: the domain's
//! MX hosts through DNS, with their DANE and MTA-STS verdicts.

mod mx;

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

pub use crate::cli::{NagiosArgs, OutputArg, ProbeArgs, SeverityArg, StarttlsArg, StateArg};
use crate::error::{exit, Error, Result};
use crate::probe::{apply_profile, parse_target, scan, Proto, ScanOptions, Summary, Target, TargetReport, TlsStart};
use crate::profile::Profile;

impl NagiosArgs {
    /// The `--output nagios` thresholds.
    pub fn thresholds(&self) -> crate::report::nagios::Thresholds {
        use crate::report::nagios::State;
        crate::report::nagios::Thresholds {
            warn_days: self.warn_days,
            crit_days: self.crit_days,
            warn_severity: self.warn_severity.severity(),
            crit_severity: self.crit_severity.severity(),
            not_compliant: match self.not_compliant {
                StateArg::Ok => State::Ok,
                StateArg::Warning => State::Warning,
                StateArg::Critical => State::Critical,
            },
        }
    }
}

/// The arguments, resolved: targets parsed, profile loaded.
pub struct Resolved {
    pub targets: Vec<Target>,
    pub opts: ScanOptions,
    pub profile: Option<Profile>,
    pub concurrency: usize,
}

impl ProbeArgs {
    pub fn resolve(&self) -> Result<Resolved> {
        let starttls = match self.starttls {
            StarttlsArg::Auto => None,
            StarttlsArg::Smtp => Some(TlsStart::Starttls(Proto::Smtp)),
            StarttlsArg::Imap => Some(TlsStart::Starttls(Proto::Imap)),
            StarttlsArg::Pop3 => Some(TlsStart::Starttls(Proto::Pop3)),
            StarttlsArg::None => Some(TlsStart::Implicit),
        };
        let mut specs: Vec<String> = self.targets.clone();
        if let Some(path) = &self.targets_in {
            let text = fs_err::read_to_string(path).map_err(Error::io(path, "cannot read the targets file"))?;
            for (n, line) in text.lines().enumerate() {
                let line = line.split('#').next().unwrap_or("").trim();
                if line.is_empty() {
                    continue;
                }
                parse_target(line, starttls).map_err(|e| Error::Parse {
                    path: path.clone(),
                    line: n + 1,
                    message: e.to_string(),
                })?;
                specs.push(line.to_string());
            }
        }
        if specs.is_empty() {
            return Err(Error::Usage(
                "mailtls probe: give at least one TARGET (host[:port]) or --targets-in FILE".into(),
            ));
        }
        let targets = specs
            .iter()
            .map(|s| parse_target(s, starttls).map_err(|e| Error::Usage(e.to_string())))
            .collect::<Result<Vec<_>>>()?;
        if !(1..=crate::vocabulary::MAX_SECONDS).contains(&self.timeout) {
            return Err(Error::Usage(format!(
                "--timeout must be 1 to {} seconds",
                crate::vocabulary::MAX_SECONDS
            )));
        }
        let mut opts = ScanOptions {
            servername: self.servername.clone(),
            timeout: Duration::from_secs(self.timeout),
            ca_file: self.ca_file.clone(),
            connections_per_target: self.connections_per_target.max(1),
            ..ScanOptions::default()
        };
        if let Some(e) = &self.ehlo {
            opts.ehlo = e.clone();
        }
        let profile = self.profile.as_deref().map(Profile::load).transpose()?;
        Ok(Resolved {
            targets,
            opts,
            profile,
            concurrency: self.concurrency.max(1),
        })
    }
}

/// Scans every target, at most `concurrency` at once, and hands each report
/// to `each` (with its index in `targets`) as soon as it is done; nothing
/// is kept here.
pub fn scan_each(
    targets: &[Target],
    opts: &ScanOptions,
    concurrency: usize,
    each: &(dyn Fn(usize, TargetReport) + Sync),
) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..concurrency.min(targets.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(target) = targets.get(i) else { break };
                each(i, scan(target, opts));
            });
        }
    });
}

/// Scans every target, at most `concurrency` at once; reports come back in
/// the targets' order. `progress` is called after each target.
pub fn scan_all(
    targets: &[Target],
    opts: &ScanOptions,
    concurrency: usize,
    progress: &(dyn Fn(usize, &TargetReport) + Sync),
) -> Vec<TargetReport> {
    let done = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<TargetReport>>> = targets.iter().map(|_| Mutex::new(None)).collect();
    scan_each(targets, opts, concurrency, &|i, report| {
        progress(done.fetch_add(1, Ordering::Relaxed) + 1, &report);
        *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(report);
    });
    slots
        .into_iter()
        .zip(targets)
        .map(|(slot, t)| {
            slot.into_inner().unwrap_or_else(|p| p.into_inner()).unwrap_or_else(|| {
                let mut r = TargetReport::empty(t.display(), t.starttls);
                r.error = Some("not scanned".into());
                r
            })
        })
        .collect()
}

/// Runs `mailtls probe`; returns the exit code.
pub fn run(args: &ProbeArgs, json: bool) -> Result<u8> {
    if let Some(domain) = &args.mx.mx {
        return match args.output {
            None | Some(OutputArg::Text) => mx::run(args, domain, json),
            Some(OutputArg::Json) => mx::run(args, domain, true),
            Some(_) => Err(Error::Usage(
                "probe --mx prints text or JSON (--json, --output json)".into(),
            )),
        };
    }
    let r = args.resolve()?;
    let bar = fleet_bar(r.targets.len());
    let progress = |_done: usize, report: &TargetReport| {
        if let Some(bar) = &bar {
            bar.set_message(crate::escape::escape(&report.target).into_owned());
            bar.inc(1);
        }
    };
    let finish = || {
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
    };
    if args.output == Some(OutputArg::Jsonl) {
        let code = run_jsonl(&r, &progress);
        finish();
        return code;
    }
    let json = json || args.output == Some(OutputArg::Json);
    let mut reports = scan_all(&r.targets, &r.opts, r.concurrency, &progress);
    finish();
    if let Some(profile) = &r.profile {
        for report in &mut reports {
            apply_profile(report, profile);
        }
    }
    let mut out = std::io::stdout().lock();
    let summaries: Vec<_> = reports.iter().map(TargetReport::summary).collect();
    let report_format = match args.output {
        Some(OutputArg::Prometheus) => Some(crate::report::ReportFormat::Prometheus),
        Some(OutputArg::Junit) => Some(crate::report::ReportFormat::Junit),
        _ => None,
    };
    if args.output == Some(OutputArg::Nagios) {
        let (state, text) = crate::report::nagios::render(&reports, &args.nagios.thresholds());
        let _ = write!(out, "{text}");
        let _ = out.flush();
        return Ok(state as u8);
    }
    if let Some(format) = report_format {
        let _ = write!(out, "{}", crate::report::probe(format, &reports));
    } else if json {
        let doc = serde_json::json!({ "targets": reports, "summary": summaries });
        let text = serde_json::to_string_pretty(&doc).map_err(|e| Error::State(format!("cannot write JSON: {e}")))?;
        let _ = writeln!(out, "{text}");
    } else {
        for (i, report) in reports.iter().enumerate() {
            if i > 0 {
                let _ = writeln!(out);
            }
            let _ = write!(out, "{}", report.render());
        }
        if reports.len() > 1 {
            let _ = writeln!(out, "\nSummary ({} targets):", reports.len());
            for summary in &summaries {
                let _ = writeln!(out, "  {}", summary.line(r.profile.as_ref().map(|p| p.name.as_str())));
            }
        }
    }
    Ok(exit_code(&reports))
}

/// A progress bar on stderr for a scan of several targets (`[2/10] ####---
/// mx1.example.org:25`), only when stderr is a terminal; drawn by indicatif
/// as `Output`'s spinner is.
fn fleet_bar(total: usize) -> Option<indicatif::ProgressBar> {
    if total < 2 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("[{pos}/{len}] {wide_bar} {elapsed} {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

/// `--output jsonl`: each report is judged, printed as one JSON line and
/// dropped as soon as its target is done; only the summaries stay, for the
/// last line (`{"summary": [...]}`) and the exit code.
fn run_jsonl(r: &Resolved, progress: &(dyn Fn(usize, &TargetReport) + Sync)) -> Result<u8> {
    let done = AtomicUsize::new(0);
    let summaries: Mutex<Vec<(usize, Summary)>> = Mutex::new(Vec::new());
    let failed = std::sync::atomic::AtomicBool::new(false);
    scan_each(&r.targets, &r.opts, r.concurrency, &|i, mut report| {
        if let Some(profile) = &r.profile {
            apply_profile(&mut report, profile);
        }
        progress(done.fetch_add(1, Ordering::Relaxed) + 1, &report);
        match serde_json::to_string(&report) {
            Ok(line) => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
            Err(_) => failed.store(true, Ordering::Relaxed),
        }
        summaries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((i, report.summary()));
    });
    let mut summaries = summaries.into_inner().unwrap_or_else(|p| p.into_inner());
    summaries.sort_by_key(|(i, _)| *i);
    let summaries: Vec<Summary> = summaries.into_iter().map(|(_, s)| s).collect();
    let line = serde_json::to_string(&serde_json::json!({ "summary": summaries }))
        .map_err(|e| Error::State(format!("cannot write JSON: {e}")))?;
    if failed.load(Ordering::Relaxed) {
        return Err(Error::State("cannot write JSON for a target".into()));
    }
    let _ = writeln!(std::io::stdout().lock(), "{line}");
    Ok(summary_exit_code(&summaries))
}

/// Like `exit_code`, from the summaries alone.
fn summary_exit_code(summaries: &[Summary]) -> u8 {
    if summaries.iter().any(|s| s.error.is_some()) {
        exit::ERROR
    } else if summaries.iter().any(|s| s.compliant == Some(false)) {
        exit::NOT_COMPLIANT
    } else {
        exit::OK
    }
}

/// 1 when some target could not be scanned, else 3 when some target does
/// not comply, else 0.
pub fn exit_code(reports: &[TargetReport]) -> u8 {
    if reports.iter().any(|r| r.error.is_some()) {
        exit::ERROR
    } else if reports.iter().any(|r| r.compliant == Some(false)) {
        exit::NOT_COMPLIANT
    } else {
        exit::OK
    }
}
