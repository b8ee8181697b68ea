//! The command line as clap sees it: syntax only. `resolve` turns these raw
//! values into a profile, a server and paths before any command runs.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::mta::MtaKind;

pub use crate::vocabulary::MAX_SECONDS;

#[derive(Parser, Debug)]
#[command(
    name = "mailtls",
    version,
    about = "Harden the TLS of a mail server in place, and prove the result",
    after_help = "Examples:\n  mailtls                (at a terminal: guided, from findings to a before/after table)\n  mailtls detect\n  mailtls plan --profile modern\n  mailtls apply --yes --json --cert /etc/ssl/mail.pem --key /etc/ssl/private/mail.key\n  mailtls rollback\n\nExit codes: 0 done or nothing to do, 1 error (nothing changed), 2 plan: changes pending, 3 verification failed and the change was rolled back (probe: a target does not comply)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Where backups and the journal live.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = "/var/lib/mailtls",
        env = "MAILTLS_STATE_DIR"
    )]
    pub state_dir: PathBuf,
    /// Print one machine-readable JSON object on stdout; human text goes to stderr.
    #[arg(long, global = true)]
    pub json: bool,
    /// Answer yes to every question (needed without a terminal).
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
    /// Color the output (NO_COLOR is honoured by `auto`).
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Seconds a reload command may take before it is killed and counted as failed (1 to 3600).
    #[arg(long, global = true, value_name = "SECS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..=MAX_SECONDS))]
    pub reload_timeout: u64,
    /// More detail (repeat for more).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show the installed mail servers, their TLS listeners and what is weak today.
    Detect,
    /// Print the diff `apply` would make. Exit 0: nothing to change, 2: changes pending.
    Plan(PlanArgs),
    /// Back up, change, reload and verify; roll back by itself if verification fails.
    /// At a terminal without --yes it guides you: findings, profile, certificate, diff, before/after.
    Apply(ApplyArgs),
    /// Restore the latest (or the named) backup set, reload and verify.
    Rollback(RollbackArgs),
    /// List the backup sets.
    History,
    /// List the profiles, or show one and what it sets per server.
    Profiles {
        /// A bundled profile's name or a .toml file.
        name: Option<String>,
    },
    /// Scan mail servers' TLS (SMTP/IMAP/POP3 STARTTLS or implicit TLS), optionally against a profile.
    Probe(crate::probe::command::ProbeArgs),
    /// Print the DANE TLSA record ("3 1 1") to publish for a certificate or key.
    Tlsa(crate::commands::TlsaArgs),
    /// Who would lose TLS: what each peer negotiated, from the servers' own logs, against a profile.
    Impact(ImpactArgs),
    /// Print a shell completion script (e.g. `mailtls completions bash > /etc/bash_completion.d/mailtls`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) generated from these same definitions.
    Man,
}

/// `plan`'s arguments: the target, and a report format for CI.
#[derive(Args, Debug, Clone)]
pub struct PlanArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print the pending changes as JUnit XML (one failing test case per change).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub output: Option<crate::report::ReportFormat>,
    /// A testssl.sh (--jsonfile) or sslyze (--json_out) JSON report: plan the bundled
    /// profile that closes its findings, and say which setting closes which finding.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["profile", "output"])]
    pub from_scan: Option<PathBuf>,
}

/// Which server to harden, and how.
#[derive(Args, Debug, Clone, Default)]
pub struct TargetArgs {
    /// The mail server (default: the one installed).
    #[arg(long, value_enum)]
    pub mta: Option<MtaKind>,
    /// A server instance's config (Postfix: its config directory, as `postconf -c` takes it;
    /// Dovecot: its dovecot.conf; Cyrus: its imapd.conf). Repeat it to cover several servers in one run.
    #[arg(long, value_name = "PATH")]
    pub config: Vec<PathBuf>,
    /// A bundled profile (intermediate, modern) or a .toml file [default: intermediate;
    /// at a terminal without --yes, `apply` asks].
    #[arg(long, value_name = "NAME|FILE")]
    pub profile: Option<String>,
    /// Hold every listener of a kind (smtp, submission, imap, pop3) to another
    /// profile, such as `smtp=old` (port 25 stays open to old senders). Repeatable.
    #[arg(long, value_name = "KIND=PROFILE")]
    pub listener_profile: Vec<String>,
    /// Keep one named listener (service name, port or host:port) at another
    /// profile, with the reason recorded in the journal and shown by plan,
    /// apply and history: `'submission=old:a legacy scanner'`. Repeatable.
    #[arg(long = "except", value_name = "LISTENER=PROFILE:REASON")]
    pub except: Vec<String>,
    /// A new certificate (PEM, leaf first) for the server to use.
    #[arg(long, value_name = "PEM", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The private key (PEM) matching --cert.
    #[arg(long, value_name = "PEM", requires = "cert")]
    pub key: Option<PathBuf>,
    /// A mail stack in containers (docker-mailserver, Mailu, mailcow): the container to
    /// restart or reload it through [default: the compose file's container_name, else its service].
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
    /// docker or podman, for a mail stack in containers [default: the one installed, docker first].
    #[arg(long, value_enum, value_name = "RUNTIME")]
    pub container_runtime: Option<crate::mta::container::Runtime>,
    /// DANE and MTA-STS: what a certificate change is checked against.
    #[command(flatten)]
    pub guard: crate::dane::args::GuardArgs,
    /// Outbound DANE: Postfix delivers with `smtp_tls_security_level = dane` and
    /// `smtp_dns_support_level = dnssec`. Refused unless the resolver validates DNSSEC.
    #[arg(long)]
    pub outbound_dane: bool,
    /// The signed name whose SOA record must come back with the AD bit before
    /// --outbound-dane is planned (tests; default: the root zone).
    #[arg(long, value_name = "NAME", default_value = ".", hide = true)]
    pub dnssec_probe_name: String,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Write the files but do not reload the server (nor verify).
    #[arg(long)]
    pub no_reload: bool,
    /// Reload but do not probe the server afterwards.
    #[arg(long)]
    pub no_verify: bool,
    /// Reload with this command (run by /bin/sh) instead of the server's own.
    #[arg(long, value_name = "CMD")]
    pub reload_command: Option<String>,
    /// Report what would change and write nothing (same as `plan`).
    #[arg(long)]
    pub check: bool,
    /// Refuse when more than N peers in the last 30 days of the servers' logs would lose TLS.
    #[arg(long, value_name = "N")]
    pub max_lose_tls: Option<usize>,
    /// After the reload, read the logs this long (30s, 10m) and roll back on new
    /// TLS handshake failures from peers that negotiated fine before.
    #[arg(long, value_name = "DURATION")]
    pub watch: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct RollbackArgs {
    /// The backup set to restore (default: the latest applied one).
    pub backup_id: Option<String>,
    /// Restore even when a file was changed by someone since mailtls wrote it.
    #[arg(long)]
    pub force: bool,
}

/// `mailtls impact`: who would lose TLS, read from the servers' logs.
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
