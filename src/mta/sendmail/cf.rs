//! Reading the generated `sendmail.cf`: the `O Name=value` option lines the
//! daemon really runs with, and its listeners (`DaemonPortOptions`). mailtls
//! never edits this file by hand; it is regenerated from the m4 sources.

use crate::mta::{Listener, Proto, TlsStart};

/// The last `O NAME=value` line of a sendmail.cf.
pub fn option(cf: &str, name: &str) -> Option<String> {
    let prefix = format!("O {name}=");
    cf.lines()
        .rev()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim().to_string())
}

/// The cf file with the header lines m4 fills with the time, user and
/// folder removed, to compare two generations of the same sources.
pub fn without_stamp(cf: &str) -> String {
    cf.lines()
        .filter(|l| !(l.starts_with("##### built by") || l.starts_with("##### in ") || l.starts_with("##### using")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One listener per `O DaemonPortOptions=` line (port 25 on every address without one).
/// `M=s` is SMTPS (implicit TLS); `M=S` turns STARTTLS off.
pub fn listeners(cf: &str) -> Vec<Listener> {
    let lines: Vec<&str> = cf
        .lines()
        .filter_map(|l| l.strip_prefix("O DaemonPortOptions="))
        .collect();
    let lines = if lines.is_empty() { vec!["Name=MTA"] } else { lines };
    lines
        .into_iter()
        .filter_map(|spec| {
            let field = |key: &str| {
                spec.split(',')
                    .filter_map(|f| f.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
                    .map(|(_, v)| v.trim().to_string())
            };
            let family = field("Family").unwrap_or_else(|| "inet".into());
            let host = match (family.as_str(), field("Addr").or_else(|| field("Address"))) {
                ("inet", Some(a)) if a != "0.0.0.0" && a != "INADDR_ANY" => a,
                ("inet", _) => "127.0.0.1".into(),
                ("inet6", Some(a)) if a != "::" => a,
                ("inet6", _) => "::1".into(),
                _ => return None,
            };
            let port = match field("Port").as_deref() {
                None | Some("smtp") => 25,
                Some("submission") => 587,
                Some("smtps") | Some("submissions") => 465,
                Some(n) => n.parse().ok()?,
            };
            let modifiers = field("M").or_else(|| field("Modifiers")).unwrap_or_default();
            let tls = if modifiers.contains('s') {
                TlsStart::Implicit
            } else if modifiers.contains('S') {
                TlsStart::Off
            } else {
                TlsStart::Starttls(Proto::Smtp)
            };
            Some(Listener {
                service: field("Name").unwrap_or_else(|| format!("{host}:{port}")),
                protocol: Proto::Smtp,
                host,
                port,
                tls,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_daemons() {
        let cf = "O DaemonPortOptions=Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1\n\
                  O DaemonPortOptions=Family=inet,  Name=MSP-v4, Port=submission, M=Ea, Addr=127.0.0.1\n\
                  O DaemonPortOptions=Name=TLS, Port=2465, M=s\n";
        let found: Vec<(String, u16, TlsStart)> =
            listeners(cf).into_iter().map(|l| (l.service, l.port, l.tls)).collect();
        assert_eq!(
            found,
            [
                ("MTA-v4".to_string(), 25, TlsStart::Starttls(Proto::Smtp)),
                ("MSP-v4".to_string(), 587, TlsStart::Starttls(Proto::Smtp)),
                ("TLS".to_string(), 2465, TlsStart::Implicit)
            ]
        );
        assert_eq!(
            option("O CipherList=HIGH\nO CipherList=ALL\n", "CipherList").as_deref(),
            Some("ALL")
        );
    }
}
