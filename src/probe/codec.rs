//! The probe's wire codec, shaped after rustls's `msgs::codec`: a `Reader`
//! over bytes a server sent, a `Writer` for what the probe sends, and the
//! `Codec` trait for every value that travels as a fixed-size number
//! (integers and the wire enums of `enums`). Reading never panics: a short
//! input is a `WireError` that says what was cut short.

use crate::tls::{CipherSuite, Group};

/// Why bytes from the network could not be read as what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Fewer bytes were left than the structure needs.
    #[error("{what} cut short: {wanted} bytes wanted, {left} left")]
    Short {
        what: &'static str,
        wanted: usize,
        left: usize,
    },
}

/// A value with one fixed encoding on the wire.
pub trait Codec: Sized {
    /// Appends the encoding.
    fn encode(&self, w: &mut Writer);
    /// Reads one value from the front of `r`.
    fn read(r: &mut Reader<'_>) -> Result<Self, WireError>;
}

/// Reads from a byte slice, front to back.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// The next `n` bytes, as a slice of the input.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        self.take_for(n, "bytes")
    }

    fn take_for(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        if self.buf.len() < n {
            return Err(WireError::Short {
                what,
                wanted: n,
                left: self.buf.len(),
            });
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let b = self.take_for(N, "bytes")?;
        let mut out = [0; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// Reads any `Codec` value.
    pub fn read<T: Codec>(&mut self) -> Result<T, WireError> {
        T::read(self)
    }

    pub fn u8(&mut self) -> Result<u8, WireError> {
        self.read()
    }

    pub fn u16(&mut self) -> Result<u16, WireError> {
        self.read()
    }

    pub fn u24(&mut self) -> Result<usize, WireError> {
        self.read::<U24>().map(|n| n.0 as usize)
    }

    /// A vector with a one-byte length prefix.
    pub fn vec8(&mut self) -> Result<Reader<'a>, WireError> {
        let n = usize::from(self.u8()?);
        self.take_for(n, "vector").map(Reader::new)
    }

    /// A vector with a two-byte length prefix.
    pub fn vec16(&mut self) -> Result<Reader<'a>, WireError> {
        let n = usize::from(self.u16()?);
        self.take_for(n, "vector").map(Reader::new)
    }

    /// A vector with a three-byte length prefix.
    pub fn vec24(&mut self) -> Result<Reader<'a>, WireError> {
        let n = self.u24()?;
        self.take_for(n, "vector").map(Reader::new)
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
    /// Appends any `Codec` value.
    pub fn put<T: Codec>(&mut self, v: &T) -> &mut Self {
        v.encode(self);
        self
    }

    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.put(&v)
    }

    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.put(&v)
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

impl Codec for u8 {
    fn encode(&self, w: &mut Writer) {
        w.buf.push(*self);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(r.take_for(1, "u8")?[0])
    }
}

impl Codec for u16 {
    fn encode(&self, w: &mut Writer) {
        w.buf.extend_from_slice(&self.to_be_bytes());
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let b = r.take_for(2, "u16")?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
}

/// A three-byte length, as handshake messages and certificate lists carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct U24(pub u32);

impl Codec for U24 {
    fn encode(&self, w: &mut Writer) {
        w.buf.extend_from_slice(&self.0.to_be_bytes()[1..]);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let b = r.take_for(3, "u24")?;
        Ok(U24(u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2])))
    }
}

impl Codec for CipherSuite {
    fn encode(&self, w: &mut Writer) {
        self.0.encode(w);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        u16::read(r).map(CipherSuite)
    }
}

impl Codec for Group {
    fn encode(&self, w: &mut Writer) {
        self.0.encode(w);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        u16::read(r).map(Group)
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
        assert_eq!(inner.u8(), Ok(1));
        assert_eq!(inner.vec8().unwrap().u16(), Ok(0xabcd));
        assert!(r.is_empty());
        let short = Reader::new(&[0, 9, 1]).vec16().map(|_| ());
        assert_eq!(
            short,
            Err(WireError::Short {
                what: "vector",
                wanted: 9,
                left: 1
            })
        );
        assert_eq!(
            short.unwrap_err().to_string(),
            "vector cut short: 9 bytes wanted, 1 left"
        );
    }

    #[test]
    fn u24_round_trips() {
        let mut w = Writer::default();
        w.put(&U24(0x01_02_03));
        assert_eq!(w.buf, [1, 2, 3]);
        assert_eq!(Reader::new(&w.buf).u24(), Ok(0x01_02_03));
    }
}
