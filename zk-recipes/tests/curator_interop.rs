//! Curator (Java) and our recipes on one ensemble: the simulator and a real
//! 3-node ZooKeeper 3.8.
//!
//! Needs a JDK and Debian's Curator/ZooKeeper jars (`.ci/install-deps.sh`);
//! outside CI their absence is a skip that says so, under `CI` a failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "support/java.rs"]
mod java;

use std::time::Duration;

use zk_client::Client;
use zk_recipes::{Mutex, Session};
use zk_server_sim::Ensemble;

/// The harness itself: a Curator client compiled and run by the test creates
/// a node (with container parents) on the simulator, and our client reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curator_program_runs_against_the_simulator() {
    let Some(java) = java::Java::compile(&["CuratorHello.java"]) else {
        return;
    };
    let ens = Ensemble::builder().nodes(3).build().await.unwrap();
    let cs = ens.connect_string();
    let out = tokio::task::spawn_blocking(move || {
        java.run("CuratorHello", &[&cs, "/hello/from/curator", "hi"])
    })
    .await
    .unwrap();
    assert_eq!(out.trim(), "created /hello/from/curator hi");
    let client = Client::connect(ens.connect_string()).await.unwrap();
    let (data, _) = client.get_data("/hello/from/curator").await.unwrap();
    assert_eq!(&data[..], b"hi");
    client.close().await.unwrap();
    ens.check_history().unwrap();
}

/// Microseconds since the Unix epoch (the clock the Java programs print).
fn micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// One hold of a lock: who, from when to when (microseconds).
#[derive(Debug, Clone)]
struct Hold {
    who: String,
    from: u64,
    to: u64,
}

/// Asserts that no two holds overlap.
fn assert_exclusive(mut holds: Vec<Hold>) {
    holds.sort_by_key(|h| h.from);
    for w in holds.windows(2) {
        assert!(
            w[1].from >= w[0].to,
            "overlapping holds of {} and {}: {:?} and {:?}\nall: {holds:#?}",
            w[0].who,
            w[1].who,
            w[0],
            w[1]
        );
    }
}

/// The holds in a CuratorMutex transcript (`<micros> acquired` /
/// `<micros> released` pairs).
fn java_holds(who: &str, lines: &[String]) -> Vec<Hold> {
    let mut holds = Vec::new();
    let mut from = None;
    for l in lines {
        let (ts, what) = l.split_once(' ').unwrap();
        let ts: u64 = ts.parse().unwrap();
        match what {
            "acquired" => from = Some(ts),
            "released" => holds.push(Hold {
                who: who.to_string(),
                from: from.take().expect("released before acquired"),
                to: ts,
            }),
            _ => {}
        }
    }
    holds
}

const MUTEX_CYCLES: usize = 8;
const HOLD_MS: u64 = 15;

/// Two of our contenders and a Curator InterProcessMutex (a Java process)
/// contend for one lock path on `connect` (which may carry a chroot). Each
/// holder increments a shared counter with an unfenced read-sleep-write,
/// so overlapping holds would lose updates; the holds, from timestamps
/// taken right after acquire and right before release, must not overlap.
async fn mutex_against_curator(java: &java::Java, connect: &str) {
    let root = Client::connect(connect).await.unwrap();
    let counter = "/mixed-counter";
    root.create(counter, b"0", &zk_client::CreateOptions::default())
        .await
        .unwrap();
    let lock = "/mixed/lock";
    let mut curator = java.spawn(
        "CuratorMutex",
        &[
            connect,
            lock,
            counter,
            &MUTEX_CYCLES.to_string(),
            &HOLD_MS.to_string(),
        ],
    );
    assert!(curator.line().await.ends_with(" ready"));
    let mut ours = Vec::new();
    for i in 0..2 {
        let session = Session::connect(connect).await.unwrap();
        ours.push(tokio::spawn(async move {
            let mutex = Mutex::new(&session, lock).unwrap();
            let mut holds = Vec::new();
            for _ in 0..MUTEX_CYCLES {
                let guard = mutex.acquire().await.unwrap();
                let from = micros();
                let c = session.client();
                let (data, _) = c.get_data(counter).await.unwrap();
                let n: u64 = std::str::from_utf8(&data).unwrap().parse().unwrap();
                tokio::time::sleep(Duration::from_millis(HOLD_MS)).await;
                c.set_data(counter, n.saturating_add(1).to_string().as_bytes(), None)
                    .await
                    .unwrap();
                holds.push(Hold {
                    who: format!("rust-{i}"),
                    from,
                    to: micros(),
                });
                guard.release().await.unwrap();
            }
            session.close().await.unwrap();
            holds
        }));
    }
    let mut holds = Vec::new();
    for t in ours {
        holds.extend(t.await.unwrap());
    }
    let lines = curator.finish().await;
    assert!(lines.last().unwrap().ends_with(" done"), "{lines:?}");
    let java_holds = java_holds("curator", &lines);
    assert_eq!(java_holds.len(), MUTEX_CYCLES);
    holds.extend(java_holds);
    let (data, _) = root.get_data(counter).await.unwrap();
    assert_eq!(
        std::str::from_utf8(&data).unwrap(),
        (3 * MUTEX_CYCLES).to_string(),
        "lost updates: two holders overlapped"
    );
    assert_exclusive(holds);
    let left = root.get_children(lock).await.unwrap_or_default();
    assert!(left.is_empty(), "lock nodes left: {left:?}");
    root.close().await.unwrap();
}

/// A fresh chroot on the shared real 3-node ensemble, created, as a connect
/// string; `None` (after a skip, a failure under CI) without ZooKeeper.
async fn real_chroot(name: &str) -> Option<String> {
    if !std::path::Path::new("/usr/share/java/zookeeper.jar").exists() {
        java::skip("ZooKeeper is not installed");
        return None;
    }
    let real = tokio::task::spawn_blocking(zk_server_sim::real::RealEnsemble::shared_three)
        .await
        .unwrap()
        .unwrap();
    let ns = real.chroot(name);
    let root = Client::connect(ns.base_connect_string.clone())
        .await
        .unwrap();
    for p in ["/it", ns.path.as_str()] {
        match root
            .create(p, b"", &zk_client::CreateOptions::default())
            .await
        {
            Ok(_) | Err(zk_client::Error::NodeExists) => {}
            Err(e) => panic!("creating {p}: {e}"),
        }
    }
    root.close().await.unwrap();
    Some(ns.connect_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curator_mutex_and_ours_exclude_each_other_on_the_simulator() {
    let Some(java) = java::Java::compile(&["CuratorMutex.java"]) else {
        return;
    };
    let ens = Ensemble::builder().nodes(3).build().await.unwrap();
    mutex_against_curator(&java, &ens.connect_string()).await;
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curator_mutex_and_ours_exclude_each_other_on_real_zookeeper() {
    let Some(java) = java::Java::compile(&["CuratorMutex.java"]) else {
        return;
    };
    let Some(connect) = real_chroot("curator_mutex").await else {
        return;
    };
    mutex_against_curator(&java, &connect).await;
}
