//! Honest expiry: terminal, said once, within the session timeout.

use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;
use zk_client::{Client, CreateMode, CreateOptions, Error, PersistentEvent, SessionState};
use zk_server_sim::testkit::expire_session;

use crate::support::{bounded, chroot_of, chroot_on, ensemble, proxy};

/// Acceptance: a real server-side expiry is reported as Expired within the
/// session timeout plus one second, once; everything pending and later
/// fails with SessionExpired; the session's ephemerals are gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_side_expiry_is_reported_once_within_the_timeout() {
    let _quiet = crate::support::exclusive().await;
    let ens = ensemble();
    let cs = chroot_on(ens, "server_expiry").await;
    let c = Client::builder(cs.clone())
        .session_timeout(Duration::from_secs(2))
        .connect()
        .await
        .unwrap();
    let t = c.negotiated_timeout();
    c.create("/eph", b"", &CreateOptions::new(CreateMode::Ephemeral))
        .await
        .unwrap();
    c.create("/n", b"", &CreateOptions::default())
        .await
        .unwrap();
    let (_, _, watch) = c.get_data_watch("/n").await.unwrap();
    let mut persistent = c.watch_persistent("/n").await.unwrap();
    let states = c.state_stream();
    let collected = tokio::spawn(states.collect::<Vec<SessionState>>());

    // Expire it for real: another connection takes the session over with
    // its id and password and closes it. (Any node will do.)
    let start = Instant::now();
    expire_session(
        ens.node_addr(1).unwrap(),
        c.session_id(),
        &c.session_password(),
    )
    .await
    .unwrap();
    let seen = bounded("states", collected).await.unwrap();
    let took = start.elapsed();
    eprintln!(
        "server-side expiry reported after {took:?} (session timeout {t:?}, bound {:?})",
        t + Duration::from_secs(1)
    );
    assert!(took <= t + Duration::from_secs(1), "{took:?}");
    assert_eq!(
        seen.iter().filter(|s| **s == SessionState::Expired).count(),
        1,
        "{seen:?}"
    );
    assert_eq!(seen.last(), Some(&SessionState::Expired), "{seen:?}");
    assert_eq!(c.state(), SessionState::Expired);

    assert_eq!(
        bounded("watch", watch).await.unwrap_err(),
        Error::SessionExpired
    );
    // The client may have resumed the session once in between (the
    // takeover closed its connection before the helper closed the session):
    // then a resync comes first.
    let mut item = bounded("persistent", persistent.next()).await;
    while item == Some(PersistentEvent::Resync) {
        item = bounded("persistent", persistent.next()).await;
    }
    assert_eq!(item, Some(PersistentEvent::Closed(Error::SessionExpired)));
    assert_eq!(persistent.next().await, None);
    assert_eq!(c.get_data("/n").await.unwrap_err(), Error::SessionExpired);
    // close() on an expired session succeeds (idempotent, as Java's).
    assert_eq!(c.close().await, Ok(()));
    let other = Client::connect(cs).await.unwrap();
    // `other` may be on a server behind the session's close: catch up first.
    other.sync("/").await.unwrap();
    assert!(
        other.exists("/eph").await.unwrap().is_none(),
        "ephemeral gone"
    );
    other.close().await.unwrap();
}

/// No server reachable: the client says Expired on its own after 4/3 of the
/// negotiated timeout (as Java 3.9.3+), not later, never a silent new session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_server_reachable_expires_the_session_locally() {
    let _quiet = crate::support::exclusive().await;
    let ens = ensemble();
    let direct = chroot_on(ens, "local_expiry").await;
    let p = proxy(ens.node_addr(0).unwrap()).await;
    let c = Client::builder(format!("{}{}", p.addr(), chroot_of(&direct)))
        .session_timeout(Duration::from_secs(1))
        .connect()
        .await
        .unwrap();
    let t = c.negotiated_timeout();
    c.get_data("/").await.unwrap();
    let states = c.state_stream();
    let collected = tokio::spawn(states.collect::<Vec<SessionState>>());
    let start = Instant::now();
    p.refuse(true);
    p.drop_links();
    let seen = bounded("states", collected).await.unwrap();
    let took = start.elapsed();
    let bound = t * 4 / 3 + Duration::from_secs(1);
    eprintln!(
        "local expiry after {took:?} (4/3 of {t:?} = {:?}; bound {bound:?})",
        t * 4 / 3
    );
    assert_eq!(seen.last(), Some(&SessionState::Expired), "{seen:?}");
    assert!(took <= bound, "{took:?}");
    // Not before 4/3 of the timeout after the last answer, which came just
    // before the cut (the read above).
    assert!(took >= t, "{took:?}");
    // A pending call made while disconnected ended too.
    assert_eq!(c.get_data("/").await.unwrap_err(), Error::SessionExpired);
}
