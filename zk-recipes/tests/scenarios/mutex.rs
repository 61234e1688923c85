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

/// The server, not the guard, refuses a fenced write: the holder's node is
/// deleted by another session while the holder cannot have noticed (its
/// server is paused, so the NodeDeleted event cannot reach it), the holder
/// sends its fenced multi (the wire shows it leave while the guard still
/// says Held), and the check on the node fails at the server: the write
/// is refused, the counter unchanged, the loss reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fenced_write_is_refused_by_the_server_before_the_holder_notices() {
    let seed = std::env::var("ZK_SIM_SEED")
        .ok()
        .and_then(|s| zk_server_sim::parse_seed(&s))
        .unwrap_or(19);
    eprintln!("simulator seed {seed} (replay with ZK_SIM_SEED={seed})");
    // A long syncLimit: the paused follower must not drop out of the
    // quorum (and close the holder's connection) while it is paused.
    let ens = zk_server_sim::Ensemble::builder()
        .nodes(3)
        .seed(seed)
        .tick_time(Duration::from_millis(50))
        .sync_limit(400)
        .build()
        .await
        .expect("ensemble");
    ens.wait_for_quorum().await;
    let leader = ens.leader().expect("a leader");
    let follower = (0..ens.len()).find(|&i| i != leader).expect("a follower");
    let admin = zk_client::Client::builder(ens.addr(leader).to_string())
        .connect()
        .await
        .unwrap();
    admin
        .create("/counter", b"0", &Default::default())
        .await
        .unwrap();
    let (proxy, a) = crate::support::proxied_session(ens.addr(follower), 20_000, 0.1).await;
    let g = Mutex::new(&a, "/l").unwrap().acquire().await.unwrap();
    let mut states = g.states().unwrap();
    crate::support::wait_state(&mut states, Duration::from_secs(10), |s| {
        *s == HoldState::Held
    })
    .await;
    proxy.record(true);
    ens.pause(follower);
    // Committed by the leader and the other follower.
    admin.delete(g.node_path(), None).await.unwrap();
    assert_eq!(g.state(), HoldState::Held, "nothing can reach the holder");
    let write = g.fenced(|t| t.set_data("/counter", b"1", None));
    tokio::pin!(write);
    // Wait until the multi has left for the paused server.
    loop {
        tokio::select! {
            r = &mut write => panic!("answered by a paused server: {r:?}"),
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
        if proxy.wire().count(zk_proto::OpCode::Multi) > 0 {
            break;
        }
    }
    ens.resume(follower);
    let err = write.await.unwrap_err();
    assert!(
        matches!(err, zk_recipes::Error::NotHeld(LossReason::NodeDeleted)),
        "{err}"
    );
    let wire = proxy.wire();
    let multi = wire
        .requests(zk_proto::OpCode::Multi)
        .next()
        .expect("the multi was sent");
    assert!(
        wire.frames()
            .iter()
            .any(|f| f.is_reply() && f.link == multi.link && f.xid == multi.xid),
        "the server answered the multi"
    );
    let (data, _) = admin.get_data("/counter").await.unwrap();
    assert_eq!(&data[..], b"0", "the fenced write must not apply");
    let reason = tokio::time::timeout(Duration::from_secs(10), g.lost())
        .await
        .unwrap();
    assert_eq!(reason, LossReason::NodeDeleted);
}

