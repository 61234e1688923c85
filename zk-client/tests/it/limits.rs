//! Limits a caller or a server can hit: durations too long to add to an
//! instant, a server that breaks every session right after the handshake,
//! the largest node the client lets one create, and what DataTooLarge says.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use zk_client::{Client, CreateMode, Error, DEFAULT_MAX_BUFFER};

use crate::api::chroot_at;
use crate::fake_server::handshake;
use crate::support::{chroot_on, ensemble};

/// `Duration::MAX` everywhere a caller can give a duration: no overflow
/// (no panic), the client works (a request timeout that cannot be added to
/// now is no deadline).
#[tokio::test]
async fn duration_max_everywhere() {
    let ens = zk_server_sim::Ensemble::builder()
        .nodes(1)
        .build()
        .await
        .unwrap();
    let c = Client::builder(ens.connect_string())
        .session_timeout(Duration::MAX)
        .connect_timeout(Duration::MAX)
        .request_timeout(Duration::MAX)
        .connect()
        .await
        .unwrap();
    c.create("/n", b"v", CreateMode::Persistent).await.unwrap();
    assert_eq!(&c.get_data("/n").await.unwrap().0[..], b"v");
    assert!(c.negotiated_timeout() > Duration::ZERO);
    c.add_auth("digest", b"u:p").await.unwrap();
    c.close().await.unwrap();
}

/// A server that completes every handshake and then closes the connection
/// at once: the client pauses between reconnects (jittered, growing to 1 s)
/// instead of reconnecting in a tight loop. Counts connections over 2 s.
#[tokio::test]
async fn a_server_that_breaks_every_session_is_not_hammered() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                // The handshake (timeout 10 s, so no local expiry in this
                // test), then the connection is dropped.
                let _ = handshake(&mut s).await;
            });
        }
    });
    let c = Client::builder(addr.to_string())
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap();
    let start = accepted.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let n = accepted.load(Ordering::SeqCst) - start;
    println!("{n} connections in 2 s");
    // Without the pause this is hundreds; with it, about 2-4 per second.
    assert!(n <= 20, "{n} connections in 2 s");
    assert!(n >= 1, "the client keeps trying");
    drop(c);
}

/// The largest data `create` accepts can be read back (the reply carries
/// 88 bytes more than the data; the reply limit allows for it), and
/// DataTooLarge's `len` is always the encoded request's size.
async fn largest_node_is_readable(cs: String) {
    let c = Client::connect(cs).await.unwrap();
    let too_big = vec![7u8; DEFAULT_MAX_BUFFER];
    let err = c
        .create("/big", &too_big, CreateMode::Persistent)
        .await
        .unwrap_err();
    let Error::DataTooLarge { len, max } = err else {
        panic!("{err:?}")
    };
    assert_eq!(max, DEFAULT_MAX_BUFFER);
    assert!(len > too_big.len(), "len is the request's size: {len}");
    let largest = too_big.len() - (len - max);
    let data = vec![7u8; largest];
    c.create("/big", &data, CreateMode::Persistent)
        .await
        .unwrap();
    let (read, stat) = c.get_data("/big").await.unwrap();
    assert_eq!(read.len(), largest);
    assert_eq!(stat.data_length as usize, largest);
    // set_data: the same meaning (request size), with its own overhead.
    let Err(Error::DataTooLarge { len, .. }) = c.set_data("/big", &too_big, None).await else {
        panic!("set_data of the limit must fail")
    };
    assert!(len > too_big.len());
    c.delete("/big", None).await.unwrap();
    c.close().await.unwrap();
}

#[tokio::test]
async fn largest_node_is_readable_on_the_simulator() {
    // The simulator's own frame limit is raised (its replies are capped
    // at its limit, unlike ZooKeeper's); the client's stays the default.
    let ens = zk_server_sim::Ensemble::builder()
        .nodes(1)
        .max_frame_size(2 * DEFAULT_MAX_BUFFER)
        .build()
        .await
        .unwrap();
    largest_node_is_readable(chroot_at(&ens.connect_string(), "big").await).await;
}

#[tokio::test]
async fn largest_node_is_readable_on_real_zookeeper() {
    largest_node_is_readable(chroot_on(ensemble(), "big").await).await;
}

/// A reply over the client's limit (§14 #19, CURATOR-690: a getChildren of
/// a directory with many long names; ZooKeeper does not limit what it
/// sends) fails only its own request, with ReplyTooLarge: a getData in
/// flight with it and one issued right after succeed, the session id is
/// unchanged and the state never leaves Connected (no reconnect).
async fn oversize_reply_fails_only_its_request(cs: String) {
    use futures::StreamExt;
    use zk_client::{SessionState, REPLY_OVERHEAD};

    let setup = Client::connect(cs.clone()).await.unwrap();
    setup
        .create("/dir", b"", CreateMode::Persistent)
        .await
        .unwrap();
    setup
        .create("/small", b"v", CreateMode::Persistent)
        .await
        .unwrap();
    let long = "c".repeat(200);
    let creates = (0..100).map(|i| {
        let path = format!("/dir/{long}{i:03}");
        let setup = &setup;
        async move { setup.create(&path, b"", CreateMode::Persistent).await }
    });
    for r in futures::future::join_all(creates).await {
        r.unwrap();
    }

    let max_buffer = 4096;
    let c = Client::builder(cs)
        .max_buffer(max_buffer)
        .connect()
        .await
        .unwrap();
    let mut states = c.state_stream();
    assert_eq!(states.next().await, Some(SessionState::Connected));
    let id = c.session_id();

    // Both in flight at once: the oversize reply comes first.
    let (big, small) = tokio::join!(c.get_children("/dir"), c.get_data("/small"));
    match big {
        Err(Error::ReplyTooLarge { len, limit }) => {
            assert_eq!(limit, max_buffer + REPLY_OVERHEAD);
            assert!(len > limit, "len {len}, limit {limit}");
            println!("getChildren reply of {len} bytes refused (limit {limit})");
        }
        other => panic!("expected ReplyTooLarge, got {other:?}"),
    }
    assert_eq!(&small.unwrap().0[..], b"v");
    let err = c.get_children("/dir").await.unwrap_err();
    assert!(!err.is_retriable() && !err.is_terminal(), "{err:?}");
    assert!(err.to_string().contains("max_buffer"), "{err}");
    // Issued right after, on the same client and connection.
    assert_eq!(&c.get_data("/small").await.unwrap().0[..], b"v");
    let mut top = c.get_children("/").await.unwrap();
    top.sort();
    assert_eq!(top, ["dir", "small"]);
    assert_eq!(c.session_id(), id, "same session");
    assert_eq!(c.state(), SessionState::Connected);
    assert!(
        futures::FutureExt::now_or_never(states.next()).is_none(),
        "the state never left Connected (no reconnect)"
    );
    // The big client still reads everything.
    assert_eq!(setup.get_children("/dir").await.unwrap().len(), 100);
    c.close().await.unwrap();
    setup.close().await.unwrap();
}

#[tokio::test]
async fn oversize_reply_fails_only_its_request_on_the_simulator() {
    let ens = zk_server_sim::Ensemble::builder()
        .nodes(1)
        .build()
        .await
        .unwrap();
    oversize_reply_fails_only_its_request(chroot_at(&ens.connect_string(), "oversize").await).await;
}

#[tokio::test]
async fn oversize_reply_fails_only_its_request_on_real_zookeeper() {
    oversize_reply_fails_only_its_request(chroot_on(ensemble(), "oversize").await).await;
}
