//! A fake server that sends garbage: truncated frames, oversized and negative
//! length prefixes, wrong xids, nonsensical bodies. The client must hand
//! every caller a typed error and never panic.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zk_client::{Client, Error, SessionState};
use zk_proto::{
    encode_record_frame, encode_reply, ConnectResponse, ErrorCode, GetDataResponse, ReplyHeader,
    Response, Stat, DEFAULT_MAX_FRAME,
};

use crate::support::bounded;

/// Reads one frame (length + body) from the client.
pub async fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.ok()?;
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).await.ok()?;
    Some(body)
}

/// The xid of a request frame.
pub fn xid_of(frame: &[u8]) -> i32 {
    i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]])
}

/// Completes the handshake: reads the ConnectRequest, answers with a session.
pub async fn handshake(s: &mut TcpStream) -> Option<()> {
    handshake_granting(s, 10_000).await
}

/// Like [`handshake`], granting a session timeout of `timeout_ms`.
pub async fn handshake_granting(s: &mut TcpStream, timeout_ms: i32) -> Option<()> {
    read_frame(s).await?;
    let resp = ConnectResponse {
        protocol_version: 0,
        timeout: timeout_ms,
        session_id: 0x1234,
        passwd: vec![7u8; 16].into(),
        read_only: Some(false),
    };
    let mut buf = BytesMut::new();
    encode_record_frame(&mut buf, DEFAULT_MAX_FRAME, &resp).unwrap();
    s.write_all(&buf).await.ok()
}

/// Answers a resumed session with "expired", ending the client's session.
async fn expire(s: &mut TcpStream) {
    if read_frame(s).await.is_some() {
        let mut buf = BytesMut::new();
        encode_record_frame(
            &mut buf,
            DEFAULT_MAX_FRAME,
            &ConnectResponse::expired(Some(false)),
        )
        .unwrap();
        let _ = s.write_all(&buf).await;
    }
}

pub fn reply(xid: i32, err: ErrorCode, body: &Response) -> BytesMut {
    let mut buf = BytesMut::new();
    let header = ReplyHeader { xid, zxid: 5, err };
    encode_reply(&mut buf, DEFAULT_MAX_FRAME, &header, body).unwrap();
    buf
}

fn good_get_data(xid: i32) -> BytesMut {
    reply(
        xid,
        ErrorCode::Ok,
        &Response::GetData(GetDataResponse {
            data: b"ok".to_vec().into(),
            stat: Stat::default(),
        }),
    )
}

/// Runs a fake server: the first connection is handled by `first`, every
/// later one (the client's reconnects) is told the session expired.
pub async fn fake<F, Fut>(first: F) -> SocketAddr
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let Ok((s, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(first(s));
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move { expire(&mut s).await });
        }
    });
    addr
}

pub async fn connect(addr: SocketAddr) -> Client {
    Client::builder(addr.to_string())
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap()
}

/// After the handshake, answers the first request with `garbage` and then
/// keeps the connection open (or closes it, if `close`).
async fn garbage_after_handshake(garbage: Vec<u8>, close: bool) -> Result<(), Error> {
    let addr = fake(move |mut s| async move {
        if handshake(&mut s).await.is_none() {
            return;
        }
        if read_frame(&mut s).await.is_none() {
            return;
        }
        let _ = s.write_all(&garbage).await;
        if !close {
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink).await;
        }
    })
    .await;
    let c = connect(addr).await;
    let r = bounded("request", c.get_data("/x")).await.map(|_| ());
    // The client is still alive and answering, with typed errors.
    let next = bounded("next request", c.get_data("/x")).await;
    assert!(next.is_err());
    r
}

