//! A private syslog for daemons that log only through syslog() to /dev/log
//! (Sendmail, Cyrus IMAP), which the test machine does not have and a test
//! must not create on the host.
//!
//! The daemon is started inside its own mount namespace (`unshare --mount`,
//! propagation private) whose /dev is an overlay of the host's /dev with one
//! more entry: `/dev/log`, a symlink to a unix datagram socket in this
//! syslog's temporary folder. A thread of the test reads that socket and
//! appends each message to `messages` the way rsyslog writes a file
//! (`Dec  1 06:20:00 localhost sm-mta[42]: ...`), which is what `mailtls
//! impact` reads in production. The host's /dev is never written: the
//! symlink lives in the overlay's upper folder, here, and the namespace ends
//! with the daemon's last process.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub struct Syslog {
    pub root: tempfile::TempDir,
    /// The messages received, one line each, as a syslog file holds them.
    pub messages: PathBuf,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Syslog {
    pub fn new() -> Syslog {
        let root = tempfile::Builder::new()
            .prefix("mailtls-syslog-")
            .tempdir()
            .expect("temporary folder");
        // Daemons drop to their own users (cyrus, smmsp) and must reach the socket.
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        for sub in ["upper", "work"] {
            std::fs::create_dir(root.path().join(sub)).expect("create folder");
        }
        let socket_path = root.path().join("log.sock");
        let socket = UnixDatagram::bind(&socket_path).expect("bind the syslog socket");
        std::fs::set_permissions(&socket_path, std::fs::Permissions::from_mode(0o666)).expect("chmod socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("socket timeout");
        let messages = root.path().join("messages");
        let mut file = std::fs::File::create(&messages).expect("create messages");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            while !stopped.load(Ordering::Relaxed) {
                let Ok(n) = socket.recv(&mut buf) else { continue };
                let line = as_file_line(&String::from_utf8_lossy(&buf[..n]));
                let _ = writeln!(file, "{line}");
                let _ = file.flush();
            }
        });
        Syslog {
            root,
            messages,
            stop,
            reader: Some(reader),
        }
    }

    /// `command`, to be run in a mount namespace where /dev/log is this syslog.
    pub fn wrap(&self, command: &Command) -> Command {
        let dir = self.root.path().display();
        let script = format!(
            "set -e; mount -t overlay overlay -o lowerdir=/dev,upperdir={dir}/upper,workdir={dir}/work /dev; \
             ln -s {dir}/log.sock /dev/log; exec \"$@\""
        );
        let mut wrapped = Command::new("unshare");
        wrapped
            .args(["--mount", "--propagation", "private", "sh", "-c", &script, "sh"])
            .arg(command.get_program())
            .args(command.get_args());
        for (name, value) in command.get_envs() {
            match value {
                Some(value) => wrapped.env(name, value),
                None => wrapped.env_remove(name),
            };
        }
        if let Some(dir) = command.get_current_dir() {
            wrapped.current_dir(dir);
        }
        wrapped
    }

    /// Everything received so far.
    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.messages).unwrap_or_default()
    }
}

impl Drop for Syslog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// glibc sends `<PRI>Mmm dd hh:mm:ss TAG[PID]: MESSAGE`; a syslog file has
/// `Mmm dd hh:mm:ss HOST TAG[PID]: MESSAGE`.
fn as_file_line(message: &str) -> String {
    let message = message.trim_end_matches(['\n', '\0']);
    let rest = match message.strip_prefix('<').and_then(|m| m.split_once('>')) {
        Some((_, rest)) => rest,
        None => message,
    };
    match (rest.get(..15), rest.get(16..)) {
        (Some(stamp), Some(tail)) => format!("{stamp} localhost {tail}"),
        _ => rest.to_string(),
    }
}
