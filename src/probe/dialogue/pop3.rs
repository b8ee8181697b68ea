//! POP3 up to STLS (RFC 1939, RFC 2449, RFC 2595): greeting, CAPA, STLS.

use std::net::TcpStream;

use super::lines::{Lines, MAX_LINES};
use super::DialogueError;
use crate::probe::wire::Wire;

pub struct ExpectGreeting<S: Wire = TcpStream>(Lines<S>);
pub struct ExpectCapa<S: Wire = TcpStream>(Lines<S>);
pub struct ExpectReady<S: Wire = TcpStream>(Lines<S>);
pub struct Ready<S: Wire = TcpStream>(Lines<S>);

fn status(line: String, waiting_for: &'static str) -> Result<String, DialogueError> {
    if line.starts_with("+OK") {
        Ok(line)
    } else if line.starts_with("-ERR") {
        Err(DialogueError::Rejected(line))
    } else {
        Err(DialogueError::Garbage {
            waiting_for,
            line: line.chars().take(200).collect(),
        })
    }
}

impl<S: Wire> ExpectGreeting<S> {
    pub fn new(lines: Lines<S>) -> Self {
        ExpectGreeting(lines)
    }

    pub fn read_greeting(mut self) -> Result<ExpectCapa<S>, DialogueError> {
        let line = self.0.line("the POP3 greeting")?;
        match status(line, "the POP3 greeting") {
            Ok(_) => Ok(ExpectCapa(self.0)),
            // A greeting of -ERR is how POP3 servers say "busy, go away".
            Err(DialogueError::Rejected(l)) => Err(DialogueError::Busy(l)),
            Err(e) => Err(e),
        }
    }
}

impl<S: Wire> ExpectCapa<S> {
    pub fn capa(mut self) -> Result<ExpectReady<S>, DialogueError> {
        self.0.send("CAPA", "the CAPA reply")?;
        let first = self.0.line("the CAPA reply")?;
        if first.starts_with("-ERR") {
            // No CAPA: no way to advertise STLS.
            return Err(DialogueError::StarttlsNotOffered);
        }
        status(first, "the CAPA reply")?;
        let mut offered = false;
        for _ in 0..MAX_LINES {
            let line = self.0.line("the CAPA list")?;
            if line == "." {
                return if offered {
                    Ok(ExpectReady(self.0))
                } else {
                    Err(DialogueError::StarttlsNotOffered)
                };
            }
            offered |= line.eq_ignore_ascii_case("STLS");
        }
        Err(DialogueError::Garbage {
            waiting_for: "the CAPA list",
            line: "too many lines".into(),
        })
    }
}

impl<S: Wire> ExpectReady<S> {
    pub fn stls(mut self) -> Result<Ready<S>, DialogueError> {
        self.0.send("STLS", "the STLS reply")?;
        let line = self.0.line("the STLS reply")?;
        match status(line, "the STLS reply") {
            Ok(_) => Ok(Ready(self.0)),
            Err(DialogueError::Rejected(l)) => Err(DialogueError::StarttlsRefused(l)),
            Err(e) => Err(e),
        }
    }
}

impl<S: Wire> Ready<S> {
    pub fn into_stream(self) -> Result<S, DialogueError> {
        self.0.into_stream()
    }
}
