//! SMTP up to STARTTLS (RFC 5321, RFC 3207): banner, EHLO, STARTTLS. One
//! command at a time, each reply read whole (multi-line replies included)
//! before the next command: pipelining trips Exim's synchronisation check.

use std::net::TcpStream;

use super::lines::{Lines, MAX_LINES};
use super::DialogueError;
use crate::probe::wire::Wire;

/// One SMTP reply: the code and its text lines.
#[derive(Debug)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn summary(&self) -> String {
        format!("{} {}", self.code, self.lines.join(" / "))
    }
}

fn read_reply<S: Wire>(lines: &mut Lines<S>, waiting_for: &'static str) -> Result<Reply, DialogueError> {
    let mut code = None;
    let mut texts = Vec::new();
    for _ in 0..MAX_LINES {
        let line = lines.line(waiting_for)?;
        let garbage = || DialogueError::Garbage {
            waiting_for,
            line: line.chars().take(200).collect(),
        };
        let digits = line.get(..3).filter(|d| d.bytes().all(|b| b.is_ascii_digit()));
        let this: u16 = digits.and_then(|d| d.parse().ok()).ok_or_else(garbage)?;
        if *code.get_or_insert(this) != this {
            return Err(garbage());
        }
        let last = match line.as_bytes().get(3) {
            None | Some(b' ') => true,
            Some(b'-') => false,
            Some(_) => return Err(garbage()),
        };
        texts.push(line.get(4..).unwrap_or("").to_string());
        if last {
            return Ok(Reply {
                code: this,
                lines: texts,
            });
        }
    }
    Err(DialogueError::Garbage {
        waiting_for,
        line: format!("a reply of more than {MAX_LINES} lines"),
    })
}

/// 4xx is temporary (421: too many connections, come back later); 5xx is final.
fn refusal(reply: &Reply) -> DialogueError {
    if (400..500).contains(&reply.code) {
        DialogueError::Busy(reply.summary())
    } else {
        DialogueError::Rejected(reply.summary())
    }
}

pub struct ExpectBanner<S: Wire = TcpStream>(Lines<S>);
pub struct ExpectEhlo<S: Wire = TcpStream>(Lines<S>);
pub struct ExpectReady<S: Wire = TcpStream>(Lines<S>);
pub struct Ready<S: Wire = TcpStream>(Lines<S>);

impl<S: Wire> ExpectBanner<S> {
    pub fn new(lines: Lines<S>) -> Self {
        ExpectBanner(lines)
    }

    pub fn read_banner(mut self) -> Result<ExpectEhlo<S>, DialogueError> {
        let reply = read_reply(&mut self.0, "the SMTP banner")?;
        if reply.code != 220 {
            return Err(refusal(&reply));
        }
        Ok(ExpectEhlo(self.0))
    }
}

impl<S: Wire> ExpectEhlo<S> {
    /// Sends EHLO and checks that STARTTLS is among the extensions.
    pub fn ehlo(mut self, name: &str) -> Result<ExpectReady<S>, DialogueError> {
        self.0.send(&format!("EHLO {name}"), "the EHLO reply")?;
        let reply = read_reply(&mut self.0, "the EHLO reply")?;
        if reply.code != 250 {
            // A server that does not know EHLO knows no extensions, STARTTLS included.
            if (500..=504).contains(&reply.code) {
                return Err(DialogueError::StarttlsNotOffered);
            }
            return Err(refusal(&reply));
        }
        let offered = reply.lines.iter().skip(1).any(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|kw| kw.eq_ignore_ascii_case("STARTTLS"))
        });
        if !offered {
            return Err(DialogueError::StarttlsNotOffered);
        }
        Ok(ExpectReady(self.0))
    }
}

impl<S: Wire> ExpectReady<S> {
    pub fn starttls(mut self) -> Result<Ready<S>, DialogueError> {
        self.0.send("STARTTLS", "the STARTTLS reply")?;
        let reply = read_reply(&mut self.0, "the STARTTLS reply")?;
        match reply.code {
            220 => Ok(Ready(self.0)),
            421 => Err(refusal(&reply)),
            _ => Err(DialogueError::StarttlsRefused(reply.summary())),
        }
    }
}

impl<S: Wire> Ready<S> {
    pub fn into_stream(self) -> Result<S, DialogueError> {
        self.0.into_stream()
    }
}
