//! Every operation, on the happy path.

use bytes::Bytes;
use zk_client::{Acl, CreateMode, CreateOptions, Error, Id, OpResult, Perms, SessionState};
use zk_proto::EphemeralKind;

use crate::support::{bounded, client};

#[tokio::test]
async fn create_in_every_mode_returns_path_and_stat() {
    let c = client("create_modes").await;
    let (p, stat) = c
        .create("/p", b"data", &CreateOptions::default())
        .await
        .unwrap();
    assert_eq!(p, "/p");
    assert_eq!(stat.data_length, 4);
    assert_eq!(stat.ephemeral_owner, 0);
    assert_eq!(stat.version, 0);

    let (p, stat) = c
        .create("/e", b"", &CreateOptions::new(CreateMode::Ephemeral))
        .await
        .unwrap();
    assert_eq!(p, "/e");
    assert_eq!(stat.ephemeral_owner, c.session_id());

    let (p1, _) = c
        .create(
            "/p/s-",
            b"",
            &CreateOptions::new(CreateMode::PersistentSequential),
        )
        .await
        .unwrap();
    let (p2, _) = c
        .create(
            "/p/s-",
            b"",
            &CreateOptions::new(CreateMode::PersistentSequential),
        )
        .await
        .unwrap();
    assert_eq!(p1, "/p/s-0000000000");
    assert_eq!(p2, "/p/s-0000000001");

    let (p, stat) = c
        .create(
            "/p/es-",
            b"",
            &CreateOptions::new(CreateMode::EphemeralSequential),
        )
        .await
        .unwrap();
    assert_eq!(p, "/p/es-0000000002");
    assert_eq!(stat.ephemeral_owner, c.session_id());

    // A sequential prefix may end in '/'.
    let (p, _) = c
        .create(
            "/p/",
            b"",
            &CreateOptions::new(CreateMode::PersistentSequential),
        )
        .await
        .unwrap();
    assert_eq!(p, "/p/0000000003");

    let (p, stat) = c
        .create("/c", b"", &CreateOptions::new(CreateMode::Container))
        .await
        .unwrap();
    assert_eq!(p, "/c");
    // Servers hide the container marker from clients: ephemeralOwner reads 0.
    assert_eq!(
        EphemeralKind::from_owner(stat.ephemeral_owner),
        EphemeralKind::Persistent
    );
    c.close().await.unwrap();
}

#[tokio::test]
async fn read_write_delete_with_versions() {
    let c = client("rwd").await;
    assert_eq!(c.exists("/n").await.unwrap(), None);
    c.create("/n", b"one", &CreateOptions::default())
        .await
        .unwrap();
    let stat = c.exists("/n").await.unwrap().expect("exists");
    assert_eq!(stat.version, 0);
    let (data, stat) = c.get_data("/n").await.unwrap();
    assert_eq!(data, Bytes::from_static(b"one"));
    assert_eq!(stat.data_length, 3);

    let stat = c.set_data("/n", b"two", Some(0)).await.unwrap();
    assert_eq!(stat.version, 1);
    let stat = c.set_data("/n", b"three", None).await.unwrap();
    assert_eq!(stat.version, 2);
    assert_eq!(
        c.get_data("/n").await.unwrap().0,
        Bytes::from_static(b"three")
    );

    // Empty data and data just under the limit both round-trip.
    c.set_data("/n", b"", None).await.unwrap();
    assert!(c.get_data("/n").await.unwrap().0.is_empty());
    let big = vec![7u8; 1_000_000];
    c.set_data("/n", &big, None).await.unwrap();
    assert_eq!(c.get_data("/n").await.unwrap().0.len(), big.len());

    c.delete("/n", Some(4)).await.unwrap();
    assert_eq!(c.exists("/n").await.unwrap(), None);
    c.create("/m", b"", &CreateOptions::default())
        .await
        .unwrap();
    c.delete("/m", None).await.unwrap();
    c.close().await.unwrap();
}

#[tokio::test]
async fn children_counts_ephemerals_and_sync() {
    let c = client("children").await;
    c.create("/d", b"", &CreateOptions::default())
        .await
        .unwrap();
    for name in ["a", "b", "c"] {
        c.create(&format!("/d/{name}"), b"", &CreateOptions::default())
            .await
            .unwrap();
    }
    c.create("/d/a/x", b"", &CreateOptions::default())
        .await
        .unwrap();
    c.create("/d/b/eph", b"", &CreateOptions::new(CreateMode::Ephemeral))
        .await
        .unwrap();
    let mut kids = c.get_children("/d").await.unwrap();
    kids.sort();
    assert_eq!(kids, ["a", "b", "c"]);
    let (mut kids, stat) = c.get_children_with_stat("/d").await.unwrap();
    kids.sort();
    assert_eq!(kids, ["a", "b", "c"]);
    assert_eq!(stat.num_children, 3);
    assert!(c.get_children("/d/c").await.unwrap().is_empty());
    assert_eq!(c.get_all_children_number("/d").await.unwrap(), 5);
    assert_eq!(c.get_all_children_number("/d/c").await.unwrap(), 0);
    assert_eq!(c.get_ephemerals("/").await.unwrap(), ["/d/b/eph"]);
    assert_eq!(c.get_ephemerals("/d/b").await.unwrap(), ["/d/b/eph"]);
    assert!(c.get_ephemerals("/d/a").await.unwrap().is_empty());
    c.sync("/d").await.unwrap();
    c.close().await.unwrap();
}

