//! Sessions that survive failures: a killed server, a blackholed link,
//! 10,000 watches re-registered, a server that is behind the client.

use std::time::Duration;

use futures::future::join_all;
use tokio::time::Instant;
use zk_client::{Client, CreateMode, CreateOptions, Error, EventType, SessionState};
use zk_server_sim::real::RealEnsemble;
use zk_server_sim::testkit::FaultProxy;

use zk_proto::OpCode;

use crate::support::{active, bounded, chroot_of, chroot_on, ensemble, proxies, proxy, wait_state};

/// Acceptance: kill the server a client is connected to. The client resumes
/// the same session on another server; every request in flight is answered
/// or fails with ConnectionLoss; one-shot data, children and exists watches
/// set before the kill fire for changes made during the outage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_resumes_the_session_elsewhere_and_watches_fire() {
    let _quiet = crate::support::exclusive().await;
    let mut ens = tokio::task::block_in_place(|| {
        RealEnsemble::builder()
            .nodes(3)
            .tick_time(Duration::from_millis(500))
            .start()
            .expect("start an ensemble of our own")
    });
    let direct = chroot_on(&ens, "kill").await;
    let chroot = chroot_of(&direct);
    let (ps, cs) = proxies(&ens, &chroot).await;
    let c = Client::builder(cs)
        .session_timeout(Duration::from_secs(8))
        .connect()
        .await
        .unwrap();
    let id = c.session_id();
    c.create("/n", b"0", &CreateOptions::default())
        .await
        .unwrap();
    c.create("/c", b"", &CreateOptions::default())
        .await
        .unwrap();
    c.create("/eph", b"", &CreateOptions::new(CreateMode::Ephemeral))
        .await
        .unwrap();
    let (_, _, data_w) = c.get_data_watch("/n").await.unwrap();
    let (_, child_w) = c.get_children_watch("/c").await.unwrap();
    let (none, exists_w) = c.exists_watch("/later").await.unwrap();
    assert!(none.is_none());
    let mut states = c.state_stream();
    wait_state(&mut states, SessionState::Connected).await;
    let victim = active(&ps).await;

    // Requests in flight at the kill, reads and writes: more than
    // max_in_flight, so some are on the wire and some wait in line; the
    // kill comes once the first ones are answered.
    const REQUESTS: usize = 3000;
    for p in &ps {
        p.clear_wire();
        p.record(true);
    }
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let calls: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let c = c.clone();
            let f: std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Error>> + Send>> =
                if i % 10 == 0 {
                    let f = c.create(&format!("/w{i}"), b"", &CreateOptions::default());
                    Box::pin(async move { f.await.map(|_| ()) })
                } else {
                    let f = c.get_data("/n");
                    Box::pin(async move { f.await.map(|_| ()) })
                };
            f
        })
        .collect();
    let counter = answered.clone();
    let in_flight = tokio::spawn(async move {
        let mut results = Vec::new();
        for f in calls {
            results.push(f.await);
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        results
    });
    bounded("the first answers", async {
        while answered.load(std::sync::atomic::Ordering::SeqCst) < 20 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    // Nobody may reconnect until the changes below are made.
    for p in &ps {
        p.refuse(true);
    }
    tokio::task::block_in_place(|| ens.kill(victim)).unwrap();
    wait_state(&mut states, SessionState::Disconnected).await;

    let others: Vec<String> = (0..3)
        .filter(|&i| i != victim)
        .map(|i| ens.node_addr(i).unwrap().to_string())
        .collect();
    // If the victim led, the others elect a new leader first.
    let writer = bounded("a writer on the surviving nodes", async {
        loop {
            match Client::connect(format!("{}{chroot}", others.join(","))).await {
                Ok(w) => return w,
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    })
    .await;
    writer.sync("/").await.unwrap(); // it may be on a server behind our writes
    writer.set_data("/n", b"during", None).await.unwrap();
    writer
        .create("/c/x", b"", &CreateOptions::default())
        .await
        .unwrap();
    writer
        .create("/later", b"", &CreateOptions::default())
        .await
        .unwrap();
    for (i, p) in ps.iter().enumerate() {
        if i != victim {
            p.refuse(false);
        }
    }

    wait_state(&mut states, SessionState::Connected).await;
    assert_eq!(c.session_id(), id, "the same session, resumed");
    let now_on = active(&ps).await;
    assert_ne!(now_on, victim);

    let (mut ok, mut lost) = (0, 0);
    for r in bounded("every request resolves", in_flight).await.unwrap() {
        match r {
            Ok(()) => ok += 1,
            Err(Error::ConnectionLoss) => lost += 1,
            Err(e) => panic!("in-flight request failed with {e:?}"),
        }
    }
    eprintln!("requests around the kill: {ok} answered, {lost} ConnectionLoss");
    // Checked against the wire (every link of every proxy): no request
    // sent twice, none answered twice; the answers the client reported are
    // exactly the replies the proxies forwarded; a request left unanswered
    // on the wire was on the killed server's link, and was reported lost;
    // never more requests outstanding than the client's limit.
    let ours = |f: &&zk_server_sim::testkit::Frame| {
        matches!(
            f.op,
            Some(OpCode::GetData | OpCode::Create | OpCode::Create2)
        )
    };
    let mut sent = std::collections::HashSet::new();
    let mut replied = std::collections::HashSet::new();
    let (mut unanswered_on_victim, mut unanswered_elsewhere) = (0, 0);
    for (i, p) in ps.iter().enumerate() {
        let wire = p.wire();
        let frames: Vec<_> = wire.frames().iter().filter(ours).collect();
        let replies: std::collections::HashSet<(usize, i32)> = frames
            .iter()
            .filter(|f| f.is_reply())
            .filter_map(|f| Some((f.link, f.xid?)))
            .collect();
        for f in frames.iter().filter(|f| f.is_reply()) {
            let xid = f.xid.unwrap();
            assert!(replied.insert(xid), "xid {xid} answered twice on the wire");
        }
        for f in frames.iter().filter(|f| f.is_request()) {
            let xid = f.xid.unwrap();
            assert!(sent.insert(xid), "xid {xid} sent twice on the wire");
            if !replies.contains(&(f.link, xid)) {
                if i == victim {
                    unanswered_on_victim += 1;
                } else {
                    unanswered_elsewhere += 1;
                }
            }
        }
    }
    let wire = ps[victim].wire();
    eprintln!(
        "wire: {} sent, {} answered, {unanswered_on_victim} unanswered on the victim's link, \
         peak {} in flight there",
        sent.len(),
        replied.len(),
        wire.max_in_flight()
    );
    assert_eq!(
        ok,
        replied.len(),
        "answers reported by the client vs replies forwarded by the proxies"
    );
    assert_eq!(
        unanswered_elsewhere, 0,
        "requests left unanswered on a surviving server's link"
    );
    assert!(
        unanswered_on_victim > 0,
        "the kill caught requests in flight on the wire"
    );
    assert!(
        lost >= unanswered_on_victim,
        "{lost} lost, but {unanswered_on_victim} went unanswered on the victim's wire"
    );
    assert!(wire.max_in_flight() <= zk_client::DEFAULT_MAX_IN_FLIGHT);
    assert!(wire.max_in_flight() > 20, "requests were pipelined");

    let ev = bounded("data watch", data_w).await.unwrap();
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeDataChanged, "/n")
    );
    let ev = bounded("child watch", child_w).await.unwrap();
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeChildrenChanged, "/c")
    );
    let ev = bounded("exists watch", exists_w).await.unwrap();
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (EventType::NodeCreated, "/later")
    );
    assert!(c.exists("/eph").await.unwrap().is_some(), "ephemeral kept");
    writer.close().await.unwrap();
    c.close().await.unwrap();
    tokio::task::block_in_place(move || drop(ens));
}

