//! The connect handshake: the first frame in each direction, with no header.

use bytes::{Bytes, BytesMut};

use crate::field::Field;
use crate::jute::{Reader, Record};
use crate::ProtoError;

/// The length of a session password.
pub const PASSWORD_LEN: usize = 16;

/// The client's first frame.
///
/// ```text
/// int protocolVersion; long lastZxidSeen; int timeOut; long sessionId; buffer passwd; [boolean readOnly]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
pub struct ConnectRequest {
    /// Always 0.
    pub protocol_version: i32,
    /// The highest zxid this client has seen; a server behind it refuses the connection.
    pub last_zxid_seen: i64,
    /// Requested session timeout, ms.
    pub timeout: i32,
    /// 0 for a new session, else the session to resume.
    pub session_id: i64,
    /// The session password (16 zero bytes for a new session).
    #[cfg_attr(any(test, feature = "arbitrary"), arbitrary(with = crate::field::arb_bytes))]
    pub passwd: Bytes,
    /// Whether a read-only server is acceptable; `None` when the byte is absent (pre-3.4 "old client").
    pub read_only: Option<bool>,
}

impl Record for ConnectRequest {
    fn encode(&self, buf: &mut BytesMut) {
        self.protocol_version.write(buf);
        self.last_zxid_seen.write(buf);
        self.timeout.write(buf);
        self.session_id.write(buf);
        self.passwd.write(buf);
        if let Some(ro) = self.read_only {
            ro.write(buf);
        }
    }

    fn decode(r: &mut Reader) -> Result<Self, ProtoError> {
        Ok(ConnectRequest {
            protocol_version: r.read_i32()?,
            last_zxid_seen: r.read_i64()?,
            timeout: r.read_i32()?,
            session_id: r.read_i64()?,
            passwd: r.read_buffer()?,
            read_only: read_optional_bool(r)?,
        })
    }
}

/// The server's first frame.
///
/// ```text
/// int protocolVersion; int timeOut; long sessionId; buffer passwd; [boolean readOnly]
/// ```
///
/// A `timeout` ≤ 0 means the session is expired (or unknown, or the password was wrong).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
pub struct ConnectResponse {
    /// Always 0.
    pub protocol_version: i32,
    /// Negotiated session timeout, ms; ≤ 0 means expired.
    pub timeout: i32,
    /// The session id.
    pub session_id: i64,
    /// The session password.
    #[cfg_attr(any(test, feature = "arbitrary"), arbitrary(with = crate::field::arb_bytes))]
    pub passwd: Bytes,
    /// Whether the server is read-only; present only when the request carried the byte.
    pub read_only: Option<bool>,
}

impl ConnectResponse {
    /// Whether this response says the session is expired.
    pub fn is_expired(&self) -> bool {
        self.timeout <= 0
    }

    /// The response a server sends for an expired or unknown session.
    pub fn expired(read_only: Option<bool>) -> Self {
        ConnectResponse {
            protocol_version: 0,
            timeout: 0,
            session_id: 0,
            passwd: Bytes::from_static(&[0; PASSWORD_LEN]),
            read_only: read_only.map(|_| false),
        }
    }
}

impl Record for ConnectResponse {
    fn encode(&self, buf: &mut BytesMut) {
        self.protocol_version.write(buf);
        self.timeout.write(buf);
        self.session_id.write(buf);
        self.passwd.write(buf);
        if let Some(ro) = self.read_only {
            ro.write(buf);
        }
    }

    fn decode(r: &mut Reader) -> Result<Self, ProtoError> {
        Ok(ConnectResponse {
            protocol_version: r.read_i32()?,
            timeout: r.read_i32()?,
            session_id: r.read_i64()?,
            passwd: r.read_buffer()?,
            read_only: read_optional_bool(r)?,
        })
    }
}

fn read_optional_bool(r: &mut Reader) -> Result<Option<bool>, ProtoError> {
    if r.is_empty() {
        Ok(None)
    } else {
        r.read_bool().map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_byte_is_optional() {
        let mut req = ConnectRequest {
            timeout: 30_000,
            passwd: Bytes::from_static(&[0; 16]),
            ..Default::default()
        };
        assert_eq!(req.to_bytes().len(), 4 + 8 + 4 + 8 + 4 + 16);
        assert_eq!(ConnectRequest::from_bytes(req.to_bytes()).unwrap(), req);
        req.read_only = Some(true);
        assert_eq!(req.to_bytes().len(), 45);
        assert_eq!(ConnectRequest::from_bytes(req.to_bytes()).unwrap(), req);
        assert!(ConnectResponse::expired(Some(true)).is_expired());
    }
}
