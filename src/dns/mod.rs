//! A DNSSEC-aware stub resolver client: asks one recursive resolver (from
//! `--resolver`, else the first `nameserver` of /etc/resolv.conf) over UDP,
//! retrying over TCP when the answer is truncated, with the AD and DO bits
//! set. It validates nothing itself: like Postfix with
//! `smtp_dns_support_level = dnssec`, it trusts the AD bit of a validating
//! resolver, and calls an answer secure only when that bit is set.
//!
//! A failed lookup is an `Answer` too (`rcode` SERVFAIL, or `error` for a
//! timeout): callers report it, never crash on it. Messages are encoded and
//! decoded by hickory-proto; this module owns only the sockets.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// How long one query may take, per transport.
const TIMEOUT: Duration = Duration::from_secs(5);

/// One recursive resolver and the port it answers on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolver {
    pub addr: SocketAddr,
}

/// What a lookup gave: the records of the asked type (empty for NXDOMAIN or
/// NODATA), whether the resolver vouched for them (AD), or why it failed.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    pub records: Vec<Record>,
    /// The AD bit: the resolver validated the answer (or its denial).
    pub secure: bool,
    /// NOERROR, NXDOMAIN, SERVFAIL, ...
    pub rcode: String,
    /// Set when there is no usable answer (SERVFAIL, a timeout, a bad reply).
    pub error: Option<String>,
}

impl Answer {
    fn failed(error: String) -> Answer {
        Answer {
            error: Some(error),
            ..Answer::default()
        }
    }

    /// The name does not exist or has no record of the type: not an error.
    pub fn is_empty(&self) -> bool {
        self.error.is_none() && self.records.is_empty()
    }
}

/// A `--resolver` value that is no address.
#[derive(Debug, thiserror::Error)]
#[error("--resolver {0:?}: expected ADDR or ADDR:PORT, e.g. 127.0.0.1 or 127.0.0.1:5301 or [::1]:53")]
pub struct BadResolver(String);

/// Why a query got no answer.
#[derive(Debug, thiserror::Error)]
enum QueryError {
    #[error("no answer (timeout)")]
    Timeout,
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("unreadable answer: {0}")]
    Unreadable(hickory_proto::ProtoError),
    #[error("query too long")]
    TooLong,
    #[error(transparent)]
    Encode(hickory_proto::ProtoError),
}

