//! Framing: every message is a 4-byte big-endian length, then that many bytes.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::ProtoError;

/// ZooKeeper's default `jute.maxbuffer`: the largest frame a server or the Java client accepts.
pub const DEFAULT_MAX_FRAME: usize = 0xfffff;

/// Splits a byte stream into frames, enforcing a maximum frame size.
///
/// ```
/// use bytes::BytesMut;
/// use zk_proto::FrameDecoder;
///
/// let dec = FrameDecoder::default();
/// let mut buf = BytesMut::from(&[0, 0, 0, 2, 0xab][..]);
/// assert_eq!(dec.decode(&mut buf).unwrap(), None); // one byte short
/// buf.extend_from_slice(&[0xcd]);
/// assert_eq!(&dec.decode(&mut buf).unwrap().unwrap()[..], &[0xab, 0xcd]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameDecoder {
    max_frame: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder {
            max_frame: DEFAULT_MAX_FRAME,
        }
    }
}

impl FrameDecoder {
    /// A decoder that rejects frames longer than `max_frame` bytes.
    pub fn new(max_frame: usize) -> Self {
        FrameDecoder { max_frame }
    }

    /// The configured maximum frame size.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Takes one complete frame's payload off the front of `buf`.
    ///
    /// Returns `Ok(None)` when more bytes are needed. A negative length or one
    /// over the maximum is an error as soon as the 4 length bytes are in, before
    /// anything is reserved or copied for the payload.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Bytes>, ProtoError> {
        let Some(&[a, b, c, d]) = buf.get(..4) else {
            return Ok(None);
        };
        let len = i32::from_be_bytes([a, b, c, d]);
        let len = check_len(len, self.max_frame)?;
        if buf.len() < 4 + len {
            return Ok(None);
        }
        buf.advance(4);
        Ok(Some(buf.split_to(len).freeze()))
    }
}

fn check_len(len: i32, max: usize) -> Result<usize, ProtoError> {
    let n = usize::try_from(len).map_err(|_| ProtoError::NegativeFrameLength(len))?;
    if n > max {
        return Err(ProtoError::FrameTooLarge { len: n as u64, max });
    }
    Ok(n)
}

/// Appends one frame to `buf`: a length placeholder, the body written by
/// `body`, then the length patched in.
///
/// If the body is over `max_frame` bytes, `buf` is restored to what it was and
/// [`ProtoError::FrameTooLarge`] is returned, so nothing oversized is ever sent.
pub fn encode_frame(
    buf: &mut BytesMut,
    max_frame: usize,
    body: impl FnOnce(&mut BytesMut),
) -> Result<(), ProtoError> {
    let start = buf.len();
    buf.put_i32(0);
    body(buf);
    let len = buf.len() - start - 4;
    match i32::try_from(len) {
        Ok(n) if len <= max_frame => {
            if let Some(slot) = buf.get_mut(start..start + 4) {
                slot.copy_from_slice(&n.to_be_bytes());
            }
            Ok(())
        }
        _ => {
            buf.truncate(start);
            Err(ProtoError::FrameTooLarge {
                len: len as u64,
                max: max_frame,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_length_is_rejected_before_allocating() {
        let dec = FrameDecoder::new(1024);
        let mut buf = BytesMut::from(&[0x7f, 0xff, 0xff, 0xff][..]);
        let cap = buf.capacity();
        assert_eq!(
            dec.decode(&mut buf),
            Err(ProtoError::FrameTooLarge {
                len: i32::MAX as u64,
                max: 1024
            })
        );
        assert_eq!(buf.capacity(), cap);
        let mut buf = BytesMut::from(&[0, 0, 4, 1][..]);
        assert!(matches!(
            dec.decode(&mut buf),
            Err(ProtoError::FrameTooLarge { len: 1025, .. })
        ));
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert_eq!(
            dec.decode(&mut buf),
            Err(ProtoError::NegativeFrameLength(-1))
        );
    }

    #[test]
    fn default_limit_is_jute_maxbuffer() {
        let dec = FrameDecoder::default();
        let mut ok = BytesMut::new();
        ok.put_i32(DEFAULT_MAX_FRAME as i32);
        assert_eq!(dec.decode(&mut ok), Ok(None));
        let mut bad = BytesMut::new();
        bad.put_i32(DEFAULT_MAX_FRAME as i32 + 1);
        assert!(dec.decode(&mut bad).is_err());
    }

    #[test]
    fn encode_enforces_the_limit_and_leaves_buf_intact() {
        let mut buf = BytesMut::from(&b"xy"[..]);
        let err = encode_frame(&mut buf, 3, |b| b.put_slice(b"abcd")).unwrap_err();
        assert_eq!(err, ProtoError::FrameTooLarge { len: 4, max: 3 });
        assert_eq!(&buf[..], b"xy");
        encode_frame(&mut buf, 3, |b| b.put_slice(b"abc")).unwrap();
        assert_eq!(&buf[..], b"xy\0\0\0\x03abc");
    }

    #[test]
    fn decodes_back_to_back_frames() {
        let mut buf = BytesMut::new();
        encode_frame(&mut buf, 10, |b| b.put_slice(b"one")).unwrap();
        encode_frame(&mut buf, 10, |_| {}).unwrap();
        let dec = FrameDecoder::new(10);
        assert_eq!(&dec.decode(&mut buf).unwrap().unwrap()[..], b"one");
        assert_eq!(&dec.decode(&mut buf).unwrap().unwrap()[..], b"");
        assert_eq!(dec.decode(&mut buf).unwrap(), None);
    }
}
