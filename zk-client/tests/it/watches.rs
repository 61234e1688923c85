//! One-shot watches.

use zk_client::{CreateMode, CreateOptions, Error, EventType};

use crate::support::{bounded, chroot_on, client, ensemble};

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

#[tokio::test]
async fn no_watch_is_left_by_a_failed_read() {
    let c = client("watch_failed_read").await;
    let e = c.get_data_watch("/missing").await.unwrap_err();
    assert_eq!(e, Error::NoNode);
    let e = c.get_children_watch("/missing").await.unwrap_err();
    assert_eq!(e, Error::NoNode);
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
