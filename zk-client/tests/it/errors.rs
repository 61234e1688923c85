//! Every error code a client can provoke from a real server, and the
//! client-side errors caught before anything is sent.

use std::time::Duration;

use zk_client::{Acl, Client, CreateMode, CreateOptions, Error, ErrorCode, SessionState};

use crate::support::{bounded, chroot_on, client, ensemble, ttl_server};

#[tokio::test]
async fn server_error_codes() {
    let c = client("server_errors").await;
    c.create("/a", b"", &CreateOptions::default())
        .await
        .unwrap();
    c.create("/a/kid", b"", &CreateOptions::default())
        .await
        .unwrap();

    // NONODE
    assert_eq!(c.get_data("/nope").await.unwrap_err(), Error::NoNode);
    assert_eq!(
        c.set_data("/nope", b"", None).await.unwrap_err(),
        Error::NoNode
    );
    assert_eq!(c.delete("/nope", None).await.unwrap_err(), Error::NoNode);
    assert_eq!(c.get_children("/nope").await.unwrap_err(), Error::NoNode);
    assert_eq!(c.get_acl("/nope").await.unwrap_err(), Error::NoNode);
    assert_eq!(
        c.create("/nope/child", b"", &CreateOptions::default())
            .await
            .unwrap_err(),
        Error::NoNode
    );
    // NODEEXISTS
    let e = c
        .create("/a", b"", &CreateOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e, Error::NodeExists);
    assert_eq!(e.code(), Some(ErrorCode::NodeExists));
    assert!(!e.is_retriable());
    // BADVERSION (data version and ACL version)
    assert_eq!(
        c.set_data("/a", b"", Some(7)).await.unwrap_err(),
        Error::BadVersion
    );
    assert_eq!(
        c.delete("/a/kid", Some(3)).await.unwrap_err(),
        Error::BadVersion
    );
    assert_eq!(
        c.set_acl("/a", &Acl::open_unsafe(), Some(5))
            .await
            .unwrap_err(),
        Error::BadVersion
    );
    // NOTEMPTY
    assert_eq!(c.delete("/a", None).await.unwrap_err(), Error::NotEmpty);
    // NOCHILDRENFOREPHEMERALS
    c.create("/eph", b"", &CreateOptions::new(CreateMode::Ephemeral))
        .await
        .unwrap();
    assert_eq!(
        c.create("/eph/kid", b"", &CreateOptions::default())
            .await
            .unwrap_err(),
        Error::NoChildrenForEphemerals
    );
    // INVALIDACL: an empty ACL, and CREATOR_ALL without any authenticated id.
    assert_eq!(
        c.create("/x", b"", &CreateOptions::default().with_acl(vec![]))
            .await
            .unwrap_err(),
        Error::InvalidAcl
    );
    assert_eq!(
        c.create(
            "/x",
            b"",
            &CreateOptions::default().with_acl(Acl::creator_all())
        )
        .await
        .unwrap_err(),
        Error::InvalidAcl
    );
    // NOAUTH: a node only its creator may touch.
    c.create(
        "/ro",
        b"",
        &CreateOptions::default().with_acl(Acl::read_unsafe()),
    )
    .await
    .unwrap();
    assert_eq!(
        c.set_data("/ro", b"x", None).await.unwrap_err(),
        Error::NoAuth
    );
    assert_eq!(
        c.create("/ro/kid", b"", &CreateOptions::default())
            .await
            .unwrap_err(),
        Error::NoAuth
    );
    // UNIMPLEMENTED: TTL nodes on a server without extended types.
    for mode in [
        CreateMode::PersistentWithTtl,
        CreateMode::PersistentSequentialWithTtl,
    ] {
        let e = c
            .create("/ttl", b"", &CreateOptions::new(mode).with_ttl(10_000))
            .await
            .unwrap_err();
        assert_eq!(e, Error::Unimplemented);
    }
    // RECONFIGDISABLED: reconfig on an ensemble without reconfigEnabled.
    let e = c.reconfig(None, Some("3"), None, None).await.unwrap_err();
    assert_eq!(e, Error::ReconfigDisabled, "{e}");
    // The session survives all of these.
    assert_eq!(c.state(), SessionState::Connected);
    c.close().await.unwrap();
}

#[tokio::test]
async fn ttl_nodes_and_badarguments_on_a_server_with_extended_types() {
    let ens = ttl_server();
    let cs = chroot_on(ens, "ttl").await;
    let c = Client::connect(cs).await.unwrap();
    let (p, stat) = c
        .create(
            "/t",
            b"x",
            &CreateOptions::new(CreateMode::PersistentWithTtl).with_ttl(60_000),
        )
        .await
        .unwrap();
    assert_eq!(p, "/t");
    // Servers hide the TTL marker from clients: ephemeralOwner reads 0.
    assert_eq!(stat.ephemeral_owner, 0);
    let (p, _) = c
        .create(
            "/t/s-",
            b"",
            &CreateOptions::new(CreateMode::PersistentSequentialWithTtl).with_ttl(1_000),
        )
        .await
        .unwrap();
    assert_eq!(p, "/t/s-0000000000");
    // BADARGUMENTS: a TTL out of range is the server's to judge.
    for ttl in [0, -5, 1 << 40] {
        let e = c
            .create(
                "/bad",
                b"",
                &CreateOptions::new(CreateMode::PersistentWithTtl).with_ttl(ttl),
            )
            .await
            .unwrap_err();
        assert_eq!(e, Error::BadArguments, "ttl {ttl}");
    }
    // TTLs in a transaction too.
    c.transaction()
        .create(
            "/t/m",
            b"",
            &CreateOptions::new(CreateMode::PersistentWithTtl).with_ttl(5_000),
        )
        .commit()
        .await
        .unwrap();

    // The server reaps them: a TTL node unmodified for its TTL, and a
    // container whose last child went (this server checks every second).
    c.create(
        "/short",
        b"",
        &CreateOptions::new(CreateMode::PersistentWithTtl).with_ttl(500),
    )
    .await
    .unwrap();
    let (_, _, ttl_gone) = c.get_data_watch("/short").await.unwrap();
    c.create("/box", b"", &CreateOptions::new(CreateMode::Container))
        .await
        .unwrap();
    c.create("/box/item", b"", &CreateOptions::default())
        .await
        .unwrap();
    let (_, _, box_gone) = c.get_data_watch("/box").await.unwrap();
    c.delete("/box/item", None).await.unwrap();
    let ev = bounded("TTL node reaped", ttl_gone).await.unwrap();
    assert_eq!(ev.event_type, zk_client::EventType::NodeDeleted);
    let ev = bounded("container reaped", box_gone).await.unwrap();
    assert_eq!(ev.event_type, zk_client::EventType::NodeDeleted);
    c.close().await.unwrap();
}

