//! Elimination: offer many suites (or groups), note the one the server
//! picks, offer the rest again, until the server refuses. That costs one
//! connection per accepted suite plus one per hello-sized chunk, instead of
//! one per suite in the registry.

use std::sync::Mutex;

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
    /// Suites the server picked and then could not go on with (an alert or
    /// a closed connection in the middle of its flight): not accepted.
    pub abandoned: Vec<T>,
    /// The smallest finite-field DHE group seen with an authenticated suite, in bits.
    pub dh_bits: Option<u32>,
    /// The same for anonymous (`DH_anon`) suites: OpenSSL's automatic groups
    /// give them 1024 bits where the authenticated ones get 2048 or more.
    pub anon_dh_bits: Option<u32>,
    /// Extensions the server answered with in its completed hellos.
    pub extensions: Vec<u16>,
    /// Offers left in doubt while no canary was known: to settle again
    /// once every chunk of the protocol has been tried.
    pub deferred: Vec<Vec<T>>,
}

impl<T> Default for Eliminated<T> {
    fn default() -> Self {
        Eliminated {
            accepted: Vec::new(),
            version_refused: false,
            note: None,
            abandoned: Vec::new(),
            dh_bits: None,
            anon_dh_bits: None,
            extensions: Vec::new(),
            deferred: Vec::new(),
        }
    }
}

/// What the elimination jobs of one target learn about the server and
/// share: how it refuses a hello of each protocol, which suites it
/// completes, and whether it follows the client's order.
#[derive(Default)]
pub struct Learned {
    inner: Mutex<Shared>,
}

#[derive(Default)]
struct Shared {
    refusals: Vec<(Protocol, Answer)>,
    complete: Vec<(Protocol, CipherSuite)>,
    client_order: Vec<(Protocol, bool)>,
}

/// Suites no server implements (GREASE values, RFC 8701): a hello with only
/// these is always refused.
const NOBODY: [CipherSuite; 2] = [CipherSuite(0x0a0a), CipherSuite(0x1a1a)];

impl Learned {
    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How this server refuses `protocol` hellos it has no suite for
    /// (asked once, with suites nobody implements).
    fn refusal(&self, c: &Connector, protocol: Protocol, sni: Option<&str>) -> Result<Answer, ConnectError> {
        if let Some((_, a)) = self.shared().refusals.iter().find(|(p, _)| *p == protocol) {
            return Ok(a.clone());
        }
        let groups: Vec<Group> = Group::known().collect();
        let record = hello(protocol, &NOBODY, &groups, sni).to_record();
        let a = c.hello(&record, Depth::Hello)?;
        self.shared().refusals.push((protocol, a.clone()));
        Ok(a)
    }

    fn found(&self, protocol: Protocol, suite: CipherSuite) {
        self.shared().complete.push((protocol, suite));
    }

    /// A suite the server completes with `protocol`, to offer last after
    /// suites in doubt: a server that follows the client's order picks it
    /// only when none of the others is acceptable. None while fewer than two
    /// suites are known (the order cannot be told) or when the server
    /// imposes its own order (it might prefer the canary).
    fn canary(
        &self,
        c: &Connector,
        protocol: Protocol,
        sni: Option<&str>,
    ) -> Result<Option<CipherSuite>, ConnectError> {
        let (known, order) = {
            let s = self.shared();
            let known: Vec<CipherSuite> = s
                .complete
                .iter()
                .filter(|(p, _)| *p == protocol)
                .map(|(_, x)| *x)
                .collect();
            let order = s.client_order.iter().find(|(p, _)| *p == protocol).map(|(_, o)| *o);
            (known, order)
        };
        let client_order = match order {
            Some(o) => o,
            None if known.len() >= 2 => {
                let o = server_order(c, protocol, &known[..2], sni)? == Some(false);
                self.shared().client_order.push((protocol, o));
                o
            }
            None => false,
        };
        Ok(known.first().copied().filter(|_| client_order))
    }
}

/// The suites to offer for a protocol, most common first so that the
/// first chunk usually settles whether the version is accepted at all.
/// Before TLS 1.2 the AEAD suites and those with a SHA-256/384 MAC (PSK
/// ones aside) cannot be negotiated (RFC 5246, 5288): not offered there,
/// which saves two hellos per old version.
pub fn candidates(protocol: Protocol) -> Vec<CipherSuite> {
    let tls13 = protocol == Protocol::TlsV1_3;
    let tls12_only = |name: &str| {
        ["_GCM_", "_CCM", "CHACHA20_POLY1305"].iter().any(|p| name.contains(p))
            || ((name.ends_with("_SHA256") || name.ends_with("_SHA384")) && !name.contains("PSK"))
    };
    let mut all: Vec<&_> = REGISTRY
        .iter()
        .filter(|i| i.suite.is_tls13() == tls13 && i.suite.0 != 0x0000)
        .filter(|i| protocol >= Protocol::TlsV1_2 || !tls12_only(i.iana))
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
        deflate: false,
    }
}

