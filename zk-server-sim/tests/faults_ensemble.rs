//! Fault injection: crashes, partitions, pauses, expiry, apply-then-drop.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod ensemble_support;

use std::time::Duration;

use bytes::Bytes;
use ensemble_support::*;
use zk_proto::{CreateMode, ErrorCode, EventType, Request};
use zk_server_sim::Role;

fn other_than(ens: &zk_server_sim::Ensemble, not: &[usize]) -> usize {
    (0..ens.len()).find(|i| !not.contains(i)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_elects_a_new_one_and_loses_no_acknowledged_write() {
    let ens = ensemble(3).await;
    let old = ens.leader().unwrap();
    let epoch = ens.epoch();
    let follower = other_than(&ens, &[old]);
    let mut c = connect(ens.addr(follower)).await;
    for i in 0..20 {
        let r = c
            .call(create(&format!("/k{i}"), b"v", CreateMode::Persistent))
            .await;
        assert_eq!(r.err(), ErrorCode::Ok);
    }
    ens.kill(old);
    let new = ens.leader().expect("two of three elect a leader");
    assert_ne!(new, old);
    assert!(ens.epoch() > epoch);
    assert_eq!(ens.role(old), Some(Role::Down));
    // The client's connection was closed by the election; reconnect.
    assert!(c.closed().await);
    let (c2, _) = handshake(ens.addr(follower), &c.hello()).await;
    let mut c2 = c2.unwrap();
    for i in 0..20 {
        assert_eq!(
            c2.call(get(&format!("/k{i}"), false)).await.data(),
            Bytes::from_static(b"v")
        );
    }
    let r = c2.call(create("/after", b"", CreateMode::Persistent)).await;
    assert_eq!(
        (r.header.zxid >> 32) as u32,
        ens.epoch(),
        "new epoch in zxids"
    );
    // The crashed node comes back and catches up.
    ens.restart(old, false).await.unwrap();
    assert!(matches!(ens.role(old), Some(Role::Following(_))));
    assert_eq!(ens.snapshot(old), ens.snapshot(new));
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_minority_accepts_no_write_and_catches_up_after_heal() {
    let ens = ensemble(3).await;
    let leader = ens.leader().unwrap();
    let minority = other_than(&ens, &[leader]);
    let mut m = connect(ens.addr(minority)).await;
    let mut ok = connect(ens.addr(leader)).await;
    ens.isolate(minority);
    assert_eq!(ens.role(minority), Some(Role::Looking));
    // Its clients are disconnected and new ones refused.
    let xid = m
        .send(&create("/minority", b"", CreateMode::Persistent))
        .await;
    assert!(m.try_reply_to(xid).await.is_none());
    let (_, hs) = handshake(ens.addr(minority), &Hello::default()).await;
    assert!(matches!(hs, Handshake::Closed));
    assert!(four(ens.addr(minority), "srvr")
        .await
        .contains("not currently serving"));
    // The majority carries on.
    assert_eq!(
        ok.call(create("/majority", b"1", CreateMode::Persistent))
            .await
            .err(),
        ErrorCode::Ok
    );
    ens.heal();
    assert!(matches!(ens.role(minority), Some(Role::Following(_))));
    assert_eq!(ens.snapshot(minority), ens.snapshot(leader));
    assert!(!ens.snapshot(leader).contains_key("/minority"));
    ens.check_history().unwrap();
}

/// A write reaches the leader, which proposes it but hears no ack (its
/// links to both followers are held); the leader is then isolated. The
/// write is never acknowledged, a new leader takes over, and after the heal
/// (and the held stale proposal delivered late) no node has it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isolated_leader_steps_down_and_its_uncommitted_writes_are_discarded() {
    use zk_server_sim::history::Event;

    let ens = ensemble(3).await;
    let old = ens.leader().unwrap();
    let mut c = connect(ens.addr(old)).await;
    assert_eq!(
        c.call(create("/before", b"", CreateMode::Persistent))
            .await
            .err(),
        ErrorCode::Ok
    );
    for f in (0..3).filter(|&i| i != old) {
        ens.hold(old, f);
    }
    let xid = c
        .send(&create("/uncommitted", b"", CreateMode::Persistent))
        .await;
    // The old leader has the request (it proposes it on arrival).
    until(|| {
        ens.history().iter().any(|r| {
            r.node == old
                && matches!(&r.event, Event::Request { path: Some(p), .. } if p == "/uncommitted")
        })
    })
    .await;
    ens.isolate(old);
    let new = ens.leader().unwrap();
    assert_ne!(new, old);
    // The write is never acknowledged: the connection ends without an OK.
    match c.try_reply_to(xid).await {
        None => {}
        Some(r) => assert_ne!(
            r.err(),
            ErrorCode::Ok,
            "an uncommitted write was acknowledged"
        ),
    }
    ens.heal();
    ens.release(None);
    assert_eq!(ens.leader(), Some(new));
    until(|| ens.last_zxid(old) == ens.last_zxid(new)).await;
    for i in 0..3 {
        let tree = ens.snapshot(i);
        assert!(tree.contains_key("/before"), "node {i}");
        assert!(
            !tree.contains_key("/uncommitted"),
            "node {i} kept the uncommitted write"
        );
    }
    assert_eq!(ens.snapshot(old), ens.snapshot(new));
    // And a client of the new leader sees the same.
    let mut d = connect(ens.addr(old)).await;
    d.call(sync("/")).await;
    assert_eq!(
        d.call(exists("/uncommitted", false)).await.err(),
        ErrorCode::NoNode
    );
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_node_resyncs_from_the_leader() {
    let ens = ensemble(3).await;
    let leader = ens.leader().unwrap();
    let victim = other_than(&ens, &[leader]);
    let mut c = connect(ens.addr(leader)).await;
    for i in 0..10 {
        c.call(create(
            &format!("/w{i}"),
            &[i as u8],
            CreateMode::Persistent,
        ))
        .await;
    }
    ens.restart(victim, true).await.unwrap();
    assert!(matches!(ens.role(victim), Some(Role::Following(_))));
    assert_eq!(ens.snapshot(victim), ens.snapshot(leader));
    assert_eq!(ens.last_zxid(victim), ens.last_zxid(leader));
    let mut d = connect(ens.addr(victim)).await;
    assert_eq!(d.call(get("/w7", false)).await.data()[..], [7]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_expiry_removes_ephemerals_and_fires_watches_on_every_node() {
    let ens = ensemble(3).await;
    let mut owner = connect(ens.addr(0)).await;
    owner
        .call(create("/lock", b"", CreateMode::Ephemeral))
        .await;
    let mut watchers = Vec::new();
    for i in 0..3 {
        let mut w = connect(ens.addr(i)).await;
        w.call(sync("/")).await;
        assert_eq!(w.call(get("/lock", true)).await.err(), ErrorCode::Ok);
        watchers.push(w);
    }
    assert!(ens
        .sessions()
        .iter()
        .any(|s| s.id == owner.session_id && s.ephemerals == ["/lock"]));
    assert!(ens.expire_session(owner.session_id));
    assert!(owner.closed().await);
    for w in &mut watchers {
        let ev = loop {
            if let Some(Frame::Event(e)) = w.recv().await {
                break e;
            }
        };
        assert_eq!(
            (ev.event_type, ev.path.as_str()),
            (EventType::NodeDeleted.code(), "/lock")
        );
    }
    let (_, hs) = handshake(ens.addr(1), &owner.hello()).await;
    let Handshake::Connected(r) = hs else {
        panic!()
    };
    assert!(r.is_expired());
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_expires_by_timeout() {
    let ens = ensemble(3).await; // tick 20 ms: min timeout 40 ms
    let (c, _) = handshake(
        ens.addr(1),
        &Hello {
            timeout: 40,
            ..Hello::default()
        },
    )
    .await;
    let mut c = c.unwrap();
    c.call(create("/idle", b"", CreateMode::Ephemeral)).await;
    // No pings: the leader expires the session and the server closes it.
    assert!(c.closed().await);
    until(|| !ens.snapshot(0).contains_key("/idle")).await;
    until(|| ens.sessions().is_empty()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinging_keeps_a_session_alive_through_a_follower() {
    let ens = ensemble(3).await;
    let follower = other_than(&ens, &[ens.leader().unwrap()]);
    // The longest timeout (20 ticks) keeps a loaded machine from expiring it.
    let (c, _) = handshake(
        ens.addr(follower),
        &Hello {
            timeout: 400,
            ..Hello::default()
        },
    )
    .await;
    let mut c = c.unwrap();
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(c.call(Request::Ping).await.err(), ErrorCode::Ok);
    }
    assert_eq!(ens.sessions().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_follower_answers_nothing_then_catches_up() {
    let ens = patient_ensemble(3).await;
    let leader = ens.leader().unwrap();
    let f = other_than(&ens, &[leader]);
    let mut slow = connect(ens.addr(f)).await;
    let mut fast = connect(ens.addr(leader)).await;
    ens.pause(f);
    let xid = slow.send(&get("/", false)).await;
    // The majority still commits.
    assert_eq!(
        fast.call(create("/p", b"", CreateMode::Persistent))
            .await
            .err(),
        ErrorCode::Ok
    );
    assert!(ens.last_zxid(f) < ens.last_zxid(leader));
    ens.resume(f);
    assert_eq!(slow.reply_to(xid).await.err(), ErrorCode::Ok);
    slow.call(sync("/")).await;
    assert_eq!(slow.call(exists("/p", false)).await.err(), ErrorCode::Ok);
    assert_eq!(ens.snapshot(f), ens.snapshot(leader));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_paused_leader_is_replaced() {
    let ens = ensemble(3).await;
    let old = ens.leader().unwrap();
    ens.pause(old);
    until(|| ens.leader().is_some_and(|l| l != old)).await;
    let new = ens.leader().unwrap();
    let mut c = connect(ens.addr(new)).await;
    c.call(create("/new-era", b"", CreateMode::Persistent))
        .await;
    ens.resume(old);
    assert!(matches!(ens.role(old), Some(Role::Following(l)) if l == new));
    assert_eq!(ens.snapshot(old), ens.snapshot(new));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_then_drop_applies_the_write_and_drops_the_connection() {
    let ens = ensemble(3).await;
    let mut c = connect(ens.addr(1)).await;
    ens.apply_then_drop(1);
    let xid = c.send(&create("/maybe", b"", CreateMode::Persistent)).await;
    assert!(
        c.try_reply_to(xid).await.is_none(),
        "no reply, connection dropped"
    );
    let (c2, _) = handshake(ens.addr(2), &c.hello()).await;
    let mut c2 = c2.unwrap();
    c2.call(sync("/")).await;
    assert_eq!(c2.call(exists("/maybe", false)).await.err(), ErrorCode::Ok);
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_replies_and_dropped_connections() {
    let ens = ensemble(3).await;
    let mut c = connect(ens.addr(0)).await;
    ens.delay_replies(0, Duration::from_millis(30));
    assert_eq!(c.call(exists("/", false)).await.err(), ErrorCode::Ok);
    ens.delay_replies(0, Duration::ZERO);
    ens.drop_client_connections(0);
    assert!(c.closed().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_election_starts_a_new_epoch() {
    let ens = ensemble(5).await;
    let epoch = ens.epoch();
    ens.force_election();
    assert!(ens.leader().is_some());
    assert_eq!(ens.epoch(), epoch + 1);
    let mut c = connect(ens.addr(3)).await;
    let r = c.call(create("/e", b"", CreateMode::Persistent)).await;
    assert_eq!((r.header.zxid >> 32) as u32, epoch + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_mode_serves_read_only_clients_without_quorum() {
    let ens = zk_server_sim::Ensemble::builder()
        .nodes(3)
        .tick_time(Duration::from_millis(20))
        .read_only(true)
        .seed(seed())
        .build()
        .await
        .unwrap();
    let mut c = connect(ens.addr(0)).await;
    c.call(create("/ro", b"data", CreateMode::Persistent)).await;
    ens.kill(1);
    ens.kill(2);
    ens.wait_role(0, |r| r == Role::ReadOnly).await;
    assert_eq!(four(ens.addr(0), "isro").await, "ro");
    assert!(four(ens.addr(0), "srvr").await.contains("Mode: read-only"));
    let (_, hs) = handshake(
        ens.addr(0),
        &Hello {
            read_only: Some(false),
            ..Hello::default()
        },
    )
    .await;
    assert!(
        matches!(hs, Handshake::Closed),
        "read-write clients are refused"
    );
    let (ro, hs) = handshake(
        ens.addr(0),
        &Hello {
            read_only: Some(true),
            ..Hello::default()
        },
    )
    .await;
    let Handshake::Connected(r) = hs else {
        panic!()
    };
    assert_eq!(r.read_only, Some(true));
    let mut ro = ro.unwrap();
    assert_eq!(
        ro.call(get("/ro", false)).await.data(),
        Bytes::from_static(b"data")
    );
    assert_eq!(
        ro.call(create("/x", b"", CreateMode::Persistent))
            .await
            .err(),
        ErrorCode::NotReadOnly
    );
}

// The seeded random fault schedule lives in tests/seed_sweep.rs: many seeds
// per run, deterministic replays, and the client-side consistency checker.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_link_makes_a_follower_lag_until_released() {
    let ens = ensemble(3).await;
    let leader = ens.leader().unwrap();
    let f = other_than(&ens, &[leader]);
    let mut writer = connect(ens.addr(leader)).await;
    let mut reader = connect(ens.addr(f)).await;
    ens.hold(leader, f);
    assert_eq!(
        writer
            .call(create("/lag", b"", CreateMode::Persistent))
            .await
            .err(),
        ErrorCode::Ok
    );
    // A stale read is allowed: the follower has not heard of the commit.
    assert_eq!(
        reader.call(exists("/lag", false)).await.err(),
        ErrorCode::NoNode
    );
    // sync waits for the follower to catch up with the leader.
    let xid = reader.send(&sync("/lag")).await;
    ens.release(Some((leader, f)));
    assert_eq!(reader.reply_to(xid).await.err(), ErrorCode::Ok);
    assert_eq!(
        reader.call(exists("/lag", false)).await.err(),
        ErrorCode::Ok
    );
    assert_eq!(ens.snapshot(f), ens.snapshot(leader));
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cut_off_with_a_minority_loses_its_session_on_the_majority() {
    let ens = ensemble(3).await;
    let leader = ens.leader().unwrap();
    let minority = other_than(&ens, &[leader]);
    let (c, _) = handshake(
        ens.addr(minority),
        &Hello {
            timeout: 400,
            ..Hello::default()
        },
    )
    .await;
    let mut c = c.unwrap();
    c.call(create("/cut", b"", CreateMode::Ephemeral)).await;
    let mut watcher = connect(ens.addr(leader)).await;
    assert_eq!(
        watcher.call(exists("/cut", true)).await.err(),
        ErrorCode::Ok
    );
    ens.isolate(minority);
    assert!(c.closed().await);
    // Nobody touches the session on the majority side: it expires there.
    // The watcher pings meanwhile: its own session (clamped to the same short
    // maximum) must outlive the one it watches, and since an expired session's
    // connection is now closed at once, a closed watcher fails the test
    // instead of looping on `None`.
    let ev = loop {
        watcher.send(&Request::Ping).await;
        match watcher.recv().await {
            Some(Frame::Event(e)) => break e,
            Some(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            None => panic!("the watcher's connection closed before the event came"),
        }
    };
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeDeleted.code(), "/cut")
    );
    ens.heal();
    let (_, hs) = handshake(ens.addr(minority), &c.hello()).await;
    let Handshake::Connected(r) = hs else {
        panic!()
    };
    assert!(r.is_expired(), "the session is gone everywhere");
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_containers_and_expired_ttl_nodes_are_reaped_on_every_node() {
    let ens = zk_server_sim::Ensemble::builder()
        .nodes(3)
        .tick_time(Duration::from_millis(20))
        .container_check_interval(Duration::from_millis(20))
        .extended_types(true)
        .seed(seed())
        .build()
        .await
        .unwrap();
    let mut c = connect(ens.addr(1)).await;
    let Request::Create(mut req) = create("/box", b"", CreateMode::Persistent) else {
        unreachable!()
    };
    req.flags = CreateMode::Container.code();
    assert_eq!(
        c.call(Request::CreateContainer(req)).await.err(),
        ErrorCode::Ok
    );
    c.call(create("/box/item", b"", CreateMode::Persistent))
        .await;
    assert_eq!(c.call(get("/box", true)).await.err(), ErrorCode::Ok);
    c.call(Request::Delete(zk_proto::DeleteRequest {
        path: "/box/item".into(),
        version: -1,
    }))
    .await;
    let ttl = Request::CreateTtl(zk_proto::CreateTtlRequest {
        path: "/ttl".into(),
        data: bytes::Bytes::new().into(),
        acl: match create("/x", b"", CreateMode::Persistent) {
            Request::Create(r) => r.acl,
            _ => unreachable!(),
        },
        flags: CreateMode::PersistentWithTtl.code(),
        ttl: 50,
    });
    assert_eq!(c.call(ttl).await.err(), ErrorCode::Ok);
    until(|| {
        (0..3).all(|i| {
            let s = ens.snapshot(i);
            !s.contains_key("/box") && !s.contains_key("/ttl")
        })
    })
    .await;
    // The data watch on the container fires (possibly already received).
    let deleted = |c: &Raw| {
        c.events()
            .iter()
            .any(|e| e.path == "/box" && e.event_type == EventType::NodeDeleted.code())
    };
    while !deleted(&c) {
        c.recv().await.expect("connection stays open");
    }
}
