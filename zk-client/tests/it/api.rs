//! The conveniences every peer has: create with parents, recursive delete,
//! exists-or-create, the sequence parser, `last_contact`. Each body runs on
//! the simulator and on real ZooKeeper.

use std::time::Duration;

use zk_client::{parse_sequence, Client, CreateMode, CreateOptions, Error};

use crate::support::{bounded, chroot_on, ensemble};

/// A chroot of its own on the servers of `hosts` (a connect string without
/// chroot), created with a plain client; returns the chrooted connect string.
pub async fn chroot_at(hosts: &str, name: &str) -> String {
    let base = Client::connect(hosts).await.unwrap();
    let path = format!("/{name}");
    base.create(&path, b"", CreateOptions::persistent())
        .await
        .unwrap();
    base.close().await.unwrap();
    format!("{hosts}{path}")
}

/// A one-node simulator and a chrooted connect string on it.
pub async fn sim(name: &str) -> (zk_server_sim::Ensemble, String) {
    let ens = zk_server_sim::Ensemble::builder()
        .nodes(1)
        .container_check_interval(Duration::from_millis(20))
        .build()
        .await
        .unwrap();
    let cs = chroot_at(&ens.connect_string(), name).await;
    (ens, cs)
}

async fn create_with_parents(cs: String) {
    let c = Client::connect(cs).await.unwrap();
    // Without the option, a missing parent is NONODE.
    assert_eq!(
        c.create("/a/b/c", b"x", CreateMode::Persistent).await,
        Err(Error::NoNode)
    );
    let (path, _) = c
        .create("/a/b/c", b"x", CreateOptions::persistent().with_parents())
        .await
        .unwrap();
    assert_eq!(path, "/a/b/c");
    for p in ["/a", "/a/b"] {
        let (data, stat) = c.get_data(p).await.unwrap();
        assert!(data.is_empty(), "{p}");
        assert_eq!(stat.ephemeral_owner, 0, "{p} is persistent");
    }
    assert_eq!(&c.get_data("/a/b/c").await.unwrap().0[..], b"x");
    // Existing parents are fine; the node itself existing is NODEEXISTS.
    assert_eq!(
        c.create("/a/b/c", b"", CreateOptions::persistent().with_parents())
            .await,
        Err(Error::NodeExists)
    );

    // Container parents, under a sequential ephemeral (a lock node).
    let (lock, stat) = c
        .create(
            "/locks/res/lock-",
            b"",
            CreateOptions::ephemeral_sequential().with_container_parents(),
        )
        .await
        .unwrap();
    assert_eq!(parse_sequence(&lock), Some(0), "{lock}");
    assert_eq!(stat.ephemeral_owner, c.session_id());
    // (Stats show 0 for containers too; the simulator test sees them reaped.)
    for p in ["/locks", "/locks/res"] {
        assert!(c.exists(p).await.unwrap().is_some(), "{p}");
    }

    // Many creates racing for the same missing parents all succeed.
    let racing: Vec<_> = (0..8)
        .map(|i| {
            c.create(
                &format!("/race/x/n{i}"),
                b"",
                CreateOptions::persistent().with_parents(),
            )
        })
        .collect();
    for r in futures::future::join_all(racing).await {
        r.unwrap();
    }
    assert_eq!(c.get_children("/race/x").await.unwrap().len(), 8);

    // `&CreateOptions` still works; a transaction refuses to create parents.
    c.create("/plain", b"", &CreateOptions::default())
        .await
        .unwrap();
    let refused = c
        .transaction()
        .create("/t/u", b"", CreateOptions::persistent().with_parents())
        .commit()
        .await;
    assert!(
        matches!(refused, Err(Error::InvalidArgument(_))),
        "{refused:?}"
    );
    c.close().await.unwrap();
}

