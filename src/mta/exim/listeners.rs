//! The listeners an Exim daemon opens: every `local_interfaces` address
//! (default: all) on every `daemon_smtp_ports` port (default: smtp), plus
//! ports written into an interface (`127.0.0.1.2525`, `[::1]:2525`).
//! `tls_on_connect_ports` speak TLS from the first byte; the others offer
//! STARTTLS unless `tls_advertise_hosts` is empty.

use crate::mta::{Listener, Proto, TlsStart};

use super::layout::Effective;

/// The listeners of an instance, as a local probe reaches them.
pub fn listeners(eff: &Effective) -> Vec<Listener> {
    let ports: Vec<u16> = list(&eff.value("daemon_smtp_ports").unwrap_or_else(|| "smtp".into()))
        .iter()
        .filter_map(|p| port(p))
        .collect();
    let implicit: Vec<u16> = list(&eff.value("tls_on_connect_ports").unwrap_or_default())
        .iter()
        .filter_map(|p| port(p))
        .collect();
    let advertised = eff.value("tls_advertise_hosts").is_none_or(|v| !v.trim().is_empty());
    let interfaces = eff
        .value("local_interfaces")
        .unwrap_or_else(|| "<; ::0 ; 0.0.0.0".into());
    let mut out: Vec<Listener> = Vec::new();
    for interface in list(&interfaces) {
        let (host, own_port) = split_interface(&interface);
        let host = match host.as_str() {
            "" | "0.0.0.0" => "127.0.0.1".to_string(),
            "::0" | "::" | "0:0:0:0:0:0:0:0" => "::1".to_string(),
            _ => host,
        };
        let wanted: Vec<u16> = own_port.map(|p| vec![p]).unwrap_or_else(|| ports.clone());
        for port in wanted {
            let tls = if implicit.contains(&port) {
                TlsStart::Implicit
            } else if advertised {
                TlsStart::Starttls(Proto::Smtp)
            } else {
                TlsStart::Off
            };
            let listener = Listener {
                service: format!("{interface} port {port}"),
                protocol: Proto::Smtp,
                host: host.clone(),
                port,
                tls,
            };
            if !out.iter().any(|l| l.host == listener.host && l.port == listener.port) {
                out.push(listener);
            }
        }
    }
    // Both wildcards reach the same daemon: probing loopback once is enough.
    if out.iter().any(|l| l.host == "127.0.0.1") {
        let wildcard = interfaces.contains("0.0.0.0");
        if wildcard {
            out.retain(|l| l.host != "::1" || !interfaces.contains("::0"));
        }
    }
    out
}

/// An Exim list: `a : b`, or `<; a ; b` with another separator; `::` is a literal colon.
pub fn list(value: &str) -> Vec<String> {
    let value = value.trim();
    let (separator, body) = match value.strip_prefix('<') {
        Some(rest)
            if rest
                .chars()
                .next()
                .is_some_and(|c| !c.is_alphanumeric() && !c.is_whitespace()) =>
        {
            let c = rest.chars().next().unwrap_or(':');
            (c, &rest[c.len_utf8()..])
        }
        _ => (':', value),
    };
    let doubled = format!("{separator}{separator}");
    body.replace(&doubled, "\u{0}")
        .split(separator)
        .map(|s| s.trim().replace('\u{0}', &separator.to_string()))
        .filter(|s| !s.is_empty())
        .collect()
}

/// `127.0.0.1.2525` or `[::1]:2525` -> address and port; a bare address has none.
fn split_interface(interface: &str) -> (String, Option<u16>) {
    if let Some(rest) = interface.strip_prefix('[') {
        if let Some((host, tail)) = rest.split_once(']') {
            return (host.to_string(), tail.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    let dots = interface.matches('.').count();
    let is_v6 = interface.contains(':');
    if (dots == 4 && !is_v6) || (is_v6 && dots == 1) {
        if let Some((host, port)) = interface.rsplit_once('.') {
            if let Ok(port) = port.parse() {
                return (host.to_string(), Some(port));
            }
        }
    }
    (interface.to_string(), None)
}

fn port(name: &str) -> Option<u16> {
    match name {
        "smtp" => Some(25),
        "submission" => Some(587),
        "smtps" | "submissions" | "urd" => Some(465),
        other => other.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::exim_conf::EximConf;
    use crate::mta::exim::layout::Source;

    fn eff(text: &str) -> Effective {
        let source = Source {
            path: "t".into(),
            text: text.into(),
            conf: EximConf::parse(text).unwrap(),
        };
        Effective::evaluate(&[source], &[], &[])
    }

    #[test]
    fn defaults_are_port_25_on_every_address() {
        let found = listeners(&eff(""));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].host.as_str(), found[0].port, found[0].tls),
            ("127.0.0.1", 25, TlsStart::Starttls(Proto::Smtp))
        );
    }

    #[test]
    fn ports_interfaces_and_tls_on_connect() {
        let found = listeners(&eff(
            "daemon_smtp_ports = 25 : 465 : 587\ntls_on_connect_ports = 465\nlocal_interfaces = <; 127.0.0.1 ; [::1]:2525 ; 192.0.2.1.26\n",
        ));
        let got: Vec<(&str, u16, TlsStart)> = found.iter().map(|l| (l.host.as_str(), l.port, l.tls)).collect();
        assert_eq!(
            got,
            [
                ("127.0.0.1", 25, TlsStart::Starttls(Proto::Smtp)),
                ("127.0.0.1", 465, TlsStart::Implicit),
                ("127.0.0.1", 587, TlsStart::Starttls(Proto::Smtp)),
                ("::1", 2525, TlsStart::Starttls(Proto::Smtp)),
                ("192.0.2.1", 26, TlsStart::Starttls(Proto::Smtp)),
            ]
        );
        let off = listeners(&eff("tls_advertise_hosts =\n"));
        assert_eq!(off[0].tls, TlsStart::Off);
    }
}
