//! The probe's reports as a Nagios/Icinga plugin result, after the plugin
//! guidelines and `check_ssl_cert`: one status line
//! `MAILTLS STATE - summary | perfdata`, then, for several targets, one line
//! per target (long output); the exit code is the state (0 OK, 1 WARNING,
//! 2 CRITICAL, 3 UNKNOWN). The worst target's state wins, ranked
//! OK < WARNING < UNKNOWN < CRITICAL as Icinga ranks them.

use std::fmt::Write as _;

use crate::probe::{Severity, TargetReport};

/// A plugin state; the discriminant is the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }

    fn rank(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Unknown => 2,
            State::Critical => 3,
        }
    }

    fn worst(self, other: State) -> State {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

/// When a target is WARNING or CRITICAL.
#[derive(Clone, Debug)]
pub struct Thresholds {
    /// WARNING when the certificate expires in fewer days than this.
    pub warn_days: i64,
    /// CRITICAL when the certificate expires in fewer days than this.
    pub crit_days: i64,
    /// WARNING for a finding of this severity or worse (None: never).
    pub warn_severity: Option<Severity>,
    /// CRITICAL for a finding of this severity or worse (None: never).
    pub crit_severity: Option<Severity>,
    /// The state of a target that does not comply with `--profile`.
    pub not_compliant: State,
}

/// Whole days until `not_after` (RFC 3339), negative once expired.
fn days_left(not_after: &str, now: time::OffsetDateTime) -> Option<i64> {
    let when = time::OffsetDateTime::parse(not_after, &time::format_description::well_known::Rfc3339).ok()?;
    Some((when - now).whole_days())
}

/// Text from outside, safe on a status line: escaped, and without the `|`
/// that would start the performance data.
fn clean(text: &str) -> String {
    crate::escape::escape(text).replace('|', "/")
}

/// A perfdata label, quoted as the guidelines require when it holds more than letters, digits and `_`.
fn perf_label(prefix: &str, name: &str) -> String {
    let label = format!("{prefix}{name}");
    if label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        label
    } else {
        format!("'{}'", label.replace('\'', "''"))
    }
}

/// One target's state, its summary and its performance data.
fn judge(r: &TargetReport, t: &Thresholds, now: time::OffsetDateTime, prefix: &str) -> (State, String, Vec<String>) {
    let mut perf = Vec::new();
    if let Some(error) = &r.error {
        return (State::Unknown, format!("scan failed: {}", clean(error)), perf);
    }
    let mut state = State::Ok;
    let mut why: Vec<String> = Vec::new();
    let accepted: Vec<&str> = r
        .protocols
        .iter()
        .filter(|(_, p)| p.accepted)
        .map(|(protocol, _)| protocol.name())
        .collect();

    match r.certificate.as_ref().and_then(|c| days_left(&c.not_after, now)) {
        Some(days) => {
            perf.push(format!(
                "{}={days};{};{}",
                perf_label(prefix, "days_left"),
                t.warn_days,
                t.crit_days
            ));
            if days < 0 {
                state = state.worst(State::Critical);
                why.push(format!("certificate expired {} days ago", -days));
            } else if days < t.crit_days {
                state = state.worst(State::Critical);
                why.push(format!("certificate expires in {days} days"));
            } else if days < t.warn_days {
                state = state.worst(State::Warning);
                why.push(format!("certificate expires in {days} days"));
            } else {
                why.push(format!("certificate valid {days} more days"));
            }
        }
        None => {
            state = state.worst(State::Warning);
            why.push("no certificate read".into());
        }
    }

    // Profile violations count under compliance; the severity thresholds
    // judge the probe's own findings.
    let own = |s: Severity| {
        r.findings
            .iter()
            .filter(|f| f.severity == s && !f.id.starts_with("profile-"))
            .count()
    };
    for severity in [Severity::High, Severity::Medium, Severity::Low, Severity::Info] {
        let n = own(severity);
        perf.push(format!(
            "{}={n}",
            perf_label(prefix, &format!("findings_{}", severity.label().to_lowercase()))
        ));
        if n == 0 {
            continue;
        }
        let level = if t.crit_severity.is_some_and(|c| severity >= c) {
            State::Critical
        } else if t.warn_severity.is_some_and(|w| severity >= w) {
            State::Warning
        } else {
            State::Ok
        };
        if level != State::Ok {
            state = state.worst(level);
            why.push(format!(
                "{n} {} finding{}",
                severity.label(),
                if n == 1 { "" } else { "s" }
            ));
        }
    }

    if let (Some(compliant), Some(profile)) = (r.compliant, &r.profile) {
        perf.push(format!("{}={}", perf_label(prefix, "compliant"), u8::from(compliant)));
        if compliant {
            why.push(format!("complies with {}", clean(profile)));
        } else {
            state = state.worst(t.not_compliant);
            let violations = r.findings.iter().filter(|f| f.id.starts_with("profile-")).count();
            why.push(format!(
                "not compliant with {} ({violations} violation{})",
                clean(profile),
                if violations == 1 { "" } else { "s" }
            ));
        }
    }
    perf.insert(
        1.min(perf.len()),
        format!("{}={}", perf_label(prefix, "protocols"), accepted.len()),
    );
    perf.push(format!(
        "{}={:.3}s",
        perf_label(prefix, "scan_time"),
        r.elapsed_ms as f64 / 1000.0
    ));
    let protocols = if accepted.is_empty() {
        "no TLS protocol accepted".to_string()
    } else {
        accepted.join(", ")
    };
    let summary = std::iter::once(protocols).chain(why).collect::<Vec<_>>().join("; ");
    (state, summary, perf)
}

