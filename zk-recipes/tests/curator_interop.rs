//! Curator (Java) and our recipes on one ensemble: the simulator and a real
//! 3-node ZooKeeper 3.8.
//!
//! Needs a JDK and Debian's Curator/ZooKeeper jars (`.ci/install-deps.sh`);
//! outside CI their absence is a skip that says so, under `CI` a failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "support/java.rs"]
mod java;

use std::sync::Arc;
use std::time::Duration;

use zk_client::Client;
use zk_recipes::{LeaderLatch, Mutex, Session};
use zk_server_sim::Ensemble;

/// The harness itself: a Curator client compiled and run by the test creates
/// a node (with container parents) on the simulator, and our client reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curator_program_runs_against_the_simulator() {
    let Some(java) = java::Java::compile(&["CuratorHello.java"]) else {
        return;
    };
    let ens = Ensemble::builder().nodes(3).build().await.unwrap();
    let cs = ens.connect_string();
    let out = tokio::task::spawn_blocking(move || {
        java.run("CuratorHello", &[&cs, "/hello/from/curator", "hi"])
    })
    .await
    .unwrap();
    assert_eq!(out.trim(), "created /hello/from/curator hi");
    let client = Client::connect(ens.connect_string()).await.unwrap();
    let (data, _) = client.get_data("/hello/from/curator").await.unwrap();
    assert_eq!(&data[..], b"hi");
    client.close().await.unwrap();
    ens.check_history().unwrap();
}

/// Microseconds since the Unix epoch (the clock the Java programs print).
fn micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// One hold of a lock: who, from when to when (microseconds).
#[derive(Debug, Clone)]
struct Hold {
    who: String,
    from: u64,
    to: u64,
}

/// Asserts that no two holds overlap.
fn assert_exclusive(mut holds: Vec<Hold>) {
    holds.sort_by_key(|h| h.from);
    for w in holds.windows(2) {
        assert!(
            w[1].from >= w[0].to,
            "overlapping holds of {} and {}: {:?} and {:?}\nall: {holds:#?}",
            w[0].who,
            w[1].who,
            w[0],
            w[1]
        );
    }
}

/// The holds in a CuratorMutex transcript (`<micros> acquired` /
/// `<micros> released` pairs).
fn java_holds(who: &str, lines: &[String]) -> Vec<Hold> {
    let mut holds = Vec::new();
    let mut from = None;
    for l in lines {
        let (ts, what) = l.split_once(' ').unwrap();
        let ts: u64 = ts.parse().unwrap();
        match what {
            "acquired" => from = Some(ts),
            "released" => holds.push(Hold {
                who: who.to_string(),
                from: from.take().expect("released before acquired"),
                to: ts,
            }),
            _ => {}
        }
    }
    holds
}

const MUTEX_CYCLES: usize = 8;
const HOLD_MS: u64 = 15;

