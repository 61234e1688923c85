//! The fault campaign: clients contend for a mutex and a leader latch while
//! a seeded schedule injects faults into a simulated ensemble; a checker
//! that sees only what the clients observed asserts the guarantees.
//!
//! - `ZK_RECIPES_SEEDS` — how many seeds (default 500);
//! - `ZK_RECIPES_BASE_SEED` — the first seed (default: random, printed);
//! - `ZK_RECIPES_SEED` — run only this seed (replay a failure);
//! - `ZK_RECIPES_JOBS` — seeds run at once (default 16; the runs mostly wait).
//!
//! Holders increment a shared counter with fenced writes (a multi: a check
//! on the holder's node, then a versioned setData) and record the value
//! they wrote and their fencing token. The checker asserts, per counter:
//! every value was written once; ordered by value (the server's order),
//! fencing tokens never decrease, so no two holds' fenced writes
//! interleave (no overlapping holders, never two leaders in the server's
//! order). After the schedule, every client releases or closes its recipes
//! (some mid-acquire, by cancellation) and the lock and latch directories
//! must empty while the sessions are still open: no orphan node.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zk_recipes::{HoldState, LeaderLatch, Leadership, Mutex, Session};
use zk_server_sim::Ensemble;

const CLIENTS: usize = 3;
const SESSION_TIMEOUT: Duration = Duration::from_millis(600);
const LOCK: &str = "/campaign/lock";
const LATCH: &str = "/campaign/latch";
const LOCK_COUNTER: &str = "/campaign/lock-counter";
const LATCH_COUNTER: &str = "/campaign/latch-counter";
const LOCK_BELIEF: &str = "/campaign/lock-belief";
const LATCH_BELIEF: &str = "/campaign/latch-belief";

/// One successful fenced write: the value written and the token it was made under.
#[derive(Debug, Clone, Copy)]
struct Write {
    /// Which client wrote (for the failure message).
    #[allow(dead_code)]
    client: usize,
    token: i64,
    value: u64,
}

#[derive(Default)]
struct Observations {
    /// Fenced writes of mutex holders.
    lock: Vec<Write>,
    /// Fenced writes of leaders.
    latch: Vec<Write>,
    /// Plain versioned writes a mutex holder made while it believed it held
    /// the lock (guard state Held): these test the recipe's belief, not the fence.
    lock_belief: Vec<Write>,
    /// Plain versioned writes made while the latch said Leader.
    latch_belief: Vec<Write>,
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    KillLeader { down_ms: u64, wipe: bool },
    Isolate { server: usize, for_ms: u64 },
    Pause { server: usize, for_ms: u64 },
    ExpireSession { client: usize },
    DropClientLinks { server: usize },
    ApplyThenDrop { server: usize },
}

/// The schedule: (pause before, fault), from the seed alone.
fn schedule(seed: u64) -> Vec<(u64, Fault)> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_fa17);
    let n = rng.random_range(4..=7);
    (0..n)
        .map(|_| {
            let before = rng.random_range(20..250);
            let server = rng.random_range(0..3);
            let fault = match rng.random_range(0..6) {
                0 => Fault::KillLeader {
                    down_ms: rng.random_range(50..900),
                    // Never wiped: a wiped disk voids Zab's durability
                    // assumption (two wipes in a row can lose an acknowledged
                    // write on any ZooKeeper), so a double write seen after one
                    // would blame the recipe for the storage's fault.
                    wipe: false,
                },
                1 => Fault::Isolate {
                    server,
                    for_ms: rng.random_range(50..1200),
                },
                2 => Fault::Pause {
                    server,
                    for_ms: rng.random_range(50..1000),
                },
                3 => Fault::ExpireSession {
                    client: rng.random_range(0..CLIENTS),
                },
                4 => Fault::DropClientLinks { server },
                _ => Fault::ApplyThenDrop { server },
            };
            (before, fault)
        })
        .collect()
}

