//! The certificate guard of `plan` and `apply`: before a new certificate or
//! key is planned, check it against what this host's DNS promises senders.
//!
//! - DANE: the TLSA records at `_25._tcp.HOST` for each server's host name
//!   (`--mx-host`, else Postfix `myhostname`, else this machine's name). Secure records that
//!   none matches the new chain: refused, with the records to publish first.
//!   A bogus or unsigned answer: refused too (senders cannot deliver either).
//!   No records, or unsigned ones: a note. A resolver that does not answer:
//!   a warning (offline hosts can still change certificates).
//!   `--ignore-dane` turns refusals into warnings.
//! - MTA-STS: for each `--domain` (default Postfix `mydomain`) whose policy
//!   lists the host: under `enforce` a certificate that does not chain to a
//!   trusted root or does not name the host is refused; under `testing`, a
//!   warning.
//!
//! It reads DNS and the certificate; it writes nothing.

use std::path::{Path, PathBuf};

use rustls::pki_types::{pem::PemObject, CertificateDer};

use crate::dane::args::GuardArgs;
use crate::dane::{chain_matches, lookup, Tlsa};
use crate::dns::Resolver;
use crate::error::{Error, Result};
use crate::mta_sts;
use crate::output::Output;

/// Checks the new certificate (`cert`, PEM, leaf first) for every server
/// instance (its config directory or file). Err(Refused) stops the command
/// before anything is written.
pub fn check(cert: Option<&Path>, instances: &[PathBuf], args: &GuardArgs, out: &Output) -> Result<()> {
    let Some(cert) = cert else { return Ok(()) };
    let resolver = Resolver::from_option(args.dns.resolver.as_deref()).map_err(|e| Error::Usage(e.to_string()))?;
    // A certificate that cannot be read is the plan's to report, with the
    // backend's own checks on the path: nothing to guard here.
    let Some(chain) = read_chain(cert) else { return Ok(()) };
    let mut hosts: Vec<String> = args
        .mx_hosts
        .iter()
        .map(|h| h.trim_end_matches('.').to_string())
        .collect();
    let mut domains = args.domains.clone();
    for instance in instances {
        let (host, domain) = names_of(instance);
        if args.mx_hosts.is_empty() && !hosts.contains(&host) {
            hosts.push(host);
        }
        if args.domains.is_empty() {
            domains.extend(domain.filter(|d| !domains.contains(d)));
        }
    }
    // A name that is not in public DNS (localhost, localdomain, no dot) has
    // no TLSA records or policy any sender could see: not looked up.
    domains.retain(|d| public_name(d));
    let mut refusals = Vec::new();
    for host in &hosts {
        if let Some(refusal) = dane(&resolver, host, &chain, out) {
            if args.ignore_dane {
                out.warn(&format!("{refusal} (going ahead: --ignore-dane)"));
            } else {
                refusals.push(format!("{refusal}\nOr pass --ignore-dane to change it anyway."));
            }
        }
        for domain in &domains {
            let policy = mta_sts::lookup(&resolver, domain, args.dns.mta_sts_port, args.ca_file.as_deref());
            if let Some(error) = &policy.error {
                out.warn(&format!("MTA-STS of {domain} not checked: {error}"));
                continue;
            }
            if !policy.active() || !policy.mx.iter().any(|p| mta_sts::mx_matches(p, host)) {
                continue;
            }
            let mode = policy.mode.as_deref().unwrap_or("");
            match policy.refuses(host, &chain, args.ca_file.as_deref()) {
                None => out.say(&format!("MTA-STS ({mode}) of {domain}: the new certificate is valid for {host}")),
                Some(why) if mode == "enforce" => refusals.push(format!(
                    "{domain} publishes an MTA-STS policy in enforce mode and the new certificate fails it for {host}: {why}; \
                     MTA-STS senders would refuse to deliver. Use a certificate from a public CA naming {host}."
                )),
                Some(why) => out.warn(&format!(
                    "MTA-STS (testing) of {domain}: the new certificate fails for {host}: {why}; senders report it, and would refuse it under enforce"
                )),
            }
        }
    }
    if refusals.is_empty() {
        Ok(())
    } else {
        Err(Error::Refused(format!(
            "refusing the certificate change:\n{}",
            refusals.join("\n")
        )))
    }
}

