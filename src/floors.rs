//! Per-listener floors (issue 12 item 3): a listener kind held to another
//! profile than the run's (`--listener-profile smtp=old`, or a profile's
//! `[listeners.smtp]` table), and named exceptions that keep one listener
//! looser with a reason (`--except 'submission=old:legacy printer'`).
//!
//! This module resolves and matches them; backends say whether and how
//! their server can hold a listener to its own floor, `verify` judges each
//! listener by it, and the journal records it. It writes nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::profile::Profile;
use crate::vocabulary::{Listener, ListenerKind};

/// The longest reason an exception may give.
const MAX_REASON: usize = 200;

/// One listener held to a profile other than the run's, as plans, the
/// journal, `history` and `--json` show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Floor {
    /// The listener's service name, as `detect` shows it.
    pub listener: String,
    pub host: String,
    pub port: u16,
    pub kind: ListenerKind,
    pub profile: String,
    /// A named exception's reason (`--except`); none for a kind's floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Floor {
    /// `submission (127.0.0.1:587, submission): profile old, exception: a legacy printer`.
    pub fn describe(&self) -> String {
        let why = match &self.reason {
            Some(reason) => format!(", exception: {reason}"),
            None => format!(" (floor for {} listeners)", self.kind),
        };
        format!(
            "{} ({}:{}, {}): profile {}{why}",
            self.listener, self.host, self.port, self.kind, self.profile
        )
    }
}

/// A named listener kept at another profile, and why.
#[derive(Clone, Debug)]
pub struct Exception {
    /// What `--except` named: a service name, a port or `host:port`.
    pub listener: String,
    pub profile: Profile,
    pub reason: String,
}

/// Every floor a run asks for besides its profile.
#[derive(Clone, Debug, Default)]
pub struct Floors {
    pub kinds: BTreeMap<ListenerKind, Profile>,
    pub exceptions: Vec<Exception>,
}

impl Floors {
    /// The floors of `base`'s `[listeners]` table, then `--listener-profile
    /// KIND=PROFILE` (which wins), and the `--except` exceptions.
    pub fn resolve(base: &Profile, kinds: &[String], exceptions: &[String]) -> Result<Floors> {
        let mut floors = Floors::default();
        for (kind, name) in &base.listeners {
            let profile = Profile::load(name)
                .map_err(|e| Error::Usage(format!("profile {}: [listeners.{kind}]: {e}", base.name)))?;
            floors.kinds.insert(*kind, profile);
        }
        for spec in kinds {
            let (kind, name) = spec.split_once('=').ok_or_else(|| {
                Error::Usage(format!(
                    "--listener-profile {spec:?}: write KIND=PROFILE, such as smtp=old"
                ))
            })?;
            let kind: ListenerKind = kind
                .trim()
                .parse()
                .map_err(|e| Error::Usage(format!("--listener-profile {spec:?}: {e}")))?;
            let profile = load("--listener-profile", spec, name.trim())?;
            floors.kinds.insert(kind, profile);
        }
        for spec in exceptions {
            let exception = parse_exception(spec)?;
            if floors.exceptions.iter().any(|e| e.listener == exception.listener) {
                return Err(Error::Usage(format!(
                    "--except {:?}: listener {} is named twice",
                    spec, exception.listener
                )));
            }
            floors.exceptions.push(exception);
        }
        Ok(floors)
    }

    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty() && self.exceptions.is_empty()
    }

    /// The profile a listener is held to (an exception first, then its
    /// kind's floor, else `base`), with the exception that decided it.
    pub fn for_listener<'a>(&'a self, base: &'a Profile, listener: &Listener) -> (&'a Profile, Option<&'a Exception>) {
        if let Some(e) = self.exceptions.iter().find(|e| names(&e.listener, listener)) {
            return (&e.profile, Some(e));
        }
        match self.kinds.get(&ListenerKind::of(listener)) {
            Some(p) => (p, None),
            None => (base, None),
        }
    }

    /// The listener's floor when it is not `base` (or an exception names it).
    pub fn floor(&self, base: &Profile, listener: &Listener) -> Option<Floor> {
        let (profile, exception) = self.for_listener(base, listener);
        (exception.is_some() || profile.name != base.name).then(|| Floor {
            listener: listener.service.clone(),
            host: listener.host.clone(),
            port: listener.port,
            kind: ListenerKind::of(listener),
            profile: profile.name.clone(),
            reason: exception.map(|e| e.reason.clone()),
        })
    }

    /// The exceptions that name none of `listeners`.
    pub fn unmatched<'a>(&'a self, listeners: &[&Listener]) -> Vec<&'a Exception> {
        self.exceptions
            .iter()
            .filter(|e| !listeners.iter().any(|l| names(&e.listener, l)))
            .collect()
    }
}

