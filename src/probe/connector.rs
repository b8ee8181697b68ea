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
    slots: Mutex<Slots>,
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
    /// Until a dialogue reaches the go-ahead, one connection at a time tries.
    gate: Mutex<Gate>,
    gate_changed: Condvar,
}

/// Connections open now and allowed at once, handed out first come, first
/// served: a job waiting for a connection is never overtaken again and again
/// by the busier threads (it may be the longest job of the scan).
struct Slots {
    open: usize,
    allowed: usize,
    /// Tickets taken, and the one whose turn it is.
    taken: u64,
    serving: u64,
}

/// Whether the target's dialogue has been shown to work.
enum Gate {
    /// Not yet; `trying` while one connection is finding out.
    Unproven {
        trying: bool,
    },
    Proven,
    /// The first dialogue failed for good: every later connection would too.
    Failed(DialogueError),
}

/// The turn to prove the dialogue; given back undecided if dropped unused.
struct Turn<'c, 'a>(&'c Connector<'a>);

impl Turn<'_, '_> {
    fn decided(self, dialogue: Result<(), &DialogueError>) {
        self.0.leave_gate(Some(dialogue));
        // Decided: nothing left for drop to undo.
        std::mem::forget(self);
    }
}

impl Drop for Turn<'_, '_> {
    fn drop(&mut self) {
        self.0.leave_gate(None);
    }
}

/// An open slot; gives it back on drop.
struct Slot<'c, 'a>(&'c Connector<'a>);

impl Drop for Slot<'_, '_> {
    fn drop(&mut self) {
        let mut s = self.0.slots.lock().unwrap_or_else(|p| p.into_inner());
        s.open -= 1;
        self.0.freed.notify_all();
    }
}

impl<'a> Connector<'a> {
    pub fn new(target: &'a Target, opts: &'a ScanOptions) -> Self {
        Connector {
            target,
            opts,
            slots: Mutex::new(Slots {
                open: 0,
                allowed: opts.connections_per_target.max(1),
                taken: 0,
                serving: 0,
            }),
            freed: Condvar::new(),
            proven: AtomicBool::new(false),
            opened: AtomicUsize::new(0),
            retried: AtomicUsize::new(0),
            served: AtomicUsize::new(0),
            gate: Mutex::new(Gate::Unproven { trying: false }),
            gate_changed: Condvar::new(),
        }
    }

    /// Waits until the dialogue is proven, or until it is this caller's turn
    /// to prove it (`Ok(true)`); the first failure for good is everyone's. So
    /// the scan's jobs can start together with its first handshake and a
    /// target that refuses STARTTLS still sees one connection, not one per job.
    fn pass_gate(&self) -> Result<Option<Turn<'_, 'a>>, DialogueError> {
        if self.proven.load(Ordering::Acquire) {
            return Ok(None);
        }
        let mut gate = self.gate.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match &mut *gate {
                Gate::Proven => return Ok(None),
                Gate::Failed(e) => return Err(e.clone()),
                Gate::Unproven { trying } if !*trying => {
                    *trying = true;
                    return Ok(Some(Turn(self)));
                }
                Gate::Unproven { .. } => {
                    gate = self.gate_changed.wait(gate).unwrap_or_else(|p| p.into_inner());
                }
            }
        }
    }

    /// What the connection that held the gate found: proven, or failed for
    /// good (busy answers included, once its retries ran out); None when it
    /// found nothing (the next one tries).
    fn leave_gate(&self, dialogue: Option<Result<(), &DialogueError>>) {
        let mut gate = self.gate.lock().unwrap_or_else(|p| p.into_inner());
        *gate = match dialogue {
            Some(Ok(())) => Gate::Proven,
            Some(Err(e)) => Gate::Failed(e.clone()),
            None => Gate::Unproven { trying: false },
        };
        self.gate_changed.notify_all();
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
        let ticket = s.taken;
        s.taken += 1;
        while s.serving != ticket || s.open >= s.allowed {
            s = self.freed.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        s.serving += 1;
        s.open += 1;
        // The next ticket may go too, if a connection is free.
        self.freed.notify_all();
        Slot(self)
    }

    /// Allows fewer connections at once (never fewer than one).
    fn back_off(&self) {
        let mut s = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        s.allowed = (s.allowed / 2).max(1);
    }

    /// The connections allowed at once now (lowered by busy answers).
    pub fn allowed(&self) -> usize {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).allowed
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
        // Held across busy retries: the others wait for a proof, not their turn to be told "busy".
        let mut turn = None;
        loop {
            if turn.is_none() {
                turn = self.pass_gate().map_err(ConnectError::Dialogue)?;
            }
            let slot = self.slot();
            let deadline = Deadline::after(self.opts.timeout);
            self.opened.fetch_add(1, Ordering::Relaxed);
            let opened = dialogue::open(self.target, self.opts, deadline);
            if opened.is_ok() {
                self.proven.store(true, Ordering::Release);
            }
            match &opened {
                Err(e) if e.is_busy() => {}
                _ => {
                    if let Some(t) = turn.take() {
                        t.decided(opened.as_ref().map(|_| ()));
                    }
                }
            }
            let result = match opened {
                Ok(mut stream) => {
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
                other => {
                    // Still holding the gate: the dialogue failed for good (busy to the end).
                    if let (Some(t), Err(ConnectError::Dialogue(e))) = (turn.take(), &other) {
                        t.decided(Err(e));
                    }
                    return other;
                }
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
