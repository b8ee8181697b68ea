//! A DNSSEC sandbox on loopback: the zone `dane.test.` signed with
//! ldns-keygen + ldns-signzone, served by nsd, validated by an unbound that
//! trusts the zone's KSK; and an HTTPS server (Python's http.server in an
//! `ssl.SSLContext`) serving the zone's MTA-STS policy with a certificate from
//! a throwaway test CA. Everything lives in one temporary folder.
//!
//! The zone is fixed, one host name per situation the DANE guard meets:
//! - `mx1.dane.test`: TLSA `3 1 1` for `old_key` only;
//! - `mx2.dane.test`: TLSA `3 1 1` for `old_key` and `new_key` (a rollover in progress);
//! - `mx3.dane.test`: TLSA for `old_key`, altered after signing (bogus: unbound answers SERVFAIL);
//! - `mx4.dane.test`: no TLSA at all;
//! - `dane.test`: MX `mx1.dane.test`, and an MTA-STS policy in `enforce` mode for `*.dane.test`;
//! - `testing.dane.test`: MX `mx4.dane.test`, an MTA-STS policy in `testing` mode.
//!
//! Every name has A 127.0.0.1. A second zone, `plain.test.`, is not signed:
//! `mx5.plain.test` has a TLSA record for `old_key` that unbound answers
//! without the AD bit. `DnsSandbox::shared()` starts the one sandbox of
//! the test binary, which every DNS test shares (they only read it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{free_port, run, wait_for_port};

pub const ZONE: &str = "dane.test";

/// The running sandbox: resolver and policy server addresses, the keys the
/// TLSA records pin, and the test CA.
pub struct DnsSandbox {
    pub dir: PathBuf,
    /// The validating resolver, for `--resolver`.
    pub resolver: String,
    /// Where nsd answers (authoritative, no validation).
    pub nsd_port: u16,
    /// The HTTPS port of the MTA-STS policy server (for `--mta-sts-port`).
    pub https_port: u16,
    /// The key `3 1 1` records pin on mx1, mx2 and mx3.
    pub old_key: PathBuf,
    /// A second key, pinned beside the old one on mx2 only.
    pub new_key: PathBuf,
    /// The throwaway CA (PEM) that signs the policy server's and the tests' certificates.
    pub ca_cert: PathBuf,
    ca_key: PathBuf,
    children: Vec<Child>,
}

