//! The README's main job: three workers on an embedded, simulated 3-node
//! ensemble elect a leader, share a lock (with fencing tokens), register as a
//! service and follow a typed config node; then the host of the leading
//! worker crashes (its ZooKeeper server is killed and the worker is cut off
//! with it), and the survivors fail over: a new leader, the lock still
//! exclusive, the dead worker's registration gone, the config still current.
//!
//! The `quickstart` binary prints the narration; the `tests` crate runs the
//! same scenario and checks the [`Report`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use zk_client::{Client, CreateOptions};
use zk_recipes::discovery::{ServiceCache, ServiceDiscovery, ServiceInstance};
use zk_recipes::{config::TypedConfig, ConnectionState, LeaderLatch, Mutex, Session};
use zk_server_sim::testkit::FaultProxy;
use zk_server_sim::Ensemble;

/// Any error of the scenario.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The shared configuration every worker follows (JSON in `/demo/config`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppConfig {
    /// A greeting the workers print.
    pub greeting: String,
    /// The config's revision.
    pub revision: u32,
}

/// What the scenario observed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The simulator's seed (replay with `ZK_SIM_SEED`).
    pub seed: u64,
    /// Every leader in the order it gained leadership, with its fencing token.
    pub leaders: Vec<(String, i64)>,
    /// The fencing token of every lock hold whose fenced write committed, in order.
    pub lock_tokens: Vec<i64>,
    /// Holds that began while another worker still believed it held the lock.
    pub overlapping_holds: usize,
    /// The worker whose host crashed (it led when the crash came).
    pub crashed: String,
    /// The server that was killed with it.
    pub killed_server: usize,
    /// The registered instances (ids) an observer saw before the crash.
    pub services_before: Vec<String>,
    /// The registered instances (ids) the observer saw at the end.
    pub services_after: Vec<String>,
    /// The config revision each surviving worker held at the end.
    pub config_after: Vec<(String, u32)>,
}

/// The narration sink shared by the workers' tasks.
type Say = Arc<dyn Fn(String) + Send + Sync>;

