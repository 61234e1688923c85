//! Persistent and persistent-recursive watches (addWatch) as streams.

use std::time::Duration;

use futures::StreamExt;
use zk_client::{
    Client, CreateOptions, Error, EventType, PersistentEvent, PersistentWatch, SessionState,
};

use crate::support::{bounded, chroot_of, chroot_on, client, ensemble, proxies, wait_state};

/// The next item, as (type, path) for node events.
async fn next(w: &mut PersistentWatch) -> PersistentEvent {
    bounded("persistent watch item", w.next())
        .await
        .expect("the stream ended")
}

async fn next_node(w: &mut PersistentWatch) -> (EventType, String) {
    match next(w).await {
        PersistentEvent::Node(ev) => (ev.event_type, ev.path),
        other => panic!("expected a node event, got {other:?}"),
    }
}

/// Takes the items already delivered (without waiting), each of which must
/// be a node event in `allowed`.
fn drain_catch_up(w: &mut PersistentWatch, allowed: &[(EventType, &str)]) {
    use futures::FutureExt;
    while let Some(Some(item)) = w.next().now_or_never() {
        match item {
            PersistentEvent::Node(ev) => assert!(
                allowed.contains(&(ev.event_type, ev.path.as_str())),
                "unexpected catch-up event {ev:?}"
            ),
            other => panic!("unexpected item {other:?}"),
        }
    }
}

/// Nothing more arrives for a while (after a sync, so nothing is in flight).
async fn quiet(c: &Client, w: &mut PersistentWatch) {
    c.sync("/").await.unwrap();
    if let Ok(item) = tokio::time::timeout(Duration::from_millis(300), w.next()).await {
        panic!("unexpected item {item:?}");
    }
}

#[tokio::test]
async fn a_persistent_watch_streams_every_change_of_its_node() {
    let c = client("persistent_node").await;
    let mut w = c.watch_persistent("/n").await.unwrap();
    assert_eq!(w.path(), "/n");
    assert!(!w.is_recursive());
    c.create("/n", b"", &CreateOptions::default())
        .await
        .unwrap();
    c.set_data("/n", b"1", None).await.unwrap();
    c.set_data("/n", b"2", None).await.unwrap();
    c.create("/n/k", b"", &CreateOptions::default())
        .await
        .unwrap();
    c.create("/n/k/deeper", b"", &CreateOptions::default())
        .await
        .unwrap();
    c.delete("/n/k/deeper", None).await.unwrap();
    c.delete("/n/k", None).await.unwrap();
    c.delete("/n", None).await.unwrap();
    let n = "/n".to_owned();
    for want in [
        (EventType::NodeCreated, n.clone()),
        (EventType::NodeDataChanged, n.clone()),
        (EventType::NodeDataChanged, n.clone()),
        (EventType::NodeChildrenChanged, n.clone()),
        (EventType::NodeChildrenChanged, n.clone()),
        (EventType::NodeDeleted, n.clone()),
    ] {
        assert_eq!(next_node(&mut w).await, want);
    }
    quiet(&c, &mut w).await;
    // Explicit removal: the server stops sending.
    w.remove().await.unwrap();
    let mut probe = c.watch_persistent("/other").await.unwrap();
    c.create("/n", b"", &CreateOptions::default())
        .await
        .unwrap();
    quiet(&c, &mut probe).await;
    c.close().await.unwrap();
    // The session is over: the stream says so once, then ends.
    assert_eq!(
        next(&mut probe).await,
        PersistentEvent::Closed(Error::Closed)
    );
    assert!(probe.next().await.is_none());
}

#[tokio::test]
async fn a_recursive_watch_sees_the_subtree_and_no_child_events() {
    let c = client("persistent_recursive").await;
    c.create("/t", b"", &CreateOptions::default())
        .await
        .unwrap();
    let mut w = c.watch_persistent_recursive("/t").await.unwrap();
    assert!(w.is_recursive());
    c.create("/t/a", b"", &CreateOptions::default())
        .await
        .unwrap();
    c.create("/t/a/b", b"", &CreateOptions::default())
        .await
        .unwrap();
    c.set_data("/t/a/b", b"x", None).await.unwrap();
    c.set_data("/t", b"x", None).await.unwrap();
    c.create("/outside", b"", &CreateOptions::default())
        .await
        .unwrap();
    c.delete("/t/a/b", None).await.unwrap();
    for want in [
        (EventType::NodeCreated, "/t/a"),
        (EventType::NodeCreated, "/t/a/b"),
        (EventType::NodeDataChanged, "/t/a/b"),
        (EventType::NodeDataChanged, "/t"),
        (EventType::NodeDeleted, "/t/a/b"),
    ] {
        assert_eq!(next_node(&mut w).await, (want.0, want.1.to_owned()));
    }
    // A one-shot child watch of the same session on /t/a makes the server
    // send NodeChildrenChanged; the recursive watch must not see it.
    let (_, child) = c.get_children_watch("/t/a").await.unwrap();
    c.create("/t/a/c", b"", &CreateOptions::default())
        .await
        .unwrap();
    assert_eq!(
        bounded("child watch", child).await.unwrap().event_type,
        EventType::NodeChildrenChanged
    );
    assert_eq!(
        next_node(&mut w).await,
        (EventType::NodeCreated, "/t/a/c".to_owned())
    );
    quiet(&c, &mut w).await;
    drop(w);
    c.close().await.unwrap();
}

