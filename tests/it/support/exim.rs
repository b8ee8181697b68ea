//! A private Exim daemon from Debian's packages unpacked by
//! `scripts/test-deps-exim` (never installed: that would remove Postfix),
//! with its own config file on a loopback port. Stops on drop.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::{free_port, run, sandbox, self_signed, wait_for_port, wait_for_port_closed, KeyKind};

/// A private Exim (GnuTLS, as Debian builds it) listening on 127.0.0.1:`port`.
pub struct Exim {
    pub root: tempfile::TempDir,
    pub config: PathBuf,
    pub sbin: PathBuf,
    pub port: u16,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Exim {
    /// A minimal config with STARTTLS on and `extra` lines added to its main section.
    pub fn new(extra: &str) -> Exim {
        let sbin = sandbox("exim", "usr/sbin/exim4").join("usr/sbin");
        let root = tempfile::Builder::new()
            .prefix("mailtls-exim-")
            .tempdir()
            .expect("temporary folder");
        // The daemon re-reads its config as Debian-exim after SIGHUP.
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod root");
        let run_dir = root.path().join("run");
        for dir in ["spool", "log"] {
            std::fs::create_dir_all(run_dir.join(dir)).expect("create folder");
        }
        run(Command::new("chown").arg("-R").arg("Debian-exim:").arg(&run_dir));
        let (cert, key) = self_signed(root.path(), "exim", KeyKind::Rsa2048);
        run(Command::new("chown").arg("root:Debian-exim").arg(&key));
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).expect("chmod key");
        let port = free_port();
        let r = run_dir.display();
        let text = format!(
            "primary_hostname = localhost\n\
             exim_path = {exim}\n\
             keep_environment =\n\
             exim_user = Debian-exim\n\
             exim_group = Debian-exim\n\
             spool_directory = {r}/spool\n\
             log_file_path = {r}/log/%slog\n\
             pid_file_path = {r}/exim.pid\n\
             daemon_smtp_ports = {port}\n\
             local_interfaces = 127.0.0.1\n\
             tls_advertise_hosts = *\n\
             tls_certificate = {cert}\n\
             tls_privatekey = {key}\n\
             {extra}\
             acl_smtp_rcpt = acl_check_rcpt\n\
             \n\
             begin acl\n\
             \n\
             acl_check_rcpt:\n  deny message = relay not permitted\n",
            exim = sbin.join("exim4").display(),
            cert = cert.display(),
            key = key.display(),
        );
        let config = root.path().join("exim.conf");
        std::fs::write(&config, text).expect("write exim.conf");
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).expect("chmod config");
        Exim {
            root,
            config,
            sbin,
            port,
            cert,
            key,
        }
    }

    /// PATH with the sandbox first, so mailtls finds exim4 and update-exim4.conf.
    pub fn path_env(&self) -> String {
        format!("{}:{}", self.sbin.display(), std::env::var("PATH").unwrap_or_default())
    }

    pub fn pid_file(&self) -> PathBuf {
        self.root.path().join("run/exim.pid")
    }

    /// Starts the daemon (it forks and writes its pid file) and waits for its port.
    pub fn start(&self) {
        run(Command::new(self.sbin.join("exim4"))
            .arg("-C")
            .arg(&self.config)
            .arg("-bd"));
        assert!(
            wait_for_port(self.port, Duration::from_secs(10)),
            "exim did not listen on {}; mainlog:\n{}\npaniclog:\n{}",
            self.port,
            self.log("main"),
            self.log("panic")
        );
    }

    /// One of the daemon's logs (`main`, `panic`, `reject`).
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.root.path().join(format!("run/log/{name}log"))).unwrap_or_default()
    }

    pub fn stop(&self) {
        let Ok(text) = std::fs::read_to_string(self.pid_file()) else {
            return;
        };
        if let Ok(pid) = text.trim().parse::<i32>() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
            wait_for_port_closed(self.port, Duration::from_secs(10));
        }
    }
}

impl Drop for Exim {
    fn drop(&mut self) {
        self.stop();
    }
}
