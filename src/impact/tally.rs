//! Counting per peer, and the verdict. A peer is an address at one listener
//! of one server; its lines are counted, never kept. The verdict holds what
//! it negotiated against the profile, using the profile's own judgement
//! (`Profile::allows`, `Profile::allows_suite`):
//! - `loses-tls`: every protocol it negotiated is one the profile refuses;
//! - `at-risk`: it negotiated a suite (or, besides an allowed protocol, a
//!   protocol) the profile refuses; the log cannot tell whether it has another;
//! - `ok`; and `fails-today` for a peer whose handshakes all failed already.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::{names, stamp, Event, Outcome};
use crate::mta::MtaKind;
use crate::profile::Profile;

#[derive(Debug)]
struct Counts {
    mta: MtaKind,
    name: Option<String>,
    /// "protocol\0suite" as logged -> handshakes.
    negotiated: BTreeMap<String, u64>,
    failures: u64,
    last_failure: Option<String>,
    first: Option<i64>,
    last: Option<i64>,
}

impl Counts {
    fn add(&mut self, event: &Event<'_>, time: Option<i64>, pair: &mut String) {
        if let Some(name) = &event.name {
            if self.name.as_deref() != Some(name) {
                self.name = Some(name.to_string());
            }
        }
        if let Some(t) = time {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
        match &event.outcome {
            Outcome::Negotiated { protocol, suite } => {
                pair.clear();
                pair.push_str(protocol);
                pair.push('\0');
                pair.push_str(suite);
                match self.negotiated.get_mut(pair.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        self.negotiated.insert(pair.clone(), 1);
                    }
                }
            }
            Outcome::Failed { reason } => {
                self.failures += 1;
                if self.last_failure.as_deref() != Some(reason) {
                    self.last_failure = Some(reason.to_string());
                }
            }
        }
    }
}

/// Every peer seen so far, keyed by "K\0address\0listener", K the server's
/// kind as one digit (one string,
/// so a lookup borrows a reused buffer and allocates only for a new peer).
#[derive(Default, Debug)]
pub struct Tally {
    peers: HashMap<String, Counts>,
    key: String,
    /// "protocol\0suite" of the line at hand.
    pair: String,
}

impl Tally {
    pub fn add(&mut self, event: &Event<'_>, time: Option<i64>) {
        self.key.clear();
        // Built in place: no allocation, no formatting, one hash per line
        // for a peer already seen. The server part only has to be unique.
        self.key.push(char::from(b'0' + event.mta as u8));
        self.key.push('\0');
        self.key.push_str(&event.address);
        self.key.push('\0');
        self.key.push_str(&event.listener);
        if let Some(counts) = self.peers.get_mut(self.key.as_str()) {
            counts.add(event, time, &mut self.pair);
            return;
        }
        let mut counts = Counts {
            mta: event.mta,
            name: None,
            negotiated: BTreeMap::new(),
            failures: 0,
            last_failure: None,
            first: None,
            last: None,
        };
        counts.add(event, time, &mut self.pair);
        self.peers.insert(self.key.clone(), counts);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// The peers with their verdicts, worst first, then busiest first.
    pub fn report(&self, profile: &Profile) -> Vec<Peer> {
        let mut peers: Vec<Peer> = self.peers.iter().map(|(k, c)| Peer::judge(k, c, profile)).collect();
        peers.sort_by(|a, b| {
            (a.verdict, std::cmp::Reverse(a.count), &a.address, &a.listener).cmp(&(
                b.verdict,
                std::cmp::Reverse(b.count),
                &b.address,
                &b.listener,
            ))
        });
        peers
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    LosesTls,
    AtRisk,
    FailsToday,
    Ok,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::LosesTls => "loses-tls",
            Verdict::AtRisk => "at-risk",
            Verdict::FailsToday => "fails-today",
            Verdict::Ok => "ok",
        }
    }
}

