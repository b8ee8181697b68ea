//! The test harness itself against real servers: a stock Debian 12 Postfix
//! and a Dovecot start, speak STARTTLS, and stop on drop.

use crate::support::{openssl_accepts, wait_for_port_closed, Dovecot, Postfix};

#[test]
fn stock_postfix_starts_speaks_starttls_and_stops_on_drop() {
    let postfix = Postfix::new();
    postfix.start();
    let port = postfix.port;
    assert!(openssl_accepts(port, "smtp", "-tls1_2", None));
    assert!(openssl_accepts(port, "smtp", "-tls1_3", None));
    // Stock Postfix runs opportunistic TLS at security level 0.
    assert!(openssl_accepts(port, "smtp", "-tls1", None));
    assert!(!openssl_accepts(
        port,
        "smtp",
        "-tls1_2",
        Some("ECDHE-ECDSA-AES128-GCM-SHA256")
    ));
    assert!(postfix.maillog().contains("daemon started"), "{}", postfix.maillog());
    drop(postfix);
    assert!(wait_for_port_closed(port, std::time::Duration::from_secs(5)));
}

#[test]
fn dovecot_starts_with_starttls_on_imap_and_pop3() {
    let dovecot = Dovecot::start("ssl_min_protocol = TLSv1.2");
    assert!(
        openssl_accepts(dovecot.imap_port, "imap", "-tls1_2", None),
        "{}",
        dovecot.log()
    );
    assert!(openssl_accepts(dovecot.pop3_port, "pop3", "-tls1_3", None));
    assert!(!openssl_accepts(dovecot.pop3_port, "pop3", "-tls1_1", None));
}
