//! IMAP up to STARTTLS (RFC 9051, RFC 2595): greeting, CAPABILITY, STARTTLS.

use std::net::TcpStream;

use super::lines::{Lines, MAX_LINES};
use super::DialogueError;
use crate::probe::wire::Wire;

pub struct ExpectGreeting<S: Wire = TcpStream>(Lines<S>);
pub struct ExpectCapability<S: Wire = TcpStream>(Lines<S>);
pub struct ExpectReady<S: Wire = TcpStream>(Lines<S>);
pub struct Ready<S: Wire = TcpStream>(Lines<S>);

fn garbage(waiting_for: &'static str, line: &str) -> DialogueError {
    DialogueError::Garbage {
        waiting_for,
        line: line.chars().take(200).collect(),
    }
}

/// Reads untagged lines until the tagged completion; returns (untagged, completion).
fn tagged<S: Wire>(
    lines: &mut Lines<S>,
    tag: &str,
    waiting_for: &'static str,
) -> Result<(Vec<String>, String), DialogueError> {
    let mut untagged = Vec::new();
    for _ in 0..MAX_LINES {
        let line = lines.line(waiting_for)?;
        if let Some(rest) = line.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')) {
            return Ok((untagged, rest.to_string()));
        }
        if line.starts_with("* BYE") {
            return Err(DialogueError::Busy(line));
        }
        if !line.starts_with("* ") {
            return Err(garbage(waiting_for, &line));
        }
        untagged.push(line);
    }
    Err(garbage(waiting_for, "too many lines"))
}

impl<S: Wire> ExpectGreeting<S> {
    pub fn new(lines: Lines<S>) -> Self {
        ExpectGreeting(lines)
    }

    pub fn read_greeting(mut self) -> Result<ExpectCapability<S>, DialogueError> {
        let line = self.0.line("the IMAP greeting")?;
        if line.starts_with("* OK") {
            Ok(ExpectCapability(self.0))
        } else if line.starts_with("* BYE") {
            Err(DialogueError::Busy(line))
        } else if line.starts_with("* PREAUTH") {
            // Already authenticated: STARTTLS is no longer allowed (RFC 9051 6.2.1).
            Err(DialogueError::StarttlsNotOffered)
        } else {
            Err(garbage("the IMAP greeting", &line))
        }
    }
}

impl<S: Wire> ExpectCapability<S> {
    pub fn capability(mut self) -> Result<ExpectReady<S>, DialogueError> {
        self.0.send("a1 CAPABILITY", "the CAPABILITY reply")?;
        let (untagged, done) = tagged(&mut self.0, "a1", "the CAPABILITY reply")?;
        if !done.starts_with("OK") {
            return Err(DialogueError::Rejected(done));
        }
        let offered = untagged
            .iter()
            .filter(|l| l.starts_with("* CAPABILITY"))
            .flat_map(|l| l.split_whitespace())
            .any(|c| c.eq_ignore_ascii_case("STARTTLS"));
        if !offered {
            return Err(DialogueError::StarttlsNotOffered);
        }
        Ok(ExpectReady(self.0))
    }
}

impl<S: Wire> ExpectReady<S> {
    pub fn starttls(mut self) -> Result<Ready<S>, DialogueError> {
        self.0.send("a2 STARTTLS", "the STARTTLS reply")?;
        let (_, done) = tagged(&mut self.0, "a2", "the STARTTLS reply")?;
        if !done.starts_with("OK") {
            return Err(DialogueError::StarttlsRefused(done));
        }
        Ok(Ready(self.0))
    }
}

impl<S: Wire> Ready<S> {
    pub fn into_stream(self) -> Result<S, DialogueError> {
        self.0.into_stream()
    }
}
