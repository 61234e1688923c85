//! Mutex scenarios.

use std::time::Duration;

use zk_recipes::{HoldState, LossReason, Mutex};

use crate::support::{children, ensemble, eventually, session};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exclusive_fifo_and_released_nodes_vanish() {
    let ens = ensemble(1).await;
    let hosts = ens.connect_string();
    let a = session(&hosts, 2000).await;
    let b = session(&hosts, 2000).await;
    let ma = Mutex::new(&a, "/app/lock").unwrap();
    let mb = Mutex::new(&b, "/app/lock").unwrap();
    let ga = ma.acquire().await.unwrap();
    assert!(ga.node_path().starts_with("/app/lock/_c_"));
    assert!(ga.node_path().contains("-lock-"));
    // b waits behind a.
    let waiter = tokio::spawn(async move { mb.acquire().await });
    assert!(
        eventually(Duration::from_secs(5), || children_count(&ens, "/app/lock")
            == 2)
        .await
    );
    assert!(!waiter.is_finished());
    let ta = ga.fencing_token();
    ga.release().await.unwrap();
    let gb = waiter.await.unwrap().unwrap();
    assert!(gb.fencing_token() > ta);
    assert_eq!(gb.state(), HoldState::Held);
    gb.release().await.unwrap();
    assert!(children(&a.client(), "/app/lock").await.is_empty());
}

fn children_count(ens: &zk_server_sim::Ensemble, dir: &str) -> usize {
    let prefix = format!("{dir}/");
    ens.snapshot(0)
        .keys()
        .filter(|k| k.starts_with(&prefix) && !k[prefix.len()..].contains('/'))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fenced_write_fails_once_the_node_is_deleted_and_loss_is_reported() {
    let ens = ensemble(2).await;
    let hosts = ens.connect_string();
    let a = session(&hosts, 2000).await;
    let admin = session(&hosts, 2000).await.client();
    admin
        .create("/counter", b"0", &Default::default())
        .await
        .unwrap();
    let m = Mutex::new(&a, "/l").unwrap();
    let g = m.acquire().await.unwrap();
    g.fenced(|t| t.set_data("/counter", b"1", None))
        .await
        .unwrap();
    // Scenario 7: the own node is deleted behind the holder's back.
    admin.delete(g.node_path(), None).await.unwrap();
    let reason = tokio::time::timeout(Duration::from_secs(5), g.lost())
        .await
        .unwrap();
    assert_eq!(reason, LossReason::NodeDeleted);
    let err = g
        .fenced(|t| t.set_data("/counter", b"2", None))
        .await
        .unwrap_err();
    assert!(matches!(err, zk_recipes::Error::NotHeld(_)), "{err}");
    let (data, _) = admin.get_data("/counter").await.unwrap();
    assert_eq!(&data[..], b"1");
}
