//! Connections to one target, paced: at most N open at once, and when the
//! server says it is busy (SMTP 421, IMAP BYE, POP3 -ERR greeting) the
//! connector pauses, lowers N, and tries again, instead of hammering a
//! server that asked for restraint.

use std::io::Write;
use std::net::TcpStream;
use std::sync::{Condvar, Mutex};

use super::answer::{self, Answer, AnswerError, Depth};
use super::deadline::Deadline;
use super::dialogue::{self, DialogueError};
use super::{ScanOptions, Target};

/// Why one hello got no answer worth reading.
#[derive(Debug)]
pub enum ConnectError {
    Dialogue(DialogueError),
    Answer(AnswerError),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Dialogue(e) => e.fmt(f),
            ConnectError::Answer(e) => e.fmt(f),
        }
    }
}

pub struct Connector<'a> {
    pub target: &'a Target,
    pub opts: &'a ScanOptions,
    /// (open now, allowed at once)
    slots: Mutex<(usize, usize)>,
    freed: Condvar,
}

/// An open slot; gives it back on drop.
struct Slot<'c, 'a>(&'c Connector<'a>);

impl Drop for Slot<'_, '_> {
    fn drop(&mut self) {
        let mut s = self.0.slots.lock().unwrap_or_else(|p| p.into_inner());
        s.0 -= 1;
        self.0.freed.notify_one();
    }
}

impl<'a> Connector<'a> {
    pub fn new(target: &'a Target, opts: &'a ScanOptions) -> Self {
        Connector {
            target,
            opts,
            slots: Mutex::new((0, opts.connections_per_target.max(1))),
            freed: Condvar::new(),
        }
    }

    fn slot(&self) -> Slot<'_, 'a> {
        let mut s = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        while s.0 >= s.1 {
            s = self.freed.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        s.0 += 1;
        Slot(self)
    }

    /// Allows fewer connections at once (never fewer than one).
    fn back_off(&self) {
        let mut s = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        s.1 = (s.1 / 2).max(1);
    }

    /// The connections allowed at once now (lowered by busy answers).
    pub fn allowed(&self) -> usize {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).1
    }

    /// Opens a connection that is ready for TLS and runs `then` on it,
    /// retrying with growing pauses while the server says it is busy.
    pub fn with_stream<T>(
        &self,
        then: impl Fn(&mut TcpStream, Deadline) -> Result<T, ConnectError>,
    ) -> Result<T, ConnectError> {
        let mut pause = self.opts.busy_pause;
        let mut attempt = 0;
        loop {
            let slot = self.slot();
            let deadline = Deadline::after(self.opts.timeout);
            match dialogue::open(self.target, self.opts, deadline) {
                Ok(mut stream) => {
                    let result = then(&mut stream, deadline);
                    drop(slot);
                    return result;
                }
                Err(e) if e.is_busy() && attempt < self.opts.busy_retries => {
                    drop(slot);
                    self.back_off();
                    std::thread::sleep(pause);
                    pause *= 2;
                    attempt += 1;
                }
                Err(e) => return Err(ConnectError::Dialogue(e)),
            }
        }
    }

    /// Sends one raw hello and reads the answer.
    pub fn hello(&self, record: &[u8], depth: Depth) -> Result<Answer, ConnectError> {
        self.with_stream(|stream, deadline| {
            if stream.write_all(record).is_err() {
                return Ok(Answer::Closed);
            }
            answer::read(stream, deadline, depth).map_err(ConnectError::Answer)
        })
    }

    /// Sends an SSLv2 CLIENT-HELLO and reads the answer.
    pub fn sslv2_hello(&self, record: &[u8]) -> Result<Answer, ConnectError> {
        self.with_stream(|stream, deadline| {
            if stream.write_all(record).is_err() {
                return Ok(Answer::Closed);
            }
            answer::read_sslv2(stream, deadline, super::sslv2::parse_server_hello).map_err(ConnectError::Answer)
        })
    }
}
