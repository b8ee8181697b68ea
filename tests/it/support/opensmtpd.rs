//! A private OpenSMTPD 7.4 (bookworm-backports, unpacked beside Postfix by
//! `scripts/test-deps-opensmtpd`) on a loopback port. Its spool and control
//! socket paths are compiled in (one instance per host), so it runs in a
//! private mount namespace with its own /var/spool/smtpd and /run bound
//! over them. OpenSMTPD has no reload: `restart_command` is a script that
//! stops it and starts the same command line, for `--reload-command`.
//! Stops on drop.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::{free_port, run, sandbox, self_signed, wait_for_port, wait_for_port_closed, KeyKind};

pub struct Opensmtpd {
    pub root: tempfile::TempDir,
    pub config: PathBuf,
    pub sbin: PathBuf,
    pub port: u16,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Opensmtpd {
    /// A config with one STARTTLS listener; `extra` is added to its `listen on` line.
    pub fn new(extra: &str) -> Opensmtpd {
        let sbin = sandbox("opensmtpd", "usr/sbin/smtpd").join("usr/sbin");
        let root = tempfile::Builder::new()
            .prefix("mailtls-opensmtpd-")
            .tempdir()
            .expect("temporary folder");
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod root");
        for dir in ["spool", "varrun"] {
            std::fs::create_dir(root.path().join(dir)).expect("create folder");
        }
        std::fs::set_permissions(root.path().join("spool"), std::fs::Permissions::from_mode(0o711))
            .expect("chmod spool");
        let (cert, key) = self_signed(root.path(), "smtpd", KeyKind::Rsa2048);
        let port = free_port();
        let config = root.path().join("smtpd.conf");
        let text = format!(
            "pki localhost cert \"{cert}\"\n\
             pki localhost key \"{key}\"\n\
             listen on 127.0.0.1 port {port} tls pki localhost hostname localhost{extra}\n\
             match from any for any reject\n",
            cert = cert.display(),
            key = key.display(),
        );
        std::fs::write(&config, text).expect("write smtpd.conf");
        let r = root.path().display().to_string();
        let script = format!(
            "#!/bin/sh\n\
             # Restart: stop the daemon, wait for it to go, start the same command line.\n\
             R={r}\n\
             if [ -f $R/smtpd.pid ]; then\n\
             \x20 pid=$(cat $R/smtpd.pid)\n\
             \x20 kill $pid 2>/dev/null\n\
             \x20 i=0; while kill -0 $pid 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done\n\
             fi\n\
             setsid unshare --mount --propagation private sh -c \"mount --bind $R/spool /var/spool/smtpd && mount --bind $R/varrun /run && exec {smtpd} -d -f $R/smtpd.conf\" >>$R/smtpd.log 2>&1 </dev/null &\n\
             echo $! > $R/smtpd.pid\n",
            smtpd = sbin.join("smtpd").display(),
        );
        let restart = root.path().join("restart.sh");
        std::fs::write(&restart, script).expect("write restart.sh");
        std::fs::set_permissions(&restart, std::fs::Permissions::from_mode(0o755)).expect("chmod restart.sh");
        Opensmtpd {
            root,
            config,
            sbin,
            port,
            cert,
            key,
        }
    }

    /// PATH with the sandbox first, so mailtls finds this smtpd.
    pub fn path_env(&self) -> String {
        format!("{}:{}", self.sbin.display(), std::env::var("PATH").unwrap_or_default())
    }

    /// The `--reload-command` that restarts this instance.
    pub fn restart_command(&self) -> String {
        self.root.path().join("restart.sh").display().to_string()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("smtpd.log")).unwrap_or_default()
    }

    pub fn start(&self) {
        run(&mut Command::new(self.root.path().join("restart.sh")));
        self.wait();
    }

    /// Waits until it listens (after a start or a restart).
    pub fn wait(&self) {
        assert!(
            wait_for_port(self.port, Duration::from_secs(10)),
            "smtpd did not listen on {}; log:\n{}",
            self.port,
            self.log()
        );
    }

    pub fn stop(&self) {
        let Ok(text) = std::fs::read_to_string(self.root.path().join("smtpd.pid")) else {
            return;
        };
        if let Ok(pid) = text.trim().parse::<i32>() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
            wait_for_port_closed(self.port, Duration::from_secs(10));
        }
    }
}

impl Drop for Opensmtpd {
    fn drop(&mut self) {
        self.stop();
    }
}
