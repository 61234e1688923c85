//! The end of a session, seen from outside: the state is published before
//! anything fails with the terminal error; requests in flight when the
//! server says the session expired fail with SessionExpired; `close()` on a
//! session that is over succeeds.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Context;
use std::time::Duration;

use futures::task::ArcWake;
use tokio::io::AsyncReadExt;
use zk_client::{Client, CreateOptions, Error, SessionState};
use zk_proto::{ErrorCode, Response};

use crate::api::sim;
use crate::fake_server::{connect, fake, handshake, read_frame, reply, xid_of};
use crate::support::bounded;

/// A waker that records the client's state at the moment it is woken: the
/// session task wakes a future from inside its own code, so this sees what
/// a caller woken by the error would see, without any race in the test.
struct StateAtWake {
    client: Client,
    seen: Mutex<Vec<SessionState>>,
}

impl ArcWake for StateAtWake {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        let state = arc_self.client.state();
        arc_self.seen.lock().unwrap().push(state);
    }
}

/// Waits until the recorder was woken `n` times (the futures are not polled
/// meanwhile, so their wakers stay the recorder's), and returns what it saw.
async fn woken(rec: &StateAtWake, n: usize) -> Vec<SessionState> {
    bounded("wake-ups", async {
        loop {
            let seen = rec.seen.lock().unwrap().clone();
            if seen.len() >= n {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

/// Polls `fut` once with a recording waker (it must not be ready yet).
fn register<F: std::future::Future + Unpin>(fut: &mut F, rec: &Arc<StateAtWake>) {
    let waker = futures::task::waker(rec.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(fut).poll(&mut cx).is_pending());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_is_expired_before_watches_fail() {
    let (ens, cs) = sim("terminal_order").await;
    let c = Client::connect(cs).await.unwrap();
    c.create("/n", b"", CreateOptions::persistent())
        .await
        .unwrap();
    let rec = Arc::new(StateAtWake {
        client: c.clone(),
        seen: Mutex::new(Vec::new()),
    });
    let (_, missing) = c.exists_watch("/missing").await.unwrap();
    let (_, _, data) = c.get_data_watch("/n").await.unwrap();
    let mut missing = Box::pin(missing);
    let mut data = Box::pin(data);
    register(&mut missing, &rec);
    register(&mut data, &rec);

    assert!(ens.expire_session(c.session_id()));
    assert_eq!(
        woken(&rec, 2).await,
        vec![SessionState::Expired, SessionState::Expired],
        "the state when each watch was woken with SessionExpired"
    );
    assert_eq!(missing.await, Err(Error::SessionExpired));
    assert_eq!(data.await, Err(Error::SessionExpired));
    assert_eq!(c.state(), SessionState::Expired);
    // close() on an expired session succeeds, twice.
    c.close().await.unwrap();
    c.close().await.unwrap();
    assert_eq!(c.get_data("/n").await, Err(Error::SessionExpired));
}

#[tokio::test]
async fn close_is_idempotent() {
    let (_ens, cs) = sim("close_twice").await;
    let c = Client::connect(cs).await.unwrap();
    let other = c.clone();
    c.close().await.unwrap();
    c.close().await.unwrap();
    other.close().await.unwrap();
    assert_eq!(c.state(), SessionState::Closed);
    assert_eq!(c.exists("/").await, Err(Error::Closed));
}

/// A server that answers the first of two requests in flight with
/// SESSIONEXPIRED (as ZooKeeper does for requests of a session it expired
/// meanwhile): both fail with SessionExpired, never ConnectionLoss, and the
/// state says Expired before either caller is woken.
#[tokio::test]
async fn requests_in_flight_at_an_expired_reply_fail_with_session_expired() {
    let addr = fake(|mut s| async move {
        if handshake(&mut s).await.is_none() {
            return;
        }
        let Some(first) = read_frame(&mut s).await else {
            return;
        };
        let Some(_second) = read_frame(&mut s).await else {
            return;
        };
        let frame = reply(xid_of(&first), ErrorCode::SessionExpired, &Response::Empty);
        let _ = tokio::io::AsyncWriteExt::write_all(&mut s, &frame).await;
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink).await;
    })
    .await;
    let c = connect(addr).await;
    let rec = Arc::new(StateAtWake {
        client: c.clone(),
        seen: Mutex::new(Vec::new()),
    });
    let mut a = Box::pin(c.get_data("/a"));
    let mut b = Box::pin(c.get_data("/b"));
    register(&mut a, &rec);
    register(&mut b, &rec);
    assert_eq!(
        woken(&rec, 2).await,
        vec![SessionState::Expired, SessionState::Expired]
    );
    assert_eq!(a.await.map(|_| ()), Err(Error::SessionExpired));
    assert_eq!(b.await.map(|_| ()), Err(Error::SessionExpired));
    assert_eq!(c.exists("/").await, Err(Error::SessionExpired));
    c.close().await.unwrap();
}
