//! Mail stacks in containers, planned from their host: docker-mailserver's
//! `docker-data/dms/config` and Mailu's `overrides/postfix`, laid out as the
//! stacks lay them out (fixtures/real-world/postfix-*-host, sources in
//! SOURCES). mailtls writes only the stack's override file, keeps the rest
//! byte for byte, is idempotent, and the file passes `postconf -n` as the
//! container reads it. No container runtime runs in CI, so the reload path
//! alone is exercised with a fake `docker`/`podman` on PATH that records its
//! argv; everything else is the real mailtls and the real postconf.

use std::path::{Path, PathBuf};

use crate::cmd::{self, Mailtls};

fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join(name);
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/real-world")
            .join(name),
        &dir,
    );
    (root, dir)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// A folder holding fake `docker` and `podman` that append their argv to `calls`.
fn fake_runtimes(root: &Path) -> (PathBuf, PathBuf) {
    let bin = root.join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = root.join("calls");
    for name in ["docker", "podman"] {
        let path = bin.join(name);
        std::fs::write(
            &path,
            format!("#!/bin/sh\necho \"{name} $*\" >> '{}'\n", calls.display()),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    (bin, calls)
}

fn path_with(bin: &Path) -> String {
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default())
}

fn plan(state: &Path, path: &str, config: &Path, extra: &[&str]) -> cmd::Ran {
    Mailtls::new(state)
        .env("PATH", path)
        .args(["--json", "plan", "--profile", "intermediate"])
        .args(extra)
        .arg_pair("--config", config)
        .run()
}

/// `postconf -n` on a main.cf and master.cf: whether it succeeded, its
/// warnings (the folder's path taken out) and the settings it prints.
fn postconf_n(main: &str, master: &str) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.cf"), main).unwrap();
    std::fs::write(dir.path().join("master.cf"), master).unwrap();
    let out = std::process::Command::new("postconf")
        .arg("-c")
        .arg(dir.path())
        .arg("-n")
        .output()
        .expect("postconf runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).replace(&dir.path().display().to_string(), "DIR"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A file of the corpus.
fn corpus(path: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/real-world")
            .join(path),
    )
    .unwrap()
}

#[test]
fn docker_mailserver_settings_go_to_postfix_main_cf_and_the_container_is_restarted() {
    let (root, dir) = fixture("postfix-docker-mailserver-host");
    let (bin, calls) = fake_runtimes(root.path());
    let config = dir.join("docker-data/dms/config");
    let state = root.path().join("state");
    let before = cmd::snapshot(&config);

    let ran = plan(&state, &path_with(&bin), &config, &[]).code(2);
    let json = ran.json();
    let files = json["file_diffs"].as_array().unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, [config.join("postfix-main.cf").to_str().unwrap()], "{paths:?}");
    let (old, new) = (
        files[0]["before"].as_str().unwrap(),
        files[0]["after"].as_str().unwrap(),
    );
    assert!(new.starts_with(old), "the user's lines are kept as they were:\n{new}");
    assert!(new.contains("smtpd_tls_protocols = "), "{new}");
    assert!(
        json["warnings"]
            .to_string()
            .contains("docker-mailserver: the image's main.cf is not on this host"),
        "{}",
        json["warnings"]
    );
    // The container's name comes from compose.yaml's container_name.
    assert_eq!(
        json["servers"][0]["reload"],
        serde_json::json!({"argv": ["docker", "restart", "mailserver"]})
    );
    let podman = plan(&state, &path_with(&bin), &config, &["--container-runtime", "podman"]).code(2);
    assert_eq!(
        podman.json()["servers"][0]["reload"],
        serde_json::json!({"argv": ["podman", "restart", "mailserver"]})
    );
    assert_eq!(cmd::snapshot(&config), before, "plan writes nothing");

    // As the container assembles it (setup.d/postfix.sh appends postfix-main.cf to the
    // image's main.cf, same commit, in the corpus): postconf passes with no new warning,
    // and the profile's values are the ones in effect.
    let image_main = corpus("postfix-docker-mailserver/main.cf");
    let image_master = corpus("postfix-docker-mailserver/master.cf");
    let (ok_before, warnings_before, _) = postconf_n(&format!("{image_main}\n{old}"), &image_master);
    let (ok_after, warnings_after, effective) = postconf_n(&format!("{image_main}\n{new}"), &image_master);
    assert!(ok_before && ok_after, "{warnings_after}");
    // setup.d/postfix.sh filters these out itself: appending is how overrides work there.
    let other = |w: &str| {
        w.lines()
            .filter(|l| !l.contains("overriding earlier entry"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(other(&warnings_before), other(&warnings_after));
    let last = |name: &str| {
        effective
            .lines()
            .filter_map(|l| l.split_once(" = "))
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
            .next_back()
    };
    assert_eq!(last("smtpd_tls_protocols").as_deref(), Some(">=TLSv1.2"), "{effective}");
    assert_eq!(
        last("smtp_tls_mandatory_protocols").as_deref(),
        Some(">=TLSv1.2"),
        "{effective}"
    );

    // apply: only the reload goes through the fake runtime (no container runs in CI).
    Mailtls::new(&state)
        .env("PATH", &path_with(&bin))
        .args(["--yes", "apply", "--no-verify", "--profile", "intermediate"])
        .arg_pair("--config", &config)
        .run()
        .code(0);
    assert_eq!(std::fs::read_to_string(config.join("postfix-main.cf")).unwrap(), new);
    assert_eq!(std::fs::read_to_string(&calls).unwrap(), "docker restart mailserver\n");
    for unchanged in ["postfix-master.cf", "dovecot.cf"] {
        assert_eq!(
            std::fs::read(config.join(unchanged)).unwrap(),
            before[unchanged],
            "{unchanged} is left alone"
        );
    }
    plan(&state, &path_with(&bin), &config, &[]).code(0);

    // rollback puts the file back and restarts the container again.
    Mailtls::new(&state)
        .env("PATH", &path_with(&bin))
        .args(["--yes", "rollback"])
        .run()
        .code(0);
    assert_eq!(cmd::snapshot(&config), before);
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        "docker restart mailserver\ndocker restart mailserver\n"
    );
}

#[test]
fn docker_mailserver_master_overrides_that_weaken_tls_are_rewritten_in_place() {
    let (root, dir) = fixture("postfix-docker-mailserver-host");
    let config = dir.join("docker-data/dms/config");
    let master = config.join("postfix-master.cf");
    let mut text = std::fs::read_to_string(&master).unwrap();
    text.push_str("submission/inet/smtpd_tls_protocols=!SSLv2,!SSLv3\n");
    std::fs::write(&master, &text).unwrap();
    let (bin, _) = fake_runtimes(root.path());
    let json = plan(&root.path().join("state"), &path_with(&bin), &config, &[])
        .code(2)
        .json();
    let change = json["file_diffs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == master.to_str().unwrap())
        .expect("postfix-master.cf is planned");
    let after = change["after"].as_str().unwrap();
    assert_eq!(
        after.replace(
            "submission/inet/smtpd_tls_protocols=>=TLSv1.2",
            "submission/inet/smtpd_tls_protocols=!SSLv2,!SSLv3"
        ),
        text,
        "one value changes, every other byte stays"
    );
}

#[test]
fn mailu_settings_go_to_overrides_postfix_cf_and_its_smtp_service_is_restarted() {
    let (root, dir) = fixture("postfix-mailu-host");
    let (bin, calls) = fake_runtimes(root.path());
    let config = dir.join("overrides/postfix");
    let state = root.path().join("state");
    let before = std::fs::read_to_string(config.join("postfix.cf")).unwrap();

    let json = plan(&state, &path_with(&bin), &config, &[]).code(2).json();
    let files = json["file_diffs"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    let after = files[0]["after"].as_str().unwrap();
    assert!(after.starts_with(&before), "{after}");
    // start.py feeds each line to `postconf -e`: one setting a line, no continuation lines.
    for line in after.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        assert!(!line.starts_with(char::is_whitespace), "{line:?}");
        assert!(line.contains('='), "{line:?}");
    }
    assert!(after.contains("smtp_tls_protocols = "), "{after}");
    assert!(
        !after.contains("smtpd_tls_protocols"),
        "Mailu's front terminates inbound TLS: {after}"
    );
    // The user's `smtp_tls_security_level = encrypt` stays.
    assert!(after.contains("smtp_tls_security_level = encrypt\n"));
    // No container_name in Mailu's compose file: its service, from the project folder.
    assert_eq!(
        json["servers"][0]["reload"],
        serde_json::json!({"argv": ["docker", "compose", "--project-directory", dir.to_str().unwrap(), "restart", "smtp"]})
    );
    let named = plan(&state, &path_with(&bin), &config, &["--container", "mailu-smtp-1"]).code(2);
    assert_eq!(
        named.json()["servers"][0]["reload"],
        serde_json::json!({"argv": ["docker", "restart", "mailu-smtp-1"]})
    );
    // Mailu's main.cf is a Jinja template in its image: the override file alone, which postconf -e takes line by line.
    let (ok, warnings, _) = postconf_n(after, "");
    assert!(ok && !warnings.contains("warning"), "{warnings}");

    Mailtls::new(&state)
        .env("PATH", &path_with(&bin))
        .args([
            "--yes",
            "apply",
            "--no-verify",
            "--profile",
            "intermediate",
            "--container-runtime",
            "podman",
        ])
        .arg_pair("--config", &config)
        .run()
        .code(0);
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        format!("podman compose --project-directory {} restart smtp\n", dir.display())
    );
    plan(&state, &path_with(&bin), &config, &[]).code(0);
}

#[test]
fn stacks_refuse_what_they_cannot_take_with_the_reason() {
    let (root, dir) = fixture("postfix-mailu-host");
    let state = root.path().join("state");
    let certs = tempfile::tempdir().unwrap();
    let cert = certs.path().join("c.pem");
    std::fs::write(&cert, "").unwrap();
    let ran = Mailtls::new(&state)
        .args(["plan", "--config"])
        .args([dir.join("overrides/postfix")])
        .arg_pair("--cert", &cert)
        .arg_pair("--key", &cert)
        .run()
        .code(1);
    assert!(
        ran.stderr
            .contains("--cert is not supported for Mailu: the certificate is Mailu's front container's"),
        "{}",
        ran.stderr
    );

    // docker-mailserver's dovecot.cf is not on this host yet: say how to start.
    let (dms_root, dms) = fixture("postfix-docker-mailserver-host");
    let config = dms.join("docker-data/dms/config");
    std::fs::remove_file(config.join("dovecot.cf")).unwrap();
    let ran = Mailtls::new(&dms_root.path().join("state"))
        .args(["plan", "--mta", "dovecot", "--config"])
        .args([&config])
        .run()
        .code(1);
    assert!(
        ran.stderr.contains(
            "dovecot.cf does not exist: docker-mailserver reads its Dovecot settings from it; create it empty"
        ),
        "{}",
        ran.stderr
    );

    // Mailu's Dovecot override file: its front terminates TLS, Dovecot serves none.
    let dovecot = dir.join("overrides/dovecot/dovecot.conf");
    std::fs::create_dir_all(dovecot.parent().unwrap()).unwrap();
    std::fs::write(&dovecot, "mail_max_userip_connections = 50\n").unwrap();
    let ran = Mailtls::new(&state)
        .args(["plan", "--config"])
        .args([&dovecot])
        .run()
        .code(1);
    assert!(ran.stderr.contains("Mailu's Dovecot serves no TLS"), "{}", ran.stderr);

    // No compose file and no --container: which container to restart is unknown.
    let alone = root.path().join("alone/overrides/postfix");
    std::fs::create_dir_all(&alone).unwrap();
    std::fs::copy(dir.join("overrides/postfix/postfix.cf"), alone.join("postfix.cf")).unwrap();
    let ran = Mailtls::new(&state)
        .args(["plan", "--config"])
        .args([&alone])
        .run()
        .code(1);
    assert!(
        ran.stderr.contains("give --container NAME or --reload-command"),
        "{}",
        ran.stderr
    );
}

/// The lines a plan added to a file (its `after` minus its `before`).
fn added(before: &str, after: &str) -> String {
    let old: Vec<&str> = before.lines().collect();
    after
        .lines()
        .filter(|l| !old.contains(l))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Plans docker-mailserver's dovecot.cf with the compose file's image set to `image`.
fn dms_dovecot(image: &str) -> (tempfile::TempDir, PathBuf, serde_json::Value) {
    let (root, dir) = fixture("postfix-docker-mailserver-host");
    let compose = dir.join("compose.yaml");
    let text = std::fs::read_to_string(&compose).unwrap();
    std::fs::write(
        &compose,
        text.replace("ghcr.io/docker-mailserver/docker-mailserver:latest", image),
    )
    .unwrap();
    let (bin, _) = fake_runtimes(root.path());
    let file = dir.join("docker-data/dms/config/dovecot.cf");
    let json = plan(&root.path().join("state"), &path_with(&bin), &file, &[])
        .code(2)
        .json();
    (root, file, json)
}

#[test]
fn docker_mailserver_dovecot_settings_go_to_dovecot_cf_in_the_images_dovecot_names() {
    // `latest`: 2.3.19 (v15) or 2.4 (v16), so only the names both know.
    let (_root, file, json) = dms_dovecot("ghcr.io/docker-mailserver/docker-mailserver:latest");
    let files = json["file_diffs"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0]["path"], file.to_str().unwrap());
    let (before, after) = (
        files[0]["before"].as_str().unwrap(),
        files[0]["after"].as_str().unwrap(),
    );
    assert!(after.starts_with(before), "{after}");
    let new = added(before, after);
    assert!(new.contains("ssl_min_protocol = TLSv1.2\n"), "{new}");
    assert!(
        !new.contains("prefer"),
        "2.3 and 2.4 name the cipher order differently: {new}"
    );
    assert_eq!(
        json["servers"][0]["reload"],
        serde_json::json!({"argv": ["docker", "restart", "mailserver"]})
    );
    assert!(json["warnings"]
        .to_string()
        .contains("only the settings both know are written"));

    // The image of v15 runs Dovecot 2.3.19, the version installed here: its doveconf takes the new lines.
    let (_root, _, json) = dms_dovecot("ghcr.io/docker-mailserver/docker-mailserver:15.1.0");
    let diff = &json["file_diffs"][0];
    let new = added(diff["before"].as_str().unwrap(), diff["after"].as_str().unwrap());
    assert!(new.contains("ssl_prefer_server_ciphers = "), "{new}");
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = (certs.path().join("c.pem"), certs.path().join("k.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=mx",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success());
    let conf = certs.path().join("dovecot.conf");
    std::fs::write(
        &conf,
        format!("ssl_cert = <{}\nssl_key = <{}\n{new}", cert.display(), key.display()),
    )
    .unwrap();
    let out = std::process::Command::new("doveconf")
        .arg("-n")
        .arg("-c")
        .arg(&conf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // edge and v16 run Debian 13's Dovecot 2.4: its name for the cipher order.
    let (_root, _, json) = dms_dovecot("ghcr.io/docker-mailserver/docker-mailserver:edge");
    let diff = &json["file_diffs"][0];
    let new = added(diff["before"].as_str().unwrap(), diff["after"].as_str().unwrap());
    assert!(new.contains("ssl_server_prefer_ciphers = "), "{new}");
    assert!(!new.contains("ssl_prefer_server_ciphers"), "{new}");
}
