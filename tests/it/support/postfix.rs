//! A private Postfix instance: the stock Debian 12 main.cf and master.cf from
//! `fixtures/debian-12`, moved to a temporary folder and a loopback port.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use super::{free_port, run, self_signed, wait_for_port, wait_for_port_closed, KeyKind};

/// The stock Postfix of `Postfix::shared`.
static SHARED: OnceLock<Postfix> = OnceLock::new();

/// A private Postfix whose `smtp inet` service listens on 127.0.0.1:`port`.
/// Stops on drop.
pub struct Postfix {
    pub root: tempfile::TempDir,
    pub config_dir: PathBuf,
    pub port: u16,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Postfix {
    /// A stock Debian 12 Postfix with a fresh self-signed RSA certificate.
    pub fn new() -> Postfix {
        Postfix::with_key(KeyKind::Rsa2048)
    }

    /// One stock Postfix (as `new`), started once for the whole test binary,
    /// for tests that only probe it: none may change its config or stop it.
    /// It is stopped, and its folder removed, when the process exits.
    pub fn shared() -> &'static Postfix {
        SHARED.get_or_init(|| {
            let postfix = Postfix::new();
            postfix.start();
            extern "C" {
                fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
            }
            extern "C" fn stop_shared() {
                if let Some(postfix) = SHARED.get() {
                    postfix.stop();
                    let _ = std::fs::remove_dir_all(postfix.root.path());
                }
            }
            // SAFETY: atexit only records the function; stop_shared runs once,
            // at exit, and only reads the initialised static.
            assert_eq!(unsafe { atexit(stop_shared) }, 0, "atexit");
            postfix
        })
    }

    /// Like `new`, with a certificate of the given key type.
    pub fn with_key(kind: KeyKind) -> Postfix {
        let root = tempfile::Builder::new()
            .prefix("mailtls-postfix-")
            .tempdir()
            .expect("temporary folder");
        // Postfix's daemons run unprivileged and must be able to reach their
        // folders under the root.
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod root");
        let config_dir = root.path().join("etc");
        let queue = root.path().join("spool");
        let data = root.path().join("lib");
        for dir in [&config_dir, &queue, &data] {
            std::fs::create_dir(dir).expect("create folder");
        }
        run(Command::new("chown").arg("postfix:").arg(&data));

        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/debian-12");
        std::fs::copy(fixtures.join("main.cf"), config_dir.join("main.cf")).expect("copy main.cf");
        let port = free_port();
        let master = std::fs::read_to_string(fixtures.join("master.cf")).expect("read master.cf");
        let master = rebind_smtp(&master, port);
        std::fs::write(config_dir.join("master.cf"), master).expect("write master.cf");

        let (cert, key) = self_signed(root.path(), "smtpd", kind);
        let postfix = Postfix {
            config_dir,
            port,
            cert,
            key,
            root,
        };
        let settings = [
            format!("queue_directory={}", queue.display()),
            format!("data_directory={}", data.display()),
            format!("maillog_file={}", postfix.root.path().join("maillog").display()),
            "maillog_file_prefixes=/tmp,/var".to_string(),
            "inet_interfaces=127.0.0.1".to_string(),
            "inet_protocols=ipv4".to_string(),
            "myhostname=localhost".to_string(),
            format!("smtpd_tls_cert_file={}", postfix.cert.display()),
            format!("smtpd_tls_key_file={}", postfix.key.display()),
        ];
        let settings: Vec<&str> = settings.iter().map(String::as_str).collect();
        postfix.postconf_e(&settings);
        postfix
    }

    /// `postconf -c DIR -e SETTING...`: edits main.cf (call before `start`, or
    /// reload after).
    pub fn postconf_e(&self, settings: &[&str]) {
        run(Command::new("postconf")
            .arg("-c")
            .arg(&self.config_dir)
            .arg("-e")
            .args(settings));
    }

    /// Starts the instance and waits until its SMTP port answers.
    pub fn start(&self) {
        let out = self.postfix(&["start"]);
        assert!(
            out.status.success(),
            "postfix start failed ({}): {}\nmaillog:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.maillog()
        );
        assert!(
            wait_for_port(self.port, Duration::from_secs(20)),
            "postfix did not listen on {}; maillog:\n{}",
            self.port,
            self.maillog()
        );
    }

    /// Reloads the running instance (after `postconf_e`).
    pub fn reload(&self) {
        let out = self.postfix(&["reload"]);
        assert!(out.status.success(), "postfix reload failed: {}", self.maillog());
    }

    /// Stops the instance if it runs; quiet when it does not.
    pub fn stop(&self) {
        if self.root.path().join("lib/master.lock").exists() {
            let _ = self.postfix(&["stop"]);
            wait_for_port_closed(self.port, Duration::from_secs(10));
        }
    }

    /// The instance's log so far (empty before the first start).
    pub fn maillog(&self) -> String {
        std::fs::read_to_string(self.root.path().join("maillog")).unwrap_or_default()
    }

    fn postfix(&self, args: &[&str]) -> std::process::Output {
        Command::new("postfix")
            .arg("-c")
            .arg(&self.config_dir)
            .args(args)
            .output()
            .expect("run postfix")
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Moves master.cf's `smtp inet` service to 127.0.0.1:`port`.
fn rebind_smtp(master: &str, port: u16) -> String {
    let mut found = false;
    let lines: Vec<String> = master
        .lines()
        .map(|line| match line.strip_prefix("smtp ") {
            Some(rest) if !found && rest.trim_start().starts_with("inet") => {
                found = true;
                format!("127.0.0.1:{port} {}", rest.trim_start())
            }
            _ => line.to_string(),
        })
        .collect();
    assert!(found, "master.cf has no `smtp inet` line");
    lines.join("\n") + "\n"
}