async fn apply(ens: &Ensemble, sessions: &[Session], fault: Fault) {
    match fault {
        Fault::KillLeader { down_ms, wipe } => {
            if let Some(l) = ens.leader() {
                ens.kill(l);
                tokio::time::sleep(Duration::from_millis(down_ms)).await;
                ens.restart(l, wipe).await.expect("restart");
            }
        }
        Fault::Isolate { server, for_ms } => {
            ens.isolate(server);
            tokio::time::sleep(Duration::from_millis(for_ms)).await;
            ens.heal();
        }
        Fault::Pause { server, for_ms } => {
            ens.pause(server);
            tokio::time::sleep(Duration::from_millis(for_ms)).await;
            ens.resume(server);
        }
        Fault::ExpireSession { client } => {
            ens.expire_session(sessions[client].client().session_id());
        }
        Fault::DropClientLinks { server } => ens.drop_client_connections(server),
        Fault::ApplyThenDrop { server } => ens.apply_then_drop(server),
    }
}

/// Reads the counter and writes value + 1 under `fenced`; the value if it
/// succeeded.
async fn increment<F, Fut>(session: &Session, counter: &str, fenced: F) -> Option<u64>
where
    F: FnOnce(Vec<u8>, i32) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let (data, stat) = session.client().get_data(counter).await.ok()?;
    let v: u64 = std::str::from_utf8(&data).ok()?.parse().ok()?;
    let next = v + 1;
    fenced(next.to_string().into_bytes(), stat.version)
        .await
        .then_some(next)
}

