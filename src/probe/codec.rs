//! A small reader/writer pair for TLS wire structures: big-endian integers
//! and length-prefixed vectors. Reading never panics: a short or malformed
//! input gives `None`.

/// Reads from a byte slice, front to back.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.buf.len() < n {
            return None;
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Some(head)
    }

    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    pub fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u24(&mut self) -> Option<usize> {
        self.take(3)
            .map(|b| usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }

    /// A vector with a one-byte length prefix.
    pub fn vec8(&mut self) -> Option<Reader<'a>> {
        let n = self.u8()?;
        self.take(usize::from(n)).map(Reader::new)
    }

    /// A vector with a two-byte length prefix.
    pub fn vec16(&mut self) -> Option<Reader<'a>> {
        let n = self.u16()?;
        self.take(usize::from(n)).map(Reader::new)
    }

    /// A vector with a three-byte length prefix.
    pub fn vec24(&mut self) -> Option<Reader<'a>> {
        let n = self.u24()?;
        self.take(n).map(Reader::new)
    }

    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Appends to a byte vector; length prefixes are patched in when a nested
/// vector closes.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }

    /// Writes what `body` writes, prefixed by its length in `width` bytes (1-3).
    pub fn nested(&mut self, width: usize, body: impl FnOnce(&mut Writer)) -> &mut Self {
        let at = self.buf.len();
        self.buf.extend(std::iter::repeat_n(0, width));
        body(self);
        let len = self.buf.len() - at - width;
        let be = (len as u32).to_be_bytes();
        self.buf[at..at + width].copy_from_slice(&be[4 - width..]);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_lengths_and_short_reads() {
        let mut w = Writer::default();
        w.nested(2, |w| {
            w.u8(1).nested(1, |w| {
                w.u16(0xabcd);
            });
        });
        assert_eq!(w.buf, [0, 4, 1, 2, 0xab, 0xcd]);
        let mut r = Reader::new(&w.buf);
        let mut inner = r.vec16().unwrap();
        assert_eq!(inner.u8(), Some(1));
        assert_eq!(inner.vec8().unwrap().u16(), Some(0xabcd));
        assert!(r.is_empty());
        assert_eq!(Reader::new(&[0, 9, 1]).vec16().map(|_| ()), None);
    }
}
