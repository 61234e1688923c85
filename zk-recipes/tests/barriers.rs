//! Barrier and double barrier on the simulator (seeded; the seed is printed
//! and `ZK_RECIPES_SEED=<seed>` replays a run's schedule), with a subset on
//! a real 3-node ZooKeeper 3.8.
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
use zk_client::{Client, CreateMode, CreateOptions};
use zk_recipes::{Barrier, DoubleBarrier, Error, Session};
use zk_server_sim::Ensemble;

/// Longer than any wait here may take; reaching it means a hang.
const HANG: Duration = Duration::from_secs(60);

fn seed(default: u64) -> u64 {
    let seed = std::env::var("ZK_RECIPES_SEED")
        .ok()
        .and_then(|s| zk_server_sim::parse_seed(&s))
        .unwrap_or(default);
    eprintln!("ZK_RECIPES_SEED={seed}");
    seed
}

async fn sim(seed: u64) -> Ensemble {
    Ensemble::builder()
        .nodes(3)
        .seed(seed)
        .build()
        .await
        .unwrap()
}

async fn client(ens: &Ensemble) -> Client {
    Client::builder(ens.connect_string())
        .session_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap()
}

async fn session(ens: &Ensemble) -> Session {
    Session::builder(Client::builder(ens.connect_string()).session_timeout(Duration::from_secs(10)))
        .connect()
        .await
        .unwrap()
}

/// Children of `path` that are member nodes (UUID-shaped names).
async fn members(c: &Client, path: &str) -> Vec<String> {
    match c.get_children(path).await {
        Ok(ch) => ch.into_iter().filter(|n| n.len() == 36).collect(),
        Err(zk_client::Error::NoNode) => Vec::new(),
        Err(e) => panic!("{e}"),
    }
}

/// Polls until `path` has no member node (background deletes finish).
async fn until_no_members(c: &Client, path: &str) {
    tokio::time::timeout(HANG, async {
        while !members(c, path).await.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("member nodes never went away");
}

/// Five members with a seeded stagger, while a seeded schedule drops every
/// server's client connections and adds and removes stray children (which
/// wake the waiters' watches and must not count as members). Nobody enters
/// before all five have called enter, nobody's leave returns before all
/// five have called leave, nothing hangs, and nothing is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_barrier_admits_nobody_early_under_noise_and_disconnects() {
    const N: usize = 5;
    let base = seed(0xB0A7);
    for round in 0..3u64 {
        let seed = base.wrapping_add(round);
        let ens = Arc::new(sim(seed).await);
        let path = "/jobs/barrier";
        let entering = Arc::new(AtomicUsize::new(0));
        let leaving = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let mut rng = StdRng::seed_from_u64(seed);
        let mut tasks = Vec::new();
        for m in 0..N {
            let c = session(&ens).await;
            let (entering, leaving) = (entering.clone(), leaving.clone());
            let stagger = Duration::from_millis(rng.random_range(0..400));
            let work = Duration::from_millis(rng.random_range(0..200));
            tasks.push(tokio::spawn(async move {
                let mut b = DoubleBarrier::new(&c, path, N).unwrap();
                tokio::time::sleep(stagger).await;
                entering.fetch_add(1, Ordering::SeqCst);
                assert!(
                    b.enter_timeout(HANG).await.unwrap(),
                    "member {m}: enter hung (seed {seed})"
                );
                let seen = entering.load(Ordering::SeqCst);
                assert!(
                    seen >= N,
                    "member {m} entered when only {seen} of {N} had arrived (seed {seed})"
                );
                tokio::time::sleep(work).await;
                leaving.fetch_add(1, Ordering::SeqCst);
                assert!(
                    b.leave_timeout(HANG).await.unwrap(),
                    "member {m}: leave hung (seed {seed})"
                );
                let seen = leaving.load(Ordering::SeqCst);
                assert_eq!(
                    seen, N,
                    "member {m} left when only {seen} of {N} were leaving (seed {seed})"
                );
                // A close caught by a dropped connection fails; nothing is
                // left to clean up by then.
                c.close().await.ok();
            }));
        }
        let noise = {
            let ens = ens.clone();
            let done = done.clone();
            let c = client(&ens).await;
            let mut rng = StdRng::seed_from_u64(seed ^ 0x5EED);
            tokio::spawn(async move {
                let mut k = 0;
                let mut strays: Vec<String> = Vec::new();
                while !done.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(rng.random_range(5..60))).await;
                    match rng.random_range(0..4) {
                        0 => ens.drop_client_connections(rng.random_range(0..3)),
                        1 if !strays.is_empty() => {
                            let gone = strays.swap_remove(rng.random_range(0..strays.len()));
                            let _ = c.delete(&gone, None).await;
                        }
                        _ if strays.len() < 3 => {
                            let stray = format!("{path}/stray-{k}");
                            k += 1;
                            // The barrier's directory may not exist yet, or be gone.
                            let opts = CreateOptions::new(CreateMode::Ephemeral);
                            if c.create(&stray, b"", &opts).await.is_ok() {
                                strays.push(stray);
                            }
                        }
                        _ => {}
                    }
                }
                for gone in strays {
                    let _ = c.delete(&gone, None).await;
                }
                c.close().await.ok();
            })
        };
        for t in tasks {
            if let Err(e) = t.await {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        done.store(true, Ordering::SeqCst);
        noise.await.unwrap();
        let c = client(&ens).await;
        assert!(
            members(&c, path).await.is_empty(),
            "member nodes left (seed {seed})"
        );
        assert!(
            c.exists(&format!("{path}/ready")).await.unwrap().is_none(),
            "ready left (seed {seed})"
        );
        c.close().await.unwrap();
        ens.check_history().unwrap();
    }
}

/// Too few members: `enter_timeout` says so and takes our node away again,
/// so a later full round is not miscounted; a cancelled enter (its future
/// dropped) also leaves no node behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_barrier_timeout_and_cancellation_leave_no_member_node() {
    let ens = sim(seed(7)).await;
    let path = "/short/barrier";
    let (a, b, watcher) = (session(&ens).await, session(&ens).await, client(&ens).await);
    let mut ba = DoubleBarrier::new(&a, path, 3).unwrap();
    let mut bb = DoubleBarrier::new(&b, path, 3).unwrap();
    let (ra, rb) = tokio::join!(
        ba.enter_timeout(Duration::from_millis(300)),
        bb.enter_timeout(Duration::from_millis(300))
    );
    assert!(!ra.unwrap() && !rb.unwrap(), "two of three cannot enter");
    assert!(!ba.is_entered());
    until_no_members(&watcher, path).await;

    // Cancelled once our node exists: wait for it, then drop the future.
    let mut bc = DoubleBarrier::new(&a, path, 3).unwrap();
    let mine = bc.member_path();
    {
        let enter = bc.enter();
        tokio::pin!(enter);
        tokio::select! {
            r = &mut enter => panic!("entered alone: {r:?}"),
            () = async {
                while watcher.exists(&mine).await.unwrap().is_none() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            } => {}
        }
    }
    until_no_members(&watcher, path).await;
    assert!(watcher
        .exists(&format!("{path}/ready"))
        .await
        .unwrap()
        .is_none());
    assert!(
        matches!(bc.leave().await, Err(Error::InvalidArgument(_))),
        "leave without enter"
    );
    a.close().await.unwrap();
    b.close().await.unwrap();
    watcher.close().await.unwrap();
}

