//! The lock workloads of `bench`: zk-recipes' [`Mutex`] acquired and
//! released in a loop.
//!
//! | name | what is timed |
//! |---|---|
//! | `lock_cycle` | one session: 3,000 acquire+release cycles, after 500 untimed ones |
//! | `lock_contended_4` | four sessions on one lock, 500 cycles each after 100 untimed ones each; the rate is total cycles per second from the common start to the last finish |
//!
//! `examples/bench-peers/CuratorLockBench.java` runs the same workloads with
//! Curator's `InterProcessMutex`, and `lock-vs-curator.sh` there runs both
//! in one sitting against one standalone ZooKeeper.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Barrier;
use zk_client::Client;
use zk_recipes::{Error, Mutex, Session};

/// Untimed cycles before `lock_cycle`.
pub const CYCLE_WARMUP: usize = 500;
/// Timed cycles of `lock_cycle`.
pub const CYCLE_TIMED: usize = 3_000;
/// Sessions contending in `lock_contended_4`.
pub const CONTENDERS: usize = 4;
/// Untimed cycles of each contender before `lock_contended_4`.
pub const CONTENDED_WARMUP: usize = 100;
/// Timed cycles of each contender in `lock_contended_4`.
pub const CONTENDED_TIMED: usize = 500;

/// What can fail: a recipe call, or a contender task.
pub type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// Runs both workloads under a unique parent path (removed at the end) and
/// prints their `NAME OPS_PER_SEC` lines.
pub async fn run(connect: &str) -> Result<(), BenchError> {
    let parent = format!(
        "/zk-recipes-lock-bench-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    );
    let session = Session::connect(connect).await?;
    let result = workloads(connect, &session, &parent).await;
    // Clean up whatever happened (the lock directories are containers and
    // would go by themselves, later).
    let client: Client = session.client();
    for name in ["lock_cycle", "lock_contended_4"] {
        let _ = client.delete(&format!("{parent}/{name}"), None).await;
    }
    let _ = client.delete(&parent, None).await;
    session.close().await?;
    result
}

async fn cycles(mutex: &Mutex, n: usize) -> Result<(), Error> {
    for _ in 0..n {
        mutex.acquire().await?.release().await?;
    }
    Ok(())
}

fn report(name: &str, ops: usize, start: Instant) {
    let secs = start.elapsed().as_secs_f64();
    println!("{name} {:.0}", ops as f64 / secs);
}

async fn workloads(connect: &str, session: &Session, parent: &str) -> Result<(), BenchError> {
    // lock_cycle
    let mutex = Mutex::new(session, &format!("{parent}/lock_cycle"))?;
    cycles(&mutex, CYCLE_WARMUP).await?;
    let start = Instant::now();
    cycles(&mutex, CYCLE_TIMED).await?;
    report("lock_cycle", CYCLE_TIMED, start);

    // lock_contended_4
    let path = format!("{parent}/lock_contended_4");
    let mut sessions = Vec::new();
    for _ in 0..CONTENDERS {
        sessions.push(Session::connect(connect).await?);
    }
    let warm = Arc::new(Barrier::new(CONTENDERS + 1));
    let go = Arc::new(Barrier::new(CONTENDERS + 1));
    let mut tasks = Vec::new();
    for s in &sessions {
        let mutex = Mutex::new(s, &path)?;
        let (warm, go) = (Arc::clone(&warm), Arc::clone(&go));
        tasks.push(tokio::spawn(async move {
            let warmed = cycles(&mutex, CONTENDED_WARMUP).await;
            warm.wait().await;
            go.wait().await;
            warmed?;
            cycles(&mutex, CONTENDED_TIMED).await
        }));
    }
    warm.wait().await;
    let start = Instant::now();
    go.wait().await;
    let mut result: Result<(), BenchError> = Ok(());
    for t in tasks {
        let r = match t.await {
            Ok(r) => r.map_err(BenchError::from),
            Err(e) => Err(BenchError::from(e)),
        };
        result = result.and(r);
    }
    if result.is_ok() {
        report("lock_contended_4", CONTENDERS * CONTENDED_TIMED, start);
    }
    for s in sessions {
        let _ = s.close().await;
    }
    result
}
