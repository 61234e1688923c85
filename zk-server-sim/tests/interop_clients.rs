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

/// A developer without the OS packages gets a skip that says so; CI installs
/// them (`.ci/install-deps.sh`), so there a missing one is a failure.
fn skip(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{why}: CI must have it (.ci/install-deps.sh installs it)"
    );
    eprintln!("skipped: {why}");
}

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

/// Runs the blocking `scenario` against a simulated ensemble and against real
/// ZooKeeper 3.8, and asserts that the transcripts are the same.
async fn same_on_sim_and_real(client: &str, scenario: fn(&str) -> String) {
    let Some(real) = tokio::task::spawn_blocking(real).await.unwrap() else {
        skip("ZooKeeper is not installed");
        return;
    };
    let ens = sim().await;
    let cs = ens.connect_string();
    let on_sim = tokio::task::spawn_blocking(move || scenario(&cs))
        .await
        .unwrap();
    let real_cs = real.connect_string();
    let on_real = tokio::task::spawn_blocking(move || scenario(&real_cs))
        .await
        .unwrap();
    assert_same(client, &on_sim, &on_real);
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kazoo_scenario_matches_real_zookeeper() {
    if !have_kazoo() {
        skip("/usr/bin/python3 has no kazoo (run .ci/install-deps.sh)");
        return;
    }
    same_on_sim_and_real("kazoo", kazoo).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_client_and_curator_scenario_matches_real_zookeeper() {
    let Some(_) = tokio::task::spawn_blocking(java_classes).await.unwrap() else {
        skip("javac or the zookeeper/curator jars are missing");
        return;
    };
    same_on_sim_and_real("java+curator", java).await;
}

/// The keys of `key: value` (or `key\tvalue`) lines, in order.
fn keys(text: &str, sep: char) -> Vec<String> {
    text.lines()
        .map(|l| l.split(sep).next().unwrap_or("").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_letter_word_shapes_match_real_zookeeper() {
    use zk_server_sim::real::ServerMode;
    let Some(real) = tokio::task::spawn_blocking(real).await.unwrap() else {
        skip("ZooKeeper is not installed");
        return;
    };
    let ens = sim().await;
    let sim_leader = ens.leader().unwrap();
    let sim_follower = (sim_leader + 1) % 3;
    let (real_leader, real_follower, words) = tokio::task::spawn_blocking(move || {
        let leader = (0..3)
            .find(|i| real.mode(*i).ok() == Some(ServerMode::Leader))
            .unwrap();
        let follower = (leader + 1) % 3;
        let mut words = Vec::new();
        for w in ["srvr", "mntr", "isro", "ruok", "wchs"] {
            words.push((
                w,
                real.four_letter_word(leader, w).unwrap(),
                real.four_letter_word(follower, w).unwrap(),
            ));
        }
        (leader, follower, words)
    })
    .await
    .unwrap();
    eprintln!("real leader {real_leader} follower {real_follower}; sim leader {sim_leader}");
    for (w, real_l, real_f) in words {
        let sim_l = ens.four_letter(sim_leader, w);
        let sim_f = ens.four_letter(sim_follower, w);
        match w {
            "srvr" => {
                assert_eq!(
                    keys(&sim_l, ':'),
                    keys(&real_l, ':'),
                    "{sim_l}\nvs\n{real_l}"
                );
                assert_eq!(
                    keys(&sim_f, ':'),
                    keys(&real_f, ':'),
                    "{sim_f}\nvs\n{real_f}"
                );
            }
            "mntr" => {
                let real_keys = keys(&real_l, '\t');
                for k in keys(&sim_l, '\t') {
                    assert!(real_keys.contains(&k), "mntr key {k} unknown to 3.8");
                }
                let real_keys = keys(&real_f, '\t');
                for k in keys(&sim_f, '\t') {
                    assert!(
                        real_keys.contains(&k),
                        "follower mntr key {k} unknown to 3.8"
                    );
                }
            }
            "wchs" => {
                assert!(sim_l.ends_with('\n') && real_l.ends_with('\n'));
                assert_eq!(sim_l.lines().count(), real_l.lines().count());
            }
            _ => {
                assert_eq!(sim_l, real_l, "{w}");
                assert_eq!(sim_f, real_f, "{w}");
            }
        }
    }
}

/// Runs the leader-crash kazoo scenario; `fault` kills the leader and waits
/// for a new one.
fn kazoo_leader_crash(connect: &str, fault: impl FnOnce()) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::Stdio;
    let mut child = Command::new("/usr/bin/python3")
        .arg(scenarios().join("kazoo_leader_crash.py"))
        .arg(connect)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "scenario did not get ready");
    fault();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "scenario failed:\n{rest}");
    rest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kazoo_survives_a_leader_crash_like_on_real_zookeeper() {
    if !have_kazoo() || !Path::new("/usr/share/java/zookeeper.jar").exists() {
        skip("kazoo or ZooKeeper missing");
        return;
    }
    let ens = std::sync::Arc::new(sim().await);
    let cs = ens.connect_string();
    let handle = tokio::runtime::Handle::current();
    let e2 = std::sync::Arc::clone(&ens);
    let on_sim = tokio::task::spawn_blocking(move || {
        kazoo_leader_crash(&cs, || {
            let leader = e2.leader().unwrap();
            e2.kill(leader);
            assert!(e2.leader().is_some());
            handle.block_on(e2.restart(leader, false)).unwrap();
        })
    })
    .await
    .unwrap();
    let on_real = tokio::task::spawn_blocking(|| {
        let mut real = RealEnsemble::shared_builder(3).start().unwrap();
        let cs = real.connect_string();
        let real = std::sync::Mutex::new(&mut real);
        kazoo_leader_crash(&cs, || {
            let mut real = real.lock().unwrap();
            let leader = real.wait_for_leader().unwrap();
            real.kill(leader).unwrap();
            real.wait_for_leader().unwrap();
            real.restart(leader).unwrap();
        })
    })
    .await
    .unwrap();
    assert_same("kazoo leader crash", &on_sim, &on_real);
    ens.check_history().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kazoo_duplicate_session_kill_matches_real_zookeeper() {
    if !have_kazoo() {
        skip("/usr/bin/python3 has no kazoo (run .ci/install-deps.sh)");
        return;
    }
    let Some(real) = tokio::task::spawn_blocking(real).await.unwrap() else {
        skip("ZooKeeper is not installed");
        return;
    };
    let script = scenarios().join("kazoo_session_kill.py");
    let ens = sim().await;
    let cs = ens.connect_string();
    let s2 = script.clone();
    let on_sim =
        tokio::task::spawn_blocking(move || run(Command::new("/usr/bin/python3").arg(s2).arg(cs)))
            .await
            .unwrap();
    let real_cs = real.connect_string();
    let on_real = tokio::task::spawn_blocking(move || {
        run(Command::new("/usr/bin/python3").arg(script).arg(real_cs))
    })
    .await
    .unwrap();
    assert_same("kazoo session kill", &on_sim, &on_real);
    assert!(
        ens.sessions().len() <= 1,
        "only the observer's session may remain until it closes"
    );
    ens.check_history().unwrap();
}