/// The DANE check for one host: None when the change may go ahead.
fn dane(resolver: &Resolver, host: &str, chain: &[Vec<u8>], out: &Output) -> Option<String> {
    if !public_name(host) {
        out.say(&format!(
            "DANE: {host} is not a public DNS name; no TLSA records to check"
        ));
        return None;
    }
    let state = lookup(resolver, host, 25);
    if let (true, Some(error)) = (state.unanswered, &state.error) {
        out.warn(&format!(
            "DANE not checked: {error}; if {host} has TLSA records, make sure they match the new certificate"
        ));
        return None;
    }
    if let Some(error) = &state.error {
        return Some(format!(
            "cannot trust the TLSA records of {host}: {error}. DANE senders cannot deliver to it either; fix the zone's DNSSEC first."
        ));
    }
    if !state.records.is_empty() && !state.secure {
        out.say(&format!(
            "DANE: the TLSA records at {} are not DNSSEC-validated (the resolver set no AD bit): senders ignore them, \
             so they do not constrain this certificate change",
            state.name
        ));
        return None;
    }
    if !state.applies() {
        out.say(&format!(
            "DANE: no TLSA records at {} (secure: {}); DANE does not constrain this certificate change",
            state.name, state.secure
        ));
        return None;
    }
    if chain_matches(&state.tlsa, chain, host) {
        out.say(&format!(
            "DANE: the new certificate matches a TLSA record at {}",
            state.name
        ));
        return None;
    }
    let new = Tlsa::dane_ee_spki(&chain[0]).map(|t| t.to_string()).unwrap_or_default();
    let published: Vec<String> = state
        .records
        .iter()
        .map(|r| format!("  {}. IN TLSA {r}", state.name))
        .collect();
    let ttl = state.ttl.max(1);
    Some(format!(
        "the new certificate matches none of the TLSA records at {name}: DANE senders would defer all mail to {host}.\n\
         Published now:\n{published}\n\
         Publish first, beside the old record(s):\n  {name}. IN TLSA {new}\n\
         then wait at least two TTLs (the records' TTL, {ttl} s or more: this resolver had {ttl} s of it left), \
         apply, and remove the old record(s) afterwards.",
        name = state.name,
        published = published.join("\n"),
    ))
}

/// Whether senders could look `name` up in public DNS.
fn public_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name.contains('.')
        && !["localhost", "localdomain", "local"]
            .iter()
            .any(|tld| name.ends_with(&format!(".{tld}")))
}

/// The certificates of a PEM file, leaf first; None when there are none.
fn read_chain(path: &Path) -> Option<Vec<Vec<u8>>> {
    let bytes = crate::cert::read_pem_file(path).ok()?;
    let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(&bytes)
        .filter_map(|c| c.ok().map(|c| c.as_ref().to_vec()))
        .collect();
    (!certs.is_empty()).then_some(certs)
}

/// The host name senders reach an instance by, and its mail domain: Postfix
/// `myhostname` and `mydomain` for a Postfix config directory, else this
/// machine's name and none.
fn names_of(instance: &Path) -> (String, Option<String>) {
    if instance.join("main.cf").is_file() {
        let values = crate::mta::effective_values(
            Path::new(&crate::mta::program_path("postconf")),
            instance,
            &["myhostname", "mydomain"],
        );
        if let Some(host) = values.get("myhostname").filter(|h| !h.is_empty()) {
            return (host.clone(), values.get("mydomain").filter(|d| !d.is_empty()).cloned());
        }
    }
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".into());
    (host, None)
}

/// The guard for a resolved `plan` or `apply` (or the guided flow once its
/// certificate step chose one): the new certificate, if any, against every
/// server instance's host name.
pub fn for_target(resolved: &crate::resolve::Resolved, target: &crate::cli::TargetArgs, out: &Output) -> Result<()> {
    let instances: Vec<PathBuf> = resolved.servers.iter().map(|s| s.instance()).collect();
    let cert = resolved.request.cert.as_ref().map(|(cert, _key)| cert.as_path());
    check(cert, &instances, &target.guard, out)
}
