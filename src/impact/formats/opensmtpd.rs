//! OpenSMTPD: the address and the cipher are on separate lines of one session:
//! `ID smtp connected address=ADDR host=NAME`, then
//! `ID smtp tls ciphers=TLSv1.3:TLS_AES_256_GCM_SHA384:256` (7.x, libtls) or
//! `ID smtp tls ciphers=version=TLSv1.2, cipher=SUITE, bits=256` (older);
//! `ID mta connecting address=smtp://ADDR:25 host=NAME` and `ID mta tls ...`
//! for its own deliveries. A failed handshake ends the session with
//! `ID smtp disconnected reason="io-error: handshake failed: ...SSL routines..."`
//! (a failure whose reason does not quote OpenSSL is not seen).

use super::{field, LogFormat, Sessions};
use crate::impact::Event;
use crate::mta::MtaKind;

pub struct Opensmtpd;

impl LogFormat for Opensmtpd {
    fn mta(&self) -> MtaKind {
        MtaKind::Opensmtpd
    }

    fn needles(&self) -> &'static [&'static str] {
        // "connected address=", "connecting address=", "tls ciphers=TLS...", and
        // failures, which quote OpenSSL: "disconnected reason=... handshake failed: ...SSL routines...".
        &["address=", "ciphers=TLS", "SSL"]
    }

    fn parse<'a>(&self, line: &'a str, sessions: &mut Sessions) -> Option<Event<'a>> {
        // "... smtpd[PID]: ID smtp|mta WHAT ..." or, logging to stderr, "ID smtp|mta WHAT ...".
        let (id, role, rest) = session_words(line)?;
        let listener = if role == "mta" { "outbound" } else { "smtp" };
        if let Some(address) = rest
            .strip_prefix("connected address=")
            .or_else(|| rest.strip_prefix("connecting address="))
        {
            let address = address.split(' ').next()?;
            let address = address.strip_prefix("smtp://").unwrap_or(address);
            let address = match address.rsplit_once(':') {
                Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) && role == "mta" => host,
                _ => address,
            };
            let address = address.trim_start_matches('[').trim_end_matches(']');
            sessions.open(id, address, field(rest, " host=", &[' ']));
            return None;
        }
        if let Some(ciphers) = rest.strip_prefix("tls ciphers=") {
            let (address, name) = sessions.get(id)?.clone();
            let (protocol, suite) = match ciphers.strip_prefix("version=") {
                Some(old) => (old.split(',').next()?, field(old, "cipher=", &[','])?),
                None => {
                    let mut parts = ciphers.split(':');
                    (parts.next()?, parts.next()?)
                }
            };
            return Some(Event::negotiated(
                MtaKind::Opensmtpd,
                address,
                name,
                listener,
                protocol,
                suite,
            ));
        }
        if let Some(reason) = rest.strip_prefix("disconnected reason=") {
            let session = sessions.get(id).cloned();
            sessions.close(id);
            let lower = reason.to_ascii_lowercase();
            if lower.contains("handshake") || lower.contains("tls") || lower.contains("ssl") {
                let (address, name) = session?;
                return Some(Event::failed(
                    MtaKind::Opensmtpd,
                    address,
                    name,
                    listener,
                    reason.trim_matches('"'),
                ));
            }
        }
        None
    }
}

/// The session id, `smtp` or `mta`, and the rest of the message.
fn session_words(line: &str) -> Option<(&str, &str, &str)> {
    static END: super::Needle = super::Needle::new("]: ");
    let message = END.after(line).unwrap_or(line);
    let mut words = message.splitn(3, ' ');
    let (id, role, rest) = (words.next()?, words.next()?, words.next()?);
    let hex = id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit());
    (hex && (role == "smtp" || role == "mta")).then_some((id, role, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impact::Outcome;

    #[test]
    fn sessions_join_address_and_cipher() {
        let mut s = Sessions::default();
        fn p<'a>(l: &'a str, s: &mut Sessions) -> Option<Event<'a>> {
            Opensmtpd.parse(l, s)
        }
        assert_eq!(
            p(
                "Dec  1 02:56:08 mx smtpd[7]: 4a5b6c7d8e9f0a1b smtp connected address=127.0.0.2 host=localhost",
                &mut s
            ),
            None
        );
        let e = p(
            "Dec  1 02:56:08 mx smtpd[7]: 4a5b6c7d8e9f0a1b smtp tls ciphers=TLSv1.3:TLS_AES_256_GCM_SHA384:256",
            &mut s,
        )
        .unwrap();
        assert_eq!(
            (&*e.address, e.name.as_deref(), &*e.listener),
            ("127.0.0.2", Some("localhost"), "smtp")
        );
        p(
            "0000000000000001 smtp connected address=192.0.2.4 host=old.example",
            &mut s,
        );
        let e = p(
            "0000000000000001 smtp tls ciphers=version=TLSv1.2, cipher=ECDHE-RSA-AES256-SHA384, bits=256",
            &mut s,
        )
        .unwrap();
        assert_eq!(
            e.outcome,
            Outcome::Negotiated {
                protocol: "TLSv1.2".into(),
                suite: "ECDHE-RSA-AES256-SHA384".into()
            }
        );
        p(
            "00000000000000a2 mta connecting address=smtp://192.0.2.8:25 host=mx.example.com",
            &mut s,
        );
        let e = p(
            "00000000000000a2 mta tls ciphers=TLSv1.2:ECDHE-RSA-AES128-GCM-SHA256:128",
            &mut s,
        )
        .unwrap();
        assert_eq!((&*e.address, &*e.listener), ("192.0.2.8", "outbound"));
        p(
            "00000000000000a3 smtp connected address=127.0.0.9 host=localhost",
            &mut s,
        );
        let e = p("00000000000000a3 smtp disconnected reason=io-error: handshake failed: error:0A000102:SSL routines::unsupported protocol", &mut s).unwrap();
        assert!(matches!(e.outcome, Outcome::Failed { .. }));
        assert_eq!(
            p("00000000000000a3 smtp tls ciphers=TLSv1.3:X:1", &mut s),
            None,
            "the session was closed"
        );
    }
}
