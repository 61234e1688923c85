//! The codec's error type.

use thiserror::Error;

/// Everything that can go wrong while encoding or decoding ZooKeeper frames and records.
///
/// Decoding never panics and never allocates more than the bytes at hand: a
/// bogus length or count is reported here instead. "Not enough bytes yet" is
/// not an error: [`FrameDecoder::decode`](crate::FrameDecoder::decode) returns
/// `Ok(None)` for it. Inside a complete frame, running out of bytes is
/// [`ProtoError::Truncated`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProtoError {
    /// A frame's declared length (or an encoded frame's body) is over the configured maximum.
    #[error("frame of {len} bytes exceeds the maximum frame size of {max} bytes (jute.maxbuffer)")]
    FrameTooLarge {
        /// The declared or encoded length.
        len: u64,
        /// The configured maximum.
        max: usize,
    },
    /// A frame declared a negative length.
    #[error("frame declares a negative length ({0})")]
    NegativeFrameLength(i32),
    /// A record needed more bytes than the frame holds.
    #[error(
        "truncated record: needed {needed} more bytes but only {remaining} remain in the frame"
    )]
    Truncated {
        /// Bytes the next field needs.
        needed: usize,
        /// Bytes left in the frame.
        remaining: usize,
    },
    /// A string, buffer or vector declared a length that cannot be right.
    #[error("invalid {what} length {len}: only {remaining} bytes remain in the frame")]
    InvalidLength {
        /// What was being read ("string", "buffer", "vector").
        what: &'static str,
        /// The declared length or element count.
        len: i32,
        /// Bytes left in the frame.
        remaining: usize,
    },
    /// A boolean byte other than 0 or 1.
    #[error("invalid boolean byte {0:#04x}")]
    InvalidBool(u8),
    /// An opcode this codec does not know (or one that is not valid where it appeared).
    #[error("unknown or unexpected opcode {0}")]
    UnknownOpCode(i32),
    /// An enum field carried a value outside its range.
    #[error("invalid {what} value {value}")]
    InvalidEnum {
        /// The enum's name.
        what: &'static str,
        /// The raw value.
        value: i32,
    },
    /// A multi request or response did not end with its terminating header.
    #[error("multi {0} is not terminated by a done header")]
    UnterminatedMulti(&'static str),
    /// A path broke ZooKeeper's path rules.
    #[error(transparent)]
    InvalidPath(#[from] crate::path::PathError),
}

impl ProtoError {
    pub(crate) fn truncated(needed: usize, remaining: usize) -> Self {
        ProtoError::Truncated { needed, remaining }
    }
}