/// A server answering a resumed session with "expired" (timeout 0) ends the
/// session: Expired, terminal, reported to every caller.
#[tokio::test]
async fn expired_answer_on_reconnect_is_terminal() {
    use futures::StreamExt;
    let addr = fake(|mut s| async move {
        // Complete the handshake, then drop the connection at once; the
        // reconnect is told "expired".
        let _ = handshake(&mut s).await;
    })
    .await;
    let c = connect(addr).await;
    let states: Vec<SessionState> = bounded("states", c.state_stream().collect()).await;
    assert_eq!(states.last(), Some(&SessionState::Expired), "{states:?}");
    assert_eq!(c.get_data("/x").await.unwrap_err(), Error::SessionExpired);
    assert_eq!(
        c.exists_watch("/x").await.unwrap_err(),
        Error::SessionExpired
    );
}

#[tokio::test]
async fn truncated_frame_gives_connection_loss() {
    let mut g = BytesMut::new();
    g.put_i32(100);
    g.put_slice(&[0, 0, 0, 1, 0, 0]);
    let e = garbage_after_handshake(g.to_vec(), true).await.unwrap_err();
    assert_eq!(e, Error::ConnectionLoss);
}

#[tokio::test]
async fn oversized_length_prefix_gives_connection_loss() {
    for len in [i32::MAX, DEFAULT_MAX_FRAME as i32 + 1] {
        let mut g = BytesMut::new();
        g.put_i32(len);
        g.put_slice(&[0; 64]);
        let e = garbage_after_handshake(g.to_vec(), false)
            .await
            .unwrap_err();
        assert_eq!(e, Error::ConnectionLoss);
    }
}

#[tokio::test]
async fn negative_length_prefix_gives_connection_loss() {
    let mut g = BytesMut::new();
    g.put_i32(-7);
    let e = garbage_after_handshake(g.to_vec(), false)
        .await
        .unwrap_err();
    assert_eq!(e, Error::ConnectionLoss);
}

#[tokio::test]
async fn wrong_xid_gives_connection_loss() {
    let g = good_get_data(999);
    let e = garbage_after_handshake(g.to_vec(), false)
        .await
        .unwrap_err();
    assert_eq!(e, Error::ConnectionLoss);
}

#[tokio::test]
async fn header_too_short_gives_connection_loss() {
    let mut g = BytesMut::new();
    g.put_i32(3);
    g.put_slice(&[0, 0, 0]);
    let e = garbage_after_handshake(g.to_vec(), false)
        .await
        .unwrap_err();
    assert_eq!(e, Error::ConnectionLoss);
}

#[tokio::test]
async fn garbage_notification_gives_connection_loss() {
    let mut g = BytesMut::new();
    g.put_i32(16 + 3);
    g.put_i32(-1); // notification xid
    g.put_i64(-1);
    g.put_i32(0);
    g.put_slice(&[1, 2, 3]); // not a WatcherEvent
    let e = garbage_after_handshake(g.to_vec(), false)
        .await
        .unwrap_err();
    assert_eq!(e, Error::ConnectionLoss);
}

/// A reply with the right xid but a body that is not a GetDataResponse: the
/// caller gets a protocol error, and the connection (framing intact) goes on.
#[tokio::test]
async fn nonsense_body_gives_a_protocol_error_and_the_connection_survives() {
    let addr = fake(|mut s| async move {
        if handshake(&mut s).await.is_none() {
            return;
        }
        let Some(req) = read_frame(&mut s).await else {
            return;
        };
        let mut g = BytesMut::new();
        g.put_i32(16 + 5);
        g.put_i32(xid_of(&req));
        g.put_i64(5);
        g.put_i32(0);
        g.put_slice(&[0x7f, 0xff, 0xff, 0xff, 9]); // a buffer "length" far past the frame
        let _ = s.write_all(&g).await;
        // Answer the next request properly.
        if let Some(req) = read_frame(&mut s).await {
            let _ = s.write_all(&good_get_data(xid_of(&req))).await;
        }
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink).await;
    })
    .await;
    let c = connect(addr).await;
    let e = bounded("bad body", c.get_data("/x")).await.unwrap_err();
    assert!(matches!(e, Error::Protocol(_)), "{e:?}");
    let (data, _) = bounded("good body", c.get_data("/x")).await.unwrap();
    assert_eq!(&data[..], b"ok");
    assert_eq!(c.state(), SessionState::Connected);
}

