//! The contrib/nagios/ definitions in the real monitoring tools (Debian 12's
//! nagios4 and icinga2, from scripts/test-deps-monitoring): each tool's
//! config checker accepts a minimal private config that includes them with a
//! host and a service using them, then the tool itself runs the check it
//! builds from the definition against a private Postfix on loopback, and the
//! state and status line it records are asserted. Only the binary's path is
//! changed in the definitions (/usr/bin/mailtls is this build's mailtls).
//! Everything lives in a temporary folder; neither tool's system config,
//! socket or service is used.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{free_port, Postfix};

const MAILTLS: &str = env!("CARGO_BIN_EXE_mailtls");

/// A contrib definition with this build's binary in place of /usr/bin/mailtls.
fn definition(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/nagios").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("/usr/bin/mailtls"), "{name} runs /usr/bin/mailtls");
    text.replace("/usr/bin/mailtls", MAILTLS)
}

/// Waits until `file` holds `needle`, or panics after 60 s with the file's text.
fn wait_for(file: &Path, needle: &str) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no {needle:?} in {}:\n{text}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Stops a daemon with SIGTERM (so it writes its state) and waits for it.
fn terminate(mut child: Child) {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Asserts the tool is installed (scripts/test-deps-monitoring installs both).
fn require(name: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .unwrap();
    assert!(
        found.status.success(),
        "{name} is missing: run scripts/test-deps-monitoring as root"
    );
}

const NAGIOS_OBJECTS: &str = "
define timeperiod {
    timeperiod_name always
    alias           always
    sunday          00:00-24:00
    monday          00:00-24:00
    tuesday         00:00-24:00
    wednesday       00:00-24:00
    thursday        00:00-24:00
    friday          00:00-24:00
    saturday        00:00-24:00
}
define contact {
    contact_name                  nobody
    host_notifications_enabled    0
    service_notifications_enabled 0
    host_notification_period      always
    service_notification_period   always
    host_notification_options     n
    service_notification_options  n
    host_notification_commands    check_mailtls
    service_notification_commands check_mailtls
}
define host {
    host_name             mx1
    address               127.0.0.1
    max_check_attempts    1
    check_period          always
    contacts              nobody
    notification_interval 0
    notification_period   always
    active_checks_enabled 0
}
define service {
    host_name             mx1
    service_description   SMTP TLS
    check_command         check_mailtls!PORT!modern!30!14
    max_check_attempts    1
    check_interval        1
    retry_interval        1
    check_period          always
    contacts              nobody
    notification_interval 0
    notification_period   always
}
define service {
    host_name             mx1
    service_description   Closed port
    check_command         check_mailtls_cert!CLOSED!30!14
    max_check_attempts    1
    check_interval        1
    retry_interval        1
    check_period          always
    contacts              nobody
    notification_interval 0
    notification_period   always
}
";

/// A private nagios.cfg in `dir`: every file, socket and lock inside it, checks run at once.
fn nagios_cfg(dir: &Path, with_contrib: bool) -> std::path::PathBuf {
    let d = dir.display();
    std::fs::create_dir_all(dir.join("checkresults")).unwrap();
    let contrib = if with_contrib {
        format!("cfg_file={d}/mailtls.cfg\n")
    } else {
        String::new()
    };
    let cfg = format!(
        "log_file={d}/nagios.log\n{contrib}cfg_file={d}/objects.cfg\nstatus_file={d}/status.dat\n\
         object_cache_file={d}/objects.cache\nprecached_object_file={d}/objects.precache\n\
         temp_file={d}/nagios.tmp\ntemp_path={d}\nlock_file={d}/nagios.lock\n\
         query_socket={d}/nagios.qh\ncommand_file={d}/nagios.cmd\ncheck_result_path={d}/checkresults\n\
         state_retention_file={d}/retention.dat\nretain_state_information=0\n\
         nagios_user=root\nnagios_group=root\ncheck_external_commands=0\nenable_notifications=0\n\
         service_inter_check_delay_method=n\nhost_inter_check_delay_method=n\n\
         check_result_reaper_frequency=1\nillegal_macro_output_chars=`~$&|'\"<>\n"
    );
    let path = dir.join("nagios.cfg");
    std::fs::write(&path, cfg).unwrap();
    path
}

#[test]
fn nagios4_accepts_the_definitions_and_runs_the_check() {
    require("nagios4");
    let pf = Postfix::new();
    pf.start();
    let closed = free_port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mailtls.cfg"), definition("mailtls.cfg")).unwrap();
    let objects = NAGIOS_OBJECTS
        .replace("PORT", &pf.port.to_string())
        .replace("CLOSED", &closed.to_string());
    std::fs::write(dir.path().join("objects.cfg"), objects).unwrap();

    // Without contrib/nagios/mailtls.cfg the service's command is undefined:
    // the checker fails, so its success below is the definitions' doing.
    let cfg = nagios_cfg(dir.path(), false);
    let out = Command::new("nagios4").arg("-v").arg(&cfg).output().unwrap();
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    let cfg = nagios_cfg(dir.path(), true);
    let out = Command::new("nagios4").arg("-v").arg(&cfg).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("Total Warnings: 0") && text.contains("Total Errors:   0"),
        "{text}"
    );

    let nagios = Command::new("nagios4")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let log = dir.path().join("nagios.log");
    wait_for(&log, "SERVICE ALERT: mx1;SMTP TLS;");
    let text = wait_for(&log, "SERVICE ALERT: mx1;Closed port;");
    terminate(nagios);

    // Stock Postfix accepts TLS 1.0 and 1.1: not compliant with modern, exit 2.
    let alert = |service: &str| {
        let prefix = format!("SERVICE ALERT: mx1;{service};");
        let line = text.lines().find(|l| l.contains(&prefix)).unwrap();
        line.split_once(&prefix).unwrap().1.to_string()
    };
    let smtp = alert("SMTP TLS");
    assert!(
        smtp.starts_with(&format!("CRITICAL;HARD;1;MAILTLS CRITICAL - 127.0.0.1:{}: ", pf.port)),
        "{smtp}"
    );
    assert!(smtp.contains("not compliant with modern"), "{smtp}");
    let closed_line = alert("Closed port");
    assert!(
        closed_line.starts_with(&format!(
            "UNKNOWN;HARD;1;MAILTLS UNKNOWN - 127.0.0.1:{closed}: scan failed: "
        )),
        "{closed_line}"
    );
}

