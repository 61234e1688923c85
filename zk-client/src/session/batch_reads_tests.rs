//! Reading replies in batches (`ClientBuilder::batch_reads`): the receive
//! low-water mark never waits for bytes the replies owed may not bring.

use std::time::Duration;

use futures::StreamExt;

use super::live::{low_water_for, MIN_REPLY};
use crate::{Client, CreateOptions, Error};

/// The mark for `n` requests owed a reply is at most what `n - 1` of the
/// smallest replies bring (one may be partly read already) and at most
/// 1,280 bytes, one byte below 8 in flight, and the same across the whole
/// band a refilled pipeline of 1,000 moves in (so that it is not set again
/// and again).
#[test]
fn the_mark_never_asks_for_more_than_the_replies_owed_bring() {
    for n in 0..100_000usize {
        let mark = low_water_for(n);
        assert!((1..=1280).contains(&mark), "{n} in flight: mark {mark}");
        if n < 8 {
            assert_eq!(mark, 1, "{n} in flight");
        } else {
            assert!(
                mark <= MIN_REPLY * (n - 1),
                "{n} in flight: mark {mark} > {} bytes owed for sure",
                MIN_REPLY * (n - 1)
            );
        }
    }
    let band: std::collections::BTreeSet<usize> = (875..=1000).map(low_water_for).collect();
    assert_eq!(band.len(), 1, "{band:?}");
}

/// Pipelines 20,000 requests, 1,000 at a time, mixing the smallest replies
/// (NONODE for a missing node: 20 bytes) with larger ones (a 100-byte
/// node's data), and only the smallest in the last 2,000, on a client whose
/// fallback (the mark drops after a quiet spell) is an hour away: every
/// reply must come through the mark alone, the last ones of the pipeline as
/// it drains included.
///
/// The client talks to `server` through the test kit's proxy, which logs
/// the frames. A mark that asked for more than the replies owed bring
/// would stall the pipeline until the next ping's reply added its bytes:
/// so no ping may go out while the pipeline runs (the client sends all the
/// while, so a healthy one has no reason to ping).
async fn deep_pipeline_needs_no_fallback(server: &str, name: &str) {
    let upstream: std::net::SocketAddr = server.parse().expect("one host:port");
    let proxy = zk_server_sim::testkit::FaultProxy::start(upstream)
        .await
        .expect("start a proxy");
    let client = Client::builder(proxy.addr().to_string())
        .session_timeout(Duration::from_secs(10))
        .max_in_flight(1000)
        .batch_quiet(Duration::from_secs(3600))
        .connect()
        .await
        .expect("connect");
    let node = format!("/batch-reads-{name}-{}", std::process::id());
    client
        .create(&node, &[b'x'; 100], CreateOptions::persistent())
        .await
        .expect("create the node");
    let missing = format!("{node}-missing");
    let total = 20_000usize;
    proxy.record(true);
    let run = futures::stream::iter(0..total)
        .map(|i| {
            let c = client.clone();
            let (node, missing) = (node.clone(), missing.clone());
            async move {
                if i % 3 == 0 && i < total - 2000 {
                    c.get_data(&node).await.map(|(d, _)| d.len())
                } else {
                    match c.delete(&missing, None).await {
                        Err(Error::NoNode) => Ok(0),
                        other => other.map(|()| usize::MAX),
                    }
                }
            }
        })
        .buffer_unordered(1000)
        .collect::<Vec<_>>();
    let replies = match tokio::time::timeout(Duration::from_secs(120), run).await {
        Ok(r) => r,
        Err(_) => {
            panic!("{name}: a pipeline of {total} is stuck waiting for bytes that do not come")
        }
    };
    proxy.record(false);
    let pings = proxy.wire().count(zk_proto::OpCode::Ping);
    assert_eq!(
        pings, 0,
        "{name}: the pipeline stalled until pings' replies woke the client"
    );
    assert_eq!(replies.len(), total);
    for r in &replies {
        let len = r.as_ref().expect("every request answered");
        assert!(*len == 0 || *len == 100, "{name}: {len}");
    }
    client.delete(&node, None).await.expect("delete the node");
    client.close().await.expect("close");
}

#[tokio::test]
async fn a_deep_pipeline_drains_without_the_quiet_fallback_on_the_simulator() {
    let ens = zk_server_sim::Ensemble::builder()
        .nodes(1)
        .build()
        .await
        .expect("simulator");
    deep_pipeline_needs_no_fallback(&ens.connect_string(), "sim").await;
}

#[tokio::test]
async fn a_deep_pipeline_drains_without_the_quiet_fallback_on_real_zookeeper() {
    let ens = tokio::task::spawn_blocking(|| zk_server_sim::real::RealEnsemble::shared(1))
        .await
        .expect("start")
        .expect("a standalone ZooKeeper (run .ci/install-deps.sh)");
    deep_pipeline_needs_no_fallback(&ens.connect_string(), "real").await;
}
