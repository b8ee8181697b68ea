//! `mailtls probe`'s command line (clap syntax only); `commands::probe`
//! resolves and runs it.

use std::path::PathBuf;

use crate::probe::Severity;

/// The dialogue to use, or `auto` to pick it from the port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StarttlsArg {
    Auto,
    Smtp,
    Imap,
    Pop3,
    None,
}

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputArg {
    /// Tables for people (or one JSON document with --json).
    Text,
    /// One JSON document with every target, printed at the end.
    Json,
    /// One JSON line per target as soon as it is scanned, then one line with
    /// the summary: memory stays flat however many targets there are.
    Jsonl,
    /// Prometheus text exposition format, for node_exporter's textfile collector.
    Prometheus,
    /// JUnit XML: one test case per finding.
    Junit,
    /// A Nagios/Icinga plugin result: one status line with performance data,
    /// exit code 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    Nagios,
}

/// A finding severity for `--warn-severity` / `--crit-severity`; `none` never triggers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SeverityArg {
    Info,
    Low,
    Medium,
    High,
    None,
}

impl SeverityArg {
    pub fn severity(self) -> Option<Severity> {
        match self {
            SeverityArg::Info => Some(Severity::Info),
            SeverityArg::Low => Some(Severity::Low),
            SeverityArg::Medium => Some(Severity::Medium),
            SeverityArg::High => Some(Severity::High),
            SeverityArg::None => None,
        }
    }
}

/// `--not-compliant`: the Nagios state of a target that does not comply with `--profile`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StateArg {
    Ok,
    Warning,
    Critical,
}

/// `mailtls probe TARGET...`: scan mail servers' TLS.
#[derive(clap::Args, Debug, Clone)]
pub struct ProbeArgs {
    /// host[:port]; the port picks the dialogue with --starttls auto
    /// (25/587 SMTP, 465/993/995 implicit TLS, 143 IMAP, 110 POP3).
    pub targets: Vec<String>,
    /// How TLS starts.
    #[arg(long, value_enum, default_value = "auto")]
    pub starttls: StarttlsArg,
    /// Read more targets from FILE, one per line (blank lines and # comments allowed).
    #[arg(long, value_name = "FILE")]
    pub targets_in: Option<PathBuf>,
    /// Name for SNI and the certificate's hostname check (default: each target's host).
    #[arg(long, value_name = "NAME")]
    pub servername: Option<String>,
    /// The name to send with EHLO (default: this machine's hostname).
    #[arg(long, value_name = "NAME")]
    pub ehlo: Option<String>,
    /// Trust these CA certificates (PEM) instead of the system's roots.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Judge every target against this profile (bundled name or .toml file).
    #[arg(long, value_name = "NAME|FILE")]
    pub profile: Option<String>,
    /// Targets scanned at once (1 to 256).
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=256))]
    pub concurrency: usize,
    /// Connections open at once to one target, 1 to 64 (lowered automatically when a server says it is busy).
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=64))]
    pub connections_per_target: usize,
    /// Seconds each connection may take: connect, dialogue and handshake together (1 to 3600).
    #[arg(long, value_name = "SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=crate::vocabulary::MAX_SECONDS))]
    pub timeout: u64,
    #[command(flatten)]
    pub mx: crate::dane::args::MxArgs,
    /// text, json (as --json), jsonl (one line per target as it finishes),
    /// prometheus (node_exporter's textfile collector), junit (XML) or
    /// nagios (a monitoring plugin's status line and exit code).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputArg>,
    #[command(flatten)]
    pub nagios: NagiosArgs,
}

/// The thresholds of `--output nagios`.
#[derive(clap::Args, Debug, Clone)]
pub struct NagiosArgs {
    /// --output nagios: WARNING when the certificate expires in fewer than N days.
    #[arg(long, value_name = "N", default_value_t = 30,
          value_parser = clap::value_parser!(i64).range(0..=36500))]
    pub warn_days: i64,
    /// --output nagios: CRITICAL when the certificate expires in fewer than N days.
    #[arg(long, value_name = "N", default_value_t = 14,
          value_parser = clap::value_parser!(i64).range(0..=36500))]
    pub crit_days: i64,
    /// --output nagios: WARNING for a finding of this severity or worse.
    #[arg(long, value_enum, value_name = "SEVERITY", default_value = "medium")]
    pub warn_severity: SeverityArg,
    /// --output nagios: CRITICAL for a finding of this severity or worse.
    #[arg(long, value_enum, value_name = "SEVERITY", default_value = "high")]
    pub crit_severity: SeverityArg,
    /// --output nagios: the state of a target that does not comply with --profile.
    #[arg(long, value_enum, value_name = "STATE", default_value = "critical")]
    pub not_compliant: StateArg,
}

impl Default for NagiosArgs {
    fn default() -> NagiosArgs {
        NagiosArgs {
            warn_days: 30,
            crit_days: 14,
            warn_severity: SeverityArg::Medium,
            crit_severity: SeverityArg::High,
            not_compliant: StateArg::Critical,
        }
    }
}
