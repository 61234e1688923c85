//! How long a tree cache of many nodes takes to initialize and to resync,
//! and how much memory it holds per node.
//!
//! ```text
//! cargo run --release -p examples --bin tree_cache_bench -- [--nodes 10000] [--data-bytes 32]
//! ```
//!
//! Builds the tree (100 parents, the rest spread below them) on an
//! in-process single-node simulator, starts a [`TreeCache`] on it, and
//! prints one line per figure, `NAME VALUE`:
//!
//! | name | what |
//! |---|---|
//! | `nodes` | nodes in the cache |
//! | `init_ms` | start to `Initialized` (one complete read) |
//! | `init_us_per_node` | the same per node |
//! | `resync_ms` | connection dropped to the complete re-read after the reconnect |
//! | `rss_bytes_per_node` | process RSS growth from before the cache to after its first read, per node (an upper bound: it includes the client's and the in-process server's buffers) |
//! | `payload_bytes_per_node` | path and data bytes per node (what any cache must hold) |

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::StreamExt;
use zk_client::{Client, CreateOptions};
use zk_recipes::cache::TreeCache;
use zk_server_sim::Ensemble;

fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn arg(args: &[String], name: &str, default: usize) -> Result<usize, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} needs a number")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (nodes, data_bytes) = match (
        arg(&args, "--nodes", 10_000),
        arg(&args, "--data-bytes", 32),
    ) {
        (Ok(n), Ok(d)) => (n.max(101), d),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}\nusage: tree_cache_bench [--nodes N] [--data-bytes N]");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(nodes, data_bytes)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tree_cache_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(nodes: usize, data_bytes: usize) -> Result<(), Box<dyn std::error::Error>> {
    let ens = Ensemble::builder()
        .nodes(1)
        .record_history(false)
        .build()
        .await?;
    let writer = Client::connect(ens.connect_string()).await?;
    writer
        .create("/bench", b"", &CreateOptions::default())
        .await?;
    let data = vec![b'x'; data_bytes];
    let parents = 100;
    let mut paths: Vec<String> = (0..parents).map(|p| format!("/bench/p{p}")).collect();
    for k in 0..nodes - 1 - parents {
        paths.push(format!("/bench/p{}/n{k}", k % parents));
    }
    eprintln!("creating {} nodes", paths.len() + 1);
    // Parents first, then the children, 500 in flight.
    let (first, rest) = paths.split_at(parents);
    for chunk in [first, rest] {
        let mut creates = futures::stream::iter(
            chunk
                .iter()
                .map(|p| writer.create(p, &data, zk_client::CreateMode::Persistent)),
        )
        .buffer_unordered(500);
        while let Some(r) = creates.next().await {
            r?;
        }
    }
    let payload: usize = paths.iter().map(|p| p.len() + data_bytes).sum::<usize>() + "/bench".len();

    let client = Client::connect(ens.connect_string()).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_before = rss_bytes();
    let t0 = Instant::now();
    let cache = TreeCache::start(&client, "/bench");
    cache.initialized().await?;
    let init = t0.elapsed();
    let rss_after = rss_bytes();
    let n = cache.len();
    println!("nodes {n}");
    println!("init_ms {:.1}", init.as_secs_f64() * 1e3);
    println!(
        "init_us_per_node {:.2}",
        init.as_secs_f64() * 1e6 / n as f64
    );

    let mut status = cache.status_changes();
    let reads = status.borrow_and_update().full_reads;
    let t1 = Instant::now();
    ens.drop_client_connections(0);
    status
        .wait_for(|s| s.full_reads > reads && s.in_sync)
        .await
        .map_err(|_| "cache stopped")?;
    let resync = t1.elapsed();
    println!("resync_ms {:.1}", resync.as_secs_f64() * 1e3);
    if let (Some(a), Some(b)) = (rss_before, rss_after) {
        println!(
            "rss_bytes_per_node {:.0}",
            b.saturating_sub(a) as f64 / n as f64
        );
    }
    println!("payload_bytes_per_node {:.0}", payload as f64 / n as f64);
    if cache.len() != n {
        return Err(format!("resync changed the node count: {n} -> {}", cache.len()).into());
    }
    Ok(())
}
