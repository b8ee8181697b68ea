//! `mailtls tlsa`'s command line (clap syntax only).

use std::path::PathBuf;

/// `mailtls tlsa (--cert PEM | --key PEM) [--host NAME] [--port N]`.
#[derive(clap::Args, Debug, Clone)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["cert", "key"])))]
pub struct TlsaArgs {
    /// The certificate (PEM, leaf first) whose key the record pins.
    #[arg(long, value_name = "PEM")]
    pub cert: Option<PathBuf>,
    /// The private key (PEM) the record pins (e.g. a new key, before its certificate exists).
    #[arg(long, value_name = "PEM")]
    pub key: Option<PathBuf>,
    /// The MX host name, to print the whole zone line (`_25._tcp.HOST. IN TLSA ...`).
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// The port (25 for SMTP).
    #[arg(long, default_value_t = 25)]
    pub port: u16,
}
