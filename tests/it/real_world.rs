//! `plan` on real configs from public sources (fixtures/real-world, where each
//! file came from is in its SOURCES file), with every profile. Each plan must
//! be idempotent, keep layout and comments (only TLS setting lines change),
//! and pass the server's own checker where it is installed; a refusal must
//! say exactly why. The score printed at the end is the one in the README.
use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::Mailtls;

/// What `plan` must do with a fixture.
#[derive(Clone, Copy)]
enum Expect {
    /// Plans a change (or none), which passes every check.
    Plans,
    /// Refused: the one-line error contains this reason.
    Refused(&'static str),
}

struct Case {
    name: &'static str,
    /// Planned with `--cert`/`--key` (a fresh certificate), or with the config's own.
    cert: bool,
    /// The `--config` value, relative to the fixture's folder ("" for the folder).
    config: &'static str,
    expect: Expect,
}

const fn plans(name: &'static str, config: &'static str) -> Case {
    Case {
        name,
        cert: true,
        config,
        expect: Expect::Plans,
    }
}

const fn plans_without_cert(name: &'static str, config: &'static str) -> Case {
    Case {
        name,
        cert: false,
        config,
        expect: Expect::Plans,
    }
}

const fn refused(name: &'static str, config: &'static str, reason: &'static str) -> Case {
    Case {
        name,
        cert: true,
        config,
        expect: Expect::Refused(reason),
    }
}

const PER_SNI: &str = "tls_certificate is an expression";

const TEMPLATE: &str = "this file is a template, not the config the server reads";

const CASES: &[Case] = &[
    // Postfix
    plans("postfix-debian-12", ""),
    plans("postfix-docker-mailserver", ""),
    // docker-mailserver and Mailu as their hosts hold them: the override folders (tests/stacks.rs says more).
    plans_without_cert("postfix-docker-mailserver-host", "docker-data/dms/config"),
    plans_without_cert("postfix-docker-mailserver-host", "docker-data/dms/config/dovecot.cf"),
    plans_without_cert("postfix-mailu-host", "overrides/postfix"),
    plans("postfix-iredmail", ""),
    plans("postfix-mailcow", ""),
    refused("postfix-mailu", "", TEMPLATE),
    refused("postfix-modoboa", "", TEMPLATE),
    plans("postfix-rhel-9", ""),
    plans("postfix-upstream", ""),
    // Dovecot
    plans("dovecot-debian-12", "dovecot.conf"),
    plans("dovecot-docker-mailserver", "dovecot.conf"),
    plans("dovecot-hestiacp-2.3", "dovecot.conf"),
    plans("dovecot-hestiacp-2.4", "dovecot.conf"),
    plans("dovecot-iredmail", "dovecot.conf"),
    refused(
        "dovecot-mailcow",
        "dovecot.conf",
        "is mailcow's Dovecot config (it names paths inside its container",
    ),
    refused("dovecot-mailu", "dovecot.conf", TEMPLATE),
    refused("dovecot-modoboa-2.3", "dovecot.conf", TEMPLATE),
    refused("dovecot-modoboa-2.4", "dovecot.conf", TEMPLATE),
    plans("dovecot-rhel-2.3.16", "dovecot.conf"),
    plans("dovecot-upstream-2.2.36", "dovecot.conf"),
    plans("dovecot-upstream-2.3.7", "dovecot.conf"),
    plans("dovecot-upstream-2.3.13", "dovecot.conf"),
    plans("dovecot-upstream-2.3.21", "dovecot.conf"),
    plans("dovecot-vestacp-debian-7", "dovecot.conf"),
    plans("dovecot-vestacp-debian-9", "dovecot.conf"),
    plans("dovecot-vestacp-rhel-6", "dovecot.conf"),
    plans("dovecot-vestacp-ubuntu-18.04", "dovecot.conf"),
    // Exim
    plans("exim-debian-12", "exim4"),
    refused("exim-hestiacp", "exim4", PER_SNI),
    plans_without_cert("exim-hestiacp", "exim4"),
    refused("exim-hestiacp-4.94", "exim4", PER_SNI),
    plans_without_cert("exim-hestiacp-4.94", "exim4"),
    refused("exim-hestiacp-4.95", "exim4", PER_SNI),
    plans_without_cert("exim-hestiacp-4.95", "exim4"),
    plans("exim-upstream", "configure"),
    plans("exim-upstream-4.93", "configure"),
    plans("exim-vestacp-debian-7", "exim4"),
    plans("exim-vestacp-debian-9", "exim4"),
    plans("exim-vestacp-rhel-6", "exim.conf"),
    plans("exim-vestacp-rhel-7", "exim.conf"),
    plans("exim-vestacp-ubuntu-18.04", "exim4"),
    // OpenSMTPD
    plans("opensmtpd-alpine", "smtpd.conf"),
    plans("opensmtpd-debian-12", "smtpd.conf"),
    refused(
        "opensmtpd-openbsd-4.6",
        "smtpd.conf",
        "OpenSMTPD before 6.4 syntax; not supported",
    ),
    plans("opensmtpd-portable", "smtpd.conf"),
    refused(
        "opensmtpd-portable-5.4",
        "smtpd.conf",
        "OpenSMTPD before 6.4 syntax; not supported",
    ),
    plans("opensmtpd-snonux", "smtpd.conf"),
    // Sendmail
    refused(
        "sendmail-debian-12",
        "sendmail.mc",
        "cannot open `/etc/mail/m4/provider.m4'",
    ),
    plans("sendmail-freebsd-14", "freebsd.mc"),
    // RHEL's names its cf.m4 by path, and sendmail-cf is not installed here.
    refused(
        "sendmail-rhel-7",
        "sendmail.mc",
        "cannot open `/usr/share/sendmail-cf/m4/cf.m4'",
    ),
];

const PROFILES: &[&str] = &["intermediate", "modern"];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/real-world")
}

