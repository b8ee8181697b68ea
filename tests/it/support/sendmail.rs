//! A private Sendmail daemon from Debian's packages unpacked by
//! `scripts/test-deps-sendmail` (never installed: that would remove Postfix),
//! with its own sendmail.mc/.cf on a loopback port. Stops on drop.
//!
//! Sendmail waits 60 s at startup when the host name has no domain (this
//! host's is `vm`): `qualify_hostname` gives the calling test thread, and
//! every process it starts (the daemon, mailtls and its `sendmail -bt`
//! check), a private UTS namespace with a qualified name. RefuseLA and
//! QueueLA are raised to 1000: on a busy 2-core test machine (load average
//! 20 and more) the defaults make the daemon stop accepting connections.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::{free_port, run, sandbox, self_signed, wait_for_port, wait_for_port_closed, KeyKind, Syslog};

/// The folder holding the sandbox's `sendmail` binary (and m4, which the tests need).
pub fn sendmail_bin() -> PathBuf {
    let root = sandbox("sendmail", "usr/libexec/sendmail/sendmail");
    assert!(m4_found(), "no m4 (run scripts/test-deps-sendmail as root)");
    root.join("usr/libexec/sendmail")
}

fn m4_found() -> bool {
    Command::new("m4")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Gives this thread (and what it starts) a host name with a domain, so
/// Sendmail does not wait 60 s for one. Needs root (CAP_SYS_ADMIN).
pub fn qualify_hostname() {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUTS).expect("unshare the UTS namespace");
    nix::unistd::sethostname("mailtls-test.localdomain").expect("set the host name");
}

/// A private Sendmail listening on 127.0.0.1:`port`.
pub struct Sendmail {
    pub root: tempfile::TempDir,
    /// The m4 source; sendmail.cf is beside it.
    pub mc: PathBuf,
    pub cf: PathBuf,
    pub bin: PathBuf,
    pub port: u16,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Sendmail {
    /// A config with STARTTLS on and `extra` m4 lines (each ending in `dnl`)
    /// before the MAILER lines; sendmail.cf is generated from it with m4.
    pub fn new(extra: &str) -> Sendmail {
        let bin = sendmail_bin();
        qualify_hostname();
        let root = tempfile::Builder::new()
            .prefix("mailtls-sendmail-")
            .tempdir()
            .expect("temporary folder");
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod root");
        let r = root.path().join("run");
        for dir in ["queue", "hoststat"] {
            std::fs::create_dir_all(r.join(dir)).expect("create folder");
        }
        std::fs::set_permissions(r.join("queue"), std::fs::Permissions::from_mode(0o700)).expect("chmod queue");
        for file in ["aliases", "statistics", "service.switch"] {
            std::fs::write(r.join(file), "").expect("touch");
        }
        let (cert, key) = self_signed(&r, "sendmail", KeyKind::Rsa2048);
        let port = free_port();
        let s = sandbox("sendmail", "usr/libexec/sendmail/sendmail");
        let (s, rd) = (s.display(), r.display());
        let text = format!(
            "include(`{s}/usr/share/sendmail/cf/m4/cf.m4')dnl\n\
             OSTYPE(`linux')dnl\n\
             define(`confDOMAIN_NAME', `localhost.localdomain')dnl\n\
             define(`confDONT_PROBE_INTERFACES', `True')dnl\n\
             define(`QUEUE_DIR', `{rd}/queue')dnl\n\
             define(`confPID_FILE', `{rd}/sendmail.pid')dnl\n\
             define(`STATUS_FILE', `{rd}/statistics')dnl\n\
             define(`ALIAS_FILE', `{rd}/aliases')dnl\n\
             define(`HELP_FILE', `{s}/etc/mail/helpfile')dnl\n\
             define(`confSERVICE_SWITCH_FILE', `{rd}/service.switch')dnl\n\
             define(`confHOST_STATUS_DIRECTORY', `{rd}/hoststat')dnl\n\
             define(`confDONT_BLAME_SENDMAIL', `TrustStickyBit')dnl\n\
             define(`confREFUSE_LA', `1000')dnl\n\
             define(`confQUEUE_LA', `1000')dnl\n\
             define(`confSERVER_CERT', `{cert}')dnl\n\
             define(`confSERVER_KEY', `{key}')dnl\n\
             define(`confCACERT', `{cert}')dnl\n\
             define(`confCACERT_PATH', `{rd}')dnl\n\
             {extra}\
             FEATURE(`no_default_msa')dnl\n\
             DAEMON_OPTIONS(`Family=inet, Name=MTA-ci, Port={port}, Addr=127.0.0.1')dnl\n\
             MAILER(`local')dnl\n\
             MAILER(`smtp')dnl\n",
            cert = cert.display(),
            key = key.display(),
        );
        let mc = root.path().join("sendmail.mc");
        std::fs::write(&mc, text).expect("write sendmail.mc");
        let cf = root.path().join("sendmail.cf");
        let generated = run(Command::new("m4").arg(&mc).current_dir(root.path()));
        std::fs::write(&cf, generated).expect("write sendmail.cf");
        Sendmail {
            root,
            mc,
            cf,
            bin,
            port,
            cert,
            key,
        }
    }

    /// PATH with the sandbox first, so mailtls finds Sendmail's `sendmail` before Postfix's.
    pub fn path_env(&self) -> String {
        format!("{}:{}", self.bin.display(), std::env::var("PATH").unwrap_or_default())
    }

    pub fn pid_file(&self) -> PathBuf {
        self.root.path().join("run/sendmail.pid")
    }

    /// Starts the daemon (`-bd` forks and writes the pid file) and waits for its port.
    pub fn start(&self) {
        self.launch(None);
    }

    /// Starts the daemon as `start` does, logging to `syslog`.
    pub fn start_logging_to(&self, syslog: &Syslog) {
        self.launch(Some(syslog));
    }

    fn launch(&self, syslog: Option<&Syslog>) {
        let mut command = Command::new(self.bin.join("sendmail"));
        command.arg("-C").arg(&self.cf).arg("-bd");
        match syslog {
            Some(syslog) => run(&mut syslog.wrap(&command)),
            None => run(&mut command),
        };
        assert!(
            wait_for_port(self.port, Duration::from_secs(10)),
            "sendmail did not listen on {}; it logged:\n{}",
            self.port,
            syslog.map(Syslog::text).unwrap_or_default()
        );
    }

    pub fn stop(&self) {
        let Ok(text) = std::fs::read_to_string(self.pid_file()) else {
            return;
        };
        if let Some(pid) = text.split_whitespace().next().and_then(|p| p.parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
            wait_for_port_closed(self.port, Duration::from_secs(10));
        }
    }
}

impl Drop for Sendmail {
    fn drop(&mut self) {
        self.stop();
    }
}