/// One worker: its session and recipes, and the tasks that narrate them.
struct Worker {
    id: String,
    session: Session,
    latch: LeaderLatch,
    config: TypedConfig<AppConfig>,
    _discovery: ServiceDiscovery,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// What the workers record together.
#[derive(Default)]
struct Shared {
    leaders: StdMutex<Vec<(String, i64)>>,
    lock_tokens: StdMutex<Vec<i64>>,
    overlaps: StdMutex<usize>,
    held: AtomicBool,
    stop: AtomicBool,
}

/// Runs the scenario on a fresh 3-node simulated ensemble, narrating through `say`.
pub async fn run(say: impl Fn(String) + Send + Sync + 'static) -> Result<Report, BoxError> {
    let started = Instant::now();
    let say: Say = Arc::new(move |line| {
        let t = started.elapsed().as_secs_f64();
        say(format!("[{t:6.2}s] {line}"));
    });

    // 1. An in-process ensemble: three servers on loopback ports, one leader.
    let ensemble = Ensemble::builder()
        .nodes(3)
        .tick_time(Duration::from_millis(100))
        .build()
        .await?;
    let seed = ensemble.seed();
    say(format!(
        "ensemble up: {} (seed {seed}; replay with ZK_SIM_SEED={seed}); ZooKeeper leader is server {}",
        ensemble.connect_string(),
        ensemble.leader().ok_or("no leader elected")?
    ));

    // 2. The shared config, written by an operator's client.
    let admin = Client::connect(ensemble.connect_string()).await?;
    admin
        .create(
            "/demo/config",
            br#"{"greeting":"hello","revision":1}"#,
            CreateOptions::persistent().with_parents(),
        )
        .await?;
    admin
        .create("/demo/lock-owner", b"", CreateOptions::persistent())
        .await?;
    say("operator wrote /demo/config = {\"greeting\":\"hello\",\"revision\":1}".to_owned());

    // 3. Three workers, each on "its own host" with one ZooKeeper server: a
    //    proxy stands for the host's network, so a host crash cuts the worker
    //    off without closing its session.
    let shared = Arc::new(Shared::default());
    let mut proxies = Vec::new();
    let mut workers = Vec::new();
    for i in 0..3 {
        let proxy = FaultProxy::start(ensemble.addr(i)).await?;
        let id = format!("w{i}");
        let session = Session::builder(
            Client::builder(proxy.addr().to_string()).session_timeout(Duration::from_secs(2)),
        )
        .connect()
        .await?;
        workers.push(start_worker(&id, 9000 + i as u16, session, &say, &shared).await?);
        proxies.push(proxy);
    }

    // 4. An observer watches the service registry.
    let services = ServiceCache::<serde_json::Value>::start(&admin, "/demo/services", "worker");
    services.initialized().await?;
    let observer = {
        let say = say.clone();
        let mut changes = services.changes();
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                let ids = ids_of(&changes.borrow_and_update());
                say(format!("observer: worker instances now {ids:?}"));
            }
        })
    };

    // Let them work: one leads, the lock goes round.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let services_before = wait_for_instances(&services, 3).await?;

    // 5. The leading worker's host crashes: its server dies and it is cut off.
    let (leader_index, leader) = workers
        .iter()
        .enumerate()
        .find(|(_, w)| w.latch.is_leader())
        .map(|(i, w)| (i, w.id.clone()))
        .ok_or("no worker leads")?;
    say(format!(
        "CRASH: the host of leader {leader} goes down (server {leader_index} killed, {leader} cut off)"
    ));
    proxies
        .get(leader_index)
        .ok_or("no proxy for the leader")?
        .blackhole(true);
    ensemble.kill(leader_index);

    // 6. Meanwhile the operator publishes a new config revision.
    tokio::time::sleep(Duration::from_millis(300)).await;
    admin
        .set_data(
            "/demo/config",
            br#"{"greeting":"hello again","revision":2}"#,
            None,
        )
        .await?;
    say("operator wrote /demo/config revision 2".to_owned());

    // 7. The crashed worker's session expires on the servers: a new leader
    //    is elected, the lock moves on, its registration goes.
    let services_after = wait_for_instances(&services, 2).await?;
    tokio::time::sleep(Duration::from_millis(2500)).await;

    // 8. Stop the workers, close their sessions, and sum up.
    shared.stop.store(true, Ordering::SeqCst);
    let mut config_after = Vec::new();
    for (i, worker) in workers.into_iter().enumerate() {
        if i != leader_index {
            let revision = worker.config.current().map(|c| c.revision).unwrap_or(0);
            config_after.push((worker.id.clone(), revision));
        }
        for task in &worker.tasks {
            task.abort();
        }
        let _ = worker.latch.close().await;
        let _ = worker.session.close().await;
    }
    observer.abort();
    admin.close().await?;

    let leaders = lock(&shared.leaders).clone();
    let lock_tokens = lock(&shared.lock_tokens).clone();
    let overlapping_holds = *lock(&shared.overlaps);
    say(format!(
        "summary: leaders in order {leaders:?}; {} fenced lock holds, tokens strictly increasing: {}; \
         overlapping holds: {overlapping_holds}",
        lock_tokens.len(),
        lock_tokens.windows(2).all(|w| w.first() < w.get(1)),
    ));
    say(format!(
        "summary: instances before {services_before:?}, after {services_after:?}; config at the end {config_after:?}"
    ));
    Ok(Report {
        seed,
        leaders,
        lock_tokens,
        overlapping_holds,
        crashed: leader,
        killed_server: leader_index,
        services_before,
        services_after,
        config_after,
    })
}

