//! Reading replies in batches (`ClientBuilder::batch_reads`) against a
//! server that answers slower than a batch gathers: the client must still
//! read each reply soon after it lands, not wait for a batch past its own
//! read timeout.

use std::time::Duration;

use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use zk_client::{Client, Error, SessionState};
use zk_proto::{ErrorCode, Response};

use crate::fake_server::{fake, handshake_granting, read_frame, reply, xid_of};
use crate::support::bounded;

/// The session timeout the fake server grants: the client's read timeout
/// is two thirds of it (400 ms), its ping interval a third.
const GRANTED_MS: i32 = 600;

/// Between reading a request and answering it, the fake server waits this.
const ANSWER_EVERY: Duration = Duration::from_millis(60);

/// Requests pipelined: with this many owed the client asks for 8 of the
/// smallest replies (160 bytes) before waking, which at one reply every
/// 60 ms would take 480 ms, longer than its 400 ms read timeout.
const PIPELINED: usize = 32;

/// Grants a session of [`GRANTED_MS`], then answers every request in order,
/// one every [`ANSWER_EVERY`]: NONODE (a bare 20-byte header), pings OK.
async fn slow_server(mut s: TcpStream) {
    if handshake_granting(&mut s, GRANTED_MS).await.is_none() {
        return;
    }
    while let Some(frame) = read_frame(&mut s).await {
        tokio::time::sleep(ANSWER_EVERY).await;
        let xid = xid_of(&frame);
        let err = if xid == zk_proto::xid::PING {
            ErrorCode::Ok
        } else {
            ErrorCode::NoNode
        };
        if s.write_all(&reply(xid, err, &Response::Empty))
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Every reply of a pipeline that trickles in one per 60 ms arrives, with
/// no connection loss: once replies stop for a moment the client reads
/// whatever has come instead of waiting for a batch.
#[tokio::test]
async fn replies_slower_than_a_batch_are_read_as_they_land() {
    let addr = fake(slow_server).await;
    let client = Client::builder(addr.to_string())
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap();
    let replies: Vec<_> = bounded(
        "the pipeline",
        futures::stream::iter(0..PIPELINED)
            .map(|i| client.get_data(&format!("/n{i}")))
            .buffer_unordered(PIPELINED)
            .collect(),
    )
    .await;
    for r in &replies {
        assert_eq!(r.as_ref().map(|_| ()), Err(&Error::NoNode), "{replies:?}");
    }
    // The connection never dropped on the way (a reconnect to this server
    // would have been told the session expired).
    assert_eq!(client.state(), SessionState::Connected);
}
