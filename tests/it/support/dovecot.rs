//! A private Dovecot serving IMAP and POP3 with STARTTLS on loopback ports.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{free_port, self_signed, wait_for_port, wait_for_port_closed, KeyKind};

/// A private Dovecot with IMAP on `imap_port` and POP3 on `pop3_port`.
/// Stops on drop.
pub struct Dovecot {
    pub root: tempfile::TempDir,
    pub config: PathBuf,
    pub imap_port: u16,
    pub pop3_port: u16,
    /// IMAP over implicit TLS.
    pub imaps_port: u16,
}

impl Dovecot {
    /// `tls_settings` are extra dovecot.conf lines, e.g.
    /// `ssl_min_protocol = TLSv1.2`.
    pub fn start(tls_settings: &str) -> Dovecot {
        Dovecot::start_on("127.0.0.1", tls_settings)
    }

    /// Like `start`, listening on `listen` (Dovecot's syntax, e.g.
    /// `127.0.0.1, ::1`), which must include 127.0.0.1.
    pub fn start_on(listen: &str, tls_settings: &str) -> Dovecot {
        let root = tempfile::Builder::new()
            .prefix("mailtls-dovecot-")
            .tempdir()
            .expect("temporary folder");
        let dir = root.path();
        let (cert, key) = self_signed(dir, "dovecot", KeyKind::Rsa2048);
        std::fs::write(dir.join("users"), "").expect("users file");
        let (imap_port, pop3_port, imaps_port) = (free_port(), free_port(), free_port());
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("ci");
        let config = dir.join("dovecot.conf");
        let text = format!(
            "instance_name = {name}\n\
             base_dir = {d}/run\n\
             state_dir = {d}/state\n\
             log_path = {d}/dovecot.log\n\
             protocols = imap pop3\n\
             listen = {listen}\n\
             ssl = yes\n\
             ssl_cert = <{cert}\n\
             ssl_key = <{key}\n\
             {tls_settings}\n\
             disable_plaintext_auth = yes\n\
             mail_location = maildir:{d}/mail/%u\n\
             first_valid_uid = 100\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {d}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid=dovecot gid=dovecot home={d}/mail/%u\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    port = {imap_port}\n  }}\n  inet_listener imaps {{\n    port = {imaps_port}\n  }}\n}}\n\
             service pop3-login {{\n  inet_listener pop3 {{\n    port = {pop3_port}\n  }}\n  inet_listener pop3s {{\n    port = 0\n  }}\n}}\n",
            d = dir.display(),
            cert = cert.display(),
            key = key.display(),
        );
        std::fs::write(&config, text).expect("write dovecot.conf");
        let dovecot = Dovecot {
            root,
            config,
            imap_port,
            pop3_port,
            imaps_port,
        };
        // The daemon keeps inherited pipes open: give it none, or `output()` never returns.
        let status = Command::new("dovecot")
            .arg("-c")
            .arg(&dovecot.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run dovecot");
        assert!(status.success(), "dovecot failed ({status}): {}", dovecot.log());
        for port in [imap_port, pop3_port, imaps_port] {
            assert!(
                wait_for_port(port, Duration::from_secs(10)),
                "dovecot did not listen on {port}: {}",
                dovecot.log()
            );
        }
        dovecot
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("dovecot.log")).unwrap_or_default()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = Command::new("doveadm")
            .arg("-c")
            .arg(&self.config)
            .arg("stop")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        wait_for_port_closed(self.imap_port, Duration::from_secs(5));
    }
}
