//! The standard zk-client workload against a real ZooKeeper.
//!
//! ```text
//! cargo run --release -p examples --bin bench -- --connect 127.0.0.1:2181
//! ```
//!
//! Prints one line per workload, `NAME OPS_PER_SEC CPU_US_PER_OP`, and
//! nothing else on stdout (progress and errors go to stderr). The second
//! figure is this process's CPU time (user + system, `getrusage`) over the
//! timed part, in microseconds per op: the client's cost, which the server
//! does not bound (throughput mostly measures the server). All work happens
//! on one 100-byte node under a unique path, removed at the end:
//!
//! | name | what is timed |
//! |---|---|
//! | `get_sequential` | 10,000 awaited getData, after 2,000 untimed warm-up ones |
//! | `set_sequential` | 2,000 awaited setData |
//! | `get_pipelined` | 200,000 getData, 1,000 in flight |
//! | `set_pipelined` | 50,000 setData, 1,000 in flight |
//! | `create_delete_ephemeral_seq_pairs` | 5,000 awaited (create ephemeral-sequential, delete) pairs; the rate is pairs per second |
//! | `lock_cycle`, `lock_contended_4` | zk-recipes' mutex: see [`examples::lock_bench`] |
//!
//! The client runs on tokio's multi-threaded runtime; with the environment
//! variable `BENCH_CURRENT_THREAD` set, on a current-thread runtime instead.
//! With `BENCH_PIPELINED_OPS=N`, only `get_pipelined` and `set_pipelined`
//! run, N ops each (for profiling, e.g. under callgrind). With
//! `BENCH_NO_BATCH_READS` set, the client reads every reply as it lands
//! ([`ClientBuilder::batch_reads`](zk_client::ClientBuilder::batch_reads)
//! off), to show what batching the reads saves.
//!
//! `examples/bench-peers/` has the same workload for the Java client, and
//! `run.sh` there runs both in one sitting with each process's CPU time.

use std::process::ExitCode;
use std::time::Instant;

use futures::StreamExt;
use zk_client::{Client, CreateMode, CreateOptions, Error};

const IN_FLIGHT: usize = 1000;

fn usage() -> ExitCode {
    eprintln!("usage: bench --connect HOST:PORT[,HOST:PORT...]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let connect = match args.iter().position(|a| a == "--connect") {
        Some(i) => match args.get(i + 1) {
            Some(c) => c.clone(),
            None => return usage(),
        },
        None => return usage(),
    };
    let rt = if std::env::var_os("BENCH_CURRENT_THREAD").is_some() {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(&connect)) {
        Ok(()) if pipelined_only().is_some() => ExitCode::SUCCESS,
        Ok(()) => lock_workloads(&rt, &connect),
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A point in wall-clock and process CPU time.
#[derive(Clone, Copy)]
struct Mark {
    wall: Instant,
    cpu_us: f64,
}

impl Mark {
    fn now() -> Mark {
        Mark {
            wall: Instant::now(),
            cpu_us: cpu_us(),
        }
    }
}

/// This process's CPU time so far (user + system), in microseconds.
fn cpu_us() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(u) => {
            let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 * 1e6 + tv.tv_usec() as f64;
            t(u.user_time()) + t(u.system_time())
        }
        Err(_) => f64::NAN,
    }
}

fn report(name: &str, ops: usize, start: Mark) {
    let end = Mark::now();
    let secs = end.wall.duration_since(start.wall).as_secs_f64();
    let cpu = (end.cpu_us - start.cpu_us) / ops as f64;
    println!("{name} {:.0} {cpu:.2}", ops as f64 / secs);
}

async fn run(connect: &str) -> Result<(), Error> {
    let client = Client::builder(connect)
        .max_in_flight(IN_FLIGHT)
        .batch_reads(std::env::var_os("BENCH_NO_BATCH_READS").is_none())
        .connect()
        .await?;
    let unique = format!(
        "/zk-client-bench-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    );
    let data = [b'x'; 100];
    client
        .create(&unique, &[], &CreateOptions::default())
        .await?;
    let node = format!("{unique}/node");
    client
        .create(&node, &data, &CreateOptions::default())
        .await?;
    let result = workloads(&client, &unique, &node, &data).await;
    // Clean up whatever happened.
    let _ = client.delete(&node, None).await;
    let _ = client.delete(&unique, None).await;
    client.close().await?;
    result
}

/// `BENCH_PIPELINED_OPS`: run only the pipelined workloads, this many ops each.
fn pipelined_only() -> Option<usize> {
    std::env::var("BENCH_PIPELINED_OPS").ok()?.parse().ok()
}

async fn workloads(client: &Client, parent: &str, node: &str, data: &[u8]) -> Result<(), Error> {
    if let Some(n) = pipelined_only() {
        return pipelined(client, node, data, n, n).await;
    }
    // get_sequential
    for _ in 0..2_000 {
        client.get_data(node).await?;
    }
    let start = Mark::now();
    for _ in 0..10_000 {
        client.get_data(node).await?;
    }
    report("get_sequential", 10_000, start);

    // set_sequential
    let start = Mark::now();
    for _ in 0..2_000 {
        client.set_data(node, data, None).await?;
    }
    report("set_sequential", 2_000, start);

    pipelined(client, node, data, 200_000, 50_000).await?;

    // create_delete_ephemeral_seq_pairs
    let prefix = format!("{parent}/e-");
    let opts = CreateOptions::new(CreateMode::EphemeralSequential);
    let start = Mark::now();
    for _ in 0..5_000 {
        let (path, _) = client.create(&prefix, data, &opts).await?;
        client.delete(&path, None).await?;
    }
    report("create_delete_ephemeral_seq_pairs", 5_000, start);
    Ok(())
}

/// `get_pipelined` (`gets` ops) and `set_pipelined` (`sets` ops).
async fn pipelined(
    client: &Client,
    node: &str,
    data: &[u8],
    gets: usize,
    sets: usize,
) -> Result<(), Error> {
    // get_pipelined
    let n = gets;
    let start = Mark::now();
    let mut replies = futures::stream::iter(0..n)
        .map(|_| client.get_data(node))
        .buffer_unordered(IN_FLIGHT);
    while let Some(r) = replies.next().await {
        r?;
    }
    report("get_pipelined", n, start);

    // set_pipelined
    let n = sets;
    let start = Mark::now();
    let mut replies = futures::stream::iter(0..n)
        .map(|_| client.set_data(node, data, None))
        .buffer_unordered(IN_FLIGHT);
    while let Some(r) = replies.next().await {
        r?;
    }
    report("set_pipelined", n, start);
    Ok(())
}

/// The lock workloads, from `examples::lock_bench`.
fn lock_workloads(rt: &tokio::runtime::Runtime, connect: &str) -> ExitCode {
    match rt.block_on(examples::lock_bench::run(connect)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}
