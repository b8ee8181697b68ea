//! Cyrus IMAP (3.x; the strings of 3.6's imap/tls.c, imapd.c and pop3d.c).
//! The handshake line names no peer:
//! `cyrus/imapd[PID]: starttls: TLSv1.2 with cipher SUITE (256/256 bits new) no authentication`
//! (logged for STARTTLS and for implicit TLS alike). The peer comes later
//! from the same process: `login: NAME [ADDR] user plaintext+TLS ...` or
//! `badlogin: NAME [ADDR] ...` (older releases write `NAME[ADDR]`). A process
//! serves one client at a time, so the handshake is held per process until
//! that line; a `login:` without `+TLS` is a client of that process that did
//! not use TLS, and drops what was held. Failures name the peer directly:
//! `STARTTLS negotiation failed: NAME [ADDR]`, `imaps TLS negotiation failed:
//! ...`, `[pop3d] STARTTLS failed: ...`, `pop3s failed: ...`. A TLS session
//! that never logs in leaves no address and is not counted.
//!
//! Needles: all but `login: ` and `pop3s failed: ` contain "TLS", which the
//! scanner searches once for every format; those two are the only passes over
//! a log that Cyrus adds.

use std::borrow::Cow;

use super::{syslog_tag, LogFormat, Needle, Sessions};
use crate::impact::{Event, Outcome};
use crate::mta::MtaKind;

pub struct Cyrus;

/// The lines that say a handshake failed, each followed by the client host.
const FAILURES: &[&str] = &[
    "STARTTLS negotiation failed: ",
    "imaps TLS negotiation failed: ",
    "[pop3d] STARTTLS failed: ",
    "pop3s failed: ",
];

impl LogFormat for Cyrus {
    fn mta(&self) -> MtaKind {
        MtaKind::Cyrus
    }

    fn needles(&self) -> &'static [&'static str] {
        &[
            "starttls: TLS",
            "TLS negotiation failed: ",
            "STARTTLS failed: ",
            "pop3s failed: ",
            "login: ",
        ]
    }

    fn parse<'a>(&self, line: &'a str, sessions: &mut Sessions) -> Option<Event<'a>> {
        static MESSAGE: Needle = Needle::new("]: ");
        let tag = syslog_tag(line)?;
        // `cyrus/imapd` with Debian's syslog_prefix, `imapd` without; `imap`, `pop3s`: a service's name.
        let listener = match tag.rsplit('/').next()? {
            "imapd" | "imap" | "imaps" => "imap",
            "pop3d" | "pop3" | "pop3s" => "pop3",
            _ => return None,
        };
        let message = MESSAGE.after(line)?;
        // The process: the tag and its pid (`cyrus/imapd[4242`).
        let process = &line[line.find(tag)?..MESSAGE.find(line)?];
        if let Some(handshake) = message.strip_prefix("starttls: ") {
            let (protocol, rest) = handshake.split_once(" with cipher ")?;
            let suite = rest.split(' ').next().filter(|s| !s.is_empty())?;
            // Held as the session's (protocol, suite) until the peer is named.
            sessions.open(process, protocol, Some(suite));
            return None;
        }
        if let Some(host) = FAILURES.iter().find_map(|f| message.strip_prefix(f)) {
            sessions.close(process);
            let (name, address) = client_host(host)?;
            return Some(Event::failed(
                MtaKind::Cyrus,
                address,
                Some(name),
                listener,
                "TLS negotiation failed",
            ));
        }
        let host = match message.strip_prefix("login: ") {
            // `plaintext+TLS`, `PLAIN+TLS`: the login of a TLS session.
            Some(host) if !host.contains("+TLS") => {
                sessions.close(process);
                return None;
            }
            Some(host) => host,
            None => message.strip_prefix("badlogin: ")?,
        };
        let (name, address) = client_host(host)?;
        let (protocol, suite) = sessions.get(process)?.clone();
        sessions.close(process);
        let outcome = Outcome::Negotiated {
            protocol: Cow::Owned(protocol),
            suite: Cow::Owned(suite?),
        };
        Some(Event::new(MtaKind::Cyrus, address, Some(name), listener, outcome))
    }
}

