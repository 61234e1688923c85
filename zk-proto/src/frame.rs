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

/// One item from a [`SkippingFrameDecoder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole frame's payload, within the limit.
    Whole(Bytes),
    /// A frame over the limit: its declared payload length and its first
    /// bytes (the decoder's `head_len`, or the whole payload if shorter).
    /// The rest of the payload is discarded as it arrives, never buffered.
    Oversize {
        /// The declared payload length.
        len: usize,
        /// The payload's first bytes (a reply header, for a reply stream).
        head: Bytes,
    },
}

/// Splits a byte stream into frames like [`FrameDecoder`], but survives a
/// frame over the maximum: it hands out that frame's first `head_len` bytes
/// as [`Frame::Oversize`] as soon as they are in, then discards the rest of
/// the frame as it arrives, so that the stream stays usable and memory stays
/// bounded (nothing of the oversize payload beyond the head is kept).
///
/// A negative length is still an error: the stream cannot be resynchronised.
///
/// ```
/// use bytes::BytesMut;
/// use zk_proto::{Frame, SkippingFrameDecoder};
///
/// let mut dec = SkippingFrameDecoder::new(2, 1);
/// let mut buf = BytesMut::from(&[0, 0, 0, 4, 0xaa, 0xbb][..]);
/// assert_eq!(
///     dec.decode(&mut buf).unwrap(),
///     Some(Frame::Oversize { len: 4, head: vec![0xaa].into() })
/// );
/// assert!(buf.is_empty());
/// buf.extend_from_slice(&[0xcc, 0xdd, 0, 0, 0, 1, 0xee]); // the rest, then a frame
/// assert_eq!(dec.decode(&mut buf).unwrap(), Some(Frame::Whole(vec![0xee].into())));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippingFrameDecoder {
    frames: FrameDecoder,
    head_len: usize,
    /// Bytes of an oversize frame still to discard.
    skipping: usize,
}

impl SkippingFrameDecoder {
    /// A decoder for frames of at most `max_frame` bytes that reports the
    /// first `head_len` bytes of larger ones.
    pub fn new(max_frame: usize, head_len: usize) -> Self {
        SkippingFrameDecoder {
            frames: FrameDecoder::new(max_frame),
            head_len,
            skipping: 0,
        }
    }

    /// The configured maximum frame size.
    pub fn max_frame(&self) -> usize {
        self.frames.max_frame()
    }

    /// Whether the decoder is in the middle of discarding an oversize frame.
    pub fn is_skipping(&self) -> bool {
        self.skipping > 0
    }

    /// Discards what it can of an oversize frame's rest, then takes the next
    /// frame (whole, or the head of an oversize one) off the front of `buf`.
    ///
    /// Returns `Ok(None)` when more bytes are needed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, ProtoError> {
        self.discard(buf);
        if self.skipping > 0 {
            return Ok(None);
        }
        let Some(&[a, b, c, d]) = buf.get(..4) else {
            return Ok(None);
        };
        let declared = i32::from_be_bytes([a, b, c, d]);
        let len = match check_len(declared, self.frames.max_frame) {
            Ok(_) => return Ok(self.frames.decode(buf)?.map(Frame::Whole)),
            Err(ProtoError::FrameTooLarge { len, .. }) => len as usize,
            Err(e) => return Err(e),
        };
        let head_len = self.head_len.min(len);
        if buf.len() < 4 + head_len {
            return Ok(None);
        }
        buf.advance(4);
        let head = buf.split_to(head_len).freeze();
        self.skipping = len - head_len;
        self.discard(buf);
        Ok(Some(Frame::Oversize { len, head }))
    }

    fn discard(&mut self, buf: &mut BytesMut) {
        let n = self.skipping.min(buf.len());
        buf.advance(n);
        self.skipping -= n;
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

    #[test]
    fn skipping_decoder_reports_the_head_and_discards_the_rest_in_pieces() {
        let mut dec = SkippingFrameDecoder::new(8, 4);
        let mut buf = BytesMut::new();
        // An oversize frame of 20 bytes: only 4 + 2 bytes in yet.
        buf.put_i32(20);
        buf.put_slice(&[1, 2]);
        assert_eq!(dec.decode(&mut buf), Ok(None));
        buf.put_slice(&[3, 4, 5, 6]);
        assert_eq!(
            dec.decode(&mut buf),
            Ok(Some(Frame::Oversize {
                len: 20,
                head: Bytes::from_static(&[1, 2, 3, 4])
            }))
        );
        assert!(buf.is_empty());
        assert!(dec.is_skipping());
        // The rest arrives in pieces and is dropped; nothing is kept.
        buf.put_slice(&[0; 10]);
        assert_eq!(dec.decode(&mut buf), Ok(None));
        assert!(buf.is_empty());
        // The last 4 bytes of it, then a whole frame in the same read.
        buf.put_slice(&[0; 4]);
        encode_frame(&mut buf, 8, |b| b.put_slice(b"next")).unwrap();
        assert_eq!(
            dec.decode(&mut buf),
            Ok(Some(Frame::Whole(Bytes::from_static(b"next"))))
        );
        assert!(!dec.is_skipping());
        assert_eq!(dec.decode(&mut buf), Ok(None));
    }

    #[test]
    fn skipping_decoder_never_reserves_for_the_oversize_payload() {
        let mut dec = SkippingFrameDecoder::new(1024, 16);
        let mut buf = BytesMut::with_capacity(64);
        buf.put_i32(i32::MAX);
        buf.put_slice(&[7; 16]);
        let cap = buf.capacity();
        let got = dec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(
            got,
            Frame::Oversize {
                len: i32::MAX as usize,
                head: Bytes::from_static(&[7; 16])
            }
        );
        assert!(buf.capacity() <= cap);
    }

    #[test]
    fn skipping_decoder_short_oversize_frame_and_negative_length() {
        // Payload shorter than the head: the head is the whole payload.
        let mut dec = SkippingFrameDecoder::new(1, 16);
        let mut buf = BytesMut::new();
        buf.put_i32(3);
        buf.put_slice(b"abc");
        assert_eq!(
            dec.decode(&mut buf),
            Ok(Some(Frame::Oversize {
                len: 3,
                head: Bytes::from_static(b"abc")
            }))
        );
        assert!(!dec.is_skipping());
        let mut bad = BytesMut::from(&[0xff, 0xff, 0xff, 0xfe][..]);
        assert_eq!(
            dec.decode(&mut bad),
            Err(ProtoError::NegativeFrameLength(-2))
        );
    }
}
