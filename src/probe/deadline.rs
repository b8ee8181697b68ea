//! A point in time by which a whole exchange must be over: every read and
//! write of a dialogue or handshake gets only what is left of it, so a server
//! that trickles bytes cannot stretch the timeout.

use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct Deadline(Instant);

impl Deadline {
    pub fn after(timeout: Duration) -> Deadline {
        // Timeouts are bounded when parsed; an absurd one waits a day rather than panicking.
        let now = Instant::now();
        Deadline(now.checked_add(timeout).unwrap_or(now + Duration::from_secs(86_400)))
    }

    /// What is left, or None once it has passed.
    pub fn remaining(self) -> Option<Duration> {
        self.0.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
    }
}