/// The server a case plans: its folder's prefix, or Dovecot for a Dovecot file
/// inside another server's folder (docker-mailserver's dovecot.cf).
fn mta_of(case: &Case) -> &'static str {
    if case.config.ends_with("dovecot.cf") {
        return "dovecot";
    }
    case.name.split('-').next().unwrap()
}

/// PATH with the unpacked Exim, OpenSMTPD and Sendmail first, so their checkers run.
fn path_env() -> String {
    let sandboxes = [
        support::sandbox("exim", "usr/sbin/exim4").join("usr/sbin"),
        support::sandbox("opensmtpd", "usr/sbin/smtpd").join("usr/sbin"),
        support::sendmail_bin(),
    ];
    let mut parts: Vec<String> = sandboxes.iter().map(|p| p.display().to_string()).collect();
    parts.push(std::env::var("PATH").unwrap_or_default());
    parts.join(":")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every regular file below `dir`, by path relative to it.
fn tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(
                    path.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    files
}

/// Whether a config line (as it appears in the file) sets something about TLS.
fn is_tls_setting(mta: &str, line: &str) -> bool {
    let t = line.trim();
    let t = t.strip_prefix("-o").map(str::trim).unwrap_or(t);
    let key = t
        .split(|c: char| c == '=' || c.is_whitespace())
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match mta {
        "postfix" => key.contains("tls"),
        "dovecot" => key.starts_with("ssl"),
        "exim" => key.contains("tls") || key == "openssl_options",
        "opensmtpd" => key == "pki" || key == "listen",
        "sendmail" => ["cipher", "ssl", "cert", "key", "tls"]
            .iter()
            .any(|w| t.to_ascii_lowercase().contains(w)),
        _ => false,
    }
}

/// Layout and comments kept: every removed line is a TLS setting, every added
/// line a TLS setting, a blank line or the comment mailtls puts above its block.
fn only_tls_lines_change(mta: &str, path: &str, before: &str, after: &str) -> Result<(), String> {
    if mta == "sendmail" && path.ends_with(".cf") {
        return Ok(()); // generated from the .mc by m4
    }
    let diff = similar::TextDiff::from_lines(before, after);
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end_matches('\n');
        let ok = match change.tag() {
            similar::ChangeTag::Equal => true,
            similar::ChangeTag::Delete => is_tls_setting(mta, line),
            similar::ChangeTag::Insert => {
                is_tls_setting(mta, line)
                    || line.trim().is_empty()
                    || (line.trim_start().starts_with('#') && line.contains("mailtls"))
                    || (mta == "sendmail" && line.trim() == "dnl")
            }
        };
        if !ok {
            return Err(format!("{path}: not a TLS setting line: {}{line:?}", change.tag()));
        }
    }
    Ok(())
}

