//! The semaphore on the simulator: never more holders than leases under
//! contention with random client crashes (seeded: `ZK_RECIPES_SEED=<seed>`
//! replays a run's schedule), and a mismatched lease count is refused.
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
use zk_recipes::{Error, Semaphore, Session};
use zk_server_sim::Ensemble;

const MAX: usize = 2;
const PATH: &str = "/sem/pool";

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

/// Waits for an aborted worker; a worker that had panicked (a failed
/// check) fails the test with its message.
async fn stopped(task: &mut tokio::task::JoinHandle<()>) {
    if let Err(e) = task.await {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

/// Counts this process's believed holders; a holder stops believing when
/// its guard goes (release, or the task's abort in a crash).
struct Belief(Arc<AtomicUsize>);

impl Belief {
    fn enter(count: &Arc<AtomicUsize>, seed: u64) -> Belief {
        let now = count.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(now <= MAX, "{now} holders of {MAX} leases (seed {seed})");
        Belief(count.clone())
    }
}

impl Drop for Belief {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Six workers take a 2-lease semaphore again and again with seeded hold
/// times while a seeded schedule crashes workers (the task is aborted, then
/// its session expired on the server, so its nodes vanish the way a dead
/// process's do) and restarts them, and drops servers' client connections.
/// At no point do more than two workers believe they hold a lease, and a
/// sampler never sees more than three lease nodes (two holders and the one
/// waiter that counts while holding the internal mutex); everything
/// settles with no node left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_never_exceed_the_maximum_under_crashes() {
    let seed = seed(0x5E4A);
    let ens = Arc::new(
        Ensemble::builder()
            .nodes(3)
            .seed(seed)
            .build()
            .await
            .unwrap(),
    );
    let believed = Arc::new(AtomicUsize::new(0));
    let cycles = Arc::new(AtomicUsize::new(0));
    let spawn = |s: Session, seed: u64| {
        let (believed, cycles) = (believed.clone(), cycles.clone());
        tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed);
            let sem = Semaphore::new(&s, PATH, MAX).unwrap();
            loop {
                let lease = sem.acquire().await.unwrap();
                let belief = Belief::enter(&believed, seed);
                tokio::time::sleep(Duration::from_millis(rng.random_range(30..120))).await;
                drop(belief);
                lease.release().await.ok();
                cycles.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let mut workers = Vec::new();
    for i in 0..6u64 {
        let s = session(&ens).await;
        workers.push((spawn(s.clone(), seed.wrapping_add(i)), s));
    }
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (done, probe) = (
            done.clone(),
            Client::connect(ens.connect_string()).await.unwrap(),
        );
        tokio::spawn(async move {
            let mut max_seen = 0;
            while !done.load(Ordering::SeqCst) {
                if let Ok(leases) = probe.get_children(&format!("{PATH}/leases")).await {
                    // Holders plus the one waiter (under the mutex) whose
                    // node is counted while it waits.
                    assert!(
                        leases.len() <= MAX + 1,
                        "{} lease nodes: {leases:?} (seed {seed})",
                        leases.len()
                    );
                    max_seen = max_seen.max(leases.len());
                }
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            probe.close().await.ok();
            max_seen
        })
    };
    let mut rng = StdRng::seed_from_u64(seed ^ 0xC4A5);
    for round in 0..20u64 {
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..200))).await;
        if rng.random_bool(0.3) {
            ens.drop_client_connections(rng.random_range(0..3));
            continue;
        }
        let i = rng.random_range(0..workers.len());
        let (task, s) = &mut workers[i];
        task.abort();
        stopped(task).await;
        let _ = ens.expire_session(s.client().session_id());
        s.close().await.ok();
        let s = session(&ens).await;
        workers[i] = (spawn(s.clone(), seed.wrapping_add(100 + round)), s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(cycles.load(Ordering::SeqCst) > 0, "no lease was ever taken");
    for (mut task, s) in workers {
        task.abort();
        stopped(&mut task).await;
        s.close().await.ok();
    }
    done.store(true, Ordering::SeqCst);
    let max_seen = sampler.await.unwrap();
    eprintln!(
        "{} cycles; at most {max_seen} lease nodes seen",
        cycles.load(Ordering::SeqCst)
    );
    let probe = Client::connect(ens.connect_string()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(60), async {
        while !probe
            .get_children(&format!("{PATH}/leases"))
            .await
            .unwrap_or_default()
            .is_empty()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("lease nodes left behind");
    probe.close().await.unwrap();
    ens.check_history().unwrap();
}

/// A semaphore opened with another lease count than the one recorded at
/// its path is refused; the same count works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mismatched_lease_count_is_refused() {
    let ens = Ensemble::builder()
        .nodes(3)
        .seed(seed(5))
        .build()
        .await
        .unwrap();
    let s = session(&ens).await;
    let two = Semaphore::new(&s, "/sem/strict", 2).unwrap();
    let lease = two.acquire().await.unwrap();
    assert!(lease.fencing_token() > 0);
    let three = Semaphore::new(&s, "/sem/strict", 3).unwrap();
    match three.try_acquire(Duration::from_secs(30)).await {
        Err(Error::InvalidArgument(msg)) => assert!(msg.contains("has 2 leases"), "{msg}"),
        other => panic!("a mismatched count must be refused: {other:?}"),
    }
    let again = two
        .try_acquire(Duration::from_secs(30))
        .await
        .unwrap()
        .expect("the second lease");
    assert!(
        two.try_acquire(Duration::from_millis(200))
            .await
            .unwrap()
            .is_none(),
        "a third lease of two"
    );
    lease.release().await.unwrap();
    again.release().await.unwrap();
    assert!(matches!(
        Semaphore::new(&s, "/sem/strict", 0),
        Err(Error::InvalidArgument(_))
    ));
    s.close().await.unwrap();
}
