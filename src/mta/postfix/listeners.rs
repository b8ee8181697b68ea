//! The TLS listeners a Postfix instance declares: every `inet` service in
//! master.cf that runs smtpd or postscreen, with its address, its port and
//! how it starts TLS, after `-o` overrides.

use crate::edit::postfix_main::MainCf;
use crate::edit::postfix_master::{MasterCf, Service};
use crate::mta::{Listener, Proto, TlsStart};

/// The listeners of an instance, as a local probe reaches them.
pub fn listeners(main: &MainCf, master: &MasterCf) -> Vec<Listener> {
    master.services().iter().filter_map(|s| listener_of(s, main)).collect()
}

/// The listener a service declares: an `inet` service running smtpd or postscreen.
pub fn listener_of(s: &Service, main: &MainCf) -> Option<Listener> {
    if s.kind != "inet" || (s.command != "smtpd" && s.command != "postscreen") {
        return None;
    }
    let (host, port) = address(&s.name, main)?;
    Some(Listener {
        service: s.name.clone(),
        protocol: Proto::Smtp,
        host,
        port,
        tls: tls_mode(s, main),
    })
}

/// How the service starts TLS, from its overrides or main.cf.
pub fn tls_mode(service: &Service, main: &MainCf) -> TlsStart {
    let setting = |name: &str| service.override_of(name).or_else(|| main.get(name)).unwrap_or_default();
    if setting("smtpd_tls_wrappermode") == "yes" {
        return TlsStart::Implicit;
    }
    let level = setting("smtpd_tls_security_level");
    let legacy_on = setting("smtpd_use_tls") == "yes" || setting("smtpd_enforce_tls") == "yes";
    match level.as_str() {
        "may" | "encrypt" => TlsStart::Starttls(Proto::Smtp),
        "" if legacy_on => TlsStart::Starttls(Proto::Smtp),
        _ => TlsStart::Off,
    }
}

/// `smtp`, `127.0.0.1:2525`, `[::1]:submission` -> a host and port to probe.
fn address(name: &str, main: &MainCf) -> Option<(String, u16)> {
    let (host, service) = match name.rsplit_once(':') {
        Some((host, service)) => (host.trim_start_matches('[').trim_end_matches(']').to_string(), service),
        None => (String::new(), name),
    };
    let port = match service.parse::<u16>() {
        Ok(port) => port,
        Err(_) => well_known_port(service)?,
    };
    let host = if host.is_empty() || host == "*" {
        interface(main)
    } else {
        host
    };
    Some((host, port))
}

/// Where the default listeners are reached: loopback unless `inet_interfaces` excludes it.
fn interface(main: &MainCf) -> String {
    let interfaces = main.get("inet_interfaces").unwrap_or_else(|| "all".into());
    let list: Vec<&str> = interfaces.split([',', ' ']).filter(|s| !s.is_empty()).collect();
    let loopback = list
        .iter()
        .any(|i| matches!(*i, "all" | "loopback-only" | "localhost" | "127.0.0.1"));
    match list.first() {
        Some(first) if !loopback => first.trim_start_matches('[').trim_end_matches(']').to_string(),
        _ => "127.0.0.1".into(),
    }
}

fn well_known_port(service: &str) -> Option<u16> {
    match service {
        "smtp" => Some(25),
        "submission" => Some(587),
        "submissions" | "smtps" | "urd" => Some(465),
        other => services_file_port(other),
    }
}

fn services_file_port(service: &str) -> Option<u16> {
    let text = std::fs::read_to_string("/etc/services").ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split('#').next()?.split_whitespace();
        let name = fields.next()?;
        let port = fields.next()?.strip_suffix("/tcp")?;
        (name == service || fields.any(|alias| alias == service))
            .then(|| port.parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_stock_has_one_starttls_listener_on_25() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/debian-12");
        let main = MainCf::parse(&std::fs::read_to_string(format!("{dir}/main.cf")).unwrap()).unwrap();
        let master = MasterCf::parse(&std::fs::read_to_string(format!("{dir}/master.cf")).unwrap()).unwrap();
        let found = listeners(&main, &master);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].host.as_str(), found[0].port, found[0].tls),
            ("127.0.0.1", 25, TlsStart::Starttls(Proto::Smtp))
        );
    }

    #[test]
    fn overrides_decide_wrapper_mode_and_addresses() {
        let main = MainCf::parse("smtpd_tls_security_level = may\ninet_interfaces = 192.0.2.1\n").unwrap();
        let master = MasterCf::parse(
            "submissions inet n - y - - smtpd\n  -o smtpd_tls_wrappermode=yes\n[::1]:2525 inet n - y - - smtpd\n  -o smtpd_tls_security_level=none\n",
        )
        .unwrap();
        let found = listeners(&main, &master);
        assert_eq!(
            (found[0].host.as_str(), found[0].port, found[0].tls),
            ("192.0.2.1", 465, TlsStart::Implicit)
        );
        assert_eq!(
            (found[1].host.as_str(), found[1].port, found[1].tls),
            ("::1", 2525, TlsStart::Off)
        );
    }
}
