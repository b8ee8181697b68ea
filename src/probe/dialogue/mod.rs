//! The plaintext part of a connection: connect, then the SMTP, IMAP or POP3
//! dialogue up to the server's "go ahead" for STARTTLS, or nothing at all for
//! implicit TLS. Each dialogue is a chain of states that consume `self`;
//! whatever the server says is checked, never unwrapped.

mod imap;
mod lines;
mod pop3;
mod smtp;

use std::net::{TcpStream, ToSocketAddrs};

use crate::probe::wire::Wire;

pub use lines::Lines;

use super::deadline::Deadline;
use super::{Proto, ScanOptions, Target, TlsStart};

/// Why a connection did not reach the point where TLS starts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DialogueError {
    /// Name resolution or TCP connect failed: the system's words for it.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The deadline passed while waiting for `waiting_for`.
    #[error("timed out waiting for {waiting_for}")]
    Timeout { waiting_for: &'static str },
    /// The server closed the connection while we waited for `waiting_for`.
    #[error("the server closed the connection while we waited for {waiting_for}")]
    Closed { waiting_for: &'static str },
    /// A line that is not part of the protocol.
    #[error("unexpected answer while waiting for {waiting_for}: {line:?}")]
    Garbage { waiting_for: &'static str, line: String },
    /// A temporary refusal (SMTP 4xx such as 421 "too many connections"): the reply.
    #[error("the server is busy: {0:?}")]
    Busy(String),
    /// A permanent refusal (SMTP 5xx, IMAP BYE/NO, POP3 -ERR): the reply.
    #[error("the server refused us: {0:?}")]
    Rejected(String),
    /// The server does not advertise STARTTLS (STLS for POP3).
    #[error("STARTTLS not supported")]
    StarttlsNotOffered,
    /// The server advertised STARTTLS and then refused it: the reply.
    #[error("the server refused STARTTLS: {0:?}")]
    StarttlsRefused(String),
    /// Data arrived after the STARTTLS go-ahead, before the handshake (a
    /// command-injection symptom, CVE-2011-0411 style).
    #[error("the server sent data after its STARTTLS go-ahead")]
    DataAfterReady,
}

impl DialogueError {
    /// Errors worth a retry after a pause.
    pub fn is_busy(&self) -> bool {
        matches!(self, DialogueError::Busy(_))
    }
}

/// Connects to the target and runs its dialogue; the stream that comes back
/// is ready for the ClientHello.
pub fn open(target: &Target, opts: &ScanOptions, deadline: Deadline) -> Result<TcpStream, DialogueError> {
    let stream = connect(target, deadline)?;
    let _ = stream.set_nodelay(true);
    run(stream, target.starttls, &opts.ehlo, deadline)
}

/// Runs the plaintext dialogue up to the go-ahead for TLS on any wire.
pub fn run<S: Wire>(stream: S, starttls: TlsStart, ehlo: &str, deadline: Deadline) -> Result<S, DialogueError> {
    match starttls {
        // A listener without TLS is never a target; scanning one would send the hello at once too.
        TlsStart::Implicit | TlsStart::Off => Ok(stream),
        TlsStart::Starttls(Proto::Smtp) => smtp::ExpectBanner::new(Lines::new(stream, deadline))
            .read_banner()?
            .ehlo(ehlo)?
            .starttls()?
            .into_stream(),
        TlsStart::Starttls(Proto::Imap) => imap::ExpectGreeting::new(Lines::new(stream, deadline))
            .read_greeting()?
            .capability()?
            .starttls()?
            .into_stream(),
        TlsStart::Starttls(Proto::Pop3) => pop3::ExpectGreeting::new(Lines::new(stream, deadline))
            .read_greeting()?
            .capa()?
            .stls()?
            .into_stream(),
    }
}

fn connect(target: &Target, deadline: Deadline) -> Result<TcpStream, DialogueError> {
    let addrs = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| DialogueError::Connect(format!("{}: {e}", target.host)))?;
    let mut last = String::from("no address");
    for addr in addrs {
        let Some(left) = deadline.remaining() else {
            return Err(DialogueError::Timeout {
                waiting_for: "the TCP connection",
            });
        };
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => return Ok(s),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = format!("{addr}: timed out");
            }
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(DialogueError::Connect(last))
}
