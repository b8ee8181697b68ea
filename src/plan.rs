//! A plan is plain data: the whole set of file changes `apply` would make,
//! computed before anything is written. `plan` prints it, `apply` executes
//! it, tests assert on it.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use crate::reload::{Regenerate, Reload};
use crate::vocabulary::{Listener, MtaKind};

/// One file's content before and after.
#[derive(Clone, Debug, Serialize)]
pub struct FileChange {
    pub path: PathBuf,
    #[serde(skip)]
    pub before: String,
    /// The file does not exist yet (`before` is empty); rollback removes it.
    pub created: bool,
    #[serde(skip)]
    pub after: String,
}

/// One setting the plan changes, for people and for `--json`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SettingChange {
    pub file: PathBuf,
    /// The setting, with its scope when it is not global (`submission/inet: smtpd_tls_protocols`).
    pub name: String,
    pub before: Option<String>,
    pub after: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub mta: MtaKind,
    /// The server instance: its config directory or file.
    pub instance: PathBuf,
    pub profile: String,
    pub changes: Vec<FileChange>,
    pub settings: Vec<SettingChange>,
    pub warnings: Vec<String>,
    /// A command that rebuilds the file the server reads from the edited sources
    /// (Debian's `update-exim4.conf`, Sendmail's m4), run after writing and after restoring.
    pub regenerate: Option<Regenerate>,
    pub reload: Reload,
    /// The TLS listeners verification probes.
    pub listeners: Vec<Listener>,
    /// SHA-256 of the certificate the server should serve once the plan is live.
    pub expected_cert_sha256: Option<String>,
    /// The listeners held to another profile than the run's, and why.
    pub floors: Vec<crate::floors::Floor>,
    /// Why this server cannot restrict the key-exchange groups (Sendmail,
    /// OpenSMTPD, Dovecot before 2.3); `None` when it can, and verification
    /// then holds the served groups to the profile.
    pub groups_unenforceable: Option<String>,
}

impl Plan {
    /// Only the files whose content really changes.
    pub fn changed_files(&self) -> impl Iterator<Item = &FileChange> {
        self.changes.iter().filter(|c| c.before != c.after)
    }

    pub fn is_noop(&self) -> bool {
        self.changed_files().next().is_none()
    }

    /// A unified diff of every changed file, colored for a terminal when asked.
    pub fn diff(&self, color: bool) -> String {
        let mut out = String::new();
        for change in self.changed_files() {
            let path = change.path.display().to_string();
            let diff = TextDiff::from_lines(&change.before, &change.after);
            for hunk in diff.unified_diff().context_radius(3).header(&path, &path).iter_hunks() {
                if out.is_empty() || !out.contains(&format!("+++ {path}")) {
                    out.push_str(&paint(&format!("--- {path}\n+++ {path}\n"), "1", color));
                }
                out.push_str(&paint(&format!("{}\n", hunk.header()), "36", color));
                for change in hunk.iter_changes() {
                    let (sign, code) = match change.tag() {
                        ChangeTag::Delete => ("-", "31"),
                        ChangeTag::Insert => ("+", "32"),
                        ChangeTag::Equal => (" ", ""),
                    };
                    let mut line = format!("{sign}{}", change.value());
                    if change.missing_newline() {
                        line.push_str("\n\\ No newline at end of file\n");
                    }
                    out.push_str(&paint(&line, code, color));
                }
            }
        }
        out
    }
}

/// A diff line for a terminal: colored, with the file's control characters
/// escaped (`--json`'s diff, uncolored, stays exact; `Output::say` escapes
/// the uncolored one it prints).
fn paint(text: &str, code: &str, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let text = crate::escape::escape_lines(text);
    if code.is_empty() {
        return text.into_owned();
    }
    format!(
        "\x1b[{code}m{}\x1b[0m{}",
        text.trim_end_matches('\n'),
        if text.ends_with('\n') { "\n" } else { "" }
    )
}

/// The names of the plan's settings that were unset and have a server
/// default (scoped names such as "submission/inet: smtpd_tls_protocols"
/// inherit instead).
pub fn unset_names(plan: &Plan) -> Vec<&str> {
    plan.settings
        .iter()
        .filter(|s| s.before.is_none() && !s.name.contains(": "))
        .map(|s| s.name.as_str())
        .collect()
}

