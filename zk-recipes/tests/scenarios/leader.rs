//! Leader latch and election scenarios.

use std::time::Duration;

use zk_recipes::{LeaderElection, LeaderLatch, Leadership};

use crate::support::{ensemble, eventually, session};

fn leaders(latches: &[&LeaderLatch]) -> usize {
    latches.iter().filter(|l| l.is_leader()).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_close_hands_over_and_participants_name_it() {
    let ens = ensemble(3).await;
    let hosts = ens.connect_string();
    let (a, b, c) = (
        session(&hosts, 2000).await,
        session(&hosts, 2000).await,
        session(&hosts, 2000).await,
    );
    let la = LeaderLatch::start(&a, "/svc/leader", "a").unwrap();
    let ta = la.wait_leader().await.unwrap();
    let lb = LeaderLatch::start(&b, "/svc/leader", "b").unwrap();
    for _ in 0..200 {
        if lb.participants().await.unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let lc = LeaderLatch::start(&c, "/svc/leader", "c").unwrap();
    let ids = |p: Vec<zk_recipes::Participant>| {
        p.into_iter()
            .map(|p| (p.id, p.is_leader))
            .collect::<Vec<_>>()
    };
    assert!(eventually(Duration::from_secs(5), || leaders(&[&la, &lb, &lc]) == 1).await);
    // Wait until all three nodes exist, then check the listing.
    let mut parts = Vec::new();
    for _ in 0..100 {
        parts = ids(lb.participants().await.unwrap());
        if parts.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        parts,
        vec![("a".into(), true), ("b".into(), false), ("c".into(), false)]
    );
    assert_eq!(
        lc.leader().await.unwrap().map(|p| p.id).as_deref(),
        Some("a")
    );
    // Close relinquishes at once: the channel says Follower when close returns.
    let mut rx = la.leadership();
    la.close().await.unwrap();
    assert_eq!(*rx.borrow_and_update(), Leadership::Follower);
    let tb = lb.wait_leader().await.unwrap();
    assert!(tb > ta);
    assert!(!lc.is_leader());
    lb.close().await.unwrap();
    lc.wait_leader().await.unwrap();
    lc.close().await.unwrap();
    // Close relinquishes at once; the node goes with a guaranteed delete,
    // which may still be under way when close returns.
    let mut left = Vec::new();
    for _ in 0..250 {
        left = a.client().get_children("/svc/leader").await.unwrap();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(left.is_empty(), "latch nodes left behind: {left:?}");
}

/// Scenario 7 for the latch: the leader's node is deleted behind its back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_whose_node_is_deleted_steps_down_and_rejoins() {
    let ens = ensemble(4).await;
    let hosts = ens.connect_string();
    let (a, b) = (session(&hosts, 2000).await, session(&hosts, 2000).await);
    let admin = session(&hosts, 2000).await.client();
    let la = LeaderLatch::start(&a, "/l", "a").unwrap();
    la.wait_leader().await.unwrap();
    let lb = LeaderLatch::start(&b, "/l", "b").unwrap();
    // b's node must exist before a's goes (start returns before it is
    // created): otherwise a may rightly rejoin first and lead again.
    for _ in 0..250 {
        if lb.participants().await.unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let node = match &*la.leadership().borrow() {
        Leadership::Leader { node, .. } => node.clone(),
        other => panic!("not leader: {other:?}"),
    };
    let mut rx = la.leadership();
    admin.delete(&node, None).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), rx.wait_for(|l| !l.is_leader()))
        .await
        .unwrap()
        .unwrap();
    lb.wait_leader().await.unwrap();
    // a rejoined behind b with a fresh node.
    assert!(
        eventually(Duration::from_secs(5), || la.leadership().borrow().clone()
            == Leadership::Follower)
        .await
    );
    let mut n = 0;
    for _ in 0..100 {
        n = lb.participants().await.unwrap().len();
        if n == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(n, 2);
    assert!(!la.is_leader());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn election_runs_one_leader_at_a_time_and_requeues() {
    let ens = ensemble(5).await;
    let hosts = ens.connect_string();
    let admin = session(&hosts, 2000).await.client();
    admin
        .create("/count", b"0", &Default::default())
        .await
        .unwrap();
    let active = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..3 {
        let s = session(&hosts, 2000).await;
        let active = active.clone();
        tasks.push(tokio::spawn(async move {
            let e = LeaderElection::new(&s, "/elect", &format!("p{i}")).unwrap();
            let mut tokens = Vec::new();
            for _ in 0..3 {
                let t = e
                    .run(|ctx| {
                        let active = active.clone();
                        async move {
                            assert_eq!(active.fetch_add(1, std::sync::atomic::Ordering::SeqCst), 0);
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            active.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                            ctx.fencing_token()
                        }
                    })
                    .await
                    .unwrap();
                tokens.push(t);
            }
            tokens
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 9, "nine terms, nine distinct fencing tokens");
    assert!(admin.get_children("/elect").await.unwrap().is_empty());
}

/// Scenario 8: the leader is partitioned until the server expires its
/// session. It steps down (at Suspended by default, at its Lost deadline
/// with the LOST-only policy) before the follower leads, which happens
/// only after the server deleted the old node.
pub(crate) async fn partitioned_leader_steps_down_first(
    upstream: std::net::SocketAddr,
    chroot: &str,
    hosts: &str,
    timeout_ms: u64,
    step_down_on_suspended: bool,
) {
    let (proxy, a) = crate::support::proxied_session_in(upstream, chroot, timeout_ms, 0.1).await;
    let b = session(hosts, timeout_ms).await;
    let path = format!("/s8-{step_down_on_suspended}");
    let la = LeaderLatch::builder(&a, &path, "a")
        .unwrap()
        .step_down_on_suspended(step_down_on_suspended)
        .start();
    la.wait_leader().await.unwrap();
    let old = match &*la.leadership().borrow() {
        Leadership::Leader { node, .. } => node.clone(),
        other => panic!("not leader: {other:?}"),
    };
    let lb = LeaderLatch::start(&b, &path, "b").unwrap();
    for _ in 0..200 {
        if lb.participants().await.unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut rx = la.leadership();
    let a_down = tokio::spawn(async move {
        rx.wait_for(|l| !l.is_leader()).await.unwrap();
        tokio::time::Instant::now()
    });
    proxy.blackhole(true);
    lb.wait_leader().await.unwrap();
    let b_up = tokio::time::Instant::now();
    let a_down = a_down.await.unwrap();
    assert!(
        a_down <= b_up,
        "two leaders: the old one stepped down after the new one led"
    );
    assert_eq!(b.client().exists(&old).await.unwrap(), None);
    proxy.blackhole(false);
    // a rejoins in a new session, as a follower.
    let mut ok = false;
    for _ in 0..400 {
        if lb.participants().await.unwrap().len() == 2 {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(ok, "the old leader did not rejoin");
    assert!(!la.is_leader());
    la.close().await.unwrap();
    lb.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s8_partitioned_leader_steps_down_on_suspended() {
    let ens = ensemble(21).await;
    partitioned_leader_steps_down_first(ens.addr(0), "", &ens.connect_string(), 800, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s8_partitioned_leader_with_lost_only_policy_steps_down_at_its_deadline() {
    let ens = ensemble(22).await;
    partitioned_leader_steps_down_first(ens.addr(0), "", &ens.connect_string(), 800, false).await;
}

/// Scenario 2 for the latch (CURATOR-696): after a local Lost, the new
/// session lists the old session's node first; it must not lead until the
/// server deleted that node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_latch_never_leads_on_the_old_sessions_node() {
    let ens = ensemble(23).await;
    let (proxy, a) = crate::support::proxied_session(ens.addr(0), 1000, 0.5).await;
    let admin = session(&ens.connect_string(), 1000).await.client();
    let la = LeaderLatch::start(&a, "/s2l", "a").unwrap();
    la.wait_leader().await.unwrap();
    let old = match &*la.leadership().borrow() {
        Leadership::Leader { node, .. } => node.clone(),
        other => panic!("not leader: {other:?}"),
    };
    let mut states = a.states();
    proxy.blackhole(true);
    // The watch keeps the latest state: NewSession may replace Lost.
    crate::support::wait_state(&mut states, Duration::from_secs(10), |s| {
        matches!(
            s,
            zk_recipes::ConnectionState::Lost | zk_recipes::ConnectionState::NewSession
        )
    })
    .await;
    let mut rx = la.leadership();
    crate::support::wait_state(&mut rx, Duration::from_secs(1), |l| !l.is_leader()).await;
    proxy.blackhole(false);
    let l = crate::support::wait_state(&mut rx, Duration::from_secs(20), |l| l.is_leader()).await;
    assert_eq!(
        admin.exists(&old).await.unwrap(),
        None,
        "led beside the old node"
    );
    match l {
        Leadership::Leader { node, .. } => assert_ne!(node, old),
        other => panic!("{other:?}"),
    }
    la.close().await.unwrap();
}

/// Scenario 9: connections flap under three latches: at most one leader
/// at any sampled instant, no node deleted or re-created, and it settles
/// with exactly one leader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s9_flapping_connections_no_livelock_no_double_leader() {
    let ens = ensemble(24).await;
    let hosts = ens.connect_string();
    let mut latches = Vec::new();
    let mut sessions = Vec::new();
    for i in 0..3 {
        let s = session(&hosts, 3000).await;
        latches.push(std::sync::Arc::new(
            LeaderLatch::start(&s, "/s9", &format!("p{i}")).unwrap(),
        ));
        sessions.push(s);
    }
    let admin = session(&hosts, 3000).await.client();
    let mut before = Vec::new();
    for _ in 0..200 {
        before = admin.get_children("/s9").await.unwrap_or_default();
        if before.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    before.sort();
    assert_eq!(before.len(), 3);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (latches, stop) = (latches.clone(), stop.clone());
        tokio::spawn(async move {
            let mut samples = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let n = latches.iter().filter(|l| l.is_leader()).count();
                assert!(n <= 1, "{n} leaders at once");
                samples += 1;
                tokio::time::sleep(Duration::from_micros(500)).await;
            }
            samples
        })
    };
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(ens.seed());
    for _ in 0..15 {
        let i = rand::Rng::random_range(&mut rng, 0..3);
        ens.drop_client_connections(i);
        tokio::time::sleep(Duration::from_millis(rand::Rng::random_range(
            &mut rng,
            5..60,
        )))
        .await;
    }
    let settled = eventually(Duration::from_secs(10), || {
        latches.iter().filter(|l| l.is_leader()).count() == 1
    })
    .await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(sampler.await.unwrap() > 10);
    assert!(settled, "no leader after the flapping stopped");
    let mut after = admin.get_children("/s9").await.unwrap();
    after.sort();
    assert_eq!(before, after, "nodes were deleted or re-created");
    for s in &sessions {
        s.close().await.unwrap();
    }
}

/// Scenario 10 for the latch: its directory is deleted; it re-creates it
/// and leads again (CURATOR-724).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s10_latch_directory_deleted_recreates_and_leads() {
    let ens = ensemble(25).await;
    let hosts = ens.connect_string();
    let a = session(&hosts, 3000).await;
    let admin = session(&hosts, 3000).await.client();
    let la = LeaderLatch::start(&a, "/s10l/latch", "a").unwrap();
    let t1 = la.wait_leader().await.unwrap();
    let mut rx = la.leadership();
    let mut txn = admin.transaction();
    for c in admin.get_children("/s10l/latch").await.unwrap() {
        txn = txn.delete(&format!("/s10l/latch/{c}"), None);
    }
    txn.delete("/s10l/latch", None).commit().await.unwrap();
    // Alone in the election, the latch steps down and leads again at once on
    // a new node, so a receiver may only see the new leadership (a watch
    // channel keeps the latest value): wait for the new token.
    let again = crate::support::wait_state(&mut rx, Duration::from_secs(10), |l| {
        l.fencing_token().is_some_and(|t| t != t1)
    })
    .await;
    let t2 = again.fencing_token().unwrap();
    assert!(t2 > t1);
    assert_eq!(la.wait_leader().await.unwrap(), t2);
    la.close().await.unwrap();
}

/// Scenario 18 for the leader recipes: closing the session resolves a
/// follower's wait and an election's run with Closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s18_session_close_resolves_leader_waits() {
    let ens = ensemble(26).await;
    let hosts = ens.connect_string();
    let a = session(&hosts, 3000).await;
    let b = session(&hosts, 3000).await;
    let la = LeaderLatch::start(&a, "/s18l", "a").unwrap();
    la.wait_leader().await.unwrap();
    let lb = std::sync::Arc::new(LeaderLatch::start(&b, "/s18l", "b").unwrap());
    let w = {
        let lb = lb.clone();
        tokio::spawn(async move { lb.wait_leader().await })
    };
    let ea = LeaderElection::new(&a, "/s18e", "a").unwrap();
    let eb = LeaderElection::new(&b, "/s18e", "b").unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let leading = tokio::spawn(async move {
        ea.run(|_| async move {
            let _ = rx.await;
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waiting = tokio::spawn(async move { eb.run(|_| async {}).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    b.close().await.unwrap();
    let r = tokio::time::timeout(Duration::from_secs(5), w)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.unwrap_err(), zk_recipes::Error::Closed);
    let r = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.unwrap_err(), zk_recipes::Error::Closed);
    assert_eq!(la.participants().await.unwrap().len(), 1);
    drop(tx);
    leading.await.unwrap().unwrap();
    la.close().await.unwrap();
}

/// §14 #19 for the latch: a queue listing over the client's limit fails
/// every look with ReplyTooLarge, which will not pass by itself. The latch
/// stays a follower and backs off (20 ms, doubling) instead of listing the
/// directory every 20 ms for ever. Gaps are checked from below only: a
/// sleep never ends early, so this cannot fail on a slow machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s19_a_latch_whose_queue_listing_is_too_large_backs_off_as_a_follower() {
    let ens = ensemble(19).await;
    let admin = session(&ens.connect_string(), 3000).await.client();
    crate::support::oversize_directory(&admin, "/s19l").await;
    let proxy = zk_server_sim::testkit::FaultProxy::start(ens.addr(0))
        .await
        .unwrap();
    proxy.record(true);
    let small = zk_recipes::Session::builder(
        zk_client::Client::builder(proxy.addr().to_string())
            .session_timeout(Duration::from_millis(3000))
            .max_buffer(4096),
    )
    .connect()
    .await
    .unwrap();
    let latch = LeaderLatch::start(&small, "/s19l", "small").unwrap();
    // Seven looks at the queue: six pauses of 20, 40, ... 640 ms at least.
    let mut looks = Vec::new();
    for _ in 0..600 {
        looks = proxy
            .wire()
            .requests(zk_proto::OpCode::GetChildren)
            .map(|f| f.at)
            .collect();
        if looks.len() >= 7 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(looks.len() >= 7, "the latch stopped looking: {looks:?}");
    assert!(!latch.is_leader());
    for (k, pair) in looks.windows(2).take(6).enumerate() {
        let gap = pair[1].duration_since(pair[0]);
        let least = Duration::from_millis(20 << k);
        assert!(
            gap >= least,
            "look {k}: {gap:?} after the previous one, expected at least {least:?}"
        );
    }
    latch.close().await.unwrap();
}
