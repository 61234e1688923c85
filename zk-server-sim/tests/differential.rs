//! Differential tests: seeded random operation sequences (creates of every
//! mode, deletes and setData with versions, multis with failing ops, ACLs and
//! auth, watches of every kind, sessions closed, reopened and resumed on
//! another server, pipelined requests, setACL among them) run against a
//! real ZooKeeper 3.8, the simulator's tree and the simulator's network server
//! must give the same replies, Stats and watch notifications.
//!
//! Normalised before comparing (the same way for every target): zxids become
//! ordinals (each target's must line up), times are checked for consistency
//! (one time per zxid) and dropped, session ids become "the n-th session",
//! and a quorum member's `/zookeeper/config` membership text (addresses and
//! ports) becomes a placeholder after a shape check.
//!
//! Per CI run (`cargo test`, about 5–10 s on 2 cores):
//! - real ZooKeeper (standalone) vs tree vs 1-node simulator: 2,500 steps;
//! - tree vs 1-node simulator, and tree (3 watch tables) vs 3-node
//!   simulator with the sessions on different servers: 2,500 steps each
//!   (another seed; no ZooKeeper needed);
//! - tree vs tree: 2,500 steps (the runner's own consistency).
//!
//! - `ZK_SIM_SEED` (decimal or `0x` hex) replays a sequence (the simulated
//!   ensembles get the same seed); otherwise a seed is drawn. Every run
//!   prints its seed; a failure prints it with the last steps (`ZK_SIM_LOG`
//!   of them, default 25) and, for a real server, its log tail and `cons`.
//!   `ZK_SIM_OPS` sets the number of steps.
//! - `--ignored` also runs a real 3-server ensemble (sessions
//!   on different servers) vs tree (3 watch tables) vs 3-node simulator,
//!   2,500 steps; see that test for why it is not in CI.
//! - `ZK_SIM_DIFF_ADDR=host:port` also runs the tree against that server
//!   (anything speaking the wire protocol). It must be fresh: the sequence
//!   expects an empty tree.
//! - Without ZooKeeper installed the real-server tests are skipped with a
//!   message, except under `CI`, where they fail.

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

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

async fn run(targets: Vec<Target>, seed: u64, ops: usize) {
    run_then(targets, seed, ops, || {}).await;
}

/// Runs the sequence; on a mismatch calls `on_failure` (to print server
/// logs) before failing with the report.
async fn run_then(targets: Vec<Target>, seed: u64, ops: usize, on_failure: impl FnOnce()) {
    let started = Instant::now();
    let mut run = Run::new(targets, seed);
    let result = run.run(ops).await;
    eprintln!(
        "differential ({}): seed {seed}, {} steps, {} notifications compared, {:.2?}",
        run.names().join(" vs "),
        run.steps,
        run.notifications,
        started.elapsed()
    );
    if let Err(m) = result {
        on_failure();
        panic!("{m}");
    }
}

/// A fresh simulated ensemble configured like the reference server (TTL
/// nodes, the super digest, no reaping during the run, generous sessions).
async fn simulator(nodes: usize, seed: u64) -> zk_server_sim::Ensemble {
    zk_server_sim::Ensemble::builder()
        .nodes(nodes)
        .seed(seed)
        .extended_types(true)
        .super_digest(zk_server_sim::tree::auth::digest(differential::gen::SUPER))
        .container_check_interval(Duration::from_secs(3600))
        .max_session_timeout(Duration::from_secs(60))
        .build()
        .await
        .expect("simulated ensemble")
}

/// The simulator as a target: sessions spread over its servers.
fn sim_target(e: &zk_server_sim::Ensemble) -> Target {
    let addrs = (0..e.len()).map(|i| e.addr(i)).collect();
    Target::wire_nodes(
        format!("simulator ({} nodes)", e.len()),
        addrs,
        differential::gen::SLOTS,
    )
}

