//! One-shot watches.

use zk_client::{CreateMode, CreateOptions, Error, EventType};

use crate::support::{bounded, chroot_of, chroot_on, client, ensemble, proxies, wait_state};

#[tokio::test]
async fn data_exists_and_child_watches_fire_once() {
    let c = client("watch_kinds").await;
    c.create("/n", b"", &CreateOptions::default())
        .await
        .unwrap();

    let (_, _, data_w) = c.get_data_watch("/n").await.unwrap();
    let (stat, exists_w) = c.exists_watch("/n").await.unwrap();
    assert!(stat.is_some());
    let (kids, child_w) = c.get_children_watch("/n").await.unwrap();
    assert!(kids.is_empty());
    let (missing, create_w) = c.exists_watch("/later").await.unwrap();
    assert_eq!(missing, None);

    c.set_data("/n", b"1", None).await.unwrap();
    let ev = bounded("data watch", data_w).await.unwrap();
    assert_eq!(ev.event_type, EventType::NodeDataChanged);
    assert_eq!(ev.path, "/n");
    let ev = bounded("exists watch", exists_w).await.unwrap();
    assert_eq!(ev.event_type, EventType::NodeDataChanged);

    c.create("/n/k", b"", &CreateOptions::default())
        .await
        .unwrap();
    let ev = bounded("child watch", child_w).await.unwrap();
    assert_eq!(ev.event_type, EventType::NodeChildrenChanged);
    assert_eq!(ev.path, "/n");

    c.create("/later", b"", &CreateOptions::default())
        .await
        .unwrap();
    let ev = bounded("create watch", create_w).await.unwrap();
    assert_eq!(ev.event_type, EventType::NodeCreated);
    assert_eq!(ev.path, "/later");

    // Deletion fires data and child watches; getChildren2 leaves a child watch.
    let (_, _, d) = c.get_data_watch("/later").await.unwrap();
    let (_, _, ch) = c.get_children_with_stat_watch("/later").await.unwrap();
    c.delete("/later", None).await.unwrap();
    assert_eq!(
        bounded("delete data", d).await.unwrap().event_type,
        EventType::NodeDeleted
    );
    assert_eq!(
        bounded("delete child", ch).await.unwrap().event_type,
        EventType::NodeDeleted
    );
    c.close().await.unwrap();
}

#[tokio::test]
async fn every_watcher_fires_and_other_sessions_trigger_them() {
    let cs = chroot_on(ensemble(), "watch_many").await;
    let c = zk_client::Client::connect(cs.clone()).await.unwrap();
    let writer = zk_client::Client::connect(cs).await.unwrap();
    c.create("/n", b"", &CreateOptions::default())
        .await
        .unwrap();
    let mut watches = Vec::new();
    for _ in 0..5 {
        watches.push(c.get_data_watch("/n").await.unwrap().2);
    }
    writer.sync("/").await.unwrap(); // it may be on a server behind our create
                                     // A dropped watch does not disturb the others.
    drop(c.get_data_watch("/n").await.unwrap().2);
    writer.set_data("/n", b"x", None).await.unwrap();
    for w in watches {
        let ev = bounded("watch", w).await.unwrap();
        assert_eq!(ev.event_type, EventType::NodeDataChanged);
    }
    // One-shot: a second change needs a new watch.
    let (_, _, w) = c.get_data_watch("/n").await.unwrap();
    writer.delete("/n", None).await.unwrap();
    assert_eq!(
        bounded("watch", w).await.unwrap().event_type,
        EventType::NodeDeleted
    );
    writer.close().await.unwrap();
    c.close().await.unwrap();
}

/// A read that fails leaves no watch behind, on the server or in the
/// client: after a reconnect the SetWatches batch holds only the one real
/// watch (an exists watch), and creating the missing node sends the client
/// no event for it. Seen on the wire, through recording proxies.
#[tokio::test]
async fn no_watch_is_left_by_a_failed_read() {
    use zk_proto::{OpCode, Request};

    let cs = chroot_on(ensemble(), "watch_failed_read").await;
    let chroot = chroot_of(&cs);
    let (ps, proxied) = proxies(ensemble(), &chroot).await;
    let c = zk_client::Client::connect(proxied).await.unwrap();
    let mut states = c.state_stream();
    let e = c.get_data_watch("/missing").await.unwrap_err();
    assert_eq!(e, Error::NoNode);
    let e = c.get_children_watch("/missing").await.unwrap_err();
    assert_eq!(e, Error::NoNode);
    // One real watch, so that the reconnect sends a batch.
    let (none, _other) = c.exists_watch("/other").await.unwrap();
    assert_eq!(none, None);

    for p in &ps {
        p.record(true);
        p.drop_links();
    }
    wait_state(&mut states, zk_client::SessionState::Disconnected).await;
    wait_state(&mut states, zk_client::SessionState::Connected).await;
    // Anything sent after the handshake goes before this on the wire.
    c.sync("/").await.unwrap();
    let batches: Vec<(Vec<String>, Vec<String>, Vec<String>)> = ps
        .iter()
        .flat_map(|p| {
            p.wire()
                .frames()
                .iter()
                .filter_map(|f| match f.request() {
                    Some(Request::SetWatches(w)) => {
                        Some((w.data_watches, w.exist_watches, w.child_watches))
                    }
                    Some(Request::SetWatches2(w)) => {
                        Some((w.data_watches, w.exist_watches, w.child_watches))
                    }
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        batches,
        vec![(vec![], vec![format!("{chroot}/other")], vec![])],
        "the batch after the reconnect"
    );

    // Nothing on the server watches /missing either.
    let writer = zk_client::Client::connect(cs).await.unwrap();
    writer
        .create("/missing", b"", &CreateOptions::default())
        .await
        .unwrap();
    writer
        .create("/missing/kid", b"", &CreateOptions::default())
        .await
        .unwrap();
    c.sync("/").await.unwrap();
    c.get_data("/missing").await.unwrap();
    let events: Vec<String> = ps
        .iter()
        .flat_map(|p| p.wire().events())
        .map(|e| e.path)
        .collect();
    assert!(events.is_empty(), "events for unwatched nodes: {events:?}");
    assert!(
        ps.iter()
            .map(|p| p.wire().count(OpCode::GetData))
            .sum::<usize>()
            >= 1
    );
    writer.close().await.unwrap();
    c.close().await.unwrap();
}

#[tokio::test]
async fn pending_watches_end_when_the_session_closes() {
    let c = client("watch_close").await;
    c.create("/e", b"", &CreateOptions::new(CreateMode::Ephemeral))
        .await
        .unwrap();
    let (_, _, w) = c.get_data_watch("/e").await.unwrap();
    let (_, never) = c.exists_watch("/never").await.unwrap();
    c.close().await.unwrap();
    // Our own close deletes our ephemeral, but the session is over before
    // the event could be delivered: the watches end with Closed (or, if the
    // event raced ahead, with the deletion), never hanging.
    match bounded("watch", w).await {
        Err(Error::Closed) => {}
        Ok(ev) => assert_eq!(ev.event_type, EventType::NodeDeleted),
        Err(e) => panic!("{e:?}"),
    }
    assert_eq!(bounded("watch", never).await.unwrap_err(), Error::Closed);
}
