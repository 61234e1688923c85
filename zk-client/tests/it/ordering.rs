//! Call-time ordering and bounded in-flight requests.

use futures::StreamExt;
use zk_client::{Client, CreateOptions, Error};

use crate::support::{chroot_on, client, ensemble};
use zk_proto::OpCode;

/// Requests go out in the order the methods are called, whatever order the
/// futures are polled in (or whether they are polled at all).
#[tokio::test]
async fn requests_are_sent_in_call_order_not_poll_order() {
    let c = client("call_order").await;
    // The get is called after the create but awaited first: it must see the node.
    let a = c.create("/n", b"created", &CreateOptions::default());
    let b = c.get_data("/n");
    let (data, stat) = b.await.unwrap();
    assert_eq!(&data[..], b"created");
    assert_eq!(stat.version, 0);
    assert_eq!(a.await.unwrap().0, "/n");

    // Many writes, polled in reverse: each sees the version its call position implies.
    let n = 200;
    let futs: Vec<_> = (0..n)
        .map(|i| c.set_data("/n", format!("{i}").as_bytes(), Some(i)))
        .collect();
    let last = c.get_data("/n");
    let (data, stat) = last.await.unwrap();
    assert_eq!(stat.version, n);
    assert_eq!(data, format!("{}", n - 1).as_bytes());
    for (i, f) in futs.into_iter().enumerate().rev() {
        assert_eq!(f.await.unwrap().version, i as i32 + 1);
    }

    // A future that is never polled is still sent: the delete takes effect.
    drop(c.delete("/never-polled-but-not-needed", None));
    let unpolled = c.delete("/n", None);
    assert_eq!(c.exists("/n").await.unwrap(), None);
    unpolled.await.unwrap();
    c.close().await.unwrap();
}

/// 100,000 pipelined getData calls through a client limited to 1,000 in
/// flight: all succeed, and the client never has more than 1,000 requests
/// outstanding on the wire, as counted by a proxy between it and the server
/// (the proxy's count can only be lower than the client's: it sees each
/// request after the client sent it and each reply before the client reads
/// it); the caller's own window bounds what waits in line.
#[tokio::test]
async fn pipelined_gets_never_exceed_the_in_flight_limit() {
    let _quiet = crate::support::exclusive().await;
    let limit = 1000;
    let window = 4 * limit;
    let cs = chroot_on(ensemble(), "pipeline").await;
    let chroot = crate::support::chroot_of(&cs);
    let p = crate::support::proxy(ensemble().node_addr(0).unwrap()).await;
    let c = Client::builder(format!("{}{chroot}", p.addr()))
        .max_in_flight(limit)
        .connect()
        .await
        .unwrap();
    c.create("/p", &[1u8; 100], &CreateOptions::default())
        .await
        .unwrap();
    p.record(true);
    let mut ok = 0usize;
    let mut replies = futures::stream::iter(0..100_000)
        .map(|_| c.get_data("/p"))
        .buffer_unordered(window);
    while let Some(r) = replies.next().await {
        let (data, _) = r.unwrap();
        assert_eq!(data.len(), 100);
        ok += 1;
        let s = c.stats();
        assert!(s.in_flight + s.queued <= window, "{s:?}");
    }
    assert_eq!(ok, 100_000);
    p.record(false);
    let wire = p.wire();
    let gets = wire.count(OpCode::GetData);
    let answered = wire
        .frames()
        .iter()
        .filter(|f| f.is_reply() && f.op == Some(OpCode::GetData))
        .count();
    eprintln!(
        "wire: {gets} getData sent, {answered} answered, peak {} in flight",
        wire.max_in_flight()
    );
    assert_eq!(
        (gets, answered),
        (100_000, 100_000),
        "each sent and answered once"
    );
    assert!(
        wire.max_in_flight() <= limit,
        "{} requests in flight on the wire, limit {limit}",
        wire.max_in_flight()
    );
    assert!(wire.max_in_flight() > 1, "requests were pipelined");
    let s = c.stats();
    assert_eq!(s.max_in_flight, limit);
    assert!(s.peak_in_flight <= limit, "{s:?}");
    assert!(s.peak_queued <= window, "{s:?}");
    // The limit was actually reached: requests did wait in line.
    assert!(s.peak_queued > 0, "{s:?}");
    assert_eq!(s.in_flight, 0);
    assert_eq!(s.queued, 0);
    c.close().await.unwrap();
}

/// Dropping futures withdraws requests that were still waiting in line.
#[tokio::test]
async fn dropped_futures_are_withdrawn_from_the_line() {
    let cs = chroot_on(ensemble(), "withdraw").await;
    let chroot = crate::support::chroot_of(&cs);
    let p = crate::support::proxy(ensemble().node_addr(0).unwrap()).await;
    let c = Client::builder(format!("{}{chroot}", p.addr()))
        .max_in_flight(1)
        .connect()
        .await
        .unwrap();
    c.create("/w", b"", &CreateOptions::default())
        .await
        .unwrap();
    p.record(true);
    // With one request in flight at most, most of these wait in line; dropping
    // them withdraws the ones not yet sent.
    let futs: Vec<_> = (0..5000).map(|_| c.set_data("/w", b"x", None)).collect();
    drop(futs);
    let stat = c.exists("/w").await.unwrap().unwrap();
    // Exactly the setData requests that reached the wire were applied: one
    // at a time (the limit), a handful before the drop, the rest withdrawn.
    let wire = p.wire();
    let sent = wire.count(zk_proto::OpCode::SetData);
    eprintln!("{sent} of 5000 setData sent before the drop");
    assert_eq!(usize::try_from(stat.version).unwrap(), sent, "{stat:?}");
    assert!(sent < 5000);
    assert_eq!(wire.max_in_flight(), 1);
    assert_eq!(c.stats().queued, 0);
    let e = c.get_data("/missing").await.unwrap_err();
    assert_eq!(e, Error::NoNode);
    c.close().await.unwrap();
}
