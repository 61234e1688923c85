//! Expiring a session for real, on the server.

use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use zk_proto::ConnectRequest;

use super::RawClient;

/// Ends the session `session_id` on the server at `addr`, the way Curator's
/// `KillSession` and kazoo's tests do: a second connection resumes the
/// session with its id and password (a real server moves the session to
/// it, closing the first connection if it was on the same server), then
/// closes it with closeSession. The server deletes the session's ephemerals
/// and closes every connection the session still has; the session's own
/// client then finds it expired when it reconnects.
///
/// Errors: I/O errors, and [`io::ErrorKind::NotFound`] when the server says
/// the session has already expired (or the password is wrong).
///
/// ```no_run
/// # async fn demo(session_id: i64, passwd: [u8; 16]) -> std::io::Result<()> {
/// let addr = "127.0.0.1:2181".parse().unwrap();
/// zk_server_sim::testkit::expire_session(addr, session_id, &passwd).await?;
/// # Ok(()) }
/// ```
pub async fn expire_session(addr: SocketAddr, session_id: i64, passwd: &[u8]) -> io::Result<()> {
    let req = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout: 30_000,
        session_id,
        passwd: Bytes::copy_from_slice(passwd),
        read_only: Some(false),
    };
    let client = RawClient::connect_with(addr, &req).await?;
    if client.connect_response().is_expired() {
        client.disconnect();
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("session {session_id:#x} is already expired (or the password is wrong)"),
        ));
    }
    client.close().await
}
