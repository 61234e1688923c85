//! The read-write lock on the simulator: readers share, writers exclude,
//! downgrade lets no writer in between (seeded: `ZK_RECIPES_SEED=<seed>`
//! replays a run's schedule).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zk_client::Client;
use zk_recipes::{ReadWriteLock, Session};
use zk_server_sim::Ensemble;

fn seed(default: u64) -> u64 {
    let seed = std::env::var("ZK_RECIPES_SEED")
        .ok()
        .and_then(|s| zk_server_sim::parse_seed(&s))
        .unwrap_or(default);
    eprintln!("ZK_RECIPES_SEED={seed}");
    seed
}

async fn session(ens: &Ensemble) -> Session {
    Session::builder(Client::builder(ens.connect_string()).session_timeout(Duration::from_secs(10)))
        .connect()
        .await
        .unwrap()
}

/// Three readers and two writers, five cycles each with seeded hold times,
/// while a seeded schedule drops servers' client connections: a writer
/// never holds beside anyone, readers only beside readers; a second reader
/// gets in while one holds; nothing is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_share_and_writers_exclude_under_dropped_connections() {
    let seed = seed(0x5EAD);
    let ens = Arc::new(
        Ensemble::builder()
            .nodes(3)
            .seed(seed)
            .build()
            .await
            .unwrap(),
    );
    let path = "/rw/lock";
    let readers = Arc::new(AtomicUsize::new(0));
    let writing = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));

    // Sharing, deterministically: a reader holds, a second one gets in.
    let (a, b) = (session(&ens).await, session(&ens).await);
    let ra = ReadWriteLock::new(&a, path).unwrap().read().await.unwrap();
    let rb = ReadWriteLock::new(&b, path)
        .unwrap()
        .try_read(Duration::from_secs(30))
        .await
        .unwrap()
        .expect("a second reader must get in beside the first");
    let w = ReadWriteLock::new(&b, path).unwrap();
    assert!(
        w.try_write(Duration::from_millis(200))
            .await
            .unwrap()
            .is_none(),
        "a writer beside readers"
    );
    ra.release().await.unwrap();
    rb.release().await.unwrap();

    let mut rng = StdRng::seed_from_u64(seed);
    let mut tasks = Vec::new();
    for i in 0..5 {
        let s = session(&ens).await;
        let (readers, writing) = (readers.clone(), writing.clone());
        let holds: Vec<u64> = (0..5).map(|_| rng.random_range(5..40)).collect();
        let writer = i >= 3;
        tasks.push(tokio::spawn(async move {
            let lock = ReadWriteLock::new(&s, path).unwrap();
            for hold in holds {
                if writer {
                    let g = lock.write().await.unwrap();
                    assert!(
                        !writing.swap(true, Ordering::SeqCst),
                        "two writers (seed {seed})"
                    );
                    assert_eq!(
                        readers.load(Ordering::SeqCst),
                        0,
                        "a writer beside readers (seed {seed})"
                    );
                    tokio::time::sleep(Duration::from_millis(hold)).await;
                    writing.store(false, Ordering::SeqCst);
                    g.release().await.unwrap();
                } else {
                    let g = lock.read().await.unwrap();
                    readers.fetch_add(1, Ordering::SeqCst);
                    assert!(
                        !writing.load(Ordering::SeqCst),
                        "a reader beside a writer (seed {seed})"
                    );
                    tokio::time::sleep(Duration::from_millis(hold)).await;
                    readers.fetch_sub(1, Ordering::SeqCst);
                    g.release().await.unwrap();
                }
            }
            s.close().await.ok();
        }));
    }
    let faults = {
        let (ens, done) = (ens.clone(), done.clone());
        let mut rng = StdRng::seed_from_u64(seed ^ 0xFA);
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(rng.random_range(30..150))).await;
                ens.drop_client_connections(rng.random_range(0..3));
            }
        })
    };
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(120), t)
            .await
            .expect("a contender hung")
            .unwrap();
    }
    done.store(true, Ordering::SeqCst);
    faults.await.unwrap();
    let probe = Client::connect(ens.connect_string()).await.unwrap();
    // Released nodes go by guaranteed deletes, which may still be running.
    tokio::time::timeout(Duration::from_secs(60), async {
        while !probe
            .get_children(path)
            .await
            .unwrap_or_default()
            .is_empty()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("lock nodes left behind");
    for s in [a, b] {
        s.close().await.unwrap();
    }
    probe.close().await.unwrap();
    ens.check_history().unwrap();
}

/// A writer downgrades while another writer and a reader queue behind it:
/// the queued writer does not get in while the downgraded reader holds
/// (its read node sorts beside the old write node), the fencing token
/// grows, and once the read lock goes, the queued writer gets in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downgrade_lets_no_writer_in_between() {
    let ens = Ensemble::builder()
        .nodes(3)
        .seed(seed(3))
        .build()
        .await
        .unwrap();
    let path = "/rw/downgrade";
    let (a, b) = (session(&ens).await, session(&ens).await);
    let lock_a = ReadWriteLock::new(&a, path).unwrap();
    let w = lock_a.write().await.unwrap();
    let write_token = w.fencing_token();
    let got = Arc::new(AtomicBool::new(false));
    let queued = {
        let (b, got) = (b.clone(), got.clone());
        tokio::spawn(async move {
            let g = ReadWriteLock::new(&b, path).unwrap().write().await.unwrap();
            got.store(true, Ordering::SeqCst);
            g.release().await.unwrap();
        })
    };
    // Wait until the second writer's node is queued.
    let probe = Client::connect(ens.connect_string()).await.unwrap();
    while probe.get_children(path).await.unwrap().len() < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let r = w.downgrade().await.unwrap();
    assert!(r.fencing_token() > write_token);
    // The write node is gone: a writer that slipped past the read node
    // would be in by now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !got.load(Ordering::SeqCst),
        "a writer got in beside the downgraded reader"
    );
    let names = probe.get_children(path).await.unwrap();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().any(|n| n.contains("__READ__")), "{names:?}");
    // A fenced write through the read guard works while it holds.
    r.fenced(|t| t.create("/rw/fenced", b"", zk_client::CreateOptions::persistent()))
        .await
        .unwrap();
    r.release().await.unwrap();
    tokio::time::timeout(Duration::from_secs(60), queued)
        .await
        .expect("the queued writer never got in")
        .unwrap();
    assert!(got.load(Ordering::SeqCst));
    for s in [a, b] {
        s.close().await.unwrap();
    }
    probe.close().await.unwrap();
}
