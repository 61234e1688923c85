//! The handshake on a fresh connection: ConnectRequest/ConnectResponse,
//! SASL, the credentials of `add_auth`, and the SetWatches that re-arm the
//! session's watches, before the connection goes live.

use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::time::Instant;
use tracing::{debug, warn};
use zk_proto::{
    encode_record_frame, encode_request, xid, AuthPacket, ConnectRequest, ConnectResponse,
    ErrorCode, Reader, Record, ReplyHeader, Request, PASSWORD_LEN,
};

use super::state::SessionState;
use super::task::{AttemptError, Task};
use crate::config::HostPort;
use crate::error::Error;
use crate::transport::conn::{framed, whole, BoxTransport, Conn};
use crate::transport::sasl::{self, SaslError};

impl Task {
    pub(super) async fn handshake(&mut self, host: Option<HostPort>) -> Result<Conn, AttemptError> {
        #[cfg(target_os = "linux")]
        {
            self.low_water = None;
        }
        let io: BoxTransport = match self.first_io.take() {
            Some(io) => io,
            None => {
                // One attempt that had no server to go to: an I/O-shaped
                // failure of this attempt, not ConnectFailed (which only
                // hunting reports, once no server could be reached).
                let host = host.ok_or_else(|| {
                    AttemptError::Retry(Error::io_kind(
                        std::io::ErrorKind::AddrNotAvailable,
                        "the server list is empty",
                    ))
                })?;
                let connected = self
                    .cfg
                    .connector
                    .connect(&host)
                    .await
                    .map_err(AttemptError::Retry)?;
                #[cfg(target_os = "linux")]
                {
                    self.low_water = connected.low_water.filter(|_| self.cfg.batch_reads);
                }
                connected.io
            }
        };
        // Replies may exceed the request limit by the reply overhead, so
        // that the largest data a request can carry can be read back.
        let mut conn = framed(io, self.cfg.max_reply);
        let resume = self.seen_rw && self.session_id != 0;
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: self.last_zxid,
            timeout: i32::try_from(self.cfg.session_timeout.as_millis()).unwrap_or(i32::MAX),
            session_id: if resume { self.session_id } else { 0 },
            passwd: if resume {
                self.passwd.clone()
            } else {
                Bytes::from_static(&[0; PASSWORD_LEN])
            },
            read_only: Some(self.cfg.read_only),
        };
        let retry = |e: Error| AttemptError::Retry(e);
        encode_record_frame(conn.write_buffer_mut(), self.cfg.max_frame, &req)
            .map_err(|e| retry(e.into()))?;
        conn.flush().await.map_err(|e| retry(e.into()))?;
        let frame = next_frame(&mut conn).await.map_err(retry)?;
        let resp = ConnectResponse::decode(&mut Reader::new(frame.clone())).map_err(|e| {
            // A read-only 3.8 server without local sessions answers a new
            // session with a bare reply header (NOTREADONLY) instead.
            match ReplyHeader::decode(&mut Reader::new(frame)) {
                Ok(h) if frame_is_header(&h) => {
                    retry(Error::from_code(h.err).unwrap_or(Error::Protocol(e)))
                }
                _ => retry(Error::Protocol(e)),
            }
        })?;
        if resp.is_expired() {
            return Err(AttemptError::Terminal(
                SessionState::Expired,
                Error::SessionExpired,
            ));
        }
        let read_only = resp.read_only == Some(true);
        self.session_id = resp.session_id;
        self.passwd = resp.passwd;
        self.negotiated = Duration::from_millis(u64::try_from(resp.timeout).unwrap_or(1).max(1));
        if !read_only {
            self.seen_rw = true;
        }
        self.last_heard = Instant::now();
        self.shared.touch(self.last_heard.into_std());

        // SASL first: while it is in progress nothing else goes out (Java's
        // ZooKeeperSaslClient), and a refusal ends the session.
        if let Some(creds) = self.cfg.sasl.clone() {
            let max_frame = self.cfg.max_frame;
            let result =
                sasl::authenticate(&mut conn, &creds, max_frame, || self.alloc_xid()).await;
            match result {
                Ok(()) => {}
                Err(SaslError::Connection(e)) => return Err(retry(e)),
                Err(SaslError::Rejected(reason)) => {
                    warn!(%reason, "SASL authentication failed");
                    return Err(AttemptError::Terminal(
                        SessionState::AuthFailed,
                        Error::AuthFailed,
                    ));
                }
            }
        }

