//! One target, scanned: a first real handshake (certificate, and proof the
//! dialogue works), then every protocol, suite chunk and the groups as
//! independent jobs on a few worker threads sharing the target's connection
//! limit, then the cipher-order check. Never panics; failures land in
//! `TargetReport::error`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use super::answer::{Answer, AnswerError};
use super::connector::{ConnectError, Connector};
use super::dialogue::DialogueError;
use super::enumerate::{self, Eliminated};
use super::report::TargetReport;
use super::{cert, findings, rsa_kx, sslv2, Proto, ScanOptions, Target, TlsStart};
use crate::tls::{CipherSuite, Group, Protocol};

/// Scans one target. Never panics: failures go in `report.error`.
pub fn scan(target: &Target, opts: &ScanOptions) -> TargetReport {
    let started = Instant::now();
    let mut report = TargetReport::empty(target.display(), target.starttls);
    let c = Connector::new(target, opts);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&c, opts, &mut report)));
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => report.error = Some(e),
        Err(_) => report.error = Some("internal error: the scan panicked (please report this)".into()),
    }
    let mut all = findings::general(&report);
    all.append(&mut report.findings);
    report.findings = all;
    if !report.starttls_offered
        && target.starttls != TlsStart::Implicit
        && report.error.as_deref() == Some("STARTTLS not supported")
    {
        report.findings.insert(
            0,
            super::Finding::new(
                super::Severity::High,
                "starttls-not-offered",
                format!("{} STARTTLS not supported", dialogue_label(target.starttls)),
            ),
        );
    }
    report.connections = c.opened();
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    report
}

/// A helper thread's answer; None also when it panicked.
fn joined<T>(h: std::thread::ScopedJoinHandle<'_, Option<T>>) -> Option<T> {
    h.join().ok().flatten()
}

fn dialogue_label(s: TlsStart) -> &'static str {
    match s {
        TlsStart::Starttls(Proto::Smtp) => "SMTP",
        TlsStart::Starttls(Proto::Imap) => "IMAP",
        TlsStart::Starttls(Proto::Pop3) => "POP3",
        TlsStart::Implicit | TlsStart::Off => "TLS",
    }
}

/// ServerHello extensions reported as such (RFC 7627, RFC 5746).
const EXT_EXTENDED_MASTER_SECRET: u16 = 0x0017;
const EXT_RENEGOTIATION_INFO: u16 = 0xff01;

/// One unit of work for the worker threads.
enum Job {
    Sslv2,
    /// Eliminate within one chunk of suites; the first chunk of a version
    /// queues the others unless the version itself is refused.
    Suites {
        protocol: Protocol,
        chunk: usize,
    },
    Groups,
}

enum Outcome {
    Sslv2(Vec<[u8; 3]>),
    Suites {
        protocol: Protocol,
        chunk: usize,
        found: Eliminated<CipherSuite>,
    },
    Groups13(Vec<Group>),
    Failed(String),
}