#[tokio::test]
async fn create_with_parents_on_the_simulator() {
    let (_ens, cs) = sim("parents").await;
    create_with_parents(cs.clone()).await;
    // The lock node went with its session: its container parents are
    // reaped, the persistent parents stay.
    let c = Client::connect(cs).await.unwrap();
    bounded("containers reaped", async {
        while c.exists("/locks").await.unwrap().is_some() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(c.exists("/a/b").await.unwrap().is_some());
    assert!(c.exists("/race/x").await.unwrap().is_some());
    c.close().await.unwrap();
}

#[tokio::test]
async fn create_with_parents_on_real_zookeeper() {
    create_with_parents(chroot_on(ensemble(), "parents").await).await;
}

async fn delete_all_and_create_if_absent(cs: String) {
    let c = Client::connect(cs).await.unwrap();
    let deep = CreateOptions::persistent().with_parents();
    for p in ["/t/a/x", "/t/a/y/z", "/t/b", "/t/c/d/e/f", "/keep/me"] {
        c.create(p, b"", &deep).await.unwrap();
    }
    c.delete_all("/t").await.unwrap();
    assert_eq!(c.exists("/t").await.unwrap(), None);
    assert!(c.exists("/keep/me").await.unwrap().is_some());
    assert_eq!(c.delete_all("/t").await, Err(Error::NoNode));
    assert!(matches!(
        c.delete_all("/").await,
        Err(Error::InvalidArgument(_))
    ));
    // A leaf works too.
    c.delete_all("/keep/me").await.unwrap();
    assert_eq!(c.get_children("/keep").await.unwrap(), Vec::<String>::new());

    let first = c
        .create_if_absent("/cfg/app", b"v1", deep.clone())
        .await
        .unwrap();
    assert_eq!(first.map(|(p, _)| p).as_deref(), Some("/cfg/app"));
    let second = c
        .create_if_absent("/cfg/app", b"v2", deep.clone())
        .await
        .unwrap();
    assert_eq!(second, None);
    assert_eq!(&c.get_data("/cfg/app").await.unwrap().0[..], b"v1");
    c.close().await.unwrap();
}

/// Every version argument takes a version, `Some(version)` or `None`.
async fn versions(cs: String) {
    let c = Client::connect(cs).await.unwrap();
    c.create("/v", b"", CreateMode::Persistent).await.unwrap();
    let stat = c.set_data("/v", b"1", 0).await.unwrap();
    assert_eq!(stat.version, 1);
    assert_eq!(
        c.set_data("/v", b"2", Some(0)).await,
        Err(Error::BadVersion)
    );
    c.set_data("/v", b"2", None).await.unwrap();
    // check: a version, Some(version), or None (the node exists).
    c.transaction()
        .check("/v", 2)
        .check("/v", Some(2))
        .check("/v", None)
        .set_data("/v", b"3", 2)
        .commit()
        .await
        .unwrap();
    let failed = c.transaction().check("/missing", None).commit().await;
    assert!(
        matches!(&failed, Err(Error::MultiFailed { source, .. }) if **source == Error::NoNode),
        "{failed:?}"
    );
    c.set_acl("/v", &zk_client::Acl::open_unsafe(), 0)
        .await
        .unwrap();
    c.delete("/v", 3).await.unwrap();
    c.close().await.unwrap();
}

#[tokio::test]
async fn versions_on_the_simulator() {
    let (_ens, cs) = sim("versions").await;
    versions(cs).await;
}

#[tokio::test]
async fn versions_on_real_zookeeper() {
    versions(chroot_on(ensemble(), "versions").await).await;
}

#[tokio::test]
async fn delete_all_and_create_if_absent_on_the_simulator() {
    let (_ens, cs) = sim("delete_all").await;
    delete_all_and_create_if_absent(cs).await;
}

#[tokio::test]
async fn delete_all_and_create_if_absent_on_real_zookeeper() {
    delete_all_and_create_if_absent(chroot_on(ensemble(), "delete_all").await).await;
}

/// `last_contact` moves with frames from the server, and only with them: it
/// stays put while the server is paused.
#[tokio::test]
async fn last_contact_follows_frames_from_the_server() {
    let (ens, cs) = sim("contact").await;
    let c = Client::connect(cs).await.unwrap();
    let before = c.last_contact();
    tokio::time::sleep(Duration::from_millis(20)).await;
    c.exists("/").await.unwrap();
    let after = c.last_contact();
    assert!(after > before, "{after:?} > {before:?}");
    assert!(after <= std::time::Instant::now());

    ens.pause(0);
    let pending = c.exists("/");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(c.last_contact(), after, "no frame arrived while paused");
    ens.resume(0);
    bounded("reply after resume", pending).await.unwrap();
    assert!(c.last_contact() > after);
    c.close().await.unwrap();
}