/// Acceptance: a blackholed link (nothing forwarded, nothing closed) is
/// noticed within two thirds of the session timeout, and the client moves
/// to another server, in the same session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_link_is_noticed_within_two_thirds_of_the_timeout() {
    let _quiet = crate::support::exclusive().await;
    let ens = ensemble();
    let direct = chroot_on(ens, "blackhole").await;
    let (ps, cs) = proxies(ens, &chroot_of(&direct)).await;
    let c = Client::builder(cs)
        .session_timeout(Duration::from_secs(3))
        .connect()
        .await
        .unwrap();
    let id = c.session_id();
    let t = c.negotiated_timeout();
    c.create("/n", b"", &CreateOptions::default())
        .await
        .unwrap();
    let mut states = c.state_stream();
    wait_state(&mut states, SessionState::Connected).await;
    let victim = active(&ps).await;
    let before = c.server().unwrap();
    assert_eq!(before.to_string(), ps[victim].addr().to_string());
    // A request answered just now: the client heard from the server at most
    // a moment before the blackhole starts.
    c.get_data("/n").await.unwrap();
    let start = Instant::now();
    ps[victim].blackhole(true);
    wait_state(&mut states, SessionState::Disconnected).await;
    let noticed = start.elapsed();
    // The client drops a connection silent for 2/3 of the timeout; the
    // grace covers timer and scheduling latency on a loaded machine.
    let bound = t * 2 / 3 + (t / 10).max(Duration::from_millis(500));
    eprintln!(
        "blackhole noticed after {noticed:?} (2/3 of the {t:?} session timeout = {:?}; bound {bound:?})",
        t * 2 / 3
    );
    assert!(noticed <= bound, "noticed after {noticed:?} > {bound:?}");
    assert!(
        noticed >= t / 3,
        "too early to be the read timeout: {noticed:?}"
    );
    wait_state(&mut states, SessionState::Connected).await;
    assert_eq!(c.session_id(), id);
    assert_ne!(active_other(&ps, victim).await, victim);
    assert_ne!(c.server().unwrap(), before);
    c.get_data("/n").await.unwrap();
    c.close().await.unwrap();
}