/// One peer as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Peer {
    pub mta: MtaKind,
    pub address: String,
    pub name: Option<String>,
    pub listener: String,
    /// Protocols negotiated, by the crate's names ("TLSv1.0"), oldest first.
    pub protocols: Vec<String>,
    /// Suites negotiated, by IANA name when the registry knows the logged one.
    pub suites: Vec<String>,
    /// Completed handshakes.
    pub count: u64,
    pub failures: u64,
    pub last_failure: Option<String>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub verdict: Verdict,
    /// Why, in words.
    pub reasons: Vec<String>,
}

impl Peer {
    fn judge(key: &str, counts: &Counts, profile: &Profile) -> Peer {
        let mut parts = key.splitn(3, '\0').skip(1);
        let (address, listener) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let mut protocols = Vec::new();
        let mut suites = Vec::new();
        let mut reasons = Vec::new();
        let (mut allowed, mut refused) = (0, 0);
        for pair in counts.negotiated.keys() {
            let (protocol_name, suite_name) = pair.split_once('\0').unwrap_or((pair, ""));
            let protocol = names::protocol(protocol_name);
            let suite = names::suite(protocol, suite_name);
            let shown_protocol = protocol.map_or(protocol_name.to_string(), |p| p.name().to_string());
            let shown_suite = suite.map_or(suite_name.to_string(), |s| s.to_string());
            if !protocols.contains(&shown_protocol) {
                protocols.push(shown_protocol.clone());
            }
            if !suites.contains(&shown_suite) {
                suites.push(shown_suite.clone());
            }
            match (protocol, suite) {
                // OpenSSL 1.0 logged "TLSv1/SSLv3" for every protocol from SSLv3 to TLS 1.2.
                (None, _) if protocol_name.contains('/') => reasons.push(format!(
                    "the log says {protocol_name:?}, which covers SSLv3 to TLS 1.2: it cannot tell which"
                )),
                (None, _) => reasons.push(format!("protocol {protocol_name:?} is not one mailtls knows")),
                (Some(p), _) if !profile.allows(p) => {
                    refused += 1;
                    let reason = format!(
                        "{p} is refused by profile {} (minimum {})",
                        profile.name, profile.min_protocol
                    );
                    if !reasons.contains(&reason) {
                        reasons.push(reason);
                    }
                }
                (Some(_), None) => {
                    allowed += 1;
                    reasons.push(format!("suite {suite_name:?} is not one mailtls knows"));
                }
                (Some(p), Some(s)) => {
                    allowed += 1;
                    if !profile.allows_suite(p, s) {
                        reasons.push(format!("{s} ({p}) is not in profile {}", profile.name));
                    }
                }
            }
        }
        protocols.sort_by_key(|p| names::protocol(p));
        let verdict = if counts.negotiated.is_empty() {
            reasons.push(format!("{} failed handshake(s) and none completed", counts.failures));
            Verdict::FailsToday
        } else if allowed == 0 && refused > 0 {
            Verdict::LosesTls
        } else if reasons.is_empty() {
            Verdict::Ok
        } else {
            Verdict::AtRisk
        };
        Peer {
            mta: counts.mta,
            address: address.to_string(),
            name: counts.name.clone(),
            listener: listener.to_string(),
            protocols,
            suites,
            count: counts.negotiated.values().sum(),
            failures: counts.failures,
            last_failure: counts.last_failure.clone(),
            first_seen: counts.first.map(stamp::format),
            last_seen: counts.last.map(stamp::format),
            verdict,
            reasons,
        }
    }
}

/// The whole answer: peers, and how many of each verdict per listener.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub peers: Vec<Peer>,
    pub summary: Summary,
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub profile: String,
    pub peers: usize,
    pub loses_tls: usize,
    pub at_risk: usize,
    pub fails_today: usize,
    pub ok: usize,
    /// Per `mta listener`, the same counts.
    pub by_listener: BTreeMap<String, BTreeMap<&'static str, usize>>,
    /// "3 peers ... would lose TLS on smtp: a, b, c": one line per listener with losers.
    pub lines: Vec<String>,
}