/// ZOOKEEPER-4466 (3.8): a one-shot watch on a path with a persistent watch
/// must not turn the persistent watch into a one-shot one.
#[tokio::test]
async fn one_shot_and_persistent_watches_on_one_path_both_keep_working() {
    let c = client("persistent_and_oneshot").await;
    c.create("/n", b"", &CreateOptions::default())
        .await
        .unwrap();
    let mut w = c.watch_persistent("/n").await.unwrap();
    let mut r = c.watch_persistent_recursive("/r").await.unwrap();
    c.create("/r", b"", &CreateOptions::default())
        .await
        .unwrap();
    assert_eq!(
        next_node(&mut r).await,
        (EventType::NodeCreated, "/r".into())
    );
    for round in 0..3 {
        let (_, _, data) = c.get_data_watch("/n").await.unwrap();
        let (_, child) = c.get_children_watch("/n").await.unwrap();
        let (_, _, rdata) = c.get_data_watch("/r").await.unwrap();
        let (_, rchild) = c.get_children_watch("/r").await.unwrap();
        c.set_data("/n", format!("{round}").as_bytes(), None)
            .await
            .unwrap();
        c.create(&format!("/n/k{round}"), b"", &CreateOptions::default())
            .await
            .unwrap();
        c.set_data("/r", b"x", None).await.unwrap();
        c.create(&format!("/r/k{round}"), b"", &CreateOptions::default())
            .await
            .unwrap();
        assert_eq!(
            bounded("data", data).await.unwrap().event_type,
            EventType::NodeDataChanged
        );
        assert_eq!(
            bounded("child", child).await.unwrap().event_type,
            EventType::NodeChildrenChanged
        );
        assert_eq!(
            bounded("rdata", rdata).await.unwrap().event_type,
            EventType::NodeDataChanged
        );
        assert_eq!(
            bounded("rchild", rchild).await.unwrap().event_type,
            EventType::NodeChildrenChanged
        );
        assert_eq!(
            next_node(&mut w).await,
            (EventType::NodeDataChanged, "/n".into())
        );
        assert_eq!(
            next_node(&mut w).await,
            (EventType::NodeChildrenChanged, "/n".into())
        );
        assert_eq!(
            next_node(&mut r).await,
            (EventType::NodeDataChanged, "/r".into())
        );
        assert_eq!(
            next_node(&mut r).await,
            (EventType::NodeCreated, format!("/r/k{round}"))
        );
    }
    // Removing the persistent watch keeps a one-shot watch on the same path.
    let (_, _, data) = c.get_data_watch("/n").await.unwrap();
    w.remove().await.unwrap();
    c.set_data("/n", b"after", None).await.unwrap();
    assert_eq!(
        bounded("data after removal", data)
            .await
            .unwrap()
            .event_type,
        EventType::NodeDataChanged
    );
    quiet(&c, &mut r).await;
    c.close().await.unwrap();
}

/// Acceptance: a persistent recursive watch over a subtree changed during an
/// outage yields the resync item first, then works again: never silent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recursive_watch_resyncs_after_an_outage_and_never_goes_silent() {
    let ens = ensemble();
    let direct = chroot_on(ens, "persistent_outage").await;
    let (ps, cs) = proxies(ens, &chroot_of(&direct)).await;
    let c = Client::builder(cs)
        .session_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap();
    let writer = Client::connect(direct).await.unwrap();
    writer
        .create("/t", b"", &CreateOptions::default())
        .await
        .unwrap();
    writer
        .create("/t/gone", b"", &CreateOptions::default())
        .await
        .unwrap();
    // `c` may be on another server than `writer`: catch its server up first,
    // or the creates above can reach it after the watches and fire them.
    c.sync("/t").await.unwrap();
    let mut w = c.watch_persistent_recursive("/t").await.unwrap();
    let mut exact = c.watch_persistent("/t").await.unwrap();
    let mut states = c.state_stream();
    wait_state(&mut states, SessionState::Connected).await;

    for p in &ps {
        p.refuse(true);
        p.drop_links();
    }
    wait_state(&mut states, SessionState::Disconnected).await;
    writer.set_data("/t", b"away", None).await.unwrap();
    writer
        .create("/t/new", b"", &CreateOptions::default())
        .await
        .unwrap();
    writer.delete("/t/gone", None).await.unwrap();
    for p in &ps {
        p.refuse(false);
    }
    wait_state(&mut states, SessionState::Connected).await;

    // The changes made while away cannot be replayed: the first item is the
    // resync, for both watches.
    assert_eq!(next(&mut w).await, PersistentEvent::Resync);
    assert_eq!(next(&mut exact).await, PersistentEvent::Resync);
    // `c`'s server may apply the outage's changes only after the watches
    // were re-armed there, and then they fire as live events: catch it up,
    // and let those (and only those) go.
    c.sync("/t").await.unwrap();
    drain_catch_up(
        &mut w,
        &[
            (EventType::NodeDataChanged, "/t"),
            (EventType::NodeCreated, "/t/new"),
            (EventType::NodeDeleted, "/t/gone"),
        ],
    );
    drain_catch_up(
        &mut exact,
        &[
            (EventType::NodeDataChanged, "/t"),
            (EventType::NodeChildrenChanged, "/t"),
        ],
    );
    // And the watches are live again.
    writer.set_data("/t/new", b"back", None).await.unwrap();
    writer.set_data("/t", b"back", None).await.unwrap();
    assert_eq!(
        next_node(&mut w).await,
        (EventType::NodeDataChanged, "/t/new".into())
    );
    assert_eq!(
        next_node(&mut w).await,
        (EventType::NodeDataChanged, "/t".into())
    );
    assert_eq!(
        next_node(&mut exact).await,
        (EventType::NodeDataChanged, "/t".into())
    );
    writer.close().await.unwrap();
    c.close().await.unwrap();
}