/// The plans of every server a run covers (a host may run Postfix and
/// Dovecot): one diff, one confirmation, one backup set, one verification.
#[derive(Clone, Debug)]
pub struct HostPlan {
    pub plans: Vec<Plan>,
    /// Per plan, the server's own defaults of the settings it sets that
    /// were unset, as its tool prints them (see `server_defaults`).
    defaults: Vec<HashMap<String, String>>,
}

impl HostPlan {
    /// The plans, with each server's own defaults of the settings they
    /// set that were unset (see `Instance::defaults`), one map per plan.
    pub fn new(plans: Vec<Plan>, defaults: Vec<HashMap<String, String>>) -> HostPlan {
        HostPlan { plans, defaults }
    }

    /// One line per setting for people, such as
    /// `smtpd_tls_protocols: (default >=TLSv1) -> >=TLSv1.2`. An unset
    /// setting shows the server's default when its tool tells it, a scoped
    /// one (a master.cf service) what it inherits.
    pub fn setting_lines(&self) -> Vec<String> {
        self.plans
            .iter()
            .zip(&self.defaults)
            .flat_map(|(plan, defaults)| {
                plan.settings.iter().map(move |s| {
                    let before = match (&s.before, defaults.get(&s.name)) {
                        (Some(value), _) => value.clone(),
                        (None, Some(default)) if default.is_empty() => "(default: empty)".to_string(),
                        (None, Some(default)) => format!("(default {default})"),
                        (None, None) if s.name.contains(": ") => "(inherited)".to_string(),
                        (None, None) => "(server's default)".to_string(),
                    };
                    format!("{}: {before} -> {}", s.name, s.after)
                })
            })
            .collect()
    }

    /// "postfix at /etc/postfix already meet(s) profile ...": said when there is nothing to do.
    pub fn nothing_to_do(&self, profile: &str) -> String {
        format!(
            "{} already meet(s) profile {profile:?}: nothing to change.",
            self.describe()
        )
    }

    pub fn is_noop(&self) -> bool {
        self.plans.iter().all(Plan::is_noop)
    }

    pub fn changed_files(&self) -> impl Iterator<Item = &FileChange> {
        self.plans.iter().flat_map(Plan::changed_files)
    }

    pub fn changed_paths(&self) -> Vec<String> {
        self.changed_files().map(|c| c.path.display().to_string()).collect()
    }

    pub fn settings(&self) -> Vec<&SettingChange> {
        self.plans.iter().flat_map(|p| &p.settings).collect()
    }

    /// One line per listener held to another profile than the run's, for people.
    pub fn floor_lines(&self) -> Vec<String> {
        self.floors()
            .iter()
            .map(|f| format!("Listener {}", f.describe()))
            .collect()
    }

    /// Every listener held to another profile than the run's.
    pub fn floors(&self) -> Vec<&crate::floors::Floor> {
        self.plans.iter().flat_map(|p| &p.floors).collect()
    }

    pub fn warnings(&self) -> Vec<&String> {
        self.plans.iter().flat_map(|p| &p.warnings).collect()
    }

    pub fn diff(&self, color: bool) -> String {
        self.plans.iter().map(|p| p.diff(color)).collect()
    }

    /// Every changed file's whole text before and after, for `--json`
    /// (Ansible's diff mode shows these; a created file's `before` is empty).
    pub fn file_diffs(&self) -> serde_json::Value {
        self.changed_files()
            .map(|c| serde_json::json!({"path": c.path, "created": c.created, "before": c.before, "after": c.after}))
            .collect()
    }

    /// "postfix at /etc/postfix, dovecot at /etc/dovecot".
    pub fn describe(&self) -> String {
        let servers: Vec<String> = self
            .plans
            .iter()
            .map(|p| format!("{} at {}", p.mta.name(), p.instance.display()))
            .collect();
        servers.join(", ")
    }

    /// Per server, for `--json`.
    pub fn servers_json(&self) -> serde_json::Value {
        self.plans
            .iter()
            .map(|p| {
                serde_json::json!({
                    "mta": p.mta,
                    "instance": p.instance,
                    "changed": !p.is_noop(),
                    "files": p.changed_files().map(|c| &c.path).collect::<Vec<_>>(),
                    "listeners": p.listeners,
                    "floors": p.floors,
                    "reload": p.reload,
                })
            })
            .collect()
    }
}