/// Scenario 1: the holder's session truly expires (partitioned past its
/// timeout) while a waiter is queued. The old guard reports Lost by its
/// local deadline, before the waiter acquires (which needs the server to
/// delete the old node); its fenced write then fails.
pub(crate) async fn holder_expiry_then_waiter(
    upstream: std::net::SocketAddr,
    chroot: &str,
    hosts: &str,
    timeout_ms: u64,
) {
    let (proxy, a) = crate::support::proxied_session_in(upstream, chroot, timeout_ms, 0.1).await;
    let b = session(hosts, timeout_ms).await;
    let admin = session(hosts, timeout_ms).await.client();
    let _ = admin.create("/s1", b"0", &Default::default()).await;
    let ga = Mutex::new(&a, "/s1/lock").unwrap().acquire().await.unwrap();
    let old_node = ga.node_path().to_owned();
    let mb = Mutex::new(&b, "/s1/lock").unwrap();
    let waiter = tokio::spawn(async move {
        let g = mb.acquire().await.unwrap();
        (tokio::time::Instant::now(), g)
    });
    let lost = ga.lost();
    let lost = tokio::spawn(async move { (lost.await, tokio::time::Instant::now()) });
    proxy.blackhole(true);
    let (reason, lost_at) = tokio::time::timeout(Duration::from_secs(30), lost)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reason, LossReason::SessionLost);
    let (acquired_at, gb) = tokio::time::timeout(Duration::from_secs(30), waiter)
        .await
        .unwrap()
        .unwrap();
    assert!(
        lost_at <= acquired_at,
        "the old holder still believed it held when the waiter acquired"
    );
    assert_eq!(admin.exists(&old_node).await.unwrap(), None);
    let err = ga
        .fenced(|t| t.set_data("/s1", b"stale", None))
        .await
        .unwrap_err();
    assert!(matches!(err, zk_recipes::Error::NotHeld(_)), "{err}");
    gb.fenced(|t| t.set_data("/s1", b"fresh", None))
        .await
        .unwrap();
    proxy.blackhole(false);
    gb.release().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s1_holder_session_expires_while_a_waiter_is_queued() {
    let ens = ensemble(11).await;
    holder_expiry_then_waiter(ens.addr(0), "", &ens.connect_string(), 800).await;
}

/// Scenario 2: after a local Lost, the new session still lists the old
/// session's node (at index 0). It is never taken as ours: the new
/// contender queues behind it and acquires only once the server deleted it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_zombie_node_of_the_old_session_is_not_ours() {
    let ens = ensemble(12).await;
    // A large margin: Lost well before the server expires the session.
    let (proxy, a) = crate::support::proxied_session(ens.addr(0), 1000, 0.5).await;
    let admin = session(&ens.connect_string(), 1000).await.client();
    let m = Mutex::new(&a, "/s2").unwrap();
    let g = m.acquire().await.unwrap();
    let old = g.node_path().to_owned();
    let old_sid = a.client().session_id();
    let mut states = a.states();
    proxy.blackhole(true);
    // The watch keeps the latest state: NewSession may replace Lost.
    crate::support::wait_state(&mut states, Duration::from_secs(10), |s| {
        matches!(
            s,
            zk_recipes::ConnectionState::Lost | zk_recipes::ConnectionState::NewSession
        )
    })
    .await;
    proxy.blackhole(false);
    assert_eq!(g.lost().await, LossReason::SessionLost);
    let g2 = tokio::time::timeout(Duration::from_secs(20), m.acquire())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(g2.node_path(), old);
    assert_ne!(a.client().session_id(), old_sid);
    assert_eq!(
        admin.exists(&old).await.unwrap(),
        None,
        "acquired beside the old node"
    );
    // A hold made in the new session is not taken for one of the old.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(g2.state(), HoldState::Held);
    g2.release().await.unwrap();
}

