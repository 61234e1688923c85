//! Frame I/O: a `tokio_util` codec around [`zk_proto::FrameDecoder`].

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{Decoder, Encoder, Framed};
use zk_proto::{Frame, ProtoError, SkippingFrameDecoder};

use crate::error::Error;

/// Any byte stream the client can talk ZooKeeper over (TCP, TLS, an
/// in-memory pipe).
pub trait Transport: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Transport for T {}

pub(crate) type BoxTransport = Box<dyn Transport>;

/// Why a connection failed.
#[derive(Debug)]
pub(crate) enum ConnError {
    Io(std::io::Error),
    Proto(ProtoError),
}

impl From<std::io::Error> for ConnError {
    fn from(e: std::io::Error) -> Self {
        ConnError::Io(e)
    }
}

impl From<ConnError> for Error {
    fn from(e: ConnError) -> Self {
        match e {
            ConnError::Io(e) => Error::io(e),
            ConnError::Proto(e) => Error::Protocol(e),
        }
    }
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnError::Io(e) => write!(f, "I/O error: {e}"),
            ConnError::Proto(e) => write!(f, "protocol error: {e}"),
        }
    }
}

/// The bytes of a reply header (xid, zxid, err): what is read of an
/// oversize reply before the rest of it is discarded.
pub(crate) const REPLY_HEADER_LEN: usize = 16;

/// Splits the byte stream into frames and writes pre-encoded frames. A
/// frame over the limit is not buffered: its reply header is handed out as
/// [`Frame::Oversize`] and the rest of it is discarded as it arrives (a
/// negative length still breaks the connection).
#[derive(Debug, Clone)]
pub(crate) struct ZkCodec {
    frames: SkippingFrameDecoder,
}

impl ZkCodec {
    pub(crate) fn new(max_frame: usize) -> Self {
        ZkCodec {
            frames: SkippingFrameDecoder::new(max_frame, REPLY_HEADER_LEN),
        }
    }

    /// The largest frame accepted whole.
    pub(crate) fn max_frame(&self) -> usize {
        self.frames.max_frame()
    }
}

impl Decoder for ZkCodec {
    type Item = Frame;
    type Error = ConnError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, ConnError> {
        self.frames.decode(src).map_err(ConnError::Proto)
    }
}

/// A whole frame's payload; an oversize one is a protocol error here (for
/// the handshake and SASL, which have nothing to skip to).
pub(crate) fn whole(frame: Frame, max_frame: usize) -> Result<Bytes, ProtoError> {
    match frame {
        Frame::Whole(b) => Ok(b),
        Frame::Oversize { len, .. } => Err(ProtoError::FrameTooLarge {
            len: len as u64,
            max: max_frame,
        }),
    }
}

impl Encoder<Bytes> for ZkCodec {
    type Error = ConnError;

    fn encode(&mut self, frame: Bytes, dst: &mut BytesMut) -> Result<(), ConnError> {
        dst.extend_from_slice(&frame);
        Ok(())
    }
}

pub(crate) type Conn = Framed<BoxTransport, ZkCodec>;

pub(crate) fn framed(io: BoxTransport, max_frame: usize) -> Conn {
    Framed::with_capacity(io, ZkCodec::new(max_frame), 64 * 1024)
}
