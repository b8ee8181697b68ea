//! Cyrus's master process: finding the one that runs an instance, and
//! reloading it.
//!
//! An instance is its imapd.conf: master runs as `master -C FILE -M
//! cyrus.conf -p PIDFILE` (Debian names it cyrmaster; without `-C` it reads
//! /etc/imapd.conf), so the master of an instance is the process whose
//! command line names that file; no config says where its pid file is. On SIGHUP
//! master re-reads cyrus.conf in place (same pid, same listening sockets)
//! and passes the signal on to its services: idle ones exit and the next
//! connection gets a fresh process that reads the new imapd.conf; those
//! serving a client finish their session first (cyrus-master(8)).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::error::{Error, Result};

/// A running master: its pid and the imapd.conf it was started with.
#[derive(Clone, Debug)]
pub struct Master {
    pub pid: i32,
    pub config: PathBuf,
}

pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The arguments of a process, when it is Cyrus's master.
fn master_args(pid: i32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let name = Path::new(args.first()?).file_name()?.to_str()?.to_string();
    matches!(name.as_str(), "master" | "cyrmaster").then_some(args)
}

fn option(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// The master process running the instance whose imapd.conf is `config`.
/// A master started with a relative `-C` is not found: it has moved into its
/// `configdirectory` since, so where it started is lost.
pub fn find(config: &Path) -> Option<Master> {
    let entries = std::fs::read_dir("/proc").ok()?;
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, master_args(pid)?)))
        .map(|(pid, args)| Master {
            pid,
            config: option(&args, "-C").map_or_else(|| PathBuf::from(super::DEFAULT_CONFIG), PathBuf::from),
        })
        // Master forks its services before they exec: those copies share its command line.
        .filter(|m| same_file(&m.config, config) && parent_of(m.pid).is_none_or(|p| master_args(p).is_none()))
        .min_by_key(|m| m.pid)
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold blanks: the fields after the last ')' are fixed.
    stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

fn children_of(pid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|child| parent_of(*child) == Some(pid))
        .collect()
}

/// Whether `child` is still one of `master`'s live processes (not exited, not a zombie).
fn serving(child: i32, master: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
        return false;
    };
    let mut fields = stat.rsplit_once(')').map(|(_, f)| f).unwrap_or("").split_whitespace();
    let state = fields.next();
    let parent = fields.next().and_then(|p| p.parse::<i32>().ok());
    state != Some("Z") && parent == Some(master)
}

fn alive(pid: i32) -> bool {
    matches!(kill(Pid::from_raw(pid), None), Ok(()) | Err(nix::errno::Errno::EPERM))
}

/// Sends SIGHUP to the master running with `config`, then waits (up to
/// 3 s) for the service processes it had to exit, so the next connection is
/// served by one that read the new imapd.conf. A service still busy with a
/// client after that keeps its old settings until the client logs out.
pub fn reload(config: &Path) -> Result<()> {
    let pid = find(config)
        .ok_or_else(|| Error::Command {
            program: format!("kill -HUP (Cyrus master -C {})", config.display()),
            status: "not running".into(),
            stderr: "no Cyrus master runs with this imapd.conf".into(),
        })?
        .pid;
    let program = format!("kill -HUP {pid} (Cyrus master -C {})", config.display());
    let before = children_of(pid);
    kill(Pid::from_raw(pid), Signal::SIGHUP).map_err(|e| Error::Command {
        program: program.clone(),
        status: "failed".into(),
        stderr: e.desc().to_string(),
    })?;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
        if !alive(pid) {
            return Err(Error::Command {
                program,
                status: "daemon gone".into(),
                stderr: "Cyrus's master exited after SIGHUP; its syslog says why".into(),
            });
        }
        if before.iter().all(|c| !serving(*c, pid)) {
            break;
        }
    }
    Ok(())
}