impl DnsSandbox {
    /// The sandbox of this test binary, started once. Its daemons are started
    /// from a thread that lives as long as the process and die with it
    /// (PR_SET_PDEATHSIG), since a static is never dropped; the folder is under
    /// target/tmp.
    pub fn shared() -> &'static DnsSandbox {
        static SHARED: OnceLock<DnsSandbox> = OnceLock::new();
        SHARED.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
                std::fs::create_dir_all(base).expect("target/tmp");
                remove_abandoned(base);
                let dir = tempfile::Builder::new()
                    .prefix("mailtls-dns-")
                    .tempdir_in(base)
                    .expect("temporary folder")
                    .keep();
                std::fs::write(dir.join("owner.pid"), std::process::id().to_string()).expect("write owner.pid");
                tx.send(DnsSandbox::start(dir)).expect("send the sandbox");
                loop {
                    std::thread::park();
                }
            });
            rx.recv().expect("the DNS sandbox started")
        })
    }

    fn start(dir: PathBuf) -> DnsSandbox {
        for tool in ["/usr/sbin/nsd", "/usr/sbin/unbound", "/usr/bin/ldns-signzone"] {
            if !Path::new(tool).exists() {
                run(&mut Command::new(
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-deps-dane"),
                ));
            }
        }
        let old_key = ec_key(&dir, "old");
        let new_key = ec_key(&dir, "new");
        let (ca_cert, ca_key) = make_ca(&dir);

        let zone_file = dir.join("dane.test.zone");
        std::fs::write(&zone_file, zone_text(&spki_sha256(&old_key), &spki_sha256(&new_key))).expect("write zone");
        let ksk = run(Command::new("ldns-keygen")
            .current_dir(&dir)
            .args(["-a", "ECDSAP256SHA256", "-k", ZONE]))
        .trim()
        .to_string();
        let zsk = run(Command::new("ldns-keygen")
            .current_dir(&dir)
            .args(["-a", "ECDSAP256SHA256", ZONE]))
        .trim()
        .to_string();
        run(Command::new("ldns-signzone")
            .current_dir(&dir)
            .args(["dane.test.zone", &zsk, &ksk]));
        std::fs::write(
            dir.join("plain.test.zone"),
            format!(
                "$ORIGIN plain.test.\n$TTL 300\n\
                 @ IN SOA ns.plain.test. admin.plain.test. 1 3600 600 86400 300\n\
                 @ IN NS ns.plain.test.\nns IN A 127.0.0.1\nmx5 IN A 127.0.0.1\n\
                 _25._tcp.mx5 IN TLSA 3 1 1 {}\n",
                spki_sha256(&old_key)
            ),
        )
        .expect("write the unsigned zone");
        break_mx3_signature(&dir.join("dane.test.zone.signed"), &spki_sha256(&old_key));

        let nsd_port = free_port();
        let nsd_conf = dir.join("nsd.conf");
        std::fs::write(
            &nsd_conf,
            format!(
                "server:\n  ip-address: 127.0.0.1@{nsd_port}\n  database: \"\"\n  username: \"\"\n  \
                 zonesdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  xfrdfile: \"{d}/xfrd.state\"\n  \
                 zonelistfile: \"{d}/zone.list\"\n  logfile: \"{d}/nsd.log\"\n\
                 remote-control:\n  control-enable: no\n\
                 zone:\n  name: {ZONE}\n  zonefile: dane.test.zone.signed\n\
                 zone:\n  name: plain.test\n  zonefile: plain.test.zone\n",
                d = dir.display()
            ),
        )
        .expect("write nsd.conf");

        let unbound_port = free_port();
        let unbound_conf = dir.join("unbound.conf");
        std::fs::write(
            &unbound_conf,
            format!(
                "server:\n  interface: 127.0.0.1\n  port: {unbound_port}\n  do-ip6: no\n  username: \"\"\n  \
                 chroot: \"\"\n  directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n  \
                 logfile: \"{d}/unbound.log\"\n  use-syslog: no\n  do-not-query-localhost: no\n  \
                 local-zone: \"test.\" nodefault\n  trust-anchor-file: \"{d}/{ksk}.key\"\n  \
                 module-config: \"validator iterator\"\n\
                 remote-control:\n  control-enable: no\n\
                 stub-zone:\n  name: \"{ZONE}.\"\n  stub-addr: 127.0.0.1@{nsd_port}\n\
                 stub-zone:\n  name: \"plain.test.\"\n  stub-addr: 127.0.0.1@{nsd_port}\n",
                d = dir.display()
            ),
        )
        .expect("write unbound.conf");

        // The MTA-STS policies, served at https://mta-sts.DOMAIN/.well-known/mta-sts.txt.
        let www = dir.join("www");
        std::fs::create_dir_all(www.join(".well-known")).expect("policy folder");
        let https_cert = ca_sign(
            &dir,
            &ca_cert,
            &ca_key,
            "mta-sts",
            &ec_key(&dir, "mta-sts"),
            &["mta-sts.dane.test", "mta-sts.testing.dane.test"],
        );
        let https_port = free_port();
        let server_py = dir.join("policy_server.py");
        std::fs::write(&server_py, POLICY_SERVER).expect("write the policy server");
        std::fs::write(
            dir.join("www/enforce.txt"),
            "version: STSv1\nmode: enforce\nmx: *.dane.test\nmax_age: 86400\n",
        )
        .expect("policy");
        std::fs::write(
            dir.join("www/testing.txt"),
            "version: STSv1\nmode: testing\nmx: mx4.dane.test\nmax_age: 604800\n",
        )
        .expect("policy");

        let spawn = |cmd: &mut Command| -> Child {
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM).map_err(std::io::Error::from)
                });
            }
            cmd.spawn().unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
        };
        let children = vec![
            spawn(Command::new("/usr/sbin/nsd").arg("-d").arg("-c").arg(&nsd_conf)),
            spawn(Command::new("/usr/sbin/unbound").arg("-d").arg("-c").arg(&unbound_conf)),
            spawn(
                Command::new("python3")
                    .arg(&server_py)
                    .arg(https_port.to_string())
                    .arg(&https_cert)
                    .arg(dir.join("mta-sts.key"))
                    .current_dir(&www),
            ),
        ];
        let sandbox = DnsSandbox {
            resolver: format!("127.0.0.1:{unbound_port}"),
            nsd_port,
            https_port,
            old_key,
            new_key,
            ca_cert,
            ca_key,
            children,
            dir,
        };
        for port in [nsd_port, unbound_port, https_port] {
            assert!(
                wait_for_port(port, Duration::from_secs(20)),
                "the DNS sandbox did not listen on {port}: {}",
                sandbox.logs()
            );
        }
        sandbox.wait_validating();
        sandbox
    }

    /// Waits until unbound answers a validated (AD) query for the zone.
    fn wait_validating(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = self.resolver.rsplit(':').next().unwrap();
        loop {
            let out = Command::new("drill")
                .args(["-D", "-p", port, "@127.0.0.1", "_25._tcp.mx1.dane.test", "TLSA"])
                .output()
                .expect("run drill");
            let text = String::from_utf8_lossy(&out.stdout);
            if text.lines().any(|l| l.starts_with(";; flags:") && l.contains(" ad")) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "unbound does not validate the test zone:\n{text}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A certificate for `key` naming `names`, signed by the test CA (`DIR/NAME.pem`).
    pub fn ca_cert_for(&self, dir: &Path, name: &str, key: &Path, names: &[&str]) -> PathBuf {
        ca_sign(dir, &self.ca_cert, &self.ca_key, name, key, names)
    }

    /// The daemons' logs, for failure messages.
    pub fn logs(&self) -> String {
        ["nsd.log", "unbound.log"]
            .iter()
            .map(|f| {
                format!(
                    "--- {f}\n{}",
                    std::fs::read_to_string(self.dir.join(f)).unwrap_or_default()
                )
            })
            .collect()
    }
}

impl Drop for DnsSandbox {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Removes the folders of shared sandboxes whose test binary has exited.
fn remove_abandoned(base: &Path) {
    for entry in std::fs::read_dir(base).into_iter().flatten().flatten() {
        let path = entry.path();
        let named = entry.file_name().to_string_lossy().starts_with("mailtls-dns-");
        let owner = std::fs::read_to_string(path.join("owner.pid")).unwrap_or_default();
        if named && !owner.trim().is_empty() && !Path::new("/proc").join(owner.trim()).exists() {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// A fresh P-256 key at `DIR/NAME.key` (mode 0o600).
pub fn ec_key(dir: &Path, name: &str) -> PathBuf {
    let key = dir.join(format!("{name}.key"));
    run(Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
        ])
        .arg(&key));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod 0600 the key");
    key
}

/// A self-signed certificate for `key` naming `names` (`DIR/NAME.pem`).
pub fn self_signed_for(dir: &Path, name: &str, key: &Path, names: &[&str]) -> PathBuf {
    let cert = dir.join(format!("{name}.pem"));
    run(Command::new("openssl")
        .args(["req", "-x509", "-new", "-days", "30", "-subj"])
        .arg(format!("/CN={}", names[0]))
        .arg("-addext")
        .arg(san(names))
        .arg("-key")
        .arg(key)
        .arg("-out")
        .arg(&cert));
    cert
}

/// The hex SHA-256 of a key's SubjectPublicKeyInfo, computed by openssl:
/// the data of a `3 1 1` TLSA record.
pub fn spki_sha256(key: &Path) -> String {
    let der = Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(key)
        .output()
        .expect("openssl pkey");
    assert!(der.status.success());
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-r"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl dgst");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&der.stdout).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn san(names: &[&str]) -> String {
    let list: Vec<String> = names.iter().map(|n| format!("DNS:{n}")).collect();
    format!("subjectAltName={}", list.join(","))
}

fn make_ca(dir: &Path) -> (PathBuf, PathBuf) {
    let key = ec_key(dir, "test-ca");
    let cert = dir.join("test-ca.pem");
    run(Command::new("openssl")
        .args(["req", "-x509", "-new", "-days", "30", "-subj", "/CN=mailtls test CA"])
        .args(["-addext", "basicConstraints=critical,CA:TRUE"])
        .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        .arg("-key")
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    (cert, key)
}

fn ca_sign(dir: &Path, ca_cert: &Path, ca_key: &Path, name: &str, key: &Path, names: &[&str]) -> PathBuf {
    let csr = dir.join(format!("{name}.csr"));
    let cert = dir.join(format!("{name}.pem"));
    let ext = dir.join(format!("{name}.ext"));
    run(Command::new("openssl")
        .args(["req", "-new", "-subj"])
        .arg(format!("/CN={}", names[0]))
        .arg("-key")
        .arg(key)
        .arg("-out")
        .arg(&csr));
    std::fs::write(&ext, format!("{}\nextendedKeyUsage=serverAuth\n", san(names))).expect("write ext");
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "30"])
        .arg("-in")
        .arg(&csr)
        .arg("-CA")
        .arg(ca_cert)
        .arg("-CAkey")
        .arg(ca_key)
        .arg("-extfile")
        .arg(&ext)
        .arg("-out")
        .arg(&cert));
    cert
}

