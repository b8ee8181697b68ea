//! `mailtls detect`: which mail servers this host runs, their TLS
//! listeners, the TLS settings in effect and what is weak about them.

use serde_json::json;

use crate::error::{exit, Result};
use crate::escape::escape;
use crate::mta;
use crate::output::Output;

pub(crate) fn run(out: &Output) -> Result<u8> {
    let found = mta::detect_all();
    if found.is_empty() {
        let names: Vec<&str> = mta::BACKENDS.iter().map(|b| b.title()).collect();
        out.say(&format!(
            "No supported mail server found (looked for: {}).",
            names.join(", ")
        ));
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
pub(crate) fn show_detected(d: &mta::Detected, out: &Output) {
    out.say(&format!(
        "{} {} ({}), config {}",
        d.mta.name(),
        escape(d.version.as_deref().unwrap_or("(version unknown)")),
        escape(d.tls_library.as_deref().unwrap_or("TLS library unknown")),
        escape(&d.config.display().to_string())
    ));
    for l in &d.listeners {
        out.say(&format!(
            "  listener {} -> {}:{} ({}; kind {}, as --listener-profile names it)",
            escape(&l.service),
            escape(&l.host),
            l.port,
            l.tls,
            crate::vocabulary::ListenerKind::of(l)
        ));
    }
    for (name, value) in &d.tls_settings {
        out.say(&format!("  {} = {}", escape(name), escape(value)));
    }
    for w in &d.weaknesses {
        out.say(&format!("  {}", out.paint(&format!("weak: {}", escape(w)), "33")));
    }
}