#[tokio::test]
async fn auth_failed_is_terminal() {
    let c = client("auth_failed").await;
    let (_, _, watch) = {
        c.create("/w", b"", &CreateOptions::default())
            .await
            .unwrap();
        c.get_data_watch("/w").await.unwrap()
    };
    let e = c.add_auth("nosuchscheme", b"whatever").await.unwrap_err();
    assert_eq!(e, Error::AuthFailed);
    assert!(!e.is_retriable());
    assert_eq!(c.state(), SessionState::AuthFailed);
    assert_eq!(c.get_data("/w").await.unwrap_err(), Error::AuthFailed);
    assert_eq!(
        bounded("watch", watch).await.unwrap_err(),
        Error::AuthFailed
    );

    // Bad credentials given to the builder fail the connect.
    let cs = chroot_on(ensemble(), "auth_failed_builder").await;
    let e = Client::builder(cs)
        .auth("nosuchscheme", b"x".to_vec())
        .connect()
        .await
        .unwrap_err();
    assert_eq!(e, Error::AuthFailed);
}

#[tokio::test]
async fn client_side_errors_send_nothing() {
    let c = client("client_side").await;
    for bad in ["", "rel", "/a/", "/a//b", "/a/./b", "/a/../b", "/a\u{0}b"] {
        let e = c.get_data(bad).await.unwrap_err();
        assert!(matches!(e, Error::InvalidPath(_)), "{bad:?}: {e:?}");
        assert_eq!(e.code(), Some(ErrorCode::BadArguments));
        let e = c
            .create(bad, b"", &CreateOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidPath(_)), "{bad:?}: {e:?}");
    }
    // Data over jute.maxbuffer, and a request that would not fit in a frame.
    let huge = vec![0u8; zk_client::DEFAULT_MAX_BUFFER + 1];
    let e = c.set_data("/x", &huge, None).await.unwrap_err();
    // `len` is the encoded request's size: the data plus path and headers.
    assert!(
        matches!(e, Error::DataTooLarge { len, max }
            if len > huge.len() && max == zk_client::DEFAULT_MAX_BUFFER),
        "{e:?}"
    );
    let almost = vec![0u8; zk_client::DEFAULT_MAX_BUFFER];
    let e = c.set_data("/x", &almost, None).await.unwrap_err();
    assert!(matches!(e, Error::DataTooLarge { .. }), "{e:?}");
    let e = c
        .create("/x", &huge, &CreateOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::DataTooLarge { .. }));
    let e = c
        .transaction()
        .set_data("/x", &huge, None)
        .commit()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::DataTooLarge { .. }));
    // A TTL mode without a TTL, and a TTL with a non-TTL mode.
    let e = c
        .create(
            "/x",
            b"",
            &CreateOptions::new(CreateMode::PersistentWithTtl),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)));
    let e = c
        .create("/x", b"", &CreateOptions::default().with_ttl(5))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)));
    // The session is untouched and nothing was created.
    assert_eq!(c.exists("/x").await.unwrap(), None);
    c.close().await.unwrap();
}

#[tokio::test]
async fn bad_connect_strings_and_unreachable_servers() {
    for bad in ["", "host:notaport", "a,,b", "h:1/bad/", "::1:2181", "[::1"] {
        let e = Client::connect(bad).await.unwrap_err();
        assert!(
            matches!(e, Error::BadConnectString { .. }),
            "{bad:?}: {e:?}"
        );
    }
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = Client::builder(format!("127.0.0.1:{port}"))
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::ConnectFailed { .. }), "{e:?}");
    assert!(e.is_retriable());
    // The cause is kept as a source() chain down to the OS's error, not
    // flattened into the message.
    use std::error::Error as _;
    let last = e.source().expect("the last attempt's error");
    // (Boxed, as MultiFailed's source is.)
    let last = last
        .downcast_ref::<Box<Error>>()
        .expect("a zk_client::Error");
    assert!(
        matches!(
            **last,
            Error::Io {
                kind: std::io::ErrorKind::ConnectionRefused,
                ..
            }
        ),
        "{last:?}"
    );
    let os = last.source().expect("the io::Error");
    let os = os.downcast_ref::<zk_client::ErrorSource>().map_or_else(
        || os.downcast_ref::<std::io::Error>().map(|e| e.kind()),
        |s| {
            s.get_ref()
                .downcast_ref::<std::io::Error>()
                .map(|e| e.kind())
        },
    );
    assert_eq!(os, Some(std::io::ErrorKind::ConnectionRefused));
}
