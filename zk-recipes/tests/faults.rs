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
//! on the holder's node, then a versioned setData) and record, from what
//! they observe only, each hold (client, fencing token, when the acquire
//! returned, when they released it or saw it lost) and each successful
//! write (token, the zxid of the reply's stat, when it was sent and when
//! its reply came). The checker asserts, per counter:
//!
//! - for any two holds by different clients that overlap in real time, not
//!   both have a successful write inside the overlap (sound whatever the
//!   delays: a hold starts only once its holder saw it first, so a write
//!   sent after that by an older holder must fail its check);
//! - ordered by zxid (the server's order), the successful writes' fencing
//!   tokens never go back: never two holders or leaders interleaved in the
//!   server's order.
//!
//! Fenced writes are checked, and so are plain versioned writes made while
//! the recipe said Held / Leader (these test the recipe's belief). Once the
//! faults heal, the mutex and the latch must each make `AFTER_HEAL` more
//! fenced writes in every seed (progress, and a minimum per seed of what is
//! checked). After that,
//! every client releases or closes its recipes (some mid-acquire, by
//! cancellation) and the lock and latch directories must empty while the
//! sessions are still open: no orphan node.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zk_client::OpResult;
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
/// Successful fenced writes each of the mutex and the latch must make
/// after the faults heal, in every seed (the minimum a seed checks).
const AFTER_HEAL: usize = 3;

/// One successful write, as its client saw it.
#[derive(Debug, Clone, Copy)]
struct Write {
    client: usize,
    /// The fencing token it was made under.
    token: i64,
    /// The zxid that wrote it (the mzxid of the reply's stat).
    zxid: i64,
    /// The counter value written (for the failure message).
    #[allow(dead_code)]
    value: u64,
    /// Sent (just before the request) and answered (just after the reply).
    sent: Instant,
    answered: Instant,
}

/// One hold of the lock or of leadership, as its client saw it.
#[derive(Debug, Clone, Copy)]
struct Hold {
    client: usize,
    token: i64,
    /// When the acquire returned (the latch said Leader with this token).
    start: Instant,
    /// When the holder released it or saw it lost; `None` if it never did
    /// (cancelled while holding): open to the end of the run.
    end: Option<Instant>,
}

