//! SASL authentication (opcode 102), run during the connect handshake.
//!
//! ZooKeeper's Java client (`ZooKeeperSaslClient`) authenticates right after
//! the ConnectResponse and, while it does, sends nothing but SASL packets;
//! the server evaluates each token at once (outside its request pipeline)
//! and, on success, adds the id `sasl:<user>` to the connection. This module
//! does the same: the session task calls [`authenticate`] before the auth
//! packets, SetWatches and queued requests of every connection.

mod digest_md5;

use std::fmt;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use rand::Rng;
use tracing::debug;
use zk_proto::{encode_request, xid, ErrorCode, Reader, Record, ReplyHeader, Request, SaslRequest};

use crate::error::Error;
use crate::transport::conn::{whole, Conn};
use digest_md5::{DigestMd5, Step};

/// The SASL service name ZooKeeper servers use (Java: `"zookeeper"`).
const SERVICE: &str = "zookeeper";
/// The server name a ZooKeeper server's DIGEST-MD5 mechanism is created with
/// (`ZooKeeperSaslServer`), and so its default realm.
const DIGEST_SERVER_NAME: &str = "zk-sasl-md5";

/// The SASL credentials of a session.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum SaslCredentials {
    /// DIGEST-MD5 against a `user_<name>="<password>"` entry of the server's
    /// JAAS `Server` section.
    DigestMd5 { username: String, password: String },
}

impl SaslCredentials {
    pub(crate) fn mechanism(&self) -> &'static str {
        match self {
            SaslCredentials::DigestMd5 { .. } => "DIGEST-MD5",
        }
    }

    pub(crate) fn username(&self) -> &str {
        match self {
            SaslCredentials::DigestMd5 { username, .. } => username,
        }
    }
}

impl fmt::Debug for SaslCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslCredentials")
            .field("mechanism", &self.mechanism())
            .field("username", &self.username())
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Why [`authenticate`] failed.
#[derive(Debug)]
pub(crate) enum SaslError {
    /// The connection failed under the exchange: try another server.
    Connection(Error),
    /// The server refused the credentials, or the exchange could not be
    /// completed (the message says why): the session is over.
    Rejected(String),
}

/// Runs the SASL exchange on a fresh connection, right after the
/// ConnectResponse. Each token goes out with a normal xid from `alloc_xid`,
/// as the Java client sends them.
pub(crate) async fn authenticate(
    conn: &mut Conn,
    creds: &SaslCredentials,
    max_frame: usize,
    mut alloc_xid: impl FnMut() -> i32,
) -> Result<(), SaslError> {
    let SaslCredentials::DigestMd5 { username, password } = creds;
    let cnonce: [u8; 16] = rand::rng().random();
    let cnonce: String = cnonce.iter().map(|b| format!("{b:02x}")).collect();
    let digest_uri = format!("{SERVICE}/{DIGEST_SERVER_NAME}");
    let mut mechanism = DigestMd5::new(username, password, &digest_uri, &cnonce);
    let lost = SaslError::Connection;
    let rejected = |why: String| {
        SaslError::Rejected(format!(
            "SASL {} login of {username:?} failed: {why}",
            creds.mechanism()
        ))
    };

    // DIGEST-MD5 has no initial response: the first token is empty.
    let mut token = Vec::new();
    loop {
        let xid = alloc_xid();
        let request = Request::Sasl(SaslRequest {
            token: Bytes::from(token),
        });
        encode_request(conn.write_buffer_mut(), max_frame, xid, &request)
            .map_err(|e| lost(Error::Protocol(e)))?;
        conn.flush().await.map_err(|e| lost(e.into()))?;

        let (header, mut body) = loop {
            let frame = match conn.next().await {
                Some(Ok(frame)) => {
                    whole(frame, conn.codec().max_frame()).map_err(|e| lost(Error::Protocol(e)))?
                }
                Some(Err(e)) => return Err(lost(e.into())),
                None => {
                    return Err(lost(Error::io_kind(
                        std::io::ErrorKind::UnexpectedEof,
                        "the server closed the connection during SASL authentication",
                    )))
                }
            };
            let mut r = Reader::new(frame);
            let header = ReplyHeader::decode(&mut r).map_err(|e| lost(Error::Protocol(e)))?;
            match header.xid {
                xid::PING | xid::NOTIFICATION => continue,
                got if got == xid => break (header, r),
                got => {
                    return Err(lost(Error::UnexpectedReply(format!(
                        "reply with xid {got} during SASL authentication, expected {xid}"
                    ))))
                }
            }
        };
        match header.err {
            ErrorCode::Ok => {}
            ErrorCode::AuthFailed => {
                return Err(rejected(
                    "the server refused the credentials (AUTHFAILED)".into(),
                ))
            }
            ErrorCode::SessionClosedRequireSaslAuth => {
                return Err(rejected(
                    "the server refused the credentials (SESSIONCLOSEDREQUIRESASLAUTH)".into(),
                ))
            }
            other => return Err(rejected(format!("the server answered {other}"))),
        }
        let reply = SaslRequest::decode(&mut body).map_err(|e| lost(Error::Protocol(e)))?;
        match mechanism.step(&reply.token) {
            Ok(Step::Send(next)) => token = next,
            Ok(Step::Done) => {
                debug!(mechanism = creds.mechanism(), username = %username, "SASL authenticated");
                return Ok(());
            }
            Err(e) => return Err(rejected(e.0)),
        }
    }
}
