//! Tree and node caches on the simulator: convergence after seeded faults,
//! a delete-and-recreate while disconnected, an interrupted initial load.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use zk_client::{Client, CreateOptions, Stat};
use zk_recipes::cache::{CacheEvent, NodeCache, TreeCache};
use zk_server_sim::Ensemble;

type Tree = BTreeMap<String, (Bytes, Stat)>;

/// The committed tree under `root` on the leader (or on node 0 without one).
fn server_tree(ens: &Ensemble, root: &str) -> Tree {
    let i = ens.leader().unwrap_or(0);
    ens.snapshot(i)
        .into_iter()
        .filter(|(p, _)| p == root || p.starts_with(&format!("{root}/")))
        .map(|(p, n)| (p, (n.data, n.stat)))
        .collect()
}

fn cache_tree(cache: &TreeCache) -> Tree {
    cache
        .snapshot()
        .into_iter()
        .map(|(p, n)| (p, (n.data, n.stat)))
        .collect()
}

fn diff(a: &Tree, b: &Tree) -> String {
    let mut out = Vec::new();
    for (p, v) in a {
        match b.get(p) {
            None => out.push(format!("only in cache: {p}")),
            Some(w) if w != v => out.push(format!("differs: {p}: cache {v:?} server {w:?}")),
            _ => {}
        }
    }
    for p in b.keys() {
        if !a.contains_key(p) {
            out.push(format!("only on server: {p}"));
        }
    }
    out.join("\n")
}

/// Waits (bounded) until the cache equals the server's tree; the error is the last difference.
async fn converge(
    ens: &Ensemble,
    cache: &TreeCache,
    root: &str,
    limit: Duration,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let server = server_tree(ens, root);
        let mine = cache_tree(cache);
        if server == mine && cache.status().in_sync {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "status {:?}\n{}",
                cache.status(),
                diff(&mine, &server)
            ));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn connect(hosts: &str) -> Client {
    Client::builder(hosts)
        .session_timeout(Duration::from_millis(1500))
        .connect()
        .await
        .unwrap()
}

async fn small_ensemble(seed: u64) -> Ensemble {
    ensemble_with_tick(seed, 50).await
}

async fn ensemble_with_tick(seed: u64, tick_ms: u64) -> Ensemble {
    Ensemble::builder()
        .nodes(3)
        .seed(seed)
        .tick_time(Duration::from_millis(tick_ms))
        .record_history(false)
        .build()
        .await
        .unwrap()
}

const NAMES: [&str; 4] = ["a", "b", "c", "d"];

fn random_path(rng: &mut StdRng) -> String {
    let depth = rng.random_range(1..=3);
    let mut p = String::from("/t");
    for _ in 0..depth {
        p.push('/');
        p.push_str(NAMES[rng.random_range(0..NAMES.len())]);
    }
    p
}

