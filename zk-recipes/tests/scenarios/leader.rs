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
    assert!(a
        .client()
        .get_children("/svc/leader")
        .await
        .unwrap()
        .is_empty());
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
