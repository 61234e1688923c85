//! Expiring a session for real, on the server.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

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
/// The session's own client may win it back in between (it reconnects at
/// once when a takeover on its server closes its connection, and a
/// reconnect closes the helper's connection in turn); the takeover is then
/// tried again, up to 10 times.
///
/// Errors: I/O errors, and [`io::ErrorKind::NotFound`] when the server says
/// the session has already expired (or the password is wrong) at the first try.
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
    let mut last = io::Error::other("no attempt");
    for attempt in 0..10u32 {
        match RawClient::connect_with(addr, &req).await {
            Ok(client) if client.connect_response().is_expired() => {
                client.disconnect();
                if attempt > 0 {
                    // An earlier closeSession went through after all.
                    return Ok(());
                }
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "session {session_id:#x} is already expired (or the password is wrong)"
                    ),
                ));
            }
            Ok(client) => match client.close().await {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            },
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt + 1))).await;
    }
    Err(last)
}
