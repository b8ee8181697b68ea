//! The guided flow at a terminal (`mailtls` alone, or `mailtls apply`
//! without `--yes`): what runs here and how weak it is, one probe of every
//! TLS listener, the profile and the certificate to use, then `apply`'s own
//! pipeline (colored diff, one confirmation, write, reload, verify, roll back
//! on failure) and a before/after table. This module only asks and shows;
//! `apply::run` does the work, exactly as it does for `--yes`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use dialoguer::theme::ColorfulTheme;

use crate::apply::{self, ApplyOptions};
use crate::cli::{ApplyArgs, Global};
use crate::error::{exit, Error, Result};
use crate::escape::escape;
use crate::mta::Listener;
use crate::output::Output;
use crate::probe::{Severity, TargetReport};
use crate::profile::Profile;
use crate::{cert, resolve, table, verify};

/// Someone is there to answer: stdin and stderr are terminals.
pub fn at_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Whether `apply` with these arguments runs the guided flow: at a terminal,
/// not told to go ahead (`--yes`), not asked for JSON or for `--check`.
pub fn wanted(global: &Global, args: &ApplyArgs) -> bool {
    !global.yes && !global.json && !args.check && at_terminal()
}

pub fn run(args: &ApplyArgs, global: &Global, out: &Output) -> Result<u8> {
    let mut resolved = resolve::target(&args.target, args.reload_command.as_deref())?;

    out.say(&out.paint("What runs here", "1"));
    let mut listeners: Vec<Listener> = Vec::new();
    for server in &resolved.servers {
        match server.detect() {
            Ok(found) => {
                super::detect::show_detected(&found, out);
                for l in found.listeners.into_iter().filter(|l| l.tls.is_tls()) {
                    if !listeners
                        .iter()
                        .any(|seen| (&seen.host, seen.port) == (&l.host, l.port))
                    {
                        listeners.push(l);
                    }
                }
            }
            Err(e) => out.warn(&e.to_string()),
        }
    }
    let before = probe_all(&listeners, out);
    show_today(&before, out);

    if args.target.profile.is_none() {
        resolved.request.profile = choose_profile()?;
    }
    if args.target.cert.is_none() {
        let current = before.iter().find_map(|r| r.certificate.as_ref());
        let suggestions = suggest_certificates(Path::new("/etc/letsencrypt/live"), Path::new("/etc/ssl"), &hostname());
        let label = current.map(|c| format!("{}, until {}", escape(&c.subject), escape(day(&c.not_after))));
        resolved.request.cert = choose_certificate(&resolved.request.profile, label, &suggestions, out)?;
    }
    super::guard::for_target(&resolved, &args.target, out)?;

    let changes = !crate::mta::plan_all(&resolved.servers, &resolved.request)?.is_noop();
    let options = ApplyOptions {
        journal_root: &global.state_dir,
        yes: false,
        check: false,
        no_reload: args.no_reload,
        no_verify: args.no_verify,
        max_lose_tls: args.max_lose_tls,
        watch: apply::watch_duration(args.watch.as_deref())?,
    };
    match apply::run(resolved, options, out) {
        Err(Error::RolledBack(failure)) => {
            out.progress_done();
            out.say(&out.paint("Verification failed:", "31"));
            for problem in failure.split("; ") {
                out.say(&format!("  {}", escape(problem)));
            }
            out.say(
                "mailtls rolled the change back: the files are as they were, and the server was reloaded with them.",
            );
            out.say("`mailtls history -v` shows the backup set and why it was undone.");
            Ok(exit::NOT_COMPLIANT)
        }
        Err(e) => Err(e),
        Ok(code) if !changes || args.no_reload || args.no_verify || listeners.is_empty() => Ok(code),
        Ok(code) => {
            let after = probe_all(&listeners, out);
            out.say(&format!("\n{}", out.paint("Before and after", "1")));
            for (old, new) in before.iter().zip(&after) {
                out.say(table::before_after(old, new).trim_end());
            }
            Ok(code)
        }
    }
}

