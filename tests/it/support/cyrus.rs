//! A private Cyrus IMAP 3.6 (Debian's packages, unpacked by
//! `scripts/test-deps-cyrus`: installing them would remove Dovecot's imapd
//! and pop3d) with IMAP and POP3 STARTTLS and IMAP over implicit TLS on
//! loopback ports. Stops on drop.
//!
//! The recipe, as run on Debian 12 (OpenSSL 3.0):
//! - Everything lives in one temporary folder (mode 0755: master drops to
//!   the `cyrus` user, which must reach it): imapd.conf with its own
//!   `configdirectory`, `partition-default`, `proc_path`,
//!   `mboxname_lockpath` and sockets, and cyrus.conf with only `SERVICES`.
//! - Every service's `cmd` needs `-C imapd.conf`: master does not pass its
//!   own `-C` on, and a service without it reads /etc/imapd.conf and exits
//!   (status 78); after five such exits master disables the service "until
//!   next SIGHUP". `cmd` is an absolute path into the sandbox, and
//!   LD_LIBRARY_PATH points at its libcyrus*.so.
//! - `master -C imapd.conf -M cyrus.conf -p master.pid -d -L master.log`
//!   forks and returns in 0.07 s; the ports listen 0.09 s after the start.
//!   It runs as `cyrus` even when root starts it (Debian's compiled-in user).
//! - TLS is on only when `tls_server_cert` and `tls_server_key` are set;
//!   the key must be readable by `cyrus` (here `root:mail 0640`, which
//!   mailtls's key check accepts for Cyrus). OpenSSL 3's security level 1
//!   refuses TLS 1.0/1.1, so the "before" state sets
//!   `tls_ciphers: DEFAULT:@SECLEVEL=0` to accept them.
//! - Services log only to syslog, and there is no /dev/log here:
//!   `Cyrus::start_logging_to(extra, &Syslog::new())` runs master in a mount
//!   namespace with a private /dev/log (see `support::Syslog`), which also
//!   shows why a service exits; CYRUS_VERBOSE=3 adds master's own steps.
//!   Debian's build logs to the mail facility, tagged with the service's
//!   name (`mailtls-cyrus/imap[PID]` with this `syslog_prefix`).
//! - Reload: SIGHUP to master; it passes the signal on and idle services
//!   exit, so the next connection reads the new imapd.conf (measured: a
//!   handshake right after the signal already saw the new `tls_versions`).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::{free_port, run, sandbox, self_signed, wait_for_port, wait_for_port_closed, KeyKind, Syslog};

/// Makes a key readable by Cyrus's services the way mailtls accepts: `root:mail 0640`.
pub fn key_for_cyrus(key: &std::path::Path) {
    run(Command::new("chown").arg("root:mail").arg(key));
    std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o640)).expect("chmod key");
}