/// Whether the command line asks for `--output nagios` (as `--output nagios`
/// or `--output=nagios`), read before clap parses it, so that even a usage
/// error ends as a plugin result.
pub fn requested(args: &[std::ffi::OsString]) -> bool {
    args.iter()
        .skip(1)
        .zip(args.iter().skip(2))
        .any(|(a, b)| a == "--output" && b == "nagios")
        || args.iter().any(|a| a == "--output=nagios")
}

/// Prints `MAILTLS UNKNOWN - message` on stdout (the one line a monitoring
/// system reads; nothing on stderr, which Icinga 2 appends to it) and returns
/// the UNKNOWN exit code: every failure under `--output nagios` ends here.
pub fn unknown(message: &str) -> u8 {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let one_line: Vec<&str> = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let _ = writeln!(out, "MAILTLS UNKNOWN - {}", clean(&one_line.join("; ")));
    let _ = out.flush();
    State::Unknown as u8
}

/// A panic under `--output nagios` is UNKNOWN too, not Rust's exit code 101.
pub fn unknown_on_panic() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "internal error".into());
        std::process::exit(i32::from(unknown(&format!("internal error: {message}"))));
    }));
}

/// The plugin output for `reports` and its state (the exit code).
pub fn render(reports: &[TargetReport], t: &Thresholds) -> (State, String) {
    render_at(reports, t, time::OffsetDateTime::now_utc())
}

fn render_at(reports: &[TargetReport], t: &Thresholds, now: time::OffsetDateTime) -> (State, String) {
    let mut out = String::new();
    if let [r] = reports {
        let (state, summary, perf) = judge(r, t, now, "");
        let _ = write!(out, "MAILTLS {} - {}: {summary}", state.name(), clean(&r.target));
        if !perf.is_empty() {
            let _ = write!(out, " | {}", perf.join(" "));
        }
        out.push('\n');
        return (state, out);
    }
    let judged: Vec<_> = reports
        .iter()
        .map(|r| {
            let prefix = format!("{}_", clean(&r.target));
            (r, judge(r, t, now, &prefix))
        })
        .collect();
    let worst = judged
        .iter()
        .fold(State::Ok, |worst, (_, (state, _, _))| worst.worst(*state));
    let count = |s: State| judged.iter().filter(|(_, (state, _, _))| *state == s).count();
    let tally: Vec<String> = [State::Critical, State::Unknown, State::Warning, State::Ok]
        .into_iter()
        .filter(|s| count(*s) > 0)
        .map(|s| format!("{} {}", count(s), s.name().to_lowercase()))
        .collect();
    let perf: Vec<String> = judged.iter().flat_map(|(_, (_, _, p))| p.iter().cloned()).collect();
    let _ = write!(
        out,
        "MAILTLS {} - {} targets: {}",
        worst.name(),
        reports.len(),
        tally.join(", ")
    );
    if !perf.is_empty() {
        let _ = write!(out, " | {}", perf.join(" "));
    }
    out.push('\n');
    for (r, (state, summary, _)) in &judged {
        let _ = writeln!(out, "{} - {}: {summary}", state.name(), clean(&r.target));
    }
    (worst, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_state_wins_as_icinga_ranks_them() {
        assert_eq!(State::Ok.worst(State::Warning), State::Warning);
        assert_eq!(State::Unknown.worst(State::Warning), State::Unknown);
        assert_eq!(State::Unknown.worst(State::Critical), State::Critical);
        assert_eq!(State::Critical.worst(State::Unknown), State::Critical);
    }

    #[test]
    fn labels_are_quoted_when_they_need_it() {
        assert_eq!(perf_label("", "days_left"), "days_left");
        assert_eq!(perf_label("mx.example:25_", "days_left"), "'mx.example:25_days_left'");
        assert_eq!(perf_label("it's_", "x"), "'it''s_x'");
    }

    #[test]
    fn days_left_counts_whole_days() {
        let now = time::OffsetDateTime::parse("2026-01-01T00:00:00Z", &time::format_description::well_known::Rfc3339)
            .unwrap();
        assert_eq!(days_left("2026-01-30T23:00:00Z", now), Some(29));
        assert_eq!(days_left("2025-12-30T00:00:00Z", now), Some(-2));
        assert_eq!(days_left("garbage", now), None);
    }
}