/// Probes every listener (all at once), with a spinner meanwhile.
fn probe_all(listeners: &[Listener], out: &Output) -> Vec<TargetReport> {
    if listeners.is_empty() {
        return Vec::new();
    }
    out.progress(&format!("Probing {} TLS listener(s)…", listeners.len()));
    let reports = std::thread::scope(|s| {
        let running: Vec<_> = listeners.iter().map(|l| s.spawn(|| verify::scan(l))).collect();
        running
            .into_iter()
            .zip(listeners)
            .map(|(handle, l)| {
                handle.join().unwrap_or_else(|_| {
                    let mut r = TargetReport::empty(
                        format!("{}:{}", l.host, l.port),
                        crate::vocabulary::TlsStart::Starttls(crate::vocabulary::Proto::Smtp),
                    );
                    r.error = Some("internal error: the scan panicked".into());
                    r
                })
            })
            .collect()
    });
    out.progress_done();
    reports
}

/// One line per listener, and what needs action (MEDIUM and HIGH findings).
fn show_today(reports: &[TargetReport], out: &Output) {
    if reports.is_empty() {
        out.say("No TLS listener to probe.");
        return;
    }
    out.say(&format!("\n{}", out.paint("How the TLS listeners answer today", "1")));
    for report in reports {
        out.say(&format!("  {}", report.summary().line(None)));
        for f in report.findings.iter().filter(|f| f.severity >= Severity::Medium) {
            out.say(&format!(
                "    {}",
                out.paint(&format!("{}: {}", f.severity.label(), escape(&f.message)), "33")
            ));
        }
    }
    out.say("");
}

fn theme() -> ColorfulTheme {
    ColorfulTheme::default()
}

fn asked<T>(result: dialoguer::Result<T>) -> Result<T> {
    result.map_err(|e| Error::Refused(format!("could not ask at the terminal: {e}")))
}

fn choose_profile() -> Result<Profile> {
    let profiles = Profile::bundled();
    let items: Vec<String> = profiles
        .iter()
        .map(|p| format!("{:<13} {}", p.name, p.description))
        .collect();
    let default = profiles
        .iter()
        .position(|p| p.name == crate::profile::DEFAULT)
        .unwrap_or(0);
    let chosen = asked(
        dialoguer::Select::with_theme(&theme())
            .with_prompt("Profile")
            .items(&items)
            .default(default)
            .interact(),
    )?;
    Ok(profiles.into_iter().nth(chosen).expect("an item was chosen"))
}

/// A certificate and key found on disk, offered with what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub label: String,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Pairs worth offering: Let's Encrypt's `live/NAME/{fullchain,privkey}.pem`
/// (this host's name first), then `ssl/private/NAME.{key,pem}` beside
/// `ssl/certs/NAME.{pem,crt}` (Debian's layout; the CA bundle's hundreds of
/// certificates have no key there, so they never show).
pub fn suggest_certificates(letsencrypt_live: &Path, ssl: &Path, hostname: &str) -> Vec<Suggestion> {
    let names = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        names.sort();
        names
    };
    let mut found = Vec::new();
    let mut live = names(letsencrypt_live);
    live.sort_by_key(|n| n != hostname);
    for name in live {
        let dir = letsencrypt_live.join(&name);
        let (cert, key) = (dir.join("fullchain.pem"), dir.join("privkey.pem"));
        if cert.is_file() && key.is_file() {
            found.push(Suggestion {
                label: format!("Let's Encrypt certificate for {name}"),
                cert,
                key,
            });
        }
    }
    for key_name in names(&ssl.join("private")) {
        let Some(stem) = key_name.strip_suffix(".key").or_else(|| key_name.strip_suffix(".pem")) else {
            continue;
        };
        let cert = ["pem", "crt"]
            .map(|ext| ssl.join("certs").join(format!("{stem}.{ext}")))
            .into_iter()
            .find(|c| c.is_file());
        if let Some(cert) = cert {
            let placeholder = if stem.contains("snakeoil") {
                " (the distribution's placeholder)"
            } else {
                ""
            };
            found.push(Suggestion {
                label: format!("{stem}{placeholder}"),
                cert,
                key: ssl.join("private").join(&key_name),
            });
        }
    }
    found
}