#[tokio::test]
async fn acls_auth_and_who_am_i() {
    let c = client("acl").await;
    c.create("/open", b"", &CreateOptions::default())
        .await
        .unwrap();
    let (acl, stat) = c.get_acl("/open").await.unwrap();
    assert_eq!(acl, Acl::open_unsafe());
    assert_eq!(stat.aversion, 0);
    let stat = c
        .set_acl("/open", &Acl::read_unsafe(), Some(0))
        .await
        .unwrap();
    assert_eq!(stat.aversion, 1);
    assert_eq!(c.get_acl("/open").await.unwrap().0, Acl::read_unsafe());

    let before = c.who_am_i().await.unwrap();
    assert!(before.iter().any(|i| i.auth_scheme == "ip"), "{before:?}");
    c.add_auth("digest", b"alice:secret").await.unwrap();
    let after = c.who_am_i().await.unwrap();
    assert!(
        after
            .iter()
            .any(|i| i.auth_scheme == "digest" && i.user == "alice"),
        "{after:?}"
    );
    // CREATOR_ALL_ACL now means alice.
    c.create(
        "/mine",
        b"s",
        &CreateOptions::default().with_acl(Acl::creator_all()),
    )
    .await
    .unwrap();
    let (acl, _) = c.get_acl("/mine").await.unwrap();
    assert_eq!(acl.len(), 1);
    assert_eq!(acl[0].id.scheme, "digest");
    assert!(acl[0].id.id.starts_with("alice:"));
    assert_eq!(acl[0].perms, Perms::ALL);
    assert_eq!(
        c.get_data("/mine").await.unwrap().0,
        Bytes::from_static(b"s")
    );
    let _ = Id::anyone();
    c.close().await.unwrap();
}

#[tokio::test]
async fn digest_credentials_from_the_builder() {
    let cs = crate::support::chroot_on(crate::support::ensemble(), "builder_digest").await;
    let c = zk_client::Client::builder(cs.clone())
        .digest("bob", "pw")
        .connect()
        .await
        .unwrap();
    let me = c.who_am_i().await.unwrap();
    assert!(me
        .iter()
        .any(|i| i.auth_scheme == "digest" && i.user == "bob"));
    c.create(
        "/b",
        b"",
        &CreateOptions::default().with_acl(Acl::creator_all()),
    )
    .await
    .unwrap();
    // Another session with the same credentials may read it; one without may not.
    let same = zk_client::Client::builder(cs.clone())
        .digest("bob", "pw")
        .connect()
        .await
        .unwrap();
    same.sync("/").await.unwrap(); // sessions may be on servers behind the create
    same.get_data("/b").await.unwrap();
    let other = zk_client::Client::connect(cs).await.unwrap();
    other.sync("/").await.unwrap();
    assert_eq!(other.get_data("/b").await.unwrap_err(), Error::NoAuth);
    for x in [c, same, other] {
        x.close().await.unwrap();
    }
}