fn zone_text(old: &str, new: &str) -> String {
    format!(
        "$ORIGIN {ZONE}.\n$TTL 300\n\
         @ IN SOA ns.{ZONE}. admin.{ZONE}. 1 3600 600 86400 300\n\
         @ IN NS ns.{ZONE}.\n\
         ns IN A 127.0.0.1\n\
         @ IN MX 10 mx1.{ZONE}.\n\
         mx1 IN A 127.0.0.1\nmx2 IN A 127.0.0.1\nmx3 IN A 127.0.0.1\nmx4 IN A 127.0.0.1\n\
         _25._tcp.mx1 IN TLSA 3 1 1 {old}\n\
         _25._tcp.mx2 IN TLSA 3 1 1 {old}\n\
         _25._tcp.mx2 IN TLSA 3 1 1 {new}\n\
         _25._tcp.mx3 IN TLSA 3 1 1 {old}\n\
         _mta-sts IN TXT \"v=STSv1; id=20261201\"\n\
         mta-sts IN A 127.0.0.1\n\
         testing IN MX 10 mx4.{ZONE}.\n\
         _mta-sts.testing IN TXT \"v=STSv1; id=1\"\n\
         mta-sts.testing IN A 127.0.0.1\n"
    )
}

/// Changes mx3's TLSA data after signing, so its RRSIG no longer verifies.
fn break_mx3_signature(signed: &Path, old: &str) {
    let text = std::fs::read_to_string(signed).expect("read the signed zone");
    let flipped: String = old
        .chars()
        .map(|c| {
            if c == '0' {
                '1'
            } else if c == '1' {
                '0'
            } else {
                c
            }
        })
        .collect();
    let mut changed = false;
    let text: String = text
        .lines()
        .map(|line| {
            if line.starts_with("_25._tcp.mx3.") && line.contains("\tTLSA\t") {
                changed = true;
                line.replace(old, &flipped)
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(changed && flipped != old, "mx3's TLSA not found in the signed zone");
    std::fs::write(signed, text + "\n").expect("write the signed zone");
}

/// Serves `www/` over HTTPS; the policy file depends on the Host header
/// (mta-sts.dane.test gets enforce.txt, mta-sts.testing.dane.test testing.txt).
const POLICY_SERVER: &str = r#"
import http.server, ssl, sys
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class Policy(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0]
        name = {"mta-sts.dane.test": "enforce.txt", "mta-sts.testing.dane.test": "testing.txt"}.get(host)
        if self.path != "/.well-known/mta-sts.txt" or name is None:
            self.send_error(404)
            return
        body = open(name, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Policy)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#;
