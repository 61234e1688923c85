//! A subset of the scenarios on real ZooKeeper 3.8 (the shared three-node
//! ensemble of `zk_server_sim::real`, each test in its own chroot). A
//! machine without ZooKeeper skips them, except in CI (`CI` set), where
//! that is a failure.

use std::time::Duration;

use zk_recipes::{LeaderLatch, Mutex};
use zk_server_sim::real::RealEnsemble;

use crate::support::session;

/// The shared real ensemble and a fresh chroot (created), or `None` (skipped).
async fn real(name: &str) -> Option<(&'static RealEnsemble, String)> {
    if !std::path::Path::new("/usr/share/java/zookeeper.jar").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "ZooKeeper is not installed: CI must have it (.ci/install-deps.sh installs it)"
        );
        eprintln!("skipped: ZooKeeper is not installed");
        return None;
    }
    let ens = tokio::task::spawn_blocking(RealEnsemble::shared_three)
        .await
        .unwrap()
        .expect("real ensemble");
    let chroot = ens.chroot(name);
    let base = zk_client::Client::connect(chroot.base_connect_string.as_str())
        .await
        .unwrap();
    base.create(
        &chroot.path,
        b"",
        zk_client::CreateOptions::persistent().with_parents(),
    )
    .await
    .unwrap();
    base.close().await.unwrap();
    Some((ens, chroot.path))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_mutex_excludes_and_hands_over_in_order() {
    let Some((ens, chroot)) = real("recipes-mutex").await else {
        return;
    };
    let hosts = ens.connect_string_with_chroot(&chroot);
    let a = session(&hosts, 4000).await;
    let b = session(&hosts, 4000).await;
    let ga = Mutex::new(&a, "/lock").unwrap().acquire().await.unwrap();
    let mb = Mutex::new(&b, "/lock").unwrap();
    assert!(mb
        .try_acquire(Duration::from_millis(300))
        .await
        .unwrap()
        .is_none());
    let waiter = tokio::spawn(async move { mb.acquire().await.unwrap() });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiter.is_finished());
    let t = ga.fencing_token();
    ga.release().await.unwrap();
    let gb = waiter.await.unwrap();
    assert!(gb.fencing_token() > t);
    gb.release().await.unwrap();
    assert!(a
        .client()
        .get_children("/lock")
        .await
        .unwrap_or_default()
        .is_empty());
}

/// Scenario 1 on real ZooKeeper.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_s1_holder_session_expires_while_a_waiter_is_queued() {
    let Some((ens, chroot)) = real("recipes-s1").await else {
        return;
    };
    let hosts = ens.connect_string_with_chroot(&chroot);
    crate::mutex::holder_expiry_then_waiter(ens.node_addr(0).unwrap(), &chroot, &hosts, 2000).await;
}

/// Scenario 8 on real ZooKeeper, both step-down policies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_s8_partitioned_leader_steps_down_before_the_next_leads() {
    let Some((ens, chroot)) = real("recipes-s8").await else {
        return;
    };
    let hosts = ens.connect_string_with_chroot(&chroot);
    let up = ens.node_addr(0).unwrap();
    crate::leader::partitioned_leader_steps_down_first(up, &chroot, &hosts, 2000, true).await;
    crate::leader::partitioned_leader_steps_down_first(up, &chroot, &hosts, 2000, false).await;
}

/// Latch handover and the participants listing on real ZooKeeper.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_latch_handover_on_close() {
    let Some((ens, chroot)) = real("recipes-latch").await else {
        return;
    };
    let hosts = ens.connect_string_with_chroot(&chroot);
    let a = session(&hosts, 4000).await;
    let b = session(&hosts, 4000).await;
    let la = LeaderLatch::start(&a, "/latch", "a").unwrap();
    let ta = la.wait_leader().await.unwrap();
    let lb = LeaderLatch::start(&b, "/latch", "b").unwrap();
    let mut parts = Vec::new();
    for _ in 0..100 {
        parts = lb.participants().await.unwrap();
        if parts.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ids: Vec<(String, bool)> = parts.into_iter().map(|p| (p.id, p.is_leader)).collect();
    assert_eq!(ids, vec![("a".to_owned(), true), ("b".to_owned(), false)]);
    la.close().await.unwrap();
    let tb = lb.wait_leader().await.unwrap();
    assert!(tb > ta);
    lb.close().await.unwrap();
}
