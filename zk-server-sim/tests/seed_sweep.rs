//! A seed sweep of random fault schedules against a simulated 5-node
//! ensemble: kills, restarts, partitions, pauses, held links and forced
//! elections between rounds of client writes, reads and syncs. Every 10
//! rounds a recovery point heals the ensemble and makes a write that must
//! be acknowledged, so every seed has writes for the later faults to lose.
//!
//! Each seed runs on its own current-thread tokio runtime with the clock
//! paused (virtual time, auto-advanced when every task waits), with the
//! clients' operations issued one at a time: the seed alone decides the
//! interleaving, so a seed replays to the same history
//! (`one_seed_replays_to_the_same_history` checks it).
//!
//! Every seed's client-visible history (what the clients sent and got
//! back, nothing from the simulator's own records) goes through
//! [`zk_server_sim::testkit::consistency::check`]; at the end every
//! acknowledged write must be readable after a sync, every node must hold
//! the same tree, and the simulator's own history check must pass too.
//!
//! `ZK_SIM_SEEDS` (default 100) seeds per run, derived from one base seed:
//! `ZK_SIM_SEED` or a fresh random one, printed. The first seed is the base
//! itself, so `ZK_SIM_SEED=<failing seed> ZK_SIM_SEEDS=1` replays a failure.
//! `scripts/seed-sweep.sh N` sweeps N seeds and prints the pass count.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use bytes::Bytes;
use rand::{Rng, SeedableRng};
use zk_proto::{
    CreateMode, CreateRequest, ErrorCode, GetDataRequest, Request, Response, SetDataRequest, Stat,
    SyncRequest,
};
use zk_server_sim::testkit::consistency::{check, History, Observed, Op, Recorder};
use zk_server_sim::testkit::RawClient;
use zk_server_sim::{Ensemble, Role};

const NODES: usize = 5;
const ROUNDS: usize = 30;
/// Every this many rounds (round 0 included) the schedule heals the
/// ensemble and makes one anchor write that must be acknowledged, so that
/// every seed has acknowledged writes for the later faults to threaten,
/// however unlucky its random rounds (seed 13927670132242762065 once had
/// only 2 acknowledged writes in all its rounds).
const RECOVERY_EVERY: usize = 10;
/// Attempts at a recovery point's anchor write before the seed fails: a
/// healed ensemble with every node up must elect a leader and take a write.
const ANCHOR_ATTEMPTS: usize = 5;

/// What one seed did, as the clients saw it.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    /// One line per fault and per operation, with results and zxids.
    lines: Vec<String>,
    /// The client-visible history the checker saw.
    history: History,
    acked: usize,
}

/// The i-th seed of a sweep from `base` (the 0th is `base` itself).
fn nth_seed(base: u64, i: u64) -> u64 {
    if i == 0 {
        return base;
    }
    // splitmix64 of base + i.
    let mut z = base.wrapping_add(i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The reply's Stat, without its times (the simulator stamps ctime/mtime
/// from the wall clock, the one thing a replay cannot repeat).
fn stat_of(body: &Option<Response>) -> Option<Stat> {
    let stat = match body {
        Some(Response::GetData(r)) => &r.stat,
        Some(Response::Create2(r)) => &r.stat,
        Some(Response::Stat(r)) => &r.stat,
        _ => return None,
    };
    Some(Stat {
        ctime: 0,
        mtime: 0,
        ..stat.clone()
    })
}

/// Sends `req`, records it as `op` for `session`; false when the link is
/// gone (the client must not be used again).
async fn step(
    c: &mut RawClient,
    rec: &Recorder,
    lines: &mut Vec<String>,
    session: u64,
    op: Op,
    req: Request,
) -> (bool, Option<ErrorCode>) {
    let id = rec.invoke(session, op.clone());
    match c.request(&req).await {
        Ok((h, body)) if h.err == ErrorCode::Ok => {
            lines.push(format!("  s{session} {op:?} ok zxid={:#x}", h.zxid));
            rec.ok(
                id,
                Observed {
                    zxid: Some(h.zxid),
                    stat: stat_of(&body),
                },
            );
            (true, Some(ErrorCode::Ok))
        }
        Ok((h, _)) => {
            lines.push(format!("  s{session} {op:?} {} zxid={:#x}", h.err, h.zxid));
            rec.failed(id, h.err, Some(h.zxid));
            (true, Some(h.err))
        }
        Err(e) => {
            lines.push(format!("  s{session} {op:?} unknown ({:?})", e.kind()));
            rec.unknown(id);
            (false, None)
        }
    }
}

fn create(path: &str) -> Request {
    Request::Create2(CreateRequest {
        path: path.into(),
        data: Bytes::new().into(),
        acl: zk_proto::Acl::open_unsafe(),
        flags: CreateMode::Persistent.code(),
    })
}

fn set_data(path: &str, n: u64) -> Request {
    Request::SetData(SetDataRequest {
        path: path.into(),
        data: Bytes::copy_from_slice(&n.to_be_bytes()).into(),
        version: -1,
    })
}

fn get(path: &str) -> Request {
    Request::GetData(GetDataRequest {
        path: path.into(),
        watch: false,
    })
}

fn sync(path: &str) -> Request {
    Request::Sync(SyncRequest { path: path.into() })
}

/// Restarts node `i`. Its port was free while it was down, and another
/// process on the machine may have taken it: then the node stays down (a
/// line says so), which is one more fault, not a failure of the seed.
async fn restart(ens: &Ensemble, i: usize, lines: &mut Vec<String>) -> Result<(), String> {
    match ens.restart(i, false).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            lines.push(format!(
                "restart {i}: port taken by another process; stays down"
            ));
            Ok(())
        }
        Err(e) => Err(format!("restart {i}: {e}")),
    }
}

