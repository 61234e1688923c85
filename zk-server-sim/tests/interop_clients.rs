//! Clients nobody here wrote — kazoo, the official Java client and Curator
//! (InterProcessMutex, LeaderLatch) — run scripted scenarios against a
//! simulated 3-node ensemble and against real ZooKeeper 3.8; the printed
//! transcripts must be equal.
//!
//! Needs `/usr/bin/python3` with kazoo, `javac`/`java`, and Debian's
//! zookeeper and libcurator jars (`.ci/install-deps.sh`). Without them the
//! tests say so and pass vacuously.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use zk_server_sim::real::RealEnsemble;
use zk_server_sim::Ensemble;

const JARS: &[&str] = &[
    "zookeeper.jar",
    "zookeeper-jute.jar",
    "curator-client.jar",
    "curator-framework.jar",
    "curator-recipes.jar",
    "guava.jar",
    "slf4j-api.jar",
    "slf4j-nop.jar",
];

fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn have_kazoo() -> bool {
    Command::new("/usr/bin/python3")
        .args(["-c", "import kazoo"])
        .status()
        .is_ok_and(|s| s.success())
}

fn classpath(extra: &Path) -> Option<String> {
    let mut cp = vec![extra.display().to_string()];
    for jar in JARS {
        let p = Path::new("/usr/share/java").join(jar);
        if !p.exists() {
            return None;
        }
        cp.push(p.display().to_string());
    }
    Some(cp.join(":"))
}

/// Compiles Scenario.java once per test process into the target tmp dir.
fn java_classes() -> Option<&'static (PathBuf, String)> {
    static BUILT: OnceLock<Option<(PathBuf, String)>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("scenario-java-{}", std::process::id()));
            std::fs::create_dir_all(&out).ok()?;
            let cp = classpath(&out)?;
            let status = Command::new("javac")
                .arg("-d")
                .arg(&out)
                .args(["-cp", &cp])
                .arg(scenarios().join("java/Scenario.java"))
                .status()
                .ok()?;
            assert!(status.success(), "javac failed");
            Some((out, cp))
        })
        .as_ref()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn kazoo(connect: &str) -> String {
    run(Command::new("/usr/bin/python3")
        .arg(scenarios().join("kazoo_scenario.py"))
        .arg(connect))
}

fn java(connect: &str) -> String {
    let (_, cp) = java_classes().unwrap();
    run(Command::new("java").args(["-Xmx128m", "-cp", cp, "Scenario", connect]))
}

async fn sim() -> Ensemble {
    // The same timers as the shared real ensemble (tick 500 ms).
    let seed = std::env::var("ZK_SIM_SEED")
        .ok()
        .and_then(|s| zk_server_sim::parse_seed(&s))
        .unwrap_or(3);
    eprintln!("ZK_SIM_SEED={seed}");
    Ensemble::builder()
        .nodes(3)
        .tick_time(Duration::from_millis(500))
        .extended_types(true)
        .seed(seed)
        .build()
        .await
        .unwrap()
}

fn real() -> Option<&'static RealEnsemble> {
    if !Path::new("/usr/share/java/zookeeper.jar").exists() {
        return None;
    }
    Some(RealEnsemble::shared_three().unwrap())
}

fn assert_same(client: &str, sim: &str, real: &str) {
    assert!(!sim.trim().is_empty(), "{client}: empty transcript");
    if sim != real {
        let diff: Vec<String> = sim
            .lines()
            .zip(real.lines())
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("  sim:  {a}\n  real: {b}"))
            .collect();
        panic!(
            "{client} transcripts differ:\n{}\n--- sim ---\n{sim}\n--- real ---\n{real}",
            diff.join("\n")
        );
    }
    eprintln!(
        "{client}: {} identical transcript lines",
        sim.lines().count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kazoo_scenario_matches_real_zookeeper() {
    if !have_kazoo() {
        eprintln!("skipped: /usr/bin/python3 has no kazoo (run .ci/install-deps.sh)");
        return;
    }
    let Some(real) = tokio::task::spawn_blocking(real).await.unwrap() else {
        eprintln!("skipped: ZooKeeper is not installed");
        return;
    };
    let ens = sim().await;
    let cs = ens.connect_string();
    let on_sim = tokio::task::spawn_blocking(move || kazoo(&cs))
        .await
        .unwrap();
    let real_cs = real.connect_string();
    let on_real = tokio::task::spawn_blocking(move || kazoo(&real_cs))
        .await
        .unwrap();
    assert_same("kazoo", &on_sim, &on_real);
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_client_and_curator_scenario_matches_real_zookeeper() {
    let Some(_) = tokio::task::spawn_blocking(java_classes).await.unwrap() else {
        eprintln!("skipped: javac or the zookeeper/curator jars are missing");
        return;
    };
    let Some(real) = tokio::task::spawn_blocking(real).await.unwrap() else {
        eprintln!("skipped: ZooKeeper is not installed");
        return;
    };
    let ens = sim().await;
    let cs = ens.connect_string();
    let on_sim = tokio::task::spawn_blocking(move || java(&cs))
        .await
        .unwrap();
    let real_cs = real.connect_string();
    let on_real = tokio::task::spawn_blocking(move || java(&real_cs))
        .await
        .unwrap();
    assert_same("java+curator", &on_sim, &on_real);
    ens.check_history().unwrap();
}