/// A real ZooKeeper 3.8 ensemble configured for the runner, or `None` (after
/// a message) when ZooKeeper is not installed outside CI.
async fn real(nodes: usize) -> Option<RealEnsemble> {
    let started = tokio::task::spawn_blocking(move || {
        RealEnsemble::builder()
            .nodes(nodes)
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
    match started {
        Ok(e) => Some(e),
        Err(e) if e.is_not_installed() && std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: ZooKeeper is not installed ({e}); run .ci/install-deps.sh");
            None
        }
        Err(e) => panic!("could not start ZooKeeper: {e}"),
    }
}

/// The end of each real server's log, for a failure report.
fn print_logs(e: &RealEnsemble) {
    for i in 0..e.node_count() {
        match e.log_tail(i, 40) {
            Ok(t) => eprintln!("--- ZooKeeper server {} log tail:\n{t}", i + 1),
            Err(err) => eprintln!("--- ZooKeeper server {} log unavailable: {err}", i + 1),
        }
        // Connections with their queued requests (the bracket) and last op.
        if let Ok(cons) = e.four_letter_word(i, "cons") {
            eprintln!("--- ZooKeeper server {} cons:\n{cons}", i + 1);
        }
    }
}

fn real_target(e: &RealEnsemble) -> Target {
    let addrs = (0..e.node_count())
        .map(|i| e.node_addr(i).expect("address"))
        .collect();
    Target::wire_nodes(
        format!("ZooKeeper ({} nodes)", e.node_count()),
        addrs,
        differential::gen::SLOTS,
    )
}

/// The runner itself: the tree against the tree must agree on every step.
#[tokio::test]
async fn differential_tree_against_itself() {
    let seed = seed();
    run(vec![Target::tree(), Target::tree()], seed, ops(2500)).await;
}

/// The acceptance test: one sequence against a real ZooKeeper 3.8 (the
/// reference), the tree, and the simulator's network server standalone and
/// as a three-server ensemble (sessions on different servers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn differential_against_real_zookeeper() {
    let seed = seed();
    let Some(reference) = real(1).await else {
        return;
    };
    let one = simulator(1, seed).await;
    run_then(
        vec![real_target(&reference), Target::tree(), sim_target(&one)],
        seed,
        ops(2500),
        || print_logs(&reference),
    )
    .await;
    drop(reference);
}

/// A real three-server ZooKeeper ensemble with the sessions on different
/// servers (whose reads may lag: the runner syncs as a client must) against
/// the tree and a three-server simulator.
///
/// Ignored in CI (run it with `cargo test -p zk-server-sim --test differential
/// -- --ignored`): in about one run in
/// twenty (5 of ~85 runs of 1,000–2,500 steps, all on a 2-core machine
/// loaded by other builds and JVMs) the real 3.8 ensemble never
/// answers a request (a follower's `sync`, once a `create` on the leader;
/// the connection shows it queued, nothing is logged, the session expires
/// 30 s later); up to the hang, tree and simulator agreed with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "real 3.8 ensembles occasionally never answer under load; run with --ignored"]
async fn differential_against_real_ensemble() {
    let seed = seed();
    let Some(reference) = real(3).await else {
        return;
    };
    let three = simulator(3, seed).await;
    run_then(
        vec![
            real_target(&reference),
            Target::tree_servers(3),
            sim_target(&three),
        ],
        seed,
        ops(2500),
        || print_logs(&reference),
    )
    .await;
    drop(reference);
}

/// The simulator's network server (one node, then three with the sessions
/// spread over them) against the tree; needs no ZooKeeper installation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn differential_tree_against_simulator() {
    let seed = seed();
    let one = simulator(1, seed).await;
    run(vec![Target::tree(), sim_target(&one)], seed, ops(2500)).await;
    let three = simulator(3, seed).await;
    run(
        vec![Target::tree_servers(3), sim_target(&three)],
        seed,
        ops(2500),
    )
    .await;
}

/// The tree against any fresh server given by `ZK_SIM_DIFF_ADDR`: run with
/// `ZK_SIM_DIFF_ADDR=host:port cargo test -p zk-server-sim --test differential
/// -- --ignored differential_tree_against_address`.
#[tokio::test]
#[ignore = "needs ZK_SIM_DIFF_ADDR=host:port of a fresh server"]
async fn differential_tree_against_address() {
    let addr = std::env::var("ZK_SIM_DIFF_ADDR")
        .expect("set ZK_SIM_DIFF_ADDR=host:port of a fresh server")
        .parse()
        .expect("ZK_SIM_DIFF_ADDR is host:port");
    run(
        vec![Target::wire(addr, differential::gen::SLOTS), Target::tree()],
        seed(),
        ops(2500),
    )
    .await;
}