/// Two of our contenders and a Curator InterProcessMutex (a Java process)
/// contend for one lock path on `connect` (which may carry a chroot). Each
/// holder increments a shared counter with an unfenced read-sleep-write,
/// so overlapping holds would lose updates; the holds, from timestamps
/// taken right after acquire and right before release, must not overlap.
async fn mutex_against_curator(java: &java::Java, connect: &str) {
    let root = Client::connect(connect).await.unwrap();
    let counter = "/mixed-counter";
    root.create(counter, b"0", &zk_client::CreateOptions::default())
        .await
        .unwrap();
    let lock = "/mixed/lock";
    let mut curator = java.spawn(
        "CuratorMutex",
        &[
            connect,
            lock,
            counter,
            &MUTEX_CYCLES.to_string(),
            &HOLD_MS.to_string(),
        ],
    );
    assert!(curator.line().await.ends_with(" ready"));
    let mut ours = Vec::new();
    for i in 0..2 {
        let session = Session::connect(connect).await.unwrap();
        ours.push(tokio::spawn(async move {
            let mutex = Mutex::new(&session, lock).unwrap();
            let mut holds = Vec::new();
            for _ in 0..MUTEX_CYCLES {
                let guard = mutex.acquire().await.unwrap();
                let from = micros();
                let c = session.client();
                let (data, _) = c.get_data(counter).await.unwrap();
                let n: u64 = std::str::from_utf8(&data).unwrap().parse().unwrap();
                tokio::time::sleep(Duration::from_millis(HOLD_MS)).await;
                c.set_data(counter, n.saturating_add(1).to_string().as_bytes(), None)
                    .await
                    .unwrap();
                holds.push(Hold {
                    who: format!("rust-{i}"),
                    from,
                    to: micros(),
                });
                guard.release().await.unwrap();
            }
            session.close().await.unwrap();
            holds
        }));
    }
    let mut holds = Vec::new();
    for t in ours {
        holds.extend(t.await.unwrap());
    }
    let lines = curator.finish().await;
    assert!(lines.last().unwrap().ends_with(" done"), "{lines:?}");
    let java_holds = java_holds("curator", &lines);
    assert_eq!(java_holds.len(), MUTEX_CYCLES);
    holds.extend(java_holds);
    let (data, _) = root.get_data(counter).await.unwrap();
    assert_eq!(
        std::str::from_utf8(&data).unwrap(),
        (3 * MUTEX_CYCLES).to_string(),
        "lost updates: two holders overlapped"
    );
    assert_exclusive(holds);
    let left = root.get_children(lock).await.unwrap_or_default();
    assert!(left.is_empty(), "lock nodes left: {left:?}");
    root.close().await.unwrap();
}

/// A fresh chroot on the shared real 3-node ensemble, created, as a connect
/// string; `None` (after a skip, a failure under CI) without ZooKeeper.
async fn real_chroot(name: &str) -> Option<String> {
    if !std::path::Path::new("/usr/share/java/zookeeper.jar").exists() {
        java::skip("ZooKeeper is not installed");
        return None;
    }
    let real = tokio::task::spawn_blocking(zk_server_sim::real::RealEnsemble::shared_three)
        .await
        .unwrap()
        .unwrap();
    let ns = real.chroot(name);
    let root = Client::connect(ns.base_connect_string.clone())
        .await
        .unwrap();
    for p in ["/it", ns.path.as_str()] {
        match root
            .create(p, b"", &zk_client::CreateOptions::default())
            .await
        {
            Ok(_) | Err(zk_client::Error::NodeExists) => {}
            Err(e) => panic!("creating {p}: {e}"),
        }
    }
    root.close().await.unwrap();
    Some(ns.connect_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curator_mutex_and_ours_exclude_each_other_on_the_simulator() {
    let Some(java) = java::Java::compile(&["CuratorMutex.java"]) else {
        return;
    };
    let ens = Ensemble::builder().nodes(3).build().await.unwrap();
    mutex_against_curator(&java, &ens.connect_string()).await;
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curator_mutex_and_ours_exclude_each_other_on_real_zookeeper() {
    let Some(java) = java::Java::compile(&["CuratorMutex.java"]) else {
        return;
    };
    let Some(connect) = real_chroot("curator_mutex").await else {
        return;
    };
    mutex_against_curator(&java, &connect).await;
}

/// Leadership terms seen by the participants of a latch group: `(who,
/// leader?, micros)` edges, shared by the recorders.
type Edges = Arc<std::sync::Mutex<Vec<(String, bool, u64)>>>;

/// Records the leadership edges of one of our latches until it closes.
fn record(who: String, latch: &LeaderLatch, edges: Edges) -> tokio::task::JoinHandle<()> {
    let mut rx = latch.leadership();
    tokio::spawn(async move {
        let mut leading = false;
        loop {
            let now = rx.borrow_and_update().is_leader();
            if now != leading {
                leading = now;
                edges.lock().unwrap().push((who.clone(), now, micros()));
            }
            if rx.changed().await.is_err() {
                break;
            }
        }
    })
}

/// Reads a CuratorLatch's output into `edges` and forwards its other
/// lines.
fn follow_java(
    mut p: java::JavaProcess,
    edges: Edges,
) -> (
    tokio::task::JoinHandle<java::JavaProcess>,
    tokio::sync::mpsc::UnboundedReceiver<String>,
    tokio::sync::mpsc::UnboundedSender<String>,
) {
    let (out_tx, out_rx) = tokio::sync::mpsc::unbounded_channel();
    let (cmd_tx, mut cmd_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                line = p.next_line() => {
                    let Some(line) = line else { break };
                    let (ts, what) = line.split_once(' ').unwrap();
                    let ts: u64 = ts.parse().unwrap();
                    match what {
                        "leader" => edges.lock().unwrap().push(("curator".into(), true, ts)),
                        "follower" => edges.lock().unwrap().push(("curator".into(), false, ts)),
                        _ => {}
                    }
                    let _ = out_tx.send(what.to_string());
                }
                cmd = cmd_rx.recv() => match cmd {
                    Some(cmd) => p.send(&cmd).await,
                    None => break,
                },
            }
        }
        p
    });
    (task, out_rx, cmd_tx)
}

