//! Real TLS clients for the impact tests: Python's smtplib and imaplib,
//! from a chosen loopback source address, pinned to one TLS version and an
//! OpenSSL cipher list, so that a server logs what each peer negotiated.

use std::process::Command;

/// A real client from `source` (a loopback address) doing one STARTTLS
/// handshake pinned to `version` ("1.0", "1.2", "1.3") with `ciphers`
/// (OpenSSL syntax), then trying a message (SMTP) or a login (IMAP) so the
/// server logs the session. Returns whether the handshake completed.
pub fn client(kind: &str, port: u16, source: &str, version: &str, ciphers: &str) -> bool {
    const SCRIPT: &str = r#"
import imaplib, smtplib, socket, ssl, sys
kind, port, src, version, ciphers = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_ciphers(ciphers)
v = {"1.0": ssl.TLSVersion.TLSv1, "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[version]
ctx.minimum_version = ctx.maximum_version = v
try:
    if kind == "smtp":
        s = smtplib.SMTP("127.0.0.1", port, source_address=(src, 0), timeout=10)
        s.ehlo("client.test")
        s.starttls(context=ctx)
        s.ehlo("client.test")
        try:
            s.sendmail("sender@client.test", ["postmaster@localhost"], b"Subject: impact\r\n\r\nhello\r\n")
        except smtplib.SMTPException:
            pass
        s.quit()
    else:
        class Imap(imaplib.IMAP4):
            def _create_socket(self, timeout):
                return socket.create_connection((self.host, self.port), timeout, source_address=(src, 0))
        m = Imap("127.0.0.1", port, timeout=10)
        m.starttls(ssl_context=ctx)
        try:
            m.login("nobody", "wrong")
        except imaplib.IMAP4.error:
            pass
        m.logout()
except (ssl.SSLError, OSError, smtplib.SMTPException, imaplib.IMAP4.error) as e:
    print("failed:", e, file=sys.stderr)
    sys.exit(1)
"#;
    let out = Command::new("python3")
        .args(["-c", SCRIPT, kind, &port.to_string(), source, version, ciphers])
        .output()
        .expect("run python3");
    out.status.success()
}

/// The three clients of every test: TLS 1.0, TLS 1.2 with a CBC-only suite, TLS 1.3.
pub fn three_clients(kind: &str, port: u16) -> [bool; 3] {
    [
        client(kind, port, "127.0.0.2", "1.0", "DEFAULT:@SECLEVEL=0"),
        client(kind, port, "127.0.0.3", "1.2", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0"),
        client(kind, port, "127.0.0.4", "1.3", "DEFAULT"),
    ]
}