/// Scenario 3: the create's reply is lost (applied, then the connection
/// dropped): exactly one node, found again by its protected prefix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_lost_create_reply_leaves_exactly_one_node() {
    let ens = ensemble(13).await;
    let a = session(&ens.connect_string(), 2000).await;
    a.client()
        .create("/s3", b"", &Default::default())
        .await
        .unwrap();
    let server = crate::support::server_of(&ens, &a.client());
    let sid = a.client().session_id();
    ens.apply_then_drop(server);
    let g = Mutex::new(&a, "/s3").unwrap().acquire().await.unwrap();
    assert_eq!(a.client().session_id(), sid, "same session");
    let kids = children(&a.client(), "/s3").await;
    assert_eq!(kids.len(), 1, "{kids:?}");
    assert_eq!(format!("/s3/{}", kids[0]), g.node_path());
    g.release().await.unwrap();

    // Giving up after an unknown outcome: the node is deleted in the background.
    let server = crate::support::server_of(&ens, &a.client());
    ens.apply_then_drop(server);
    let r = zk_recipes::create_protected(
        &a,
        "/s3/lock-",
        b"",
        zk_client::CreateMode::EphemeralSequential,
        &zk_client::retry::NoRetry,
    )
    .await;
    assert_eq!(r.unwrap_err(), zk_recipes::Error::OutcomeUnknown);
    let c = a.client();
    let mut empty = false;
    for _ in 0..200 {
        if children(&c, "/s3").await.is_empty() {
            empty = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        empty,
        "the abandoned create left {:?}",
        children(&c, "/s3").await
    );
}

