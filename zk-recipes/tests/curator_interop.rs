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

use zk_client::Client;
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