/// Polls `f` in virtual time until true.
async fn until(what: &str, mut f: impl FnMut() -> bool) -> Result<(), String> {
    for _ in 0..10_000 {
        if f() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(format!("{what}: never happened"))
}

/// A recovery point's write: on the healed ensemble's leader, a create that
/// must be acknowledged within [`ANCHOR_ATTEMPTS`] tries (each with a fresh
/// session and a fresh path, so an unknown outcome is never retried as if
/// it had failed). Returns the acknowledged path.
async fn anchor_write(
    ens: &Ensemble,
    rec: &Recorder,
    lines: &mut Vec<String>,
    label: &mut u64,
    round: usize,
) -> Result<String, String> {
    for attempt in 0..ANCHOR_ATTEMPTS {
        until("a leader after healing", || ens.leader().is_some()).await?;
        let l = ens.leader().ok_or("no leader after healing")?;
        *label += 1;
        let session = *label;
        let p = format!("/anchor{round}-{attempt}");
        match RawClient::connect(ens.addr(l), 4_000).await {
            Err(e) => lines.push(format!("  s{session} connect to {l}: {:?}", e.kind())),
            Ok(mut c) => {
                c.set_request_timeout(Duration::from_secs(3));
                lines.push(format!("  s{session} on {l} (recovery point)"));
                let (_, code) = step(&mut c, rec, lines, session, Op::create(&p), create(&p)).await;
                c.disconnect();
                if code == Some(ErrorCode::Ok) {
                    return Ok(p);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(format!(
        "round {round}: no write acknowledged in {ANCHOR_ATTEMPTS} tries on a healed ensemble"
    ))
}

/// Runs one seed's schedule; Err says what broke.
async fn schedule(seed: u64) -> Result<Run, String> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let ens = Ensemble::builder()
        .nodes(NODES)
        .tick_time(Duration::from_millis(20))
        .seed(seed)
        .build()
        .await
        .map_err(|e| format!("build: {e}"))?;
    let rec = Recorder::new();
    let mut lines = Vec::new();
    let mut acked: Vec<String> = vec!["/shared".into()];
    let mut label = 0u64;
    let mut paths: Vec<String> = vec!["/shared".into()];
    {
        label += 1;
        let l = ens.leader().ok_or("no leader at the start")?;
        let mut c = RawClient::connect(ens.addr(l), 4_000)
            .await
            .map_err(|e| format!("first connect: {e}"))?;
        let (_, code) = step(
            &mut c,
            &rec,
            &mut lines,
            label,
            Op::create("/shared"),
            create("/shared"),
        )
        .await;
        if code != Some(ErrorCode::Ok) {
            return Err(format!("create /shared: {code:?}"));
        }
        c.disconnect();
    }
    for round in 0..ROUNDS {
        if round % RECOVERY_EVERY == 0 {
            // A recovery point: every seed gets stretches with a quorum,
            // and an acknowledged write that the faults after it threaten.
            ens.heal();
            for i in 0..NODES {
                if ens.role(i) == Some(Role::Down) {
                    restart(&ens, i, &mut lines).await?;
                }
            }
            lines.push(format!("round {round}: recovery"));
            let p = anchor_write(&ens, &rec, &mut lines, &mut label, round).await?;
            acked.push(p.clone());
            paths.push(p);
        }
        let mut paused = None;
        let fault = match rng.random_range(0..9) {
            0 => {
                let i = rng.random_range(0..NODES);
                ens.kill(i);
                format!("kill {i}")
            }
            1 => {
                let i = rng.random_range(0..NODES);
                // No wipes: a wiped disk voids Zab's durability assumption.
                restart(&ens, i, &mut lines).await?;
                format!("restart {i}")
            }
            2 => {
                let a = rng.random_range(0..NODES);
                let b = rng.random_range(0..NODES);
                ens.partition(&[a, b]);
                format!("partition {a} {b}")
            }
            3 => {
                ens.heal();
                "heal".into()
            }
            4 => {
                let i = rng.random_range(0..NODES);
                ens.pause(i);
                paused = Some(i);
                format!("pause {i}")
            }
            5 => {
                // From the leader to each other node with even odds (a
                // quorum may be out of reach), else one random link.
                let from = ens.leader().unwrap_or_else(|| rng.random_range(0..NODES));
                let to: Vec<usize> = (0..NODES)
                    .filter(|&i| i != from && rng.random_bool(0.5))
                    .collect();
                for &t in &to {
                    ens.hold(from, t);
                }
                format!("hold {from}->{to:?}")
            }
            6 => {
                ens.force_election();
                "force election".into()
            }
            _ => "none".into(),
        };
        let leader = ens.leader();
        lines.push(format!("round {round}: {fault}; leader {leader:?}"));
        let target = match leader {
            Some(l) if rng.random_bool(0.5) => l,
            _ => rng.random_range(0..NODES),
        };
        let serving = matches!(ens.role(target), Some(Role::Leading | Role::Following(_)));
        if serving && paused != Some(target) {
            label += 1;
            let session = label;
            match RawClient::connect(ens.addr(target), 4_000).await {
                Err(e) => lines.push(format!("  s{session} connect to {target}: {:?}", e.kind())),
                Ok(mut c) => {
                    c.set_request_timeout(Duration::from_secs(3));
                    lines.push(format!("  s{session} on {target}"));
                    for _ in 0..rng.random_range(1..7usize) {
                        let (live, code) = match rng.random_range(0..5) {
                            0 | 1 => {
                                let p = format!("/r{round}-{session}-{}", rng.random::<u16>());
                                let (live, code) = step(
                                    &mut c,
                                    &rec,
                                    &mut lines,
                                    session,
                                    Op::create(&p),
                                    create(&p),
                                )
                                .await;
                                if code == Some(ErrorCode::Ok) {
                                    acked.push(p.clone());
                                }
                                paths.push(p);
                                (live, code)
                            }
                            2 => {
                                let n = rng.random::<u64>();
                                let r = step(
                                    &mut c,
                                    &rec,
                                    &mut lines,
                                    session,
                                    Op::set_data("/shared"),
                                    set_data("/shared", n),
                                )
                                .await;
                                if r.1 == Some(ErrorCode::Ok) {
                                    acked.push("/shared".into());
                                }
                                r
                            }
                            3 => {
                                let p = paths[rng.random_range(0..paths.len())].clone();
                                step(&mut c, &rec, &mut lines, session, Op::read(&p), get(&p)).await
                            }
                            _ => {
                                let p = paths[rng.random_range(0..paths.len())].clone();
                                let (live, code) =
                                    step(&mut c, &rec, &mut lines, session, Op::sync(&p), sync(&p))
                                        .await;
                                if !live {
                                    (live, code)
                                } else {
                                    step(&mut c, &rec, &mut lines, session, Op::read(&p), get(&p))
                                        .await
                                }
                            }
                        };
                        let _ = code;
                        if !live {
                            break;
                        }
                    }
                    c.disconnect();
                }
            }
        }
        // Sometimes the leader dies mid-round, with the round's hold or
        // partition still in force: whatever it acknowledged must survive.
        if rng.random_bool(0.25) {
            if let Some(l) = ens.leader() {
                ens.kill(l);
                lines.push(format!("round {round}: kill leader {l} mid-round"));
            }
        }
        ens.release(None);
        if let Some(p) = paused {
            ens.resume(p);
        }
    }

    // Heal everything and let the ensemble converge.
    ens.heal();
    ens.release(None);
    for i in 0..NODES {
        if ens.role(i) == Some(Role::Down) {
            restart(&ens, i, &mut lines).await?;
        }
    }
    until("a leader", || ens.leader().is_some()).await?;
    let l = ens.leader().ok_or("no leader")?;
    until("every node caught up", || {
        (0..NODES)
            .filter(|&i| ens.role(i) != Some(Role::Down))
            .all(|i| ens.last_zxid(i) == ens.last_zxid(l))
    })
    .await?;

    // A fresh session syncs and reads back every path: every acknowledged
    // write must be there (the checker's sync-then-read rule).
    label += 1;
    let mut c = RawClient::connect(ens.addr(l), 10_000)
        .await
        .map_err(|e| format!("final connect: {e}"))?;
    step(&mut c, &rec, &mut lines, label, Op::sync("/"), sync("/")).await;
    for p in &paths {
        step(&mut c, &rec, &mut lines, label, Op::read(p), get(p)).await;
    }
    c.disconnect();

    let history = rec.history();
    if let Err(v) = check(&history) {
        let shown: Vec<String> = v.iter().take(5).map(ToString::to_string).collect();
        return Err(format!(
            "consistency check: {} violation(s): {}",
            v.len(),
            shown.join("; ")
        ));
    }
    let snap = ens.snapshot(l);
    for p in &acked {
        if !snap.contains_key(p) {
            return Err(format!("acknowledged write {p} lost"));
        }
    }
    for i in (0..NODES).filter(|&i| ens.role(i) != Some(Role::Down)) {
        if ens.snapshot(i) != snap {
            return Err(format!("node {i} differs from the leader {l}"));
        }
    }
    ens.check_history()
        .map_err(|e| format!("simulator history: {e}"))?;
    let writes = acked.len().saturating_sub(1);
    let mut keys: Vec<&String> = snap.keys().collect();
    keys.sort();
    lines.push(format!("final tree: {keys:?}"));
    Ok(Run {
        lines,
        history,
        acked: writes,
    })
}

/// Runs one seed on its own current-thread runtime with a paused clock.
fn run_seed(seed: u64) -> Result<Run, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .map_err(|e| e.to_string())?;
    let out =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(schedule(seed))));
    match out {
        Ok(r) => r,
        Err(p) => Err(format!(
            "panicked: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default()
        )),
    }
}

fn base_seed() -> u64 {
    std::env::var("ZK_SIM_SEED")
        .ok()
        .and_then(|s| zk_server_sim::parse_seed(&s))
        .unwrap_or_else(rand::random)
}

#[test]
fn random_fault_schedules_keep_the_guarantees_on_every_seed() {
    let started = std::time::Instant::now();
    let base = base_seed();
    let count: u64 = std::env::var("ZK_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    eprintln!("seed sweep: base seed {base} (ZK_SIM_SEED={base}), {count} seeds");
    let mut failures = Vec::new();
    let mut writes = Vec::new();
    for i in 0..count {
        let seed = nth_seed(base, i);
        match run_seed(seed) {
            Ok(run) => writes.push(run.acked),
            Err(e) => {
                eprintln!("seed {seed} FAILED: {e} (replay: ZK_SIM_SEED={seed} ZK_SIM_SEEDS=1)");
                failures.push(seed);
            }
        }
    }
    writes.sort_unstable();
    let passed = count - failures.len() as u64;
    eprintln!(
        "seed sweep: {passed} of {count} seeds passed (base seed {base}); acknowledged writes per passing seed: min {}, median {}, max {}",
        shown(writes.first()),
        shown(writes.get(writes.len() / 2)),
        shown(writes.last())
    );
    eprintln!("seed sweep: {:.1} s", started.elapsed().as_secs_f64());
    assert!(failures.is_empty(), "failing seeds: {failures:?}");
}

/// A count for the sweep's summary line ("-" when no seed passed).
fn shown(n: Option<&usize>) -> String {
    n.map_or_else(|| "-".to_owned(), ToString::to_string)
}

#[test]
fn one_seed_replays_to_the_same_history() {
    let base = base_seed();
    // A seed whose restart found its port taken by another process is not
    // a replay of the schedule alone; take the next one (rare).
    for i in 1..=3 {
        let seed = nth_seed(base, i);
        eprintln!("replay check: seed {seed}");
        let a = run_seed(seed).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let b = run_seed(seed).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        if [&a, &b]
            .iter()
            .any(|r| r.lines.iter().any(|l| l.contains("port taken")))
        {
            continue;
        }
        assert!(a.lines.len() > ROUNDS, "the schedule did something");
        assert_eq!(a.lines, b.lines, "seed {seed} replayed differently");
        assert_eq!(a.history, b.history, "seed {seed}: histories differ");
        return;
    }
    panic!("three seeds in a row met a taken port");
}
