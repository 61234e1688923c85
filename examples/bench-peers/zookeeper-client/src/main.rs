//! The zk-client bench workload (examples/src/bin/bench.rs) on the
//! zookeeper-client crate: same node, same counts, same output
//! (`NAME OPS_PER_SEC CPU_US_PER_OP`); current-thread runtime with
//! `BENCH_CURRENT_THREAD` set. With `BENCH_PIPELINED_OPS=N`, only
//! `get_pipelined` and `set_pipelined` run, N ops each (as in zk-client's
//! bench).

use std::time::Instant;

use futures::StreamExt;
use zookeeper_client as zk;

const IN_FLIGHT: usize = 1000;

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

struct Mark(Instant, f64);

fn mark() -> Mark {
    Mark(Instant::now(), cpu_us())
}

fn report(name: &str, ops: usize, start: Mark) {
    let secs = start.0.elapsed().as_secs_f64();
    let cpu = (cpu_us() - start.1) / ops as f64;
    println!("{name} {:.0} {cpu:.2}", ops as f64 / secs);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let connect = match args.iter().position(|a| a == "--connect") {
        Some(i) => args.get(i + 1).cloned().unwrap_or_default(),
        None => {
            eprintln!("usage: bench-zookeeper-client --connect HOST:PORT");
            std::process::exit(2);
        }
    };
    let rt = if std::env::var_os("BENCH_CURRENT_THREAD").is_some() {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    }
    .expect("runtime");
    if let Err(e) = rt.block_on(run(&connect)) {
        eprintln!("bench-zookeeper-client: {e}");
        std::process::exit(1);
    }
}

async fn run(connect: &str) -> Result<(), zk::Error> {
    let client = zk::Client::connect(connect).await?;
    let unique = format!("/zookeeper-client-bench-{}", std::process::id());
    let data = [b'x'; 100];
    let persistent = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    client.create(&unique, &[], &persistent).await?;
    let node = format!("{unique}/node");
    client.create(&node, &data, &persistent).await?;

    if let Some(n) = std::env::var("BENCH_PIPELINED_OPS")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        pipelined(&client, &node, &data, n, n).await?;
    } else {
        workloads(&client, &unique, &node, &data).await?;
    }

    client.delete(&node, None).await?;
    client.delete(&unique, None).await?;
    Ok(())
}

async fn workloads(
    client: &zk::Client,
    unique: &str,
    node: &str,
    data: &[u8],
) -> Result<(), zk::Error> {
    for _ in 0..2_000 {
        client.get_data(node).await?;
    }
    let start = mark();
    for _ in 0..10_000 {
        client.get_data(node).await?;
    }
    report("get_sequential", 10_000, start);

    let start = mark();
    for _ in 0..2_000 {
        client.set_data(node, data, None).await?;
    }
    report("set_sequential", 2_000, start);

    pipelined(client, node, data, 200_000, 50_000).await?;

    let prefix = format!("{unique}/e-");
    let ephemeral = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
    let start = mark();
    for _ in 0..5_000 {
        let (_, sequence) = client.create(&prefix, data, &ephemeral).await?;
        client.delete(&format!("{prefix}{sequence}"), None).await?;
    }
    report("create_delete_ephemeral_seq_pairs", 5_000, start);
    Ok(())
}

/// `get_pipelined` (`gets` ops) and `set_pipelined` (`sets` ops).
async fn pipelined(
    client: &zk::Client,
    node: &str,
    data: &[u8],
    gets: usize,
    sets: usize,
) -> Result<(), zk::Error> {
    let n = gets;
    let start = mark();
    let mut replies = futures::stream::iter(0..n)
        .map(|_| client.get_data(node))
        .buffer_unordered(IN_FLIGHT);
    while let Some(r) = replies.next().await {
        r?;
    }
    report("get_pipelined", n, start);

    let n = sets;
    let start = mark();
    let mut replies = futures::stream::iter(0..n)
        .map(|_| client.set_data(node, data, None))
        .buffer_unordered(IN_FLIGHT);
    while let Some(r) = replies.next().await {
        r?;
    }
    report("set_pipelined", n, start);
    Ok(())
}
