//! Line reading for the plaintext dialogues: CRLF (or LF) lines, bounded in
//! length and in number, against the deadline, with no read-ahead past what
//! the server sent so that nothing is lost when TLS takes over.

use std::net::TcpStream;

use super::DialogueError;
use crate::probe::deadline::Deadline;
use crate::probe::wire::Wire;

/// Longer lines are garbage (RFC 5321 allows 512 octets per reply line).
const MAX_LINE: usize = 4096;
/// More lines than this in one reply are garbage too.
pub const MAX_LINES: usize = 200;

pub struct Lines<S: Wire = TcpStream> {
    stream: S,
    deadline: Deadline,
    buf: Vec<u8>,
}

impl<S: Wire> Lines<S> {
    pub fn new(stream: S, deadline: Deadline) -> Lines<S> {
        Lines {
            stream,
            deadline,
            buf: Vec::new(),
        }
    }

    /// The next line without its line ending. Non-UTF-8 bytes are replaced.
    pub fn line(&mut self, waiting_for: &'static str) -> Result<String, DialogueError> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = self.buf.drain(..=end).collect();
                let text = String::from_utf8_lossy(&raw);
                return Ok(text.trim_end_matches(['\r', '\n']).to_string());
            }
            if self.buf.len() > MAX_LINE {
                let shown = String::from_utf8_lossy(&self.buf[..80]).into_owned();
                return Err(DialogueError::Garbage {
                    waiting_for,
                    line: format!("{shown}... (a line over {MAX_LINE} bytes)"),
                });
            }
            let Some(left) = self.deadline.remaining() else {
                return Err(DialogueError::Timeout { waiting_for });
            };
            self.stream
                .set_deadline(left)
                .map_err(|e| DialogueError::Connect(e.to_string()))?;
            let mut chunk = [0u8; 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(DialogueError::Closed { waiting_for }),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    return Err(DialogueError::Timeout { waiting_for })
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Err(DialogueError::Closed { waiting_for }),
            }
        }
    }

    /// Sends one command line (CRLF added).
    pub fn send(&mut self, command: &str, waiting_for: &'static str) -> Result<(), DialogueError> {
        let Some(left) = self.deadline.remaining() else {
            return Err(DialogueError::Timeout { waiting_for });
        };
        let _ = self.stream.set_deadline(left);
        self.stream
            .write_all(format!("{command}\r\n").as_bytes())
            .map_err(|_| DialogueError::Closed { waiting_for })
    }

    /// The stream, once the server said go ahead; refuses if the server
    /// already sent more.
    pub fn into_stream(self) -> Result<S, DialogueError> {
        if self.buf.is_empty() {
            Ok(self.stream)
        } else {
            Err(DialogueError::DataAfterReady)
        }
    }
}