/// Starts one worker's recipes and the tasks that narrate them.
async fn start_worker(
    id: &str,
    port: u16,
    session: Session,
    say: &Say,
    shared: &Arc<Shared>,
) -> Result<Worker, BoxError> {
    let latch = LeaderLatch::start(&session, "/demo/leader", id)?;
    let discovery = ServiceDiscovery::on_session(&session, "/demo/services");
    discovery
        .register(&ServiceInstance::new("worker", "127.0.0.1", port).with_id(id))
        .await?;
    let config = TypedConfig::<AppConfig>::start_on(&session, "/demo/config");
    config.initialized().await?;
    say(format!(
        "{id}: session {:#x}, registered as worker 127.0.0.1:{port}, config {:?}",
        session.client().session_id(),
        config.current().map(|c| (c.greeting.clone(), c.revision)),
    ));
    let mut tasks = Vec::new();

    // Session states.
    tasks.push({
        let (say, id, mut states) = (say.clone(), id.to_owned(), session.states());
        tokio::spawn(async move {
            while states.changed().await.is_ok() {
                let state = *states.borrow_and_update();
                say(format!("{id}: connection {state:?}"));
                if state == ConnectionState::Lost {
                    say(format!("{id}: session lost: no longer leader, no lock"));
                }
            }
        })
    });

    // Leadership edges.
    tasks.push({
        let (say, id, shared) = (say.clone(), id.to_owned(), shared.clone());
        let mut leadership = latch.leadership();
        tokio::spawn(async move {
            loop {
                let token = leadership.borrow_and_update().fencing_token();
                match token {
                    Some(token) => {
                        let mut leaders = lock(&shared.leaders);
                        if leaders.last() != Some(&(id.clone(), token)) {
                            leaders.push((id.clone(), token));
                        }
                        drop(leaders);
                        say(format!("{id}: LEADER (fencing token {token:#x})"));
                    }
                    None => say(format!("{id}: follower")),
                }
                if leadership.changed().await.is_err() {
                    break;
                }
            }
        })
    });

    // Config changes.
    tasks.push({
        let (say, id) = (say.clone(), id.to_owned());
        let mut changes = config.changes();
        tokio::spawn(async move {
            while let Some(event) = changes.recv().await {
                if let zk_recipes::config::ConfigEvent::Value(c) = event {
                    say(format!(
                        "{id}: config revision {}: {:?}",
                        c.revision, c.greeting
                    ));
                }
            }
        })
    });

    // The lock loop: hold, write fenced, release.
    tasks.push({
        let (say, id, shared) = (say.clone(), id.to_owned(), shared.clone());
        let mutex = Mutex::new(&session, "/demo/lock")?;
        tokio::spawn(async move {
            while !shared.stop.load(Ordering::SeqCst) {
                let guard = match mutex.acquire().await {
                    Ok(guard) => guard,
                    Err(e) if e.is_retriable() => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                    Err(e) => {
                        say(format!("{id}: lock: {e}"));
                        break;
                    }
                };
                let token = guard.fencing_token();
                if shared.held.swap(true, Ordering::SeqCst) {
                    *lock(&shared.overlaps) += 1;
                }
                let fenced = guard
                    .fenced(|txn| {
                        txn.set_data("/demo/lock-owner", token.to_string().as_bytes(), None)
                    })
                    .await;
                match fenced {
                    Ok(_) => {
                        lock(&shared.lock_tokens).push(token);
                        say(format!(
                            "{id}: lock held (fencing token {token:#x}), fenced write ok"
                        ));
                    }
                    Err(e) => say(format!(
                        "{id}: lock token {token:#x}: fenced write refused: {e}"
                    )),
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
                shared.held.store(false, Ordering::SeqCst);
                let _ = guard.release().await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    });

    Ok(Worker {
        id: id.to_owned(),
        session,
        latch,
        config,
        _discovery: discovery,
        tasks,
    })
}

/// Waits until the observer's cache holds `n` instances; returns their ids.
async fn wait_for_instances(
    cache: &ServiceCache<serde_json::Value>,
    n: usize,
) -> Result<Vec<String>, BoxError> {
    let mut changes = cache.changes();
    let seen = tokio::time::timeout(
        Duration::from_secs(15),
        changes.wait_for(|instances| instances.len() == n),
    )
    .await
    .map_err(|_| format!("the registry never showed {n} instances"))??
    .clone();
    Ok(ids_of(&seen))
}

/// The sorted ids of `instances`.
fn ids_of(instances: &[ServiceInstance<serde_json::Value>]) -> Vec<String> {
    let mut ids: Vec<String> = instances.iter().map(|i| i.id.clone()).collect();
    ids.sort();
    ids
}

/// Locks a std mutex, recovering from poisoning (a narrator task that
/// panicked must not take the summary with it).
fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