impl Resolver {
    /// `ADDR[:PORT]` (port 53 by default; an IPv6 address with a port is `[ADDR]:PORT`).
    pub fn parse(text: &str) -> Result<Resolver, BadResolver> {
        let bad = || BadResolver(text.to_string());
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Ok(Resolver { addr });
        }
        let ip: IpAddr = text
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| bad())?;
        Ok(Resolver {
            addr: SocketAddr::new(ip, 53),
        })
    }

    /// `--resolver` when given, else the system's first nameserver, else 127.0.0.1.
    pub fn from_option(option: Option<&str>) -> Result<Resolver, BadResolver> {
        match option {
            Some(text) => Resolver::parse(text),
            None => Ok(Resolver::system()),
        }
    }

    /// The first `nameserver` line of /etc/resolv.conf (127.0.0.1 without one).
    pub fn system() -> Resolver {
        let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        let ip = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("nameserver"))
            .filter_map(|rest| rest.trim().split('%').next()?.parse::<IpAddr>().ok())
            .next()
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        Resolver {
            addr: SocketAddr::new(ip, 53),
        }
    }

    /// Asks for `name`'s records of type `rtype`. Never fails: a failure is
    /// in the answer's `error`.
    pub fn lookup(&self, name: &str, rtype: RecordType) -> Answer {
        let fqdn = match Name::from_ascii(name).map(|n| n.append_domain(&Name::root())) {
            Ok(Ok(n)) => n,
            _ => return Answer::failed(format!("{rtype} lookup of {name:?}: not a domain name")),
        };
        let query = match build_query(&fqdn, rtype) {
            Ok(q) => q,
            Err(e) => return Answer::failed(format!("{rtype} lookup of {name}: {e}")),
        };
        let reply = match self
            .udp(&query)
            .and_then(|m| if m.truncated() { self.tcp(&query) } else { Ok(m) })
        {
            Ok(m) => m,
            Err(e) => return Answer::failed(format!("{rtype} lookup of {name} at {}: {e}", self.addr)),
        };
        let rcode = reply.response_code();
        let mut answer = Answer {
            records: reply
                .answers()
                .iter()
                .filter(|r| r.record_type() == rtype)
                .cloned()
                .collect(),
            secure: reply.authentic_data(),
            rcode: rcode.to_string(),
            error: None,
        };
        match rcode {
            ResponseCode::NoError | ResponseCode::NXDomain => {}
            ResponseCode::ServFail => {
                answer.error = Some(format!(
                    "{rtype} lookup of {name} SERVFAIL: DNSSEC broken or the zone unreachable"
                ))
            }
            other => answer.error = Some(format!("{rtype} lookup of {name}: {other}")),
        }
        answer
    }

    /// The MX hosts of `domain`, by preference, and whether the answer was secure.
    pub fn mx(&self, domain: &str) -> (Vec<String>, Answer) {
        let answer = self.lookup(domain, RecordType::MX);
        let mut hosts: Vec<(u16, String)> = answer
            .records
            .iter()
            .filter_map(|r| match r.data() {
                RData::MX(mx) => Some((mx.preference(), name_text(mx.exchange()))),
                _ => None,
            })
            .collect();
        hosts.sort();
        (hosts.into_iter().map(|(_, h)| h).collect(), answer)
    }

    /// The A and AAAA addresses of `host` (errors of either lookup in the list).
    pub fn addresses(&self, host: &str) -> (Vec<IpAddr>, Vec<String>) {
        let mut addrs = Vec::new();
        let mut errors = Vec::new();
        for rtype in [RecordType::A, RecordType::AAAA] {
            let answer = self.lookup(host, rtype);
            errors.extend(answer.error.clone());
            addrs.extend(answer.records.iter().filter_map(|r| match r.data() {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                _ => None,
            }));
        }
        (addrs, errors)
    }

    /// The TXT strings of `name`, each record's strings joined.
    pub fn txt(&self, name: &str) -> (Vec<String>, Answer) {
        let answer = self.lookup(name, RecordType::TXT);
        let texts = answer
            .records
            .iter()
            .filter_map(|r| match r.data() {
                RData::TXT(txt) => Some(
                    txt.txt_data()
                        .iter()
                        .map(|part| String::from_utf8_lossy(part).into_owned())
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect();
        (texts, answer)
    }

    fn udp(&self, query: &[u8]) -> Result<Message, QueryError> {
        let local: SocketAddr = if self.addr.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local)?;
        socket.set_read_timeout(Some(TIMEOUT))?;
        socket.connect(self.addr)?;
        socket.send(query)?;
        let mut buf = vec![0u8; 65535];
        loop {
            let n = socket.recv(&mut buf).map_err(|e| match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => QueryError::Timeout,
                _ => e.into(),
            })?;
            let reply = Message::from_vec(&buf[..n]).map_err(QueryError::Unreadable)?;
            // A stray datagram with another id is not our answer: keep waiting.
            if reply.id() == query_id(query) {
                return Ok(reply);
            }
        }
    }

    fn tcp(&self, query: &[u8]) -> Result<Message, QueryError> {
        let mut stream = TcpStream::connect_timeout(&self.addr, TIMEOUT)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        let len = u16::try_from(query.len()).map_err(|_| QueryError::TooLong)?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(query);
        stream.write_all(&framed)?;
        let mut len = [0u8; 2];
        stream.read_exact(&mut len)?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut buf)?;
        Message::from_vec(&buf).map_err(QueryError::Unreadable)
    }
}

/// A name as text, without the root's trailing dot.
pub fn name_text(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

fn query_id(query: &[u8]) -> u16 {
    u16::from_be_bytes([query[0], query[1]])
}

fn build_query(name: &Name, rtype: RecordType) -> Result<Vec<u8>, QueryError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let id = (nanos ^ std::process::id().rotate_left(16)) as u16;
    let mut message = Message::new();
    message
        .set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        // RFC 6840 5.7: AD in a query asks for the AD bit in the answer; DO asks for DNSSEC records.
        .set_authentic_data(true)
        .add_query(Query::query(name.clone(), rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(1232).set_dnssec_ok(true);
    message.set_edns(edns);
    message.to_vec().map_err(QueryError::Encode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_option_takes_an_address_with_or_without_port() {
        assert_eq!(
            Resolver::parse("127.0.0.1").unwrap().addr,
            "127.0.0.1:53".parse().unwrap()
        );
        assert_eq!(
            Resolver::parse("127.0.0.1:5301").unwrap().addr,
            "127.0.0.1:5301".parse().unwrap()
        );
        assert_eq!(Resolver::parse("[::1]:53").unwrap().addr, "[::1]:53".parse().unwrap());
        assert_eq!(Resolver::parse("::1").unwrap().addr, "[::1]:53".parse().unwrap());
        assert!(Resolver::parse("dns.example").is_err());
    }

    #[test]
    fn a_resolver_that_does_not_answer_is_an_answer_with_an_error() {
        // Nothing listens on the discard port of 127.0.0.1 over UDP: ICMP refuses it.
        let answer = Resolver::parse("127.0.0.1:9")
            .unwrap()
            .lookup("mx.example.test", RecordType::TLSA);
        assert!(answer.error.is_some() && !answer.secure);
    }
}