/// The next CuratorLatch line that is `what` or starts with `what `.
async fn expect(out: &mut tokio::sync::mpsc::UnboundedReceiver<String>, what: &str) -> String {
    let fut = async {
        loop {
            let l = out.recv().await.expect("CuratorLatch ended");
            if l == what || l.starts_with(&format!("{what} ")) {
                return l;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(120), fut)
        .await
        .unwrap_or_else(|_| panic!("no `{what}` from CuratorLatch within 120 s"))
}

/// Asserts that no two participants led at once, from the edges.
fn assert_one_leader_at_a_time(edges: &[(String, bool, u64)]) {
    let mut terms: Vec<(u64, u64, String)> = Vec::new();
    let mut open: std::collections::HashMap<String, u64> = Default::default();
    for (who, leader, ts) in edges {
        if *leader {
            assert!(open.insert(who.clone(), *ts).is_none(), "{who} led twice");
        } else if let Some(from) = open.remove(who) {
            terms.push((from, *ts, who.clone()));
        }
    }
    for (who, from) in open {
        terms.push((from, u64::MAX, who));
    }
    terms.sort();
    for w in terms.windows(2) {
        assert!(
            w[1].0 >= w[0].1,
            "two leaders at once: {:?} and {:?}\nall terms: {terms:#?}",
            w[0],
            w[1]
        );
    }
    assert!(terms.len() >= 3, "too few leadership terms: {terms:?}");
}

/// Who leads now, once exactly one participant does (waits for it).
async fn settled_leader(edges: &Edges) -> String {
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let mut leading = std::collections::BTreeSet::new();
            for (who, leader, _) in edges.lock().unwrap().iter() {
                if *leader {
                    leading.insert(who.clone());
                } else {
                    leading.remove(who);
                }
            }
            if leading.len() == 1 {
                return leading.into_iter().next().unwrap();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("no single leader within 60 s")
}

/// A Curator LeaderLatch (a Java process) and two of ours in one group:
/// the current leader closes its latch (three times, whoever it is) and
/// rejoins, and the Curator participant's session is expired on the
/// server; at every point exactly one participant leads once things
/// settle, never two at once (from timestamps: Curator prints right after
/// its isLeader callback and before it closes; ours are recorded from the
/// leadership channel, and before close), and Curator names the same
/// leader as we do.
async fn latch_group_with_curator(java: &java::Java, connect: &str) {
    let edges: Edges = Arc::default();
    let path = "/mixed/latch";
    let curator = java.spawn("CuratorLatch", &[connect, path, "curator"]);
    let (curator_task, mut curator_out, curator_cmd) = follow_java(curator, edges.clone());
    expect(&mut curator_out, "ready").await;
    let mut ours = Vec::new();
    for i in 0..2 {
        let s = Session::connect(connect).await.unwrap();
        let who = format!("rust-{i}");
        let latch = LeaderLatch::start(&s, path, &who).unwrap();
        let rec = record(who.clone(), &latch, edges.clone());
        ours.push((who, s, Some(latch), rec));
    }
    for round in 0..3 {
        let leader = settled_leader(&edges).await;
        eprintln!("round {round}: {leader} leads");
        if leader == "curator" {
            curator_cmd.send("close".into()).unwrap();
            expect(&mut curator_out, "closed").await;
            curator_cmd.send("start".into()).unwrap();
            expect(&mut curator_out, "started").await;
        } else {
            let (who, s, latch, rec) = ours.iter_mut().find(|o| o.0 == leader).unwrap();
            edges.lock().unwrap().push((who.clone(), false, micros()));
            latch.take().unwrap().close().await.unwrap();
            rec.abort();
            let l = LeaderLatch::start(s, path, who).unwrap();
            *rec = record(who.clone(), &l, edges.clone());
            *latch = Some(l);
        }
    }
    // Curator and we agree on who leads.
    let leader = settled_leader(&edges).await;
    curator_cmd.send("leaderid".into()).unwrap();
    let said = expect(&mut curator_out, "leaderid").await;
    let any = ours.iter().find_map(|o| o.2.as_ref()).unwrap();
    let our_view = any.leader().await.unwrap().map(|p| p.id);
    assert_eq!(said, format!("leaderid {leader}"));
    assert_eq!(our_view.as_deref(), Some(leader.as_str()));

    // Curator's session ends on the server; it rejoins in a new one.
    if leader != "curator" {
        // Make Curator lead first, so that its expiry hands leadership over.
        for (who, _, latch, rec) in ours.iter_mut() {
            if latch.as_ref().is_some_and(|l| l.is_leader()) {
                edges.lock().unwrap().push((who.clone(), false, micros()));
            }
            latch.take().unwrap().close().await.unwrap();
            rec.abort();
        }
        assert_eq!(settled_leader(&edges).await, "curator");
        for (who, s, latch, rec) in ours.iter_mut() {
            let l = LeaderLatch::start(s, path, who).unwrap();
            *rec = record(who.clone(), &l, edges.clone());
            *latch = Some(l);
        }
    }
    curator_cmd.send("expire".into()).unwrap();
    expect(&mut curator_out, "expired").await;
    let after = settled_leader(&edges).await;
    eprintln!("after the expiry: {after} leads");
    // Everyone closes.
    curator_cmd.send("quit".into()).unwrap();
    expect(&mut curator_out, "bye").await;
    drop(curator_cmd);
    let p = curator_task.await.unwrap();
    p.finish().await;
    for (who, s, latch, rec) in ours {
        if let Some(l) = latch {
            if l.is_leader() {
                edges.lock().unwrap().push((who.clone(), false, micros()));
            }
            l.close().await.unwrap();
        }
        rec.abort();
        s.close().await.unwrap();
    }
    let edges = edges.lock().unwrap().clone();
    eprintln!("{} leadership edges", edges.len());
    assert_one_leader_at_a_time(&edges);
    let root = Client::connect(connect).await.unwrap();
    let left = root.get_children(path).await.unwrap_or_default();
    assert!(left.is_empty(), "latch nodes left: {left:?}");
    root.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curator_latch_and_ours_share_leadership_on_the_simulator() {
    let Some(java) = java::Java::compile(&["CuratorLatch.java"]) else {
        return;
    };
    let ens = Ensemble::builder().nodes(3).build().await.unwrap();
    latch_group_with_curator(&java, &ens.connect_string()).await;
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curator_latch_and_ours_share_leadership_on_real_zookeeper() {
    let Some(java) = java::Java::compile(&["CuratorLatch.java"]) else {
        return;
    };
    let Some(connect) = real_chroot("curator_latch").await else {
        return;
    };
    latch_group_with_curator(&java, &connect).await;
}