/// The proxy (other than `skip`, whose blackholed link may linger) with a link.
async fn active_other(ps: &[FaultProxy], skip: usize) -> usize {
    bounded("a link through another proxy", async {
        loop {
            if let Some(i) = (0..ps.len()).find(|&i| i != skip && ps[i].active_links() > 0) {
                return i;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// Acceptance: 10,000 watches on long paths (far more than 128 KiB of
/// paths) are all re-registered after a reconnect, in several SetWatches
/// batches written at once, and all fire for changes made while away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_watches_on_long_paths_are_rearmed_and_all_fire() {
    let _quiet = crate::support::exclusive().await;
    const N: usize = 10_000;
    let ens = ensemble();
    let direct = chroot_on(ens, "ten_thousand_watches").await;
    let p = proxy(ens.node_addr(0).unwrap()).await;
    let c = Client::builder(format!("{}{}", p.addr(), chroot_of(&direct)))
        .session_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap();
    let writer = Client::connect(direct.clone()).await.unwrap();
    writer
        .create("/w", b"", &CreateOptions::default())
        .await
        .unwrap();
    let long = "x".repeat(80);
    let paths: Vec<String> = (0..N).map(|i| format!("/w/{i:05}-{long}")).collect();
    for chunk in paths.chunks(500) {
        let mut txn = writer.transaction();
        for path in chunk {
            txn = txn.create(path, b"0", &CreateOptions::default());
        }
        txn.commit().await.unwrap();
    }
    c.sync("/w").await.unwrap(); // its server may be behind the writer
    let reads: Vec<_> = paths.iter().map(|p| c.get_data_watch(p)).collect();
    let watches: Vec<_> = bounded("10k watched reads", join_all(reads))
        .await
        .into_iter()
        .map(|r| r.unwrap().2)
        .collect();

    let mut states = c.state_stream();
    wait_state(&mut states, SessionState::Connected).await;
    p.refuse(true);
    p.drop_links();
    wait_state(&mut states, SessionState::Disconnected).await;
    for chunk in paths.chunks(500) {
        let mut txn = writer.transaction();
        for path in chunk {
            txn = txn.set_data(path, b"1", None);
        }
        txn.commit().await.unwrap();
    }
    p.record(true);
    p.refuse(false);
    wait_state(&mut states, SessionState::Connected).await;
    c.sync("/").await.unwrap(); // after the batches on the wire

    let stats = c.stats();
    eprintln!(
        "re-registered {} watches, {} bytes of paths, in {} batches",
        stats.rearm_watches, stats.rearm_path_bytes, stats.rearm_batches
    );
    assert_eq!(stats.rearm_watches, N);
    assert!(stats.rearm_path_bytes > 128 * 1024);
    assert!(stats.rearm_batches >= stats.rearm_path_bytes.div_ceil(128 * 1024));
    // What really went out: SetWatches frames, each within 128 KiB of paths
    // (plus the record's framing), together naming every watch once.
    let wire = p.wire();
    let batches: Vec<(usize, usize)> = wire
        .frames()
        .iter()
        .filter_map(|f| match f.request()? {
            zk_proto::Request::SetWatches(w) => Some((f.size, w.data_watches.len())),
            zk_proto::Request::SetWatches2(w) => Some((f.size, w.data_watches.len())),
            _ => None,
        })
        .collect();
    eprintln!("SetWatches on the wire (bytes, watches): {batches:?}");
    assert_eq!(batches.len(), stats.rearm_batches);
    assert_eq!(batches.iter().map(|b| b.1).sum::<usize>(), N);
    // The 128 KiB count path bytes; the frame adds 4 bytes of length per
    // path, the header and the list counts.
    assert!(
        batches.iter().all(|b| b.0 <= 128 * 1024 + 4 * b.1 + 64),
        "{batches:?}"
    );
    let events = bounded("10k watches fire", join_all(watches)).await;
    for ev in events {
        assert_eq!(ev.unwrap().event_type, EventType::NodeDataChanged);
    }
    writer.close().await.unwrap();
    c.close().await.unwrap();
}

/// A server that is behind what the client has seen closes the handshake
/// without answering (CLIENT_ZXID_AHEAD): a failed attempt, not an expiry;
/// the client keeps its last zxid and connects once the server caught up.
/// Also moves the client with `update_server_list`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_behind_the_client_is_refused_until_it_catches_up() {
    let ens = zk_server_sim::Ensemble::builder()
        .nodes(3)
        .tick_time(Duration::from_millis(500))
        .build()
        .await
        .unwrap();
    let leader = ens.leader().unwrap();
    let f: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    let (ahead, behind) = (f[0], f[1]);
    let c = Client::builder(ens.addr(ahead).to_string())
        .session_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap();
    let id = c.session_id();
    let mut states = c.state_stream();
    wait_state(&mut states, SessionState::Connected).await;
    // The behind node stops hearing from the leader, then we write.
    ens.hold(leader, behind);
    for i in 0..5 {
        c.create(&format!("/z{i}"), b"seen", &CreateOptions::default())
            .await
            .unwrap();
    }
    let lag = FaultProxy::start(ens.addr(behind)).await.unwrap();
    c.update_server_list(&lag.addr().to_string()).unwrap();
    wait_state(&mut states, SessionState::Disconnected).await;
    bounded("refused attempts", async {
        while lag.accepted() < 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(
        c.state(),
        SessionState::Disconnected,
        "refusals are not expiry"
    );
    ens.release(Some((leader, behind)));
    wait_state(&mut states, SessionState::Connected).await;
    assert_eq!(c.session_id(), id);
    // Our writes are visible there: the server caught up to our zxid.
    let (data, _) = c.get_data("/z4").await.unwrap();
    assert_eq!(&data[..], b"seen");
    eprintln!("refused handshakes while behind: {}", lag.accepted() - 1);
    c.close().await.unwrap();
}

/// A write that reaches the server but whose reply is lost fails with
/// ConnectionLoss, whose message says the outcome is unknown (here it was
/// applied); the session resumes. Also runs through a delaying proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_applied_but_unanswered_fails_with_connection_loss() {
    let ens = ensemble();
    let direct = chroot_on(ens, "applied_unanswered").await;
    let p = proxy(ens.node_addr(1).unwrap()).await;
    p.delay(Duration::from_millis(50));
    let c = Client::builder(format!("{}{}", p.addr(), chroot_of(&direct)))
        .session_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap();
    let id = c.session_id();
    c.get_data("/").await.unwrap();
    p.delay(Duration::ZERO);
    let mut states = c.state_stream();
    wait_state(&mut states, SessionState::Connected).await;
    p.drop_after_next_request();
    let e = c
        .create("/x", b"", &CreateOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e, Error::ConnectionLoss);
    assert!(e.to_string().contains("outcome is unknown"), "{e}");
    wait_state(&mut states, SessionState::Disconnected).await;
    wait_state(&mut states, SessionState::Connected).await;
    assert_eq!(c.session_id(), id);
    assert!(c.exists("/x").await.unwrap().is_some(), "it was applied");
    c.close().await.unwrap();
}

/// Credentials given with `add_auth` (and with the builder) are sent again
/// after a reconnect: the resumed session still reads what only they may.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_sent_again_after_a_reconnect() {
    let ens = ensemble();
    let direct = chroot_on(ens, "auth_again").await;
    let p = proxy(ens.node_addr(2).unwrap()).await;
    let c = Client::builder(format!("{}{}", p.addr(), chroot_of(&direct)))
        .digest("bob", "pw")
        .session_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap();
    c.add_auth("digest", b"alice:secret").await.unwrap();
    for (path, user) in [("/bob", "bob"), ("/alice", "alice")] {
        let acl = vec![zk_client::Acl::new(zk_client::Perms::ALL, digest_id(user))];
        c.create(path, b"s", &CreateOptions::default().with_acl(acl))
            .await
            .unwrap();
    }
    let mut states = c.state_stream();
    wait_state(&mut states, SessionState::Connected).await;
    p.drop_links();
    wait_state(&mut states, SessionState::Disconnected).await;
    wait_state(&mut states, SessionState::Connected).await;
    let me = c.who_am_i().await.unwrap();
    for user in ["bob", "alice"] {
        assert!(
            me.iter()
                .any(|i| i.auth_scheme == "digest" && i.user == user),
            "{me:?}"
        );
    }
    c.get_data("/bob").await.unwrap();
    c.get_data("/alice").await.unwrap();
    c.close().await.unwrap();
}

/// The digest ACL id of `user`, with the password the test above gives it.
fn digest_id(user: &str) -> zk_client::Id {
    let pw = if user == "bob" { "pw" } else { "secret" };
    zk_server_sim::tree::auth::digest_id(&format!("{user}:{pw}"))
}

/// `follow_config`: the server list becomes the client addresses listed in
/// `/zookeeper/config`; a client whose server is not among them moves, in
/// the same session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_the_config_moves_to_the_listed_servers() {
    let ens = ensemble();
    let direct = chroot_on(ens, "follow_config").await;
    // Reach the ensemble through a proxy the configuration does not list.
    let p = proxy(ens.node_addr(0).unwrap()).await;
    let c = Client::builder(format!("{}{}", p.addr(), chroot_of(&direct)))
        .follow_config(true)
        .session_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap();
    let id = c.session_id();
    let listed: Vec<String> = (0..ens.node_count())
        .map(|i| ens.node_addr(i).unwrap().to_string())
        .collect();
    bounded("moved to a listed server", async {
        loop {
            if let Some(s) = c.server() {
                if listed.contains(&s.to_string()) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(c.session_id(), id);
    bounded("the proxied link closes", async {
        while p.active_links() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    c.create("/ok", b"", &CreateOptions::default())
        .await
        .unwrap();
    c.close().await.unwrap();
}