/// Scenario 4: a waiter's connection drops without expiry: same node, same
/// place, no duplicate. A timed acquire that times out while disconnected
/// removes its node after the reconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_disconnect_while_waiting_keeps_the_place() {
    let ens = ensemble(14).await;
    let hosts = ens.connect_string();
    let a = session(&hosts, 3000).await;
    let b = session(&hosts, 3000).await;
    let ga = Mutex::new(&a, "/s4").unwrap().acquire().await.unwrap();
    let mb = Mutex::new(&b, "/s4").unwrap();
    let waiter = tokio::spawn(async move { mb.acquire().await.unwrap() });
    let c = a.client();
    let mut before = Vec::new();
    for _ in 0..200 {
        before = children(&c, "/s4").await;
        if before.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(before.len(), 2);
    let sid = b.client().session_id();
    let mut states = b.states();
    ens.drop_client_connections(crate::support::server_of(&ens, &b.client()));
    crate::support::wait_state(&mut states, Duration::from_secs(10), |s| {
        *s == zk_recipes::ConnectionState::Reconnected
    })
    .await;
    assert_eq!(b.client().session_id(), sid);
    let mut after = children(&c, "/s4").await;
    after.sort();
    before.sort();
    assert_eq!(before, after, "no duplicate, no re-create");
    ga.release().await.unwrap();
    let gb = waiter.await.unwrap();
    assert!(before.iter().any(|n| gb.node_path().ends_with(n.as_str())));

    // A timed acquire through a proxy, timing out while blackholed.
    let (proxy, d) = crate::support::proxied_session(ens.addr(0), 3000, 0.1).await;
    let md = Mutex::new(&d, "/s4").unwrap();
    let t = tokio::spawn(async move { md.try_acquire(Duration::from_millis(300)).await });
    for _ in 0..200 {
        if children(&c, "/s4").await.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    proxy.blackhole(true);
    assert!(t.await.unwrap().unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The partition ends with a reset link (the proxy dropped what it
    // swallowed, so the old link would wait for replies that never come).
    proxy.blackhole(false);
    proxy.drop_links();
    let dsid = d.client().session_id();
    let mut gone = false;
    for _ in 0..400 {
        if children(&c, "/s4").await.len() == 1 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(gone, "the timed-out contender's node stayed");
    assert_eq!(
        d.client().session_id(),
        dsid,
        "removed by its own session, not by expiry"
    );
    gb.release().await.unwrap();
}

/// Scenario 5: an acquire dropped at every await point leaves no node
/// (and the lock stays usable).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_cancelled_acquires_leave_nothing() {
    let ens = ensemble(15).await;
    let hosts = ens.connect_string();
    let a = session(&hosts, 3000).await;
    let b = session(&hosts, 3000).await;
    let mb = Mutex::new(&b, "/s5").unwrap();
    for held in [false, true] {
        let holder = if held {
            Some(Mutex::new(&a, "/s5").unwrap().acquire().await.unwrap())
        } else {
            None
        };
        for delay_us in [
            0u64, 50, 100, 200, 400, 700, 1000, 1500, 2000, 3000, 5000, 8000, 13000,
        ] {
            let m = mb.clone();
            let t = tokio::spawn(async move { m.acquire().await });
            if delay_us == 0 {
                tokio::task::yield_now().await;
            } else {
                tokio::time::sleep(Duration::from_micros(delay_us)).await;
            }
            t.abort();
            if let Ok(Ok(g)) = t.await {
                g.release().await.unwrap();
            }
        }
        let watches =
            |e: &zk_server_sim::Ensemble| (0..e.len()).map(|i| e.watch_count(i)).sum::<usize>();
        if let Some(g) = holder {
            // While the lock is held, only the holder's watch on its own
            // node is left: no cancelled waiter's watch on it remains.
            let c = a.client();
            for _ in 0..300 {
                if children(&c, "/s5").await.len() == 1 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(children(&c, "/s5").await.len(), 1);
            assert!(
                eventually(Duration::from_secs(3), || watches(&ens) == 1).await,
                "{} watches on the servers while held (only the holder's expected)",
                watches(&ens)
            );
            g.release().await.unwrap();
        }
        let c = a.client();
        let mut left = Vec::new();
        for _ in 0..300 {
            left = children(&c, "/s5").await;
            if left.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(left.is_empty(), "cancelled acquires left {left:?}");
        // ...and no watch on any server.
        assert!(
            eventually(Duration::from_secs(3), || watches(&ens) == 0).await,
            "{} watches left on the servers",
            watches(&ens)
        );
    }
    let g = tokio::time::timeout(Duration::from_secs(5), mb.acquire())
        .await
        .unwrap()
        .unwrap();
    g.release().await.unwrap();
}

/// Scenario 6: the release's delete is applied but its reply lost: the
/// release completes (the retry finds the node gone), and the next acquire
/// does not stall. A release while blackholed never claims "held" and the
/// delete completes in the background after the link is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_release_with_connection_loss_completes_in_the_background() {
    let ens = ensemble(16).await;
    let hosts = ens.connect_string();
    let a = session(&hosts, 3000).await;
    let m = Mutex::new(&a, "/s6").unwrap();
    let g = m.acquire().await.unwrap();
    ens.apply_then_drop(crate::support::server_of(&ens, &a.client()));
    g.release().await.unwrap();
    assert!(children(&a.client(), "/s6").await.is_empty());
    let g = tokio::time::timeout(Duration::from_secs(5), m.acquire())
        .await
        .unwrap()
        .unwrap();
    g.release().await.unwrap();

    let (proxy, p) = crate::support::proxied_session(ens.addr(0), 3000, 0.1).await;
    let g = Mutex::new(&p, "/s6").unwrap().acquire().await.unwrap();
    let states = g.states().unwrap();
    proxy.blackhole(true);
    let released = tokio::time::timeout(Duration::from_millis(200), g.release()).await;
    assert!(released.is_err(), "the delete cannot have been answered");
    assert_eq!(*states.borrow(), HoldState::Lost(LossReason::Released));
    proxy.blackhole(false);
    proxy.drop_links();
    let c = a.client();
    let mut empty = false;
    for _ in 0..300 {
        if children(&c, "/s6").await.is_empty() {
            empty = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(empty);
    let g = tokio::time::timeout(Duration::from_secs(5), m.acquire())
        .await
        .unwrap()
        .unwrap();
    g.release().await.unwrap();
}

/// Scenario 10: the lock's parent is deleted (as a reaped container would
/// be): the holder learns it lost the lock, a waiter re-creates the parent
/// and acquires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s10_parent_deleted_recreated_and_recontended() {
    let ens = ensemble(17).await;
    let hosts = ens.connect_string();
    let a = session(&hosts, 3000).await;
    let b = session(&hosts, 3000).await;
    let admin = session(&hosts, 3000).await.client();
    let ga = Mutex::new(&a, "/s10/lock")
        .unwrap()
        .acquire()
        .await
        .unwrap();
    let mb = Mutex::new(&b, "/s10/lock").unwrap();
    let waiter = tokio::spawn(async move { mb.acquire().await.unwrap() });
    for _ in 0..200 {
        if children(&admin, "/s10/lock").await.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // All at once, so that no contender re-creates its node in between.
    let mut txn = admin.transaction();
    for c in children(&admin, "/s10/lock").await {
        txn = txn.delete(&format!("/s10/lock/{c}"), None);
    }
    txn.delete("/s10/lock", None)
        .delete("/s10", None)
        .commit()
        .await
        .unwrap();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), ga.lost())
            .await
            .unwrap(),
        LossReason::NodeDeleted
    );
    let gb = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .unwrap()
        .unwrap();
    assert!(gb.fencing_token() > ga.fencing_token());
    assert!(
        admin.exists("/s10/lock").await.unwrap().is_some(),
        "parent re-created"
    );
    gb.release().await.unwrap();
    drop(ga);
}

/// Scenario 18: the session closes while a waiter is queued: the acquire
/// resolves with Closed, and the nodes are gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s18_close_while_waiting_resolves_with_closed() {
    let ens = ensemble(18).await;
    let hosts = ens.connect_string();
    let a = session(&hosts, 3000).await;
    let b = session(&hosts, 3000).await;
    let ga = Mutex::new(&a, "/s18").unwrap().acquire().await.unwrap();
    let mb = Mutex::new(&b, "/s18").unwrap();
    let waiter = tokio::spawn(async move { mb.acquire().await });
    for _ in 0..200 {
        if children(&a.client(), "/s18").await.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    b.close().await.unwrap();
    let r = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.unwrap_err(), zk_recipes::Error::Closed);
    assert_eq!(children(&a.client(), "/s18").await.len(), 1);
    let after = Mutex::new(&b, "/s18").unwrap().acquire().await;
    assert_eq!(after.unwrap_err(), zk_recipes::Error::Closed);
    ga.release().await.unwrap();
}

/// Explicit re-entrancy: the node stays until the last guard of the hold
/// is released; the names are Curator's (`_c_<uuid>-lock-<10 digits>`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reentrant_guards_share_one_node_with_curator_names() {
    let ens = ensemble(19).await;
    let a = session(&ens.connect_string(), 3000).await;
    let g1 = Mutex::new(&a, "/re").unwrap().acquire().await.unwrap();
    let name = g1.node_path().trim_start_matches("/re/").to_owned();
    assert!(zk_recipes::protected::is_protected(&name), "{name}");
    let seq = zk_recipes::protected::strip_protected(&name)
        .strip_prefix("lock-")
        .expect("lock- after the protected prefix");
    assert!(
        seq.len() == 10 && seq.bytes().all(|b| b.is_ascii_digit()),
        "{seq}"
    );
    let g2 = g1.reenter();
    assert_eq!(g2.fencing_token(), g1.fencing_token());
    g1.release().await.unwrap();
    assert_eq!(children(&a.client(), "/re").await, vec![name.clone()]);
    assert_eq!(g2.state(), HoldState::Held);
    g2.release().await.unwrap();
    assert!(children(&a.client(), "/re").await.is_empty());
}

/// Scenario 19 (CURATOR-690): the lock directory's listing is larger than
/// the client accepts (here 100 children with 200-character names against
/// a client `max_buffer` of 4096; in production, more than 64k children
/// against the default `jute.maxbuffer`). `acquire` and `try_acquire`
/// return the typed `ReplyTooLarge` error instead of retrying forever (a
/// hang fails the test through the 60 s guard, with a message), the
/// session carries on, and the contender nodes the attempts created are
/// deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s19_listing_over_the_client_limit_fails_acquire_clearly() {
    let ens = ensemble(19).await;
    let hosts = ens.connect_string();
    let admin = session(&hosts, 3000).await.client();
    crate::support::oversize_directory(&admin, "/s19").await;
    let small = zk_recipes::Session::builder(
        zk_client::Client::builder(&hosts)
            .session_timeout(Duration::from_millis(3000))
            .max_buffer(4096),
    )
    .connect()
    .await
    .unwrap();
    let sid = small.client().session_id();
    let m = Mutex::new(&small, "/s19").unwrap();

    let Err(err) = hang_guard("acquire", m.acquire()).await else {
        panic!("acquire must fail")
    };
    assert!(
        matches!(
            err,
            zk_recipes::Error::Client(zk_client::Error::ReplyTooLarge { .. })
        ),
        "{err:?}"
    );
    assert!(!err.is_retriable(), "{err:?}");
    assert!(err.to_string().contains("max_buffer"), "{err}");
    // try_acquire: the error, not Ok(None) at its deadline.
    let r = hang_guard("try_acquire", m.try_acquire(Duration::from_secs(30))).await;
    assert!(
        matches!(
            r,
            Err(zk_recipes::Error::Client(
                zk_client::Error::ReplyTooLarge { .. }
            ))
        ),
        "{r:?}"
    );
    // The same session throughout, and its contender nodes are gone.
    assert_eq!(small.client().session_id(), sid);
    assert!(
        eventually(Duration::from_secs(10), || children_count(&ens, "/s19")
            == 100)
        .await,
        "the acquiring client left {} nodes behind",
        children_count(&ens, "/s19") - 100
    );
    let left = admin.get_children("/s19").await.unwrap();
    assert_eq!(left.len(), 100, "only the 100 big children are left");
}

