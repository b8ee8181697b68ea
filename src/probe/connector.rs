//! Connections to one target, paced: at most N open at once, and when the
//! server says it is busy (SMTP 421, IMAP BYE, POP3 -ERR greeting) the
//! connector pauses, lowers N, and tries again, instead of hammering a
//! server that asked for restraint. Once the target has shown it works, a
//! connection that is refused, reset or dropped before its answer is
//! retried the same way: such a connection says nothing about a suite, and
//! when the retries run out the caller gets the error, never a refusal.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use super::answer::{self, Answer, AnswerError, Depth};
use super::deadline::Deadline;
use super::dialogue::{self, DialogueError};
use super::{ScanOptions, Target};

/// Why one hello got no answer worth reading.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Dialogue(#[from] DialogueError),
    #[error(transparent)]
    Answer(#[from] AnswerError),
}

pub struct Connector<'a> {
    pub target: &'a Target,
    pub opts: &'a ScanOptions,
    /// (open now, allowed at once)
    slots: Mutex<(usize, usize)>,
    freed: Condvar,
    /// A dialogue reached the go-ahead once: later failures are transient.
    proven: AtomicBool,
    /// Connections opened, retries included.
    opened: AtomicUsize,
    /// Retries made after busy answers and dropped connections.
    retried: AtomicUsize,
    /// Connections that reached the go-ahead: a retry that sees this grow
    /// while it waited knows the server still serves, just not everyone at once.
    served: AtomicUsize,
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
            proven: AtomicBool::new(false),
            opened: AtomicUsize::new(0),
            retried: AtomicUsize::new(0),
            served: AtomicUsize::new(0),
        }
    }

    /// Connections opened so far, retries included.
    pub fn opened(&self) -> usize {
        self.opened.load(Ordering::Relaxed)
    }

    /// Connections that were retried (busy answers, drops).
    pub fn retried(&self) -> usize {
        self.retried.load(Ordering::Relaxed)
    }

    /// Whether a failure is worth another try: busy answers always; refused,
    /// reset or dropped connections once the target has shown it works.
    fn transient(&self, e: &ConnectError) -> bool {
        let proven = self.proven.load(Ordering::Relaxed);
        match e {
            ConnectError::Dialogue(d) => {
                d.is_busy() || (proven && matches!(d, DialogueError::Connect(_) | DialogueError::Closed { .. }))
            }
            ConnectError::Answer(a) => proven && matches!(a, AnswerError::Reset | AnswerError::Io(_)),
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
        let mut served = self.served.load(Ordering::Relaxed);
        loop {
            let slot = self.slot();
            let deadline = Deadline::after(self.opts.timeout);
            self.opened.fetch_add(1, Ordering::Relaxed);
            let result = match dialogue::open(self.target, self.opts, deadline) {
                Ok(mut stream) => {
                    self.proven.store(true, Ordering::Relaxed);
                    self.served.fetch_add(1, Ordering::Relaxed);
                    then(&mut stream, deadline)
                }
                Err(e) => Err(ConnectError::Dialogue(e)),
            };
            drop(slot);
            match result {
                Err(e) if attempt < self.opts.busy_retries && self.transient(&e) => {
                    self.retried.fetch_add(1, Ordering::Relaxed);
                    self.back_off();
                    // Others got through meanwhile: the server works, so wait for a
                    // turn and start counting the retries again; else back off further.
                    let now = self.served.load(Ordering::Relaxed);
                    if now != served {
                        served = now;
                        pause = self.opts.busy_pause;
                        attempt = 0;
                    } else {
                        attempt += 1;
                    }
                    std::thread::sleep(pause);
                    pause *= 2;
                }
                other => return other,
            }
        }
    }

    /// Sends one raw hello and reads the answer.
    pub fn hello(&self, record: &[u8], depth: Depth) -> Result<Answer, ConnectError> {
        self.with_stream(|stream, deadline| {
            stream
                .write_all(record)
                .map_err(|e| ConnectError::Answer(AnswerError::Io(e)))?;
            answer::read(stream, deadline, depth).map_err(ConnectError::Answer)
        })
    }

    /// Sends an SSLv2 CLIENT-HELLO and reads the answer.
    pub fn sslv2_hello(&self, record: &[u8]) -> Result<Answer, ConnectError> {
        // Stacks that do not speak SSLv2 often reset the connection: that is their answer.
        self.with_stream(|stream, deadline| {
            if stream.write_all(record).is_err() {
                return Ok(Answer::Closed);
            }
            match answer::read_sslv2(stream, deadline, super::sslv2::parse_server_hello) {
                Err(AnswerError::Reset) => Ok(Answer::Closed),
                other => other.map_err(ConnectError::Answer),
            }
        })
    }
}