/// One seeded run: a writer makes random changes while faults hit the
/// ensemble; once healed and quiet, the cache must equal the server.
async fn one_seed(seed: u64) -> Result<(), String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let ens = small_ensemble(seed).await;
    let hosts = ens.connect_string();
    let writer = connect(&hosts).await;
    writer
        .create("/t", b"", &CreateOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let (clients, renewer) = renewing_client(hosts.clone()).await;
    let cache = TreeCache::builder("/t")
        .concurrency(8)
        .start_following(clients.clone());
    let mut writer = writer;
    let steps = rng.random_range(20..40);
    let mut killed: Option<usize> = None;
    for _ in 0..steps {
        match rng.random_range(0..100) {
            0..=29 => {
                let p = random_path(&mut rng);
                let data = format!("{}", rng.random_range(0..1000));
                let _ = writer
                    .create(&p, data.as_bytes(), &CreateOptions::default())
                    .await;
            }
            30..=49 => {
                let p = random_path(&mut rng);
                let data = format!("{}", rng.random_range(0..1000));
                let _ = writer.set_data(&p, data.as_bytes(), None).await;
            }
            50..=64 => {
                let p = random_path(&mut rng);
                let _ = writer.delete(&p, None).await;
            }
            65..=72 => {
                // Delete and re-create at the same version.
                let p = random_path(&mut rng);
                if writer.delete(&p, None).await.is_ok() {
                    let _ = writer.create(&p, b"again", &CreateOptions::default()).await;
                }
            }
            73..=78 => {
                let i = rng.random_range(0..ens.len());
                ens.drop_client_connections(i);
            }
            79..=83 => {
                if killed.is_none() {
                    let i = rng.random_range(0..ens.len());
                    ens.kill(i);
                    killed = Some(i);
                } else if let Some(i) = killed.take() {
                    ens.restart(i, false).await.map_err(|e| e.to_string())?;
                }
            }
            84..=88 => {
                let i = rng.random_range(0..ens.len());
                ens.isolate(i);
                tokio::time::sleep(Duration::from_millis(rng.random_range(0..150))).await;
                ens.heal();
            }
            89..=92 => {
                // The writer's session expires: it carries on in a new one.
                let id = writer.session_id();
                if ens.expire_session(id) {
                    writer = connect(&hosts).await;
                }
            }
            93..=95 => {
                // The cache's session expires: it follows into the next one.
                let id = clients.borrow().session_id();
                ens.expire_session(id);
            }
            _ => {
                tokio::time::sleep(Duration::from_millis(rng.random_range(0..50))).await;
            }
        }
        if writer.state().is_terminal() {
            writer = connect(&hosts).await;
        }
    }
    ens.heal();
    if let Some(i) = killed.take() {
        ens.restart(i, false).await.map_err(|e| e.to_string())?;
    }
    // A last change after the faults, so the cache must still be live.
    let _ = writer
        .create("/t/end", b"end", &CreateOptions::default())
        .await;
    if let Some(e) = cache.status().closed {
        return Err(format!("cache closed: {e}"));
    }
    let r = converge(&ens, &cache, "/t", Duration::from_secs(30)).await;
    renewer.abort();
    r
}