/// Awaits `f`, failing the test with a message (not hanging) after 60 s: a
/// hang guard, not a timing assertion.
async fn hang_guard<F: std::future::Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(Duration::from_secs(60), f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: no answer after 60 s (a hang, CURATOR-690)"),
    }
}

/// An acquire lists the lock's children in the same round trip as its
/// create: the getChildren leaves before the create's reply comes back (a
/// session's requests are answered in order, so the listing already holds
/// our node). With a 50 ms delay each way on the link, a listing sent only
/// after the create's reply would be seen after that reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acquire_pipelines_its_first_listing_behind_its_create() {
    const CYCLES: usize = 5;
    let ens = zk_server_sim::Ensemble::builder()
        .nodes(1)
        .build()
        .await
        .expect("ensemble");
    let (proxy, s) = crate::support::proxied_session(ens.addr(0), 20_000, 0.1).await;
    let m = Mutex::new(&s, "/pipelined").unwrap();
    // The first cycle also creates the lock's parent.
    m.acquire().await.unwrap().release().await.unwrap();
    proxy.delay(Duration::from_millis(50));
    proxy.record(true);
    for _ in 0..CYCLES {
        let g = m.acquire().await.unwrap();
        assert!(g.fencing_token() > 0);
        g.release().await.unwrap();
    }
    let wire = proxy.wire();
    let frames = wire.frames();
    let creates: Vec<_> = wire
        .requests(zk_proto::OpCode::Create2)
        .map(|f| f.xid)
        .collect();
    assert_eq!(creates.len(), CYCLES);
    for xid in creates {
        let sent = frames
            .iter()
            .position(|f| f.is_request() && f.xid == xid)
            .unwrap();
        let answered = frames
            .iter()
            .position(|f| f.is_reply() && f.xid == xid)
            .expect("the create was answered");
        let listed = frames
            .iter()
            .skip(sent)
            .position(|f| f.is_request() && f.op == Some(zk_proto::OpCode::GetChildren))
            .map(|i| i + sent)
            .expect("a listing after the create");
        assert!(
            listed < answered,
            "the listing (frame {listed}) left after the create's reply (frame {answered})"
        );
    }
    // One listing per acquire: the pipelined one was used.
    assert_eq!(wire.count(zk_proto::OpCode::GetChildren), CYCLES);
    assert!(children(&s.client(), "/pipelined").await.is_empty());
}