/// Whether `name` (a service name, a port or `host:port`) names the listener.
fn names(name: &str, listener: &Listener) -> bool {
    name == listener.service
        || name == listener.port.to_string()
        || name == format!("{}:{}", listener.host, listener.port)
        || name == format!("[{}]:{}", listener.host, listener.port)
}

fn load(option: &str, spec: &str, name: &str) -> Result<Profile> {
    if name.is_empty() {
        return Err(Error::Usage(format!("{option} {spec:?}: no profile named")));
    }
    Profile::load(name).map_err(|e| Error::Usage(format!("{option} {spec:?}: {e}")))
}

/// `LISTENER=PROFILE:REASON`; the reason is one line of printable text.
fn parse_exception(spec: &str) -> Result<Exception> {
    let usage = |why: &str| {
        Error::Usage(format!(
            "--except {spec:?}: {why} (write LISTENER=PROFILE:REASON, such as 'submission=old:a legacy printer')"
        ))
    };
    let (listener, rest) = spec.split_once('=').ok_or_else(|| usage("no '='"))?;
    let (profile, reason) = rest.split_once(':').ok_or_else(|| usage("no ':' before the reason"))?;
    let listener = listener.trim();
    if listener.is_empty() {
        return Err(usage("no listener named"));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(usage("the reason is empty"));
    }
    if let Some(c) = spec.chars().find(|c| c.is_control()) {
        return Err(usage(&format!(
            "it contains the control character {c:?}; the reason must be one line of text"
        )));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(usage(&format!("the reason is longer than {MAX_REASON} characters")));
    }
    Ok(Exception {
        listener: listener.to_string(),
        profile: load("--except", spec, profile.trim())?,
        reason: reason.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::{Proto, TlsStart};

    fn listener(service: &str, port: u16, tls: TlsStart) -> Listener {
        Listener {
            service: service.into(),
            protocol: Proto::Smtp,
            host: "127.0.0.1".into(),
            port,
            tls,
        }
    }

    #[test]
    fn kinds_then_exceptions_decide_a_listeners_profile() {
        let base = Profile::load("intermediate").unwrap();
        let floors = Floors::resolve(
            &base,
            &["smtp=old".into()],
            &["127.0.0.1:2525=modern:a test relay".into()],
        )
        .unwrap();
        let smtp = listener("smtp", 25, TlsStart::Starttls(Proto::Smtp));
        let submission = listener("submission", 587, TlsStart::Starttls(Proto::Smtp));
        let submissions = listener("submissions", 465, TlsStart::Implicit);
        let relay = listener("127.0.0.1:2525", 2525, TlsStart::Starttls(Proto::Smtp));
        assert_eq!(floors.for_listener(&base, &smtp).0.name, "old");
        assert_eq!(floors.floor(&base, &submission), None);
        assert_eq!(ListenerKind::of(&submissions), ListenerKind::Submission);
        let f = floors.floor(&base, &relay).unwrap();
        assert_eq!(
            (f.profile.as_str(), f.reason.as_deref()),
            ("modern", Some("a test relay"))
        );
        assert!(floors.unmatched(&[&smtp]).len() == 1 && floors.unmatched(&[&relay]).is_empty());
    }

    #[test]
    fn bad_specs_are_one_line_usage_errors() {
        let base = Profile::load("intermediate").unwrap();
        for (kinds, excepts, says) in [
            (vec!["ftp=old"], vec![], "unknown listener kind"),
            (vec!["smtp=nope"], vec![], "no such profile"),
            (vec!["smtp"], vec![], "KIND=PROFILE"),
            (vec![], vec!["submission=old:two\nlines"], "control character"),
            (vec![], vec!["submission=old:bell\u{7}"], "control character"),
            (vec![], vec!["submission=old:"], "reason is empty"),
            (vec![], vec!["submission=old"], "no ':'"),
            (vec![], vec!["submission=nope:why"], "no such profile"),
        ] {
            let kinds: Vec<String> = kinds.into_iter().map(String::from).collect();
            let excepts: Vec<String> = excepts.into_iter().map(String::from).collect();
            let err = Floors::resolve(&base, &kinds, &excepts).unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
            assert!(!err.contains('\n'), "{err:?}");
        }
    }
}