pub struct Cyrus {
    pub root: tempfile::TempDir,
    pub config: PathBuf,
    pub sandbox: PathBuf,
    pub imap_port: u16,
    pub pop3_port: u16,
    pub imaps_port: u16,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Cyrus {
    /// A private instance, started; `extra` are more imapd.conf lines (like `tls_ciphers: DEFAULT:@SECLEVEL=0`).
    pub fn start(extra: &str) -> Cyrus {
        let cyrus = Cyrus::new(extra);
        cyrus.run(None);
        cyrus
    }

    /// A private instance started as `start` does, its services logging to `syslog`.
    pub fn start_logging_to(extra: &str, syslog: &Syslog) -> Cyrus {
        let cyrus = Cyrus::new(extra);
        cyrus.run(Some(syslog));
        cyrus
    }

    /// A private instance's files, not started.
    pub fn new(extra: &str) -> Cyrus {
        let sandbox = sandbox("cyrus", "usr/lib/cyrus/bin/master");
        let bin = sandbox.join("usr/lib/cyrus/bin");
        let root = tempfile::Builder::new()
            .prefix("mailtls-cyrus-")
            .tempdir()
            .expect("temporary folder");
        let dir = root.path().to_path_buf();
        let dir = dir.as_path();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod root");
        for sub in ["conf/socket", "spool", "run/socket", "run/proc", "run/lock"] {
            std::fs::create_dir_all(dir.join(sub)).expect("create folder");
        }
        let (cert, key) = self_signed(dir, "cyrus", KeyKind::Rsa2048);
        run(Command::new("chown").arg("-R").arg("cyrus:mail").args([
            dir.join("conf"),
            dir.join("spool"),
            dir.join("run"),
        ]));
        key_for_cyrus(&key);
        let (imap_port, pop3_port, imaps_port) = (free_port(), free_port(), free_port());
        let d = dir.display();
        let config = dir.join("imapd.conf");
        let text = format!(
            "# A private Cyrus for mailtls's tests\n\
             configdirectory: {d}/conf\n\
             partition-default: {d}/spool\n\
             proc_path: {d}/run/proc\n\
             mboxname_lockpath: {d}/run/lock\n\
             lmtpsocket: {d}/run/socket/lmtp\n\
             idlesocket: {d}/run/socket/idle\n\
             notifysocket: {d}/run/socket/notify\n\
             sasl_pwcheck_method: auxprop\n\
             allowplaintext: yes\n\
             syslog_prefix: mailtls-cyrus\n\
             tls_server_cert: {cert}\n\
             tls_server_key: {key}\n\
             {extra}",
            cert = cert.display(),
            key = key.display(),
        );
        std::fs::write(&config, text).expect("write imapd.conf");
        let service = |name: &str, program: &str, flags: &str, port: u16| {
            format!(
                "  {name} cmd=\"{} {flags}-C {}\" listen=\"127.0.0.1:{port}\" prefork=0\n",
                bin.join(program).display(),
                config.display()
            )
        };
        let services = format!(
            "START {{\n}}\n\nSERVICES {{\n{}{}{}}}\n\nEVENTS {{\n}}\n",
            service("imap", "imapd", "", imap_port),
            service("pop3", "pop3d", "", pop3_port),
            service("imaps", "imapd", "-s ", imaps_port),
        );
        std::fs::write(dir.join("cyrus.conf"), services).expect("write cyrus.conf");
        Cyrus {
            root,
            config,
            sandbox,
            imap_port,
            pop3_port,
            imaps_port,
            cert,
            key,
        }
    }

    /// Starts master (it forks and writes its pid file) and waits for the three ports.
    fn run(&self, syslog: Option<&Syslog>) {
        let dir = self.root.path();
        let cyrus = self;
        let mut master = Command::new(self.sandbox.join("usr/lib/cyrus/bin/master"));
        master
            .env("LD_LIBRARY_PATH", cyrus.library_path())
            .arg("-C")
            .arg(&cyrus.config)
            .arg("-M")
            .arg(dir.join("cyrus.conf"))
            .arg("-p")
            .arg(cyrus.pid_file())
            .arg("-d")
            .arg("-L")
            .arg(dir.join("master.log"));
        match syslog {
            Some(syslog) => run(&mut syslog.wrap(&master)),
            None => run(&mut master),
        };
        for port in [self.imap_port, self.pop3_port, self.imaps_port] {
            assert!(
                wait_for_port(port, Duration::from_secs(10)),
                "cyrus did not listen on {port}: {}",
                self.log()
            );
        }
    }

    pub fn pid_file(&self) -> PathBuf {
        self.root.path().join("run/master.pid")
    }

    pub fn library_path(&self) -> String {
        self.sandbox.join("usr/lib/x86_64-linux-gnu").display().to_string()
    }

    /// PATH with the sandbox's sbin first, so mailtls finds cyrmaster (and cyr_info beside master).
    pub fn path_env(&self) -> String {
        format!(
            "{}:{}",
            self.sandbox.join("usr/sbin").display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("master.log")).unwrap_or_default()
    }

    /// SIGTERM to master, which stops its services too; SIGKILL to its
    /// process group when it is still there after 5 s. (Master can spin
    /// without ever taking SIGTERM: when its services keep dying, say on a
    /// broken imapd.conf, it disables them while a connection waits in the
    /// listen queue, and pselect() then returns at once forever.)
    fn stop(&self) {
        use nix::sys::signal::{kill, killpg, Signal};
        let Ok(text) = std::fs::read_to_string(self.pid_file()) else {
            return;
        };
        let Ok(pid) = text.trim().parse::<i32>() else { return };
        let pid = nix::unistd::Pid::from_raw(pid);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let gone = || {
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
        };
        while !gone() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if !gone() {
            let _ = killpg(pid, Signal::SIGKILL);
        }
        wait_for_port_closed(self.imap_port, Duration::from_secs(5));
    }
}

impl Drop for Cyrus {
    fn drop(&mut self) {
        self.stop();
    }
}
