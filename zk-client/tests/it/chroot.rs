//! The chroot is applied to every outgoing path and stripped from every incoming one.

use zk_client::{Client, CreateMode, CreateOptions, Error, EventType, OpResult};

use crate::support::{bounded, chroot_on, ensemble};

#[tokio::test]
async fn chroot_is_applied_and_stripped_everywhere() {
    let cs = chroot_on(ensemble(), "chroot").await;
    let root = crate::support::chroot_of(&cs);
    let c = Client::connect(cs).await.unwrap();
    assert_eq!(c.chroot(), Some(root.as_str()));
    let base = Client::connect(ensemble().connect_string()).await.unwrap();

    // Outgoing: the node lands under the chroot.
    let (p, _) = c
        .create("/a", b"in", &CreateOptions::default())
        .await
        .unwrap();
    assert_eq!(p, "/a");
    // `base` may be on another server, behind the write: catch up first.
    base.sync(&root).await.unwrap();
    let (data, _) = base.get_data(&format!("{root}/a")).await.unwrap();
    assert_eq!(&data[..], b"in");
    // "/" is the chroot itself.
    let kids = c.get_children("/").await.unwrap();
    assert_eq!(kids, ["a"]);

    // Sequential names, ephemerals and multi results come back relative.
    let (p, _) = c
        .create(
            "/a/s-",
            b"",
            &CreateOptions::new(CreateMode::EphemeralSequential),
        )
        .await
        .unwrap();
    assert_eq!(p, "/a/s-0000000000");
    assert_eq!(c.get_ephemerals("/").await.unwrap(), vec![p]);
    let results = c
        .transaction()
        .create(
            "/a/m-",
            b"",
            &CreateOptions::new(CreateMode::PersistentSequential),
        )
        .commit()
        .await
        .unwrap();
    assert!(
        matches!(&results[0], OpResult::Create { path, .. } if path == "/a/m-0000000001"),
        "{results:?}"
    );

    // Watch events carry the client path.
    let (_, _, w) = c.get_data_watch("/a").await.unwrap();
    base.set_data(&format!("{root}/a"), b"changed", None)
        .await
        .unwrap();
    let ev = bounded("watch", w).await.unwrap();
    assert_eq!(ev.path, "/a");
    assert_eq!(ev.event_type, EventType::NodeDataChanged);
    let (_, w) = c.get_children_watch("/").await.unwrap();
    base.create(&format!("{root}/b"), b"", &CreateOptions::default())
        .await
        .unwrap();
    let ev = bounded("watch", w).await.unwrap();
    assert_eq!(ev.path, "/");

    // getConfig ignores the chroot.
    let (cfg, _) = c.get_config().await.unwrap();
    assert!(String::from_utf8_lossy(&cfg).contains("server.1="));
    c.close().await.unwrap();
    base.close().await.unwrap();
}

/// A chroot whose node does not exist fails the connect with a typed error
/// (never a later NONODE); `create_chroot(true)` creates it, parents too.
async fn missing_chroot(hosts: String, name: &str) {
    let root = format!("/{name}/deep/app");
    let cs = format!("{hosts}{root}");
    let err = zk_client::Client::connect(cs.as_str()).await.unwrap_err();
    assert_eq!(
        err,
        Error::NoChroot {
            chroot: root.clone()
        }
    );
    assert!(!err.is_retriable());

    let c = zk_client::Client::builder(cs.as_str())
        .create_chroot(true)
        .connect()
        .await
        .unwrap();
    c.create("/n", b"", zk_client::CreateMode::Persistent)
        .await
        .unwrap();
    c.close().await.unwrap();
    let base = zk_client::Client::connect(hosts.as_str()).await.unwrap();
    assert!(base.exists(&format!("{root}/n")).await.unwrap().is_some());
    // Now it exists: a plain connect works.
    zk_client::Client::connect(cs.as_str())
        .await
        .unwrap()
        .close()
        .await
        .unwrap();
    base.close().await.unwrap();
}

#[tokio::test]
async fn missing_chroot_on_the_simulator() {
    let ens = zk_server_sim::Ensemble::builder()
        .nodes(1)
        .build()
        .await
        .unwrap();
    missing_chroot(ens.connect_string(), "nochroot").await;
}

#[tokio::test]
async fn missing_chroot_on_real_zookeeper() {
    let name = zk_server_sim::real::unique_chroot("nochroot");
    missing_chroot(
        crate::support::ensemble().connect_string(),
        name.trim_start_matches('/'),
    )
    .await;
}