/// `NAME [ADDR]`, `[ADDR]` or `NAME[ADDR]` at the start of `text`: the name
/// (possibly empty) and the address.
fn client_host(text: &str) -> Option<(&str, &str)> {
    let close = text.find(']')?;
    let open = text[..close].rfind('[')?;
    let address = &text[open + 1..close];
    let address = address.strip_prefix("IPv6:").unwrap_or(address);
    Some((text[..open].trim(), address))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiated(e: &Event) -> (String, String) {
        match &e.outcome {
            Outcome::Negotiated { protocol, suite } => (protocol.to_string(), suite.to_string()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_handshake_is_held_per_process_until_the_login_line_names_the_peer() {
        let mut s = Sessions::default();
        let tls = "Dec  1 06:20:00 mx cyrus/imapd[4242]: starttls: TLSv1.2 with cipher ECDHE-RSA-AES128-SHA (128/128 bits new) no authentication";
        assert_eq!(Cyrus.parse(tls, &mut s), None);
        // Another process's login is not this handshake's peer.
        let other = "Dec  1 06:20:01 mx cyrus/imapd[4243]: login: localhost [127.0.0.9] joe plaintext+TLS User logged in SESSIONID=<x>";
        assert_eq!(Cyrus.parse(other, &mut s), None);
        let login = "Dec  1 06:20:01 mx cyrus/imapd[4242]: badlogin: localhost [127.0.0.3] plaintext nobody SASL(-13): authentication failure: checkpass failed";
        let e = Cyrus.parse(login, &mut s).unwrap();
        assert_eq!(
            (&*e.address, e.name.as_deref(), &*e.listener),
            ("127.0.0.3", Some("localhost"), "imap")
        );
        assert_eq!(
            negotiated(&e),
            ("TLSv1.2".to_string(), "ECDHE-RSA-AES128-SHA".to_string())
        );
        // Held once: a second login of the session is not a second handshake.
        assert_eq!(Cyrus.parse(login, &mut s), None);
    }

    #[test]
    fn older_host_form_pop3_and_a_new_connection() {
        let mut s = Sessions::default();
        let tls = "Oct 17 11:25:04 localhost cyrus/pop3d[20650]: starttls: TLSv1 with cipher AES256-SHA (256/256 bits new) no authentication";
        Cyrus.parse(tls, &mut s);
        let e = Cyrus
            .parse("Oct 17 11:25:04 localhost cyrus/pop3d[20650]: badlogin: net84.example.it[84.253.166.106] plaintext ece SASL(-13): user not found", &mut s)
            .unwrap();
        assert_eq!(
            (&*e.address, e.name.as_deref(), &*e.listener),
            ("84.253.166.106", Some("net84.example.it"), "pop3")
        );
        assert_eq!(negotiated(&e).0, "TLSv1");
        // A login without +TLS did not use TLS, and drops a handshake held for the process.
        Cyrus.parse(tls, &mut s);
        assert_eq!(
            Cyrus.parse(
                "Oct 17 11:25:10 localhost cyrus/pop3d[20650]: login: [192.0.2.7] ann plaintext User logged in",
                &mut s
            ),
            None
        );
        assert_eq!(
            Cyrus.parse(
                "Oct 17 11:25:11 localhost cyrus/pop3d[20650]: badlogin: [192.0.2.8] plaintext ann",
                &mut s
            ),
            None
        );
        // A successful login of a TLS session.
        Cyrus.parse(tls, &mut s);
        let e = Cyrus
            .parse("Oct 17 11:25:12 localhost cyrus/pop3d[20650]: login: host.example [192.0.2.9] ann plaintext+TLS User logged in SESSIONID=<x>", &mut s)
            .unwrap();
        assert_eq!(&*e.address, "192.0.2.9");
    }

    #[test]
    fn failures_name_the_peer() {
        let mut s = Sessions::default();
        let e = Cyrus
            .parse(
                "Dec  1 06:20:00 mx cyrus/imapd[7]: imaps TLS negotiation failed: localhost [127.0.0.2]",
                &mut s,
            )
            .unwrap();
        assert_eq!(&*e.address, "127.0.0.2");
        assert!(matches!(e.outcome, Outcome::Failed { .. }));
        let e = Cyrus
            .parse(
                "Dec  1 06:20:00 mx pop3d[8]: [pop3d] STARTTLS failed: [127.0.0.4]",
                &mut s,
            )
            .unwrap();
        assert_eq!((&*e.address, &*e.listener), ("127.0.0.4", "pop3"));
    }

    #[test]
    fn other_programs_lines_are_not_cyrus() {
        let mut s = Sessions::default();
        let dovecot =
            "Dec  1 06:20:00 mx dovecot: imap-login: Login: user=<a>, method=PLAIN, rip=127.0.0.2, lip=127.0.0.1, TLS";
        assert_eq!(Cyrus.parse(dovecot, &mut s), None);
        let tls = "Dec  1 06:20:00 mx imap-login[5]: starttls: TLSv1.2 with cipher X (1/1 bits new) no authentication";
        assert_eq!(Cyrus.parse(tls, &mut s), None);
    }
}