fn run(c: &Connector, opts: &ScanOptions, report: &mut TargetReport) -> Result<(), String> {
    let target = c.target;
    let name = opts.servername.clone().unwrap_or_else(|| target.host.clone());
    let sni = Some(name.as_str());

    // First: one real handshake. It proves the dialogue works (or says why
    // not, e.g. "STARTTLS not supported") and fetches the chain.
    let first = cert::fetch(c, &name, cert::KeyFilter::Any);
    let chain = match first {
        Err(ConnectError::Dialogue(e)) => {
            // Offered, then refused or abused: the server did advertise it.
            report.starttls_offered = matches!(e, DialogueError::StarttlsRefused(_) | DialogueError::DataAfterReady);
            return Err(e.to_string());
        }
        Err(ConnectError::Answer(e)) => {
            report.starttls_offered = true;
            return Err(e.to_string());
        }
        Ok(r) => {
            report.starttls_offered = true;
            r
        }
    };

    let chunk_size = opts.suites_per_hello.clamp(1, 127);
    let chunks: Vec<(Protocol, Vec<Vec<CipherSuite>>)> = Protocol::ALL[1..]
        .iter()
        .map(|&p| {
            (
                p,
                enumerate::candidates(p).chunks(chunk_size).map(<[_]>::to_vec).collect(),
            )
        })
        .collect();

    let queue = Mutex::new(VecDeque::from(
        [Job::Sslv2, Job::Groups]
            .into_iter()
            .chain(
                Protocol::ALL[1..]
                    .iter()
                    .map(|&protocol| Job::Suites { protocol, chunk: 0 }),
            )
            .collect::<Vec<_>>(),
    ));
    let busy = AtomicUsize::new(0);
    let wake = Condvar::new();
    let outcomes = Mutex::new(Vec::new());
    let tls13_suites = enumerate::candidates(Protocol::TlsV1_3);
    let learned = enumerate::Learned::default();

    let next_job = || -> Option<Job> {
        let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(job) = q.pop_front() {
                busy.fetch_add(1, Ordering::SeqCst);
                return Some(job);
            }
            if busy.load(Ordering::SeqCst) == 0 {
                return None;
            }
            q = wake.wait(q).unwrap_or_else(|p| p.into_inner());
        }
    };
    let work = |job: Job| -> Vec<Outcome> {
        let result = match job {
            Job::Sslv2 => {
                match c.sslv2_hello(&sslv2::client_hello()) {
                    Ok(Answer::Sslv2Hello { ciphers }) => Ok(Outcome::Sslv2(ciphers)),
                    Ok(_) => Ok(Outcome::Sslv2(Vec::new())),
                    // Some TLS stacks wait for more bytes after an SSLv2 hello they
                    // do not understand: that silence is a refusal, not a failure.
                    Err(ConnectError::Answer(AnswerError::Timeout)) => Ok(Outcome::Sslv2(Vec::new())),
                    Err(e) => Err(e),
                }
            }
            Job::Suites { protocol, chunk } => {
                let offer = &chunks
                    .iter()
                    .find(|(p, _)| *p == protocol)
                    .map(|(_, c)| c.as_slice())
                    .unwrap_or(&[]);
                match offer.get(chunk) {
                    Some(offer) => enumerate::suites(c, protocol, offer, sni, &learned, true)
                        .map(|found| Outcome::Suites { protocol, chunk, found }),
                    None => return Vec::new(),
                }
            }
            Job::Groups => enumerate::groups_tls13(c, &tls13_suites, sni).map(Outcome::Groups13),
        };
        vec![result.unwrap_or_else(|e| Outcome::Failed(e.to_string()))]
    };

    let workers = opts.connections_per_target.max(1);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                while let Some(job) = next_job() {
                    for outcome in work(job) {
                        // The first chunk of a version decides whether the rest are worth trying.
                        if let Outcome::Suites {
                            protocol,
                            chunk: 0,
                            found,
                        } = &outcome
                        {
                            if !found.version_refused {
                                let n = chunks.iter().find(|(p, _)| p == protocol).map_or(0, |(_, c)| c.len());
                                let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
                                q.extend((1..n).map(|chunk| Job::Suites {
                                    protocol: *protocol,
                                    chunk,
                                }));
                            }
                        }
                        outcomes.lock().unwrap_or_else(|p| p.into_inner()).push(outcome);
                    }
                    busy.fetch_sub(1, Ordering::SeqCst);
                    wake.notify_all();
                }
            });
        }
    });

    let mut outcomes = outcomes.into_inner().unwrap_or_else(|p| p.into_inner());
    outcomes.sort_by_key(|o| match o {
        Outcome::Suites { protocol, chunk, .. } => (*protocol as usize, *chunk),
        _ => (0, 0),
    });
    // Offers left in doubt: settled now that every chunk has been tried. A
    // protocol that completed no suite at all refuses them; otherwise they
    // are eliminated again, with a canary or by halves.
    let doubts: Vec<(Protocol, Vec<CipherSuite>)> = outcomes
        .iter_mut()
        .filter_map(|o| match o {
            Outcome::Suites { protocol, found, .. } => Some((*protocol, std::mem::take(&mut found.deferred))),
            _ => None,
        })
        .flat_map(|(p, offers)| offers.into_iter().map(move |o| (p, o)))
        .collect();
    let completes = |p: Protocol| {
        outcomes.iter().any(
            |o| matches!(o, Outcome::Suites { protocol, found, .. } if *protocol == p && !found.accepted.is_empty()),
        )
    };
    let doubts: Vec<_> = doubts.into_iter().filter(|(p, _)| completes(*p)).collect();
    let settled: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = doubts
            .iter()
            .map(|(protocol, offer)| {
                let learned = &learned;
                s.spawn(
                    move || match enumerate::suites(c, *protocol, offer, sni, learned, false) {
                        Ok(found) => Outcome::Suites {
                            protocol: *protocol,
                            chunk: usize::MAX,
                            found,
                        },
                        Err(e) => Outcome::Failed(e.to_string()),
                    },
                )
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Outcome::Failed("internal error: a scan thread panicked".into()))
            })
            .collect()
    });
    outcomes.extend(settled);

    let mut failures = Vec::new();
    let mut anon_dh_bits: Option<u32> = None;
    let mut notes = Vec::new();
    for o in outcomes {
        match o {
            Outcome::Sslv2(ciphers) => {
                let r = report.protocols.entry(Protocol::SslV2).or_default();
                r.accepted = !ciphers.is_empty();
                r.sslv2_ciphers = ciphers.into_iter().map(sslv2::kind_name).collect();
            }
            Outcome::Suites { protocol, found, .. } => {
                if let Some(bits) = found.dh_bits {
                    report.dh_bits = Some(report.dh_bits.map_or(bits, |b| b.min(bits)));
                }
                if let Some(bits) = found.anon_dh_bits {
                    anon_dh_bits = Some(anon_dh_bits.map_or(bits, |b| b.min(bits)));
                }
                if protocol != Protocol::TlsV1_3 && !found.accepted.is_empty() {
                    let has = |e: u16| found.extensions.contains(&e);
                    let ems = report.extended_master_secret.unwrap_or(false) || has(EXT_EXTENDED_MASTER_SECRET);
                    let reneg = report.secure_renegotiation.unwrap_or(false) || has(EXT_RENEGOTIATION_INFO);
                    report.extended_master_secret = Some(ems);
                    report.secure_renegotiation = Some(reneg);
                }
                let r = report.protocols.entry(protocol).or_default();
                r.cipher_suites.extend(found.accepted);
                r.accepted = !r.cipher_suites.is_empty();
                notes.extend(found.note);
            }
            Outcome::Groups13(g) => report.groups = g,
            Outcome::Failed(e) => failures.push(e),
        }
    }
    // The group an authenticating client gets; anonymous suites (flagged on
    // their own) count only when the server has no other DHE suite.
    report.dh_bits = report.dh_bits.or(anon_dh_bits);

    // The last questions, asked at once: whether RSA key exchange really
    // completes, compression, the groups of a server without TLS 1.3, and
    // the cipher order. Each needs what the suites showed, not each other.
    let accepted: Vec<(Protocol, CipherSuite)> = report
        .protocols
        .iter()
        .flat_map(|(p, r)| r.cipher_suites.iter().map(move |s| (*p, *s)))
        .collect();
    let suites_of = |p: Protocol| report.protocols[&p].cipher_suites.clone();
    let pre13 = [Protocol::TlsV1_2, Protocol::TlsV1_1, Protocol::TlsV1_0, Protocol::SslV3]
        .into_iter()
        .find(|p| report.accepts(*p))
        .map(|p| (p, suites_of(p)));
    let rsa = rsa_kx::pick(&accepted).filter(|_| failures.is_empty());
    let ecdhe = pre13
        .clone()
        .filter(|_| report.groups.is_empty() && failures.is_empty());
    // Cipher order: on the newest pre-1.3 version with two suites or more, else TLS 1.3.
    let order_on = [
        Protocol::TlsV1_2,
        Protocol::TlsV1_1,
        Protocol::TlsV1_0,
        Protocol::SslV3,
        Protocol::TlsV1_3,
    ]
    .into_iter()
    .find(|p| report.protocols.get(p).is_some_and(|r| r.cipher_suites.len() >= 2))
    .map(|p| (p, suites_of(p)));
    let (rsa_result, compression, groups, order) = std::thread::scope(|s| {
        let rsa = s.spawn(|| rsa.map(|(p, suite)| (p, suite, rsa_kx::check(c, p, suite, sni))));
        let compression = s.spawn(|| {
            pre13
                .as_ref()
                .map(|(p, suites)| enumerate::compression(c, *p, suites, sni))
        });
        let groups = s.spawn(|| {
            ecdhe
                .as_ref()
                .map(|(p, suites)| enumerate::groups_ecdhe(c, *p, suites, sni))
        });
        let order = order_on
            .as_ref()
            .map(|(p, suites)| enumerate::server_order(c, *p, suites, sni));
        (joined(rsa), joined(compression), joined(groups), order)
    });
    match rsa_result {
        Some((_, _, Ok(rsa_kx::Outcome::Completes { client_renegotiation }))) => {
            report.client_renegotiation = client_renegotiation;
        }
        Some((_, _, Ok(rsa_kx::Outcome::Untried(why)))) => notes.push(format!("RSA key exchange not confirmed: {why}")),
        Some((p, suite, Ok(rsa_kx::Outcome::Fails(why)))) => {
            let mut dropped = 0;
            for r in report.protocols.values_mut() {
                let before = r.cipher_suites.len();
                r.cipher_suites.retain(|s| !rsa_kx::is_rsa_kx(*s));
                dropped += before - r.cipher_suites.len();
                r.accepted = !r.cipher_suites.is_empty() || !r.sslv2_ciphers.is_empty();
            }
            report.findings.push(super::Finding::new(
                super::Severity::Low,
                "rsa-key-exchange-fails",
                format!(
                    "the server picks RSA key exchange suites but cannot complete them ({p} {suite}: {why}); \
                     {dropped} such suite(s) are not counted as accepted"
                ),
            ));
        }
        Some((_, _, Err(e))) => failures.push(e.to_string()),
        None => {}
    }
    match compression {
        Some(Ok(v)) => report.compression = v,
        Some(Err(e)) => failures.push(e.to_string()),
        None => {}
    }
    match groups {
        Some(Ok(g)) => report.groups = g,
        Some(Err(e)) => failures.push(e.to_string()),
        None => {}
    }
    match order {
        Some(Ok(o)) => report.server_cipher_order = o,
        Some(Err(e)) => failures.push(e.to_string()),
        None => {}
    }

    // The certificate: from the real handshake, else as sent in the clear.
    let name_ref = name.as_str();
    match chain {
        Ok((chain, how)) => report.certificate = cert::analyse(&chain, name_ref, opts.ca_file.as_deref(), how).ok(),
        Err(why) => {
            let clear = [Protocol::TlsV1_2, Protocol::TlsV1_1, Protocol::TlsV1_0, Protocol::SslV3]
                .into_iter()
                .find(|p| report.accepts(*p));
            if let Some(p) = clear {
                let suites: Vec<CipherSuite> = report.protocols[&p]
                    .cipher_suites
                    .iter()
                    .copied()
                    .filter(|s| !s.to_string().contains("_anon_"))
                    .collect();
                if let Ok(chain) = enumerate::chain_in_clear(c, p, &suites, sni) {
                    if !chain.is_empty() {
                        report.certificate =
                            cert::analyse(&chain, name_ref, opts.ca_file.as_deref(), format!("{p} in the clear")).ok();
                    }
                }
            }
            if report.certificate.is_none() && report.protocols.values().any(|r| r.accepted) {
                notes.push(format!("no certificate: {why}"));
            }
        }
    }
    // A server with RSA and ECDSA suites may hold two certificates: ask for the other one.
    if let Some(primary) = &report.certificate {
        let tls12 = report
            .protocols
            .get(&Protocol::TlsV1_2)
            .map(|r| r.cipher_suites.clone())
            .unwrap_or_default();
        let has = |auth: &str| tls12.iter().any(|s| s.to_string().contains(auth));
        let other = match primary.key_type.as_str() {
            "ECDSA" if has("_RSA_WITH_") => Some(cert::KeyFilter::Rsa),
            "RSA" if has("_ECDSA_WITH_") => Some(cert::KeyFilter::Ecdsa),
            _ => None,
        };
        if let Some(filter) = other {
            if let Ok(Ok((chain, how))) = cert::fetch(c, &name, filter) {
                if let Ok(second) = cert::analyse(&chain, name_ref, opts.ca_file.as_deref(), how) {
                    if second.sha256 != primary.sha256 {
                        report.other_certificates.push(second);
                    }
                }
            }
        }
    }
    for n in notes {
        report
            .findings
            .push(super::Finding::new(super::Severity::Info, "note", n));
    }
    if c.allowed() < opts.connections_per_target {
        report.findings.push(super::Finding::new(
            super::Severity::Info,
            "busy",
            format!(
                "the server said it was busy; the scan slowed down to {} connection(s) at a time",
                c.allowed()
            ),
        ));
    }
    if let Some(first) = failures.into_iter().next() {
        // Some answers never came (retries ran out): say so rather than guess.
        return Err(format!("inconclusive, the scan is incomplete: {first}"));
    }
    Ok(())
}
