//! The one list of mail server backends, and what walks it: opening the
//! servers a run covers, detecting, planning them all. Nothing else names
//! every server: a new one is its own folder, one line in `BACKENDS`, its
//! `pub mod` and its `MtaKind` variant (CONTRIBUTING.md).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::plan::{HostPlan, Plan};

use super::backend::{Backend, Instance};
use super::{Detected, MtaKind, Request};

/// Every server mailtls supports, in the order a run covers them.
pub(crate) static BACKENDS: &[&dyn Backend] = &[
    &super::postfix::backend::PostfixBackend,
    &super::exim::backend::EximBackend,
    &super::sendmail::backend::SendmailBackend,
    &super::opensmtpd::backend::OpensmtpdBackend,
    &super::dovecot::backend::DovecotBackend,
    &super::cyrus::backend::CyrusBackend,
];

/// The backend of a kind.
pub(crate) fn backend(kind: MtaKind) -> &'static dyn Backend {
    *BACKENDS
        .iter()
        .find(|b| b.kind() == kind)
        .expect("every MtaKind has a backend in BACKENDS")
}

/// Finds the server to work on: the one named by `--mta`, the one whose
/// config `config` is, or the first one installed.
pub(crate) fn open(kind: Option<MtaKind>, config: Option<&Path>) -> Result<Box<dyn Instance>> {
    match (kind, config) {
        (Some(kind), _) => backend(kind).open(config),
        (None, Some(c)) => match BACKENDS.iter().find(|b| b.recognizes(c)) {
            Some(b) => b.open(config),
            None => Err(Error::Usage(format!(
                "cannot tell which mail server {} configures; name it with --mta",
                c.display()
            ))),
        },
        (None, None) => open_all(None, &[]).map(|mut all| all.remove(0)),
    }
}

/// Every server a run covers: one per `--config` (of the `--mta` kind, or
/// recognised from the path), or the `--mta` kind's default instance, or,
/// with neither, every supported server installed on this host.
pub(crate) fn open_all(kind: Option<MtaKind>, configs: &[PathBuf]) -> Result<Vec<Box<dyn Instance>>> {
    if !configs.is_empty() {
        return configs.iter().map(|c| open(kind, Some(c))).collect();
    }
    if kind.is_some() {
        return Ok(vec![open(kind, None)?]);
    }
    let servers = BACKENDS
        .iter()
        .filter(|b| b.installed())
        .map(|b| b.open(None))
        .collect::<Result<Vec<_>>>()?;
    if servers.is_empty() {
        return Err(Error::Usage(
            "no supported mail server found on this host; name one with --mta and its config with --config".into(),
        ));
    }
    Ok(servers)
}

/// Every supported server found on this host.
pub(crate) fn detect_all() -> Vec<Result<Detected>> {
    BACKENDS
        .iter()
        .filter(|b| b.installed())
        .map(|b| b.open(None).and_then(|s| s.detect()))
        .collect()
}

/// Plans every server; the first that cannot be planned stops the lot.
pub(crate) fn plan_all(servers: &[Box<dyn Instance>], request: &Request) -> Result<HostPlan> {
    let mut plans: Vec<Plan> = servers.iter().map(|s| s.plan(request)).collect::<Result<_>>()?;
    check_floors(servers, &plans, request)?;
    if request.outbound_dane {
        for plan in &mut plans {
            plan.warnings.extend(crate::dane::outbound::other_server(plan.mta)?);
        }
    }
    let defaults = servers
        .iter()
        .zip(&plans)
        .map(|(server, plan)| server.defaults(&crate::plan::unset_names(plan)))
        .collect();
    Ok(HostPlan::new(plans, defaults))
}

/// Every `--except` names a TLS listener of the run, and every server whose
/// listeners get a floor of their own can express it; otherwise the run is
/// refused with the reason (never widened or narrowed for every listener).
fn check_floors(servers: &[Box<dyn Instance>], plans: &[Plan], request: &Request) -> Result<()> {
    let all: Vec<&crate::vocabulary::Listener> = plans.iter().flat_map(|p| &p.listeners).collect();
    if let Some(e) = request.floors.unmatched(&all).first() {
        let known: Vec<String> = all
            .iter()
            .map(|l| format!("{} ({}:{})", l.service, l.host, l.port))
            .collect();
        return Err(Error::Usage(format!(
            "--except {:?}: no TLS listener of that name, port or host:port (the TLS listeners: {})",
            e.listener,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    for (server, plan) in servers.iter().zip(plans) {
        let Some(floor) = plan.floors.first() else { continue };
        if let Err(why) = server.per_listener() {
            return Err(Error::Config(format!(
                "{} at {} cannot hold {} to profile {} while its other listeners follow {}: {why}",
                plan.mta.name(),
                plan.instance.display(),
                floor.listener,
                floor.profile,
                request.profile.name
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `backend(kind)` relies on it: a new MtaKind without its BACKENDS line fails here, not at run time.
    #[test]
    fn every_kind_has_exactly_one_backend() {
        for kind in <MtaKind as clap::ValueEnum>::value_variants() {
            assert_eq!(BACKENDS.iter().filter(|b| b.kind() == *kind).count(), 1, "{kind}");
        }
        assert_eq!(BACKENDS.len(), <MtaKind as clap::ValueEnum>::value_variants().len());
    }
}
