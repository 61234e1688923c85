//! Jute primitives: the big-endian building blocks every record is made of.
//!
//! | jute type | encoding |
//! |---|---|
//! | `boolean` | 1 byte, 0 or 1 |
//! | `int` | 4 bytes, big-endian |
//! | `long` | 8 bytes, big-endian |
//! | `ustring` | `int` byte length, then UTF-8; −1 is null |
//! | `buffer` | `int` length, then bytes; −1 is null |
//! | `vector<T>` | `int` count, then the elements; −1 is null |
//!
//! Nulls decode as empty values, except node data (see
//! [`Data`](crate::Data) and [`Reader::read_nullable_buffer`]). Lengths and counts are checked against the
//! bytes that remain before anything is allocated.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::ProtoError;

/// A jute record: a plain type with a symmetric encoding, shared by clients and servers.
pub trait Record: Sized {
    /// Appends this record's jute encoding to `buf`.
    fn encode(&self, buf: &mut BytesMut);
    /// Reads one record from `r`.
    fn decode(r: &mut Reader) -> Result<Self, ProtoError>;

    /// Encodes this record into a fresh buffer (handy in tests and tools).
    fn to_bytes(&self) -> Bytes {
        let mut buf = BytesMut::new();
        self.encode(&mut buf);
        buf.freeze()
    }

    /// Decodes one record from `bytes`, ignoring anything after it.
    fn from_bytes(bytes: Bytes) -> Result<Self, ProtoError> {
        Self::decode(&mut Reader::new(bytes))
    }
}

/// A cursor over the bytes of one frame. Strings and buffers are sliced out of it without copying.
#[derive(Debug, Clone)]
pub struct Reader {
    buf: Bytes,
}

impl Reader {
    /// A reader over `buf`.
    pub fn new(buf: Bytes) -> Self {
        Reader { buf }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Takes the rest of the bytes.
    pub fn take_rest(&mut self) -> Bytes {
        self.buf.split_off(0)
    }

    fn need(&self, n: usize) -> Result<(), ProtoError> {
        if self.buf.len() < n {
            Err(ProtoError::truncated(n, self.buf.len()))
        } else {
            Ok(())
        }
    }

    /// Reads a `byte`.
    pub fn read_u8(&mut self) -> Result<u8, ProtoError> {
        self.need(1)?;
        Ok(self.buf.get_u8())
    }

    /// Reads a `boolean` (strictly 0 or 1).
    pub fn read_bool(&mut self) -> Result<bool, ProtoError> {
        match self.read_u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(ProtoError::InvalidBool(b)),
        }
    }

    /// Reads an `int`.
    pub fn read_i32(&mut self) -> Result<i32, ProtoError> {
        self.need(4)?;
        Ok(self.buf.get_i32())
    }

    /// Reads a `long`.
    pub fn read_i64(&mut self) -> Result<i64, ProtoError> {
        self.need(8)?;
        Ok(self.buf.get_i64())
    }

    fn read_len(&mut self, what: &'static str, min_elem: usize) -> Result<usize, ProtoError> {
        let len = self.read_i32()?;
        if len == -1 {
            return Ok(0);
        }
        let remaining = self.buf.len();
        match usize::try_from(len) {
            Ok(n) if n.saturating_mul(min_elem) <= remaining => Ok(n),
            _ => Err(ProtoError::InvalidLength {
                what,
                len,
                remaining,
            }),
        }
    }

    /// Reads a `buffer`; null (−1) reads as empty.
    pub fn read_buffer(&mut self) -> Result<Bytes, ProtoError> {
        let n = self.read_len("buffer", 1)?;
        Ok(self.buf.split_to(n))
    }

    /// Reads a `buffer`, keeping null (−1) as `None`.
    pub fn read_nullable_buffer(&mut self) -> Result<Option<Bytes>, ProtoError> {
        if self.buf.get(..4) == Some(&[0xff; 4][..]) {
            self.buf.advance(4);
            return Ok(None);
        }
        self.read_buffer().map(Some)
    }