        // Credentials: sent (and their answers awaited) before anything else,
        // so that a bad one fails the connect rather than some later request.
        if !self.cfg.auths.is_empty() {
            for (scheme, auth) in &self.cfg.auths {
                let packet = Request::Auth(AuthPacket {
                    auth_type: 0,
                    scheme: scheme.clone(),
                    auth: auth.clone(),
                });
                encode_request(
                    conn.write_buffer_mut(),
                    self.cfg.max_frame,
                    xid::AUTH,
                    &packet,
                )
                .map_err(|e| retry(e.into()))?;
            }
            conn.flush().await.map_err(|e| retry(e.into()))?;
            let mut answered = 0;
            while answered < self.cfg.auths.len() {
                let frame = next_frame(&mut conn).await.map_err(retry)?;
                let header = ReplyHeader::decode(&mut Reader::new(frame))
                    .map_err(|e| retry(Error::Protocol(e)))?;
                if header.xid != xid::AUTH {
                    continue; // a ping or notification cannot precede it, but be lenient
                }
                answered += 1;
                if header.err == ErrorCode::AuthFailed {
                    return Err(AttemptError::Terminal(
                        SessionState::AuthFailed,
                        Error::AuthFailed,
                    ));
                }
            }
        }

        // Re-arm every watch the session holds, one-shot and persistent
        // (streams dropped while disconnected are forgotten first), in
        // batches of at most 128 KiB of paths, all written at once (xid −8;
        // their replies come back in order and need no matching).
        for id in self.persistents.dead() {
            self.persistents.remove(id);
        }
        let registrations = self.persistents.registrations();
        let batches = self.watches.set_watches(
            self.last_zxid,
            &registrations,
            super::watches::batch_limit(self.cfg.max_frame),
        );
        let (mut watches, mut bytes) = (0usize, 0usize);
        for req in &batches {
            let lists: Vec<&Vec<String>> = match req {
                Request::SetWatches(b) => vec![&b.data_watches, &b.exist_watches, &b.child_watches],
                Request::SetWatches2(b) => vec![
                    &b.data_watches,
                    &b.exist_watches,
                    &b.child_watches,
                    &b.persistent_watches,
                    &b.persistent_recursive_watches,
                ],
                _ => Vec::new(),
            };
            for l in lists {
                watches += l.len();
                bytes += l.iter().map(String::len).sum::<usize>();
            }
            encode_request(
                conn.write_buffer_mut(),
                self.cfg.max_frame,
                xid::SET_WATCHES,
                req,
            )
            .map_err(|e| retry(e.into()))?;
        }
        if !batches.is_empty() {
            debug!(
                batches = batches.len(),
                watches,
                path_bytes = bytes,
                relative_zxid = self.last_zxid,
                "re-registering watches"
            );
        }
        self.shared
            .counters
            .record_rearm(batches.len(), watches, bytes);

        let reconnected = self.epoch > 0;
        self.epoch += 1;
        self.read_only_now = read_only;
        self.publish(if read_only {
            SessionState::ConnectedReadOnly
        } else {
            SessionState::Connected
        });
        if reconnected {
            // Before any event of the new connection is routed.
            self.persistents.resync_all();
        }
        Ok(conn)
    }
}

/// Whether a handshake answer that is not a ConnectResponse is a reply
/// header carrying an error code (xid 0, a known non-OK code).
fn frame_is_header(h: &ReplyHeader) -> bool {
    h.xid == 0 && !h.err.is_ok() && !matches!(h.err, ErrorCode::Unknown(_))
}

/// Reads one frame, treating end of stream as an error.
async fn next_frame(conn: &mut Conn) -> Result<Bytes, Error> {
    match conn.next().await {
        Some(Ok(frame)) => whole(frame, conn.codec().max_frame()).map_err(Error::Protocol),
        Some(Err(e)) => Err(e.into()),
        None => Err(Error::io_kind(
            std::io::ErrorKind::UnexpectedEof,
            "the server closed the connection without answering",
        )),
    }
}
