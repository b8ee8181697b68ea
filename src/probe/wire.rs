//! Where the probe's bytes come from: a socket with a deadline, or, for
//! fuzzing and tests, bytes a server "sent" (`Replay`). The readers of TLS
//! records and dialogue lines are written against this, not `TcpStream`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub trait Wire: Read + Write {
    /// Bounds the next reads and writes to `left`.
    fn set_deadline(&mut self, left: Duration) -> std::io::Result<()>;
}

impl Wire for TcpStream {
    fn set_deadline(&mut self, left: Duration) -> std::io::Result<()> {
        self.set_read_timeout(Some(left))?;
        self.set_write_timeout(Some(left))
    }
}

/// A recorded server: reads give its bytes, then end of stream; writes vanish.
#[derive(Debug)]
pub struct Replay<'a>(pub &'a [u8]);

impl Read for Replay<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Replay<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Wire for Replay<'_> {
    fn set_deadline(&mut self, _: Duration) -> std::io::Result<()> {
        Ok(())
    }
}