    /// Reads a `ustring`; null (−1) reads as empty.
    ///
    /// Bytes that are not valid UTF-8 (for example the CESU-8 surrogate pairs
    /// Java writes for characters outside the BMP) are replaced with U+FFFD, as
    /// Java's decoder does, rather than failing.
    pub fn read_string(&mut self) -> Result<String, ProtoError> {
        let n = self.read_len("string", 1)?;
        let raw = self.buf.split_to(n);
        Ok(match std::str::from_utf8(&raw) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(&raw).into_owned(),
        })
    }

    /// Reads a `vector<T>`; null (−1) reads as empty.
    ///
    /// `min_elem` is the smallest encoding of one element, used to reject a
    /// count the frame cannot possibly hold before allocating for it.
    pub fn read_vec<T>(
        &mut self,
        min_elem: usize,
        mut read: impl FnMut(&mut Reader) -> Result<T, ProtoError>,
    ) -> Result<Vec<T>, ProtoError> {
        let n = self.read_len("vector", min_elem.max(1))?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(read(self)?);
        }
        Ok(out)
    }

    /// Reads a `vector<ustring>`.
    pub fn read_string_vec(&mut self) -> Result<Vec<String>, ProtoError> {
        self.read_vec(4, Reader::read_string)
    }

    /// Reads a `vector<R>` of records.
    pub fn read_record_vec<R: Record>(&mut self, min_elem: usize) -> Result<Vec<R>, ProtoError> {
        self.read_vec(min_elem, R::decode)
    }
}

/// Clamps a length to the jute `int` range. A value past `i32::MAX` can never
/// fit a frame, so framing rejects it as too large.
fn len_i32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

/// Writes a `boolean`.
pub fn write_bool(buf: &mut BytesMut, v: bool) {
    buf.put_u8(u8::from(v));
}

/// Writes an `int`.
pub fn write_i32(buf: &mut BytesMut, v: i32) {
    buf.put_i32(v);
}

/// Writes a `long`.
pub fn write_i64(buf: &mut BytesMut, v: i64) {
    buf.put_i64(v);
}

/// Writes a `buffer`.
pub fn write_buffer(buf: &mut BytesMut, v: &[u8]) {
    buf.put_i32(len_i32(v.len()));
    buf.put_slice(v);
}

/// Writes a `ustring` (standard UTF-8).
pub fn write_string(buf: &mut BytesMut, v: &str) {
    write_buffer(buf, v.as_bytes());
}

/// Writes a `vector<T>` with `write` for each element.
pub fn write_vec<T>(buf: &mut BytesMut, v: &[T], mut write: impl FnMut(&mut BytesMut, &T)) {
    buf.put_i32(len_i32(v.len()));
    for item in v {
        write(buf, item);
    }
}

/// Writes a `vector<ustring>`.
pub fn write_string_vec(buf: &mut BytesMut, v: &[String]) {
    write_vec(buf, v, |b, s| write_string(b, s));
}

/// Writes a `vector<R>` of records.
pub fn write_record_vec<R: Record>(buf: &mut BytesMut, v: &[R]) {
    write_vec(buf, v, |b, r| r.encode(b));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bogus_lengths_are_errors_not_allocations() {
        let mut r = Reader::new(Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 1, 2]));
        assert!(matches!(
            r.read_buffer(),
            Err(ProtoError::InvalidLength { what: "buffer", .. })
        ));
        let mut r = Reader::new(Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
        assert!(matches!(
            r.read_string_vec(),
            Err(ProtoError::InvalidLength { what: "vector", .. })
        ));
        let mut r = Reader::new(Bytes::from_static(&[0xff, 0xff, 0xff, 0xfe]));
        assert!(matches!(
            r.read_string(),
            Err(ProtoError::InvalidLength { len: -2, .. })
        ));
    }

    #[test]
    fn nulls_read_as_empty() {
        let mut r = Reader::new(Bytes::from_static(&[0xff; 12]));
        assert_eq!(r.read_buffer().unwrap(), Bytes::new());
        assert_eq!(r.read_string().unwrap(), "");
        assert!(r.read_string_vec().unwrap().is_empty());
    }

    #[test]
    fn cesu8_surrogates_do_not_fail() {
        // U+1F600 as Java writes it: two 3-byte surrogate sequences.
        let mut raw = BytesMut::new();
        write_buffer(&mut raw, &[0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]);
        let s = Reader::new(raw.freeze()).read_string().unwrap();
        assert!(s.contains('\u{fffd}'));
    }

    #[test]
    fn truncated_reads_say_so() {
        let mut r = Reader::new(Bytes::from_static(&[1, 2]));
        assert_eq!(r.read_i32(), Err(ProtoError::truncated(4, 2)));
        assert_eq!(
            Reader::new(Bytes::from_static(&[2])).read_bool(),
            Err(ProtoError::InvalidBool(2))
        );
    }
}
