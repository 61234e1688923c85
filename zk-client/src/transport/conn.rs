//! Frame I/O: a `tokio_util` codec around [`zk_proto::FrameDecoder`].

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{Decoder, Encoder, Framed};
use zk_proto::{FrameDecoder, ProtoError};

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

/// Splits the byte stream into frames (rejecting oversized or negative
/// lengths before buffering them) and writes pre-encoded frames.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ZkCodec {
    frames: FrameDecoder,
}

impl ZkCodec {
    pub(crate) fn new(max_frame: usize) -> Self {
        ZkCodec {
            frames: FrameDecoder::new(max_frame),
        }
    }
}

impl Decoder for ZkCodec {
    type Item = Bytes;
    type Error = ConnError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, ConnError> {
        self.frames.decode(src).map_err(ConnError::Proto)
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
