//! Elimination: offer many suites (or groups), note the one the server
//! picks, offer the rest again, until the server refuses. That costs one
//! connection per accepted suite plus one per hello-sized chunk, instead of
//! one per suite in the registry.

use super::answer::{Answer, Depth, ServerHello};
use super::connector::{ConnectError, Connector};
use super::hello::ClientHello;
use crate::tls::{suite::REGISTRY, CipherSuite, Group, Protocol};

/// TLS alert 70: protocol_version.
const ALERT_PROTOCOL_VERSION: u8 = 70;

/// What one elimination run learned.
#[derive(Debug)]
pub struct Eliminated<T> {
    /// Accepted values, in the order the server picked them.
    pub accepted: Vec<T>,
    /// The first refusal said "protocol version": the version itself is refused.
    pub version_refused: bool,
    /// Something odd worth telling (a suite picked that was never offered).
    pub note: Option<String>,
}

impl<T> Default for Eliminated<T> {
    fn default() -> Self {
        Eliminated {
            accepted: Vec::new(),
            version_refused: false,
            note: None,
        }
    }
}

/// The suites to offer for a protocol, most common first so that the
/// first chunk usually settles whether the version is accepted at all.
pub fn candidates(protocol: Protocol) -> Vec<CipherSuite> {
    let tls13 = protocol == Protocol::TlsV1_3;
    let mut all: Vec<&_> = REGISTRY
        .iter()
        .filter(|i| i.suite.is_tls13() == tls13 && i.suite.0 != 0x0000)
        .collect();
    all.sort_by_key(|i| (i.openssl.is_none(), i.suite));
    all.into_iter().map(|i| i.suite).collect()
}

/// The hello for `protocol` offering `suites` and `groups`.
pub fn hello(protocol: Protocol, suites: &[CipherSuite], groups: &[Group], sni: Option<&str>) -> ClientHello {
    ClientHello {
        version: protocol,
        suites: suites.to_vec(),
        groups: groups.to_vec(),
        server_name: sni.map(str::to_string),
    }
}

/// Whether a ServerHello really is for the version asked, TLS 1.3 retry
/// requests included.
fn speaks(h: &ServerHello, protocol: Protocol) -> bool {
    h.version == protocol.wire()
}

/// Finds every suite of `offer` the server accepts with `protocol`.
pub fn suites(
    c: &Connector,
    protocol: Protocol,
    offer: &[CipherSuite],
    sni: Option<&str>,
) -> Result<Eliminated<CipherSuite>, ConnectError> {
    let groups: Vec<Group> = Group::known().collect();
    let mut left = offer.to_vec();
    let mut out = Eliminated::default();
    while !left.is_empty() {
        let record = hello(protocol, &left, &groups, sni).to_record();
        match c.hello(&record, Depth::Hello)? {
            Answer::Hello(h) if speaks(&h, protocol) => {
                if !left.contains(&h.suite) {
                    out.note = Some(format!(
                        "{protocol}: the server picked {} which was not offered",
                        h.suite
                    ));
                    break;
                }
                left.retain(|s| *s != h.suite);
                out.accepted.push(h.suite);
            }
            Answer::Hello(_) => {
                out.version_refused = out.accepted.is_empty();
                break;
            }
            Answer::Alert { description, .. } => {
                out.version_refused = out.accepted.is_empty() && description == ALERT_PROTOCOL_VERSION;
                break;
            }
            Answer::Closed | Answer::Sslv2Hello { .. } => break,
        }
    }
    Ok(out)
}

/// Finds the supported groups with TLS 1.3: empty key shares make the
/// server name its group in a HelloRetryRequest.
pub fn groups_tls13(c: &Connector, suites: &[CipherSuite], sni: Option<&str>) -> Result<Vec<Group>, ConnectError> {
    eliminate_groups(
        c,
        Protocol::TlsV1_3,
        suites,
        Group::known().collect(),
        Depth::Hello,
        sni,
    )
}

/// Finds the supported curves with TLS 1.2 (or older) ECDHE suites: the
/// ServerKeyExchange names the curve.
pub fn groups_ecdhe(
    c: &Connector,
    protocol: Protocol,
    accepted: &[CipherSuite],
    sni: Option<&str>,
) -> Result<Vec<Group>, ConnectError> {
    let ecdhe: Vec<CipherSuite> = accepted
        .iter()
        .copied()
        .filter(|s| s.iana_name().is_some_and(|n| n.starts_with("TLS_ECDHE_")))
        .collect();
    if ecdhe.is_empty() {
        return Ok(Vec::new());
    }
    // Finite-field groups do not travel in a TLS 1.2 ServerKeyExchange by name.
    let curves = Group::known().filter(|g| g.0 < 0x0100).collect();
    eliminate_groups(c, protocol, &ecdhe, curves, Depth::Flight, sni)
}

/// Offers `left`, removes the group the server names, and again, until it
/// names none: the groups it supports, in the order it preferred them.
fn eliminate_groups(
    c: &Connector,
    protocol: Protocol,
    suites: &[CipherSuite],
    mut left: Vec<Group>,
    depth: Depth,
    sni: Option<&str>,
) -> Result<Vec<Group>, ConnectError> {
    let mut found = Vec::new();
    while !left.is_empty() {
        let record = hello(protocol, suites, &left, sni).to_record();
        match c.hello(&record, depth)? {
            Answer::Hello(h) if speaks(&h, protocol) => match h.group {
                Some(g) if left.contains(&g) => {
                    left.retain(|x| *x != g);
                    found.push(g);
                }
                _ => break,
            },
            _ => break,
        }
    }
    Ok(found)
}

/// Whether the server picks by its own order: offer the accepted suites
/// forwards and backwards; a server that follows the client picks the first
/// of each. None when it cannot be told (fewer than two suites).
pub fn server_order(
    c: &Connector,
    protocol: Protocol,
    accepted: &[CipherSuite],
    sni: Option<&str>,
) -> Result<Option<bool>, ConnectError> {
    if accepted.len() < 2 {
        return Ok(None);
    }
    let groups: Vec<Group> = Group::known().collect();
    let pick = |suites: &[CipherSuite]| -> Result<Option<CipherSuite>, ConnectError> {
        let record = hello(protocol, suites, &groups, sni).to_record();
        Ok(match c.hello(&record, Depth::Hello)? {
            Answer::Hello(h) if speaks(&h, protocol) => Some(h.suite),
            _ => None,
        })
    };
    let forward = accepted.to_vec();
    let mut backward = forward.clone();
    backward.reverse();
    Ok(match (pick(&forward)?, pick(&backward)?) {
        (Some(a), Some(b)) => Some(!(a == forward[0] && b == backward[0])),
        _ => None,
    })
}

/// The certificate chain as sent in the clear by a TLS 1.2-or-older server,
/// for when no real handshake was possible (e.g. a TLS 1.0-only server).
pub fn chain_in_clear(
    c: &Connector,
    protocol: Protocol,
    accepted: &[CipherSuite],
    sni: Option<&str>,
) -> Result<Vec<Vec<u8>>, ConnectError> {
    let groups: Vec<Group> = Group::known().collect();
    let record = hello(protocol, accepted, &groups, sni).to_record();
    Ok(match c.hello(&record, Depth::Flight)? {
        Answer::Hello(h) => h.chain,
        _ => Vec::new(),
    })
}