/// A member waiting in enter or leave whose session expires gets
/// `SessionLost`, not a hang; one whose `Session` is closed gets `Closed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_barrier_wait_ends_with_the_session() {
    let ens = sim(seed(11)).await;
    let s = session(&ens).await;
    let mut b = DoubleBarrier::new(&s, "/lonely", 2).unwrap();
    let id = s.client().session_id();
    let probe = client(&ens).await;
    let mine = b.member_path();
    let expire = async {
        while probe.exists(&mine).await.unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(ens.expire_session(id));
    };
    let (r, ()) = tokio::time::timeout(HANG, async { tokio::join!(b.enter(), expire) })
        .await
        .expect("enter hung past the session");
    assert_eq!(r, Err(Error::SessionLost));

    // Leave: two members in; one leaves while the other stays, and the
    // leaver's session expires.
    let (x, y) = (session(&ens).await, session(&ens).await);
    let mut bx = DoubleBarrier::new(&x, "/pair", 2).unwrap();
    let mut by = DoubleBarrier::new(&y, "/pair", 2).unwrap();
    let (rx, ry) = tokio::join!(bx.enter(), by.enter());
    rx.unwrap();
    ry.unwrap();
    let id = x.client().session_id();
    let leave = tokio::spawn(async move { bx.leave().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(ens.expire_session(id));
    let r = tokio::time::timeout(HANG, leave)
        .await
        .expect("leave hung past the session")
        .unwrap();
    assert_eq!(r, Err(Error::SessionLost));
    by.leave().await.unwrap();

    // Closing the Session ends a wait with Closed.
    let mut bz = DoubleBarrier::new(&y, "/trio", 3).unwrap();
    let (r, ()) = tokio::time::timeout(HANG, async {
        tokio::join!(bz.enter(), async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            y.close().await.unwrap();
        })
    })
    .await
    .expect("enter hung past close");
    assert_eq!(r, Err(Error::Closed));
    for c in [s, x] {
        c.close().await.unwrap();
    }
    probe.close().await.unwrap();
}