/// Garbage instead of a ConnectResponse fails the connect with a typed error.
#[tokio::test]
async fn garbage_handshake_fails_the_connect() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = read_frame(&mut s).await;
            let _ = s.write_all(&[0, 0, 0, 2, 0xde, 0xad]).await;
        }
    });
    let e = Client::builder(addr.to_string())
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::ConnectFailed { .. }), "{e:?}");
}

/// A server that completes the handshake and then never answers: every
/// request still resolves, with RequestTimeout.
#[tokio::test]
async fn silent_server_requests_time_out() {
    let addr = fake(|mut s| async move {
        if handshake(&mut s).await.is_none() {
            return;
        }
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink).await;
    })
    .await;
    let c = Client::builder(addr.to_string())
        .request_timeout(Duration::from_millis(200))
        .connect()
        .await
        .unwrap();
    let futs: Vec<_> = (0..10).map(|_| c.get_data("/x")).collect();
    for f in futs {
        assert_eq!(
            bounded("timeout", f).await.unwrap_err(),
            Error::RequestTimeout
        );
    }
}

/// Panics seen by [`count_panics`]'s hook on a thread that asked for it.
static PANICS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

thread_local! {
    /// Set on the thread whose panics [`count_panics`] records.
    static WATCHED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Records (and still prints) every panic on a watched thread: the test's own
/// thread, which runs every task its current-thread runtime spawns (the
/// client's session task among them), and that runtime's blocking threads.
/// A panic in a spawned task does not reach the test otherwise: tokio catches
/// it and the client only sees its task gone (`Error::Closed`).
fn count_panics(blocking_thread_name: &'static str) {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let watched = WATCHED.with(|w| w.get())
                || std::thread::current()
                    .name()
                    .is_some_and(|n| n.starts_with("zk-garbage-"));
            if watched {
                PANICS
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(info.to_string());
            }
            previous(info);
        }));
    });
    debug_assert!(blocking_thread_name.starts_with("zk-garbage-"));
    WATCHED.with(|w| w.set(true));
}