/// The server's own checker on a config, when installed (`postconf -n`,
/// `doveconf -n`, `exim -C FILE -bV` for a single file, `smtpd -n`, and
/// `sendmail -C NAME.cf -bt` on what m4 generated): its verdict (success
/// and the warnings/errors it printed, with the folder's path taken out).
fn checker(mta: &str, config: &Path, root: &Path) -> Option<(bool, Vec<String>)> {
    let mut command = match mta {
        "postfix" => {
            let mut c = Command::new("postconf");
            c.arg("-c").arg(config).arg("-n");
            c
        }
        "dovecot" => {
            let mut c = Command::new("doveconf");
            c.arg("-n").arg("-c").arg(config);
            c
        }
        "exim" if config.is_file() => {
            let mut c = Command::new("exim4");
            c.arg("-C").arg(config).arg("-bV");
            c
        }
        "opensmtpd" => {
            let mut c = Command::new("smtpd");
            c.arg("-n").arg("-f").arg(config);
            c
        }
        // The sendmail.cf that m4 made from the .mc (beside it, as NAME.cf): Sendmail's own read of it.
        "sendmail" if config.with_extension("cf").is_file() => {
            let mut c = Command::new(support::sendmail_bin().join("sendmail"));
            c.arg("-C").arg(config.with_extension("cf")).args(["-bt", "-d0.1"]);
            c.stdin(std::process::Stdio::null());
            c
        }
        _ => return None,
    };
    let out = command.env("PATH", path_env()).output().ok()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        if out.status.success() {
            String::new()
        } else {
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    );
    let root = root.display().to_string();
    let lines = text
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("warning") || l.contains("error") || l.contains("fatal") || !out.status.success()
        })
        .map(|l| {
            // Line numbers move when lines are added; the message is what counts.
            let l = l.replace(&root, "ROOT");
            // Exim starts its messages with the time: the check before and the
            // one after need not fall in the same second (on a loaded machine).
            let l = match l.get(..20) {
                Some(stamp)
                    if stamp.bytes().enumerate().all(|(i, b)| match i {
                        4 | 7 => b == b'-',
                        10 | 19 => b == b' ',
                        13 | 16 => b == b':',
                        _ => b.is_ascii_digit(),
                    }) =>
                {
                    l[20..].to_string()
                }
                _ => l,
            };
            let mut out = String::new();
            let mut rest = l.as_str();
            while let Some(i) = rest.find(':') {
                out.push_str(&rest[..=i]);
                rest = &rest[i + 1..];
                let digits = rest.chars().take_while(char::is_ascii_digit).count();
                if digits > 0 && rest[digits..].starts_with(':') {
                    out.push('N');
                    rest = &rest[digits..];
                }
            }
            out.push_str(rest);
            out
        })
        .collect();
    Some((out.status.success(), lines))
}

/// Whether a checker's new verdict is no worse than the old one: it does not
/// start failing, and says nothing new (a config that failed before, for
/// paths of the real host missing here, must fail the same way).
fn no_worse(before: &(bool, Vec<String>), after: &(bool, Vec<String>)) -> Result<(), String> {
    let new: Vec<&String> = after.1.iter().filter(|l| !before.1.contains(l)).collect();
    match (before.0, after.0) {
        (true, false) => Err(format!("the checker passed before and fails after: {:?}", after.1)),
        _ if !new.is_empty() => Err(format!("new checker messages: {new:?}")),
        _ => Ok(()),
    }
}