/// Whether a ServerHello really is for the version asked, TLS 1.3 retry
/// requests included.
fn speaks(h: &ServerHello, protocol: Protocol) -> bool {
    h.version == protocol.wire()
}

/// TLS alerts that mean "no suite in common".
const ALERT_HANDSHAKE_FAILURE: u8 = 40;
const ALERT_INSUFFICIENT_SECURITY: u8 = 71;

/// Finds every suite of `offer` the server accepts with `protocol`.
///
/// A suite counts only when the server's flight for it is complete (TLS 1.2
/// and older: up to ServerHelloDone); a suite the server picks and then
/// abandons is no suite a client can use. An answer that is no clear
/// refusal (a silent close, or an alert this server does not refuse with,
/// say because the suite it chose needs DH parameters it lacks) does not
/// settle the rest of the offer: it is asked again with a suite known to
/// work offered last (a canary), and split in halves when that does not
/// settle it either, down to single suites if need be. With `may_defer`,
/// an offer in doubt while no canary is known yet goes to `deferred`
/// instead, so that the cost and the result do not depend on which job ran
/// first.
pub fn suites(
    c: &Connector,
    protocol: Protocol,
    offer: &[CipherSuite],
    sni: Option<&str>,
    learned: &Learned,
    may_defer: bool,
) -> Result<Eliminated<CipherSuite>, ConnectError> {
    let groups: Vec<Group> = Group::known().collect();
    let depth = if protocol == Protocol::TlsV1_3 {
        Depth::Hello
    } else {
        Depth::Flight
    };
    let mut out = Eliminated::default();
    let mut first = true;
    // Offers still to settle, and the canary to add to them.
    let mut pending: Vec<(Vec<CipherSuite>, Option<CipherSuite>)> = vec![(offer.to_vec(), None)];
    while let Some((mut left, canary)) = pending.pop() {
        let canary = canary.filter(|x| !left.contains(x));
        while !left.is_empty() {
            let mut offered = left.clone();
            offered.extend(canary);
            let record = hello(protocol, &offered, &groups, sni).to_record();
            let answer = c.hello(&record, depth)?;
            let was_first = std::mem::replace(&mut first, false);
            match &answer {
                Answer::Hello(h) if speaks(h, protocol) && Some(h.suite) == canary => {
                    // Nothing in `left` comes before the canary: all refused.
                    break;
                }
                Answer::Hello(h) if speaks(h, protocol) => {
                    if !left.contains(&h.suite) {
                        out.note = Some(format!(
                            "{protocol}: the server picked {} which was not offered",
                            h.suite
                        ));
                        break;
                    }
                    left.retain(|s| *s != h.suite);
                    if !h.complete {
                        out.abandoned.push(h.suite);
                        continue;
                    }
                    out.accepted.push(h.suite);
                    learned.found(protocol, h.suite);
                    if let Some(bits) = h.dh_bits {
                        let seen = if h.suite.is_anonymous() {
                            &mut out.anon_dh_bits
                        } else {
                            &mut out.dh_bits
                        };
                        *seen = Some(seen.map_or(bits, |b| b.min(bits)));
                    }
                    for e in &h.extensions {
                        if !out.extensions.contains(e) {
                            out.extensions.push(*e);
                        }
                    }
                }
                Answer::Hello(_) => {
                    out.version_refused = was_first;
                    break;
                }
                Answer::Alert { description, .. } if *description == ALERT_PROTOCOL_VERSION => {
                    out.version_refused = was_first;
                    break;
                }
                Answer::Alert { description, .. }
                    if [ALERT_HANDSHAKE_FAILURE, ALERT_INSUFFICIENT_SECURITY].contains(description) =>
                {
                    break
                }
                _ if left.len() == 1 => {
                    // One suite, and no handshake: not accepted (what it chose failed).
                    if canary.is_some() {
                        out.abandoned.append(&mut left);
                    }
                    break;
                }
                _ => {
                    let refusal = learned.refusal(c, protocol, sni)?;
                    if matches!(refusal, Answer::Alert { .. }) && refusal == answer {
                        break;
                    }
                    match (canary, learned.canary(c, protocol, sni)?) {
                        (None, Some(x)) => pending.push((left, Some(x))),
                        (None, None) if may_defer => out.deferred.push(left),
                        (_, x) => {
                            let back = left.split_off(left.len() / 2);
                            pending.push((back, x));
                            pending.push((left, x));
                        }
                    }
                    break;
                }
            }
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

/// Whether the server takes DEFLATE compression (CRIME) when offered
/// before null, with one of the suites it accepts.
pub fn compression(
    c: &Connector,
    protocol: Protocol,
    accepted: &[CipherSuite],
    sni: Option<&str>,
) -> Result<Option<bool>, ConnectError> {
    let groups: Vec<Group> = Group::known().collect();
    let mut h = hello(protocol, accepted, &groups, sni);
    h.deflate = true;
    Ok(match c.hello(&h.to_record(), Depth::Hello)? {
        Answer::Hello(h) if speaks(&h, protocol) => Some(h.compression != 0),
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
