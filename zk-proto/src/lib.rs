//! The Apache ZooKeeper client wire protocol, as pure encode/decode over [`bytes`].
//!
//! Every record a ZooKeeper 3.5–3.9 client or server sends is here as a plain
//! type with a symmetric [`Record`] encoding, shared by `zk-client` and
//! `zk-server-sim`. There is no I/O and no async runtime.
//!
//! ```
//! use bytes::BytesMut;
//! use zk_proto::{
//!     decode_request, encode_request, FrameDecoder, GetDataRequest, Request, DEFAULT_MAX_FRAME,
//! };
//!
//! // A client frames a getData request with xid 1...
//! let mut wire = BytesMut::new();
//! let req = Request::GetData(GetDataRequest { path: "/app".into(), watch: true });
//! encode_request(&mut wire, DEFAULT_MAX_FRAME, 1, &req)?;
//!
//! // ...and a server splits the stream into frames and decodes it.
//! let frame = FrameDecoder::default().decode(&mut wire)?.expect("a whole frame");
//! let (header, decoded) = decode_request(frame)?;
//! assert_eq!(header.xid, 1);
//! assert_eq!(decoded, req);
//! # Ok::<(), zk_proto::ProtoError>(())
//! ```
//!
//! # Contract
//!
//! - **Framing**: a 4-byte big-endian length, then the payload. [`FrameDecoder`]
//!   returns `Ok(None)` until a whole frame is buffered and rejects a declared
//!   length over the maximum (default [`DEFAULT_MAX_FRAME`], ZooKeeper's
//!   `jute.maxbuffer`) before allocating anything for it. [`encode_frame`]
//!   enforces the same limit when sending.
//! - **Decoding never panics** on any input and never allocates more than the
//!   frame holds: a string, buffer or vector length is checked against the
//!   bytes that remain. Running out of bytes inside a frame is
//!   [`ProtoError::Truncated`].
//! - **Nulls**: a −1 length (null) decodes as an empty value; encoding never
//!   writes nulls.
//! - **Strings** are written as standard UTF-8; invalid UTF-8 from a peer (such
//!   as Java's CESU-8 surrogate pairs) is replaced with U+FFFD, as Java does.
//! - **Replies** are decoded by the caller, who knows the opcode it sent:
//!   read a [`ReplyHeader`]; xid −1 is a [`WatcherEvent`]; otherwise, when `err`
//!   is OK, [`Response::decode`] with the request's [`OpCode`].
//! - **Paths**: [`validate_path`] applies the rules of Java's `PathUtils`.
//!
//! # Feature flags
//!
//! | feature | effect |
//! |---|---|
//! | `arbitrary` | derives `arbitrary::Arbitrary` for every record (for fuzzing) |

mod buffer;
mod connect;
mod data;
mod error;
mod error_code;
mod field;
mod four_letter;
mod frame;
mod header;
mod int_enum;
pub mod jute;
mod layout;
mod message;
mod multi;
mod opcode;
mod ops;
mod path;
mod types;

#[cfg(test)]
mod roundtrip_tests;

pub use buffer::Data;
pub use connect::{ConnectRequest, ConnectResponse, PASSWORD_LEN};
pub use data::{
    Acl, ClientInfo, EphemeralKind, Id, Stat, CONTAINER_EPHEMERAL_OWNER, MAX_TTL_MS,
    TTL_EPHEMERAL_OWNER_MARK,
};
pub use error::ProtoError;
pub use error_code::ErrorCode;
pub use four_letter::{four_letter_word, FOUR_LETTER_WORDS};
pub use frame::{encode_frame, Frame, FrameDecoder, SkippingFrameDecoder, DEFAULT_MAX_FRAME};
pub use header::{xid, MultiHeader, ReplyHeader, RequestHeader};
pub use jute::{Reader, Record};
pub use layout::{has_watch_flag, set_request_watch, set_request_xid};
pub use message::{
    decode_request, encode_notification, encode_record_frame, encode_reply, encode_request,
    Request, Response,
};
pub use multi::{MultiOp, MultiRequest, MultiResponse, MultiResult};
pub use opcode::OpCode;
pub use ops::*;
pub use path::{
    join, node_name, parent, sequence_suffix, validate_create_path, validate_path, PathError,
};
pub use types::{AddWatchMode, CreateMode, EventType, KeeperState, Perms, WatcherType};
