//! The read-only commands: detect, plan, history, profiles.

use serde_json::json;

use crate::error::{exit, Result};
use crate::escape::escape;
use crate::journal::Journal;
use crate::mta;
use crate::output::Output;
use crate::plan::HostPlan;
use crate::profile::{Profile, BUNDLED};
use crate::resolve::Resolved;

pub fn detect(out: &Output) -> Result<u8> {
    let found = mta::detect_all();
    if found.is_empty() {
        out.say("No supported mail server found (looked for: Postfix, Exim, Sendmail, OpenSMTPD, Dovecot).");
    }
    let mut servers = Vec::new();
    let mut errors = Vec::new();
    for result in found {
        match result {
            Ok(d) => {
                show_detected(&d, out);
                servers.push(d);
            }
            Err(e) => {
                out.warn(&e.to_string());
                errors.push(e.to_string());
            }
        }
    }
    out.result(&json!({"servers": servers, "errors": errors}));
    Ok(if errors.is_empty() { exit::OK } else { exit::ERROR })
}

/// One server as `detect` (and the guided flow) shows it: version, listeners, TLS settings, weaknesses.
pub fn show_detected(d: &mta::Detected, out: &Output) {
    out.say(&format!(
        "{} {} ({}), config {}",
        d.mta.name(),
        escape(d.version.as_deref().unwrap_or("(version unknown)")),
        escape(d.tls_library.as_deref().unwrap_or("TLS library unknown")),
        escape(&d.config.display().to_string())
    ));
    for l in &d.listeners {
        out.say(&format!(
            "  listener {} -> {}:{} ({:?})",
            escape(&l.service),
            escape(&l.host),
            l.port,
            l.tls
        ));
    }
    for (name, value) in &d.tls_settings {
        out.say(&format!("  {} = {}", escape(name), escape(value)));
    }
    for w in &d.weaknesses {
        out.say(&format!("  {}", out.paint(&format!("weak: {}", escape(w)), "33")));
    }
}

pub fn plan(resolved: Resolved, format: Option<crate::report::ReportFormat>, out: &Output) -> Result<u8> {
    let Resolved { servers, request } = resolved;
    let host = HostPlan::of(&servers, &request)?;
    for warning in host.warnings() {
        out.warn(warning);
    }
    if let Some(format) = format {
        print!("{}", crate::report::plan(format, &host, &request.profile.name)?);
    } else if host.is_noop() {
        out.say(&host.nothing_to_do(&request.profile.name));
    } else {
        out.say(host.diff(out.color).trim_end());
    }
    out.result(&json!({
        "changed": !host.is_noop(),
        "profile": request.profile.name,
        "servers": host.servers_json(),
        "files": host.changed_paths(),
        "settings": host.settings(),
        "warnings": host.warnings(),
        "diff": host.diff(false),
        "file_diffs": host.file_diffs(),
    }));
    Ok(if host.is_noop() {
        exit::OK
    } else {
        exit::CHANGES_PENDING
    })
}

pub fn history(journal: Option<Journal>, out: &Output) -> Result<u8> {
    let sets = match &journal {
        Some(j) => j.sets()?,
        None => Vec::new(),
    };
    let unreadable = journal.as_ref().map(Journal::unreadable).unwrap_or_default();
    for problem in &unreadable {
        out.warn(problem);
    }
    if sets.is_empty() {
        out.say("No backup sets yet.");
    }
    for m in &sets {
        let files: Vec<String> = m
            .files
            .iter()
            .map(|f| escape(&f.path.display().to_string()).into_owned())
            .collect();
        let servers: Vec<String> = m
            .services
            .iter()
            .map(|s| format!("{} {}", s.mta.name(), escape(&s.instance.display().to_string())))
            .collect();
        out.say(&format!(
            "{}  {}  {}  profile {}  {}  [{}]",
            escape(&m.id),
            escape(&m.created),
            servers.join(" + "),
            escape(&m.profile),
            files.join(", "),
            if m.in_progress {
                format!("{}, interrupted", m.state.name())
            } else {
                m.state.name().to_string()
            }
        ));
        if let Some(note) = m.note.as_ref().filter(|_| out.verbose > 0) {
            out.say(&format!("    {}", escape(note)));
        }
    }
    let sets_json: Vec<_> = sets
        .iter()
        .map(|m| {
            json!({
                "id": m.id, "created": m.created, "profile": m.profile, "state": m.state, "note": m.note, "interrupted": m.in_progress,
                "servers": m.services.iter().map(|s| json!({"mta": s.mta, "instance": s.instance})).collect::<Vec<_>>(),
                "files": m.files.iter().map(|f| &f.path).collect::<Vec<_>>(),
            })
        })
        .collect();
    out.result(&json!({ "sets": sets_json, "unreadable": unreadable }));
    Ok(exit::OK)
}