fn panics_seen() -> Vec<String> {
    PANICS.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Seeded random garbage after the handshake: every call resolves with a
/// typed error or a value, and no task panics, spawned ones included. The
/// seed is fresh each run and printed; `ZK_GARBAGE_SEED=<n>` replays one.
#[test]
fn random_garbage_never_panics() {
    let seed: u64 = std::env::var("ZK_GARBAGE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("random_garbage_never_panics: seed {seed} (replay with ZK_GARBAGE_SEED={seed})");
    const BLOCKING: &str = "zk-garbage-blocking";
    count_panics(BLOCKING);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name(BLOCKING)
        .build()
        .unwrap();

    // The detector itself: a panicking spawned task is seen.
    let before = panics_seen().len();
    let joined = rt.block_on(async { tokio::spawn(async { panic!("detector self-check") }).await });
    assert!(joined.is_err_and(|e| e.is_panic()));
    assert_eq!(
        panics_seen().len(),
        before + 1,
        "the panic hook saw nothing"
    );
    PANICS.lock().unwrap_or_else(|p| p.into_inner()).clear();

    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for round in 0..40u64 {
        let mut blob = vec![0u8; rng.random_range(0..200)];
        rng.fill(&mut blob[..]);
        // Half the time, a plausible header in front of the noise.
        if rng.random_bool(0.5) {
            let mut g = BytesMut::new();
            g.put_i32(blob.len() as i32 + 16);
            g.put_i32(if rng.random_bool(0.5) { 1 } else { -1 });
            g.put_i64(rng.random());
            g.put_i32(if rng.random_bool(0.5) {
                0
            } else {
                rng.random()
            });
            g.put_slice(&blob);
            blob = g.to_vec();
        }
        let (r, second) = rt.block_on(async move {
            let addr = fake(move |mut s| async move {
                if handshake(&mut s).await.is_none() {
                    return;
                }
                if read_frame(&mut s).await.is_none() {
                    return;
                }
                let _ = s.write_all(&blob).await;
                let _ = s.shutdown().await;
            })
            .await;
            let c = connect(addr).await;
            // Not `bounded`: a hang after a panic must be reported as the panic.
            let limit = Duration::from_secs(20);
            let r = tokio::time::timeout(limit, c.get_data("/x"))
                .await
                .map(|r| r.map(|_| ()));
            let second = tokio::time::timeout(limit, c.get_data("/x"))
                .await
                .map(|r| r.map(|_| ()));
            // Let the session task finish whatever the garbage started.
            tokio::task::yield_now().await;
            drop(c);
            tokio::time::sleep(Duration::from_millis(1)).await;
            (r, second)
        });
        let panics = panics_seen();
        assert!(
            panics.is_empty(),
            "round {round} (ZK_GARBAGE_SEED={seed}) panicked: {panics:?}"
        );
        // Every call resolves. A panicked session task shows as Closed; a
        // live client never says Closed while its handle exists.
        let (Ok(r), Ok(second)) = (r, second) else {
            panic!("round {round} (ZK_GARBAGE_SEED={seed}): a request never resolved");
        };
        for res in [&r, &second] {
            assert!(
                !matches!(res, Err(Error::Closed)),
                "round {round} (ZK_GARBAGE_SEED={seed}): the session task is gone: {res:?}"
            );
        }
        eprintln!("round {round} (ZK_GARBAGE_SEED={seed}): {r:?} then {second:?}");
    }
    drop(rt);
    WATCHED.with(|w| w.set(false));
    let panics = panics_seen();
    assert!(
        panics.is_empty(),
        "ZK_GARBAGE_SEED={seed}: panicked at shutdown: {panics:?}"
    );
}

/// A SESSIONMOVED reply is a connection-level failure, as in Java: the
/// client drops the connection (the request fails with ConnectionLoss) and
/// reconnects.
#[tokio::test]
async fn session_moved_drops_the_connection_and_reconnects() {
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel();
    let addr = fake(|mut s| async move {
        if handshake(&mut s).await.is_none() {
            return;
        }
        let Some(req) = read_frame(&mut s).await else {
            return;
        };
        let mut g = BytesMut::new();
        g.put_i32(16);
        g.put_i32(xid_of(&req));
        g.put_i64(5);
        g.put_i32(ErrorCode::SessionMoved.code());
        let _ = s.write_all(&g).await;
        // The client must hang up on its own.
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink).await;
        let _ = closed_tx.send(());
    })
    .await;
    let c = connect(addr).await;
    let mut states = c.state_stream();
    use futures::StreamExt;
    assert_eq!(states.next().await, Some(SessionState::Connected));
    let e = bounded("request", c.get_data("/x")).await.unwrap_err();
    assert_eq!(e, Error::ConnectionLoss);
    bounded("the client hangs up", closed_rx).await.unwrap();
    assert_eq!(
        bounded("state", states.next()).await,
        Some(SessionState::Disconnected)
    );
    // The fake answers the reconnect with "expired".
    assert_eq!(
        bounded("state", states.next()).await,
        Some(SessionState::Expired)
    );
}

/// A read-only ZooKeeper 3.8 server without local sessions answers a new
/// session's handshake with a bare reply header (NOTREADONLY) instead of a
/// ConnectResponse: the connect fails, saying so.
#[tokio::test]
async fn a_reply_header_instead_of_a_connect_response_says_what_it_carries() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = read_frame(&mut s).await;
            let mut g = BytesMut::new();
            g.put_i32(16);
            g.put_i32(0);
            g.put_i64(0x1_0000_0003);
            g.put_i32(ErrorCode::NotReadOnly.code());
            let _ = s.write_all(&g).await;
        }
    });
    let e = Client::builder(addr.to_string())
        .read_only(true)
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::ConnectFailed { source: Some(s), .. } if **s == Error::NotReadOnly),
        "{e:?}"
    );
}
