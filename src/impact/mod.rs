//! Who would lose TLS: each server's own logs, read for what every peer
//! negotiated, held against a profile. `formats` has one parser per server
//! behind the `LogFormat` trait and one registry (`FORMATS`); `reader` reads
//! a log in bounded memory and hands candidate lines to them; `tally` counts
//! per peer and gives the verdict; `sources` finds the logs a server writes;
//! `coverage` says when a log cannot tell and which setting would make it.
//! Nothing here writes a file; `command` is the `mailtls impact` subcommand.

pub mod analysis;
pub mod coverage;
pub mod flow;
pub mod formats;
pub mod logging;
pub mod names;
pub mod reader;
pub mod sources;
pub mod stamp;
pub mod tally;

use std::borrow::Cow;

use crate::mta::MtaKind;

pub use formats::LogFormat;
pub use tally::{Report, Tally, Verdict};

/// One thing a log line says about one peer. It borrows from the line
/// (no allocation on the hot path) except where a format kept state.
#[derive(Clone, Debug, PartialEq)]
pub struct Event<'a> {
    pub mta: MtaKind,
    pub address: Cow<'a, str>,
    /// The reverse name the server logged, when it logged one ("unknown" is none).
    pub name: Option<Cow<'a, str>>,
    /// Where the peer met the server: `smtp`, `submission`, `imap`, `pop3`, a
    /// port, or `outbound` for the server's own deliveries.
    pub listener: Cow<'a, str>,
    pub outcome: Outcome<'a>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome<'a> {
    /// A handshake completed: the protocol and suite as logged.
    Negotiated {
        protocol: Cow<'a, str>,
        suite: Cow<'a, str>,
    },
    /// A handshake failed (`SSL_accept error`, `unsupported protocol`...).
    Failed { reason: Cow<'a, str> },
}

impl<'a> Event<'a> {
    fn new(
        mta: MtaKind,
        address: impl Into<Cow<'a, str>>,
        name: Option<impl Into<Cow<'a, str>>>,
        listener: impl Into<Cow<'a, str>>,
        outcome: Outcome<'a>,
    ) -> Event<'a> {
        let address = address.into();
        let name = name
            .map(Into::into)
            .map(|n: Cow<'a, str>| match n {
                Cow::Borrowed(b) => Cow::Borrowed(b.trim_end_matches('.')),
                Cow::Owned(o) => Cow::Owned(o.trim_end_matches('.').to_string()),
            })
            .filter(|n| !n.is_empty() && n != "unknown" && *n != address);
        Event {
            mta,
            address,
            name,
            listener: listener.into(),
            outcome,
        }
    }

    fn negotiated(
        mta: MtaKind,
        address: impl Into<Cow<'a, str>>,
        name: Option<impl Into<Cow<'a, str>>>,
        listener: impl Into<Cow<'a, str>>,
        protocol: &'a str,
        suite: &'a str,
    ) -> Event<'a> {
        let outcome = Outcome::Negotiated {
            protocol: Cow::Borrowed(protocol),
            suite: Cow::Borrowed(suite),
        };
        Event::new(mta, address, name, listener, outcome)
    }

    fn failed(
        mta: MtaKind,
        address: impl Into<Cow<'a, str>>,
        name: Option<impl Into<Cow<'a, str>>>,
        listener: impl Into<Cow<'a, str>>,
        reason: impl Into<Cow<'a, str>>,
    ) -> Event<'a> {
        let reason = match reason.into() {
            Cow::Borrowed(r) => Cow::Borrowed(r.trim()),
            Cow::Owned(r) => Cow::Owned(r.trim().to_string()),
        };
        Event::new(mta, address, name, listener, Outcome::Failed { reason })
    }
}
