//! The set partitioner on the simulator: no item owned twice at any moment,
//! every item owned once the group is stable, again after a member leaves.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;
use std::time::Duration;

use zk_client::Client;
use zk_recipes::partitioner::{PartitionState, SetPartitioner};
use zk_recipes::Session;
use zk_server_sim::Ensemble;

const ITEMS: [&str; 10] = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];

fn owned(ps: &[&SetPartitioner]) -> Vec<Vec<String>> {
    ps.iter()
        .map(|p| match p.state() {
            PartitionState::Acquired(v) => v,
            _ => Vec::new(),
        })
        .collect()
}

/// Checks no item is owned twice; true when every item is owned.
fn check(ps: &[&SetPartitioner]) -> bool {
    let all = owned(ps);
    let mut seen = BTreeSet::new();
    for v in &all {
        for i in v {
            assert!(seen.insert(i.clone()), "{i} owned twice: {all:?}");
        }
    }
    seen.len() == ITEMS.len()
}

async fn stable(ps: &[&SetPartitioner]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check(ps) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never stable: {:?}",
            owned(ps)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_are_split_without_overlap_and_rebalanced_when_a_member_leaves() {
    let ens = Ensemble::builder()
        .nodes(3)
        .tick_time(Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    let mut sessions = Vec::new();
    for _ in 0..3 {
        sessions.push(
            Session::builder(
                Client::builder(ens.connect_string()).session_timeout(Duration::from_millis(2000)),
            )
            .connect()
            .await
            .unwrap(),
        );
    }
    let settle = Duration::from_millis(200);
    let mut p: Vec<SetPartitioner> = sessions
        .iter()
        .map(|s| SetPartitioner::start(s, "/part", &ITEMS, settle))
        .collect();
    stable(&[&p[0], &p[1], &p[2]]).await;
    let counts: Vec<usize> = owned(&[&p[0], &p[1], &p[2]]).iter().map(Vec::len).collect();
    assert_eq!(counts.iter().sum::<usize>(), 10);
    assert!(counts.iter().all(|&c| c >= 3), "{counts:?}");

    // The third member leaves (its session closes, its nodes go): the two
    // left split everything, never owning an item twice on the way.
    drop(p.pop());
    sessions.pop().unwrap().close().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stable(&[&p[0], &p[1]]).await;
    let counts: Vec<usize> = owned(&[&p[0], &p[1]]).iter().map(Vec::len).collect();
    assert_eq!(counts, [5, 5]);
    for s in sessions {
        s.close().await.unwrap();
    }
}
