//! The `SERVICES` section of cyrus.conf: which programs master starts, on
//! which sockets. Each entry is one line, `name cmd="PROGRAM ARGS"
//! listen="WHERE" ...`, and `#` starts a comment outside quotes. `listen` is
//! a port or a service name from /etc/services, `host:port`, `[v6]:port`,
//! or an absolute path (a Unix socket, which no probe reaches).
//!
//! A service reads the imapd.conf its `cmd` names with `-C`, else the
//! compiled-in /etc/imapd.conf: master does not pass its own `-C` on.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::mta::{Listener, Proto, TlsStart};

/// One `SERVICES` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    pub name: String,
    /// The program and its arguments.
    pub cmd: Vec<String>,
    pub listen: String,
    /// 1-based line in cyrus.conf.
    pub line: usize,
}

impl Service {
    /// `imap` for imapd and its Murder proxy, `pop3` for pop3d and its proxy.
    pub fn protocol(&self) -> Option<&'static str> {
        let program = self.cmd.first()?;
        match Path::new(program).file_name()?.to_str()? {
            "imapd" | "proxyd" => Some("imap"),
            "pop3d" | "pop3proxyd" => Some("pop3"),
            _ => None,
        }
    }

    /// `-s`: TLS from the first byte (imaps, pop3s).
    pub fn implicit_tls(&self) -> bool {
        self.cmd.iter().skip(1).any(|a| a == "-s")
    }

    /// The imapd.conf this service reads (`-C FILE`, else /etc/imapd.conf).
    pub fn config(&self) -> PathBuf {
        let at = self.cmd.iter().position(|a| a == "-C");
        let named = at.and_then(|i| self.cmd.get(i + 1)).map(PathBuf::from);
        named.unwrap_or_else(|| PathBuf::from(super::DEFAULT_CONFIG))
    }

    /// Where a local probe reaches it; `None` for a Unix socket or a name /etc/services lacks.
    pub fn address(&self) -> Option<(String, u16)> {
        if self.listen.starts_with('/') {
            return None;
        }
        let (host, port) = match self.listen.rsplit_once(':') {
            Some((host, port)) => (host.trim_start_matches('[').trim_end_matches(']'), port),
            None => ("", self.listen.as_str()),
        };
        let port = port.parse().ok().or_else(|| service_port(port))?;
        let host = match host {
            "" | "*" | "0.0.0.0" | "localhost" | "::" => "127.0.0.1",
            "ip6-localhost" => "::1",
            other => other,
        };
        Some((host.to_string(), port))
    }

    /// The listener it is, with TLS on or off.
    pub fn listener(&self, tls_on: bool) -> Option<Listener> {
        let protocol: Proto = self.protocol()?.parse().ok()?;
        let (host, port) = self.address()?;
        Some(Listener {
            service: self.name.clone(),
            protocol,
            host,
            port,
            tls: match (tls_on, self.implicit_tls()) {
                (false, _) => TlsStart::Off,
                (true, true) => TlsStart::Implicit,
                (true, false) => TlsStart::Starttls(protocol),
            },
        })
    }
}

/// A TCP port by its name in /etc/services (what Cyrus's getaddrinfo finds).
fn service_port(name: &str) -> Option<u16> {
    let known = match name {
        "imap" | "imap2" => Some(143),
        "imaps" => Some(993),
        "pop3" | "pop-3" => Some(110),
        "pop3s" => Some(995),
        _ => None,
    };
    let text = std::fs::read_to_string("/etc/services").unwrap_or_default();
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let (first, port) = (words.next()?, words.next()?);
            let (port, proto) = port.split_once('/')?;
            (proto == "tcp" && (first == name || words.any(|alias| alias == name))).then(|| port.parse().ok())?
        })
        .next()
        .or(known)
}

/// The words of one line: blanks separate them, `"..."` quotes, `#` outside quotes ends the line.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            '#' if !quoted => break,
            c if c.is_whitespace() && !quoted => {
                if started {
                    out.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(word);
    }
    out
}

/// The entries of cyrus.conf's `SERVICES` section.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Service>> {
    let mut section: Option<String> = None;
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let w = words(line);
        let fail = |message: String| Error::Parse {
            path: path.to_path_buf(),
            line: index + 1,
            message,
        };
        match w.as_slice() {
            [] => {}
            [name, brace] if brace == "{" => {
                if section.is_some() {
                    return Err(fail(format!("section {name} opens inside another section")));
                }
                section = Some(name.to_ascii_uppercase());
            }
            [brace] if brace == "}" => {
                section.take().ok_or_else(|| fail("'}' closes no section".into()))?;
            }
            [name, options @ ..] if section.as_deref() == Some("SERVICES") => {
                let value = |key: &str| {
                    options
                        .iter()
                        .find_map(|o| o.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
                        .map(str::to_string)
                };
                let cmd = value("cmd").ok_or_else(|| fail(format!("service {name} has no cmd=")))?;
                out.push(Service {
                    name: name.clone(),
                    cmd: cmd.split_whitespace().map(str::to_string).collect(),
                    listen: value("listen").unwrap_or_default(),
                    line: index + 1,
                });
            }
            _ => {}
        }
    }
    if section.is_some() {
        return Err(Error::Parse {
            path: path.to_path_buf(),
            line: text.lines().count(),
            message: "a section is not closed at the end of the file".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_and_their_listeners() {
        let text = "START {\n  recover cmd=\"ctl_cyrusdb -r\"\n}\nSERVICES {\n  # imaps cmd=\"imapd -s\" listen=\"imaps\"\n  imap\t\tcmd=\"imapd -U 30\" listen=\"imap\" prefork=0\n  pop3s cmd=\"/usr/lib/cyrus/bin/pop3d -s -C /srv/imapd.conf\" listen=\"[::1]:2995\"\n  lmtpunix cmd=\"lmtpd\" listen=\"/run/cyrus/socket/lmtp\"\n  sieve cmd=\"timsieved\" listen=\"localhost:sieve\" # ManageSieve\n}\nEVENTS {\n}\n";
        let services = parse(Path::new("cyrus.conf"), text).unwrap();
        assert_eq!(
            services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["imap", "pop3s", "lmtpunix", "sieve"]
        );
        let imap = services[0].listener(true).unwrap();
        assert_eq!(
            (imap.host.as_str(), imap.port, imap.tls),
            ("127.0.0.1", 143, TlsStart::Starttls(Proto::Imap))
        );
        let pop3s = services[1].listener(true).unwrap();
        assert_eq!(
            (pop3s.host.as_str(), pop3s.port, pop3s.tls),
            ("::1", 2995, TlsStart::Implicit)
        );
        assert_eq!(services[1].config(), PathBuf::from("/srv/imapd.conf"));
        assert_eq!(services[0].config(), PathBuf::from("/etc/imapd.conf"));
        assert!(services[2].listener(true).is_none() && services[3].listener(true).is_none());
        assert!(parse(Path::new("c"), "SERVICES {\n imap listen=\"imap\"\n}\n").is_err());
        assert!(parse(Path::new("c"), "SERVICES {\n").is_err());
    }
}
