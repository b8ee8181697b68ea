//! Who would lose TLS: each server's own logs, read for what every peer
//! negotiated, held against a profile. `formats` has one parser per server
//! behind the `LogFormat` trait and one registry (`FORMATS`); `reader` reads
//! a log in bounded memory and hands candidate lines to them; `tally` counts
//! per peer and gives the verdict; `sources` finds the logs a server writes;
//! `coverage` says when a log cannot tell and which setting would make it.
//! Nothing here writes a file; `command` is the `mailtls impact` subcommand.

pub mod command;
pub mod coverage;
pub mod flow;
pub mod formats;
pub mod logging;
pub mod names;
pub mod reader;
pub mod sources;
pub mod stamp;
pub mod tally;

use crate::mta::MtaKind;
use crate::tls::Protocol;

pub use formats::{LogFormat, FORMATS};
pub use tally::{Report, Tally, Verdict};

/// One thing a log line says about one peer.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub mta: MtaKind,
    pub address: String,
    /// The reverse name the server logged, when it logged one ("unknown" is none).
    pub name: Option<String>,
    /// Where the peer met the server: `smtp`, `submission`, `imap`, `pop3`, a
    /// port, or `outbound` for the server's own deliveries.
    pub listener: String,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// A handshake completed: the protocol and suite as logged.
    Negotiated { protocol: String, suite: String },
    /// A handshake failed (`SSL_accept error`, `unsupported protocol`...).
    Failed { reason: String },
}

impl Event {
    fn new(mta: MtaKind, address: &str, name: Option<&str>, listener: &str, outcome: Outcome) -> Event {
        let name = name
            .map(|n| n.trim_end_matches('.'))
            .filter(|n| !n.is_empty() && *n != "unknown" && *n != address);
        Event {
            mta,
            address: address.to_string(),
            name: name.map(str::to_string),
            listener: listener.to_string(),
            outcome,
        }
    }

    fn negotiated(mta: MtaKind, address: &str, name: Option<&str>, listener: &str, protocol: &str, suite: &str) -> Event {
        let outcome = Outcome::Negotiated {
            protocol: protocol.to_string(),
            suite: suite.to_string(),
        };
        Event::new(mta, address, name, listener, outcome)
    }

    fn failed(mta: MtaKind, address: &str, name: Option<&str>, listener: &str, reason: &str) -> Event {
        let outcome = Outcome::Failed {
            reason: reason.trim().to_string(),
        };
        Event::new(mta, address, name, listener, outcome)
    }
}

/// The protocol a logged name means, for verdicts (`None`: not a name we know).
pub fn protocol_of(name: &str) -> Option<Protocol> {
    names::protocol(name)
}
