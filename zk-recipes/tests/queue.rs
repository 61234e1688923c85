//! The reliable queue on the simulator: two live consumers never get the
//! same item; a consumer whose session dies mid-processing has its item
//! redelivered, and its late ack fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use zk_client::Client;
use zk_recipes::distributed_queue::DistributedQueue;
use zk_server_sim::Ensemble;

async fn ensemble() -> Ensemble {
    Ensemble::builder()
        .nodes(3)
        .tick_time(Duration::from_millis(100))
        .build()
        .await
        .unwrap()
}

async fn connect(ens: &Ensemble) -> Client {
    Client::builder(ens.connect_string())
        .session_timeout(Duration::from_millis(2000))
        .connect()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_live_consumers_never_share_an_item_and_all_are_consumed() {
    let ens = ensemble().await;
    let producer = DistributedQueue::new(&connect(&ens).await, "/q/items", "/q/locks");
    let n = 40;
    for i in 0..n {
        producer.put(format!("m{i}").as_bytes()).await.unwrap();
    }
    let held: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let done: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut consumers = Vec::new();
    for _ in 0..2 {
        let q = DistributedQueue::new(&connect(&ens).await, "/q/items", "/q/locks");
        let (held, done) = (held.clone(), done.clone());
        consumers.push(tokio::spawn(async move {
            loop {
                if done.lock().unwrap().len() >= n {
                    return;
                }
                let Some(m) = q.try_take().await.unwrap() else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let body = String::from_utf8(m.data.to_vec()).unwrap();
                assert!(
                    held.lock().unwrap().insert(body.clone()),
                    "{body} given to two live consumers"
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
                held.lock().unwrap().remove(&body);
                m.ack().await.unwrap();
                done.lock().unwrap().push(body);
            }
        }));
    }
    for c in consumers {
        tokio::time::timeout(Duration::from_secs(60), c)
            .await
            .unwrap()
            .unwrap();
    }
    let done = done.lock().unwrap().clone();
    let set: BTreeSet<_> = done.iter().cloned().collect();
    assert_eq!(done.len(), n, "each item consumed once: {done:?}");
    assert_eq!(set.len(), n);
    let c = connect(&ens).await;
    assert!(c.get_children("/q/items").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_dying_mid_processing_gets_its_item_redelivered() {
    let ens = ensemble().await;
    let producer = DistributedQueue::new(&connect(&ens).await, "/jobs", "/jobs-locks");
    producer.put(b"first").await.unwrap();
    producer.put(b"second").await.unwrap();

    let dying_client = connect(&ens).await;
    let dying = DistributedQueue::new(&dying_client, "/jobs", "/jobs-locks");
    let taken = dying.take().await.unwrap();
    assert_eq!(&taken.data[..], b"first");

    // A live consumer cannot take it while the first one holds it.
    let other = DistributedQueue::new(&connect(&ens).await, "/jobs", "/jobs-locks");
    let m = other.take().await.unwrap();
    assert_eq!(&m.data[..], b"second");
    m.ack().await.unwrap();
    assert!(other.try_take().await.unwrap().is_none(), "first is held");

    // The first consumer's session dies mid-processing: the item comes back.
    assert!(ens.expire_session(dying_client.session_id()));
    let again = tokio::time::timeout(Duration::from_secs(30), other.take())
        .await
        .expect("redelivered in time")
        .unwrap();
    assert_eq!(&again.data[..], b"first");
    // The dead consumer's late ack fails; the item is still there.
    assert!(taken.ack().await.is_err());
    again.ack().await.unwrap();
    assert!(other.try_take().await.unwrap().is_none());
}
