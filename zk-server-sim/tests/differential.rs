//! Differential tests: seeded random operation sequences run against a real
//! ZooKeeper 3.8 and against the simulator's tree must give the same replies,
//! Stats (zxids mapped to ordinals, times checked for consistency and dropped,
//! session ids mapped to "the n-th session") and watch notifications.
//!
//! - `ZK_SIM_SEED` (decimal or `0x` hex) replays a sequence; otherwise a seed
//!   is drawn and printed. `ZK_SIM_OPS` sets the number of steps (default 2500).
//! - `ZK_SIM_DIFF_ADDR=host:port` also runs the tree against that server
//!   (anything speaking the wire protocol, e.g. the simulator's ensemble). It
//!   must be fresh: the sequence expects an empty tree.
//! - Without ZooKeeper installed the real-server test is skipped with a
//!   message, except under `CI`, where it fails.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#![allow(unreachable_pub)]

mod differential {
    pub mod gen;
    pub mod rng;
    pub mod runner;
    pub mod target;
}

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use differential::runner::Run;
use differential::target::Target;
use zk_server_sim::real::RealEnsemble;

fn seed() -> u64 {
    match std::env::var("ZK_SIM_SEED") {
        Ok(s) => {
            let s = s.trim();
            let parsed = match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse(),
            };
            parsed.expect("ZK_SIM_SEED must be a u64 (decimal or 0x hex)")
        }
        Err(_) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    }
}

fn ops(default: usize) -> usize {
    std::env::var("ZK_SIM_OPS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

async fn run(a: Target, b: Target, seed: u64, ops: usize) {
    let started = Instant::now();
    let mut run = Run::new(a, b, seed);
    let result = run.run(ops).await;
    eprintln!(
        "differential: seed {seed}, {} steps, {} notifications compared, {:.2?}",
        run.steps,
        run.notifications,
        started.elapsed()
    );
    if let Err(m) = result {
        panic!("{m}");
    }
}

/// The runner itself: the tree against the tree must agree on every step.
#[tokio::test]
async fn differential_tree_against_itself() {
    let seed = seed();
    run(Target::tree(), Target::tree(), seed, ops(2500)).await;
}

/// The acceptance test: a real ZooKeeper 3.8 against the tree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn differential_tree_against_real_zookeeper() {
    let seed = seed();
    let started = tokio::task::spawn_blocking(|| {
        RealEnsemble::builder()
            .nodes(1)
            .extended_types(true)
            // No reaping during the run: it would depend on timing.
            .system_property("znode.container.checkIntervalMs", "3600000")
            .system_property(
                "zookeeper.DigestAuthenticationProvider.superDigest",
                zk_server_sim::tree::auth::digest(differential::gen::SUPER),
            )
            .start()
    })
    .await
    .expect("start task");
    let ensemble = match started {
        Ok(e) => e,
        Err(e) if e.is_not_installed() && std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: ZooKeeper is not installed ({e}); run .ci/install-deps.sh");
            return;
        }
        Err(e) => panic!("could not start ZooKeeper: {e}"),
    };
    let addr = ensemble.node_addr(0).expect("address");
    run(
        Target::wire(addr, differential::gen::SLOTS),
        Target::tree(),
        seed,
        ops(2500),
    )
    .await;
    drop(ensemble);
}

/// The simulator's own network server (one node, then a three-node
/// ensemble with both sessions on one server) against the tree.
///
/// Ignored until the server matches ZooKeeper on what this runner found
/// (`cargo test -p zk-server-sim --test differential -- --ignored`):
/// addWatch replies carry an `ErrorResponse` body; an empty multi and a
/// reconfig (RECONFIGDISABLED) still take a zxid; connections must register
/// their ids with `WatchManager::set_auth` for the notification ACL filter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the simulator's server still differs from ZooKeeper 3.8; see the doc comment"]
async fn differential_tree_against_simulator() {
    let seed = seed();
    for nodes in [1, 3] {
        let ensemble = zk_server_sim::Ensemble::builder()
            .nodes(nodes)
            .seed(seed)
            .extended_types(true)
            .build()
            .await
            .expect("ensemble");
        let addr = ensemble.addr(0);
        run(
            Target::wire(addr, differential::gen::SLOTS),
            Target::tree(),
            seed,
            ops(2500),
        )
        .await;
    }
}

/// Optional: the tree against any fresh server given by `ZK_SIM_DIFF_ADDR`.
#[tokio::test]
async fn differential_tree_against_address() {
    let Ok(addr) = std::env::var("ZK_SIM_DIFF_ADDR") else {
        return;
    };
    let addr = addr.parse().expect("ZK_SIM_DIFF_ADDR is host:port");
    run(
        Target::wire(addr, differential::gen::SLOTS),
        Target::tree(),
        seed(),
        ops(2500),
    )
    .await;
}