/// What a recipes `Session` does for a cache: a client, replaced by a new
/// one (new session) whenever the current one ends.
async fn renewing_client(hosts: String) -> (watch::Receiver<Client>, tokio::task::JoinHandle<()>) {
    let first = connect(&hosts).await;
    let (tx, rx) = watch::channel(first.clone());
    let task = tokio::spawn(async move {
        let mut current = first;
        loop {
            let mut states = current.state_stream();
            while !current.state().is_terminal() {
                if states.next().await.is_none() {
                    break;
                }
            }
            loop {
                match Client::builder(hosts.as_str())
                    .session_timeout(Duration::from_millis(1500))
                    .connect()
                    .await
                {
                    Ok(c) => {
                        current = c;
                        break;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
            if tx.send(current.clone()).is_err() {
                return;
            }
        }
    });
    (rx, task)
}

fn seeds() -> (u64, usize) {
    if let Some(one) = std::env::var("ZK_RECIPES_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return (one, 1);
    }
    let n = std::env::var("ZK_RECIPES_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let base = std::env::var("ZK_RECIPES_BASE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random_range(0..1_000_000_000u64));
    (base, n)
}

/// Acceptance: after any seeded sequence of changes and faults, once quiet,
/// the tree cache equals the server's tree (paths, data, every stat field).
/// `ZK_RECIPES_SEEDS` (default 200) seeds from a printed base; replay one
/// with `ZK_RECIPES_SEED=<seed>`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tree_cache_equals_server_after_seeded_faults() {
    let (base, n) = seeds();
    eprintln!(
        "tree cache convergence: base seed {base}, {n} seeds (replay one: ZK_RECIPES_SEED=<seed>)"
    );
    let mut failures = Vec::new();
    let concurrent = 8;
    let all: Vec<u64> = (0..n as u64).map(|k| base.wrapping_add(k)).collect();
    for chunk in all.chunks(concurrent) {
        let runs: Vec<_> = chunk
            .iter()
            .map(|&seed| tokio::spawn(async move { (seed, one_seed(seed).await) }))
            .collect();
        for r in runs {
            let (seed, r) = r.await.unwrap();
            if let Err(e) = r {
                eprintln!("seed {seed} FAILED:\n{e}");
                failures.push(seed);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "failing seeds (replay with ZK_RECIPES_SEED=<seed>): {failures:?}"
    );
}

async fn next_change(events: &mut zk_recipes::cache::CacheEvents) -> CacheEvent {
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("an event in time")
            .expect("the cache is live");
        if !matches!(ev, CacheEvent::Updated { .. }) {
            return ev;
        }
    }
}

/// A node deleted and re-created at the same version while the cache was
/// cut off is reported as Removed then Added (told apart by czxid), a
/// deleted subtree as Removed, a deep new subtree as Added, and the cache
/// then equals the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_across_a_disconnect_sees_delete_and_recreate() {
    // Tick 100 ms: the 1.5 s session outlives the outage.
    let ens = ensemble_with_tick(11, 100).await;
    let leader = ens.leader().unwrap();
    let cut = (0..3).find(|&i| i != leader).unwrap();
    let other = (0..3).find(|&i| i != leader && i != cut).unwrap();
    let writer = connect(&ens.addr(other).to_string()).await;
    for p in ["/t", "/t/x", "/t/gone", "/t/gone/deep"] {
        writer
            .create(p, b"same", &CreateOptions::default())
            .await
            .unwrap();
    }
    // The cache's client can only reach the server about to be cut off.
    let cache_client = connect(&ens.addr(cut).to_string()).await;
    let (cache, mut events) = TreeCache::builder("/t").start_with_events(&cache_client);
    cache.initialized().await.unwrap();
    while next_change(&mut events).await != CacheEvent::Initialized {}
    let old_x = cache.get("/t/x").unwrap();

    ens.isolate(cut);
    ens.drop_client_connections(cut);
    writer.delete("/t/x", None).await.unwrap();
    writer
        .create("/t/x", b"same", &CreateOptions::default())
        .await
        .unwrap();
    writer.delete("/t/gone/deep", None).await.unwrap();
    writer.delete("/t/gone", None).await.unwrap();
    writer
        .create("/t/new", b"", &CreateOptions::default())
        .await
        .unwrap();
    writer
        .create("/t/new/a", b"", &CreateOptions::default())
        .await
        .unwrap();
    writer
        .create("/t/new/a/b", b"deep", &CreateOptions::default())
        .await
        .unwrap();
    ens.heal();

    converge(&ens, &cache, "/t", Duration::from_secs(30))
        .await
        .unwrap();
    let mut seen = Vec::new();
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(300), events.recv()).await {
        seen.push(ev);
    }
    assert!(
        seen.contains(&CacheEvent::Resynced),
        "a complete re-read after the reconnect: {seen:#?}"
    );
    let new_x = cache.get("/t/x").unwrap();
    assert_eq!(
        new_x.stat.version, old_x.stat.version,
        "same version: only czxid tells"
    );
    assert_ne!(new_x.stat.czxid, old_x.stat.czxid);
    assert!(seen.contains(&CacheEvent::Removed(old_x)), "{seen:#?}");
    assert!(seen.contains(&CacheEvent::Added(new_x)), "{seen:#?}");
    for gone in ["/t/gone", "/t/gone/deep"] {
        assert!(
            seen.iter()
                .any(|e| matches!(e, CacheEvent::Removed(n) if n.path == gone)),
            "{gone} removed: {seen:#?}"
        );
    }
    assert!(
        seen.iter()
            .any(|e| matches!(e, CacheEvent::Added(n) if n.path == "/t/new/a/b")),
        "{seen:#?}"
    );
}

/// An initial load cut by a connection loss does not announce Initialized
/// until a complete read finishes; the cache then holds every node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_initial_load_initializes_only_when_complete() {
    let ens = small_ensemble(12).await;
    let writer = connect(&ens.addr(0).to_string()).await;
    writer
        .create("/t", b"", &CreateOptions::default())
        .await
        .unwrap();
    for i in 0..50 {
        writer
            .create(
                &format!("/t/n{i}"),
                format!("{i}").as_bytes(),
                &CreateOptions::default(),
            )
            .await
            .unwrap();
    }
    let cache_client = connect(&ens.addr(1).to_string()).await;
    // Replies come slowly (within the 1 s session timeout of 20 ticks).
    ens.delay_replies(1, Duration::from_millis(150));
    let (cache, mut events) = TreeCache::builder("/t")
        .concurrency(4)
        .start_with_events(&cache_client);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!cache.status().initialized, "the load is still running");
    ens.drop_client_connections(1);
    ens.delay_replies(1, Duration::ZERO);
    cache.initialized().await.unwrap();
    assert_eq!(cache.len(), 51);
    converge(&ens, &cache, "/t", Duration::from_secs(30))
        .await
        .unwrap();
    let mut initialized = 0;
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(200), events.recv()).await {
        if ev == CacheEvent::Initialized {
            initialized += 1;
        }
    }
    assert_eq!(initialized, 1);
}

