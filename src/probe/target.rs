//! Targets as users write them: `host`, `host:port`, `[v6addr]:port`.

use super::{Proto, Target, TlsStart};

/// Why a target does not parse; each message names the target as written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("target {0:?}: missing ']' after the IPv6 address")]
    UnclosedBracket(String),
    #[error("target {0:?}: expected ':PORT' after ']'")]
    AfterBracket(String),
    #[error("target {0:?}: expected HOST or HOST:PORT")]
    NoHost(String),
    #[error("target {spec:?}: {port:?} is not a port number")]
    BadPort { spec: String, port: String },
}

/// Parses `host[:port]`. `starttls` None means "auto": pick the dialogue
/// from the port (25/587 SMTP, 465 implicit, 143 IMAP, 993 implicit, 110
/// POP3, 995 implicit); without a port, auto means SMTP on 25.
pub fn parse_target(spec: &str, starttls: Option<TlsStart>) -> Result<Target, TargetError> {
    let spec = spec.trim();
    let (host, port) = if let Some(rest) = spec.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| TargetError::UnclosedBracket(spec.into()))?;
        match after.strip_prefix(':') {
            Some(p) => (host, Some(p)),
            None if after.is_empty() => (host, None),
            None => return Err(TargetError::AfterBracket(spec.into())),
        }
    } else if spec.matches(':').count() > 1 {
        // A bare IPv6 address has no port.
        (spec, None)
    } else {
        match spec.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (spec, None),
        }
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(TargetError::NoHost(spec.into()));
    }
    let port = match port {
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                return Err(TargetError::BadPort {
                    spec: spec.into(),
                    port: p.into(),
                })
            }
        },
        None => None,
    };
    let (port, starttls) = match (port, starttls) {
        (Some(p), Some(s)) => (p, s),
        (Some(p), None) => (p, TlsStart::for_port(p)),
        (None, Some(s)) => (s.default_port(), s),
        (None, None) => (25, TlsStart::Starttls(Proto::Smtp)),
    };
    Ok(Target {
        host: host.to_string(),
        port,
        starttls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_pick_the_dialogue() {
        let t = |s| parse_target(s, None).unwrap();
        assert_eq!(t("mx.example.org").port, 25);
        assert_eq!(t("mx.example.org:587").starttls, TlsStart::Starttls(Proto::Smtp));
        assert_eq!(t("mx:465").starttls, TlsStart::Implicit);
        assert_eq!(t("mx:143").starttls, TlsStart::Starttls(Proto::Imap));
        assert_eq!(t("mx:993").starttls, TlsStart::Implicit);
        assert_eq!(t("mx:110").starttls, TlsStart::Starttls(Proto::Pop3));
        assert_eq!(t("[::1]:995").host, "::1");
        assert_eq!(t("::1").port, 25);
        let imap = parse_target("mx", Some(TlsStart::Starttls(Proto::Imap))).unwrap();
        assert_eq!((imap.port, imap.starttls), (143, TlsStart::Starttls(Proto::Imap)));
        assert_eq!(
            parse_target("mx:0", None).unwrap_err().to_string(),
            r#"target "mx:0": "0" is not a port number"#
        );
        assert!(parse_target("mx:smtp", None).is_err());
        assert!(parse_target("", None).is_err());
        assert!(parse_target("[::1", None).is_err());
    }
}
