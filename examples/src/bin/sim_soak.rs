//! Soak benchmark: does the simulator's memory stay flat over a long write
//! run? (Issue 13: bounded log, snapshots instead of an ever-growing log.)
//!
//! Starts a 3-node simulated ensemble in this process (history recording
//! off: a recorded history keeps every client event by design), creates five
//! znodes and overwrites them with small `setData`s, 1,000 pipelined per
//! batch, N writes in all (default 1,000,000, or the first argument). Every
//! 100,000 writes it prints one line
//! `writes=<n> rss_kib=<resident set of this process> elapsed_s=<s>`, and at
//! the end `rss_ratio_final_over_100k=<x>`.
//!
//! ```text
//! cargo run --release -p examples --bin sim_soak
//! ```

use std::time::{Duration, Instant};

use zk_proto::{Acl, CreateRequest, ErrorCode, Request, SetDataRequest};
use zk_server_sim::testkit::RawClient;
use zk_server_sim::Ensemble;

/// VmRSS of this process in KiB (0 where /proc is missing).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: u64 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 1_000_000,
    };
    let ensemble = Ensemble::builder()
        .nodes(3)
        .tick_time(Duration::from_millis(200))
        .record_history(false)
        .seed(13)
        .build()
        .await?;
    let leader = ensemble.leader().ok_or("no leader")?;
    // A follower's client: every write is forwarded, proposed and committed.
    let mut client = RawClient::connect(ensemble.addr((leader + 1) % 3), 30_000).await?;
    for k in 0..5 {
        let (h, _) = client
            .request(&Request::Create(CreateRequest {
                path: format!("/soak{k}"),
                data: "0".into(),
                acl: Acl::open_unsafe(),
                flags: 0,
            }))
            .await?;
        if h.err != ErrorCode::Ok {
            return Err(format!("create /soak{k}: {:?}", h.err).into());
        }
    }
    let began = Instant::now();
    let batch = 1_000u64;
    let mut done = 0u64;
    let mut at_100k = None;
    while done < total {
        let reqs: Vec<Request> = (done..(done + batch).min(total))
            .map(|i| {
                Request::SetData(SetDataRequest {
                    path: format!("/soak{}", i % 5),
                    data: format!("v{i:08}").into(),
                    version: -1,
                })
            })
            .collect();
        let n = reqs.len() as u64;
        for reply in client.pipeline(&reqs).await? {
            match reply {
                Some((h, _)) if h.err == ErrorCode::Ok => {}
                other => return Err(format!("setData failed: {other:?}").into()),
            }
        }
        done += n;
        if done % 100_000 == 0 || done == total {
            let rss = rss_kib();
            if done == 100_000 {
                at_100k = Some(rss);
            }
            println!(
                "writes={done} rss_kib={rss} elapsed_s={:.1}",
                began.elapsed().as_secs_f64()
            );
        }
    }
    if let Some(base) = at_100k.filter(|b| *b > 0) {
        println!(
            "rss_ratio_final_over_100k={:.2}",
            rss_kib() as f64 / base as f64
        );
    }
    ensemble.check_history()?;
    Ok(())
}