/// A write pipelined behind a setACL, both ways (revoking WRITE, granting
/// it). On ZooKeeper 3.8 the answer is a race: PrepRequestProcessor checks a
/// write against the node's outstanding ChangeRecord, and setACL's record is
/// a duplicate that keeps the *old* ACL (only the aversion changes), so a
/// write that reaches the prep stage while the setACL is still outstanding is
/// checked against the old ACL, and one that arrives after it was applied,
/// against the new ACL. CI has seen both on one standalone server. This pins
/// that: the real server gives one of the two, the simulator (which applies
/// a write before preparing the next) always the new-ACL one, and a write
/// sent after the setACL's reply sees the new ACL on both. The differential
/// generator therefore puts setACL in a pipeline only as its last request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_pipelined_behind_a_set_acl_sees_the_old_or_new_acl_on_3_8_and_the_new_on_the_simulator(
) {
    use bytes::Bytes;
    use zk_proto::{
        Acl, CreateMode, CreateRequest, ErrorCode, Id, Perms, Request, SetAclRequest,
        SetDataRequest,
    };
    use zk_server_sim::testkit::RawClient;

    fn world(perms: Perms) -> Vec<Acl> {
        vec![Acl {
            perms,
            id: Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        }]
    }

    /// (pipelined setACL, pipelined setData, a later setData) error codes,
    /// for a node created with ACL `before` and set to `after`.
    async fn run(
        addr: std::net::SocketAddr,
        path: &str,
        before: Perms,
        after: Perms,
    ) -> (ErrorCode, ErrorCode, ErrorCode) {
        let mut c = RawClient::connect(addr, 10_000).await.unwrap();
        let create = Request::Create(CreateRequest {
            path: path.into(),
            data: Bytes::new().into(),
            acl: world(before),
            flags: CreateMode::Persistent.code(),
        });
        assert_eq!(c.request(&create).await.unwrap().0.err, ErrorCode::Ok);
        let set_data = Request::SetData(SetDataRequest {
            path: path.into(),
            data: Bytes::from_static(b"x").into(),
            version: -1,
        });
        let replies = c
            .pipeline(&[
                Request::SetAcl(SetAclRequest {
                    path: path.into(),
                    acl: world(after),
                    version: -1,
                }),
                set_data.clone(),
                Request::Ping,
            ])
            .await
            .unwrap();
        let code = |i: usize| replies[i].as_ref().map(|r| r.0.err).unwrap();
        let later = c.request(&set_data).await.unwrap().0.err;
        (code(0), code(1), later)
    }

    let revoke = (Perms::ALL, Perms::READ | Perms::ADMIN);
    let grant = (Perms::READ | Perms::ADMIN, Perms::ALL);
    // Checked against the new ACL: what the simulator answers, and what 3.8
    // answers when the setACL was applied before the write was prepared.
    let expect = [
        (ErrorCode::Ok, ErrorCode::NoAuth, ErrorCode::NoAuth),
        (ErrorCode::Ok, ErrorCode::Ok, ErrorCode::Ok),
    ];
    // Checked against the old ACL: what 3.8 answers when the setACL was
    // still outstanding (its ChangeRecord keeps the old ACL).
    let old_acl = [
        (ErrorCode::Ok, ErrorCode::Ok, ErrorCode::NoAuth),
        (ErrorCode::Ok, ErrorCode::NoAuth, ErrorCode::Ok),
    ];
    let sim = zk_server_sim::Ensemble::builder()
        .nodes(1)
        .seed(seed())
        .build()
        .await
        .unwrap();
    for ((path, (before, after)), want) in [("/revoke", revoke), ("/grant", grant)]
        .into_iter()
        .zip(expect)
    {
        assert_eq!(
            run(sim.addr(0), path, before, after).await,
            want,
            "simulator, {path}"
        );
    }
    let Some(real) = real(1).await else { return };
    let addr = real.node_addr(0).unwrap();
    for (((path, (before, after)), want), old) in [("/revoke", revoke), ("/grant", grant)]
        .into_iter()
        .zip(expect)
        .zip(old_acl)
    {
        let got = run(addr, path, before, after).await;
        assert!(
            got == want || got == old,
            "ZooKeeper 3.8, {path}: {got:?} is neither the new-ACL answer {want:?} \
             nor the old-ACL answer {old:?}"
        );
        println!("ZooKeeper 3.8, {path}: {got:?}");
    }
}
