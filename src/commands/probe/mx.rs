//! `mailtls probe --mx DOMAIN`: the domain's MX hosts and their addresses
//! from DNS, each address scanned on port 25 by the probe, and each report
//! extended with the host's DANE state (matched against the served chain)
//! and the domain's MTA-STS verdict for that host.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};

use super::ProbeArgs;
use crate::dane::{chain_matches, lookup, served};
use crate::dns::Resolver;
use crate::error::{exit, Error, Result};
use crate::mta_sts;
use crate::probe::{apply_profile, scan, ScanOptions, Target, TargetReport};
use crate::vocabulary::{Proto, TlsStart};

/// Runs `probe --mx`; returns the exit code (as `probe`'s: 1 when a target
/// could not be scanned or DNS failed, 3 when a target does not comply).
pub fn run(args: &ProbeArgs, domain: &str, json: bool) -> Result<u8> {
    let resolver = Resolver::from_option(args.mx.dns.resolver.as_deref()).map_err(|e| Error::Usage(e.to_string()))?;
    let profile = args.profile.as_deref().map(crate::profile::Profile::load).transpose()?;
    let timeout = Duration::from_secs(args.timeout);
    let (hosts, answer) = resolver.mx(domain);
    let mut failed = answer.error.is_some();
    let policy = mta_sts::lookup(&resolver, domain, args.mx.dns.mta_sts_port, args.ca_file.as_deref());
    let mut targets: Vec<Value> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let mut compliant = true;
    for host in &hosts {
        let (addrs, errors) = resolver.addresses(host);
        let dane = lookup(&resolver, host, 25);
        if addrs.is_empty() {
            failed = true;
            let error = format!(
                "{host} has no address{}",
                errors.first().map(|e| format!(" ({e})")).unwrap_or_default()
            );
            targets.push(json!({"target": format!("{host}:{}", args.mx.mx_port), "address": null, "error": error, "dane": dane, "mta_sts": policy}));
            texts.push(format!("{host}: {error}"));
            continue;
        }
        for addr in addrs {
            let target = Target {
                host: addr.to_string(),
                port: args.mx.mx_port,
                starttls: TlsStart::Starttls(Proto::Smtp),
            };
            let opts = ScanOptions {
                servername: Some(host.clone()),
                timeout,
                ca_file: args.ca_file.clone(),
                ..ScanOptions::default()
            };
            let mut report: TargetReport = scan(&target, &opts);
            if let Some(p) = &profile {
                apply_profile(&mut report, p);
            }
            failed |= report.error.is_some();
            compliant &= report.compliant != Some(false);
            let chain = served::smtp_chain(SocketAddr::new(addr, args.mx.mx_port), host, timeout);
            let mut dane = dane.clone();
            let mut sts = policy.clone();
            match &chain {
                Ok(chain) => {
                    if dane.applies() {
                        dane.matches = Some(chain_matches(&dane.tlsa, chain, host));
                    }
                    if sts.error.is_none() && sts.mode.is_some() {
                        let why = sts.refuses(host, chain, args.ca_file.as_deref());
                        sts.valid = Some(why.is_none());
                        sts.error = why;
                    }
                }
                Err(e) => {
                    if dane.applies() {
                        dane.error = Some(e.to_string());
                    }
                    if sts.mode.is_some() {
                        sts.valid = Some(false);
                        sts.error = sts.error.or_else(|| Some(e.to_string()));
                    }
                }
            }
            let display = format!("{host}:{}", args.mx.mx_port);
            texts.push(format!("{}{}", report.render(), describe(&dane, &sts)));
            let mut value =
                serde_json::to_value(&report).map_err(|e| Error::State(format!("cannot write JSON: {e}")))?;
            value["target"] = json!(display);
            value["address"] = json!(addr.to_string());
            value["dane"] = json!(dane);
            value["mta_sts"] = json!(sts);
            targets.push(value);
        }
    }
    let mut out = std::io::stdout().lock();
    if json {
        let doc = json!({"domain": domain, "mx": hosts, "mx_secure": answer.secure, "mx_error": answer.error, "targets": targets});
        let text = serde_json::to_string_pretty(&doc).map_err(|e| Error::State(format!("cannot write JSON: {e}")))?;
        let _ = writeln!(out, "{text}");
    } else {
        if let Some(e) = &answer.error {
            let _ = writeln!(out, "{domain}: {e}");
        } else if hosts.is_empty() {
            let _ = writeln!(out, "{domain}: no MX records");
        }
        let _ = write!(out, "{}", texts.join("\n"));
    }
    Ok(if failed || hosts.is_empty() {
        exit::ERROR
    } else if !compliant {
        exit::NOT_COMPLIANT
    } else {
        exit::OK
    })
}

fn describe(dane: &crate::dane::DaneState, sts: &mta_sts::MtaSts) -> String {
    let dane_line = match (&dane.error, dane.applies(), dane.matches) {
        (Some(e), _, _) => format!("  DANE      {}: {e}", dane.name),
        (None, false, _) if !dane.records.is_empty() => format!(
            "  DANE      {}: {} (not DNSSEC-validated: senders ignore them)",
            dane.name,
            dane.records.join(", ")
        ),
        (None, false, _) => format!("  DANE      {}: no secure TLSA records", dane.name),
        (None, true, m) => format!(
            "  DANE      {}: {} ({})",
            dane.name,
            dane.records.join(", "),
            match m {
                Some(true) => "the served chain matches",
                Some(false) => "the served chain matches NONE",
                None => "not matched",
            }
        ),
    };
    let sts_line = match (&sts.mode, sts.valid) {
        (None, _) => format!(
            "  MTA-STS   {}",
            sts.error.clone().unwrap_or_else(|| "no policy".into())
        ),
        (Some(mode), valid) => format!(
            "  MTA-STS   mode {mode}, mx {}: {}",
            sts.mx.join(" "),
            match (valid, &sts.error) {
                (Some(true), _) => "valid".to_string(),
                (_, Some(e)) => format!("NOT valid: {e}"),
                _ => "not checked".to_string(),
            }
        ),
    };
    format!("{dane_line}\n{sts_line}\n")
}
