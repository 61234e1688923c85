//! Removing one-shot watches: `OneshotWatch::remove`, `remove_on_drop`
//! (a cancelled lock waiter leaves no watch on the server) and
//! `Client::remove_watches`, checked on the server's side: the
//! simulator's watch count, and real ZooKeeper's `wchc`.

use std::time::Duration;

use futures::FutureExt;
use zk_client::{Client, CreateOptions, Error, EventType, WatcherKind};

use crate::api::sim;
use crate::support::{bounded, chroot_on, ensemble};

/// Waits until `count()` is `want` (the removal is asynchronous).
async fn until_count(what: &str, want: usize, count: impl Fn() -> usize) {
    bounded(what, async {
        while count() != want {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn remove_leaves_no_watch_on_the_simulator() {
    let (ens, cs) = sim("wremove").await;
    let c = Client::connect(cs).await.unwrap();
    c.create("/n", b"", CreateOptions::persistent())
        .await
        .unwrap();
    assert_eq!(ens.watch_count(0), 0);

    // A lock waiter's watch: exists on a node that is not there.
    let (stat, w) = c.exists_watch("/missing").await.unwrap();
    assert_eq!(stat, None);
    assert_eq!(ens.watch_count(0), 1);
    w.remove().await.unwrap();
    assert_eq!(ens.watch_count(0), 0);

    // Data and child watches on one node: removing one keeps the other.
    let (_, _, data) = c.get_data_watch("/n").await.unwrap();
    let (_, child) = c.get_children_watch("/n").await.unwrap();
    assert_eq!(ens.watch_count(0), 2);
    data.remove().await.unwrap();
    assert_eq!(ens.watch_count(0), 1);
    c.create("/n/k", b"", CreateOptions::ephemeral())
        .await
        .unwrap();
    let ev = bounded("child watch", child).await.unwrap();
    assert_eq!(ev.event_type, EventType::NodeChildrenChanged);
    assert_eq!(ens.watch_count(0), 0);

    // Two watchers of one table: removing one keeps the server watch for the other.
    let (_, _, a) = c.get_data_watch("/n").await.unwrap();
    let (_, b) = c.exists_watch("/n").await.unwrap();
    a.remove().await.unwrap();
    assert_eq!(ens.watch_count(0), 1);
    c.set_data("/n", b"1", None).await.unwrap();
    let ev = bounded("the other watcher", b).await.unwrap();
    assert_eq!(ev.event_type, EventType::NodeDataChanged);

    // A watch that already fired leaves nothing to remove.
    let (_, _, fired) = c.get_data_watch("/n").await.unwrap();
    c.set_data("/n", b"2", None).await.unwrap();
    until_count("fired", 0, || ens.watch_count(0)).await;
    fired.remove().await.unwrap();
    c.close().await.unwrap();
}

#[tokio::test]
async fn remove_on_drop_leaves_no_watch_on_the_simulator() {
    let (ens, cs) = sim("wdrop").await;
    let c = Client::connect(cs).await.unwrap();

    // A waiter that gives up (a timeout drops the watch).
    let (_, w) = c.exists_watch("/lock-0000000001").await.unwrap();
    let w = w.remove_on_drop();
    assert_eq!(ens.watch_count(0), 1);
    let gave_up = tokio::time::timeout(Duration::from_millis(50), w).await;
    assert!(gave_up.is_err());
    until_count("removed on drop", 0, || ens.watch_count(0)).await;

    // Without it, a dropped watch stays on the server until it fires.
    let (_, w) = c.exists_watch("/lock-0000000002").await.unwrap();
    drop(w);
    c.sync("/").await.unwrap();
    assert_eq!(ens.watch_count(0), 1);

    // A watch polled to completion and then dropped removes nothing.
    let (_, w) = c.exists_watch("/other").await.unwrap();
    let w = w.remove_on_drop();
    c.create("/other", b"", CreateOptions::ephemeral())
        .await
        .unwrap();
    let ev = bounded("fires", w).await.unwrap();
    assert_eq!(ev.event_type, EventType::NodeCreated);
    c.close().await.unwrap();
}

#[tokio::test]
async fn remove_watches_on_the_simulator() {
    let (ens, cs) = sim("wremoveall").await;
    let c = Client::connect(cs).await.unwrap();
    c.create("/n", b"", CreateOptions::persistent())
        .await
        .unwrap();
    let (_, _, d1) = c.get_data_watch("/n").await.unwrap();
    let (_, d2) = c.exists_watch("/n").await.unwrap();
    let (_, ch) = c.get_children_watch("/n").await.unwrap();
    assert_eq!(ens.watch_count(0), 2);

    c.remove_watches("/n", WatcherKind::Data, false)
        .await
        .unwrap();
    for w in [d1, d2] {
        let ev = bounded("removed", w).await.unwrap();
        assert_eq!(ev.event_type, EventType::DataWatchRemoved);
        assert_eq!(ev.path, "/n");
    }
    assert_eq!(ens.watch_count(0), 1);
    assert_eq!(
        c.remove_watches("/n", WatcherKind::Data, false).await,
        Err(Error::NoWatcher)
    );
    let mut ch = ch;
    assert!((&mut ch).now_or_never().is_none(), "the child watch stays");
    c.remove_watches("/n", WatcherKind::Any, true)
        .await
        .unwrap();
    let ev = bounded("child removed", ch).await.unwrap();
    assert_eq!(ev.event_type, EventType::ChildWatchRemoved);
    assert_eq!(ens.watch_count(0), 0);
    c.close().await.unwrap();
}

/// The sessions `wchc` lists with their watched paths (data watches only,
/// as ZooKeeper 3.8 reports them).
fn wchc(answer: &str) -> Vec<(i64, Vec<String>)> {
    let mut out: Vec<(i64, Vec<String>)> = Vec::new();
    for line in answer.lines() {
        if let Some(path) = line.strip_prefix('\t') {
            if let Some(last) = out.last_mut() {
                last.1.push(path.to_owned());
            }
        } else if let Some(hex) = line.trim().strip_prefix("0x") {
            let id = u64::from_str_radix(hex, 16).unwrap();
            out.push((i64::from_ne_bytes(id.to_ne_bytes()), Vec::new()));
        }
    }
    out
}

/// The server paths this session watches on its server, by `wchc`.
async fn watched_on_real(c: &Client) -> Vec<String> {
    let ens = ensemble();
    let server = c.server().expect("connected");
    let index = (0..ens.node_count())
        .find(|&i| ens.node_addr(i).unwrap().port() == server.port)
        .expect("the client's server is a node of the ensemble");
    let answer = tokio::task::spawn_blocking(move || ensemble().four_letter_word(index, "wchc"))
        .await
        .unwrap()
        .unwrap();
    let id = c.session_id();
    wchc(&answer)
        .into_iter()
        .filter(|(s, _)| *s == id)
        .flat_map(|(_, paths)| paths)
        .collect()
}

/// On real ZooKeeper: a cancelled waiter's exists watch is gone from the
/// server (`wchc`), and `remove_watches` for children is answered OK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removal_on_real_zookeeper() {
    let cs = chroot_on(ensemble(), "wremove").await;
    let c = Client::connect(cs).await.unwrap();
    let root = c.chroot().unwrap().to_owned();
    let waited = format!("{root}/lock-0000000001");

    let (_, w) = c.exists_watch("/lock-0000000001").await.unwrap();
    assert_eq!(watched_on_real(&c).await, vec![waited.clone()]);
    let w = w.remove_on_drop();
    assert!(tokio::time::timeout(Duration::from_millis(50), w)
        .await
        .is_err());
    bounded("wchc empty", async {
        while !watched_on_real(&c).await.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;

    let (_, w) = c.exists_watch("/lock-0000000001").await.unwrap();
    w.remove().await.unwrap();
    assert!(watched_on_real(&c).await.is_empty());

    c.create("/n", b"", CreateOptions::persistent())
        .await
        .unwrap();
    let (_, ch) = c.get_children_watch("/n").await.unwrap();
    c.remove_watches("/n", WatcherKind::Children, false)
        .await
        .unwrap();
    let ev = bounded("child removed", ch).await.unwrap();
    assert_eq!(ev.event_type, EventType::ChildWatchRemoved);
    // The server had the child watch: removing it again is NOWATCHER there,
    // and this client has none left either.
    assert_eq!(
        c.remove_watches("/n", WatcherKind::Children, false).await,
        Err(Error::NoWatcher)
    );
    c.close().await.unwrap();
}