/// Waiters pass only once the barrier node is deleted: data changes on it
/// (which fire their watches) and dropped connections do not let them
/// through, and a waiter whose session expires goes on waiting in the
/// next one (the node is persistent); `wait_timeout` on a closed barrier
/// says false; closing the Session ends a wait with `Closed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barrier_opens_only_when_removed() {
    let seed = seed(0xBA);
    let ens = Arc::new(sim(seed).await);
    let owner = session(&ens).await;
    let barrier = Barrier::new(&owner, "/gate/closed").unwrap();
    barrier.set().await.unwrap();
    barrier.set().await.unwrap();
    assert!(barrier.is_set().await.unwrap());
    assert!(!barrier
        .wait_timeout(Duration::from_millis(100))
        .await
        .unwrap());

    let removed = Arc::new(AtomicBool::new(false));
    let mut waiters = Vec::new();
    let mut sessions = Vec::new();
    for _ in 0..3 {
        let s = session(&ens).await;
        sessions.push(s.clone());
        let removed = removed.clone();
        waiters.push(tokio::spawn(async move {
            let b = Barrier::new(&s, "/gate/closed").unwrap();
            assert!(b.wait_timeout(HANG).await.unwrap(), "wait hung");
            assert!(
                removed.load(Ordering::SeqCst),
                "passed a closed barrier (seed {seed})"
            );
            s.close().await.unwrap();
        }));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let probe = client(&ens).await;
    for i in 0..20 {
        tokio::time::sleep(Duration::from_millis(rng.random_range(5..40))).await;
        match rng.random_range(0..10) {
            0..=2 => ens.drop_client_connections(rng.random_range(0..3)),
            3 => {
                let s = &sessions[rng.random_range(0..sessions.len())];
                ens.expire_session(s.client().session_id());
            }
            _ => {
                probe
                    .set_data("/gate/closed", format!("{i}").as_bytes(), None)
                    .await
                    .unwrap();
            }
        }
    }
    removed.store(true, Ordering::SeqCst);
    barrier.remove().await.unwrap();
    barrier.remove().await.unwrap();
    for w in waiters {
        if let Err(e) = w.await {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    barrier.set().await.unwrap();
    let s = session(&ens).await;
    let b = Barrier::new(&s, "/gate/closed").unwrap();
    let (r, ()) = tokio::time::timeout(HANG, async {
        tokio::join!(b.wait(), async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            s.close().await.unwrap();
        })
    })
    .await
    .expect("wait hung past close");
    assert_eq!(r, Err(Error::Closed));
    owner.close().await.unwrap();
    probe.close().await.unwrap();
}

/// A double barrier round on a real 3-node ZooKeeper 3.8.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_barrier_on_real_zookeeper() {
    let Some(real) = tokio::task::spawn_blocking(real_three).await.unwrap() else {
        return;
    };
    let ns = real.chroot("double_barrier");
    let root = Client::connect(ns.base_connect_string.clone())
        .await
        .unwrap();
    for p in ["/it", ns.path.as_str()] {
        match root.create(p, b"", &CreateOptions::default()).await {
            Ok(_) | Err(zk_client::Error::NodeExists) => {}
            Err(e) => panic!("{e}"),
        }
    }
    root.close().await.unwrap();
    const N: usize = 3;
    let entering = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for m in 0..N {
        let s = Session::connect(ns.connect_string.clone()).await.unwrap();
        let entering = entering.clone();
        tasks.push(tokio::spawn(async move {
            let mut b = DoubleBarrier::new(&s, "/db", N).unwrap();
            tokio::time::sleep(Duration::from_millis(100 * m as u64)).await;
            entering.fetch_add(1, Ordering::SeqCst);
            assert!(b.enter_timeout(HANG).await.unwrap());
            assert_eq!(entering.load(Ordering::SeqCst), N);
            assert!(b.leave_timeout(HANG).await.unwrap());
            let left = members(&s.client(), "/db").await;
            assert!(left.is_empty(), "{left:?}");
            s.close().await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

fn real_three() -> Option<&'static zk_server_sim::real::RealEnsemble> {
    if !std::path::Path::new("/usr/share/java/zookeeper.jar").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have ZooKeeper (.ci/install-deps.sh)"
        );
        eprintln!("skipped: ZooKeeper is not installed");
        return None;
    }
    Some(zk_server_sim::real::RealEnsemble::shared_three().unwrap())
}

/// A caller's `Duration::MAX` means "no deadline", not a panic: adding it to
/// `Instant::now()` overflows, so the deadline saturates to none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duration_max_timeouts_do_not_overflow() {
    let ens = sim(seed(0xD0)).await;
    let s = session(&ens).await;
    let open = Barrier::new(&s, "/max/open").unwrap();
    assert!(open.wait_timeout(Duration::MAX).await.unwrap());
    let mut db = DoubleBarrier::new(&s, "/max/double", 1).unwrap();
    assert!(db.enter_timeout(Duration::MAX).await.unwrap());
    assert!(db.leave_timeout(Duration::MAX).await.unwrap());
    s.close().await.unwrap();
}