/// A node cache follows one node: absent, created, changed, deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_cache_follows_one_node() {
    let ens = small_ensemble(13).await;
    let c = connect(&ens.connect_string()).await;
    let cache = NodeCache::start(&c, "/cfg");
    cache.initialized().await.unwrap();
    assert_eq!(cache.current(), None);
    let mut events = cache.events();
    c.create("/cfg", b"1", &CreateOptions::default())
        .await
        .unwrap();
    assert!(matches!(next_change(&mut events).await, CacheEvent::Added(n) if &n.data[..] == b"1"));
    c.set_data("/cfg", b"2", None).await.unwrap();
    // A child changes the node's stat (not its data) and is not cached.
    c.create("/cfg/child", b"", &CreateOptions::default())
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let cur = cache.current().unwrap();
        if &cur.data[..] == b"2" && cur.stat.num_children == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{cur:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        cache.current_and_events().0.map(|n| n.path),
        Some("/cfg".into())
    );
    c.delete("/cfg/child", None).await.unwrap();
    c.delete("/cfg", None).await.unwrap();
    loop {
        if let CacheEvent::Removed(n) = next_change(&mut events).await {
            assert_eq!(n.path, "/cfg");
            break;
        }
    }
    assert_eq!(cache.current(), None);
}

/// Reads the subtree at `root` with plain reads (for servers without a
/// snapshot API).
async fn read_tree(c: &Client, root: &str) -> Tree {
    let mut out = Tree::new();
    let mut todo = vec![root.to_string()];
    while let Some(p) = todo.pop() {
        let Ok((data, stat)) = c.get_data(&p).await else {
            continue;
        };
        for child in c.get_children(&p).await.unwrap_or_default() {
            todo.push(format!("{p}/{child}"));
        }
        out.insert(p, (data, stat));
    }
    out
}

/// The same cache on a real ZooKeeper 3.8: initial load, creates, a
/// delete-and-recreate, a subtree delete; then it equals the server's tree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tree_cache_equals_real_zookeeper() {
    if !std::path::Path::new("/usr/share/java/zookeeper.jar").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have ZooKeeper (.ci/install-deps.sh)"
        );
        eprintln!("skipped: ZooKeeper is not installed");
        return;
    }
    let real = zk_server_sim::real::RealEnsemble::shared_standalone().unwrap();
    let chroot = real.chroot("tree-cache");
    let base = Client::connect(chroot.base_connect_string.as_str())
        .await
        .unwrap();
    for p in ["/it", chroot.path.as_str()] {
        match base.create(p, b"", &CreateOptions::default()).await {
            Ok(_) | Err(zk_client::Error::NodeExists) => {}
            Err(e) => panic!("{p}: {e}"),
        }
    }
    let c = Client::connect(chroot.connect_string.as_str())
        .await
        .unwrap();
    for p in ["/t", "/t/a", "/t/a/b", "/t/x", "/t/gone", "/t/gone/deep"] {
        c.create(p, b"v", &CreateOptions::default()).await.unwrap();
    }
    let (cache, mut events) = TreeCache::builder("/t").start_with_events(&c);
    cache.initialized().await.unwrap();
    c.set_data("/t/a/b", b"w", None).await.unwrap();
    c.delete("/t/x", None).await.unwrap();
    c.create("/t/x", b"v", &CreateOptions::default())
        .await
        .unwrap();
    c.delete_all_for_test("/t/gone").await;
    c.create("/t/new", b"n", &CreateOptions::default())
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let server = read_tree(&c, "/t").await;
        if server == cache_tree(&cache) && cache.status().in_sync {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}",
            diff(&cache_tree(&cache), &server)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut removed = Vec::new();
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(200), events.recv()).await {
        if let CacheEvent::Removed(n) = ev {
            removed.push(n.path);
        }
    }
    assert!(removed.contains(&"/t/x".to_string()), "{removed:?}");
    assert!(removed.contains(&"/t/gone/deep".to_string()), "{removed:?}");
}