const ICINGA_CONFIG: &str = r#"
include <itl>
include "mailtls.conf"

object CheckerComponent "checker" { }

object Host "mx1" {
  check_command = "dummy"
  address = "127.0.0.1"
  enable_active_checks = false
}

object Service "smtp-tls" {
  host_name = "mx1"
  check_command = "mailtls"
  check_interval = 2s
  vars.mailtls_target = "127.0.0.1:PORT"
  vars.mailtls_profile = "modern"
  vars.mailtls_servername = "localhost"
  vars.mailtls_ca_file = "CAFILE"
  vars.mailtls_warn_days = 20
  vars.mailtls_crit_days = 10
}
"#;

/// The `last_check_result` of `object` in an icinga2.state file (netstrings of JSON).
fn last_check_result(state: &str, object: &str) -> serde_json::Value {
    let mut rest = state;
    while let Some((len, tail)) = rest.split_once(':') {
        let len: usize = len.trim().parse().unwrap();
        let (item, tail) = tail.split_at(len);
        rest = tail.strip_prefix(',').unwrap_or(tail);
        let item: serde_json::Value = serde_json::from_str(item).unwrap();
        if item["name"] == object {
            return item["update"]["last_check_result"].clone();
        }
    }
    panic!("no {object} in the state file")
}

#[test]
fn icinga2_accepts_the_check_command_and_runs_it() {
    require("icinga2");
    let pf = Postfix::new();
    pf.start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("mailtls.conf"), definition("mailtls.conf")).unwrap();
    let config = ICINGA_CONFIG
        .replace("PORT", &pf.port.to_string())
        .replace("CAFILE", &pf.cert.display().to_string());
    std::fs::write(d.join("icinga2.conf"), config).unwrap();
    let mut defines = vec!["-DRunAsUser=root".to_string(), "-DRunAsGroup=root".to_string()];
    for (name, folder) in [
        ("ConfigDir", ""),
        ("DataDir", "data"),
        ("LogDir", "log"),
        ("CacheDir", "cache"),
        ("SpoolDir", "spool"),
        ("InitRunDir", "run"),
    ] {
        std::fs::create_dir_all(d.join(folder)).unwrap();
        defines.push(format!("-D{name}={}", d.join(folder).display()));
    }
    let icinga = |extra: &[&str]| {
        let mut c = Command::new("icinga2");
        c.arg("daemon")
            .args(extra)
            .arg("-c")
            .arg(d.join("icinga2.conf"))
            .args(&defines);
        c
    };

    let out = icinga(&["-C"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Finished validating the configuration"), "{text}");

    let console = std::fs::File::create(d.join("console.log")).unwrap();
    let daemon = icinga(&["-x", "notice"])
        .stdout(console.try_clone().unwrap())
        .stderr(console)
        .spawn()
        .unwrap();
    wait_for(&d.join("console.log"), "State Change: Checkable 'mx1!smtp-tls'");
    terminate(daemon);

    let state = std::fs::read_to_string(d.join("data/icinga2.state")).unwrap();
    let result = last_check_result(&state, "mx1!smtp-tls");
    let command: Vec<&str> = result["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let target = format!("127.0.0.1:{}", pf.port);
    assert_eq!(command[..4], [MAILTLS, "probe", "--output", "nagios"], "{result}");
    assert_eq!(command.last(), Some(&target.as_str()), "{result}");
    for pair in [
        ["--profile", "modern"],
        ["--servername", "localhost"],
        ["--warn-days", "20"],
    ] {
        assert!(command.windows(2).any(|w| w == pair), "{pair:?} in {command:?}");
    }
    assert_eq!(result["exit_status"], 2, "{result}");
    let output = result["output"].as_str().unwrap();
    assert!(
        output.starts_with(&format!("MAILTLS CRITICAL - {target}: ")),
        "{output}"
    );
    assert!(output.contains("not compliant with modern"), "{output}");
    // Icinga splits the performance data off the output, as the guidelines say.
    let perf: Vec<&str> = result["performance_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(perf.contains(&"compliant=0"), "{perf:?}");
    assert!(perf.contains(&"days_left=29;20;10"), "{perf:?}");
}