pub fn profiles(name: Option<&str>, out: &Output) -> Result<u8> {
    let Some(name) = name else {
        let all = Profile::bundled();
        for p in &all {
            let default = if p.name == crate::profile::DEFAULT {
                " (default)"
            } else {
                ""
            };
            out.say(&format!("{:<14} {}{default}", escape(&p.name), escape(&p.description)));
        }
        out.result(&json!({"profiles": all}));
        return Ok(exit::OK);
    };
    let profile = Profile::load(name)?;
    let source = BUNDLED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| text.to_string());
    out.say(&format!("{} — {}", escape(&profile.name), escape(&profile.description)));
    if let Some(g) = &profile.guidelines {
        out.say(&format!("  guidelines: {}", escape(g)));
    }
    out.say(&format!("  minimum protocol: {}", profile.min_protocol));
    let tls12: Vec<String> = profile.tls12_ciphers.iter().map(|s| s.to_string()).collect();
    let tls13: Vec<String> = profile.tls13_ciphersuites.iter().map(|s| s.to_string()).collect();
    let groups: Vec<String> = profile.groups.iter().map(|g| g.to_string()).collect();
    out.say(&format!(
        "  TLS 1.2 suites: {}",
        if tls12.is_empty() {
            "(none)".into()
        } else {
            tls12.join(" ")
        }
    ));
    out.say(&format!("  TLS 1.3 suites: {}", tls13.join(" ")));
    out.say(&format!("  groups: {}", groups.join(" ")));
    out.say(&format!(
        "  cipher order: {}",
        if profile.server_cipher_order {
            "server"
        } else {
            "client"
        }
    ));
    out.say("  Postfix (main.cf; master.cf -o overrides that weaken it are rewritten too):");
    for (param, value) in mta::postfix::settings_for(&profile) {
        out.say(&format!("    {param} = {value}"));
    }
    let exim_gnutls = mta::exim::settings_for(&profile, mta::exim::TlsLibrary::GnuTls);
    let exim_openssl = mta::exim::settings_for(&profile, mta::exim::TlsLibrary::OpenSsl);
    for (library, settings) in [("GnuTLS", &exim_gnutls), ("OpenSSL", &exim_openssl)] {
        out.say(&format!("  Exim built with {library} (main section):"));
        for (option, value) in settings {
            out.say(&format!("    {option} = {value}"));
        }
    }
    let sendmail = mta::sendmail::settings_for(&profile);
    let opensmtpd = mta::opensmtpd::settings_for(&profile);
    let cyrus = mta::cyrus::settings_for(&profile);
    let (dovecot_2_3, dovecot_2_4) = (
        mta::dovecot::settings_for(&profile, false),
        mta::dovecot::settings_for(&profile, true),
    );
    for (heading, settings) in [
        (
            "Sendmail (sendmail.mc or Debian's starttls.m4; sendmail.cf is regenerated):",
            &sendmail,
        ),
        ("OpenSMTPD 7.x (each TLS `listen on` line):", &opensmtpd),
        (
            "Dovecot 2.3 (local.conf on Debian, else where each is set):",
            &dovecot_2_3,
        ),
        ("Dovecot 2.4 (renamed settings):", &dovecot_2_4),
        (
            "Cyrus IMAP (imapd.conf; weaker imap_/pop3_ overrides are rewritten too):",
            &cyrus,
        ),
    ] {
        out.say(&format!("  {heading}"));
        for (option, value) in settings {
            out.say(&format!("    {option} = {value}"));
        }
    }
    out.result(&json!({
        "profile": profile,
        "postfix": mta::postfix::settings_for(&profile),
        "exim": {"gnutls": exim_gnutls, "openssl": exim_openssl},
        "sendmail": sendmail,
        "opensmtpd": opensmtpd,
        "dovecot": {"2.3": dovecot_2_3, "2.4": dovecot_2_4},
        "cyrus": cyrus,
        "toml": source,
    }));
    Ok(exit::OK)
}