trait DeleteAll {
    async fn delete_all_for_test(&self, path: &str);
}

impl DeleteAll for Client {
    async fn delete_all_for_test(&self, path: &str) {
        for child in self.get_children(path).await.unwrap() {
            self.delete(&format!("{path}/{child}"), None).await.unwrap();
        }
        self.delete(path, None).await.unwrap();
    }
}

/// Bounded memory under an event flood: a subscriber that does not read
/// while hundreds of events pass never has more than the event buffer
/// waiting for it; when it reads again it gets `Lagged`, then a fresh
/// `Snapshot`, then the events after it, and its own model (the snapshot,
/// then each event applied) converges to the server's tree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_is_resynced_with_bounded_memory() {
    const BUFFER: usize = 16;
    let ens = small_ensemble(31).await;
    let c = connect(&ens.connect_string()).await;
    c.create("/flood", b"", &CreateOptions::default())
        .await
        .unwrap();
    let cache = TreeCache::builder("/flood").event_buffer(BUFFER).start(&c);
    cache.initialized().await.unwrap();
    let mut events = cache.events();
    // The flood, pipelined: 200 creates, then 200 updates.
    let opts = CreateOptions::default();
    let creates: Vec<_> = (0..200)
        .map(|i| c.create(&format!("/flood/n{i}"), b"0", &opts))
        .collect();
    for r in futures::future::join_all(creates).await {
        r.unwrap();
    }
    let sets: Vec<_> = (0..200)
        .map(|i| c.set_data(&format!("/flood/n{i}"), b"1", None))
        .collect();
    for r in futures::future::join_all(sets).await {
        r.unwrap();
    }
    // The cache takes it all in while the subscriber reads nothing.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !(cache_tree(&cache) == server_tree(&ens, "/flood") && cache.status().in_sync) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the cache never caught up"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Of the events sent meanwhile, only the buffer's worth was held for
    // the subscriber: the rest are reported missed, not queued.
    let sent = events.behind();
    assert!(sent > BUFFER, "a flood: {sent} events");
    match events.recv().await {
        Some(CacheEvent::Lagged { missed }) => assert_eq!(
            missed as usize + BUFFER,
            sent,
            "{sent} events sent, {missed} missed: more than {BUFFER} were held"
        ),
        other => panic!("expected Lagged, got {other:?}"),
    }
    let mut model = match events.recv().await {
        Some(CacheEvent::Snapshot(nodes)) => nodes,
        other => panic!("expected a Snapshot after Lagged, got {other:?}"),
    };
    // Changes after the snapshot arrive as events.
    c.set_data("/flood/n7", b"last", None).await.unwrap();
    c.delete("/flood/n8", None).await.unwrap();
    let tree = |m: &BTreeMap<String, zk_recipes::cache::ChildData>| -> Tree {
        m.iter()
            .map(|(p, n)| (p.clone(), (n.data.clone(), n.stat.clone())))
            .collect()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tree(&model) != server_tree(&ens, "/flood") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the subscriber's model never converged:\n{}",
            diff(&tree(&model), &server_tree(&ens, "/flood"))
        );
        match tokio::time::timeout(Duration::from_millis(100), events.recv()).await {
            Ok(Some(CacheEvent::Added(n))) | Ok(Some(CacheEvent::Updated { new: n, .. })) => {
                model.insert(n.path.clone(), n);
            }
            Ok(Some(CacheEvent::Removed(n))) => {
                model.remove(&n.path);
            }
            Ok(Some(CacheEvent::Snapshot(nodes))) => model = nodes,
            Ok(Some(CacheEvent::Lagged { .. })) => panic!("lagged again without a flood"),
            Ok(None) => panic!("the cache closed"),
            _ => {}
        }
    }
    assert_eq!(
        model.get("/flood/n7").map(|n| &n.data[..]),
        Some(&b"last"[..])
    );
    assert!(!model.contains_key("/flood/n8"));
}
