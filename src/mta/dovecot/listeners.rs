//! Dovecot's IMAP and POP3 listeners: the `protocols` enabled, the default
//! ports (143/993, 110/995), and `service X-login { inet_listener NAME
//! { port, ssl, address } }` blocks that move, add or disable (port 0) them.

use crate::mta::{Listener, Proto, TlsStart};

use super::tree::ConfTree;

struct Found {
    name: String,
    port: u16,
    implicit: bool,
    address: Option<String>,
}

/// The listeners as the config stands.
pub fn listeners(tree: &ConfTree) -> Vec<Listener> {
    listeners_with(tree, tree.global_value("ssl").as_deref() != Some("no"))
}

/// The listeners, with TLS on or off everywhere (`ssl = yes|no`).
pub fn listeners_with(tree: &ConfTree, ssl_on: bool) -> Vec<Listener> {
    let protocols = tree.protocols();
    let ssl_off = !ssl_on;
    let listen = host(tree.global_value("listen").as_deref().unwrap_or("*, ::"));
    let mut out = Vec::new();
    for (proto, plain, implicit) in [(Proto::Imap, 143, 993), (Proto::Pop3, 110, 995)] {
        let protocol = proto.name();
        if !protocols.iter().any(|p| p == protocol) {
            continue;
        }
        let service = format!("{protocol}-login");
        let mut found = vec![
            Found {
                name: protocol.into(),
                port: plain,
                implicit: false,
                address: None,
            },
            Found {
                name: format!("{protocol}s"),
                port: implicit,
                implicit: true,
                address: None,
            },
        ];
        for placed in &tree.flat {
            let Some((key, value)) = placed.setting() else { continue };
            let [(s, Some(sarg)), (l, Some(name))] = placed.entry.sections.as_slice() else {
                continue;
            };
            if s != "service" || sarg != &service || l != "inet_listener" {
                continue;
            }
            let index = match found.iter().position(|f| &f.name == name) {
                Some(i) => i,
                None => {
                    found.push(Found {
                        name: name.clone(),
                        port: 0,
                        implicit: false,
                        address: None,
                    });
                    found.len() - 1
                }
            };
            match key {
                "port" => found[index].port = value.parse().unwrap_or(0),
                "ssl" => found[index].implicit = value == "yes",
                "address" => found[index].address = Some(host(value)),
                _ => {}
            }
        }
        for f in found.into_iter().filter(|f| f.port != 0) {
            let tls = match (ssl_off, f.implicit) {
                (true, _) => TlsStart::Off,
                (false, true) => TlsStart::Implicit,
                (false, false) => TlsStart::Starttls(proto),
            };
            out.push(Listener {
                service: format!("{service}/{}", f.name),
                protocol: proto,
                host: f.address.unwrap_or_else(|| listen.clone()),
                port: f.port,
                tls,
            });
        }
    }
    out
}

/// Where a local probe reaches a `listen`/`address` list: loopback when it is covered.
fn host(listen: &str) -> String {
    let list: Vec<&str> = listen.split([',', ' ']).filter(|s| !s.is_empty()).collect();
    let loopback = list.is_empty()
        || list
            .iter()
            .any(|a| matches!(*a, "*" | "::" | "127.0.0.1" | "localhost"));
    match list.first() {
        Some(first) if !loopback => first.trim_start_matches('[').trim_end_matches(']').to_string(),
        _ => "127.0.0.1".into(),
    }
}