/// Keep the current certificate (None), or a checked pair from the
/// suggestions or typed in; a pair that fails the checks is said and asked again.
fn choose_certificate(
    profile: &Profile,
    current: Option<String>,
    suggestions: &[Suggestion],
    out: &Output,
) -> Result<Option<(PathBuf, PathBuf)>> {
    let keep = match &current {
        Some(label) => format!("Keep the current certificate ({label})"),
        None => "Keep the certificate the config names".into(),
    };
    let mut items = vec![keep];
    items.extend(
        suggestions
            .iter()
            .map(|s| format!("{}: {}", escape(&s.label), escape(&s.cert.display().to_string()))),
    );
    items.push("Another certificate: type its paths".into());
    loop {
        let chosen = asked(
            dialoguer::Select::with_theme(&theme())
                .with_prompt("Certificate")
                .items(&items)
                .default(0)
                .interact(),
        )?;
        let (cert, key) = match chosen {
            0 => return Ok(None),
            n if n <= suggestions.len() => (suggestions[n - 1].cert.clone(), suggestions[n - 1].key.clone()),
            _ => {
                let cert: String = asked(
                    dialoguer::Input::with_theme(&theme())
                        .with_prompt("Certificate file (PEM, leaf first)")
                        .interact_text(),
                )?;
                let key: String = asked(
                    dialoguer::Input::with_theme(&theme())
                        .with_prompt("Private key file (PEM)")
                        .interact_text(),
                )?;
                (PathBuf::from(cert.trim()), PathBuf::from(key.trim()))
            }
        };
        match cert::check_pair(
            &cert,
            &key,
            &profile.certificate,
            cert::ANY_SERVER_KEY_READERS,
            time::OffsetDateTime::now_utc(),
        ) {
            Ok(info) => {
                // Its warnings (self-signed, expiring) come with the plan.
                out.say(&format!("  {}, until {}", escape(&info.subject), day(&info.not_after)));
                return Ok(Some((cert, key)));
            }
            Err(e) => out.say(&out.paint(&format!("  {e}; choose again"), "31")),
        }
    }
}

/// The date part of an RFC 3339 time.
fn day(rfc3339: &str) -> &str {
    rfc3339.split('T').next().unwrap_or(rfc3339)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_put_this_host_first_and_skip_certificates_without_a_key() {
        let root = tempfile::tempdir().unwrap();
        let live = root.path().join("letsencrypt/live");
        let ssl = root.path().join("ssl");
        for name in ["a.example.org", "mx.example.org", "no-key.example.org"] {
            std::fs::create_dir_all(live.join(name)).unwrap();
            std::fs::write(live.join(name).join("fullchain.pem"), "").unwrap();
            if name != "no-key.example.org" {
                std::fs::write(live.join(name).join("privkey.pem"), "").unwrap();
            }
        }
        std::fs::create_dir_all(ssl.join("certs")).unwrap();
        std::fs::create_dir_all(ssl.join("private")).unwrap();
        for file in [
            "certs/ssl-cert-snakeoil.pem",
            "private/ssl-cert-snakeoil.key",
            "certs/ca-bundle.crt",
        ] {
            std::fs::write(ssl.join(file), "").unwrap();
        }
        let found = suggest_certificates(&live, &ssl, "mx.example.org");
        let labels: Vec<&str> = found.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Let's Encrypt certificate for mx.example.org",
                "Let's Encrypt certificate for a.example.org",
                "ssl-cert-snakeoil (the distribution's placeholder)",
            ]
        );
        assert_eq!(found[2].key, ssl.join("private/ssl-cert-snakeoil.key"));
        assert!(suggest_certificates(&root.path().join("none"), &root.path().join("none"), "x").is_empty());
    }
}