/// Dropping a persistent watch's stream removes the server's watch (a
/// removeWatches goes out) and a reconnect does not set it again: the
/// SetWatches2 batch after the reconnect carries the kept watch and not the
/// dropped one, and the server sends no event for a change under it. Seen on
/// the wire, through recording proxies.
#[tokio::test]
async fn a_watch_on_a_dropped_stream_is_removed_and_not_reregistered() {
    use zk_proto::{OpCode, Request};

    let cs = chroot_on(ensemble(), "persistent_drop").await;
    let chroot = chroot_of(&cs);
    let (ps, cs) = proxies(ensemble(), &chroot).await;
    for p in &ps {
        p.record(true);
    }
    let c = Client::connect(cs).await.unwrap();
    let mut states = c.state_stream();
    let w = c.watch_persistent_recursive("/").await.unwrap();
    drop(w);
    let mut keep = c.watch_persistent("/k").await.unwrap();
    c.sync("/").await.unwrap();
    let removed: Vec<_> = ps
        .iter()
        .flat_map(|p| {
            p.wire()
                .requests(OpCode::RemoveWatches)
                .filter_map(|f| f.request())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        matches!(removed.as_slice(), [Request::RemoveWatches(r)] if r.path == chroot),
        "one removeWatches for the dropped watch: {removed:?}"
    );

    // Reconnect; the batch sent after it names only the kept watch.
    for p in &ps {
        p.clear_wire();
        p.drop_links();
    }
    wait_state(&mut states, SessionState::Disconnected).await;
    wait_state(&mut states, SessionState::Connected).await;
    // Anything sent after the handshake goes before this on the wire.
    c.sync("/").await.unwrap();
    let batches: Vec<_> = ps
        .iter()
        .flat_map(|p| {
            p.wire()
                .requests(OpCode::SetWatches2)
                .filter_map(|f| f.request())
                .collect::<Vec<_>>()
        })
        .collect();
    let [Request::SetWatches2(sw)] = batches.as_slice() else {
        panic!("one SetWatches2 after the reconnect: {batches:?}");
    };
    assert_eq!(sw.persistent_watches, vec![format!("{chroot}/k")]);
    assert!(sw.persistent_recursive_watches.is_empty(), "{sw:?}");

    c.create("/x", b"", &CreateOptions::default())
        .await
        .unwrap();
    c.create("/k", b"", &CreateOptions::default())
        .await
        .unwrap();
    // The reconnect may announce a resync first; then the one node event.
    let mut item = next(&mut keep).await;
    if item == PersistentEvent::Resync {
        item = next(&mut keep).await;
    }
    match item {
        PersistentEvent::Node(ev) => {
            assert_eq!(
                (ev.event_type, ev.path),
                (EventType::NodeCreated, "/k".into())
            )
        }
        other => panic!("expected the /k event, got {other:?}"),
    }
    quiet(&c, &mut keep).await;
    // The server itself sent only the kept watch's event.
    let events: Vec<String> = ps
        .iter()
        .flat_map(|p| p.wire().events())
        .map(|e| e.path)
        .collect();
    assert_eq!(events, vec![format!("{chroot}/k")]);
    c.close().await.unwrap();
}

/// A one-shot watch served by a persistent watch that is removed before the
/// read is even answered is set on the server after all.
#[tokio::test]
async fn a_one_shot_watch_outlives_the_persistent_watch_that_served_it() {
    let c = client("persistent_removed_under_read").await;
    c.create("/n", b"", &CreateOptions::default())
        .await
        .unwrap();
    let w = c.watch_persistent("/n").await.unwrap();
    // In this order on the wire: the read (no server-side watch: the
    // persistent one covers it), then the removal.
    let read = c.get_data_watch("/n");
    let removed = w.remove();
    let (_, _, data) = read.await.unwrap();
    removed.await.unwrap();
    c.set_data("/n", b"1", None).await.unwrap();
    assert_eq!(
        bounded("one-shot", data).await.unwrap().event_type,
        EventType::NodeDataChanged
    );
    c.close().await.unwrap();
}