async fn mutex_client(
    i: usize,
    session: Session,
    obs: Arc<StdMutex<Observations>>,
    stop: Arc<AtomicBool>,
) {
    let m = Mutex::new(&session, LOCK).unwrap();
    while !stop.load(Ordering::SeqCst) {
        match m.try_acquire(Duration::from_millis(400)).await {
            Ok(Some(g)) => {
                for _ in 0..3 {
                    let token = g.fencing_token();
                    let written = increment(&session, LOCK_COUNTER, |data, version| {
                        let g = &g;
                        async move {
                            g.fenced(|t| t.set_data(LOCK_COUNTER, &data, Some(version)))
                                .await
                                .is_ok()
                        }
                    })
                    .await;
                    if let Some(value) = written {
                        obs.lock().unwrap().lock.push(Write {
                            client: i,
                            token,
                            value,
                        });
                    }
                    let client = g.client().cloned();
                    let written = increment(&session, LOCK_BELIEF, |data, version| {
                        let g = &g;
                        async move {
                            let Some(client) = client else { return false };
                            g.state() == HoldState::Held
                                && client
                                    .set_data(LOCK_BELIEF, &data, Some(version))
                                    .await
                                    .is_ok()
                        }
                    })
                    .await;
                    if let Some(value) = written {
                        obs.lock().unwrap().lock_belief.push(Write {
                            client: i,
                            token,
                            value,
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                let _ = g.release().await;
            }
            Ok(None) => {}
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

async fn latch_client(
    i: usize,
    session: Session,
    obs: Arc<StdMutex<Observations>>,
    stop: Arc<AtomicBool>,
    step_down_on_suspended: bool,
) {
    let latch = LeaderLatch::builder(&session, LATCH, &format!("client-{i}"))
        .unwrap()
        .step_down_on_suspended(step_down_on_suspended)
        .start();
    let mut leadership = latch.leadership();
    while !stop.load(Ordering::SeqCst) {
        if !leadership.borrow_and_update().is_leader() {
            let _ = tokio::time::timeout(Duration::from_millis(100), leadership.changed()).await;
            continue;
        }
        let mut token = None;
        let written = increment(&session, LATCH_COUNTER, |data, version| {
            let (latch, token) = (&latch, &mut token);
            async move {
                match latch
                    .fenced(|t| t.set_data(LATCH_COUNTER, &data, Some(version)))
                    .await
                {
                    Ok(f) => {
                        *token = Some(f.fencing_token);
                        true
                    }
                    Err(_) => false,
                }
            }
        })
        .await;
        if let (Some(value), Some(token)) = (written, token) {
            obs.lock().unwrap().latch.push(Write {
                client: i,
                token,
                value,
            });
        }
        // A plain write, made only while the latch says Leader, through
        // the client of the session that owns the leader's node.
        let mut token = None;
        let written = increment(&session, LATCH_BELIEF, |data, version| {
            let (session, leadership, token) = (&session, &leadership, &mut token);
            async move {
                let (t, sid) = match &*leadership.borrow() {
                    Leadership::Leader {
                        fencing_token,
                        session_id,
                        ..
                    } => (*fencing_token, *session_id),
                    _ => return false,
                };
                let client = session.client();
                if client.session_id() != sid {
                    return false;
                }
                *token = Some(t);
                client
                    .set_data(LATCH_BELIEF, &data, Some(version))
                    .await
                    .is_ok()
            }
        })
        .await;
        if let (Some(value), Some(token)) = (written, token) {
            obs.lock().unwrap().latch_belief.push(Write {
                client: i,
                token,
                value,
            });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    latch.close().await.unwrap();
}

/// Ordered by value, tokens never decrease, and no value is written twice.
fn check(kind: &str, writes: &[Write]) -> Result<(), String> {
    let mut by_value: BTreeMap<u64, Write> = BTreeMap::new();
    for w in writes {
        if let Some(prev) = by_value.insert(w.value, *w) {
            return Err(format!(
                "{kind}: value {} written twice: {prev:?} and {w:?}",
                w.value
            ));
        }
    }
    let mut last: Option<Write> = None;
    for w in by_value.values() {
        if let Some(p) = last {
            if w.token < p.token {
                return Err(format!(
                    "{kind}: overlapping holds: {p:?} then {w:?} (an older holder wrote after a newer one)"
                ));
            }
        }
        last = Some(*w);
    }
    Ok(())
}

fn children_on(ens: &Ensemble, server: usize, dir: &str) -> Vec<String> {
    let prefix = format!("{dir}/");
    ens.snapshot(server)
        .keys()
        .filter(|k| k.starts_with(&prefix) && !k[prefix.len()..].contains('/'))
        .cloned()
        .collect()
}

/// Creates the campaign's nodes (each create idempotent on a retry).
async fn create_nodes(
    hosts: &str,
    policy: &zk_client::retry::ExponentialBackoff,
) -> Result<(), zk_client::Error> {
    let admin = zk_client::retry::retry(policy, || {
        zk_client::Client::builder(hosts)
            .connect_timeout(Duration::from_secs(2))
            .connect()
    })
    .await?;
    for c in [
        "/campaign",
        LOCK_COUNTER,
        LATCH_COUNTER,
        LOCK_BELIEF,
        LATCH_BELIEF,
    ] {
        let data: &[u8] = if c == "/campaign" { b"" } else { b"0" };
        match admin
            .create(c, data, zk_client::CreateOptions::persistent())
            .await
        {
            // An earlier attempt made it (its reply or its session was lost).
            Ok(_) | Err(zk_client::Error::NodeExists) => {}
            Err(e) => return Err(e),
        }
    }
    let _ = admin.close().await;
    Ok(())
}

/// The number of checked writes (mutex, latch), or what went wrong.
type SeedResult = Result<(usize, usize), String>;

async fn run_seed(seed: u64) -> SeedResult {
    let ens = Ensemble::builder()
        .nodes(3)
        .seed(seed)
        .tick_time(Duration::from_millis(20))
        .min_session_timeout(Duration::from_millis(200))
        .sync_limit(5)
        .build()
        .await
        .map_err(|e| format!("ensemble: {e}"))?;
    let hosts = ens.connect_string();
    let mut rng = StdRng::seed_from_u64(seed);
    // Setup is retried: a loaded machine may time a connection out before
    // any fault is injected, which says nothing about the recipes.
    let policy = zk_client::retry::ExponentialBackoff::new(
        Duration::from_millis(20),
        Duration::from_millis(500),
    )
    .max_elapsed(Duration::from_secs(30));
    // The admin client's session may even expire under load (the
    // simulator's 20 ms ticks cap timeouts at 400 ms): then start over.
    let mut attempt = 0;
    loop {
        match create_nodes(&hosts, &policy).await {
            Ok(()) => break,
            Err(e) if attempt < 20 && (e.is_retriable() || e.is_terminal()) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(format!("setup: {e}")),
        }
    }
    let mut sessions = Vec::new();
    for _ in 0..CLIENTS {
        let mut attempt = 0;
        let s = loop {
            match Session::builder(
                zk_client::Client::builder(hosts.as_str())
                    .session_timeout(SESSION_TIMEOUT)
                    .connect_timeout(Duration::from_secs(1)),
            )
            .connect()
            .await
            {
                Ok(s) => break s,
                Err(e) if attempt < 20 && e.is_retriable() => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(format!("setup: session: {e}")),
            }
        };
        sessions.push(s);
    }
    let obs = Arc::new(StdMutex::new(Observations::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut mutexes = Vec::new();
    let mut latches = Vec::new();
    for (i, s) in sessions.iter().enumerate() {
        mutexes.push(tokio::spawn(mutex_client(
            i,
            s.clone(),
            obs.clone(),
            stop.clone(),
        )));
        let step_down = rng.random_bool(0.5);
        latches.push(tokio::spawn(latch_client(
            i,
            s.clone(),
            obs.clone(),
            stop.clone(),
            step_down,
        )));
    }
    for (before, fault) in schedule(seed) {
        tokio::time::sleep(Duration::from_millis(before)).await;
        apply(&ens, &sessions, fault).await;
    }
    // Everything heals; the clients run on a little, then stop: the latch
    // clients close, the mutex clients are cancelled wherever they are.
    ens.heal();
    for i in 0..ens.len() {
        ens.resume(i);
    }
    tokio::time::sleep(Duration::from_millis(rng.random_range(100..400))).await;
    stop.store(true, Ordering::SeqCst);
    for m in &mutexes {
        m.abort();
    }
    for l in latches {
        tokio::time::timeout(Duration::from_secs(20), l)
            .await
            .map_err(|_| "a latch client did not stop".to_string())?
            .map_err(|e| format!("latch client: {e}"))?;
    }
    // No orphans: the directories empty while the sessions are still open
    // (the nodes of lost sessions go when the server expires them).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let leader = ens.leader().unwrap_or(0);
        let left: Vec<String> = [LOCK, LATCH]
            .iter()
            .flat_map(|d| children_on(&ens, leader, d))
            .collect();
        if left.is_empty() {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("orphan nodes once every recipe closed: {left:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for s in &sessions {
        let _ = s.close().await;
    }
    let obs = obs.lock().unwrap();
    check("mutex", &obs.lock)?;
    check("latch", &obs.latch)?;
    check("mutex (holder's belief)", &obs.lock_belief)?;
    check("latch (leader's belief)", &obs.latch_belief)?;
    Ok((
        obs.lock.len() + obs.lock_belief.len(),
        obs.latch.len() + obs.latch_belief.len(),
    ))
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name)
        .ok()
        .and_then(|s| zk_server_sim::parse_seed(&s))
}

#[test]
fn fault_campaign() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (seeds, base): (Vec<u64>, u64) = match env_u64("ZK_RECIPES_SEED") {
        Some(s) => (vec![s], s),
        None => {
            let n = env_u64("ZK_RECIPES_SEEDS").unwrap_or(500);
            let base = env_u64("ZK_RECIPES_BASE_SEED").unwrap_or_else(rand::random);
            ((0..n).map(|i| base.wrapping_add(i)).collect(), base)
        }
    };
    let jobs = env_u64("ZK_RECIPES_JOBS").unwrap_or(16).max(1) as usize;
    eprintln!(
        "fault campaign: {} seeds from base seed {base} ({jobs} at once); replay one with ZK_RECIPES_SEED=<seed>",
        seeds.len()
    );
    let start = std::time::Instant::now();
    let results: Vec<(u64, SeedResult)> = rt.block_on(async {
        futures::stream::iter(seeds)
            .map(|seed| async move {
                let r = tokio::spawn(run_seed(seed)).await;
                (seed, r.unwrap_or_else(|e| Err(format!("panicked: {e}"))))
            })
            .buffer_unordered(jobs)
            .collect()
            .await
    });
    let (mut lock_writes, mut latch_writes) = (0, 0);
    let mut failures = Vec::new();
    for (seed, r) in &results {
        match r {
            Ok((l, t)) => {
                lock_writes += l;
                latch_writes += t;
            }
            Err(e) => failures.push(format!("seed {seed}: {e} (replay: ZK_RECIPES_SEED={seed})")),
        }
    }
    eprintln!(
        "fault campaign: {} seeds in {:.1} s; {lock_writes} lock-holder writes, {latch_writes} leader writes checked",
        results.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} failing seeds:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        lock_writes > 0 && latch_writes > 0,
        "the campaign made no fenced writes"
    );
}
