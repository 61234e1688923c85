//! Request, reply and multi headers, and the special xids.

use crate::field::record;
use crate::{ErrorCode, OpCode, ProtoError};

/// Special xids.
pub mod xid {
    /// A watch notification (server → client).
    pub const NOTIFICATION: i32 = -1;
    /// A ping and its reply.
    pub const PING: i32 = -2;
    /// An auth packet and its reply.
    pub const AUTH: i32 = -4;
    /// A SetWatches / SetWatches2 batch and its reply.
    pub const SET_WATCHES: i32 = -8;
}

record! {
    /// Precedes every client request after the ConnectRequest.
    pub struct RequestHeader {
        /// Matches the reply to the request; see [`xid`].
        pub xid: i32,
        /// The raw opcode (kept raw so a server can answer unknown ones with UNIMPLEMENTED).
        pub op_type: i32,
    }
}

impl RequestHeader {
    /// A header for `op` with `xid`.
    pub fn new(xid: i32, op: OpCode) -> Self {
        RequestHeader {
            xid,
            op_type: op.code(),
        }
    }

    /// The opcode, if known.
    pub fn op_code(&self) -> Result<OpCode, ProtoError> {
        OpCode::try_from(self.op_type).map_err(|_| ProtoError::UnknownOpCode(self.op_type))
    }
}

record! {
    /// Precedes every server reply and notification after the ConnectResponse.
    pub struct ReplyHeader {
        /// The request's xid, or a special one from [`xid`].
        pub xid: i32,
        /// The server's last processed zxid when it wrote the reply (−1 on notifications before 3.9).
        pub zxid: i64,
        /// The result; when not OK, no response body follows (except in multi).
        pub err: ErrorCode,
    }
}

record! {
    /// Precedes each op in a multi request or response.
    pub struct MultiHeader {
        /// The op's opcode, or −1 on the terminating header and on error results.
        pub op_type: i32,
        /// True only on the terminating header.
        pub done: bool,
        /// −1 in requests; the op's result code in responses.
        pub err: i32,
    }
}

impl MultiHeader {
    /// The header that ends a multi request or response: `{-1, true, -1}`.
    pub const DONE: MultiHeader = MultiHeader {
        op_type: -1,
        done: true,
        err: -1,
    };
}