#[derive(Default)]
struct Observations {
    /// The mutex's holds.
    lock_holds: Vec<Hold>,
    /// The latch's leaderships.
    latch_holds: Vec<Hold>,
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

/// Reads the counter and writes value + 1 with `write`, which returns the
/// token it wrote under and the write's zxid if it succeeded.
async fn increment<F, Fut>(
    session: &Session,
    client: usize,
    counter: &str,
    write: F,
) -> Option<Write>
where
    F: FnOnce(Vec<u8>, i32) -> Fut,
    Fut: std::future::Future<Output = Option<(i64, i64)>>,
{
    let (data, stat) = session.client().get_data(counter).await.ok()?;
    let v: u64 = std::str::from_utf8(&data).ok()?.parse().ok()?;
    let value = v + 1;
    let sent = Instant::now();
    let (token, zxid) = write(value.to_string().into_bytes(), stat.version).await?;
    Some(Write {
        client,
        token,
        zxid,
        value,
        sent,
        answered: Instant::now(),
    })
}

/// The zxid of a fenced setData's result.
fn set_data_zxid(results: &[OpResult]) -> Option<i64> {
    match results.first() {
        Some(OpResult::SetData { stat }) => Some(stat.mzxid),
        _ => None,
    }
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
                let token = g.fencing_token();
                let hold = {
                    let mut o = obs.lock().unwrap();
                    o.lock_holds.push(Hold {
                        client: i,
                        token,
                        start: Instant::now(),
                        end: None,
                    });
                    o.lock_holds.len() - 1
                };
                for _ in 0..3 {
                    if matches!(g.state(), HoldState::Lost(_)) {
                        break;
                    }
                    let written = increment(&session, i, LOCK_COUNTER, |data, version| {
                        let g = &g;
                        async move {
                            let r = g
                                .fenced(|t| t.set_data(LOCK_COUNTER, &data, Some(version)))
                                .await
                                .ok()?;
                            Some((token, set_data_zxid(&r)?))
                        }
                    })
                    .await;
                    if let Some(w) = written {
                        obs.lock().unwrap().lock.push(w);
                    }
                    let client = g.client().cloned();
                    let written = increment(&session, i, LOCK_BELIEF, |data, version| {
                        let g = &g;
                        async move {
                            let client = client?;
                            if g.state() != HoldState::Held {
                                return None;
                            }
                            let stat = client
                                .set_data(LOCK_BELIEF, &data, Some(version))
                                .await
                                .ok()?;
                            Some((token, stat.mzxid))
                        }
                    })
                    .await;
                    if let Some(w) = written {
                        obs.lock().unwrap().lock_belief.push(w);
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                obs.lock().unwrap().lock_holds[hold].end = Some(Instant::now());
                let _ = g.release().await;
            }
            Ok(None) => {}
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// Records the latch's leaderships as its client sees them (a hold per
/// token, from when Leader is seen to when it is seen to change).
async fn record_leadership(
    i: usize,
    mut leadership: tokio::sync::watch::Receiver<Leadership>,
    obs: Arc<StdMutex<Observations>>,
) {
    let mut open: Option<(i64, usize)> = None;
    loop {
        let token = leadership.borrow_and_update().fencing_token();
        let now = Instant::now();
        if open.map(|(t, _)| t) != token {
            let mut o = obs.lock().unwrap();
            if let Some((_, h)) = open.take() {
                o.latch_holds[h].end = Some(now);
            }
            if let Some(token) = token {
                o.latch_holds.push(Hold {
                    client: i,
                    token,
                    start: now,
                    end: None,
                });
                open = Some((token, o.latch_holds.len() - 1));
            }
        }
        if leadership.changed().await.is_err() {
            return;
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
    let recorder = tokio::spawn(record_leadership(i, latch.leadership(), obs.clone()));
    let mut leadership = latch.leadership();
    while !stop.load(Ordering::SeqCst) {
        if !leadership.borrow_and_update().is_leader() {
            let _ = tokio::time::timeout(Duration::from_millis(100), leadership.changed()).await;
            continue;
        }
        let written = increment(&session, i, LATCH_COUNTER, |data, version| {
            let latch = &latch;
            async move {
                let f = latch
                    .fenced(|t| t.set_data(LATCH_COUNTER, &data, Some(version)))
                    .await
                    .ok()?;
                Some((f.fencing_token, set_data_zxid(&f.results)?))
            }
        })
        .await;
        if let Some(w) = written {
            obs.lock().unwrap().latch.push(w);
        }
        // A plain write, made only while the latch says Leader, through
        // the client of the session that owns the leader's node.
        let written = increment(&session, i, LATCH_BELIEF, |data, version| {
            let (session, leadership) = (&session, &leadership);
            async move {
                let (token, sid) = match &*leadership.borrow() {
                    Leadership::Leader {
                        fencing_token,
                        session_id,
                        ..
                    } => (*fencing_token, *session_id),
                    _ => return None,
                };
                let client = session.client();
                if client.session_id() != sid {
                    return None;
                }
                let stat = client
                    .set_data(LATCH_BELIEF, &data, Some(version))
                    .await
                    .ok()?;
                Some((token, stat.mzxid))
            }
        })
        .await;
        if let Some(w) = written {
            obs.lock().unwrap().latch_belief.push(w);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    latch.close().await.unwrap();
    recorder.abort();
}

/// The checker, from the clients' observations only: no two overlapping
/// holds of different clients both wrote inside their overlap; ordered by
/// zxid, the writes' tokens never go back.
fn check(kind: &str, holds: &[Hold], writes: &[Write]) -> Result<(), String> {
    // Writes of a hold that lie wholly inside [lo, hi).
    let inside = |h: &Hold, lo: Instant, hi: Option<Instant>| -> Vec<Write> {
        writes
            .iter()
            .filter(|w| {
                w.client == h.client
                    && w.token == h.token
                    && w.sent >= lo
                    && hi.is_none_or(|hi| w.answered <= hi)
            })
            .copied()
            .collect()
    };
    for (n, a) in holds.iter().enumerate() {
        for b in &holds[n + 1..] {
            if a.client == b.client {
                continue;
            }
            let lo = a.start.max(b.start);
            let hi = match (a.end, b.end) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            };
            if hi.is_some_and(|hi| hi <= lo) {
                continue;
            }
            let (wa, wb) = (inside(a, lo, hi), inside(b, lo, hi));
            if let (Some(x), Some(y)) = (wa.first(), wb.first()) {
                return Err(format!(
                    "{kind}: overlapping holds both wrote inside their overlap: {a:?} wrote {x:?}, {b:?} wrote {y:?}"
                ));
            }
        }
    }
    let mut by_zxid: Vec<Write> = writes.to_vec();
    by_zxid.sort_by_key(|w| w.zxid);
    for pair in by_zxid.windows(2) {
        let (p, w) = (pair[0], pair[1]);
        if w.token < p.token {
            return Err(format!(
                "{kind}: in the server's order an older holder wrote after a newer one: {p:?} then {w:?}"
            ));
        }
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

/// The number of successful fenced writes (mutex, latch), or what went wrong.
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
    // Once healed, both recipes must make progress again: every seed then
    // checks at least AFTER_HEAL fenced writes of each (this waits for
    // events; the deadline only stops a hang).
    let counts = |o: &Observations| (o.lock.len(), o.latch.len());
    let (l0, t0) = counts(&obs.lock().unwrap());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (l, t) = counts(&obs.lock().unwrap());
        if l >= l0 + AFTER_HEAL && t >= t0 + AFTER_HEAL {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "no progress once healed: {} mutex and {} latch fenced writes in 30 s",
                l - l0,
                t - t0
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(rng.random_range(0..200))).await;
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
    check("mutex", &obs.lock_holds, &obs.lock)?;
    check("latch", &obs.latch_holds, &obs.latch)?;
    check("mutex (holder's belief)", &obs.lock_holds, &obs.lock_belief)?;
    check(
        "latch (leader's belief)",
        &obs.latch_holds,
        &obs.latch_belief,
    )?;
    Ok((obs.lock.len(), obs.latch.len()))
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
    let mut per_seed: Vec<(usize, usize)> = Vec::new();
    let mut failures = Vec::new();
    for (seed, r) in &results {
        match r {
            Ok(counts) => per_seed.push(*counts),
            Err(e) => failures.push(format!("seed {seed}: {e} (replay: ZK_RECIPES_SEED={seed})")),
        }
    }
    let lock_writes: usize = per_seed.iter().map(|c| c.0).sum();
    let latch_writes: usize = per_seed.iter().map(|c| c.1).sum();
    let mut totals: Vec<usize> = per_seed.iter().map(|c| c.0 + c.1).collect();
    totals.sort_unstable();
    eprintln!(
        "fault campaign: {} seeds in {:.1} s; {lock_writes} fenced lock-holder writes, {latch_writes} fenced leader writes checked; per seed min {} median {} max {}",
        results.len(),
        start.elapsed().as_secs_f64(),
        totals.first().copied().unwrap_or(0),
        totals.get(totals.len() / 2).copied().unwrap_or(0),
        totals.last().copied().unwrap_or(0),
    );
    assert!(
        failures.is_empty(),
        "{} failing seeds:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