/// Plans one fixture with one profile and checks everything; Ok(true) when it
/// planned, Ok(false) when refused as expected.
fn check(case: &Case, profile: &str, cert: &Path, key: &Path) -> Result<bool, String> {
    let mta = mta_of(case);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join(case.name);
    copy_tree(&fixtures().join(case.name), &dir);
    let pristine = root.path().join("pristine");
    copy_tree(&dir, &pristine);
    let config = if case.config.is_empty() {
        dir.clone()
    } else {
        dir.join(case.config)
    };
    let state = root.path().join("state");
    let plan = || {
        let mailtls = Mailtls::new(&state)
            .env("PATH", &path_env())
            .args(["--json", "plan", "--profile", profile, "--config"])
            .args([&config]);
        match case.cert {
            true => mailtls.arg_pair("--cert", cert).arg_pair("--key", key),
            false => mailtls,
        }
        .run()
    };
    let ran = plan();
    let before = tree(&dir);
    if before != tree(&pristine) {
        return Err("plan wrote to the config".into());
    }
    match case.expect {
        Expect::Refused(reason) => {
            if ran.code != 1 {
                return Err(format!(
                    "expected a refusal ({reason}), exit {}:\n{}",
                    ran.code, ran.stderr
                ));
            }
            let message = ran.stderr.lines().find(|l| l.starts_with("mailtls:")).unwrap_or("");
            if !message.contains(reason) {
                return Err(format!("refused, but not because {reason:?}:\n{}", ran.stderr));
            }
            Ok(false)
        }
        Expect::Plans => {
            if ran.code != 2 && ran.code != 0 {
                return Err(format!("plan failed (exit {}):\n{}", ran.code, ran.stderr));
            }
            let json = ran.json();
            for file in json["file_diffs"].as_array().unwrap() {
                let path = PathBuf::from(file["path"].as_str().unwrap());
                if !path.starts_with(&dir) {
                    return Err(format!("plan writes outside the config: {}", path.display()));
                }
                let before = file["before"].as_str().unwrap_or("");
                let after = file["after"].as_str().unwrap();
                only_tls_lines_change(mta, &path.display().to_string(), before, after)?;
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, after).unwrap();
            }
            let again = plan();
            if again.code != 0 {
                return Err(format!(
                    "not idempotent: a plan after applying the plan (exit {}):\n{}\n{}",
                    again.code,
                    again.stderr,
                    again.json()["diff"].as_str().unwrap_or("")
                ));
            }
            let pristine_config = if case.config.is_empty() {
                pristine.clone()
            } else {
                pristine.join(case.config)
            };
            match (checker(mta, &pristine_config, &pristine), checker(mta, &config, &dir)) {
                (Some(old), Some(new)) => no_worse(&old, &new)?,
                // A file the plan generates (Sendmail's .cf from the .mc): it must pass.
                (None, Some((false, messages))) => {
                    return Err(format!("the checker refuses the generated file: {messages:?}"))
                }
                _ => {}
            }
            Ok(true)
        }
    }
}

#[test]
fn every_real_world_config_plans_sanely_with_every_profile_or_is_refused_with_its_reason() {
    let certs = support::tempdir_for_keys();
    // `sendmail -bt` waits 60 s for a host name without a domain.
    support::qualify_hostname();
    let (cert, key) = support::self_signed(certs.path(), "server", support::KeyKind::Rsa2048);
    let on_disk: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for name in &on_disk {
        assert!(
            CASES.iter().any(|c| c.name == name),
            "fixtures/real-world/{name} has no case"
        );
    }
    let sources = std::fs::read_to_string(fixtures().join("SOURCES")).unwrap();
    let mut failures = Vec::new();
    let (mut planned, mut refused) = (0, 0);
    for case in CASES {
        assert!(
            sources.lines().any(|l| l.starts_with(&format!("{}/", case.name))),
            "{} is not in SOURCES",
            case.name
        );
        for profile in PROFILES {
            match check(case, profile, &cert, &key) {
                Ok(true) => planned += 1,
                Ok(false) => refused += 1,
                Err(e) => failures.push(format!("{} ({profile}): {e}", case.name)),
            }
        }
    }
    eprintln!(
        "real-world score: {} configs, {} cases x {} profiles: {planned} planned and passed every check, \
         {refused} refused with the expected reason, {} failed",
        on_disk.len(),
        CASES.len(),
        PROFILES.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
