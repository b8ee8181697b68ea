//! Sendmail (LogLevel 9 and up, Debian's default):
//! `STARTTLS=server, relay=NAME [ADDR], version=TLSv1.2, verify=NO, cipher=SUITE, bits=256/256`,
//! `STARTTLS=client, relay=NAME, ...` for its own deliveries, and
//! `STARTTLS=server, error: accept failed=-1, reason=..., relay=...` on failures.

use super::{field, LogFormat, Needle, Sessions};
use crate::impact::Event;
use crate::mta::MtaKind;

pub struct Sendmail;

impl LogFormat for Sendmail {
    fn mta(&self) -> MtaKind {
        MtaKind::Sendmail
    }

    fn needles(&self) -> &'static [&'static str] {
        &["STARTTLS="]
    }

    fn parse<'a>(&self, line: &'a str, _: &mut Sessions) -> Option<Event<'a>> {
        static STARTTLS: Needle = Needle::new("STARTTLS=");
        let side = STARTTLS.after(line)?;
        let side = &side[..side.find([',', ':']).unwrap_or(side.len())];
        let listener = if side == "client" { "outbound" } else { "smtp" };
        let relay = field(line, " relay=", &[','])?;
        let (name, address) = match (relay.find('['), relay.find(']')) {
            (Some(open), Some(close)) if open < close => (relay[..open].trim(), &relay[open + 1..close]),
            // A client line may name only the host.
            _ => (relay.trim(), relay.trim()),
        };
        let address = address.strip_prefix("IPv6:").unwrap_or(address);
        if line.contains(", error:") {
            let reason = field(line, "reason=", &[',']).unwrap_or("handshake failed");
            return Some(Event::failed(MtaKind::Sendmail, address, Some(name), listener, reason));
        }
        let protocol = field(line, " version=", &[','])?;
        let suite = field(line, " cipher=", &[','])?;
        Some(Event::negotiated(
            MtaKind::Sendmail,
            address,
            Some(name),
            listener,
            protocol,
            suite,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impact::Outcome;

    #[test]
    fn server_client_and_errors() {
        let mut s = Sessions::default();
        let e = Sendmail.parse("Dec  1 02:56:08 mx sm-mta[42]: 5B12u8Xk000042: STARTTLS=server, relay=localhost [127.0.0.3], version=TLSv1.2, verify=NO, cipher=AES256-SHA, bits=256/256", &mut s).unwrap();
        assert_eq!(
            (&*e.address, e.name.as_deref(), &*e.listener),
            ("127.0.0.3", Some("localhost"), "smtp")
        );
        assert_eq!(
            e.outcome,
            Outcome::Negotiated {
                protocol: "TLSv1.2".into(),
                suite: "AES256-SHA".into()
            }
        );
        let e = Sendmail.parse("Dec  1 02:56:08 mx sm-mta[42]: 5B12u8Xk000043: STARTTLS=client, relay=mx.example.com., version=TLSv1.3, verify=OK, cipher=TLS_AES_256_GCM_SHA384, bits=256/256", &mut s).unwrap();
        assert_eq!((&*e.address, &*e.listener), ("mx.example.com.", "outbound"));
        let e = Sendmail.parse("Dec  1 02:56:08 mx sm-mta[42]: STARTTLS=server, error: accept failed=-1, reason=unsupported protocol, SSL_error=1, errno=0, retry=-1, relay=[127.0.0.2]", &mut s).unwrap();
        assert_eq!(
            e.outcome,
            Outcome::Failed {
                reason: "unsupported protocol".into()
            }
        );
        assert_eq!(
            Sendmail.parse("Dec  1 02:56:08 mx sm-mta[42]: STARTTLS=server, init=1", &mut s),
            None
        );
    }
}
