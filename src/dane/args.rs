//! The DNS options shared by `probe`, `plan` and `apply` (clap syntax only).

use std::path::PathBuf;

/// Where to ask DNS, and what to trust besides the system's roots.
#[derive(clap::Args, Debug, Clone)]
pub struct DnsArgs {
    /// A validating resolver, ADDR[:PORT] (default: the first nameserver in /etc/resolv.conf).
    /// Records count as DNSSEC-secure only when it sets the AD bit.
    #[arg(long, value_name = "ADDR[:PORT]")]
    pub resolver: Option<String>,
    /// The HTTPS port MTA-STS policies are fetched from (tests; senders always use 443).
    #[arg(long, value_name = "PORT", default_value_t = 443, hide = true)]
    pub mta_sts_port: u16,
}

/// What the certificate guard of `plan` and `apply` checks.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct GuardArgs {
    #[command(flatten)]
    pub dns: DnsArgs,
    /// A CA certificate (PEM) to trust in addition to the system's, for MTA-STS checks.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// A mail domain this server receives for, whose MTA-STS policy a new certificate must
    /// satisfy (repeatable; default: Postfix's mydomain).
    #[arg(long = "domain", value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// The MX host name senders reach this server by, whose TLSA records a new certificate
    /// must match (repeatable; default: Postfix's myhostname, else this machine's name).
    #[arg(long = "mx-host", value_name = "NAME")]
    pub mx_hosts: Vec<String>,
    /// Change the certificate even when the published TLSA records do not match it
    /// (DANE senders will defer mail until the records are fixed).
    #[arg(long)]
    pub ignore_dane: bool,
}

/// `probe --mx DOMAIN`: scan a domain's MX hosts found through DNS.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct MxArgs {
    /// Resolve DOMAIN's MX hosts and their addresses, scan each on port 25 and add DANE and
    /// MTA-STS to every report.
    #[arg(long, value_name = "DOMAIN")]
    pub mx: Option<String>,
    /// The SMTP port to scan the MX addresses on (tests; senders always use 25).
    #[arg(long, value_name = "PORT", default_value_t = 25, requires = "mx")]
    pub mx_port: u16,
    #[command(flatten)]
    pub dns: DnsArgs,
}

impl Default for DnsArgs {
    fn default() -> DnsArgs {
        DnsArgs {
            resolver: None,
            mta_sts_port: 443,
        }
    }
}