impl Report {
    pub fn new(tally: &Tally, profile: &Profile, window: Option<&str>) -> Report {
        let peers = tally.report(profile);
        let count = |v: Verdict| peers.iter().filter(|p| p.verdict == v).count();
        let mut by_listener: BTreeMap<String, BTreeMap<&'static str, usize>> = BTreeMap::new();
        for p in &peers {
            *by_listener
                .entry(format!("{} {}", p.mta.name(), p.listener))
                .or_default()
                .entry(p.verdict.name())
                .or_default() += 1;
        }
        let mut lines = Vec::new();
        let when = window.map_or(String::new(), |w| format!(" in the last {w}"));
        for (listener, verdicts) in &by_listener {
            for (verdict, what) in [(Verdict::LosesTls, "would lose TLS"), (Verdict::AtRisk, "are at risk")] {
                let Some(n) = verdicts.get(verdict.name()).filter(|n| **n > 0) else {
                    continue;
                };
                let who: Vec<String> = peers
                    .iter()
                    .filter(|p| p.verdict == verdict && format!("{} {}", p.mta.name(), p.listener) == *listener)
                    .take(5)
                    .map(|p| match &p.name {
                        Some(name) => format!("{name} [{}]", p.address),
                        None => p.address.clone(),
                    })
                    .collect();
                let more = if *n > who.len() {
                    format!(" and {} more", n - who.len())
                } else {
                    String::new()
                };
                let verb = if *n == 1 {
                    what.replace("are", "is")
                } else {
                    what.to_string()
                };
                lines.push(format!(
                    "{n} peer{}{when} {verb} on {listener} under profile {}: {}{more}",
                    if *n == 1 { "" } else { "s" },
                    profile.name,
                    who.join(", ")
                ));
            }
        }
        let summary = Summary {
            profile: profile.name.clone(),
            peers: peers.len(),
            loses_tls: count(Verdict::LosesTls),
            at_risk: count(Verdict::AtRisk),
            fails_today: count(Verdict::FailsToday),
            ok: count(Verdict::Ok),
            by_listener,
            lines,
        };
        Report { peers, summary }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event<'a>(address: &'a str, protocol: &'a str, suite: &'a str) -> Event<'a> {
        Event::negotiated(MtaKind::Postfix, address, None::<&str>, "smtp", protocol, suite)
    }

    #[test]
    fn verdicts_against_intermediate() {
        let profile = Profile::load("intermediate").unwrap();
        let mut t = Tally::default();
        t.add(&event("127.0.0.2", "TLSv1", "ECDHE-RSA-AES256-SHA"), Some(10));
        t.add(&event("127.0.0.2", "TLSv1", "ECDHE-RSA-AES256-SHA"), Some(5));
        t.add(&event("127.0.0.3", "TLSv1.2", "ECDHE-RSA-AES256-SHA384"), None);
        t.add(&event("127.0.0.4", "TLSv1.3", "TLS_AES_256_GCM_SHA384"), None);
        t.add(&event("127.0.0.5", "TLSv1.1", "AES128-SHA"), None);
        t.add(&event("127.0.0.5", "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"), None);
        t.add(
            &Event::failed(MtaKind::Postfix, "127.0.0.6", None::<&str>, "smtp", "SSL_accept error"),
            None,
        );
        let report = Report::new(&t, &profile, Some("30 days"));
        let verdict = |a: &str| report.peers.iter().find(|p| p.address == a).unwrap().verdict;
        assert_eq!(verdict("127.0.0.2"), Verdict::LosesTls);
        assert_eq!(verdict("127.0.0.3"), Verdict::AtRisk);
        assert_eq!(verdict("127.0.0.4"), Verdict::Ok);
        assert_eq!(verdict("127.0.0.5"), Verdict::AtRisk);
        assert_eq!(verdict("127.0.0.6"), Verdict::FailsToday);
        let first = &report.peers[0];
        assert_eq!(
            (first.count, first.first_seen.as_deref()),
            (2, Some("1970-01-01T00:00:05Z"))
        );
        assert_eq!(first.protocols, ["TLSv1.0"]);
        assert_eq!(first.suites, ["TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"]);
        assert_eq!(report.summary.loses_tls, 1);
        assert!(
            report.summary.lines[0].starts_with("1 peer in the last 30 days would lose TLS on postfix smtp"),
            "{:?}",
            report.summary.lines
        );
    }
}
