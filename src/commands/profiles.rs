//! `mailtls profiles`: the bundled profiles, or one profile and what it sets in each server.

use serde_json::json;

use crate::error::{exit, Result};
use crate::escape::escape;
use crate::mta;
use crate::output::Output;
use crate::profile::{Profile, BUNDLED};

pub(crate) fn run(name: Option<&str>, out: &Output) -> Result<u8> {
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
    for (kind, other) in &profile.listeners {
        out.say(&format!("  {kind} listeners: profile {}", escape(other)));
    }
    let mut json = serde_json::Map::new();
    json.insert("profile".into(), json!(profile));
    for backend in mta::BACKENDS {
        for (heading, settings) in backend.profile_settings(&profile) {
            out.say(&format!("  {heading}"));
            for (option, value) in settings {
                out.say(&format!("    {option} = {value}"));
            }
        }
        json.insert(backend.kind().name(), backend.profile_json(&profile));
    }
    json.insert("toml".into(), json!(source));
    out.result(&serde_json::Value::Object(json));
    Ok(exit::OK)
}