#[tokio::test]
async fn transactions_commit_and_fail_atomically() {
    let c = client("multi").await;
    c.create("/t", b"v0", &CreateOptions::default())
        .await
        .unwrap();
    c.create("/gone", b"", &CreateOptions::default())
        .await
        .unwrap();
    let results = c
        .transaction()
        .check("/t", 0)
        .create("/t/a", b"a", &CreateOptions::default())
        .create(
            "/t/s-",
            b"",
            &CreateOptions::new(CreateMode::PersistentSequential),
        )
        .set_data("/t", b"v1", Some(0))
        .delete("/gone", None)
        .commit()
        .await
        .unwrap();
    assert_eq!(results.len(), 5);
    assert_eq!(results[0], OpResult::Check);
    match &results[1] {
        // ZooKeeper 3.8 reports a plain create inside a multi without its Stat.
        OpResult::Create { path, .. } => assert_eq!(path, "/t/a"),
        other => panic!("{other:?}"),
    }
    match &results[2] {
        OpResult::Create { path, .. } => assert_eq!(path, "/t/s-0000000001"),
        other => panic!("{other:?}"),
    }
    match &results[3] {
        OpResult::SetData { stat } => assert_eq!(stat.version, 1),
        other => panic!("{other:?}"),
    }
    assert_eq!(results[4], OpResult::Delete);

    // A failing op: nothing applied, the error names the op, every result is reported.
    let err = c
        .transaction()
        .create("/t/b", b"", &CreateOptions::default())
        .check("/t", 0) // the version is 1 now
        .delete("/t/a", None)
        .commit()
        .await
        .unwrap_err();
    match &err {
        Error::MultiFailed {
            index,
            source,
            results,
        } => {
            assert_eq!(*index, 1);
            assert_eq!(**source, Error::BadVersion);
            assert_eq!(
                results,
                &[
                    OpResult::RolledBack,
                    OpResult::Error(Error::BadVersion),
                    OpResult::Error(Error::RuntimeInconsistency)
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.code(), Some(zk_client::ErrorCode::BadVersion));
    assert!(!err.is_retriable());
    assert_eq!(c.exists("/t/b").await.unwrap(), None);
    assert!(c.exists("/t/a").await.unwrap().is_some());

    // An empty transaction is fine.
    assert!(c.transaction().commit().await.unwrap().is_empty());
    c.close().await.unwrap();
}

#[tokio::test]
async fn multi_read_reports_each_op() {
    let c = client("multi_read").await;
    c.create("/r", b"rd", &CreateOptions::default())
        .await
        .unwrap();
    c.create("/r/k", b"", &CreateOptions::default())
        .await
        .unwrap();
    let results = c
        .multi_read()
        .get_data("/r")
        .get_children("/r")
        .get_data("/missing")
        .execute()
        .await
        .unwrap();
    match &results[0] {
        OpResult::GetData { data, stat } => {
            assert_eq!(data, &Bytes::from_static(b"rd"));
            assert_eq!(stat.num_children, 1);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        results[1],
        OpResult::GetChildren {
            children: vec!["k".into()]
        }
    );
    assert_eq!(results[2], OpResult::Error(Error::NoNode));
    c.close().await.unwrap();
}

#[tokio::test]
async fn get_config_reads_the_ensemble_config_outside_the_chroot() {
    let c = client("config").await;
    let (data, _) = c.get_config().await.unwrap();
    let text = String::from_utf8_lossy(&data);
    assert!(text.contains("server.1="), "{text}");
    assert!(text.contains("server.3="), "{text}");
    c.close().await.unwrap();
}

#[tokio::test]
async fn close_ends_the_session_and_later_calls_fail() {
    use futures::StreamExt;
    let cs = crate::support::chroot_on(crate::support::ensemble(), "close").await;
    let c = zk_client::Client::connect(cs.clone()).await.unwrap();
    let observer = zk_client::Client::connect(cs).await.unwrap();
    c.create("/eph", b"", &CreateOptions::new(CreateMode::Ephemeral))
        .await
        .unwrap();
    let states = c.state_stream();
    // Requests made before close() are answered before the session ends.
    let before = c.get_data("/eph");
    c.close().await.unwrap();
    before.await.unwrap();
    assert_eq!(c.state(), SessionState::Closed);
    assert_eq!(c.get_data("/eph").await.unwrap_err(), Error::Closed);
    assert_eq!(c.close().await, Ok(()));
    let seen: Vec<SessionState> = bounded("state stream", states.collect()).await;
    assert_eq!(seen, [SessionState::Connected, SessionState::Closed]);
    // The server ended the session: its ephemeral is gone at once (the
    // observer may be on another server: it catches up first).
    observer.sync("/").await.unwrap();
    assert_eq!(observer.exists("/eph").await.unwrap(), None);
    observer.close().await.unwrap();
}

#[tokio::test]
async fn dropping_every_handle_closes_the_session() {
    let cs = crate::support::chroot_on(crate::support::ensemble(), "drop_closes").await;
    let c = zk_client::Client::connect(cs.clone()).await.unwrap();
    let observer = zk_client::Client::connect(cs).await.unwrap();
    c.create("/eph", b"", &CreateOptions::new(CreateMode::Ephemeral))
        .await
        .unwrap();
    observer.sync("/").await.unwrap();
    let (stat, gone) = observer.exists_watch("/eph").await.unwrap();
    assert!(stat.is_some());
    // A request made just before the last handle goes is still answered.
    let clone = c.clone();
    drop(c);
    let last = clone.get_data("/eph");
    drop(clone);
    last.await.unwrap();
    let ev = bounded("ephemeral deleted", gone).await.unwrap();
    assert_eq!(ev.event_type, zk_client::EventType::NodeDeleted);
    observer.close().await.unwrap();
}
